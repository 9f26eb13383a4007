"""The decide stage: each distinct decision fact decided once on durable_rules, mapped back to every row;
escalation rules decided on durable_rules by their own tables, lowered from their ``escalate`` specs."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_engine import compile_rules, evaluate, load_rules
from rules_engine.compile import ESCALATION_FIELDS, OBLIGATION_FIELDS, Decision, decide, prove_table
from rules_engine.engine import EngineError, _durable
from rules_engine.engine import decide as decide_module
from rules_engine.engine.decide import Decider, cut_points, tables
from rules_engine.model.findings import Status

from .conftest import RULES
from .test_evaluate import PORTFOLIO, SECRETARY_CHAIRS

COMPILED = compile_rules(load_rules(RULES))
BASE, ESCALATION = tables(COMPILED)
RECORD_RULES = [r.index for r in COMPILED.rules if r.rule.escalate is None]
ESCALATION_RULES = [r.index for r in COMPILED.rules if r.rule.escalate is not None]

obligation_rows = st.tuples(
    st.sampled_from(RECORD_RULES),
    st.integers(0, 30),  # n
    st.integers(0, 30),  # most
    *[st.integers(0, 1)] * (len(OBLIGATION_FIELDS) - 2),
)
escalation_rows = st.tuples(
    st.sampled_from(ESCALATION_RULES),
    *[st.integers(0, 1)] * 3,
    *[st.integers(0, 12)] * (len(ESCALATION_FIELDS) - 3),
)


def plain(table: tuple[Decision, ...], fields: tuple[str, ...], row: tuple[int, ...]) -> Decision:
    (decision,) = decide(table, {"r": row[0], **dict(zip(fields, row[1:], strict=True))})
    return decision


@settings(max_examples=60, deadline=None)
@given(st.lists(obligation_rows, max_size=80), st.integers(1, 7))
def test_every_row_gets_the_decision_the_table_gives_it(rows: list[tuple[int, ...]], partition: int) -> None:
    with Decider(BASE, OBLIGATION_FIELDS, partition=partition) as decider:
        got = decider.decide(rows)
        assert decider.distinct <= len(set(rows))
    assert got == [plain(BASE, OBLIGATION_FIELDS, row) for row in rows]


@settings(max_examples=60, deadline=None)
@given(st.lists(escalation_rows, max_size=80), st.integers(1, 7))
def test_escalation_rows_get_the_decision_their_table_gives_them(rows: list[tuple[int, ...]], partition: int) -> None:
    with Decider(ESCALATION, ESCALATION_FIELDS, partition=partition) as decider:
        got = decider.decide(rows)
    assert got == [plain(ESCALATION, ESCALATION_FIELDS, row) for row in rows]


def test_counts_are_banded_by_the_constants_the_table_compares_them_with() -> None:
    table = [
        Decision("a", Status.fulfilled, 0, (("n", "<", 2),)),
        Decision("b", Status.fulfilled, 0, (("n", "<=", 3), ("n", ">=", 2))),
        Decision("c", Status.fulfilled, 0, (("n", "==", 5),)),
        Decision("d", Status.fulfilled, 0, (("n", ">", 3), ("n", "<", 5))),
        Decision("e", Status.fulfilled, 0, (("n", ">", 5),)),
    ]
    assert cut_points(table, "n") == [0, 2, 4, 5, 6]
    assert prove_table(table, [0]) == []
    with Decider(table, ("n",)) as decider:
        bands = [decider.band((0, n)) for n in range(9)]
        assert bands == [(0, b) for b in (0, 0, 2, 2, 4, 5, 6, 6, 6)]
        names = [d.name for d in decider.decide([(0, n) for n in range(40)])]
        assert names == ["a", "a", "b", "b", "d", "c", *["e"] * 34]
        assert decider.distinct == 5  # 40 rows, 5 bands: one fact each


def test_rows_of_a_rule_with_no_count_threshold_share_one_fact() -> None:
    rule = next(r for r in COMPILED.rules if r.rule.escalate is None and r.at_least == 1 and r.at_most is None)
    rows = [(rule.index, n, n, 1, 0, 0, 0, 0) for n in range(1, 50)]
    with Decider(BASE, OBLIGATION_FIELDS) as decider:
        assert {d.status for d in decider.decide(rows)} == {Status.fulfilled}
        assert decider.distinct == 1


def test_facts_are_asserted_in_bounded_partitions_under_collision_free_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    run = _durable.DurableBackend.run

    def spy(self: Any, facts: Any) -> dict[str, str]:
        seen.append([str(f["id"]) for f in facts])
        return run(self, facts)

    def hash_(text: str) -> int:  # d1 "collides" with d0: the decider must not use it beside d0
        return _durable.fnv1a32("d0" if text == "d1" else text)

    monkeypatch.setattr(_durable.DurableBackend, "run", spy)
    monkeypatch.setattr(decide_module, "fnv1a32", hash_)
    rows = [(RECORD_RULES[0], n, n, due, 0, 0, 0, 0) for n in range(6) for due in (0, 1)]
    with Decider(BASE, OBLIGATION_FIELDS, partition=3) as decider:
        got = decider.decide(rows)
        distinct = decider.distinct
    assert got == [plain(BASE, OBLIGATION_FIELDS, row) for row in rows]
    assert all(len(ids) <= 3 for ids in seen) and sum(map(len, seen)) == distinct
    assert seen[0] == ["d0", "d2", "d3"]  # d1 skipped: its hash is d0's


def test_a_row_no_decision_can_match_never_reaches_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fact no rule matches is refused (or aborts the process) in durable_rules: it must be stopped first."""
    calls: list[Any] = []
    monkeypatch.setattr(_durable.DurableBackend, "run", lambda self, facts: calls.append(facts) or {})
    with Decider(BASE, OBLIGATION_FIELDS) as decider:
        with pytest.raises(EngineError, match="no decision table for rule index"):
            decider.decide([(ESCALATION_RULES[0], 0, 0, 1, 0, 0, 0, 0)])  # an escalation rule in the record table
        with pytest.raises(EngineError, match="fields"):
            decider.decide([(RECORD_RULES[0], 0, 1)])
    with pytest.raises(EngineError, match="do not carry"):
        Decider(ESCALATION, OBLIGATION_FIELDS)
    assert calls == []


def test_each_distinct_decision_fact_is_asserted_once_in_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    asserted: list[tuple[Any, ...]] = []
    run = _durable.DurableBackend.run

    def spy(self: Any, facts: Any) -> dict[str, str]:
        asserted.extend(tuple(sorted((k, v) for k, v in f.items() if k != "id")) for f in facts)
        return run(self, facts)

    monkeypatch.setattr(_durable.DurableBackend, "run", spy)
    roster = {
        "organisations": [{"id": f"t{i}", "name": f"镇{i}", "kind": "township"} for i in range(6)],
        "people": [
            {"id": f"s{i}", "name": f"书记{i}", "posts": [{"org": f"t{i}", "role": "secretary", "start": "2020-01-01"}]}
            for i in range(6)
        ],
    }
    report = evaluate(COMPILED, roster, [], period="2024", as_of="2025-01-15")
    assert len(asserted) == len(set(asserted))  # never the same fact twice
    assert len(asserted) < len(report.findings) / 3  # six organisations alike: one set of facts


# rule-format.md §10, written out: raised, else pending if counting pending ones too would raise it, else
# undeterminable if counting undeterminable ones too would, else not raised; a valid waiver waives the first three.
def raises(fact: dict[str, int], suffix: str, raise_at: int | None, secretary: bool) -> bool:
    reached = fact[f"k{suffix}"] >= raise_at if raise_at is not None else fact[f"gap{suffix}"] == 0
    return reached and (not secretary or fact[f"sec{suffix}"] > 0)


def expected(fact: dict[str, int], raise_at: int | None, secretary: bool) -> tuple[Status, Status | None]:
    if fact["na"]:
        return Status.not_applicable, None
    if fact["unk"]:
        status = Status.undeterminable
    elif raises(fact, "", raise_at, secretary):
        status = Status.violated
    elif raises(fact, "p", raise_at, secretary):
        status = Status.pending
    elif raises(fact, "u", raise_at, secretary):
        status = Status.undeterminable
    else:
        return Status.fulfilled, None
    return (Status.waived, status) if fact["wv"] else (status, None)


@pytest.mark.parametrize(
    ("spec", "raise_at", "secretary"),
    [
        ("{rules: [YG-1], count: portfolios, raise_at: 2}", 2, False),
        ("{rules: [YG-1, SEC-1], count: findings, raise_at: 3, with_secretary: true}", 3, True),
        ("{rules: [YG-1, SEC-1], count: people, with_secretary: true, raise_share: 1/2}", None, True),
        ("{rules: [YG-1], count: people, raise_share: 2/3}", None, False),
    ],
)
def test_an_escalation_is_decided_as_the_rule_format_says(
    make_pack, spec: str, raise_at: int | None, secretary: bool
) -> None:
    body = f"subject: organisation\nescalate: {spec}\nparams: {{}}\n"
    compiled = compile_rules(load_rules(make_pack(("YG-1", PORTFOLIO), ("SEC-1", SECRETARY_CHAIRS), ("ESC-1", body))))
    (esc,) = [r.index for r in compiled.rules if r.rule.escalate is not None]
    _base, table = tables(compiled)
    assert prove_table(table, [esc]) == []
    assert _durable.verify(_durable.lower(table)) == []  # one fact per pattern: no reference to another fact
    counts = range((raise_at or 1) + 2)
    flags = [(0, 1)] * 3
    rows, wanted = [], []
    for na, unk, wv, k, kp, ku, sec, secp, secu in itertools.product(*flags, *[counts] * 3, *[(0, 1)] * 3):
        gaps = (0, 1, 2) if raise_at is None else (0,)
        for gap, gapp, gapu in itertools.product(gaps, gaps, gaps):
            row = (esc, na, unk, wv, k, kp, ku, sec, secp, secu, gap, gapp, gapu)
            rows.append(row)
            wanted.append(expected(dict(zip(ESCALATION_FIELDS, row[1:], strict=True)), raise_at, secretary))
    with Decider(table, ESCALATION_FIELDS) as decider:
        got = decider.decide(rows)
    assert [(d.status, d.waives) for d in got] == wanted


def test_the_engine_refuses_a_table_with_a_gap_even_after_proving_the_whole_table() -> None:
    """The proof is cached per rule's table (the compiler's proof serves the engine's): a table that lost a
    decision is another table, proven again and refused, before and after the whole one."""
    rule = RECORD_RULES[0]
    own = [d for d in BASE if d.rule_index == rule]
    gap = tuple(d for d in BASE if d is not own[-1])
    for table in (gap, BASE, gap):
        if table is BASE:
            assert prove_table(table, [rule]) == []
            with Decider(table, OBLIGATION_FIELDS):
                pass
            continue
        (fault,) = prove_table(table, [rule])
        assert fault.rule_index == rule and fault.gaps
        with pytest.raises(EngineError, match="not complete and exclusive"):
            Decider(table, OBLIGATION_FIELDS)
