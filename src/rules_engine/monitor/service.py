"""The monitoring service without the web framework: what ``rules-engine serve`` runs (see
:mod:`rules_engine.monitor.app` for the HTTP side). It makes the :class:`Monitor` from files, on the journal
of the findings store, swaps it for a new one on reload, moves its clock, and tells each token's scope.

**Periods.** A :class:`Monitor` watches one period. When the clock (the service's own, or :meth:`Service.tick`)
passes the period's end, the service moves on to the next period of the same length (:func:`following`: ``2024``
-> ``2025``, ``2024-H2`` -> ``2025-H1``; a range of dates -> the next range as long): the old monitor's clock moves
to the day after its end (every window over: each duty met or missed, journaled, told in the outbox), the old
period is closed and the new one opened (in one transaction), and a monitor of the new period, on its own rows of
the journal, takes the posts from then on. The old monitor is kept, read-only, for answers as of a day in its
period (or asked for by label). A clock that jumps over whole periods opens the one it lands in. A restart
rebuilds the current period's monitor, and a closed one's when first asked for."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..errors import InputError
from ..load.rules import load_rules
from ..model.roster import Organisation
from ..periods import Period, check_range, parse_period
from ..pipeline import roster_result
from .core import Change, Monitor, _go_on
from .journal import Journal
from .outbox import Webhook
from .tokens import Token, TokenReader

__all__ = ["Config", "Service", "following", "long_lived_gc"]

log = logging.getLogger("rules_engine.serve")


GC_THRESHOLDS = (5_000, 1, 2_000)
"""The cyclic garbage collector's thresholds in a server's process (Python's defaults: 700, 10, 10). A monitor holds
every posted record as Python objects, and each post makes thousands more: with the defaults the collector ran
every few hundred allocations and often walked the whole heap (about 13 % of the server's CPU under a sustained
load). A collection holds the interpreter for as long as it walks, so its size is what a post may wait: with
100,000 objects before the youngest generation is collected (the thirteenth sitting's choice), each collection
took 85-120 ms and set the slowest answers under 2,000 records/s; with 5,000, and the middle generation collected
at every other collection, they take about 4 ms and 15-18 ms (at most 31 ms seen; benchmarks/README.md), about 4 %
of the time. The oldest generation, which holds what the server keeps, is walked only after 2,000 collections of
the middle one (about 20 minutes at 2,000 records/s), and then as long as that takes. Reference counting frees what
is not in a cycle at once either way."""


def long_lived_gc() -> None:
    """The garbage collector set for a long-lived server, once its service is made: what the start made (roster,
    rules, the monitor's state) moved out of the collector's sight (``gc.freeze``) and :data:`GC_THRESHOLDS` set.
    For the process that runs the server (``rules-engine serve``), not a library's caller."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@dataclass(frozen=True)
class Config:
    roster: str
    rules: Sequence[str] = ()  # rule pack folders or ids; none: the installed packs
    db: str | None = None
    period: str | None = None  # default: the clock's year
    clock: str | None = None  # a fixed date (no clock of its own); default: today, moved on as days pass
    horizon: int = 30
    waivers: Sequence[str] = field(default_factory=tuple)
    webhook: str | None = None  # where the outbox is delivered (POST, signed with webhook_secret)
    webhook_secret: bytes = b""
    webhook_backoff: float = 1.0  # seconds before the first retry (doubled each time)


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.journal = Journal(config.db)
        self.tokens = TokenReader(self.journal.store)  # (`tokens.inline`: cheap enough for the event loop)
        self._lock = threading.RLock()
        # one clock event or reload at a time (taken before `_lock`): a clock event's count runs outside `_lock`
        self._moving = threading.Lock()
        self._ticker: threading.Thread | None = None  # the daily clock event's thread (see use)
        self.past: dict[str, Monitor] = {}  # the closed periods' monitors, read-only (made when first asked for)
        self._scopes: tuple[object, dict[str, frozenset[str]]] | None = None  # (roster, scope of each organisation)
        # each monitor's pause between the steps of a count (Monitor.pause): the committer of a server sets it
        self.pace: Callable[[], object] = _go_on
        self.monitor: Monitor
        self._start()
        self.webhook: Webhook | None = None
        if config.webhook:
            self.webhook = Webhook(
                self.journal.store, config.webhook, config.webhook_secret, backoff=config.webhook_backoff
            )
            self.journal.written.append(self.webhook.poke)
            self.webhook.start()

    def _today(self) -> dt.date:
        if self.config.clock is not None:
            return dt.date.fromisoformat(self.config.clock)
        return dt.date.today()  # (the service's clock: the only reading of the wall clock)

    def _start(self) -> None:
        """The monitor of the current period: the latest one stored (a restart), else `--period` (default: the
        clock's year), opened now; moved on at once if the clock is past its end."""
        day = self._today()
        given = parse_period(self.config.period) if self.config.period else None
        stored = self.journal.periods()
        if stored:
            current = stored[-1].period
            if given is not None and given.label != current.label:
                log.warning("the store monitors the period %s (not --period %s): kept", current.label, given.label)
        else:
            current = given or parse_period(str(day.year))
            self.journal.open_period(current, day)
        self.monitor = self._build(current, day)
        self._advance(max(day, self.monitor.clock))

    def _build(self, period: Period, day: dt.date) -> Monitor:
        m = Monitor(
            load_rules(*self.config.rules),
            roster_result(self.config.roster),
            period=period,
            clock=day,
            horizon=self.config.horizon,
            waivers=list(self.config.waivers),
            journal=self.journal.at(period.label),
        )
        m.pause = self._pause
        if m.changed_on_replay:
            log.warning(
                "%d stored records are decided otherwise by the roster and rules now (seq, then, now): %s",
                len(m.changed_on_replay),
                m.changed_on_replay[:20],
            )
        return m

    def _pause(self) -> None:
        self.pace()

    def _advance(self, day: dt.date) -> list[Change]:
        """Move on to the period holding `day` when it is past the current one's end (see the module's text);
        returns the changes of the old period's last day. Nothing changes if the next period cannot be (beyond
        the calendar: a :class:`rules_engine.errors.PeriodError`)."""
        old = self.monitor
        if day <= old.period.end:
            return []
        nxt = following(old.period, day)
        final = old.period.end + dt.timedelta(days=1)
        old.pause = _go_on  # (the service's lock is held: the posts it would pause for wait for this move)
        changes = old.tick(final) if old.clock < final else []
        self.journal.open_period(nxt, day, closing=old.period.label)
        fresh = self._build(nxt, day)
        self.past[old.period.label] = old
        self.monitor = fresh
        log.warning("period %s is over (clock %s): now monitoring %s", old.period.label, day, nxt.label)
        return changes

    @contextlib.contextmanager
    def use(self, as_of: dt.date | None = None, period: str | None = None) -> Iterator[Monitor]:
        """The monitor, for one request. When a day has passed (the service's own clock), the clock event is run
        by a thread of its own (:meth:`tick`: it counts every duty again, which takes minutes on a large roster,
        and posts are taken meanwhile), except past the current period's end: the move to the next period is made
        first, and the request goes to the new period's monitor. Requests take the service one at a time (the
        monitor serialises its calls anyway), and a reload waits for them. With `as_of` or `period`: the monitor
        of the period asked for (:meth:`monitor_for`); else the current one."""
        with self._lock:
            if self.config.clock is None:
                today = self._today()
                if today > self.monitor.period.end:
                    self._advance(today)
                if today > self.monitor.clock:
                    self._tick_later(today)
            yield self.monitor_for(as_of, period)

    def _tick_later(self, day: dt.date) -> None:
        """The clock event for `day`, by a thread of its own (one at a time; under `_lock`)."""
        if self._ticker is not None and self._ticker.is_alive():
            return

        def run() -> None:
            try:
                self.tick(day)
            except Exception:  # (a later clock event came first, or the store failed: the next request tries again)
                log.exception("the clock event of %s failed", day)

        self._ticker = threading.Thread(target=run, name="rules-engine-clock", daemon=True)
        self._ticker.start()

    def tick(self, day: dt.date) -> list[Change]:
        """The clock event: the current monitor's date becomes `day` (never back), moving on to the next period
        first when `day` is past the current one's end. Returns the changes (the old period's last ones first).
        The service's lock is held only to move the period (:meth:`Monitor.tick` counts outside it: posts are
        taken and committed meanwhile); one clock event or reload at a time."""
        with self._moving:
            with self._lock:
                if day < self.monitor.clock:
                    raise InputError.of("arg.clock.back", day=str(day), clock=str(self.monitor.clock))
                changes = self._advance(day)
                m = self.monitor
            return changes + m.tick(day)

    def monitor_for(self, as_of: dt.date | None, period: str | None = None) -> Monitor:
        """The monitor of the period labelled `period`, else of the period `as_of` falls in: the current one for
        a day from its start on (or no day), a closed one (read-only) for a day in it, the first one for a day
        before all. An unknown label is an :class:`rules_engine.InputError` (``arg.period.unknown``)."""
        with self._lock:
            current = self.monitor
            if period is None and (as_of is None or as_of >= current.period.start):
                return current
            if period == current.period.label:
                return current
            stored = [p.period for p in self.journal.periods() if p.period.label != current.period.label]
            if period is not None:
                chosen = next((p for p in stored if p.label == period), None)
                if chosen is None:
                    raise InputError.of("arg.period.unknown", label=period)
            else:
                assert as_of is not None
                before = [p for p in stored if p.start <= as_of]
                if not stored or (not before and current.period.start < stored[0].start):
                    return current
                chosen = before[-1] if before else stored[0]
            found = self.past.get(chosen.label)
            if found is None:
                found = self.past[chosen.label] = self._build(chosen, chosen.end + dt.timedelta(days=1))
            return found

    def periods(self) -> list[dict[str, str | None]]:
        """The periods monitored on the store, by start: label, start, end, opened and closed (None: current)."""
        return [
            {
                "label": p.period.label,
                "start": p.period.start.isoformat(),
                "end": p.period.end.isoformat(),
                "opened_at": p.opened_at,
                "closed_at": p.closed_at,
            }
            for p in self.journal.periods()
        ]

    def reload(self) -> Monitor:
        """Read the roster and the rule packs again and rebuild the state from the journal; the new monitor
        replaces the old one at once: no request is answered between, so none is lost or sees half of each.
        Raises if anything cannot be read (the old one stays). The closed periods' monitors are made again when
        next asked for."""
        with self._moving, self._lock:
            fresh = self._build(self.monitor.period, self.monitor.clock)
            old, self.monitor = self.monitor, fresh
            past, self.past = self.past, {}
        old.close()
        for m in past.values():
            m.close()
        return fresh

    def token(self, text: str) -> Token | None:
        """The token (revoked or not) whose text is `text`, read from the store at each request (a revocation
        holds from the next request on), without the store's write lock: it does not queue behind the commits
        (:class:`rules_engine.monitor.tokens.TokenReader`)."""
        return self.tokens(text)

    def scope(self, token: Token) -> frozenset[str]:
        """The organisations a token sees: its own and every one below it (by the roster's parent links). Worked
        out once for each organisation and roster (a reload's new roster is read afresh)."""
        roster = self.monitor.roster.roster
        known = self._scopes
        if known is None or known[0] is not roster:
            known = self._scopes = (roster, {})
        found = known[1].get(token.organisation_id)
        if found is None:
            found = known[1][token.organisation_id] = _subtree(roster.organisations, token.organisation_id)
        return found

    def everything(self) -> frozenset[str]:
        return frozenset(self.monitor.index.orgs)

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.stop()
        self.monitor.close()
        for m in self.past.values():
            m.close()
        self.tokens.close()
        self.journal.close()


def _subtree(orgs: Sequence[Organisation], top: str) -> frozenset[str]:
    """`top` and every organisation below it (by the parent links); empty if `top` is not one of `orgs`."""
    children: dict[str, list[str]] = {}
    for o in orgs:
        if o.parent is not None:
            children.setdefault(o.parent, []).append(o.id)
    if top not in {o.id for o in orgs}:
        return frozenset()
    seen = {top}
    todo = [top]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return frozenset(seen)


def following(period: Period, day: dt.date) -> Period:
    """The period of the same length as `period` that holds `day` (a day after `period`'s end): a calendar year,
    half-year, quarter or month for those labels; as many whole months for a range of whole months; else a range
    of as many days, on the grid of `period`. Beyond the calendar (year 9899): a
    :class:`rules_engine.errors.PeriodError`."""
    months = _months(period)
    if months is not None:
        begin = period.start.year * 12 + period.start.month - 1
        first = begin + (day.year * 12 + day.month - 1 - begin) // months * months
        after = first + months  # (the month after the new period)
        if after // 12 > dt.MAXYEAR:
            return check_range(Period(dt.date.max, dt.date.max))
        start = dt.date(first // 12, first % 12 + 1, 1)
        end = dt.date(after // 12, after % 12 + 1, 1) - dt.timedelta(days=1)
        label = _label(period, start, months) or f"{start.isoformat()}..{end.isoformat()}"
    else:
        length = period.days
        try:
            start = period.start + dt.timedelta(days=(day - period.start).days // length * length)
            end = start + dt.timedelta(days=length - 1)
        except OverflowError:
            return check_range(Period(dt.date.max, dt.date.max))
        label = f"{start.isoformat()}..{end.isoformat()}"
    return check_range(Period(start, end, label))


def _months(period: Period) -> int | None:
    """How many calendar months `period` spans, when it starts on a month's first day and ends on one's last."""
    after = period.end + dt.timedelta(days=1) if period.end < dt.date.max else None
    if period.start.day != 1 or after is None or after.day != 1:
        return None
    return (after.year * 12 + after.month) - (period.start.year * 12 + period.start.month)


def _label(period: Period, start: dt.date, months: int) -> str | None:
    """The new period's label in the old one's form (2025, 2025-H1, 2025-Q1, 2025-02), or None (a range)."""
    y, m = period.start.year, period.start.month
    forms = {
        12: (str(y), str(start.year)),
        6: (f"{y}-H{1 if m == 1 else 2}", f"{start.year}-H{1 if start.month == 1 else 2}"),
        3: (f"{y}-Q{(m - 1) // 3 + 1}", f"{start.year}-Q{(start.month - 1) // 3 + 1}"),
        1: (f"{y}-{m:02d}", f"{start.year}-{start.month:02d}"),
    }
    old, new = forms.get(months, ("", ""))
    return new if old and period.label == old else None
