"""A spilled run concluded a group of organisation ranges at a time.

Past :data:`rules_engine.tally.SPILL_ROWS` records, a process (one process, or a worker) files its records by range
of organisations (the organisations sorted by id, cut into contiguous ranges). The ranges are then cut into groups
of about as many records (:meth:`rules_engine.tally.RecordColumns.range_groups`), and each group is tallied,
decided, escalated and written before the next: the planned rows split by group first
(:meth:`rules_engine.ledger.Ledger.parts`), a group's ledger rows, evidence and rejected candidates let go once its
findings are written. So what a process holds after the records is one group's, not the whole share's.

The report is the same as for the whole at once: an organisation's records are all in one range; no rule reads
across organisations (an escalation reads the findings of its own organisation only, by organisation or by
organisation and person); a rejected row that casts doubt is checked against each group's rows (the same rows as
the whole's); and the findings are in report order, which sorts by organisation id first, so that the groups' in
the order of their ranges are the whole's. What is added up over the groups: the summary and the waivers used.
The decision facts are asserted once per group (each distinct one once), on deciders opened once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from .compile import CompiledRules
from .ledger import Ledger
from .load.waivers import LoadedWaiver
from .periods import Period
from .pipeline import Deciders, conclude, settle, tally
from .plan import RosterIndex
from .tally import Counter, Tallied
from .trace import Tracer


def conclude_by_parts(
    compiled: CompiledRules,
    index: RosterIndex,
    period: Period,
    day: dt.date,
    ledger: Ledger,
    counter: Counter,
    waivers: Sequence[LoadedWaiver],
    max_evidence: int,
    tracer: Tracer,
    write: Callable[[Ledger, Tallied | None], None],
) -> None:
    """The obligations of `ledger` (planned; their records taken by `counter`) tallied, decided and escalated (as
    :func:`rules_engine.pipeline.conclude` does, with `waivers` loaded), a part at a time, in report order: each
    part's ledger (in report order) and tally handed to `write`, which writes its findings (and keeps nothing of
    it) before the next part is made. One part (`ledger` itself) unless the records were spilled and make more than
    one group of ranges."""
    groups = counter.range_groups()
    if groups is None or len(groups) == 1:
        conclude(compiled, index, period, day, ledger, counter, waivers, max_evidence, tracer)
        write(ledger, counter.tallied)
        return
    with Deciders(compiled) as deciders:
        ranges = counter.records.ranges
        assert ranges is not None
        group_of = {number: g for g, numbers in enumerate(groups) for number in numbers}
        orgs: list[list[str]] = [[] for _ in groups]
        for org, number in ranges.items():
            orgs[group_of[number]].append(org)
        parts: list[Ledger | None] = list(ledger.parts(orgs))
        triggers = counter.split_triggers(groups)
        try:
            for g, numbers in enumerate(groups):
                part, parts[g] = parts[g], None
                assert part is not None
                counter.ledger, counter.trigger_obligations, triggers[g] = part, triggers[g], []
                tally(counter, tracer, numbers)
                tallied, counter.tallied = counter.tallied, None
                if not len(part):
                    continue
                settle(compiled, index, period, day, part, waivers, max_evidence, tracer, deciders)
                write(part, tallied)
                del part, tallied
        finally:
            counter.ledger = ledger
            counter.close()
