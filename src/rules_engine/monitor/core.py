"""The monitor: records accepted one at a time or in batches, duties kept as state, answers as of a date.

- **Intake.** Each posted record goes through the batch intake (:class:`rules_engine.intake.Intake`, the same
  checks in the same order: the per-row reader's field checks, unknown organisation or type, duplicate id, date
  outside every window), so it is accepted, rejected or excluded with the batch mode's code and reason. A record
  keeps its place: ``source`` (default ``<posted>``) and ``line`` (default: the order it arrived in, 1, 2, ...),
  which rejections and findings cite.
- **State.** Each organisation's duties that count towards a minimum (``params.at_least``) are facts in a
  durable_rules session (:mod:`rules_engine.engine._session`): how many records each still misses, whether its
  window is over and whether its end is within the warning horizon, and its state (open, warned, met, missed).
  A record changes its organisation's duties once counted: as it arrives, or (``settle=False``, or a post of
  :meth:`Monitor.post_many` that does not settle) at the next :meth:`Monitor.settle`. The count is incremental
  (only the new records are tallied, by the batch pipeline's tally, and the counts added: see
  :meth:`Monitor._gather` for what is additive and what is not); :meth:`Monitor.tick` (the clock event) moves the
  monitor's date, sets which windows are over or near and counts everything again with the batch pipeline (the
  full path, as the constructor does; outside the monitor's lock, so that posts go on). Each change is a
  :class:`Change`.
- **Answers.** :meth:`Monitor.report` evaluates the stored records as of a date with the batch pipeline
  (:func:`rules_engine.evaluate`), in the monitor's reading order: accepted records by date, then id; then the
  others by their place (source, line). The findings are those of the batch report of a file in that order.
- **Journal.** With a :class:`rules_engine.monitor.journal.Journal`, every posted record, every change and every
  clock event is written to the findings store before the call returns; a monitor made on the same journal
  replays them and answers the same.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from pydantic import BaseModel, ConfigDict

from ..engine._session import DutySession
from ..errors import InputError
from ..evaluate import evaluate
from ..findings import finding_dict
from ..identity import identity
from ..intake import Intake, record_span
from ..ledger import Ledger
from ..load.inputs import BadRow, Rec, RosterResult, jsonl_item
from ..load.waivers import LoadedWaiver
from ..model.findings import Finding, FindingModels, InputAccount, Rejection, Report, Status
from ..model.records import ActivityRecord, RecordSource
from ..model.roster import Roster
from ..periods import Period, parse_period
from ..pipeline import (
    NULL_TRACER,
    Deciders,
    RosterInput,
    RulesInput,
    compiled_rules,
    load_all_waivers,
    prepare,
    roster_result,
    settle,
)
from ..plan import Obligation, RosterIndex
from ..tally import Counter
from ..upcoming import UpcomingList, upcoming

if TYPE_CHECKING:
    import polars as pl

__all__ = ["CHANGES_PER_WRITE", "POSTED", "Change", "Monitor", "Posted", "Read", "Row", "lines_of", "read_lines"]

POSTED = "<posted>"  # the source of a posted record that names none

CHANGES_PER_WRITE = 256
"""The most changes a settle or clock event writes to the journal in one transaction: between two, posts are
committed (the store's write lock is not held for the whole of a large count's changes), and the monitor's
:attr:`Monitor.pause` is called. A stop between two leaves the rest to the rebuild, which writes each duty whose
last stored state is not the one counted."""


class Posted(BaseModel):
    """The answer for one posted record: accepted (used), rejected (a data problem) or excluded (set aside
    without one, e.g. an identical duplicate), with the batch mode's code and reason."""

    model_config = ConfigDict(frozen=True)

    seq: int  # the monitor's number for the record (1, 2, ... in arrival order)
    status: str  # accepted | rejected | excluded
    record_id: str | None = None
    problem: Rejection | None = None  # why rejected or excluded; a warning (unknown people) when accepted


class Change(BaseModel):
    """A duty's state changed (``before`` None: the duty was first seen)."""

    model_config = ConfigDict(frozen=True)

    seq: int | None  # the (last) record of the post that changed it (None: a clock event, a settle or a rebuild)
    day: str  # the monitor's date then
    organisation_id: str
    duty: str  # the finding's identity (rules_engine.identity)
    rule_id: str
    subject_id: str
    window_end: str
    count: int
    required: int
    before: str | None
    after: str


@dataclass
class Row:
    """A posted record as the monitor keeps (and the journal stores) it."""

    seq: int
    source: str
    line: int
    text: str  # the record as received: a line of JSON Lines (an object posted from Python: its JSON)
    status: str = ""
    record_id: str | None = None
    org: str | None = None
    key: tuple[str, str] | None = None  # (date, id) of an accepted record: its place in the reading order
    problem: Rejection | None = None
    item: Any = None  # what the batch reader makes of `text`: the decoded object, or the line's rejection
    read: Read | None = None  # the line read already (read_lines: for the service's scope check), or None


class Journal(Protocol):
    """Where the monitor writes what it accepts and changes (:class:`rules_engine.monitor.journal.Journal`)."""

    def rows(self) -> list[Row]: ...

    def clock(self) -> str | None: ...

    def states(self) -> dict[str, str]: ...

    def write(self, rows: Sequence[Row], changes: Sequence[Change], clock: str | None) -> None: ...


class _Collect:
    """The intake's sink while posting: the used records, in order."""

    def __init__(self) -> None:
        self.used: list[Rec] = []

    def add(self, rec: Rec) -> None:
        self.used.append(rec)

    def add_bad(self, row: BadRow) -> None:
        pass

    def add_frame(self, frame: pl.DataFrame) -> None:  # pragma: no cover - only files are read by columns
        raise AssertionError("the monitor hands the intake records one by one")


@dataclass
class _Duty:
    org: str
    rule_id: str
    subject_id: str
    window_end: dt.date
    count: int
    required: int


@dataclass
class _Work:
    """A settle's work (:meth:`Monitor._gather`): the counts of all it was gathered after (`generation`), the last
    record of each organisation it counts, the tally of the new records for the duties known (`added`: its counter,
    ledger and each row's duty) and the tally that starts the duties of trigger records (`started`)."""

    generation: int
    last: dict[str, int]
    added: tuple[Counter, Ledger, list[str | None]] | None = None
    started: tuple[Counter, Ledger] | None = None

    def run(self) -> _Work:
        """The tallies (polars: they need not hold the monitor's lock)."""
        for part in (self.added, self.started):
            if part is not None:
                part[0].finish()
        return self


@dataclass
class _Counted:
    """A count of all (:meth:`Monitor._count`): the duties the session holds with their counts, the planned
    obligations (a ledger) with the duty of each row, the obligations trigger records started in each
    organisation (with their duties), and each organisation's duties."""

    duties: dict[str, _Duty] = field(default_factory=dict)
    plan: Ledger | None = None
    plan_duty: list[str | None] = field(default_factory=list)
    started: dict[str, list[tuple[Obligation, str | None]]] = field(default_factory=dict)
    held: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Taken:
    """The records a settle takes (:meth:`Monitor._gather`): those waiting to be counted (accepted; rejected rows of
    a trigger type), and every accepted record, as they are then, of each organisation where they start duties."""

    pending: list[tuple[int, Rec]]
    bad: list[tuple[int, BadRow]]
    recs: dict[str, list[Rec]]


@dataclass
class _Cache:
    revision: int = -1
    reports: dict[dt.date, Report] = field(default_factory=dict)


class Monitor:
    """See the module's text. Thread-safe: calls are serialised by a lock."""

    def __init__(
        self,
        rules: RulesInput,
        roster: RosterInput,
        *,
        period: str | Period,
        clock: dt.date | str,
        horizon: int = 30,
        waivers: Sequence[str | Path] | Sequence[LoadedWaiver] = (),
        params: Mapping[str, Mapping[str, Any]] | None = None,
        journal: Journal | None = None,
        settle: bool = True,
    ) -> None:
        self.compiled = compiled_rules(rules, params)
        self.roster: RosterResult = roster_result(roster)
        self.index = RosterIndex(self.roster.roster)
        self.period = parse_period(period) if isinstance(period, str) else period
        self.horizon = horizon
        self.waivers = waivers
        self.journal = journal
        self.settles = settle  # False: records change the duties at the next clock event or settle() (bulk loading)
        self._span = record_span(self.compiled, self.period)
        self._sink = _Collect()
        self._intake = Intake(self.compiled, self.index, self._sink, self._span, self._span[1])
        self._rows: list[Row] = []
        self._by_org: dict[str, list[Row]] = {}
        self._duties: dict[str, _Duty] = {}
        self._session = DutySession()
        self._lock = threading.RLock()
        self._cache = _Cache()
        self._revision = 0
        # the incremental count (see _settle): the accepted records not counted yet (seq, record), the planned
        # obligations of every organisation (a ledger, from the last count of all) with the duty of each row (None:
        # not one the session holds), the obligations trigger records started in each organisation (with their
        # duties), and each organisation's duties
        self._pending: list[tuple[int, Rec]] = []
        self._pending_bad: list[tuple[int, BadRow]] = []  # rejected rows of a trigger type (an undeterminable duty)
        self._recs: dict[str, list[Rec]] = {}  # each organisation's accepted records, in arrival order
        self._generation = 0  # counts of all made so far (a settle begun before the last is dropped)
        # one settle (or clock event) at a time; taken before `_lock`, never after. What a settle changes (the duties'
        # counts, the durable_rules session, the obligations trigger records started, the planned obligations) is
        # changed only under it, and the session is read under `_state` too: a settle (and a clock event: tick)
        # takes what it counts under `_lock`, counts under `_settling` alone and applies its counts under `_settling`
        # and `_state`, not `_lock`, so that posts are taken (and committed) meanwhile
        self._settling = threading.Lock()
        self._state = threading.Lock()  # (taken after `_lock` when both are)
        self._deciders: Deciders | None = None
        self._closed = False
        self._waivers: list[LoadedWaiver] | None = None
        self._plan: Ledger | None = None
        self._plan_duty: list[str | None] = []
        self._started: dict[str, list[tuple[Obligation, str | None]]] = {}
        self._org_duties: dict[str, list[str]] = {}
        self._tally_index = RosterIndex(self.roster.roster, self.compiled.ruleset.vocabulary)  # (as prepare makes it)
        # (seq, status when posted, status now) of each stored record the current roster and rules decide
        # otherwise than those it was posted under (after a reload with changed files)
        self.changed_on_replay: list[tuple[int, str, str]] = []
        # called by a settle and a clock event between their steps, holding neither the monitor's lock nor the
        # store's: a server makes it wait while requests are answered (posts first, the count in their gaps)
        self.pause: Callable[[], object] = _go_on
        self.clock = _day(clock)
        if journal is not None:
            self._rebuild(journal)
        else:
            self._update(None, [])  # every duty of the roster, open (or warned, missed) as of the clock

    # ------------------------------------------------------------------ posting

    def post(
        self, items: Iterable[Any], *, source: str = POSTED, lines: Sequence[int] | None = None
    ) -> tuple[list[Posted], list[Change]]:
        """Check and keep `items` (dicts, as a record file's rows), in order; then update the duties of the
        organisations they touch. Everything is written to the journal before this returns."""
        return self.post_many([(list(items), source, lines)])[0]

    def post_many(
        self, posts: Sequence[tuple[Sequence[Any], str, Sequence[int] | None]], *, settle: bool | None = None
    ) -> list[tuple[list[Posted], list[Change]]]:
        """Several posts (items, source, lines: as :meth:`post` takes them) in one cycle (group commit): each
        record checked in order, then the duties of the organisations they touch updated once (unless `settle` is
        False, or None and the monitor does not settle: then at the next :meth:`settle` or clock event), and every
        row and change written to the journal in one transaction before this returns. Each post's answer: its
        records' answers, and the changes of the duties of the organisations its accepted records belong to."""
        for items, _, lines in posts:
            if lines is not None and len(lines) != len(items):
                raise ValueError("one line per record")
        settling = self.settles if settle is None else settle
        with self._settling if settling else contextlib.nullcontext(), self._lock:
            taken = [self._take(list(items), source, lines) for items, source, lines in posts]
            rows = [r for t in taken for r in t]
            changes = []
            if settling:
                with self._state:
                    changes = self._apply(self._prepare(self._gather()).run())
            if self.journal is not None:
                self.journal.write(rows, changes, None)
            self._revision += 1
            out = []
            for t in taken:
                orgs = {r.org for r in t if r.status == "accepted"}
                out.append(([self._answer(r) for r in t], [c for c in changes if c.organisation_id in orgs]))
            return out

    def post_lines(
        self, texts: Sequence[bytes | str], *, source: str = POSTED, lines: Sequence[int] | None = None
    ) -> tuple[list[Posted], list[Change]]:
        """Like :meth:`post`, for lines of JSON Lines as received (each read as the batch reader reads a line
        of a ``.jsonl`` file: a line that is not JSON is rejected with its reason, and kept)."""
        return self.post(lines_of(texts), source=source, lines=lines)

    def _take(self, items: list[Any], source: str, lines: Sequence[int] | None) -> list[Row]:
        if lines is not None and len(lines) != len(items):
            raise ValueError("one line per record")
        start = len(self._rows) + 1
        rows = [
            Row(
                start + i,
                source,
                lines[i] if lines is not None else start + i,
                _json_text(item),
                read=item if isinstance(item, Read) else None,
            )
            for i, item in enumerate(items)
        ]
        self._check(rows, count=True)
        return rows

    def _check(self, rows: Sequence[Row], count: bool = False) -> None:
        """The batch intake's checks, row by row (its account of each row tells the answer); with `count`, the
        accepted records wait to be counted (:meth:`_settle`)."""
        intake = self._intake
        for row in rows:
            read = row.read
            if read is None or (read.source, read.line) != (row.source, row.line):
                read = _read(row.text, row.source, row.line)
            row.read = None  # (kept only until checked)
            checked, row.item = read.checked, read.item
            rejected, excluded, warned = len(intake.rejections), len(intake.excluded), len(intake.warnings)
            self._sink.used.clear()
            intake.take([(row.source, checked)])
            row.record_id = checked.id if isinstance(checked, Rec) else checked.record_id
            if self._sink.used:
                rec = self._sink.used[0]
                row.status, row.org, row.key = "accepted", rec.org, (rec.date.isoformat(), rec.id)
                self._by_org.setdefault(rec.org, []).append(row)
                self._recs.setdefault(rec.org, []).append(rec)
                problem = intake.warnings[warned:]
                if count:
                    self._pending.append((row.seq, rec))
            elif len(intake.rejections) > rejected:
                row.status, problem = "rejected", intake.rejections[rejected:]
                bad = problem[0]
                if count and bad.type in self.compiled.trigger_types and bad.org in self.index.orgs:
                    self._pending_bad.append((row.seq, bad))
            else:
                row.status, problem = "excluded", intake.excluded[excluded:]
            row.problem = Rejection.model_validate(problem[0].to_rejection()) if problem else None
            self._rows.append(row)

    def _answer(self, row: Row) -> Posted:
        # (the fields are the monitor's own, typed already: not validated again, one answer a record)
        return Posted.model_construct(seq=row.seq, status=row.status, record_id=row.record_id, problem=row.problem)

    # ------------------------------------------------------------------ state

    def tick(self, day: dt.date | str) -> list[Change]:
        """The clock event: the monitor's date becomes `day` (never earlier than it was). Windows ended and
        warning horizons reached by then change their duties' states. Written to the journal. An earlier day is
        refused (:class:`rules_engine.InputError`, ``arg.clock.back``).

        Every duty is counted again with the batch pipeline, as :meth:`settle` counts: only what the count reads is
        taken under the monitor's lock (the rows stored, as they are then, and the new date; the records waiting
        to be counted are counted by it, so they no longer wait); the count runs outside it (holding `_settling`
        only), so posts are taken and committed meanwhile and wait for the next settle, which adds their counts
        to this count's; the counts and the planned obligations are swapped in under `_state`."""
        new = _day(day)
        with self._settling:
            with self._lock:
                if new < self.clock:
                    raise InputError.of("arg.clock.back", day=str(new), clock=str(self.clock))
                was, rows = self.clock, list(self._rows)
                pending, bad = self._pending, self._pending_bad
                self.clock, self._pending, self._pending_bad = new, [], []
                self._generation += 1  # (a count gathered before is dropped: cannot happen under `_settling`)
            try:
                self.pause()
                counted = self._count(None, self.roster, rows, new)
            except BaseException:  # (nothing changed: the clock as it was, the records taken wait again)
                with self._lock:
                    self.clock = was
                    self._pending, self._pending_bad = pending + self._pending, bad + self._pending_bad
                raise
            self.pause()
            with self._state:
                self._install(None, counted)
                changes = self._put(sorted(self.index.orgs), {})
            self._write(changes, new.isoformat())
            with self._lock:
                self._revision += 1
            return changes

    def settle(self) -> list[Change]:
        """Count the accepted records not counted yet for their organisations' duties (with ``settle=False``,
        records posted wait for this or the next clock event) and put those in the session; the changes written to
        the journal. Only taking the records waiting holds the monitor's lock: the tally and applying its counts
        (the durable_rules session) do not, so posts are taken and committed meanwhile (and wait for the next
        settle)."""
        with self._settling:
            with self._lock:
                taken = self._gather()
            self.pause()
            work = self._prepare(taken)
            self.pause()
            work.run()
            self.pause()
            with self._state:
                changes = self._apply(work)
            if changes:
                self._write(changes, None)
            return changes

    def _write(self, changes: Sequence[Change], clock: str | None) -> None:
        """A settle's or clock event's changes to the journal, :data:`CHANGES_PER_WRITE` a transaction (the clock,
        if given, with the last), pausing before each."""
        if self.journal is None:
            return
        for at in range(0, max(len(changes), 1), CHANGES_PER_WRITE):
            self.pause()
            last = at + CHANGES_PER_WRITE >= len(changes)
            self.journal.write([], changes[at : at + CHANGES_PER_WRITE], clock if last else None)

    @property
    def unsettled(self) -> int:
        """How many accepted records are not counted for their duties yet."""
        return len(self._pending) + len(self._pending_bad)

    def _gather(self) -> _Taken:
        """The records waiting to be counted, taken (under the lock), and the tallies that count them made ready
        (:meth:`_prepare`, outside the lock: the records of the organisations trigger records start duties in are
        taken too, as they are now; run outside the lock: :meth:`_Work.run`; applied: :meth:`_apply`).

        Counts are additive: the tally judges a record against an obligation on its own (the obligation's
        organisation, rule, subject and window, the roster on the record's date, the record's fields), never
        against other records, so the count of old and new records is the count of the old plus the count of
        the new, run by the real tally (:class:`rules_engine.tally.Counter`) over the new records alone, against
        the planned obligations of their organisations and those trigger records started there (``added``). The
        exception: a record of a trigger type starts a duty that older records may count for; those duties are
        started by the real tally too, over every record of their organisation (``started``), then waived and
        decided by the batch pipeline's stages (:func:`rules_engine.pipeline.settle`); and so are the
        undeterminable duties a rejected row of a trigger type starts. A record dated after the clock is counted
        by the clock event that passes its date (the batch evaluation as of the clock sets it aside; the clock
        event counts everything again, which also follows the waivers' expiry)."""
        pending, self._pending = self._pending, []
        bad, self._pending_bad = self._pending_bad, []
        triggers = self.compiled.trigger_types
        orgs = {rec.org for _, rec in pending if rec.type in triggers and rec.date <= self.clock}
        orgs |= {row.org or "" for _, row in bad}
        return _Taken(pending, bad, {org: list(self._recs.get(org, ())) for org in sorted(orgs)})

    def _prepare(self, taken: _Taken) -> _Work:
        """The tallies of the records taken (:meth:`_gather`), made ready; under `_settling` (what they read of the
        monitor changes only under it), not the monitor's lock."""
        pending, bad = taken.pending, taken.bad
        work = _Work(self._generation, {})
        for seq, rec in pending:
            work.last[rec.org] = seq
        for seq, row in bad:
            work.last[row.org or ""] = max(seq, work.last.get(row.org or "", 0))
        if self._plan is None:  # (no count of all yet: cannot happen after the constructor)
            return work
        triggers = self.compiled.trigger_types
        new: dict[str, list[Rec]] = {}
        starts: dict[str, list[Rec]] = {}
        for _, rec in pending:
            if rec.date <= self.clock:
                new.setdefault(rec.org, []).append(rec)
                if rec.type in triggers:
                    starts.setdefault(rec.org, []).append(rec)
        if new:
            orgs = sorted(new)
            started = [(ob, duty) for org in orgs for ob, duty in self._started.get(org, ())]
            part, at = self._plan.planned_part(orgs, [ob for ob, _ in started])
            duties = [self._plan_duty[i] for i in at.to_list()] + [duty for _, duty in started]
            counter = Counter(self.compiled, self._tally_index, self.period, part, 0, orgs=orgs)
            for org in orgs:
                for rec in new[org]:
                    counter.records.add(rec)
            work.added = (counter, part, duties)
        if starts or bad:
            orgs = sorted(set(starts) | {row.org or "" for _, row in bad})
            part = self._plan.planned_part(())[0]  # (no planned row: the duties the tally starts)
            counter = Counter(self.compiled, self._tally_index, self.period, part, 0, orgs=orgs)
            for org in orgs:
                starting = {id(rec) for rec in starts.get(org, ())}
                for rec in taken.recs.get(org, ()):
                    if rec.date > self.clock:
                        continue
                    if id(rec) in starting:
                        counter.add(rec)  # (the record, and the duties it starts)
                    else:
                        counter.records.add(rec)
            for _, row in bad:
                counter.add_bad(row)
            work.started = (counter, part)
        return work

    def _apply(self, work: _Work) -> list[Change]:
        """The counts of a settle (`work`, run) added to the duties, and those put in the session (under the lock);
        nothing if everything was counted again since it was gathered (a clock event)."""
        if work.generation != self._generation or self._closed:
            return []
        changed: dict[str, set[str]] = {}
        if work.added is not None:
            _, part, duties = work.added
            counts = part.table.get_column("count").to_list()  # (not ordered: a row's key is its position)
            for duty, n in zip(duties, counts, strict=True):
                if duty is not None and n:
                    held = self._duties[duty]
                    held.count += n
                    changed.setdefault(held.org, set()).add(duty)
        if work.started is not None:
            part = work.started[1]
            if self._deciders is None:
                self._deciders = Deciders(self.compiled)
            if self._waivers is None:
                self._waivers = load_all_waivers(self.compiled, self.waivers)
            settle(
                self.compiled,
                self._tally_index,
                self.period,
                self.clock,
                part,
                self._waivers,
                0,
                NULL_TRACER,
                self._deciders,
            )
            made = FindingModels()
            layers = part.table.get_column("layer").to_list()
            for layer, (ob, d) in zip(layers, part.decided(), strict=True):
                if layer:  # (escalation rules read findings of the rules they name: none started here)
                    continue
                duty = _keep(made(finding_dict(ob, d.status, d.waives)), self._duties)
                self._started.setdefault(ob.org.id, []).append((ob, duty))
                duties_held = self._org_duties.setdefault(ob.org.id, [])
                if duty is not None:
                    changed.setdefault(ob.org.id, set()).add(duty)
                    if duty not in duties_held:
                        duties_held.append(duty)
        return self._put(sorted(changed), work.last, changed=changed)

    def _update(
        self, orgs: set[str] | None, rows: Sequence[Row], states: Mapping[str, str] | None = None
    ) -> list[Change]:
        """The full path: count the duties of `orgs` (None: every organisation) with the batch pipeline as of the
        clock (every record stored; no record waits to be counted after) and put them in the session."""
        if orgs is None:
            self._pending, self._pending_bad = [], []
        else:
            self._pending = [(seq, rec) for seq, rec in self._pending if rec.org not in orgs]
            self._pending_bad = [(seq, row) for seq, row in self._pending_bad if row.org not in orgs]
        self._generation += 1
        self._recount(orgs)
        targets = sorted(self.index.orgs) if orgs is None else sorted(orgs)
        seq = rows[-1].seq if rows else None
        return self._put(targets, dict.fromkeys(targets, seq) if seq is not None else {}, states)

    def _recount(self, orgs: set[str] | None) -> None:
        """Count the duties of `orgs` (None: every organisation, and plan every obligation again) with the batch
        pipeline, as of the clock, over their records stored (holding every lock: the constructor's count)."""
        if orgs is None:
            self._install(None, self._count(None, self.roster, self._rows, self.clock))
        else:
            for org in sorted(orgs):
                self._install(org, self._count(org, self._one(org), self._by_org.get(org, []), self.clock))

    def _count(self, org: str | None, roster: RosterResult, rows: Sequence[Row], clock: dt.date) -> _Counted:
        """The batch pipeline over `rows` as of `clock` (for the organisation `org` alone, or all): each duty's
        count, which obligations are the session's duties, and (all) the planned obligations. It reads only its
        arguments and what does not change (the rules, the period, the waivers) and changes nothing of the
        monitor: it needs no lock (:meth:`_install` puts its result in)."""
        run = prepare(self.compiled, roster, _sources(rows), self.period, clock, None, 0, self.waivers, NULL_TRACER, 1)
        try:
            ledger = run.ledger
            assert ledger is not None
            made = FindingModels()
            table = ledger.table
            planned = (table.get_column("layer") == 0) & table.get_column("trigger").is_null()
            out = _Counted()
            row_duty: list[str | None] = []
            for is_planned, (ob, d) in zip(planned.to_list(), run.decided(), strict=True):
                if org is not None and ob.org.id != org:  # (a parent's, read for an overlay's scope)
                    row_duty.append(None)
                    continue
                duty = _keep(made(finding_dict(ob, d.status, d.waives)), out.duties)
                if duty is not None:
                    out.held.setdefault(ob.org.id, []).append(duty)
                row_duty.append(duty)
                if not is_planned and ob.trigger is not None:
                    out.started.setdefault(ob.org.id, []).append((ob, duty))
            if org is None:
                out.plan, at = ledger.planned_part()
                out.plan_duty = [row_duty[i] for i in at.to_list()]
            return out
        finally:
            run.close()

    def _install(self, org: str | None, counted: _Counted) -> None:
        """A count's result (:meth:`_count`) in place of the counts it replaces (under `_settling`, and `_state`
        when a settle or a reader may be under way)."""
        self._duties.update(counted.duties)
        if org is None:
            self._plan, self._plan_duty = counted.plan, counted.plan_duty
            self._started, self._org_duties = counted.started, counted.held
        else:
            self._started[org] = counted.started.get(org, [])
            self._org_duties[org] = counted.held.get(org, [])

    def _put(
        self,
        orgs: Sequence[str],
        last: Mapping[str, int | None],
        states: Mapping[str, str] | None = None,
        changed: Mapping[str, Collection[str]] | None = None,
    ) -> list[Change]:
        """The duties of `orgs` as the counts stand, into the session (only the duties `changed`, when given: the
        others stay as they are); the changes it makes (`last`: the record each organisation's changes name)."""
        horizon = self.clock + dt.timedelta(days=self.horizon)
        changes = []
        for n, org in enumerate(orgs, start=1):
            if n % 64 == 0:
                self.pause()
            duties: dict[str, tuple[int, int, int]] = {}
            for duty in self._org_duties.get(org, ()) if changed is None else changed.get(org, ()):
                d = self._duties[duty]
                duties[duty] = (d.required - d.count, int(d.window_end < self.clock), int(d.window_end <= horizon))
            for t in self._session.put(org, duties, states, retract=changed is None):
                d = self._duties[t.duty]
                if states is not None and t.before is None and states.get(t.duty) == t.after:
                    continue  # (rebuilt as it was stored: not a change)
                changes.append(
                    Change.model_construct(  # (the monitor's own values, typed already: not validated again)
                        seq=last.get(org),
                        day=self.clock.isoformat(),
                        organisation_id=org,
                        duty=t.duty,
                        rule_id=d.rule_id,
                        subject_id=d.subject_id,
                        window_end=d.window_end.isoformat(),
                        count=d.count,
                        required=d.required,
                        before=t.before,
                        after=t.after,
                    )
                )
        return changes

    def _one(self, org: str) -> RosterResult:
        """The roster for one organisation's duties alone, quickly: the organisation and its parents (an overlay
        pack's scope follows the parent links), and the people holding a post there (with their posts in those
        organisations). No duty reads another organisation's records or findings."""
        roster = self.roster.roster
        by_id = {o.id: o for o in roster.organisations}
        chain: list[str] = []
        at: str | None = org
        while at is not None and at in by_id and at not in chain:
            chain.append(at)
            at = by_id[at].parent
        keep = set(chain)
        people = []
        for person in roster.people:
            if any(p.org == org for p in person.posts):
                people.append(person.model_copy(update={"posts": [p for p in person.posts if p.org in keep]}))
        orgs = [o for o in roster.organisations if o.id in keep]
        return RosterResult(Roster.model_construct(organisations=orgs, people=people), [], 0, self.roster.source)

    def duties(self, org: str | None = None) -> list[dict[str, Any]]:
        """The duties the session holds (of `org`), as the engine holds them: state, records missing, flags."""
        with self._lock, self._state:
            out = []
            for o, duty, fact in self._session.states(org):
                d = self._duties[duty]
                out.append(
                    {
                        "organisation_id": o,
                        "duty": duty,
                        "rule_id": d.rule_id,
                        "subject_id": d.subject_id,
                        "window_end": d.window_end.isoformat(),
                        "count": d.count,
                        "required": d.required,
                        "state": fact["st"],
                        "short": fact["short"],
                        "over": fact["over"],
                        "near": fact["near"],
                    }
                )
            return sorted(out, key=lambda x: (x["organisation_id"], x["rule_id"], x["subject_id"], x["window_end"]))

    # ------------------------------------------------------------------ answers

    def report(self, as_of: dt.date | str) -> Report:
        """The batch report of the stored records as of `as_of` (cached until the next post)."""
        day = _day(as_of)
        with self._lock:
            if self._cache.revision != self._revision:
                self._cache = _Cache(self._revision)
            found = self._cache.reports.get(day)
            if found is None:
                found = self._cache.reports[day] = self._evaluate(self.roster, self._rows, day)
            return found

    def findings(
        self,
        as_of: dt.date | str,
        *,
        orgs: Iterable[str] | None = None,
        person: str | None = None,
        status: str | None = None,
    ) -> list[Finding]:
        """The report's findings, of the organisations `orgs` (None: all), the subject `person`, the status."""
        keep = None if orgs is None else set(orgs)
        return [
            f
            for f in self.report(as_of).findings
            if (keep is None or f.organisation.id in keep)
            and (person is None or f.subject.id == person or (f.subject.second and f.subject.second.id == person))
            and (status is None or f.status.value == status)
        ]

    def upcoming(self, as_of: dt.date | str, within: str | int = 30) -> UpcomingList:
        return upcoming(self.report(as_of), within=within)

    def account(self, as_of: dt.date | str) -> InputAccount:
        return self.report(as_of).input

    def rows(self) -> list[Row]:
        with self._lock:
            return list(self._rows)

    @property
    def records(self) -> int:
        """How many records are kept (posted: accepted, rejected or excluded)."""
        return len(self._rows)

    def _evaluate(self, roster: RosterResult, rows: Sequence[Row], day: dt.date) -> Report:
        return evaluate(
            self.compiled, roster, _sources(rows), period=self.period, as_of=day, waivers=self.waivers, workers=1
        )

    # ------------------------------------------------------------------ restart

    def _rebuild(self, journal: Journal) -> None:
        stored = journal.rows()
        clock = journal.clock()
        if clock is not None:
            self.clock = max(self.clock, _day(clock))
        for row in stored:
            status = row.status
            self._check([row])
            if row.status != status:  # (another roster or rules: the record is taken as they decide now)
                self.changed_on_replay.append((row.seq, status, row.status))
        changes = self._update(None, [], journal.states())
        if changes:  # (records posted without settling, or a clock event not applied before the stop)
            journal.write([], changes, None)
        self._revision += 1

    def close(self) -> None:
        """Let go of the durable_rules sessions (once a settle under way is done: it uses them)."""
        with self._settling, self._lock, self._state:
            self._closed = True
            self._session.close()
            if self._deciders is not None:
                self._deciders.__exit__()
                self._deciders = None


_UNREAD = ("row.line.", "row.json.")  # a line the batch reader could not decode (no object to hand over)


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class Read(_Text):
    """A line of JSON Lines read as the batch reader reads a line of a ``.jsonl`` file (:func:`read_lines`), at its
    place (`source`, `line`): what the reader makes of it (`checked`: the record, or what is wrong with it) and what
    the evaluation is handed (`item`: the decoded object, or the rejection of a line not decoded)."""

    source: str
    line: int
    checked: Rec | BadRow
    item: Any

    @property
    def org(self) -> str | None:
        """The organisation the line names (a rejected line's too, when it can be told), or None."""
        return getattr(self.checked, "org", None)


def lines_of(texts: Sequence[bytes | str]) -> list[Any]:
    """Lines of JSON Lines as received, as :meth:`Monitor.post` takes them (each read as the batch reader reads a
    line of a ``.jsonl`` file)."""
    return [_Text(t if isinstance(t, str) else t.decode("utf-8", "replace")) for t in texts]


def read_lines(texts: Sequence[bytes | str], source: str, lines: Sequence[int]) -> list[Read]:
    """Lines of JSON Lines as received, read once (each as the batch reader reads a line at its place: `source`,
    `lines`), as :meth:`Monitor.post` takes them: a caller may look at what they name (their organisations, for a
    token's scope) before posting them, and the monitor does not read them again."""
    return [
        _read(t if isinstance(t, str) else t.decode("utf-8", "replace"), source, n)
        for t, n in zip(texts, lines, strict=True)
    ]


def _read(text: str, source: str, line: int) -> Read:
    """One parse of the line (the batch reader's row check, and the decoded object kept for the evaluation)."""
    checked, data = jsonl_item(text.encode("utf-8", "surrogatepass"), source, line)
    if checked is None:  # (a blank line: the batch reader skips it too)
        checked, data = jsonl_item(b"null", source, line)
        assert checked is not None
    if isinstance(checked, BadRow) and (checked.code or "").startswith(_UNREAD):
        data = checked  # (not an object: the evaluation is handed the rejection)
    return Read(text, source, line, checked, data)


def _json_text(item: Any) -> str:
    """A posted item as a line of JSON Lines (as records_from_objects sees a model or a mapping)."""
    if isinstance(item, _Text):
        return item.text
    if isinstance(item, ActivityRecord):
        data: Any = item.model_dump(mode="json", exclude_none=True)
        data["participants"] = list(item.participants)
        data["tags"] = list(item.tags)
    elif isinstance(item, Mapping):
        data = {k: v.isoformat() if isinstance(v, dt.date) and k == "date" else v for k, v in item.items()}
    else:
        data = item
    return orjson.dumps(data, default=str).decode()


def _sources(rows: Sequence[Row]) -> list[RecordSource]:
    """The rows in the monitor's reading order, as named sources (one per run of rows from one source): the
    accepted records by date, then id (then arrival), then the others by their place (source, line). A record file
    sorted so gives the same report read as a file; each duplicate comes after the record it repeats, as it did
    when it was posted."""
    accepted = sorted((r for r in rows if r.key is not None), key=lambda r: (r.key, r.seq))
    ordered = accepted + sorted((r for r in rows if r.key is None), key=lambda r: (r.source, r.line, r.seq))
    out: list[RecordSource] = []
    run: list[Row] = []
    for row in ordered:
        if run and run[-1].source != row.source:
            out.append(RecordSource(run[0].source, [r.item for r in run], [r.line for r in run]))
            run = []
        run.append(row)
    if run:
        out.append(RecordSource(run[0].source, [r.item for r in run], [r.line for r in run]))
    return out or [RecordSource(POSTED, [])]


def _go_on() -> None:
    """The monitor's pause when nobody asked for one: none."""


def _keep(f: Finding, duties: dict[str, _Duty]) -> str | None:
    """The finding's duty, kept with its count in `duties`, if the session holds it (a minimum to reach,
    applicable, not waived); None if not."""
    required = _at_least(f)
    if required is None or f.status in (Status.not_applicable, Status.waived):
        return None
    duty = identity(f)
    duties[duty] = _Duty(f.organisation.id, f.rule_id, f.subject.id, f.window.end, f.count, required)
    return duty


def _at_least(f: Finding) -> int | None:
    entry = f.params.get("at_least")
    value = entry.get("value") if isinstance(entry, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _day(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
