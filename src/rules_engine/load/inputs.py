"""Readers for the roster (YAML / JSON) and activity records (JSON Lines / CSV), streaming where possible.

Records are validated by hand in the hot loop (one dict check per field, no model object per line), to
the schema of :class:`~rules_engine.model.records.ActivityRecord`. A record that fails is not an
exception: it becomes a located :class:`BadRow` (source, line, field, value, reason) with whatever
could be salvaged (organisation, type, date), so the evaluator can mark the duties it might have
evidenced as undeterminable instead of violated.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import reprlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from ..errors import InputError
from ..guard import has_surrogate, shown
from ..model.records import ActivityRecord
from ..model.roster import Organisation, Person, Post, Roster
from .yamlpos import Document, load_yaml

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


@dataclass(slots=True)
class BadRow:
    """An input row that was not used, with what could be salvaged from it."""

    source: str
    line: int
    field: str | None
    value: str | None
    zh: str
    en: str
    record_id: str | None = None
    org: str | None = None
    type: str | None = None
    date: dt.date | None = None
    taints: bool = True  # False: the row cannot have evidenced any duty (a duplicate, a date outside the span)

    def __post_init__(self) -> None:  # its texts go into the report: escape a lone surrogate (\ud800)
        for name in ("field", "value", "zh", "en", "record_id"):
            text = getattr(self, name)
            if text is not None and not text.isascii() and has_surrogate(text):
                setattr(self, name, text.encode("utf-8", "backslashreplace").decode("utf-8"))


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
        return BadRow(source, line, None, _short(data), "记录不是 JSON 对象", "record is not a JSON object")
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

    def bad(fieldname: str | None, value: object, zh: str, en: str) -> BadRow:
        return BadRow(
            source,
            line,
            fieldname,
            None if value is None else _short(value),
            zh,
            en,
            rid if isinstance(rid, str) else None,
            org or None,
            rtype or None,
            date,
        )

    for key in data:
        if key not in _FIELDS:
            return bad(key, data[key], f"未知字段 '{key}'", f"unknown field '{key}'")
    for key in ("id", "org", "type", "date"):
        value = data.get(key)
        if value is None or value == "":
            return bad(key, None, f"缺少必填字段 '{key}'", f"missing required field '{key}'")
        if not isinstance(value, str):
            return bad(key, value, f"字段 '{key}' 应为字符串", f"field '{key}' must be a string")
        if len(value) > MAX_STRING:
            return bad(key, value[:40], f"字段 '{key}' 过长", f"field '{key}' is too long")
        if has_surrogate(value):
            return bad(
                key,
                value,
                f"字段 '{key}' 含有无效的 Unicode 文本（孤立代理项）",
                f"field '{key}' is not valid Unicode text (a lone surrogate)",
            )
    if date is None:
        return bad("date", raw_date, "日期无效，应为 YYYY-MM-DD", "invalid date, expected YYYY-MM-DD")
    chair = data.get("chair")
    if chair == "":
        chair = None
    if chair is not None and not isinstance(chair, str):
        return bad("chair", chair, "主持人应为人员编号字符串", "chair must be a person id string")
    people = _string_list(data.get("participants"))
    if people is None:
        return bad(
            "participants",
            data.get("participants"),
            "参加人员应为人员编号列表",
            "participants must be a list of person ids",
        )
    tags = _string_list(data.get("tags"))
    if tags is None:
        return bad("tags", data.get("tags"), "标签应为字符串列表", "tags must be a list of strings")
    portfolio = data.get("portfolio")
    if portfolio == "":
        portfolio = None
    if portfolio is not None and not isinstance(portfolio, str):
        return bad("portfolio", portfolio, "分管领域应为字符串", "portfolio must be a string")
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        return bad("text", text, "说明应为字符串", "text must be a string")
    participants = frozenset(people)
    if chair:
        participants = participants | {chair}
    return Rec(rid, org, rtype, date, chair, participants, portfolio, frozenset(tags), source, line)  # type: ignore[arg-type]


def _string_list(value: Any) -> list[str] | None:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in _SPLIT.split(value) if part.strip()]
    if isinstance(value, (list, tuple)) and len(value) <= MAX_LIST and all(isinstance(v, str) for v in value):
        return [v for v in value if v]
    return None


def read_records(path: str | Path) -> Iterator[Rec | BadRow]:
    """Stream records from a ``.jsonl`` / ``.ndjson`` / ``.json`` (a list), ``.csv`` or ``.xlsx`` file."""
    p = Path(path)
    source = str(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        raise InputError(f"找不到记录文件 records file not found: {source}")
    if suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(p, source)
    elif suffix == ".csv":
        yield from _read_csv(p, source)
    elif suffix == ".xlsx":
        from .xlsx import read_records_xlsx

        yield from read_records_xlsx(path)
    elif suffix == ".json":
        try:
            data = orjson.loads(p.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{source}: JSON 无法解析 cannot parse JSON: {exc}") from None
        if not isinstance(data, list):
            raise InputError(f"{source}: 应为记录列表 expected a JSON list of records")
        for i, item in enumerate(data, start=1):
            yield check_record(item, source, i)
    else:
        raise InputError(
            f"{source}: 不支持的记录文件格式 unsupported records format '{suffix}' (.jsonl, .csv, .json, .xlsx)"
        )


def _read_jsonl(p: Path, source: str) -> Iterator[Rec | BadRow]:
    with p.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            stripped = raw.strip()
            if not stripped:
                continue
            if len(stripped) > MAX_LINE:
                yield BadRow(source, number, None, None, "行过长", f"line longer than {MAX_LINE} bytes")
                continue
            try:
                data = orjson.loads(stripped)
            except orjson.JSONDecodeError as exc:
                yield BadRow(
                    source,
                    number,
                    None,
                    _short(stripped.decode("utf-8", "replace")),
                    f"JSON 格式错误: {exc}",
                    f"malformed JSON: {exc}",
                )
                continue
            yield check_record(data, source, number)


def _decode(raw: bytes, source: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{source}: 无法识别的编码 unknown text encoding (expected UTF-8 or GB18030)")


CSV_ALIASES = {
    "编号": "id",
    "记录编号": "id",
    "组织": "org",
    "组织编号": "org",
    "类型": "type",
    "记录类型": "type",
    "日期": "date",
    "主持人": "chair",
    "组织者": "chair",
    "参加人员": "participants",
    "参会人员": "participants",
    "分管领域": "portfolio",
    "标签": "tags",
    "内容": "text",
    "说明": "text",
    "活动编号": "id",
    "活动类型": "type",
    "活动日期": "date",
    "出席人员": "participants",
    "备注": "text",
    "organisation": "org",
    "organization": "org",
}


def _read_csv(p: Path, source: str) -> Iterator[Rec | BadRow]:
    text = _decode(p.read_bytes(), source)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    columns = [CSV_ALIASES.get(h.strip(), h.strip().lower()) for h in header]
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            yield BadRow(
                source,
                number,
                None,
                _short(",".join(row)),
                f"列数不符（应为 {len(columns)} 列，实为 {len(row)} 列）",
                f"expected {len(columns)} columns, found {len(row)}",
            )
            continue
        data: dict[str, Any] = {c: (v.strip() or None) for c, v in zip(columns, row, strict=True)}
        yield check_record(data, source, number)


def records_from_objects(items: Iterable[Any], source: str = "<records>") -> Iterator[Rec | BadRow]:
    """Records handed over by a Python app: model instances or plain dicts."""
    for i, item in enumerate(items, start=1):
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


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The C parser with safe constructors, refusing duplicate keys (the slow path then locates them)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
            except TypeError:  # an unhashable key: let the slow path say what is wrong
                raise yaml.constructor.ConstructorError(None, None, "complex key", key_node.start_mark) from None
        return super().construct_mapping(node, deep)


def read_roster(path: str | Path) -> RosterResult:
    """Read a roster YAML or JSON file. Each organisation and post is validated on its own: a bad entry
    is rejected with its line and the rest is used.

    The file is parsed with the fast (C) safe loader first; positions are only computed, with the
    position-keeping loader, when there is something to locate or the fast loader refused the text."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"找不到名册文件 roster file not found: {path}")
    if p.suffix.lower() == ".xlsx":
        from .xlsx import read_roster_xlsx

        return read_roster_xlsx(path)
    name = str(path)
    raw = p.read_bytes()
    data: Any = None
    try:
        if p.suffix.lower() == ".json":
            data = orjson.loads(raw)
        else:
            data = yaml.load(raw.decode("utf-8-sig"), Loader=_FastLoader)
    except (orjson.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        result = roster_from_data(data, name)
        if not result.rejected:
            return result
    doc, problems = load_yaml(p)
    if doc is None or not isinstance(doc.data, dict):
        detail = "; ".join(str(x) for x in problems) or "top level must be a mapping with 'organisations'"
        raise InputError(f"名册无法读取 cannot read roster: {detail}")
    located = [BadRow(name, x.location.line, x.location.path, None, x.message, x.message_en) for x in problems]
    return roster_from_data(doc.data, name, doc, located)


def roster_from_data(
    data: Mapping[str, Any], source: str = "<roster>", doc: Document | None = None, rejected: list[BadRow] | None = None
) -> RosterResult:
    """Validate a roster entry by entry. Rejected: invalid entries, duplicate ids, posts in unknown
    organisations, posts of one person in one organisation whose terms overlap."""
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
    for i, item in enumerate(data.get("organisations") or []):
        read += 1
        try:
            org = Organisation.model_validate(item)
        except ValidationError as exc:
            reject(_roster_bad(exc, source, where, ("organisations", i)))
            continue
        if org.id in org_ids:
            reject(
                BadRow(source, where(("organisations", i)), "id", org.id, "组织编号重复", "duplicate organisation id")
            )
            continue
        orgs.append(org)
        org_ids.add(org.id)
    people: list[Person] = []
    seen: set[str] = set()
    for i, item in enumerate(data.get("people") or []):
        raw_posts = item.get("posts") if isinstance(item, dict) else None
        units = max(1, len(raw_posts) if isinstance(raw_posts, list) else 1)
        read += units
        if isinstance(item, dict) and raw_posts is not None and not isinstance(raw_posts, list):
            reject(
                BadRow(
                    source,
                    where(("people", i, "posts")),
                    "posts",
                    _short(raw_posts),
                    "任职应为列表",
                    "posts must be a list",
                ),
                units,
            )
            continue
        try:
            person = Person.model_validate({**item, "posts": []} if isinstance(item, dict) else item)
        except ValidationError as exc:
            reject(_roster_bad(exc, source, where, ("people", i)), units)
            continue
        if person.id in seen:
            reject(BadRow(source, where(("people", i)), "id", person.id, "人员编号重复", "duplicate person id"), units)
            continue
        seen.add(person.id)
        posts: list[Post] = []
        for j, raw in enumerate(raw_posts or []):
            try:
                post = Post.model_validate(raw)
            except ValidationError as exc:
                reject(_roster_bad(exc, source, where, ("people", i, "posts", j)))
                continue
            line = where(("people", i, "posts", j))
            if post.org not in org_ids:
                reject(
                    BadRow(
                        source,
                        line,
                        "org",
                        post.org,
                        f"任职组织 '{post.org}' 不在名册中（人员 {person.id}）",
                        f"post in unknown organisation '{post.org}' (person {person.id})",
                    )
                )
                continue
            clash = next((q for q in posts if q.org == post.org and _overlap(q, post)), None)
            if clash is not None:
                reject(
                    BadRow(
                        source,
                        line,
                        "start",
                        post.start.isoformat(),
                        f"与同一组织的另一任职（{clash.role.zh}，{clash.start}起）时间重叠（人员 {person.id}）",
                        f"overlaps another post in the same organisation ({clash.role.value} from {clash.start}) "
                        f"(person {person.id})",
                    )
                )
                continue
            posts.append(post)
        people.append(person.model_copy(update={"posts": posts}))
    for key in data:
        if key not in ("organisations", "people"):
            problems.append(
                BadRow(source, where((key,)), key, None, f"名册中的未知键 '{key}'", f"unknown roster key '{key}'")
            )
    for i, org in enumerate(orgs):
        if org.parent and org.parent not in org_ids:
            problems.append(
                BadRow(
                    source,
                    where(("organisations", i)),
                    "parent",
                    org.parent,
                    f"上级组织 '{org.parent}' 不在名册中（组织 {org.id}，仍采用）",
                    f"parent '{org.parent}' of {org.id} is not in the roster (organisation still used)",
                )
            )
    return RosterResult(Roster(organisations=orgs, people=people), problems, read, source, rejected_units)


def _overlap(a: Post, b: Post) -> bool:
    return a.start <= (b.end or dt.date.max) and b.start <= (a.end or dt.date.max)


def _roster_bad(exc: ValidationError, source: str, where: Any, base: tuple[str | int, ...]) -> BadRow:
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])
    value = error.get("input")
    return BadRow(
        source,
        where((*base, *loc)),
        ".".join(str(x) for x in loc) or None,
        None if isinstance(value, (dict, list)) else _short(value),
        f"名册条目无效: {error['msg']}",
        f"invalid roster entry: {error['msg']}",
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
