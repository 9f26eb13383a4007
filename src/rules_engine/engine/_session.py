"""The monitoring session on durable_rules: each organisation's open duties held as facts between requests.

One durable_rules ruleset, one session (sid) per organisation. A duty is one fact::

    {"id": <the finding's identity>, "t": "duty", "st": "open" | "warned" | "met" | "missed",
     "short": <records still missing, 0 when the minimum is met>, "over": 0 | 1, "near": 0 | 1}

``short`` is counted in Python (durable_rules has no aggregates, trap 9); ``over`` (the window has ended) and
``near`` (its end is within the warning horizon) are set from the monitor's clock, an explicit clock event
handled on the caller's thread (no ``Host``, so no timer threads: trap 4). A changed duty is retracted and
asserted again with its new fields; exactly one rule of :data:`RULES` matches any fact (a fact no rule matches
is refused or crashes, trap 3; :func:`prove` checks every combination) and names the duty's next state, or none.
A transition is applied by asserting the fact again with its new state, until a rule without a next state
matches: the state a rule reads is the one it changes, so no rule fires twice on one fact (trap 11). Rules
compare one fact's fields with constants only (no reference to another fact, trap 1): the ruleset passes
:func:`rules_engine.engine._durable.verify` before it is registered.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import durable_rules_engine as _dre
import orjson

from . import EngineError
from ._durable import fnv1a32, verify

__all__ = ["RULES", "STATES", "DutySession", "Transition", "prove"]

STATES = ("open", "warned", "met", "missed")

# name -> (conditions as (field, op, value), next state or None). Exactly one holds for every fact (prove()).
RULES: dict[str, tuple[tuple[tuple[str, str, Any], ...], str | None]] = {
    "met_open": ((("st", "==", "open"), ("short", "==", 0)), "met"),
    "met_warned": ((("st", "==", "warned"), ("short", "==", 0)), "met"),
    "met_late": ((("st", "==", "missed"), ("short", "==", 0)), "met"),
    "warn": ((("st", "==", "open"), ("short", ">", 0), ("over", "==", 0), ("near", "==", 1)), "warned"),
    "miss_open": ((("st", "==", "open"), ("short", ">", 0), ("over", "==", 1)), "missed"),
    "miss_warned": ((("st", "==", "warned"), ("short", ">", 0), ("over", "==", 1)), "missed"),
    "wait_open": ((("st", "==", "open"), ("short", ">", 0), ("over", "==", 0), ("near", "==", 0)), None),
    "wait_warned": ((("st", "==", "warned"), ("short", ">", 0), ("over", "==", 0)), None),
    "still_missed": ((("st", "==", "missed"), ("short", ">", 0)), None),
    "still_met": ((("st", "==", "met"),), None),
}
_OPS = {">": "$gt"}
_names = itertools.count()
_lock = threading.Lock()


def ruleset() -> dict[str, Any]:
    """:data:`RULES` in durable_rules' JSON format."""
    out: dict[str, Any] = {}
    for name, (conditions, _next) in RULES.items():
        terms: list[dict[str, Any]] = [{"t": "duty"}]
        for field, op, value in conditions:
            terms.append({field: value} if op == "==" else {_OPS[op]: {field: value}})
        out[name] = {"all": [{"o": {"$and": terms}}]}
    return out


def _holds(conditions: tuple[tuple[str, str, Any], ...], fact: Mapping[str, Any]) -> bool:
    return all(fact[f] == v if op == "==" else fact[f] > v for f, op, v in conditions)


def prove() -> list[str]:
    """Every fact (each state, ``short`` 0 and 1, each flag 0 and 1) matched by exactly one rule: the faults."""
    faults = []
    for st, short, over, near in itertools.product(STATES, (0, 1), (0, 1), (0, 1)):
        fact = {"st": st, "short": short, "over": over, "near": near}
        matched = [name for name, (conditions, _) in RULES.items() if _holds(conditions, fact)]
        if len(matched) != 1:
            faults.append(f"{fact}: {matched}")
    return faults


@dataclass(frozen=True)
class Transition:
    """A duty's state changed: from `before` (None: first seen) to `after`, by the rule `rule`."""

    org: str
    duty: str
    before: str | None
    after: str
    rule: str


class DutySession:
    """The duties of every organisation, as facts in durable_rules sessions (one per organisation). Not
    thread-safe: the caller serialises its calls (the monitor holds a lock)."""

    def __init__(self) -> None:
        faults = prove()
        if faults:
            raise EngineError("monitoring rules are not complete and exclusive: " + "; ".join(faults))
        definition = ruleset()
        problems = verify(definition)
        if problems:
            raise EngineError("refusing unsafe ruleset: " + "; ".join(problems))
        with _lock:
            name = f"rules_engine_monitor_{next(_names)}"
        self._handle: Any = _dre.create_ruleset(name, orjson.dumps(definition).decode())
        self._facts: dict[str, dict[str, dict[str, Any]]] = {}  # org -> duty id -> the fact as asserted
        self._hashes: dict[str, dict[int, str]] = {}  # org -> FNV-1a-32 of each duty id -> the id

    def put(
        self,
        org: str,
        duties: Mapping[str, tuple[int, int, int]],
        states: Mapping[str, str] | None = None,
        *,
        retract: bool = True,
    ) -> list[Transition]:
        """Set the organisation's duties (duty id -> (short, over, near)); duties of `org` not named are
        retracted (kept as they are, without `retract`: some duties changed). `states`: the state to assert a new
        duty in (rebuilding from the store; default open). Returns the transitions the engine made, in order."""
        held = self._facts.setdefault(org, {})
        hashes = self._hashes.setdefault(org, {})
        out: list[Transition] = []
        for duty in [d for d in held if d not in duties] if retract else []:
            self._call(_dre.retract_fact, held.pop(duty))
            hashes.pop(fnv1a32(duty), None)
        for duty, (short, over, near) in duties.items():
            old = held.get(duty)
            if old is None:
                h = fnv1a32(duty)
                if hashes.get(h, duty) != duty:  # trap 2: refuse rather than lose a fact
                    raise EngineError(f"duty id hash collision: {hashes[h]!r} and {duty!r}")
                hashes[h] = duty
                st = (states or {}).get(duty, "open")
            elif (old["short"], old["over"], old["near"]) == (max(short, 0), over, near):
                continue
            else:
                st = old["st"]
            fact = {"sid": org, "id": duty, "t": "duty", "st": st, "short": max(short, 0), "over": over, "near": near}
            before = None if old is None else str(old["st"])
            if old is not None:
                self._call(_dre.retract_fact, old)
            rule = self._decide(fact)
            for _ in range(len(STATES) + 1):  # each step leaves a state a rule reads: bounded
                after = RULES[rule][1]
                if after is None:
                    break
                out.append(Transition(org, duty, before, after, rule))
                self._call(_dre.retract_fact, fact)
                fact = {**fact, "st": after}
                before = after
                rule = self._decide(fact)
            else:  # pragma: no cover - the table has no cycle (tests/test_monitor.py)
                raise EngineError(f"duty {duty} did not settle")
            if old is None and before is None:
                out.append(Transition(org, duty, None, str(fact["st"]), rule))
            held[duty] = fact
        return out

    def states(self, org: str | None = None) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(organisation, duty id, fact) for every duty held (of `org` only, if given)."""
        for o, held in self._facts.items():
            if org is None or o == org:
                for duty, fact in held.items():
                    yield o, duty, fact

    def stored(self, org: str) -> list[dict[str, Any]]:
        """The facts durable_rules holds for `org` (as the engine returns them)."""
        if not self._facts.get(org):
            return []
        facts: list[dict[str, Any]] = orjson.loads(_dre.get_facts(self._handle, org))
        return facts

    def _decide(self, fact: dict[str, Any]) -> str:
        matched = self._call(_dre.assert_fact, fact)
        if len(matched) != 1:
            raise EngineError(f"duty {fact['id']} matched {matched or 'no rule'}")
        return matched[0]

    def _call(self, fn: Any, fact: Mapping[str, Any]) -> list[str]:
        code, state = fn(self._handle, orjson.dumps(fact).decode())
        if code not in (0, 3):
            raise EngineError(f"engine refused duty {fact.get('id')!r} (code {code})")
        matched: list[str] = []
        result = _dre.start_action_for_state(self._handle, state)
        while result:
            state_json, message_json = result[0], result[1]
            try:
                matched.extend(orjson.loads(message_json))
            except BaseException:
                _dre.abandon_action(self._handle, state)
                raise
            _dre.update_state(self._handle, state_json)
            following = _dre.complete_and_start_action(self._handle, state)
            result = (state_json, following) if following else None
        return matched

    def close(self) -> None:
        if self._handle is not None:
            for org, held in self._facts.items():
                if held:
                    with contextlib.suppress(Exception):
                        _dre.delete_state(self._handle, org)
            _dre.delete_ruleset(self._handle)
            self._handle = None

    def __del__(self) -> None:  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()
