"""Recording runs and reading them back: what changed between two runs, one subject's record over time."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import rectify as _rectify
from . import store
from .rectify import Rectification
from .store import Connection, HistoryError, sa  # SQLAlchemy through the store: it says when the extra is missing

if TYPE_CHECKING:  # imported where used: reading the history needs neither pydantic nor the models
    from ..model.findings import Finding, Report

ENV_RECORDED_BY = "RULES_ENGINE_RECORDED_BY"
VIOLATED = _rectify.VIOLATED  # Status.violated's value, as stored
BATCH = 500  # findings inserted per statement
PERSISTENT_AFTER = 3  # violated this many windows in a row: persistent

Clock = Callable[[], dt.datetime]
RunRef = int | str


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
class OrganisationCount:
    """How many findings of one organisation a list holds (``Diff.persisting_counts``)."""

    organisation_id: str
    organisation_name: str
    count: int


# A change as the diff's query returns it: the finding's key and names, then its state in b and in a (None: not
# in that run). Changes are built from these on first use; to_dict reads them directly.
_ROW = (
    "identity",
    "rule_id",
    "organisation_id",
    "subject_kind",
    "subject_id",
    "subject_detail",
    "window_start",
    "window_end",
    "organisation_name",
    "subject_name",
    "window_label",
)
_B, _A = len(_ROW), len(_ROW) + 3  # where the (status, count, message) of b and of a start in a row
DiffRow = tuple[Any, ...]


@dataclass(frozen=True)
class Diff:
    """Run `a` against run `b` (the later one, usually). Every finding is in at most one list:

    - ``new``: violated in `b`, not violated (or not there) in `a`;
    - ``resolved``: violated in `a`, not violated (or not there) in `b`;
    - ``persisting``: violated in both (empty when not ``persisting_listed``: then only counted);
    - ``changed``: violated in neither, with another status or count (e.g. pending -> fulfilled).

    ``persisting_counts``: the persisting violations per organisation, always (in organisation id order).
    The lists are made on first use from the rows the database returned; ``to_dict`` does not make them.
    """

    a: Run
    b: Run
    rows: Mapping[str, list[DiffRow]] = field(default_factory=dict, repr=False)
    persisting_counts: list[OrganisationCount] = field(default_factory=list)
    persisting_listed: bool = True

    @property
    def persisting_total(self) -> int:
        return sum(c.count for c in self.persisting_counts)

    @functools.cached_property
    def new(self) -> list[Change]:
        return [_change(row) for row in self.rows.get("new", ())]

    @functools.cached_property
    def resolved(self) -> list[Change]:
        return [_change(row) for row in self.rows.get("resolved", ())]

    @functools.cached_property
    def persisting(self) -> list[Change]:
        return [_change(row) for row in self.rows.get("persisting", ())]

    @functools.cached_property
    def changed(self) -> list[Change]:
        return [_change(row) for row in self.rows.get("changed", ())]

    def to_dict(self) -> dict[str, Any]:
        """Each list's changes as ``Change.to_dict`` gives them, made straight from the rows."""
        out: dict[str, Any] = {"a": self.a.to_dict(), "b": self.b.to_dict()}
        for name in _LISTS:
            out[name] = [_change_dict(row) for row in self.rows.get(name, ())]
        return out


_LISTS = ("new", "resolved", "persisting", "changed")


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
        raise HistoryError.of("history.partial_report", held=len(report.findings), total=total)
    when = (clock or _now)()
    if when.tzinfo is None:
        raise HistoryError.of("history.clock.naive")
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
    from ..identity import detail as _detail
    from ..identity import identity

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
        raise HistoryError.of("history.concurrent_writer", table=table.name)
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
            raise HistoryError.of("history.run.unknown#back", run=text, count=len(known))
        return int(known[back])
    if not text.isdigit():
        raise HistoryError.of("history.run.invalid", run=text)
    if int(text) not in known:
        raise HistoryError.of("history.run.unknown", run=text)
    return int(text)


def _pairs(conn: Connection, ia: int, ib: int, *, persisting: bool) -> Iterator[DiffRow]:
    """The rows (see ``_ROW``) of the findings whose state differs between runs `ia` and `ib` or that are
    violated in either; without the persisting violations (violated in both) unless `persisting`. Compared by
    the database on the primary key (run, duty): only these rows come back, not the two runs whole (a
    province's runs hold about 155,000 findings each, mostly unchanged); the caller tells apart a change of
    status or count from a change of wording."""
    fa, fb = store.findings.alias("a"), store.findings.alias("b")
    sa_, sb = store.finding_states.alias("sa"), store.finding_states.alias("sb")
    k = store.finding_keys
    key_columns = [k.c[n] for n in _ROW[:8]]
    shown = ("organisation_name", "subject_name", "window_label")
    state = ("status", "count", "message_zh")
    differs = sa.or_(fa.c.state_id.is_(None), fa.c.state_id != fb.c.state_id, sb.c.status == VIOLATED)
    if not persisting:
        differs = sa.and_(differs, ~sa.and_(sb.c.status == VIOLATED, sa.func.coalesce(sa_.c.status, "") == VIOLATED))
    in_b = (
        sa.select(*key_columns, *(sb.c[n] for n in shown), *(sb.c[n] for n in state), *(sa_.c[n] for n in state))
        .select_from(
            fb.join(sb, sb.c.id == fb.c.state_id)
            .outerjoin(fa, sa.and_(fa.c.run_id == ia, fa.c.key_id == fb.c.key_id))
            .outerjoin(sa_, sa_.c.id == fa.c.state_id)
            .join(k, k.c.id == fb.c.key_id)  # last: looked up only for the rows kept
        )
        .where(fb.c.run_id == ib, differs)
    )
    yield from conn.execute(in_b).all()  # fetched at once: a fetch per row is slower by a third
    nothing = [sa.null(), sa.null(), sa.null()]
    only_a = (
        sa.select(*key_columns, *(sa_.c[n] for n in shown), *nothing, *(sa_.c[n] for n in state))
        .select_from(fa.join(k, k.c.id == fa.c.key_id).join(sa_, sa_.c.id == fa.c.state_id))
        .where(fa.c.run_id == ia, ~sa.exists().where(fb.c.run_id == ib, fb.c.key_id == fa.c.key_id))
    )
    yield from conn.execute(only_a).all()


def _persisting_counts(conn: Connection, ia: int, ib: int) -> list[OrganisationCount]:
    """The findings violated in both runs, counted per organisation by the database."""
    fa, fb = store.findings.alias("a"), store.findings.alias("b")
    sa_, sb = store.finding_states.alias("sa"), store.finding_states.alias("sb")
    k = store.finding_keys
    query = (
        sa.select(k.c.organisation_id, sa.func.max(sb.c.organisation_name), sa.func.count())
        .select_from(
            fb.join(sb, sb.c.id == fb.c.state_id)
            .join(fa, sa.and_(fa.c.run_id == ia, fa.c.key_id == fb.c.key_id))
            .join(sa_, sa_.c.id == fa.c.state_id)
            .join(k, k.c.id == fb.c.key_id)
        )
        .where(fb.c.run_id == ib, sb.c.status == VIOLATED, sa_.c.status == VIOLATED)
        .group_by(k.c.organisation_id)
    )
    counts = [OrganisationCount(str(o), str(n), int(c)) for o, n, c in conn.execute(query)]
    return sorted(counts, key=lambda c: c.organisation_id)  # code point order, any database


def diff(db: str | Path | None, a: RunRef, b: RunRef, *, persisting: bool = True) -> Diff:
    """What changed from run `a` to run `b` (ids, ``latest``, ``latest~N``); see :class:`Diff`.

    `persisting`: list the persisting violations (violated in both runs); when False they are only counted
    per organisation (``Diff.persisting_counts``), which a province's diff makes several times faster."""
    with store.connect(db, create=False) as conn:
        ia, ib = resolve_run(conn, a), resolve_run(conn, b)
        rows: dict[str, list[DiffRow]] = {name: [] for name in _LISTS}
        for row in _pairs(conn, ia, ib, persisting=persisting):
            was, now = row[_A] == VIOLATED, row[_B] == VIOLATED
            if now:
                rows["persisting" if was else "new"].append(row)
            elif was:
                rows["resolved"].append(row)
            elif row[_A] is None or row[_B] is None or row[_A : _A + 2] != row[_B : _B + 2]:
                rows["changed"].append(row)
        counts = None if persisting else _persisting_counts(conn, ia, ib)
        run_a, run_b = _run(conn, ia), _run(conn, ib)
    for listed in rows.values():
        listed.sort(key=_order)
    if counts is None:
        counts = _counted(rows["persisting"])
    return Diff(run_a, run_b, rows, counts, persisting)


def _counted(rows: Iterable[DiffRow]) -> list[OrganisationCount]:
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for row in rows:
        counts[row[2]] = counts.get(row[2], 0) + 1
        names[row[2]] = max(names.get(row[2], row[8]), row[8])  # as the database's max() in _persisting_counts
    return [OrganisationCount(o, names[o], counts[o]) for o in sorted(counts)]


def _order(row: DiffRow) -> tuple[str, ...]:
    """organisation, rule, subject, detail, window start, then the identity: no two findings of a run tie."""
    return (row[2], row[1], row[4], row[5], row[6], row[0])


def _state(row: DiffRow, at: int) -> State | None:
    return None if row[at] is None else State(row[at], row[at + 1], row[at + 2])


def _change(row: DiffRow) -> Change:
    return Change(
        rule_id=row[1],
        organisation_id=row[2],
        organisation_name=row[8],
        subject_kind=row[3],
        subject_id=row[4],
        subject_detail=row[5],
        subject_name=row[9],
        window=row[10],
        window_start=row[6],
        window_end=row[7],
        before=_state(row, _A),
        after=_state(row, _B),
        identity=row[0],
    )


def _change_dict(row: DiffRow) -> dict[str, Any]:
    """``_change(row).to_dict()``, without making the Change (a province's diff: tens of thousands)."""
    return {
        "rule_id": row[1],
        "organisation_id": row[2],
        "organisation_name": row[8],
        "subject_kind": row[3],
        "subject_id": row[4],
        "subject_detail": row[5],
        "subject_name": row[9],
        "window": row[10],
        "window_start": row[6],
        "window_end": row[7],
        "before": None if row[_A] is None else {"status": row[_A], "count": row[_A + 1], "message": row[_A + 2]},
        "after": None if row[_B] is None else {"status": row[_B], "count": row[_B + 1], "message": row[_B + 2]},
        "identity": row[0],
    }


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
    keys = ("organisation_id", "rule_id", "subject_id", "subject_detail", "window_start", "identity")
    rows.sort(key=lambda r: (r["run_id"], *(r[k] for k in keys)))  # the identity last: no two findings tie
    if not rows:
        raise HistoryError.of("history.subject.unknown", subject=subject_id)
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
            if start is not None and windows[start][1] == VIOLATED:
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
        violated = r.summary.get(VIOLATED, 0)
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
    """The diff as text: per list, the findings grouped by organisation; the persisting violations counted
    per organisation instead when they were not listed (``diff(..., persisting=False)``), as the text says."""
    lines = [
        f"运行 run {d.a.id} (as of {d.a.as_of}, {d.a.period}) -> 运行 run {d.b.id} (as of {d.b.as_of}, {d.b.period})"
    ]
    for name, heading in _HEADINGS.items():
        if name == "persisting" and not d.persisting_listed:
            lines.append(f"{heading}: {d.persisting_total} {_COUNTED}")
            lines.extend(f"  {c.organisation_name} [{c.organisation_id}]: {c.count}" for c in d.persisting_counts)
            continue
        rows = d.rows.get(name, ())
        lines.append(f"{heading}: {len(rows)}")
        organisation = None
        for row in rows:
            if row[2] != organisation:
                organisation = row[2]
                lines.append(f"  {row[8]} [{row[2]}]")
            subject = row[9] + (f" ({row[5]})" if row[5] else "") + f" [{row[4]}]"
            lines.append(
                f"    {row[1]}  {subject}  {row[10]}  {_row_state(row, _A)} -> {_row_state(row, _B)}  [{row[0][:12]}]"
            )
    return "\n".join(lines) + "\n"


_COUNTED = "（按组织计数，逐条列出请加 --persisting）(counted per organisation; --persisting lists each)"


def _row_state(row: DiffRow, at: int) -> str:
    return "—" if row[at] is None else f"{row[at]}({row[at + 1]})"


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
