"""Columnar intake of JSON Lines record files: read with polars, validated with column expressions, handed to
the tally a block of columns at a time (:meth:`rules_engine.tally.Counter.add_frame`).

Exact, or not at all. The per-row reader (:func:`rules_engine.load.inputs.jsonl_row` and
:func:`~rules_engine.load.inputs.check_record`) stays the meaning of a line; this module only vouches for the
lines it is sure of and hands every other one to that reader:

- A file is read about 32 MB (a piece) at a time, and checked and handed on :data:`BLOCK` lines at a time, so
  what is held does not grow with the file. A piece is split into lines here only when that can be done with
  certainty: UTF-8, no carriage return (CRLF) and no \\x01 byte, and the lines polars splits add up to the
  piece's size; otherwise its lines go to the per-row reader. A file with a byte-order mark is read row by
  row whole.
- A line is decoded by polars only when it passes :data:`GATE`, a strict pattern of the record schema: one JSON
  object, its keys in the schema's order (``id``, ``org``, ``type``, ``date``, then any of ``chair``,
  ``participants``, ``portfolio``, ``tags``, ``text``), each at most once, every value a string without escapes
  or control characters, ``null`` or a list of such strings, the date as four, two and two digits, nothing
  before the opening or after the closing brace. So polars' decoding (which would turn a number into text, a
  string into a list, or keep the first of two equal keys) never has to guess. Every other non-blank line is
  read by the per-row reader, with its own line number.
- The intake (:class:`rules_engine.intake.Intake`) then vouches, with column expressions, only for rows that
  can neither be rejected, nor excluded, nor warned about (:func:`vouched`); the rest go through the per-row
  checks in reading order, so rejections, exclusions, warnings and the first of two equal ids come out as
  the per-row path gives them.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import polars as pl

from .inputs import MAX_LINE, MAX_LIST, MAX_STRING, BadRow, Rec, check_record, jsonl_row

#: Record files read here (others, and files that cannot be mapped to lines with certainty, row by row).
COLUMNAR_SUFFIXES = (".jsonl", ".ndjson")

#: The block of used records :meth:`rules_engine.tally.Counter.add_frame` takes, row order = reading order:
#: ``participants`` as the record's set (the chair among them, each once), ``tags`` each once, ``unknown`` the
#: participants not on the roster (empty for nearly every row), ``source`` the file as given, ``fields`` the record's
#: declared fields (:mod:`rules_engine.fields`) as JSON (null for a row without: every row vouched for by columns).
RECORD_FRAME: dict[str, pl.DataType] = {
    "id": pl.String(),
    "org": pl.String(),
    "type": pl.String(),
    "date": pl.Date(),
    "chair": pl.String(),
    "portfolio": pl.String(),
    "source": pl.String(),
    "line": pl.Int64(),
    "participants": pl.List(pl.String()),
    "tags": pl.List(pl.String()),
    "unknown": pl.List(pl.String()),
    "fields": pl.String(),  # the declared record fields present, as a JSON object (null: none; nearly every row)
}

_WS = r"[ \t]*"  # JSON's blanks inside a line (a carriage return never reaches here)
_STR = r'"[^"\\\x00-\x1f]*"'  # a string without escapes or control characters
_VALUE = rf"(?:null|{_STR})"
_LIST = rf"(?:null|\[{_WS}(?:{_STR}(?:{_WS},{_WS}{_STR})*)?{_WS}\])"


def _pair(key: str, value: str) -> str:
    return rf'"{key}"{_WS}:{_WS}{value}'


def _then(key: str, value: str) -> str:
    return rf"(?:{_WS},{_WS}{_pair(key, value)})?"


_DAY = r'"[0-9]{4}-[0-9]{2}-[0-9]{2}"'  # (a day that is not a date is parsed as null, then checked row by row)
#: A line the columnar reader decodes (see the module's text); any other line is read row by row.
GATE = (
    rf"^\{{{_WS}"
    + _pair("id", _STR)
    + rf"{_WS},{_WS}"
    + _pair("org", _STR)
    + rf"{_WS},{_WS}"
    + _pair("type", _STR)
    + rf"{_WS},{_WS}"
    + _pair("date", _DAY)
    + _then("chair", _VALUE)
    + _then("participants", _LIST)
    + _then("portfolio", _VALUE)
    + _then("tags", _LIST)
    + _then("text", _VALUE)
    + rf"{_WS}\}}$"
)

_DECODED = pl.Struct(
    {
        "id": pl.String(),
        "org": pl.String(),
        "type": pl.String(),
        "date": pl.String(),
        "chair": pl.String(),
        "participants": pl.List(pl.String()),
        "portfolio": pl.String(),
        "tags": pl.List(pl.String()),
    }
)  # ``text`` is not kept: the gate has seen that it is a string or null
_SLICE = 16384  # lines gated and decoded at a time (larger slices took more memory for no speed)
BLOCK = 65536  # lines checked and handed to the tally at a time: what the intake holds of a file
_PIECE = 1 << 25  # bytes of the file read at a time
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # (UTF-32's begin with UTF-16's)
_ROWS = pl.Schema({"line": pl.Int64(), **_DECODED.to_schema(), "day": pl.Date()})


@dataclass
class ColumnarBlock:
    """Up to :data:`BLOCK` consecutive lines of a JSON Lines file read by :func:`jsonl_blocks`: the lines that
    passed the gate, decoded (``line``, the record's fields, ``date`` as text and as ``day``), and every other
    non-blank line as the per-row reader reads it, with its line number, in line order. `check`: how the rows
    that are not vouched for are read row by row (None: :func:`checked`; CSV blocks bring their own)."""

    rows: pl.DataFrame
    others: list[tuple[int, Rec | BadRow]] = field(default_factory=list)
    check: Callable[[pl.DataFrame, str], Iterator[tuple[int, Rec | BadRow]]] | None = None


def jsonl_blocks(path: Path, source: str) -> Iterator[ColumnarBlock] | None:
    """Read a JSON Lines file by columns, a block of lines at a time, or None when it must be read row by row
    whole (it starts with a byte-order mark). A piece of the file whose lines cannot be mapped with certainty
    (a carriage return, a \x01 byte, text that is not UTF-8) is read by the per-row reader, line by line."""
    with path.open("rb") as handle:
        if handle.read(4).startswith(_BOMS):
            return None
    return _blocks(path, source)


def jsonl_part_blocks(data: bytes, source: str, first_line: int) -> Iterator[ColumnarBlock]:
    """:func:`jsonl_blocks` of a part of a file: `data`, whole lines of it, the first of them line `first_line`
    (:mod:`rules_engine.blocks` cuts a file so; not its first part when the file starts with a byte-order mark)."""
    return _handle_blocks(io.BytesIO(data), source, first_line)


def _blocks(path: Path, source: str) -> Iterator[ColumnarBlock]:
    with path.open("rb") as handle:
        yield from _handle_blocks(handle, source, 1)


def _handle_blocks(handle: BinaryIO, source: str, number: int) -> Iterator[ColumnarBlock]:
    """(`number`: the line the first piece starts at)"""
    for piece in _pieces(handle):
        lines = _lines(piece)
        if lines is None:
            raw = piece.split(b"\n")
            if piece.endswith(b"\n"):
                raw.pop()  # (after the last line end: no line)
            for start in range(0, len(raw), BLOCK):
                others = []
                for i, text in enumerate(raw[start : start + BLOCK], start=number + start):
                    row = jsonl_row(text, source, i)
                    if row is not None:
                        others.append((i, row))
                yield ColumnarBlock(_ROWS.to_frame(), others)
            number += len(raw)
            continue
        lines = lines.with_row_index("line", offset=number)
        number += lines.height
        for start in range(0, lines.height, BLOCK):
            yield _block(lines.slice(start, BLOCK), source)


def _lines(piece: bytes) -> pl.DataFrame | None:
    """The lines of a piece as polars splits them (a ``text`` column; null for an empty line), or None when
    that split cannot be trusted to be the per-row reader's."""
    if b"\r" in piece or b"\x01" in piece:
        return None
    try:
        lines = pl.read_csv(
            piece,
            has_header=False,
            separator="\x01",
            quote_char=None,
            schema={"text": pl.String()},
            encoding="utf8",
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:  # not UTF-8, or anything else polars cannot split
        return None
    height = lines.height
    ends = piece.endswith(b"\n")
    if height != piece.count(b"\n") + (0 if ends else 1):
        return None
    if (lines.get_column("text").str.len_bytes().sum() or 0) != len(piece) - (height if ends else height - 1):
        return None  # every byte a line's, or a line end
    return lines


def _block(lines: pl.DataFrame, source: str) -> ColumnarBlock:
    text = pl.col("text")
    decoded: list[pl.DataFrame] = []
    others: list[tuple[int, Rec | BadRow]] = []
    for start in range(0, lines.height, _SLICE):
        part = lines.slice(start, _SLICE)
        part = part.with_columns(ok=text.str.contains(GATE).fill_null(False) & (text.str.len_bytes() <= MAX_LINE))
        decoded.append(
            part.filter("ok")
            .select(pl.col("line").cast(pl.Int64), text.str.json_decode(_DECODED).alias("r"))
            .unnest("r")
            .with_columns(day=pl.col("date").str.to_date("%Y-%m-%d", strict=False))
        )
        for line, raw in part.filter(~pl.col("ok") & text.is_not_null()).select("line", "text").iter_rows():
            row = jsonl_row(raw.encode(), source, line)
            if row is not None:
                others.append((line, row))
    return ColumnarBlock(pl.concat(decoded).cast(_ROWS), others)


def _pieces(handle: BinaryIO) -> Iterator[bytes]:
    """The file in pieces of whole lines (the last one may lack its line end)."""
    carry = b""
    while block := handle.read(_PIECE):
        data = carry + block
        cut = data.rfind(b"\n") + 1
        carry = data[cut:]
        if cut:
            yield data[:cut]
    if carry:
        yield carry


@dataclass
class Known:
    """What a row must match for the intake to vouch for it without a per-row look."""

    orgs: pl.Series
    types: pl.Series
    people: pl.Series
    span: tuple[dt.date, dt.date]
    as_of: dt.date


def _implode_taken() -> bool:
    """Whether this polars takes a collection for ``is_in`` as an imploded Series (later versions, which warn
    that a plain Series is ambiguous); polars 1.20, the lowest pyproject allows, takes the plain Series and
    refuses the imploded one."""
    try:
        pl.Series(["a", "b"]).is_in(pl.Series(["a"]).implode())
    except pl.exceptions.PolarsError:
        return False
    return True


_IMPLODE = _implode_taken()


def among(values: pl.Series) -> pl.Series:
    """`values` as ``is_in`` takes a collection on this polars (see :func:`_implode_taken`)."""
    return values.implode() if _IMPLODE else values


def vouched(rows: pl.DataFrame, known: Known, others: Iterable[tuple[int, Rec | BadRow]]) -> pl.Series:
    """Whether the intake can take each decoded row without a per-row look: valid to the record schema as
    :func:`~rules_engine.load.inputs.check_record` has it, of a known organisation and type, dated inside the
    span and not after the evaluation date, naming only people on the roster, and an id no other row of the
    block (decoded or read row by row) shows. False: the row goes through the per-row checks. (Whether an
    earlier block or file showed the id is the index's to say: :meth:`rules_engine.load.dedup.SeenIds.seen`.)"""
    seen_here = pl.Series(
        [row.id if isinstance(row, Rec) else row.record_id for _, row in others], dtype=pl.String
    ).drop_nulls()
    start, end = known.span
    sizes = (pl.col("id"), pl.col("org"), pl.col("type"))
    ok = pl.all_horizontal(*(c.str.len_chars().is_between(1, MAX_STRING) for c in sizes))
    ok &= pl.col("org").is_in(among(known.orgs)) & pl.col("type").is_in(among(known.types))
    day = pl.col("day")
    ok &= day.is_not_null() & day.is_between(start, end) & (day <= known.as_of)
    for name in ("chair", "portfolio"):
        ok &= pl.col(name).is_null() | (pl.col(name).str.len_chars() > 0)
    for name in ("participants", "tags"):
        items = pl.col(name)
        ok &= items.is_null() | (
            (items.list.len() <= MAX_LIST) & items.list.eval(pl.element().str.len_chars() > 0).list.all()
        )
    people = among(known.people)
    ok &= pl.col("chair").is_null() | pl.col("chair").is_in(people)
    ok &= pl.col("participants").is_null() | pl.col("participants").list.eval(pl.element().is_in(people)).list.all()
    ids = pl.col("id")
    ok &= ~ids.is_duplicated() & ~ids.is_in(among(seen_here))
    return rows.select(ok.fill_null(False).alias("ok")).to_series()


def as_record_frame(rows: pl.DataFrame, source: str) -> pl.DataFrame:
    """Vouched rows (see :func:`vouched`) in the layout of :data:`RECORD_FRAME`."""
    chair = pl.col("chair")
    people = pl.col("participants").fill_null(pl.lit([], dtype=pl.List(pl.String())))
    people = pl.when(chair.is_null()).then(people).otherwise(pl.concat_list(people, chair))
    return rows.select(
        "id",
        "org",
        "type",
        pl.col("day").alias("date"),
        "chair",
        "portfolio",
        pl.lit(source, dtype=pl.String()).alias("source"),
        "line",
        people.list.unique(maintain_order=True).alias("participants"),
        pl.col("tags").fill_null(pl.lit([], dtype=pl.List(pl.String()))).list.unique(maintain_order=True),
        pl.lit([], dtype=pl.List(pl.String())).alias("unknown"),
        pl.lit(None, dtype=pl.String()).alias("fields"),  # (the gate lets no declared field through)
    )


def checked(rows: pl.DataFrame, source: str) -> Iterator[tuple[int, Rec | BadRow]]:
    """Decoded rows that were not vouched for, as the per-row reader reads them (the gate has seen that a row
    holds nothing more than these fields, and ``text`` as a string or null, which no check reads further)."""
    names = ("id", "org", "type", "date", "chair", "participants", "portfolio", "tags")
    for values in rows.select("line", *names).iter_rows():
        data: dict[str, Any] = dict(zip(names, values[1:], strict=True))
        yield values[0], check_record(data, source, values[0])


def digests(frame: pl.DataFrame) -> pl.Series:
    """A digest of each record's content in a :data:`RECORD_FRAME` block (not its id, source or line; the
    participants and tags as sets), to tell an identical duplicate from a conflicting one. Negative (an
    ``Int64`` below zero): the intake's per-row digests are CRCs, never negative, so the two kinds are not
    compared by mistake."""
    element = pl.element().hash(seed=7)
    content = pl.struct(
        "org",
        "type",
        "date",
        "chair",
        "portfolio",
        pl.col("participants").list.eval(element).list.sum().alias("people"),
        pl.col("tags").list.eval(element).list.sum().alias("tags"),
        "fields",
    )
    return frame.select((-(content.hash(seed=11) // 4).cast(pl.Int64) - 1).alias("digest")).to_series()


def recs_frame(recs: list[Rec]) -> pl.DataFrame:
    """Records checked row by row, in the layout of :data:`RECORD_FRAME`."""
    return pl.DataFrame(
        {
            "id": [r.id for r in recs],
            "org": [r.org for r in recs],
            "type": [r.type for r in recs],
            "date": [r.date for r in recs],
            "chair": [r.chair for r in recs],
            "portfolio": [r.portfolio for r in recs],
            "source": [r.source for r in recs],
            "line": [r.line for r in recs],
            "participants": _lists([r.participants for r in recs]),
            "tags": _lists([r.tags for r in recs]),
            "unknown": _lists([r.unknown for r in recs]),
            "fields": [
                None if r.fields is None else orjson.dumps(r.fields, option=orjson.OPT_SORT_KEYS).decode() for r in recs
            ],
        },
        schema=RECORD_FRAME,
    )


def _lists(sets: list[frozenset[str]]) -> pl.Series:
    """`sets` as a column of sorted lists, built from one flat column (polars builds a column of Python lists
    one list at a time: about 30 us a row)."""
    rows = [i for i, items in enumerate(sets) for _ in items]
    flat = [item for items in sets for item in sorted(items)]
    lists = pl.DataFrame({"row": rows, "item": flat}, schema={"row": pl.Int64(), "item": pl.String()})
    lists = lists.group_by("row").agg("item")  # (each list keeps its order)
    every = pl.DataFrame({"row": pl.int_range(0, len(sets), dtype=pl.Int64, eager=True)})
    return (
        every.join(lists, on="row", how="left")
        .sort("row")
        .select(pl.col("item").fill_null(pl.lit([], dtype=pl.List(pl.String()))))
        .to_series()
    )


def frame_recs(frame: pl.DataFrame) -> Iterator[Rec]:
    """The rows of a :data:`RECORD_FRAME` block as records (for the few that need one: triggers, unknown people)."""
    for rid, org, kind, day, chair, area, source, line, people, tags, unknown, fields in frame.select(
        *RECORD_FRAME
    ).iter_rows():
        yield Rec(
            rid,
            org,
            kind,
            day,
            chair,
            frozenset(people),
            area,
            frozenset(tags),
            source,
            line,
            frozenset(unknown),
            None if fields is None else orjson.loads(fields),
        )
