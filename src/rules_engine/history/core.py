"""Recording runs and reading them back: what changed between two runs, one subject's record over time."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
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
        return asdict(self)


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
        rows = [_row(run_id, f) for f in report.findings]
        for start in range(0, len(rows), BATCH):
            _insert_batch(conn, rows[start : start + BATCH])
        # closed rectifications this run still finds violated are reopened, in the same transaction
        _rectify.reopen_still_violated(conn, run_id, report.as_of.isoformat(), when.isoformat(timespec="seconds"))
        return _run(conn, int(run_id))


def _insert_batch(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(sa.insert(store.findings), rows)


def _row(run_id: int, f: Finding) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "identity": identity(f),
        "rule_id": f.rule_id,
        "pack": f.pack,
        "pack_version": f.pack_version,
        "subject_kind": f.subject.kind,
        "subject_id": f.subject.id,
        "subject_detail": _detail(f),
        "subject_name": f.subject.name,
        "organisation_id": f.organisation.id,
        "organisation_name": f.organisation.name,
        "period": f.period.label,
        "window_start": f.window.start.isoformat(),
        "window_end": f.window.end.isoformat(),
        "window_label": f.window.label,
        "status": f.status.value,
        "count": f.count,
        "expected_zh": f.expected.zh,
        "expected_en": f.expected.en,
        "actual_zh": f.actual.zh,
        "actual_en": f.actual.en,
        "message_zh": f.message.zh,
        "message_en": f.message.en,
    }


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


_KEY = (
    "identity",
    "rule_id",
    "organisation_id",
    "organisation_name",
    "subject_kind",
    "subject_id",
    "subject_detail",
    "subject_name",
    "window_label",
    "window_start",
    "window_end",
    "status",
    "count",
    "message_zh",
)


def _compared(conn: Connection, ia: int, ib: int) -> Iterator[tuple[Row | None, Row | None]]:
    """The (a, b) rows of the findings that differ between runs `ia` and `ib` or are violated in either (a
    side None: not in that run). Compared by the database, on the index of (run, identity): only these rows
    come back, not the two runs whole (a province's runs hold about 150,000 findings each, mostly unchanged)."""
    fa, fb = store.findings.alias("a"), store.findings.alias("b")
    violated = Status.violated.value
    state = ("status", "count", "message_zh")
    differs = sa.or_(
        fa.c.id.is_(None),
        fa.c.status == violated,
        fb.c.status == violated,
        fa.c.status != fb.c.status,
        fa.c["count"] != fb.c["count"],
    )
    in_b = (
        sa.select(*(fb.c[k] for k in _KEY), *(fa.c[k].label(f"a_{k}") for k in state))
        .select_from(fb.outerjoin(fa, sa.and_(fa.c.run_id == ia, fa.c.identity == fb.c.identity)))
        .where(fb.c.run_id == ib, differs)
    )
    keys = [*_KEY, *(f"a_{k}" for k in state)]
    changes = {f"a_{k}": k for k in state}
    for values in conn.execute(in_b):
        row = dict(zip(keys, values, strict=True))
        before = None if row["a_status"] is None else {changes.get(k, k): v for k, v in row.items()}
        yield before, row
    only_a = sa.select(*(fa.c[k] for k in _KEY)).where(
        fa.c.run_id == ia, ~sa.exists().where(fb.c.run_id == ib, fb.c.identity == fa.c.identity)
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
    f = store.findings
    query = (
        sa.select(f, store.runs.c.as_of)
        .join(store.runs, store.runs.c.id == f.c.run_id)
        .where(sa.or_(f.c.subject_id == subject_id, f.c.organisation_id == subject_id))
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
