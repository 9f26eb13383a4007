"""Recording runs and reading them back: what changed between two runs, one subject's record over time."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..identity import detail as _detail
from ..identity import identity
from ..model.findings import Finding, Report, Status
from . import rectify as _rectify
from . import store
from .rectify import Rectification
from .store import Connection, HistoryError, sa  # SQLAlchemy through the store: it says when the extra is missing

ENV_RECORDED_BY = "RULES_ENGINE_RECORDED_BY"
BATCH = 500  # findings inserted per statement
PERSISTENT_AFTER = 3  # violated this many windows in a row: persistent

Clock = Callable[[], dt.datetime]
RunRef = int | str
Row = Mapping[Any, Any]  # a finding's row (a SQLAlchemy RowMapping, or a dict)


@dataclass(frozen=True)
class PackInfo:
    id: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Run:
    """One recorded evaluation."""

    id: int
    recorded_at: str
    recorded_by: str | None
    as_of: str
    period: str
    library_version: str
    findings: int
    summary: dict[str, int]
    packs: list[PackInfo]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class State:
    """A finding's status and count in one run."""

    status: str
    count: int
    message: str


@dataclass(frozen=True)
class Change:
    """One finding (its stable identity) in the two runs compared; ``None``: not in that run."""

    rule_id: str
    organisation_id: str
    organisation_name: str
    subject_kind: str
    subject_id: str
    subject_detail: str
    subject_name: str
    window: str
    window_start: str
    window_end: str
    before: State | None
    after: State | None
    identity: str = ""  # the finding's stable identity (rectify open takes it, or a prefix of it)

    def to_dict(self) -> dict[str, Any]:
        """As ``dataclasses.asdict`` gives it, built directly (asdict deep-copies: ten times slower on a diff
        of a province's runs, tens of thousands of changes)."""
        out = {name: getattr(self, name) for name in _CHANGE_FIELDS}
        for side in ("before", "after"):
            state = out[side]
            out[side] = (
                None if state is None else {"status": state.status, "count": state.count, "message": state.message}
            )
        return out


_CHANGE_FIELDS = tuple(f.name for f in fields(Change))


@dataclass(frozen=True)
class Diff:
    """Run `a` against run `b` (the later one, usually). Every finding is in at most one list:

    - ``new``: violated in `b`, not violated (or not there) in `a`;
    - ``resolved``: violated in `a`, not violated (or not there) in `b`;
    - ``persisting``: violated in both;
    - ``changed``: violated in neither, with another status or count (e.g. pending -> fulfilled).
    """

    a: Run
    b: Run
    new: list[Change] = field(default_factory=list)
    resolved: list[Change] = field(default_factory=list)
    persisting: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "new": [c.to_dict() for c in self.new],
            "resolved": [c.to_dict() for c in self.resolved],
            "persisting": [c.to_dict() for c in self.persisting],
            "changed": [c.to_dict() for c in self.changed],
        }


@dataclass(frozen=True)
class Entry:
    """A finding of the subject in one run; ``persistent``: its window is in a row of at least three
    violated windows of the same duty (the latest run's status of each window)."""

    run_id: int
    as_of: str
    rule_id: str
    organisation_id: str
    subject_id: str
    subject_detail: str
    subject_name: str
    window: str
    window_start: str
    status: str
    count: int
    message: str
    persistent: bool
    identity: str = ""


@dataclass(frozen=True)
class SubjectRecord:
    subject_id: str
    entries: list[Entry]
    rectifications: list[Rectification] = field(default_factory=list)

    @property
    def persistent(self) -> list[Entry]:
        return [e for e in self.entries if e.persistent]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "entries": [asdict(e) for e in self.entries],
            "rectifications": [r.to_dict() for r in self.rectifications],
        }


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def record(
    report: Report,
    db: str | Path | None = None,
    *,
    recorded_by: str | None = None,
    clock: Clock | None = None,
) -> Run:
    """Record `report` as a new run, in one transaction (a run interrupted half-way leaves nothing).

    - `db`: a SQLite file (created on first use) or a database URL; default ``$RULES_ENGINE_DB``, else
      ``./rules-engine.db``.
    - `recorded_by`: who ran it; default the environment variable ``RULES_ENGINE_RECORDED_BY``, else
      nobody (never guessed from the machine).
    - `clock`: gives the time recorded (timezone-aware; default now, UTC).

    `report` must hold every finding (``evaluate(..., statuses=None)``): a run is compared finding by finding.
    A closed rectification whose finding this run still finds violated (the run being as of the day it was
    closed or later) is reopened, by an event in the same transaction.
    """
    total = sum(report.summary.values())
    if len(report.findings) != total:
        raise HistoryError(
            f"报告只含部分结论（{len(report.findings)}/{total}），无法记录 the report holds {len(report.findings)} of "
            f"{total} findings (evaluated with statuses=...); record a report with every finding"
        )
    when = (clock or _now)()
    if when.tzinfo is None:
        raise HistoryError("时钟须带时区 the clock must give a timezone-aware time")
    who = recorded_by if recorded_by is not None else os.environ.get(ENV_RECORDED_BY) or None
    packs = {p["id"]: p for p in report.receipt.packs}
    with store.connect(db, create=True) as conn:
        key = conn.execute(
            sa.insert(store.runs).values(
                recorded_at=when.isoformat(timespec="seconds"),
                recorded_by=who,
                as_of=report.as_of.isoformat(),
                period=report.receipt.period,
                period_start=report.period.start.isoformat(),
                period_end=report.period.end.isoformat(),
                library=report.receipt.library,
                library_version=report.receipt.version,
                findings=len(report.findings),
                summary=dict(report.summary),
                receipt=report.receipt.model_dump(mode="json"),
            )
        ).inserted_primary_key
        assert key is not None
        run_id = int(key[0])
        conn.execute(
            sa.insert(store.run_packs),
            [
                {"run_id": run_id, "pack_id": p["id"], "version": p.get("version", ""), "sha256": p.get("sha256", "")}
                for p in sorted(packs.values(), key=lambda p: p["id"])
            ],
        )
        rows = _finding_rows(conn, run_id, report.findings)
        for start in range(0, len(rows), BATCH):
            _insert_batch(conn, rows[start : start + BATCH])
        # closed rectifications this run still finds violated are reopened, in the same transaction
        _rectify.reopen_still_violated(conn, run_id, report.as_of.isoformat(), when.isoformat(timespec="seconds"))
        return _run(conn, int(run_id))


def _insert_batch(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(sa.insert(store.findings), rows)


# A state's fields, in the order its digest hashes them (the migration 0004 keeps a copy: change both or none)
STATE_FIELDS = (
    "status",
    "count",
    "pack",
    "pack_version",
    "period",
    "window_label",
    "subject_name",
    "organisation_name",
    "expected_zh",
    "expected_en",
    "actual_zh",
    "actual_en",
    "message_zh",
    "message_en",
)


def state_digest(ident: str, state: Sequence[Any]) -> str:
    """A state's name: a 128-bit BLAKE2b of the finding's identity and the state's fields (texts and numbers),
    in order, as Python writes them (``repr`` of the tuple: unambiguous, and about four times as fast as JSON)."""
    return hashlib.blake2b(repr((ident, *state)).encode(), digest_size=16).hexdigest()


def _finding_rows(conn: Connection, run_id: int, found: Sequence[Finding]) -> list[dict[str, int]]:
    """The run's (run, key, state) rows; the duties and states not stored yet are inserted first, in bulk.
    Known ones are looked up from the previous run (most findings are in the same state), the rest by
    chunks of their identities or digests."""
    keys: dict[str, dict[str, Any]] = {}
    states: dict[str, dict[str, Any]] = {}
    pairs: list[tuple[str, str]] = []
    for f in found:
        ident = identity(f)
        if ident not in keys:
            keys[ident] = {
                "identity": ident,
                "rule_id": f.rule_id,
                "subject_kind": f.subject.kind,
                "subject_id": f.subject.id,
                "subject_detail": _detail(f),
                "organisation_id": f.organisation.id,
                "window_start": f.window.start.isoformat(),
                "window_end": f.window.end.isoformat(),
            }
        state = (
            f.status.value,
            f.count,
            f.pack,
            f.pack_version,
            f.period.label,
            f.window.label,
            f.subject.name,
            f.organisation.name,
            f.expected.zh,
            f.expected.en,
            f.actual.zh,
            f.actual.en,
            f.message.zh,
            f.message.en,
        )
        name = state_digest(ident, state)
        states.setdefault(name, {"identity": ident, "digest": name, **dict(zip(STATE_FIELDS, state, strict=True))})
        pairs.append((ident, name))
    key_ids, state_ids = _known(conn, run_id, set(keys), set(states))
    new_keys = [row for ident, row in keys.items() if ident not in key_ids]
    key_ids.update(_inserted(conn, store.finding_keys, "identity", new_keys))
    new_states = [
        {**{k: v for k, v in row.items() if k != "identity"}, "key_id": key_ids[row["identity"]]}
        for name, row in states.items()
        if name not in state_ids
    ]
    state_ids.update(_inserted(conn, store.finding_states, "digest", new_states))
    return [{"run_id": run_id, "key_id": key_ids[i], "state_id": state_ids[n]} for i, n in pairs]


LOOKUP = 500  # identities or digests per lookup query


def _known(conn: Connection, run_id: int, idents: set[str], names: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    """The ids of the duties and states already stored, among `idents` and `names`."""
    k, s, f = store.finding_keys, store.finding_states, store.findings
    key_ids: dict[str, int] = {}
    state_ids: dict[str, int] = {}
    previous = conn.execute(sa.select(sa.func.max(store.runs.c.id)).where(store.runs.c.id < run_id)).scalar()
    if previous is not None:
        query = (
            sa.select(k.c.identity, k.c.id, s.c.digest, s.c.id)
            .select_from(f.join(k, k.c.id == f.c.key_id).join(s, s.c.id == f.c.state_id))
            .where(f.c.run_id == previous)
        )
        for ident, key_id, name, state_id in conn.execute(query):
            if ident in idents:
                key_ids[ident] = key_id
            if name in names:
                state_ids[name] = state_id
    for wanted, found, column, id_column in (
        (idents, key_ids, k.c.identity, k.c.id),
        (names, state_ids, s.c.digest, s.c.id),
    ):
        missing = sorted(wanted - found.keys())
        for start in range(0, len(missing), LOOKUP):
            chunk = missing[start : start + LOOKUP]
            found.update(
                (str(a), int(b)) for a, b in conn.execute(sa.select(column, id_column).where(column.in_(chunk)))
            )
    return key_ids, state_ids


def _inserted(conn: Connection, table: sa.Table, name: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert `rows` into `table` in one executemany and return their ids by the column `name`. The ids are
    read back as those above the largest before the insert: the transaction holds the store's write lock
    (see store.connect), so no other writer adds rows meanwhile. (RETURNING with the rows' order kept would
    make SQLAlchemy send one statement per row on SQLite.)"""
    if not rows:
        return {}
    before = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    conn.execute(sa.insert(table), rows)
    found = {str(a): int(b) for a, b in conn.execute(sa.select(table.c[name], table.c.id).where(table.c.id > before))}
    if len(found) != len(rows):  # pragma: no cover - only if another writer ignored the lock
        raise HistoryError(f"写入 {table.name} 时有其他写入者 another writer added rows to {table.name} meanwhile")
    return found


def runs(db: str | Path | None = None) -> list[Run]:
    """The recorded runs, oldest first."""
    with store.connect(db, create=False) as conn:
        return _runs(conn)


# the runs' columns a Run holds (not the receipt: the largest value of a run, and not shown)
_RUN_COLUMNS = ("id", "recorded_at", "recorded_by", "as_of", "period", "library_version", "findings", "summary")


def _runs(conn: Connection, run_id: int | None = None) -> list[Run]:
    """The runs (or the one run `run_id`), oldest first, in two queries whatever their number."""
    r, p = store.runs, store.run_packs
    query = sa.select(*(r.c[name] for name in _RUN_COLUMNS)).order_by(r.c.id)
    packs_query = sa.select(p)
    if run_id is not None:
        query, packs_query = query.where(r.c.id == run_id), packs_query.where(p.c.run_id == run_id)
    packs: dict[int, list[PackInfo]] = {}
    for pack in conn.execute(packs_query).mappings():
        packs.setdefault(pack["run_id"], []).append(PackInfo(pack["pack_id"], pack["version"], pack["sha256"]))
    return [
        Run(
            id=row["id"],
            recorded_at=row["recorded_at"],
            recorded_by=row["recorded_by"],
            as_of=row["as_of"],
            period=row["period"],
            library_version=row["library_version"],
            findings=row["findings"],
            summary=dict(row["summary"]),
            packs=sorted(packs.get(row["id"], []), key=lambda pack: pack.id),  # code point order, any database
        )
        for row in conn.execute(query).mappings()
    ]


def _run(conn: Connection, run_id: int) -> Run:
    (run,) = _runs(conn, run_id)
    return run


_LATEST = re.compile(r"latest(?:~(\d+))?")


def resolve_run(conn: Connection, ref: RunRef) -> int:
    """A run id from ``7``, ``"7"``, ``"latest"`` or ``"latest~N"`` (N runs before the latest)."""
    text = str(ref).strip()
    known = conn.execute(sa.select(store.runs.c.id).order_by(store.runs.c.id.desc())).scalars().all()
    match = _LATEST.fullmatch(text)
    if match:
        back = int(match.group(1) or 0)
        if back >= len(known):
            raise HistoryError(f"没有运行 {text} no run {text}: {len(known)} run(s) recorded")
        return int(known[back])
    if not text.isdigit():
        raise HistoryError(f"运行编号无效 invalid run id '{text}' (a number, latest or latest~N)")
    if int(text) not in known:
        raise HistoryError(f"没有编号为 {text} 的运行 no run {text} (see: rules-engine history runs)")
    return int(text)


def _compared(conn: Connection, ia: int, ib: int) -> Iterator[tuple[Row | None, Row | None]]:
    """The (a, b) rows of the findings whose state differs between runs `ia` and `ib` or that are violated in
    either (a side None: not in that run). Compared by the database on the primary key (run, duty): only these
    rows come back, not the two runs whole (a province's runs hold about 155,000 findings each, mostly
    unchanged); the caller tells apart a change of status or count from a change of wording."""
    fa, fb = store.findings.alias("a"), store.findings.alias("b")
    sa_, sb = store.finding_states.alias("sa"), store.finding_states.alias("sb")
    k = store.finding_keys
    violated = Status.violated.value
    key_columns = [k.c.identity, k.c.rule_id, k.c.organisation_id, k.c.subject_kind, k.c.subject_id]
    key_columns += [k.c.subject_detail, k.c.window_start, k.c.window_end]
    shown = ("organisation_name", "subject_name", "window_label", "status", "count", "message_zh")
    state = ("status", "count", "message_zh")
    in_b = (
        sa.select(*key_columns, *(sb.c[n] for n in shown), *(sa_.c[n].label(f"a_{n}") for n in state))
        .select_from(
            fb.join(k, k.c.id == fb.c.key_id)
            .join(sb, sb.c.id == fb.c.state_id)
            .outerjoin(fa, sa.and_(fa.c.run_id == ia, fa.c.key_id == fb.c.key_id))
            .outerjoin(sa_, sa_.c.id == fa.c.state_id)
        )
        .where(
            fb.c.run_id == ib,
            sa.or_(fa.c.state_id.is_(None), fa.c.state_id != fb.c.state_id, sb.c.status == violated),
        )
    )
    keys = [c.name for c in key_columns] + list(shown) + [f"a_{n}" for n in state]
    changes = {f"a_{n}": n for n in state}
    for values in conn.execute(in_b):
        row = dict(zip(keys, values, strict=True))
        before = None if row["a_status"] is None else {changes.get(n, n): v for n, v in row.items()}
        yield before, row
    only_a = (
        sa.select(*key_columns, *(sa_.c[n] for n in shown))
        .select_from(fa.join(k, k.c.id == fa.c.key_id).join(sa_, sa_.c.id == fa.c.state_id))
        .where(fa.c.run_id == ia, ~sa.exists().where(fb.c.run_id == ib, fb.c.key_id == fa.c.key_id))
    )
    for gone in conn.execute(only_a).mappings():
        yield gone, None


def diff(db: str | Path | None, a: RunRef, b: RunRef) -> Diff:
    """What changed from run `a` to run `b` (ids, ``latest``, ``latest~N``); see :class:`Diff`."""
    with store.connect(db, create=False) as conn:
        ia, ib = resolve_run(conn, a), resolve_run(conn, b)
        pairs = list(_compared(conn, ia, ib))
        result = Diff(_run(conn, ia), _run(conn, ib))
    violated = Status.violated.value
    pairs.sort(key=lambda pair: _order(pair[1] or pair[0] or {}))
    for old, new in pairs:
        was = old is not None and old["status"] == violated
        now = new is not None and new["status"] == violated
        if now and not was:
            result.new.append(_change(old, new))
        elif was and not now:
            result.resolved.append(_change(old, new))
        elif was and now:
            result.persisting.append(_change(old, new))
        elif old is None or new is None or (old["status"], old["count"]) != (new["status"], new["count"]):
            result.changed.append(_change(old, new))
    return result


def _order(row: Row) -> tuple[str, ...]:
    keys = ("organisation_id", "rule_id", "subject_id", "subject_detail", "window_start", "identity")
    return tuple(row[k] for k in keys)  # the identity last: no two findings of a run tie


def _state(row: Row | None) -> State | None:
    return None if row is None else State(row["status"], row["count"], row["message_zh"])


def _change(old: Row | None, new: Row | None) -> Change:
    row = new if new is not None else old
    assert row is not None
    return Change(
        rule_id=row["rule_id"],
        organisation_id=row["organisation_id"],
        organisation_name=row["organisation_name"],
        subject_kind=row["subject_kind"],
        subject_id=row["subject_id"],
        subject_detail=row["subject_detail"],
        subject_name=row["subject_name"],
        window=row["window_label"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        before=_state(old),
        after=_state(new),
        identity=row["identity"],
    )


def show(db: str | Path | None, subject_id: str) -> SubjectRecord:
    """Every recorded finding of a person or organisation (as subject, or an organisation's findings about
    its people), oldest run first; entries in three or more violated windows in a row are ``persistent``."""
    k = store.finding_keys
    query = (
        store.finding_rows()
        .add_columns(store.runs.c.as_of)
        .join(store.runs, store.runs.c.id == store.findings.c.run_id)
        .where(sa.or_(k.c.subject_id == subject_id, k.c.organisation_id == subject_id))
    )
    with store.connect(db, create=False) as conn:
        rows = list(conn.execute(query).mappings())
        rectifications = _rectify.about(conn, subject_id)
    # sorted here, not by the database: text in code point order whatever the database's collation
    rows.sort(key=lambda r: (r["run_id"], *_order(r)))
    if not rows:
        raise HistoryError(
            f"没有 {subject_id} 的记录 nothing recorded for '{subject_id}' (a person or organisation id)"
        )
    flagged = _persistent(rows)
    entries = [
        Entry(
            run_id=r["run_id"],
            as_of=r["as_of"],
            rule_id=r["rule_id"],
            organisation_id=r["organisation_id"],
            subject_id=r["subject_id"],
            subject_detail=r["subject_detail"],
            subject_name=r["subject_name"],
            window=r["window_label"],
            window_start=r["window_start"],
            status=r["status"],
            count=r["count"],
            message=r["message_zh"],
            persistent=(r["run_id"], r["identity"]) in flagged,
            identity=r["identity"],
        )
        for r in rows
    ]
    return SubjectRecord(subject_id, entries, rectifications)


def _persistent(rows: Iterable[sa.RowMapping]) -> set[tuple[int, str]]:
    """The (run, identity) of the windows in a row of at least three violated windows of one duty (rule,
    subject, organisation); each window counts with its status in the latest run that judged it, and only
    that run's entry is flagged."""
    latest: dict[tuple[str, ...], dict[str, tuple[int, str, str]]] = {}
    for r in rows:
        series = (r["rule_id"], r["subject_kind"], r["subject_id"], r["subject_detail"], r["organisation_id"])
        windows = latest.setdefault(series, {})
        seen = windows.get(r["window_start"])
        if seen is None or r["run_id"] > seen[0]:
            windows[r["window_start"]] = (r["run_id"], r["status"], r["identity"])
    flagged: set[tuple[int, str]] = set()
    for windows in latest.values():
        streak: list[tuple[int, str]] = []
        for start in [*sorted(windows), None]:
            if start is not None and windows[start][1] == Status.violated.value:
                streak.append((windows[start][0], windows[start][2]))
                continue
            if len(streak) >= PERSISTENT_AFTER:
                flagged.update(streak)
            streak = []
    return flagged


def _subject(c: Change | Entry) -> str:
    return c.subject_name + (f" ({c.subject_detail})" if c.subject_detail else "") + f" [{c.subject_id}]"


def _state_text(s: State | None) -> str:
    return "—" if s is None else f"{s.status}({s.count})"


def format_runs(items: Sequence[Run]) -> str:
    """The runs as text lines, one per run."""
    lines = ["编号 id  记录时间 recorded at  评价日期 as of  期间 period  记录人 by  结论 findings  规则包 packs"]
    for r in items:
        packs = ", ".join(f"{p.id}@{p.version}" for p in r.packs)
        violated = r.summary.get(Status.violated.value, 0)
        lines.append(
            f"{r.id}  {r.recorded_at}  {r.as_of}  {r.period}  {r.recorded_by or '-'}  "
            f"{r.findings} (未履行 violated {violated})  {packs}"
        )
    if not items:
        lines.append("（无 none）")
    return "\n".join(lines) + "\n"


_HEADINGS = {
    "new": "新增未履行 new violations",
    "resolved": "已消除 resolved",
    "persisting": "持续未履行 persisting",
    "changed": "其他变化 changed",
}


def format_diff(d: Diff) -> str:
    """The diff as text: per list, the findings grouped by organisation."""
    lines = [
        f"运行 run {d.a.id} (as of {d.a.as_of}, {d.a.period}) -> 运行 run {d.b.id} (as of {d.b.as_of}, {d.b.period})"
    ]
    for name, heading in _HEADINGS.items():
        changes: list[Change] = getattr(d, name)
        lines.append(f"{heading}: {len(changes)}")
        organisation = None
        for c in changes:
            if c.organisation_id != organisation:
                organisation = c.organisation_id
                lines.append(f"  {c.organisation_name} [{c.organisation_id}]")
            lines.append(
                f"    {c.rule_id}  {_subject(c)}  {c.window}  {_state_text(c.before)} -> {_state_text(c.after)}"
                f"  [{c.identity[:12]}]"
            )
    return "\n".join(lines) + "\n"


def format_record(record: SubjectRecord) -> str:
    """One subject's findings over time, as text; persistent violations marked."""
    lines = [f"{record.subject_id}:"]
    for e in record.entries:
        mark = "  持续未履行 PERSISTENT" if e.persistent else ""
        lines.append(
            f"  [{e.identity[:12]}] run {e.run_id} (as of {e.as_of})  {e.rule_id}  {e.organisation_id}  "
            f"{_subject(e)}  {e.window}  {e.status}({e.count}){mark}"
        )
    shown = {(e.rule_id, e.subject_id, e.subject_detail, e.window) for e in record.persistent}
    lines.append(f"持续未履行（连续三个以上期间） persistent (three or more windows in a row): {len(shown)}")
    lines.append(f"整改 rectifications: {len(record.rectifications)}")
    if record.rectifications:
        lines.append(_rectify.format_rectifications(record.rectifications, events=True).rstrip("\n"))
    return "\n".join(lines) + "\n"
