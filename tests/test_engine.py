"""The durable_rules backend: it decides exactly what the decision table says, safely."""

from __future__ import annotations

import collections
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_engine import compile_rules, load_rules
from rules_engine.compile import Decision, decide
from rules_engine.engine import EngineError, _durable
from rules_engine.engine._durable import DurableBackend, fnv1a32, lower, verify
from rules_engine.engine.decide import tables
from rules_engine.model.findings import Status

from .conftest import RULES

COMPILED = compile_rules(load_rules(RULES))
BASE, ESCALATION = tables(COMPILED)  # escalation rules decide on other facts (tests/test_decide.py)
RECORD_RULES = [r.index for r in COMPILED.rules if r.rule.escalate is None]

fact_strategy = st.fixed_dictionaries(
    {
        "r": st.sampled_from(RECORD_RULES),
        "n": st.integers(0, 4),
        "most": st.integers(0, 6),
        "due": st.integers(0, 1),
        "taint": st.integers(0, 1),
        "na": st.integers(0, 1),
        "unk": st.integers(0, 1),
        "wv": st.integers(0, 1),
    }
)


def test_every_fact_matches_exactly_one_decision() -> None:
    for r in RECORD_RULES:
        for n in range(4):
            for due in (0, 1):
                for taint in (0, 1):
                    for na in (0, 1):
                        for unk in (0, 1):
                            for wv in (0, 1):
                                fact = {
                                    "r": r,
                                    "n": n,
                                    "most": n,
                                    "due": due,
                                    "taint": taint,
                                    "na": na,
                                    "unk": unk,
                                    "wv": wv,
                                }
                                assert len(decide(BASE, fact)) == 1, fact


@settings(max_examples=150, deadline=None)
@given(st.lists(fact_strategy, max_size=60))
def test_durable_backend_agrees_with_the_decision_table(facts: list[dict[str, int]]) -> None:
    backend = DurableBackend(BASE)
    try:
        numbered = [{"id": f"o{i}", **fact} for i, fact in enumerate(facts)]
        got = backend.run(numbered)
        # run twice on the same backend: the partition was cleared
        assert backend.run(numbered) == got
    finally:
        backend.close()
    for fact in numbered:
        (expected,) = decide(BASE, fact)
        assert got[fact["id"]] == expected.name


def test_shipped_rules_lower_to_safe_rulesets() -> None:
    ruleset = lower(COMPILED.decisions)
    assert verify(ruleset) == []
    assert all(rule["cap"] >= 1 for rule in ruleset.values())


@pytest.mark.parametrize(
    "pattern",
    [
        # the crashing shape: $and combined with a reference to another fact (upstream #381)
        {"all": [{"a": {"t": "x"}}, {"b": {"$and": [{"t": "y"}, {"$gt": {"n": {"a": "n"}}}]}}]},
        {"all": [{"a": {"t": "x"}}, {"b": {"$or": [{"t": "y"}, {"n": {"$m": "x"}}]}}]},
        {"all": [{"b": {"$and": [{"t": "y"}, {"$nex": {"n": 1}}]}}]},
        {"all": [{"b": {"t": 1.5}}]},
        {"all": []},
    ],
)
def test_verifier_refuses_unsafe_shapes(pattern: dict) -> None:
    assert verify({"bad": pattern})


def test_backend_refuses_an_unsafe_table() -> None:
    bad = Decision("x", Status.violated, 0, (("n", "~", 1),))
    with pytest.raises((EngineError, KeyError)):
        DurableBackend([bad])


def test_fact_id_hash_collisions_are_refused_not_dropped() -> None:
    backend = DurableBackend(BASE)
    try:
        # 'costarring' and 'liquid' collide in FNV-1a-32
        assert fnv1a32("costarring") == fnv1a32("liquid")
        fact = {"r": 0, "n": 1, "most": 1, "due": 1, "taint": 0, "na": 0, "unk": 0, "wv": 0}
        with pytest.raises(EngineError, match="collision"):
            backend.run([{"id": "costarring", **fact}, {"id": "liquid", **fact}])
    finally:
        backend.close()


def test_backend_starts_no_threads() -> None:
    before = threading.active_count()
    backend = DurableBackend(BASE)
    backend.run([{"id": "o0", "r": 0, "n": 0, "most": 0, "due": 1, "taint": 0, "na": 0, "unk": 0, "wv": 0}])
    backend.close()
    assert threading.active_count() == before


def test_a_fact_the_table_cannot_match_is_refused_before_the_engine() -> None:
    """durable_rules aborts the process (double free) on such a fact: it must never reach the engine."""
    backend = DurableBackend(BASE)
    try:
        with pytest.raises(EngineError, match="lacks integer fields"):
            backend.run([{"id": "o0", "r": 0, "n": 0, "most": 0, "due": 0, "taint": 0, "na": 0, "unk": 0}])
    finally:
        backend.close()


def _facts(seed: int) -> list[dict[str, int | str]]:
    """A spread of facts over every record rule (ids unique within the list)."""
    fields = ("n", "most", "due", "taint", "na", "unk", "wv")
    tops = {"n": 4, "most": 6}
    facts: list[dict[str, int | str]] = []
    for i, r in enumerate(RECORD_RULES * 3):
        values = {name: (i * 7 + seed * 3 + k) % (tops.get(name, 1) + 1) for k, name in enumerate(fields)}
        facts.append({"id": f"o{seed}-{i}", "r": r, **values})
    return facts


def test_a_closed_backend_s_ruleset_serves_the_next_one_of_the_same_table_and_decides_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ruleset is made (proven, checked, created) once per table: the next backend takes it, and no state of
    the earlier runs reaches its decisions."""
    monkeypatch.setattr(_durable, "_kept", collections.OrderedDict())
    made: list[str] = []
    create = _durable._dre.create_ruleset
    monkeypatch.setattr(_durable._dre, "create_ruleset", lambda name, text: made.append(name) or create(name, text))
    first = DurableBackend(BASE)
    handle = first._handle
    for seed in range(3):
        first.run(_facts(seed))
    first.close()
    second = DurableBackend(BASE)
    assert second._handle == handle and len(made) == 1  # taken, not made again
    got = second.run(_facts(9))
    second.close()
    expected = {str(f["id"]): decide(BASE, f)[0].name for f in _facts(9)}
    assert got == expected


def test_a_ruleset_whose_run_failed_in_the_engine_is_freed_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_durable, "_kept", collections.OrderedDict())
    freed: list[object] = []
    delete = _durable._dre.delete_ruleset
    monkeypatch.setattr(_durable._dre, "delete_ruleset", lambda handle: freed.append(handle) or delete(handle))
    backend = DurableBackend(BASE)
    handle = backend._handle

    real = DurableBackend._assert

    def failing(self: DurableBackend, facts: list[dict[str, object]], decided: dict[str, str]) -> None:
        real(self, facts, decided)  # (the state made, then the run fails)
        raise EngineError("engine refused facts (code 9)")

    monkeypatch.setattr(DurableBackend, "_assert", failing)
    with pytest.raises(EngineError, match="code 9"):
        backend.run(_facts(0))
    backend.close()
    assert freed == [handle] and not _durable._kept


def test_only_a_few_tables_rulesets_are_kept_the_least_recently_closed_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_durable, "_kept", collections.OrderedDict())
    monkeypatch.setattr(_durable, "KEPT_TABLES", 1)
    freed: list[object] = []
    delete = _durable._dre.delete_ruleset
    monkeypatch.setattr(_durable._dre, "delete_ruleset", lambda handle: freed.append(handle) or delete(handle))
    base, escalation = DurableBackend(BASE), DurableBackend(ESCALATION)
    handles = base._handle, escalation._handle
    extra = DurableBackend(BASE)  # (another of the same table open at once: made, not taken)
    assert extra._handle not in handles
    base.close()
    escalation.close()  # (the base table's ruleset freed: one table kept)
    assert freed == [handles[0]] and list(_durable._kept) == [ESCALATION]
    extra.close()
    assert freed == [handles[0], handles[1]] and list(_durable._kept) == [BASE]
