"""The escalation stage as columns (rules_engine.escalation.plan_layer) against the object code it replaced
(tests/escalation_reference.py): on generated rosters (several posts per person, portfolio areas, kinds the rules
do not cover, overlay organisations) whose obligations are given decisions at random (every status, pending and
undeterminable among them), every escalation obligation of every layer with the same subject, window, count,
evidence (order and cap included) and fact counts, for escalation rules of each way of counting, with and without
roles, the secretary needed or not, and a share of the team; then escalations of escalations, read from the rows
the layer before added, decided at random too."""

from __future__ import annotations

import random
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules_engine import compile_rules, load_rules
from rules_engine.compile import CompiledRules, Decision
from rules_engine.engine.decide import tables
from rules_engine.escalation import COUNTS, layers, plan_layer
from rules_engine.ledger import Ledger
from rules_engine.model.roster import Roster
from rules_engine.periods import parse_period
from rules_engine.plan import RosterIndex, plan_table

from .conftest import RULES
from .escalation_reference import reference_layer
from .test_escalation_oracle import HEAD, MANIFEST
from .test_plan_table import roster

LOWER = "[ZZ-08-01, ZZ-08-02, ZZ-08-06, ZZ-YG-01, ZZ-YG-02, ZZ-YG-03, ZZ-DC-01, SH-01, ZZ-DW-01]"
ESCALATIONS = {
    # findings; no roles, the secretary needed (among those counted); two statuses
    "C-FINDINGS": f"subject: organisation\nescalate: {{rules: {LOWER}, status: [violated, undeterminable],"
    " count: findings, with_secretary: true, raise_at: 3}",
    # findings of members only, the secretary needed but not counted: the secretary's shown after the team's
    "C-MEMBERS": f"subject: organisation\nescalate: {{rules: {LOWER}, count: findings, roles: [member],"
    " with_secretary: true, raise_at: 2}",
    "C-RULES": f"subject: organisation\nescalate: {{rules: {LOWER}, count: rules, roles: [secretary, member],"
    " raise_at: 2}",
    "C-AREAS": f"subject: organisation\nescalate: {{rules: {LOWER}, status: [violated, pending], count: portfolios,"
    " raise_at: 2}",
    # people: of every kind of finding about people (pairs too), every role
    "C-PEOPLE": f"subject: organisation\nescalate: {{rules: {LOWER}, count: people, raise_at: 2}}",
    # a share of the team, of some roles, the secretary needed too
    "C-SHARE": f"subject: organisation\nescalate: {{rules: {LOWER}, count: people, roles: [deputy_secretary, member],"
    " with_secretary: true, raise_share: 1/2}",
    "C-PERSON": "subject: person\nroles: [secretary, deputy_secretary, member]\n"
    f"escalate: {{rules: {LOWER}, status: [violated, pending], count: findings, raise_at: 2}}",
    "C-PERSON-AREAS": "subject: person\nroles: [deputy_secretary, member]\n"
    f"escalate: {{rules: {LOWER}, count: portfolios, raise_at: 1}}",
    # escalations of escalations (and of the pack's own)
    "C-TOP": "subject: organisation\nescalate: {rules: [ZZ-ESC-01, C-PERSON, C-MEMBERS, ZZ-YG-01], count: people,"
    " raise_share: 0.34}",
    "C-TOP-PERSON": "subject: person\nroles: [member]\n"
    "escalate: {rules: [C-TOP, C-PERSON, ZZ-YG-02], status: [violated, undeterminable], count: rules, raise_at: 1}",
}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> CompiledRules:
    root: Path = tmp_path_factory.mktemp("escalation-columns") / "pack"
    root.mkdir()
    (root / "pack.yaml").write_text(MANIFEST, encoding="utf-8")
    text = "rules:\n"
    for rule_id, body in ESCALATIONS.items():
        text += HEAD.format(id=rule_id) + textwrap.indent(body + "\n", "    ")
    (root / "rules.yaml").write_text(text, encoding="utf-8")
    return compile_rules(load_rules(RULES, root))


def _decide_at_random(ledger: Ledger, table: tuple[Decision, ...], start: int, chance: random.Random) -> None:
    """Each row of `ledger` from `start` on given one of the decisions of `table` its rule could take."""
    choices: dict[int, list[Decision]] = {}
    for d in table:
        for rule in ledger.rules if d.rule_index is None else (d.rule_index,):
            choices.setdefault(rule, []).append(d)
    rules = ledger.table.get_column("rule").slice(start).to_list()
    ledger.set_decisions([chance.choice(choices[r]) for r in rules], start)


def _ours(raised: Any) -> list[tuple[Any, ...]]:
    rows = []
    for row in raised.iter_rows(named=True):
        listed = row["evidence"]
        rows.append(
            (
                row["org"],
                row["rule"],
                row["kind"],
                row["sid"],
                row["name"],
                row["role"],
                row["period"],
                row["window"],
                row["na"],
                row["count"],
                None if listed is None else orjson.loads(listed),
                tuple(row[name] for name in COUNTS),
            )
        )
    return rows


def _theirs(ledger: Ledger, made: tuple[list[Any], list[tuple[int, ...]]]) -> list[tuple[Any, ...]]:
    code = ledger.periods.code
    return [
        (
            ledger.org_code(ob.org.id),
            ob.rule.index,
            ob.subject_kind,
            ob.subject_id,
            ob.subject_name,
            ob.role,
            code(ob.period),
            None if ob.window is None else code(ob.window),
            ob.na,
            ob.count,
            ob.evidence,
            counts,
        )
        for ob, counts in zip(*made, strict=True)
    ]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    roster(),
    st.sampled_from(["2024", "2024-H2", "2023-10-15..2024-08-10"]),
    st.sampled_from([0, 1, 2, 20]),
    st.randoms(use_true_random=False),
)
@pytest.mark.slow
def test_the_columns_sum_up_what_the_object_code_summed_up(
    compiled: CompiledRules, data: dict[str, Any], period: str, most: int, chance: random.Random
) -> None:
    try:
        the_roster = Roster.model_validate(data)
    except ValueError:
        return  # (a person with two posts that the roster refuses)
    index = RosterIndex(the_roster)
    the_period = parse_period(period)
    ledger = Ledger(plan_table(compiled, index, the_period))
    base, escalations = tables(compiled)
    _decide_at_random(ledger, base, 0, chance)
    for number, layer in enumerate(layers(compiled), 1):
        raised = plan_layer(layer, ledger, index, the_period, compiled, most)
        expected = _theirs(ledger, reference_layer(layer, ledger, index, the_period, compiled, most))
        assert _ours(raised) == expected
        start = len(ledger)
        ledger.add_rows(raised, number)
        _decide_at_random(ledger, escalations, start, chance)


def test_the_generated_cases_reach_what_the_test_is_about(compiled: CompiledRules) -> None:
    """A fixed case reaches each count above zero at each level, the secretary's, a share not reached and one
    with no team, evidence cut at the cap, and holders of several posts."""
    data = {
        "organisations": [
            {"id": "o1", "name": "组织1", "kind": "township"},
            {"id": "o2", "name": "组织2", "kind": "township"},
            {"id": "o3", "name": "组织3", "kind": "grassroots"},
        ],
        "people": [
            {"id": pid, "name": pid, "posts": [{"org": "o1", "role": role, "portfolios": areas, "start": "2020-01-01"}]}
            for pid, role, areas in [
                ("s", "secretary", []),
                ("d", "deputy_secretary", ["政法"]),
                ("m1", "member", ["宣传思想", "组织人事"]),
                ("m2", "member", ["政法"]),
            ]
        ],
    }
    index = RosterIndex(Roster.model_validate(data))
    period = parse_period("2024")
    ledger = Ledger(plan_table(compiled, index, period))
    base, _ = tables(compiled)
    by_status: dict[str, list[Decision]] = {}
    for d in base:
        by_status.setdefault(d.status.value, []).append(d)
    statuses = ["violated", "pending", "undeterminable", "fulfilled"]
    picked = []
    for i, rule in enumerate(ledger.table.get_column("rule").to_list()):
        mine = [d for d in by_status[statuses[i % 4]] if d.rule_index in (None, rule)]
        picked.append(mine[0] if mine else next(d for d in base if d.rule_index in (None, rule)))
    ledger.set_decisions(picked)
    layer = layers(compiled)[0]
    raised = plan_layer(layer, ledger, index, period, compiled, 2)
    assert _ours(raised) == _theirs(ledger, reference_layer(layer, ledger, index, period, compiled, 2))
    rows = raised.to_dicts()
    for name in COUNTS:
        assert any(row[name] > 0 for row in rows), name
    kinds = {(row["kind"], row["na"]) for row in rows}
    assert ("organisation", "kind_not_covered") in kinds and ("person", "") in kinds
    assert any(row["evidence"] and len(orjson.loads(row["evidence"])) == 2 < row["count"] for row in rows)
