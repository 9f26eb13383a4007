"""The durable_rules backend: it decides exactly what the decision table says, safely."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_engine import compile_rules, load_rules
from rules_engine.compile import Decision, decide
from rules_engine.engine import EngineError
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
