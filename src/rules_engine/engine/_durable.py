"""The durable_rules backend. With engine._session (the monitoring service's sessions), the only module that touches
durable_rules.

It drives the C engine (``durable_rules_engine``) directly instead of through ``durable.engine.Host``:
no background timer threads, no module-level ruleset registry, no swallowed exceptions (traps 4-6 in the notes).
A closed backend's ruleset is kept for the next backend of the same decision table (each run's state deleted with
``delete_state`` as it ends: reusing a ruleset so keeps memory flat, trap 5), a few tables at most
(:data:`KEPT_TABLES`); the others, and one whose run did not end cleanly, are freed with ``delete_ruleset``.

Each partition (one organisation and period) is asserted under one session id, decided, and deleted,
so the engine never holds more than one partition (trap: time per fact grows with partition size).
Rulesets are lowered from the compiler's decision table, proven complete and exclusive (exactly one
decision for every fact: a fact that matched none crashed the engine), and verified before registration:
no pattern references another fact (the ``$and``/``$or`` + cross-fact shape that crashes, trap 1), only
known operators, at most 255 properties per fact.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import operator
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import durable_rules_engine as _dre
import orjson

from ..compile import Decision, prove_table
from . import EngineError, Fact

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
ALLOWED_OPERATORS = frozenset({"$and", "$lt", "$lte", "$gt", "$gte"})
CAP = 1000
_names = itertools.count()
_lock = threading.Lock()

KEPT_TABLES = 8
"""How many decision tables' rulesets a process keeps for reuse once their backends are closed (the least recently
closed freed first): a run makes two backends (decide, escalate), each from the same tables for the same compiled
rules; creating a ruleset, with its proof and checks, is about 16 ms (a tenth of a small evaluation)."""
KEPT_PER_TABLE = 2  # (backends of the same table open at once: the service's count beside an answer)
_kept: collections.OrderedDict[tuple[Decision, ...], list[Any]] = collections.OrderedDict()


def _take(table: tuple[Decision, ...]) -> Any:
    """A ruleset kept for `table` (see :data:`KEPT_TABLES`), or None."""
    with _lock:
        handles = _kept.get(table)
        return handles.pop() if handles else None


def lower(decisions: Sequence[Decision]) -> dict[str, Any]:
    """The durable_rules ruleset (JSON format) for a decision table."""
    ruleset: dict[str, Any] = {}
    for decision in decisions:
        terms: list[dict[str, Any]] = [{"t": "ob"}]
        if decision.rule_index is not None:
            terms.append({"r": decision.rule_index})
        for name, op, value in decision.conditions:
            if op == "==":
                terms.append({name: value})
            else:
                terms.append({_OPS[op]: {name: value}})
        pattern = {"o": {"$and": terms}}
        patterns = [{"c": {"t": "close"}}, pattern] if decision.after_close else [pattern]
        ruleset[decision.name] = {"all": patterns, "cap": CAP}
    return ruleset


def verify(ruleset: Mapping[str, Any]) -> list[str]:
    """Shapes the engine mishandles, by rule name (empty when safe to register)."""
    problems: list[str] = []
    for name, rule in ruleset.items():
        patterns = rule.get("all") or rule.get("any") or []
        if not patterns:
            problems.append(f"{name}: no pattern")
        for pattern in patterns:
            for _alias, expr in pattern.items():
                problems.extend(f"{name}: {p}" for p in _check_expr(expr))
    return problems


def _check_expr(expr: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(expr, dict):
        return [f"expression is not an object: {expr!r}"]
    if len(expr) > 255:
        out.append("more than 255 properties")
    for key, value in expr.items():
        if key.startswith("$"):
            if key not in ALLOWED_OPERATORS:
                out.append(f"operator {key} is not allowed")
            if key == "$and":
                for term in value:
                    out.extend(_check_expr(term))
                continue
            if isinstance(value, dict):
                for inner in value.values():
                    if isinstance(inner, dict):
                        out.append(f"reference or nested expression under {key}: {inner!r}")
        elif isinstance(value, dict):
            out.append(f"reference to another fact or value object in '{key}': {value!r}")
        elif not isinstance(value, (int, str)) or isinstance(value, bool):
            out.append(f"value of '{key}' is not an int or str: {value!r}")
    return out


_INT = {int}


@functools.lru_cache(maxsize=1 << 16)
def fnv1a32(text: str) -> int:
    """The 32-bit FNV-1a hash durable_rules files facts under (ids repeat in every partition: cached)."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


class DurableBackend:
    """Runs one decision table on durable_rules, one partition at a time, with no threads."""

    def __init__(self, decisions: Sequence[Decision]) -> None:
        self._table = table = tuple(decisions)
        self._fields = frozenset(name for d in table for name, _op, _value in d.conditions) | {"r"}
        self._values = operator.itemgetter(*sorted(self._fields), "r")  # (a tuple even for one field)
        # the close trigger is asserted only for a table with a closed-world step: no rule would match it
        # otherwise, and a fact no rule matches is refused (trap 3)
        self._closes = any(d.after_close for d in table)
        self._sid = "0"
        self._clean = True  # every run's state deleted: the ruleset may serve another backend of the same table
        self._handle: Any = _take(table)  # a ruleset of this table, proven and verified when made, closed cleanly
        if self._handle is not None:
            return
        # The compiler refuses such a table with the rule's location; this guards tables built by other means.
        faults = prove_table(table, sorted({d.rule_index for d in table if d.rule_index is not None}))
        if faults:
            raise EngineError(
                "refusing a decision table that is not complete and exclusive: "
                + "; ".join(f"rule #{f.rule_index}: {len(f.gaps)} gaps, {len(f.overlaps)} overlaps" for f in faults)
            )
        definition = lower(table)
        problems = verify(definition)
        if problems:
            raise EngineError("refusing unsafe ruleset: " + "; ".join(problems))
        with _lock:
            name = f"rules_engine_{next(_names)}"
        self._handle = _dre.create_ruleset(name, orjson.dumps(definition).decode())

    def run(self, facts: Sequence[Fact]) -> dict[str, str]:
        seen: dict[int, str] = {}
        fields, values = self._fields, self._values
        for fact in facts:
            # A fact that no decision can match is not just "unhandled": durable_rules 2.0.28 was seen to
            # abort the process (double free) on one. Every field the table reads must be an int.
            try:
                ints = set(map(type, values(fact))) == _INT
            except KeyError:
                ints = False
            if not ints:
                lacking = [name for name in fields if not isinstance(fact.get(name), int)]
                if lacking:
                    raise EngineError(f"fact {fact.get('id')!r} lacks integer fields {sorted(lacking)}")
            key = str(fact["id"])
            h = fnv1a32(key)
            if h in seen:
                raise EngineError(f"fact id hash collision: {seen[h]!r} and {key!r}")
            seen[h] = key
        decided: dict[str, str] = {}
        sid = self._sid
        if facts:
            self._clean = False
            try:
                payload = [{**fact, "sid": sid, "t": "ob"} for fact in facts]
                self._assert(payload, decided)
                if self._closes:
                    self._assert([{"sid": sid, "id": "$close", "t": "close"}], decided)
            finally:
                _dre.delete_state(self._handle, sid)
            self._clean = True
        missing = [str(f["id"]) for f in facts if str(f["id"]) not in decided]
        if missing:
            raise EngineError(f"engine left {len(missing)} obligations undecided, e.g. {missing[:3]}")
        return decided

    def _assert(self, facts: list[dict[str, Any]], decided: dict[str, str]) -> None:
        code, state_handle = _dre.assert_facts(self._handle, orjson.dumps(facts).decode())
        if code not in (0, 3):
            raise EngineError(f"engine refused facts (code {code})")
        result = _dre.start_action_for_state(self._handle, state_handle)
        while result:
            state_json, message_json = result[0], result[1]
            try:
                message = orjson.loads(message_json)
                for decision_name, matches in message.items():
                    for match in matches if isinstance(matches, list) else [matches]:
                        fact_id = str(match["o"]["id"])
                        previous = decided.setdefault(fact_id, decision_name)
                        if previous != decision_name:
                            raise EngineError(f"obligation {fact_id} decided twice: {previous}, {decision_name}")
            except BaseException:
                _dre.abandon_action(self._handle, state_handle)
                raise
            _dre.update_state(self._handle, state_json)
            next_message = _dre.complete_and_start_action(self._handle, state_handle)
            result = (state_json, next_message) if next_message else None

    def close(self) -> None:
        """The ruleset kept for the next backend of the same table (a run's state is deleted as it ends), or freed
        (``delete_ruleset``) when a run did not end cleanly or too many are kept (:data:`KEPT_TABLES`)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if not self._clean:
            _dre.delete_ruleset(handle)
            return
        with _lock:
            _kept.setdefault(self._table, []).append(handle)
            _kept.move_to_end(self._table)
            dropped = _kept[self._table][KEPT_PER_TABLE:]
            del _kept[self._table][KEPT_PER_TABLE:]
            while len(_kept) > KEPT_TABLES:
                dropped += _kept.popitem(last=False)[1]
        for old in dropped:
            _dre.delete_ruleset(old)

    def __del__(self) -> None:  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()
