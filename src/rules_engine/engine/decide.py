"""The decide stage: every fact's decision, taken on durable_rules once per distinct decision fact.

A fact is a rule index and a row of integer fields (``compile.OBLIGATION_FIELDS`` for record-counting rules,
``compile.ESCALATION_FIELDS`` for escalation rules). Many obligations share a decision: a field matters only
through the constants the rule's decisions compare it with, so each field is first mapped to its band, the
smallest value of the interval between two consecutive constants that it falls in. The cut points are read
from the decision table itself (for ``n < 2``: 2; ``n <= 3``: 4; ``n == 0``: 0 and 1; ...); inside a band
every condition of the rule has the same truth, so the band's smallest value takes the same decision as
every value in it. Each distinct (rule, banded fields) fact is asserted once, in partitions of at most
:data:`PARTITION` facts (time per fact grows with the facts held in one session), and the decisions are
mapped back to every row, in row order.

Ids are ``d0``, ``d1``, ...: an id whose 32-bit hash (the engine's fact identity) collides with another in
the same partition is skipped, and the backend checks again before asserting (never a fact lost).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from types import TracebackType

from ..compile import CompiledRules, Decision
from . import EngineError, Fact
from ._durable import DurableBackend, fnv1a32

PARTITION = 512
Row = tuple[int, ...]  # (rule index, field values in the order the Decider was given)


def cut_points(decisions: Iterable[Decision], name: str) -> list[int]:
    """Where the truth of some condition on `name` may change: 0 and, for each condition, the smallest value
    on the far side of its constant (sorted)."""
    cuts = {0}
    for d in decisions:
        for field, op, value in d.conditions:
            if field != name:
                continue
            if op in ("<", ">="):
                cuts.add(value)
            elif op in ("<=", ">"):
                cuts.add(value + 1)
            else:  # ==
                cuts.update((value, value + 1))
    return sorted(c for c in cuts if c >= 0)


def tables(compiled: CompiledRules) -> tuple[tuple[Decision, ...], tuple[Decision, ...]]:
    """The decision table of the record-counting rules and that of the escalation rules (their facts differ);
    the decisions that apply to every rule (not applicable, roster gap) are in both."""
    escalations = {r.index for r in compiled.rules if r.rule.escalate is not None}
    base = tuple(d for d in compiled.decisions if d.rule_index is None or d.rule_index not in escalations)
    return base, tuple(d for d in compiled.decisions if d.rule_index is None or d.rule_index in escalations)


class _Bands:
    """The band of each field of one rule's facts: a lookup list below the last cut point."""

    def __init__(self, decisions: Sequence[Decision], fields: Sequence[str]) -> None:
        self.cuts = [cut_points(decisions, name) for name in fields]
        self.tops = [cuts[-1] for cuts in self.cuts]

    def band(self, values: Sequence[int]) -> Row:
        out: list[int] = []
        for value, cuts, top in zip(values, self.cuts, self.tops, strict=True):
            if value >= top:
                out.append(top)
            elif value < 0:  # not a count: left as it is, for the table (and the engine's checks) to judge
                out.append(value)
            else:
                out.append(cuts[bisect.bisect_right(cuts, value) - 1])
        return tuple(out)


class Decider:
    """Decides rows against one decision table on durable_rules; use as a context manager (frees the ruleset)."""

    def __init__(self, decisions: Sequence[Decision], fields: Sequence[str], partition: int = PARTITION) -> None:
        read = {name for d in decisions for name, _op, _value in d.conditions} - {"r"}
        if not read <= set(fields):
            raise EngineError(f"the decision table reads fields the facts do not carry: {sorted(read - set(fields))}")
        if partition < 1:
            raise ValueError("partition must be at least 1")
        self.fields = tuple(fields)
        self.partition = partition
        self._by_name = {d.name: d for d in decisions}
        generic = [d for d in decisions if d.rule_index is None]
        own: dict[int, list[Decision]] = {}
        for d in decisions:
            if d.rule_index is not None:
                own.setdefault(d.rule_index, []).append(d)
        self._bands = {r: _Bands(generic + table, self.fields) for r, table in own.items()}
        self._backend: DurableBackend | None = DurableBackend(decisions)
        self.distinct = 0  # distinct decision facts asserted by the last call of decide()

    def __enter__(self) -> Decider:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    def band(self, row: Row) -> Row:
        """The decision fact a row shares with every row in the same bands: (rule index, banded fields)."""
        if len(row) != len(self.fields) + 1:
            raise EngineError(f"a fact row has {len(row) - 1} fields, the table's facts {len(self.fields)}: {row!r}")
        bands = self._bands.get(row[0])
        if bands is None:  # no decision of the table could match it (trap 3): never sent to the engine
            raise EngineError(f"no decision table for rule index {row[0]!r} in this table")
        return (row[0], *bands.band(row[1:]))

    def decide(self, rows: Sequence[Row]) -> list[Decision]:
        """The decision of every row, in row order; each distinct decision fact is decided once."""
        if self._backend is None:
            raise EngineError("the decider is closed")
        raw: dict[Row, int] = dict.fromkeys(rows, 0)  # row as given -> its decision fact (rows repeat: band once)
        facts: dict[Row, int] = {}
        for row in raw:
            raw[row] = facts.setdefault(self.band(row), len(facts))
        distinct = list(facts)
        self.distinct = len(distinct)
        names = self._decide(distinct)
        decisions = [self._by_name[name] for name in names]
        decided = {row: decisions[i] for row, i in raw.items()}
        return list(map(decided.__getitem__, rows))

    def _decide(self, distinct: Sequence[Row]) -> list[str]:
        """The decision name of each distinct fact, asserted in bounded partitions."""
        assert self._backend is not None
        names: list[str] = []
        number = 0
        for start in range(0, len(distinct), self.partition):
            chunk = distinct[start : start + self.partition]
            hashes: set[int] = set()
            ids: list[str] = []
            batch: list[Fact] = []
            for row in chunk:
                while True:  # an id whose hash another id of the partition has is never used (trap 2)
                    fact_id = f"d{number}"
                    number += 1
                    if fnv1a32(fact_id) not in hashes:
                        break
                hashes.add(fnv1a32(fact_id))
                ids.append(fact_id)
                fact: Fact = {"id": fact_id, "r": row[0]}
                fact.update(zip(self.fields, row[1:], strict=True))
                batch.append(fact)
            decided = self._backend.run(batch)
            names += [decided[fact_id] for fact_id in ids]
        return names
