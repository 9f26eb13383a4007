"""The compiler proves every decision table complete and exclusive before any engine sees it.

A table with a gap (a fact no decision matches) made durable_rules abort the process on one run and refuse the
facts on the next: such a table is refused, with the rule's location, by ``compile_rules``, by ``lint`` and by the
backend itself, before durable_rules is called at all.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rules_engine.compile as compile_module
from rules_engine import RulesError, compile_rules, evaluate, lint, load_rules
from rules_engine.cli import main
from rules_engine.compile import FLAGS, CompiledRule, Decision, decide, prove_table
from rules_engine.engine import EngineError, _durable
from rules_engine.model.findings import Status

from .conftest import RULES, rec

ORG_RULE = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 2}
"""
RANGE_RULE = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 1, at_most: 3}
"""

original_lower = compile_module.lower
HINT = (
    "判定表由编译器依参数生成：请核对 at_least / at_most；参数无误则是程序缺陷，请报告 the table is generated from the "
    "parameters: check at_least / at_most; if they are right, this is a bug in the compiler: please report it"
)


def flipped(condition: tuple[str, str, int], into: tuple[str, str, int]):
    """A lowering of rule 0 with one threshold condition of its ``met`` decision replaced."""

    def lower(rule: CompiledRule) -> list[Decision]:
        out = original_lower(rule)
        if rule.index != 0:
            return out
        return [
            Decision(d.name, d.status, d.rule_index, tuple(into if c == condition else c for c in d.conditions))
            if d.name.endswith(":met")
            else d
            for d in out
        ]

    return lower


class NoEngine:
    """Stands in for durable_rules' C module: any use is recorded and refused."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        raise AssertionError(f"durable_rules was called: {name}")


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> NoEngine:
    stub = NoEngine()
    monkeypatch.setattr(_durable, "_dre", stub)
    return stub


def test_the_shipped_tables_are_proven() -> None:
    compiled = compile_rules(load_rules(RULES))
    assert prove_table(compiled.decisions, [r.index for r in compiled.rules]) == []


def test_a_flipped_threshold_is_refused_with_the_rules_location_before_the_engine(
    make_pack, township, monkeypatch: pytest.MonkeyPatch, no_engine: NoEngine
) -> None:
    pack = make_pack(("ORG-1", ORG_RULE))
    rules = load_rules(pack)
    # met: n >= 2 becomes n > 2, so a window with exactly two meetings matches no decision
    monkeypatch.setattr(compile_module, "lower", flipped(("n", ">=", 2), ("n", ">", 2)))
    records = [rec("r1", "meeting", "2024-03-01", "s1"), rec("r2", "meeting", "2024-04-01", "s1")]
    with pytest.raises(RulesError) as caught:
        evaluate(rules, township, records, period="2024", as_of="2025-01-01")
    (problem,) = caught.value.problems
    assert problem.code == "rule.decisions_incomplete"
    assert problem.location == rules.rules[0].location
    assert problem.location.file.endswith("rules.yaml") and problem.location.line == 2
    assert problem.message.startswith("规则 ORG-1 的判定表不完整")
    assert "n=2" in problem.message and "ORG-1" in problem.message_en
    assert no_engine.calls == []


def test_an_overlap_is_refused(make_pack, monkeypatch: pytest.MonkeyPatch, no_engine: NoEngine) -> None:
    rules = load_rules(make_pack(("ORG-1", RANGE_RULE)))
    # met: most <= 3 becomes most <= 4, and "within_lacking" (most > 3) already takes most = 4
    monkeypatch.setattr(compile_module, "lower", flipped(("most", "<=", 3), ("most", "<=", 4)))
    with pytest.raises(RulesError) as caught:
        compile_rules(rules)
    (problem,) = caught.value.problems
    assert problem.code == "rule.decisions_overlap"
    example = (
        "due=1 most=4 n=1 na=0 taint=0 unk=0 wv=0 -> 0:met, 0:within_lacking; "
        "due=1 most=4 n=1 na=0 taint=0 unk=0 wv=1 -> 0:met, 0:within_lacking:waived; "
        "due=1 most=4 n=2 na=0 taint=0 unk=0 wv=0 -> 0:met, 0:within_lacking"
    )
    # (n = 1, 2, 3, waived or not; never a fact whose most is below its count)
    assert problem.message == f"规则 ORG-1 的判定表有重叠：6 种事实有多个判定，如 {example}"
    assert problem.message_en == (
        f"the decision table of rule ORG-1 overlaps: 6 kinds of fact match more than one decision, e.g. {example}"
    )
    assert problem.hint == HINT
    assert no_engine.calls == []


def test_lint_refuses_a_table_with_a_gap(
    make_pack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = make_pack(("ORG-1", ORG_RULE))
    assert lint(pack) == []
    monkeypatch.setattr(compile_module, "lower", flipped(("n", ">=", 2), ("n", ">", 2)))
    (problem,) = lint(pack)
    assert problem.code == "rule.decisions_incomplete"
    assert Path(problem.location.file).name == "rules.yaml"
    assert main(["lint", str(pack)]) == 1
    assert "rule.decisions_incomplete" in capsys.readouterr().out


def test_the_backend_refuses_an_unproven_table_before_calling_durable_rules(no_engine: NoEngine) -> None:
    gap = [
        Decision("0:over", Status.violated, 0, (("n", ">", 1),)),
        Decision("0:met", Status.fulfilled, 0, (("n", ">=", 1), ("n", "<", 1))),
    ]
    with pytest.raises(EngineError, match="not complete and exclusive"):
        _durable.DurableBackend(gap)
    assert no_engine.calls == []


def test_a_gap_names_the_overlay_scope(make_pack, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_rules(load_rules(make_pack(("ORG-1", ORG_RULE))))
    rule = compiled.rules[0]
    scoped = CompiledRule(1, rule.loaded, rule.params, {}, rule.effective, None, scope=("t1",))
    live = (("na", "==", 0), ("unk", "==", 0))
    broken = (
        *compiled.decisions,
        Decision("1:few", Status.violated, 1, (*live, ("n", "<", 5))),
        Decision("1:met", Status.fulfilled, 1, (*live, ("n", ">", 5))),
    )
    (problem,) = compile_module.table_problems([scoped], broken)
    assert problem.code == "rule.decisions_incomplete"
    example = "n=5 na=0 unk=0 wv=0; n=5 na=0 unk=0 wv=1"
    assert problem.message == f"规则 ORG-1 的判定表不完整（适用于 t1 及其下级）：2 种事实没有任何判定，如 {example}"
    assert problem.message_en == (
        f"the decision table of rule ORG-1 (as it applies in t1 and below) is incomplete: "
        f"2 kinds of fact match no decision, e.g. {example}"
    )
    assert problem.hint == HINT and problem.location == rule.loaded.location


# The proof must agree with brute force: random tables over a count and two flags, against every fact up to a
# count well above every constant.
condition = st.one_of(
    st.tuples(st.just("n"), st.sampled_from(["==", "<", "<=", ">", ">="]), st.integers(0, 5)),
    st.tuples(st.sampled_from(["due", "wv"]), st.just("=="), st.integers(0, 1)),
)
tables = st.lists(st.lists(condition, max_size=3), min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(tables)
def test_the_proof_agrees_with_brute_force(table: list[list[tuple[str, str, int]]]) -> None:
    decisions = [Decision(f"d{i}", Status.fulfilled, 0, (("r", "==", 0), *c)) for i, c in enumerate(table)]
    counts = {
        len(decide(tuple(decisions), {"r": 0, "n": n, "due": due, "wv": wv}))
        for n, due, wv in itertools.product(range(12), (0, 1), (0, 1))
    }
    (fault,) = prove_table(decisions, [0]) or [None]
    assert (fault is not None and bool(fault.gaps)) == (0 in counts)
    assert (fault is not None and bool(fault.overlaps)) == any(c > 1 for c in counts)


def test_flags_are_tested_at_zero_and_one_and_counts_around_each_constant() -> None:
    assert {"due", "taint", "na", "unk", "wv"} == FLAGS
    table = [Decision("a", Status.fulfilled, 0, (("n", ">=", 3),)), Decision("b", Status.violated, 0, (("n", "<", 2),))]
    (fault,) = prove_table(table, [0])
    assert fault.gaps == ({"n": 2, "r": 0},) and fault.overlaps == ()
    table = [Decision("a", Status.fulfilled, 0, (("n", "==", 0), ("wv", "==", 1)))]
    (fault,) = prove_table(table, [0])
    assert fault.gaps == ({"n": 0, "r": 0, "wv": 0}, {"n": 1, "r": 0, "wv": 0}, {"n": 1, "r": 0, "wv": 1})


def expected(fact: dict[str, int], lo: int, hi: int | None) -> tuple[Status, bool, Status | None]:
    """rule-format.md §5, written out: (status, taken in the closed-world step, status a waiver replaced)."""
    n, most, due, taint = fact["n"], fact["most"], fact["due"], fact["taint"]
    if fact["na"]:
        return Status.not_applicable, False, None
    if fact["unk"]:
        status, closed = Status.undeterminable, False
    elif hi is not None and n > hi:
        status, closed = Status.violated, False
    elif n >= lo and (hi is None or (due and not taint and most <= hi)):
        return Status.fulfilled, False, None
    else:
        closed = True
        if not due:
            status = Status.pending
        elif taint:
            status = Status.undeterminable
        elif n < lo and most < lo:  # (the records set aside for lacking a field could not have made up the gap)
            status = Status.violated
        else:  # they could have: below at_least with them, or over at_most with them
            status = Status.undeterminable
    return (Status.waived, closed, status) if fact["wv"] else (status, closed, None)


@pytest.mark.parametrize(("lo", "hi"), [(2, None), (0, None), (1, 3), (0, 0), (2, 2), (None, 1)])
def test_each_fact_is_decided_as_the_rule_format_says(make_pack, lo: int | None, hi: int | None) -> None:
    params = {"at_least": lo, "at_most": hi}
    body = ORG_RULE.replace("at_least: 2", ", ".join(f"{k}: {v}" for k, v in params.items() if v is not None))
    compiled = compile_rules(load_rules(make_pack(("ORG-1", body))))
    names = [d.name for d in compiled.decisions]
    assert len(set(names)) == len(names)
    # the rule's own decisions say whose they are (``explain`` lists a rule's decisions by it); the rest apply to all
    assert all((d.rule_index == 0) == d.name.startswith("0:") for d in compiled.decisions)
    assert all(d.rule_index is None for d in compiled.decisions if not d.name.startswith("0:"))
    taken: set[str] = set()
    for n, lack, due, taint, na, unk, wv in itertools.product(range(6), range(4), *[(0, 1)] * 5):
        fact = {"r": 0, "n": n, "most": n + lack, "due": due, "taint": taint, "na": na, "unk": unk, "wv": wv}
        (decision,) = decide(compiled.decisions, fact)
        assert (decision.status, decision.after_close, decision.waives) == expected(fact, lo or 0, hi), fact
        taken.add(decision.name)
    assert taken == set(names)  # no dead decision (explain would list a row no fact can reach)
