"""Readers for the roster (YAML / JSON) and activity records (JSON Lines, JSON, CSV and tab-separated
text), streaming where possible; spreadsheets are read in :mod:`rules_engine.load.xlsx`.

Text is decoded by :func:`decode_text`: a byte-order mark first (UTF-8, UTF-16, UTF-32), then UTF-8,
then GB18030, then detection (charset-normalizer); text that cannot be decoded is a located
:class:`~rules_engine.errors.InputError`, never rows of garbage.

Records are validated by hand in the hot loop (one dict check per field, no model object per line), to
the schema of :class:`~rules_engine.model.records.ActivityRecord`. A record that fails is not an
exception: it becomes a located :class:`BadRow` (source, line, field, value, reason) with whatever
could be salvaged (organisation, type, date), so the evaluator can mark the duties it might have
evidenced as undeterminable instead of violated.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import itertools
import re
import reprlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from .. import texts
from ..errors import InputError, Location, Problem, did_you_mean
from ..fields import TYPE_TEXT, parse_value
from ..fields import current as current_fields
from ..guard import has_surrogate, shown
from ..model.records import ActivityRecord
from ..model.refusal import keyed
from ..model.roster import Membership, Organisation, Person, Post, Roster
from ..model.vocab import RECORD_COLUMNS, RECORD_FIELDS, Vocabulary, column_table, standard
from ..texts import Arg
from . import yamlfast
from .yamlpos import Document, load_yaml

#: Text tables of records and the delimiter each is expected to use (the delimiter is sniffed from the header).
TEXT_TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
#: Spreadsheets (read with python-calamine in :mod:`rules_engine.load.xlsx`).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
#: Every format a record file may have.
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", *TEXT_TABLE_SUFFIXES, *WORKBOOK_SUFFIXES)

MAX_LINE = 1_000_000
MAX_STRING = 10_000
MAX_LIST = 10_000


@dataclass(slots=True)
class Rec:
    """A validated record in the compact form the evaluator uses."""

    id: str
    org: str
    type: str
    date: dt.date
    chair: str | None
    participants: frozenset[str]
    portfolio: str | None
    tags: frozenset[str]
    source: str
    line: int
    unknown: frozenset[str] = frozenset()  # people named in the record who are not on the roster
    fields: dict[str, Any] | None = None  # declared record fields present (rules_engine.fields), typed


@dataclass(frozen=True)
class BadRow(Problem):
    """An input row that was not used (or was used with a warning): a :class:`~rules_engine.errors.Problem`
    with a reason code (``row.*``, its texts in :mod:`rules_engine.texts`), located at the row's source and
    line, ``location.path`` naming the field; with the offending value, and what could be salvaged of the
    row (its id, organisation, type and date) so that the duties it might have evidenced are known.

    Make one with :meth:`at`, which takes the texts from :mod:`rules_engine.texts`. ``source``, ``line``,
    ``field``, ``zh`` and ``en`` read the problem's location and messages."""

    value: str | None = None
    record_id: str | None = None
    org: str | None = None
    type: str | None = None
    date: dt.date | None = None
    # False: the row has no data problem and cannot have evidenced any duty (an identical duplicate, a date
    # outside the span or after the evaluation date): the input account lists it as excluded, not rejected
    taints: bool = True

    def __post_init__(self) -> None:  # its texts go into the report: escape a lone surrogate (\ud800)
        for name in ("value", "message", "message_en", "record_id"):
            shown_text = getattr(self, name)
            if shown_text is not None and not shown_text.isascii() and has_surrogate(shown_text):
                object.__setattr__(self, name, _escaped(shown_text))
        path = self.location.path
        if not path.isascii() and has_surrogate(path):
            object.__setattr__(self, "location", dataclasses.replace(self.location, path=_escaped(path)))

    @classmethod
    def at(
        cls,
        code: str,
        source: str,
        line: int,
        field: str | None,
        value: str | None,
        args: Mapping[str, Arg] | None = None,
        /,
        *,
        record_id: str | None = None,
        org: str | None = None,
        type: str | None = None,
        date: dt.date | None = None,
        taints: bool = True,
    ) -> BadRow:
        """The row at `source`:`line` (its `field` and `value`) rejected for `code`, the texts of
        :mod:`rules_engine.texts` filled from `args`; `record_id`, `org`, `type` and `date`: what could be
        salvaged of the row; ``taints=False``: excluded or a warning, not a data problem."""
        zh, en = texts.text(code, **(args or {}))
        return cls(code, zh, en, Location(source, line, 0, field or ""), "", value, record_id, org, type, date, taints)

    @property
    def source(self) -> str:
        return self.location.file

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def field(self) -> str | None:
        return self.location.path or None

    @property
    def zh(self) -> str:
        return self.message

    @property
    def en(self) -> str:
        return self.message_en

    def to_rejection(self) -> dict[str, Any]:
        """The row as an entry of the report's ``input.rejections`` (``excluded``, ``warnings``): the keys of
        :class:`~rules_engine.model.findings.Rejection`, in its order."""
        return {
            "source": self.location.file,
            "line": self.location.line,
            "field": self.location.path or None,
            "value": self.value,
            "reason": {"zh": self.message, "en": self.message_en},
            "record_id": self.record_id,
            "code": self.code,
        }


def _escaped(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


_FIELDS = ("id", "org", "type", "date", "chair", "participants", "portfolio", "tags", "text")
_SPLIT = re.compile(r"[;；,，、|]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _short(value: object) -> str:
    try:
        text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    except (TypeError, RecursionError):  # an integer beyond 64 bits, a lone surrogate, nesting beyond 255
        text = reprlib.repr(value)  # bounded depth: a dict nested 100,000 deep is shown as {...}
    return shown(text)


_FIELD_SET = frozenset(_FIELDS)
_EMPTY: frozenset[str] = frozenset()  # shared: most records have no tags (an empty frozenset costs 216 bytes)


def _str_list_ok(value: Any) -> bool:
    return value is None or (
        type(value) is list and len(value) <= MAX_LIST and all(type(v) is str and v for v in value)
    )


def check_record(data: Any, source: str, line: int) -> Rec | BadRow:
    """Validate one record dict (JSON Lines or CSV row) into a :class:`Rec`, or say what is wrong.

    The common case (every field present with the right type) takes a fast path; anything else goes
    through :func:`_check_slow`, which finds and names the first problem. Both accept the same records."""
    if type(data) is dict and data.keys() <= _FIELD_SET:
        get = data.get
        rid, org, rtype, raw_date = get("id"), get("org"), get("type"), get("date")
        chair, portfolio, text = get("chair"), get("portfolio"), get("text")
        people, tags = get("participants"), get("tags")
        if (
            type(rid) is str
            and type(org) is str
            and type(rtype) is str
            and type(raw_date) is str
            and 0 < len(rid) <= MAX_STRING
            and (rid.isascii() or not has_surrogate(rid))  # the id is written into the report
            and 0 < len(org) <= MAX_STRING
            and 0 < len(rtype) <= MAX_STRING
            and len(raw_date) == 10
            and raw_date[4] == "-"
            and raw_date[7] == "-"
            and raw_date[:4].isdigit()
            and (chair is None or (type(chair) is str and chair))
            and (portfolio is None or (type(portfolio) is str and portfolio))
            and (text is None or type(text) is str)
            and _str_list_ok(people)
            and _str_list_ok(tags)
        ):
            try:
                date = dt.date.fromisoformat(raw_date)
            except ValueError:
                return _check_slow(data, source, line)
            participants = frozenset(people) if people else _EMPTY
            if chair and chair not in participants:
                participants = participants | {chair}
            return Rec(
                rid, org, rtype, date, chair, participants, portfolio, frozenset(tags) if tags else _EMPTY, source, line
            )
    return _check_slow(data, source, line)


def _check_slow(data: Any, source: str, line: int) -> Rec | BadRow:
    if not isinstance(data, dict):
        return BadRow.at("row.not_object", source, line, None, _short(data))
    rid = data.get("id")
    org = data.get("org") if isinstance(data.get("org"), str) else None
    rtype = data.get("type") if isinstance(data.get("type"), str) else None
    raw_date = data.get("date")
    date: dt.date | None = None
    if isinstance(raw_date, str) and _DATE.match(raw_date):
        try:
            date = dt.date.fromisoformat(raw_date)
        except ValueError:
            date = None

    def bad(code: str, fieldname: str, value: object, **args: Arg) -> BadRow:
        return BadRow.at(
            code,
            source,
            line,
            fieldname,
            None if value is None else _short(value),
            args,
            record_id=rid if isinstance(rid, str) else None,
            org=org or None,
            type=rtype or None,
            date=date,
        )

    declared = current_fields()
    extra: dict[str, Any] | None = None
    for key in data:
        if key not in _FIELDS:
            kind = declared.types.get(key)
            if kind is None:
                return bad("row.field.unknown", key, data[key], name=key, hint="")
            ok, value = parse_value(kind, data[key])
            if not ok:
                return bad("row.field.wrong_type", key, data[key], name=key, kind=TYPE_TEXT[kind])
            if value is not None:
                if extra is None:
                    extra = {}
                extra[key] = value
    for key in ("id", "org", "type", "date"):
        value = data.get(key)
        if value is None or value == "":
            return bad("row.field.missing", key, None, name=key)
        if not isinstance(value, str):
            return bad("row.field.not_string", key, value, name=key)
        if len(value) > MAX_STRING:
            return bad("row.field.too_long", key, value[:40], name=key)
        if has_surrogate(value):
            return bad("row.field.bad_unicode", key, value, name=key)
    if date is None:
        return bad("row.date.invalid", "date", raw_date)
    chair = data.get("chair")
    if chair == "":
        chair = None
    if chair is not None and not isinstance(chair, str):
        return bad("row.chair.invalid", "chair", chair)
    people = _string_list(data.get("participants"))
    if people is None:
        return bad("row.participants.invalid", "participants", data.get("participants"))
    tags = _string_list(data.get("tags"))
    if tags is None:
        return bad("row.tags.invalid", "tags", data.get("tags"))
    portfolio = data.get("portfolio")
    if portfolio == "":
        portfolio = None
    if portfolio is not None and not isinstance(portfolio, str):
        return bad("row.portfolio.invalid", "portfolio", portfolio)
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        return bad("row.text.invalid", "text", text)
    participants = frozenset(people)
    if chair:
        participants = participants | {chair}
    return Rec(rid, org, rtype, date, chair, participants, portfolio, frozenset(tags), source, line, _EMPTY, extra)  # type: ignore[arg-type]


def _string_list(value: Any) -> list[str] | None:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in _SPLIT.split(value) if part.strip()]
    if isinstance(value, (list, tuple)) and len(value) <= MAX_LIST and all(isinstance(v, str) for v in value):
        return [v for v in value if v]
    return None


def read_records(path: str | Path) -> Iterator[Rec | BadRow]:
    """Stream records from a ``.jsonl`` / ``.ndjson`` / ``.json`` (a list), a text table (``.csv``,
    ``.tsv``, ``.txt``: comma- or tab-separated, e.g. Excel's "Unicode text") or a spreadsheet
    (``.xlsx``, ``.xlsm``, ``.xlsb``, ``.xls``, ``.ods``)."""
    p = Path(path)
    source = str(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        raise InputError.of("input.records.not_found", path=source)
    if suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(p, source)
    elif suffix in TEXT_TABLE_SUFFIXES:
        yield from _read_table(p, source, TEXT_TABLE_SUFFIXES[suffix])
    elif suffix in WORKBOOK_SUFFIXES:
        from .xlsx import read_records_xlsx

        yield from read_records_xlsx(path)
    elif suffix == ".json":
        try:
            data = orjson.loads(_utf8(p.read_bytes(), source))
        except orjson.JSONDecodeError as exc:
            raise InputError.of("input.json.unparsable", source=source, error=str(exc)) from None
        if not isinstance(data, list):
            raise InputError.of("input.json.not_a_list", source=source)
        for i, item in enumerate(data, start=1):
            yield check_record(item, source, i)
    else:
        raise InputError.of("input.records.format", source=source, suffix=suffix, suffixes=", ".join(RECORD_SUFFIXES))


def _read_jsonl(p: Path, source: str) -> Iterator[Rec | BadRow]:
    with p.open("rb") as handle:
        lines: Iterable[bytes] = handle
        if handle.read(4).startswith(_WIDE_BOMS):  # UTF-16/32 (e.g. PowerShell's redirection): read as UTF-8
            lines = io.BytesIO(_utf8(p.read_bytes(), source))
        else:
            handle.seek(0)
        for number, raw in enumerate(lines, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            row = jsonl_row(raw, source, number)
            if row is not None:
                yield row


def jsonl_row(raw: bytes, source: str, number: int) -> Rec | BadRow | None:
    """Line `number` of a JSON Lines file (its bytes, without a byte-order mark) as a record, or what is wrong
    with it; None for a blank line."""
    return jsonl_item(raw, source, number)[0]


def jsonl_item(raw: bytes, source: str, number: int) -> tuple[Rec | BadRow | None, Any]:
    """:func:`jsonl_row`'s answer with the value the line decodes to (None when it is blank or not decoded: too
    long, not JSON, not UTF-8), for a caller that keeps the value too (the monitoring service): one parse."""
    stripped = raw.strip()
    if not stripped:
        return None, None
    if len(stripped) > MAX_LINE:
        return BadRow.at("row.line.too_long", source, number, None, None, {"limit": MAX_LINE}), None
    try:
        data = orjson.loads(stripped)
    except orjson.JSONDecodeError as exc:
        text = stripped.decode("utf-8", "replace")
        try:
            stripped.decode("utf-8")
        except UnicodeDecodeError as bad:  # orjson would say "str is not valid UTF-8: surrogates ..."
            row = BadRow.at("row.json.not_utf8", source, number, None, _short(text), {"byte": bad.start + 1})
        else:
            row = BadRow.at("row.json.malformed", source, number, None, _short(text), {"error": str(exc)})
        return _salvaged(row, salvage_json(text)), None
    return check_record(data, source, number), data


_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_NUL = re.compile("\x00")
# in text decoded by a guess: control characters no text table holds (tab, line ends and form feed are fine),
# and, for GB18030, its private-use mappings, which Latin-1 or Big5 bytes read as GB18030 run into
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_GB_SUSPECT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")


# A JSON string token, and what precedes it: `{` or `,` (key position), then optionally `: "a string value"`.
_JSON_PAIR = re.compile(r'([{,]?)\s*"((?:[^"\\]|\\.)*)"(?:\s*:\s*"((?:[^"\\]|\\.)*)")?')
_SALVAGED = ("id", "org", "type", "date")


def salvage_json(text: str) -> dict[str, str]:
    """What a broken JSON line still shows of its ``id``, ``org``, ``type`` and ``date``: string values
    written as ``"key": "value"`` at key position (after ``{`` or ``,``), scanned string token by string
    token from the start (so a key written inside another value is skipped), JSON escapes decoded.

    Nothing is guessed: a key whose name occurs more than once in the text, a value cut short, or a
    line that holds more than one ``{`` (perhaps two records run together) gives nothing for that key
    (or for the line); the caller then treats the row as able to belong anywhere."""
    if text.count("{") != 1 or not text.lstrip().startswith("{"):
        return {}
    found: dict[str, str] = {}
    for match in _JSON_PAIR.finditer(text):
        lead, key, value = match.groups()
        if not lead or value is None or key not in _SALVAGED or text.count(f'"{key}"') != 1:
            continue
        try:
            decoded = orjson.loads(f'"{value}"'.encode("utf-8", "surrogatepass"))
        except orjson.JSONDecodeError:
            continue
        if isinstance(decoded, str) and 0 < len(decoded) <= MAX_STRING:
            found[key] = decoded
    return found


def salvage_csv(columns: Sequence[str | None], row: list[str]) -> dict[str, str]:
    """What a CSV row with too few cells still shows of its ``id``, ``org``, ``type`` and ``date``: the
    cells by header position before the last one present (which may be cut short). A row with too many
    cells gives nothing: a stray separator may sit anywhere before, or two rows may have run together."""
    if len(row) >= len(columns):
        return {}
    return {c: row[i].strip() for i, c in enumerate(columns[: len(row) - 1]) if c in _SALVAGED and row[i].strip()}


def _salvaged(row: BadRow, seen: Mapping[str, str]) -> BadRow:
    """`row` with the id, organisation, type and date that the broken text still shows: the duties the
    row may have evidenced are then only those of that organisation (type, period)."""
    date: dt.date | None = None
    raw_date = seen.get("date")
    if raw_date is not None and _DATE.match(raw_date):
        try:
            date = dt.date.fromisoformat(raw_date)
        except ValueError:
            date = None
    return dataclasses.replace(row, record_id=seen.get("id"), org=seen.get("org"), type=seen.get("type"), date=date)


def decode_text(raw: bytes, source: str) -> tuple[str, str]:
    """Decode a text file: ``(text, encoding)``.

    A byte-order mark decides (UTF-8, UTF-16 — Excel's "Unicode text" — or UTF-32). Without one: UTF-8
    (the exact, common case), then GB18030 (Excel's CSV on Chinese Windows; also GBK and GB2312) when it
    decodes without control or private-use characters, then detection by charset-normalizer (UTF-16
    without a mark, other encodings). Text that none of these decode cleanly, such as binary data, is
    an :class:`InputError` naming the line of the first byte that is not UTF-8."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec), codec.replace("-sig", "")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].decode(codec, "replace").count("\n") + 1
                raise InputError.of("input.text.bad_bom", source=source, line=line, codec=codec) from None
    where: int | None = None  # byte offset of the first byte that is not UTF-8 (or of a NUL)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = exc.start
    else:
        nul = _NUL.search(text)
        if nul is None:
            return text, "utf-8"
        where = len(text[: nul.start()].encode())
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:
        if not _GB_SUSPECT.search(text):
            return text, "gb18030"
    import charset_normalizer  # (here: its import costs a tenth of a second that UTF-8 and GB18030 files never need)

    best = charset_normalizer.from_bytes(raw).best()
    if best is not None:
        text = str(best)
        # a wrong guess of UTF-16 merges line ends with their neighbours: lines must survive the decoding
        if not _CONTROL.search(text) and ("\n" in text or b"\n" not in raw):
            return text, best.encoding
    line = raw[:where].count(b"\n") + 1
    raise InputError.of("input.text.undecodable", source=source, line=line)


def _decode(raw: bytes, source: str) -> str:
    return decode_text(raw, source)[0]


def _utf8(raw: bytes, source: str) -> bytes:
    """JSON bytes as UTF-8: unchanged unless they start with a UTF-16 or UTF-32 byte-order mark."""
    if raw.startswith(_WIDE_BOMS):
        return _decode(raw, source).encode()
    return raw


#: Column names of record tables; the table lives in :mod:`rules_engine.model.vocab` (shared).
CSV_ALIASES = RECORD_COLUMNS
_RECORD_KNOWN = column_table(RECORD_COLUMNS, RECORD_FIELDS)
_DELIMITERS = (",", "\t", ";")
_HEADER_SCAN = 20  # lines searched for the header


def _known(row: list[str]) -> int:
    return sum(1 for cell in row if cell.strip().casefold() in _RECORD_KNOWN)


def record_headers() -> Mapping[str, str]:
    """Header word (case-folded) -> field: the built-in fields' names and those of the declared fields being
    read (:func:`rules_engine.fields.reading`)."""
    declared = current_fields()
    return {**_RECORD_KNOWN, **declared.headers} if declared else _RECORD_KNOWN


def _sniff(text: str, default: str) -> str:
    """The delimiter that makes the most known column names of a header among the first lines; the
    suffix's own delimiter on a tie."""
    head = text.splitlines()[:_HEADER_SCAN]
    best, score = default, 0
    for delimiter in (default, *(d for d in _DELIMITERS if d != default)):
        try:
            found = max((_known(row) for row in csv.reader(head, delimiter=delimiter)), default=0)
        except csv.Error:
            continue
        if found > score:
            best, score = delimiter, found
    return best


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _read_table(p: Path, source: str, default: str) -> Iterator[Rec | BadRow]:
    """A comma- or tab-separated table of records. The header is the first line, among the first 20,
    with at least two known column names (lines above it are titles); a file with no known column
    name at all is not a table of records (InputError)."""
    text = _decode(p.read_bytes(), source)
    delimiter = _sniff(text, default)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from _table_rows(reader, source, delimiter)
    except csv.Error as exc:
        raise InputError.of("input.table.unparsable", source=source, line=reader.line_num, error=str(exc)) from None


def _numbered(reader: Any) -> Iterator[tuple[int, int, list[str]]]:
    """Rows with the physical lines they span (first, last): a quoted cell may hold line breaks."""
    last = reader.line_num
    for row in reader:
        yield last + 1, reader.line_num, row
        last = reader.line_num


def _swallowed(row: list[str], delimiter: str, named: int) -> int | None:
    """The column of a cell that spans lines and holds a line shaped like a whole record row (as many
    cells as the header names): a quote left open that swallowed the rows after it, which would
    otherwise vanish inside one text cell. A multi-line note without such a line is a legitimate cell."""
    for i, cell in enumerate(row):
        for line in cell.splitlines()[1:]:
            if named > 1 and len(next(csv.reader([line], delimiter=delimiter), [])) >= named:
                return i
    return None


def _table_rows(reader: Any, source: str, delimiter: str) -> Iterator[Rec | BadRow]:
    header: tuple[int, list[str]] | None = None
    seen: list[tuple[int, int, list[str]]] = []  # non-blank rows read while looking for the header
    rows = _numbered(reader)
    for first, number, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if _known(row) >= 2:
            header, seen = (number, row), []  # the rows above it are titles
            break
        seen.append((first, number, row))
        if number >= _HEADER_SCAN:
            break
    if header is None:
        if not seen:
            return  # an empty file: nothing to read
        header, seen = seen[0][1:], seen[1:]
        if not _known(header[1]):
            shown = _short(delimiter.join(header[1]))
            raise InputError.of("input.table.no_header", source=source, line=header[0], lines=_HEADER_SCAN, first=shown)
        # the first line is the header all the same, and the rows are rejected for their unknown fields
    columns = table_columns(header[1], source, header[0])
    named = named_width(columns)
    for first, number, row in itertools.chain(seen, rows):
        out = table_row(columns, named, row, first, number, source, delimiter)
        if out is not None:
            yield out


def table_columns(header: list[str], source: str, line: int) -> list[str | None]:
    """The field each cell of a header row names (None: a cell without a name; an unknown name as written,
    case-folded); a field named twice is an InputError."""
    columns: list[str | None] = []
    known = record_headers()
    for i, cell in enumerate(header):
        name = cell.strip().casefold()
        column = known.get(name, name) if name else None
        if column is not None and column in columns:
            raise InputError.of(
                "input.table.duplicate_column", source=source, line=line, column=column, letter=_column_letter(i)
            )
        columns.append(column)
    return columns


def named_width(columns: Sequence[str | None]) -> int:
    """The cells a row must have: up to the last column with a name."""
    return max((i + 1 for i, column in enumerate(columns) if column is not None), default=0)


def table_row(
    columns: Sequence[str | None], named: int, row: list[str], first: int, number: int, source: str, delimiter: str
) -> Rec | BadRow | None:
    """The cells of a table row spanning lines `first` to `number` as a record, or what is wrong with it; None
    for a blank row. `columns`: from :func:`table_columns`; `named`: :func:`named_width` of them."""
    if not any(cell.strip() for cell in row):
        return None
    width = len(columns)  # columns without a name (Excel pads rows to the widest) hold no field
    if len(row) < named or any(cell.strip() for cell in row[width:]):
        code = "row.columns.count" if first == number else "row.columns.unclosed_quote"
        shown_row = _short(delimiter.join(row))
        bad = BadRow.at(
            code,
            source,
            first,
            None,
            shown_row,
            {"width": width, "found": len(row), "first": first, "last": number},
        )
        # on one physical line, the cells before the damage still say where the row belongs; a row that
        # spans lines (an open quote) may have swallowed other rows: it could belong anywhere
        return _salvaged(bad, salvage_csv(columns, row)) if first == number else bad
    swallowed = _swallowed(row, delimiter, named) if first != number else None
    if swallowed is not None:
        letter = _column_letter(swallowed)
        return BadRow.at(  # nothing is salvaged: the row's own cells may belong to the rows it swallowed
            "row.cell.swallowed",
            source,
            first,
            letter,
            _short(row[swallowed]),
            {"column": letter, "first": first, "last": number},
        )
    data: dict[str, Any] = {}
    stray: int | None = None
    for i, (column, cell) in enumerate(zip(columns, row[:width], strict=False)):
        value = cell.strip() or None
        if column is None:
            if value is not None and stray is None:
                stray = i
            continue
        data[column] = value
    if stray is not None:
        letter = _column_letter(stray)
        return BadRow.at(
            "row.cell.no_header",
            source,
            number,
            letter,
            _short(row[stray].strip()),
            {"column": letter},
            record_id=data.get("id"),
            org=data.get("org"),
            type=data.get("type"),
        )
    return check_record(data, source, number)


def records_from_objects(
    items: Iterable[Any], source: str = "<records>", lines: Iterable[int] | None = None
) -> Iterator[Rec | BadRow]:
    """Records handed over by a Python app: model instances or plain dicts (at `lines`, default 1, 2, ...)."""
    numbers = itertools.count(1) if lines is None else iter(lines)
    for item in items:
        i = next(numbers, None)
        if i is None:
            raise ValueError(f"{source}: fewer lines than records")
        if isinstance(item, BadRow):  # a row already found bad where it was read (e.g. a posted line that is not JSON)
            yield item
            continue
        if isinstance(item, ActivityRecord):
            data: Any = item.model_dump(mode="json", exclude_none=True)
            data["participants"] = list(item.participants)
            data["tags"] = list(item.tags)
        elif isinstance(item, Mapping):
            data = dict(item)
            if isinstance(data.get("date"), dt.date):
                data["date"] = data["date"].isoformat()
        else:
            data = item  # rejected by check_record with its position
        yield check_record(data, source, i)


# ---------------------------------------------------------------- roster


@dataclass
class RosterResult:
    """A roster and its account. The roster is counted in units: each organisation and each post (a
    person without posts is one unit), so that ``read == used + rejected`` holds."""

    roster: Roster
    rejected: list[BadRow]
    read: int
    source: str
    rejected_units: int = 0

    @property
    def used(self) -> int:
        return self.read - self.rejected_units


def read_roster(path: str | Path, vocabulary: Vocabulary | None = None) -> RosterResult:
    """Read a roster YAML or JSON file. Each organisation and post is validated on its own: a bad entry
    is rejected with its line and the rest is used. Kinds, roles and groups are those of `vocabulary` (the
    loaded packs': ``load_rules(...).vocabulary``; by default the standard vocabulary, cpc-basic).

    The file is parsed fast first (orjson; libyaml with :mod:`~rules_engine.load.yamlfast`) and validated
    list by list; positions are only computed, with the position-keeping loader, when there is something to
    locate or the fast reader refused the text."""
    p = Path(path)
    if not p.is_file():
        raise InputError.of("input.roster.not_found", path=str(path))
    if p.suffix.lower() in WORKBOOK_SUFFIXES:
        from .xlsx import read_roster_xlsx

        return read_roster_xlsx(path, vocabulary)
    name = str(path)
    raw = p.read_bytes()
    data: Any = None
    try:
        data = orjson.loads(raw) if p.suffix.lower() == ".json" else yamlfast.load(raw.decode("utf-8-sig"))
    except (orjson.JSONDecodeError, yamlfast.Refused, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        result = roster_from_data(data, name, vocabulary=vocabulary)
        if not result.rejected:
            return result
    doc, problems = load_yaml(p)
    if doc is None or not isinstance(doc.data, dict):
        detail = "; ".join(str(x) for x in problems) or "top level must be a mapping with 'organisations'"
        raise InputError.of("input.roster.unreadable", detail=detail)
    located = [
        BadRow(x.code, x.message, x.message_en, Location(name, x.location.line, 0, x.location.path), x.hint)
        for x in problems
    ]
    return roster_from_data(doc.data, name, doc, located, vocabulary)


def roster_from_data(
    data: Mapping[str, Any],
    source: str = "<roster>",
    doc: Document | None = None,
    rejected: list[BadRow] | None = None,
    vocabulary: Vocabulary | None = None,
) -> RosterResult:
    """Validate a roster entry by entry. Rejected: invalid entries, duplicate ids, posts in unknown
    organisations, posts of one person in one organisation whose terms overlap.

    A roster with nothing to reject (the common case) is validated a whole list at a time
    (:func:`_whole_roster`); any other, entry by entry, as the rejections need."""
    vocabulary = vocabulary or standard()
    if not rejected:
        whole = _whole_roster(data, source, vocabulary)
        if whole is not None:
            return whole
    return _roster_entries(data, source, doc, rejected, vocabulary)


def _roster_entries(
    data: Mapping[str, Any],
    source: str,
    doc: Document | None = None,
    rejected: list[BadRow] | None = None,
    vocabulary: Vocabulary | None = None,
) -> RosterResult:
    """:func:`roster_from_data` entry by entry, each rejection located in `doc`."""
    vocabulary = vocabulary or standard()
    context = {"vocabulary": vocabulary}
    problems = list(rejected or [])
    rejected_units = 0
    read = 0

    def where(path: tuple[str | int, ...]) -> int:
        return doc.locate(path).line if doc else 0

    def reject(row: BadRow, units: int = 1) -> None:
        nonlocal rejected_units
        problems.append(row)
        rejected_units += units

    orgs: list[Organisation] = []
    org_ids: set[str] = set()
    kinds: dict[str, str] = {}
    for i, item in enumerate(data.get("organisations") or []):
        read += 1
        try:
            org = Organisation.model_validate(item, context=context)
        except ValidationError as exc:
            reject(_roster_bad(exc, source, where, ("organisations", i)))
            continue
        if org.id in org_ids:
            reject(BadRow.at("row.org.duplicate_id", source, where(("organisations", i)), "id", org.id))
            continue
        orgs.append(org)
        org_ids.add(org.id)
        kinds[org.id] = org.kind
    people: list[Person] = []
    seen: set[str] = set()
    for i, item in enumerate(data.get("people") or []):
        raw_posts = item.get("posts") if isinstance(item, dict) else None
        raw_groups = item.get("groups") if isinstance(item, dict) else None
        units = max(
            1,
            (len(raw_posts) if isinstance(raw_posts, list) else 0 if raw_posts is None else 1)
            + (len(raw_groups) if isinstance(raw_groups, list) else 0 if raw_groups is None else 1),
        )
        read += units
        if isinstance(item, dict) and raw_posts is not None and not isinstance(raw_posts, list):
            reject(
                BadRow.at("row.posts.not_list", source, where(("people", i, "posts")), "posts", _short(raw_posts)),
                units,
            )
            continue
        if isinstance(item, dict) and raw_groups is not None and not isinstance(raw_groups, list):
            reject(
                BadRow.at("row.posts.not_list", source, where(("people", i, "groups")), "groups", _short(raw_groups)),
                units,
            )
            continue
        try:
            bare = item
            if isinstance(item, dict):  # (posts and memberships: validated one by one below)
                bare = {**item, "posts": [], **({"groups": []} if "groups" in item else {})}
            person = Person.model_validate(bare, context=context)
        except ValidationError as exc:
            reject(_roster_bad(exc, source, where, ("people", i)), units)
            continue
        if person.id in seen:
            reject(BadRow.at("row.person.duplicate_id", source, where(("people", i)), "id", person.id), units)
            continue
        seen.add(person.id)
        posts: list[Post] = []
        for j, raw in enumerate(raw_posts or []):
            try:
                post = Post.model_validate(raw, context=context)
            except ValidationError as exc:
                reject(_roster_bad(exc, source, where, ("people", i, "posts", j)))
                continue
            line = where(("people", i, "posts", j))
            if post.org not in org_ids:
                reject(
                    BadRow.at(
                        "row.post.unknown_org", source, line, "org", post.org, {"org_id": post.org, "person": person.id}
                    )
                )
                continue
            clash = next((q for q in posts if q.org == post.org and _overlap(q, post)), None)
            if clash is not None:
                reject(
                    BadRow.at(
                        "row.post.overlap",
                        source,
                        line,
                        "start",
                        post.start.isoformat(),
                        {
                            "role": (vocabulary.role_zh(clash.role), clash.role),
                            "start": str(clash.start),
                            "person": person.id,
                        },
                    )
                )
                continue
            posts.append(post)
        groups = []
        for j, raw in enumerate(raw_groups or []):
            line = where(("people", i, "groups", j))
            try:
                member = Membership.model_validate(raw, context=context)
            except ValidationError as exc:
                reject(_roster_bad(exc, source, where, ("people", i, "groups", j)))
                continue
            bad = _membership_problem(member, person.id, kinds, vocabulary)
            if bad is not None:
                code, field, value, args = bad
                reject(BadRow.at(code, source, line, field, value, args))
                continue
            groups.append(member)
        update: dict[str, Any] = {"posts": posts}
        if raw_groups is not None:
            update["groups"] = groups
        people.append(person.model_copy(update=update))
    for key in data:
        if key not in ("organisations", "people"):
            problems.append(BadRow.at("row.roster.unknown_key", source, where((key,)), key, None, {"key": key}))
    for i, org in enumerate(orgs):
        if org.parent and org.parent not in org_ids:
            problems.append(
                BadRow.at(
                    "row.org.unknown_parent",
                    source,
                    where(("organisations", i)),
                    "parent",
                    org.parent,
                    {"parent": org.parent, "org_id": org.id},
                )
            )
    return RosterResult(Roster(organisations=orgs, people=people), problems, read, source, rejected_units)


def _membership_problem(
    member: Membership, person: str, kinds: Mapping[str, str], vocabulary: Vocabulary
) -> tuple[str, str, str, dict[str, Arg]] | None:
    """Why a membership cannot be used (code, field, value, texts' values), or None: its organisation is not in
    the roster, its group is made of role holders, or cannot exist in an organisation of that kind."""
    if member.org not in kinds:
        return "row.group.unknown_org", "org", member.org, {"org_id": member.org, "person": person}
    term = vocabulary.term("group", member.group)
    if term is not None and term.roles:
        return "row.group.by_roles", "group", member.group, {"group": member.group, "roles": ", ".join(term.roles)}
    if term is not None and term.kinds and kinds[member.org] not in term.kinds:
        args: dict[str, Arg] = {
            "org_id": member.org,
            "kind": kinds[member.org],
            "group": member.group,
            "kinds": ", ".join(term.kinds),
        }
        return "row.group.not_here", "group", member.group, args
    return None


_ORGANISATIONS: TypeAdapter[list[Organisation]] = TypeAdapter(list[Organisation])
_PEOPLE: TypeAdapter[list[Person]] = TypeAdapter(list[Person])


def _whole_roster(data: Mapping[str, Any], source: str, vocabulary: Vocabulary) -> RosterResult | None:
    """The roster and its account when every entry is valid, each list validated at once (in pydantic's core:
    the same models and checks as entry by entry, without a call per entry); None when anything would be
    rejected, or the data has a shape the entry-by-entry path treats on its own: that path then says what and
    where. Either way the same roster and account."""
    if not data.keys() <= {"organisations", "people"}:
        return None
    raw_orgs, raw_people = data.get("organisations") or [], data.get("people") or []
    if type(raw_orgs) is not list or type(raw_people) is not list:
        return None
    read = len(raw_orgs)
    without: dict[int, dict[str, Any]] = {}  # people without posts: given an empty list, as entry by entry
    for i, item in enumerate(raw_people):
        if type(item) is not dict:
            return None
        if item.get("groups") is not None:
            return None  # (memberships are checked against the organisations' kinds entry by entry)
        posts = item.get("posts")
        if posts is None:
            without[i] = {**item, "posts": []}
            read += 1
        elif type(posts) is list:
            read += max(1, len(posts))
        else:
            return None
    if without:
        raw_people = [without.get(i, item) for i, item in enumerate(raw_people)]
    try:
        context = {"vocabulary": vocabulary}
        orgs = _ORGANISATIONS.validate_python(raw_orgs, context=context)
        people = _PEOPLE.validate_python(raw_people, context=context)
    except ValidationError:
        return None
    org_ids = {org.id for org in orgs}
    if len(org_ids) != len(orgs) or any(org.parent and org.parent not in org_ids for org in orgs):
        return None
    if len({person.id for person in people}) != len(people):
        return None
    for person in people:
        posts = person.posts
        for j, post in enumerate(posts):
            if post.org not in org_ids:
                return None
            if j and any(q.org == post.org and _overlap(q, post) for q in posts[:j]):
                return None
    # (the checks of Roster's own validator are the ones above)
    return RosterResult(Roster.model_construct(organisations=orgs, people=people), [], read, source, 0)


def _overlap(a: Post, b: Post) -> bool:
    return a.start <= (b.end or dt.date.max) and b.start <= (a.end or dt.date.max)


def _roster_bad(exc: ValidationError, source: str, where: Any, base: tuple[str | int, ...]) -> BadRow:
    errors = exc.errors(include_url=False)
    # a misspelt key shows as an unknown field and as the missing one: the unknown field, with its
    # did-you-mean, names the cause
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(error["loc"])
    value = error.get("input")
    code = "row.roster.invalid"
    args: dict[str, Arg] = {"error": str(error["msg"])}
    refused = keyed(error)
    if refused is not None:  # a check of the roster model's own (an unknown role, a term that ends too early)
        code, args = refused[0], refused[1]
    elif error["type"] in ("extra_forbidden", "missing") and loc and isinstance(loc[-1], str):
        key = loc[-1]
        path = (*base, *loc)
        model: type[BaseModel] = (
            Post
            if "posts" in path
            else Membership
            if "groups" in path
            else Organisation
            if path[0] == "organisations"
            else Person
        )
        if error["type"] == "missing":
            code, args = "row.field.missing", {"name": key}
        else:
            known = [name for name, f in model.model_fields.items() if name != key] + [
                f.alias for f in model.model_fields.values() if f.alias
            ]
            found = texts.hint(did_you_mean(key, known, "zh"), did_you_mean(key, known, "en"), "；", "; ")
            code, args = "row.field.unknown", {"name": key, "hint": found}
    return BadRow.at(
        code,
        source,
        where((*base, *loc)),
        ".".join(str(x) for x in loc) or None,
        None if isinstance(value, (dict, list)) else _short(value),
        args,
    )


def file_digest(source: str, kind: str) -> dict[str, Any]:
    """sha256 and size of an input file, for receipts (no hash for inputs that are not files)."""
    path = Path(source)
    if source.startswith("<") or not path.is_file():
        return {"source": source, "kind": kind, "sha256": None, "bytes": None}
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return {"source": source, "kind": kind, "sha256": digest.hexdigest(), "bytes": path.stat().st_size}
