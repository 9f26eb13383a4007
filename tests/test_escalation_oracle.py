"""Escalations against a plain count: for generated rosters and records, every escalation finding's status,
count and evidence (its order included) are what tests/oracle.py sums up again from the lower findings the
report lists. The escalation rules here cover each way of counting, roles with and without the secretary, the
secretary needed or not, several lower statuses, a share of the team, and escalations of escalations."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules_engine import compile_rules, evaluate, load_rules
from rules_engine.model.roster import Roster
from rules_engine.periods import parse_period

from .conftest import RULES
from .oracle import reference_escalations
from .test_differential import scenario

MANIFEST = """\
format: rules-engine/v1
pack:
  id: test-escalations
  version: 1.0.0
  title: {zh: 升级测试规则包, en: escalation test pack}
  regulation: {id: test, document: 《测试规定》}
  effective: {from: 2020-01-01}
record_types: {escalation_note: {zh: 升级测试记录, en: escalation test note}}
"""
HEAD = """\
  - id: {id}
    title: {{zh: 测试升级规则, en: test escalation}}
    citation: {{document: 《测试规定》, article: 8}}
    provenance: {{basis: local_practice}}
    org_kinds: [local_committee, party_group, township]
    params: {{}}
"""
ALL = "[ZZ-08-01, ZZ-08-02, ZZ-08-06, ZZ-YG-01, ZZ-YG-02, ZZ-YG-03, ZZ-DC-01, SH-01, SH-02, ZZ-DW-01]"
ESCALATIONS = {
    # every finding counted, the secretary's needed (and among them: no roles), two lower statuses
    "T-FINDINGS": f"subject: organisation\nescalate: {{rules: {ALL}, status: [violated, undeterminable],"
    " count: findings, with_secretary: true, raise_at: 3}",
    # the secretary needed but not among the roles counted: the secretary's findings are evidence too
    "T-MEMBERS": f"subject: organisation\nescalate: {{rules: {ALL}, count: findings, roles: [member],"
    " with_secretary: true, raise_at: 2}",
    "T-RULES": f"subject: organisation\nescalate: {{rules: {ALL}, count: rules, roles: [secretary, member],"
    " with_secretary: true, raise_at: 2}",
    "T-PERSON": "subject: person\nroles: [secretary, deputy_secretary, member]\n"
    f"escalate: {{rules: {ALL}, status: [violated, pending], count: findings, raise_at: 2}}",
    # read escalation findings: a second and a third layer
    "T-TOP": "subject: organisation\nescalate: {rules: [ZZ-ESC-01, T-PERSON, T-MEMBERS], count: people,"
    " raise_share: 1/3}",
    "T-TOP-PERSON": "subject: person\nroles: [deputy_secretary, member]\n"
    "escalate: {rules: [T-TOP, ZZ-ESC-01, ZZ-YG-01, ZZ-YG-02], count: portfolios, raise_at: 1}",
}


class Rules:
    """The rules with the test escalations, compiled (a short repr: hypothesis prints its arguments)."""

    def __init__(self, root: Path) -> None:
        self.compiled = compile_rules(load_rules(RULES, root))
        self.escalations = {r.rule.id for r in self.compiled.rules if r.rule.escalate is not None}

    def __repr__(self) -> str:
        return f"Rules({sorted(self.escalations)})"

    def check(self, roster: dict[str, Any], records: list[dict[str, Any]], period: str, as_of: str, most: int) -> Any:
        """Evaluate, and compare every escalation finding with the oracle's; the report, for more checks."""
        report = evaluate(self.compiled, roster, records, period=period, as_of=as_of, max_evidence=most)
        got = {}
        for f in report.findings:
            if f.rule_id in self.escalations:
                key = (f.organisation.id, f.rule_id, f.subject.id)
                assert key not in got, key
                got[key] = (f.status.value, f.count, f.evidence)
        expected = reference_escalations(
            self.compiled, Roster.model_validate(roster), report.findings, parse_period(period), most
        )
        wrong = {key: {"pipeline": got.get(key), "oracle": expected.get(key)} for key in got.keys() | expected.keys()}
        assert not {key: both for key, both in wrong.items() if both["pipeline"] != both["oracle"]}
        return report


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Rules:
    root = tmp_path_factory.mktemp("escalations") / "pack"
    root.mkdir()
    (root / "pack.yaml").write_text(MANIFEST, encoding="utf-8")
    text = "rules:\n"
    for rule_id, body in ESCALATIONS.items():
        text += HEAD.format(id=rule_id) + textwrap.indent(body + "\n", "    ")
    (root / "rules.yaml").write_text(text, encoding="utf-8")
    return Rules(root)


EXAMPLES = int(os.environ.get("DIFF_EXAMPLES", "200")) // 2


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(scenario(), st.sampled_from([1, 2, 20]))
@pytest.mark.slow
def test_escalations_agree_with_a_plain_count_of_the_lower_findings(
    rules: Rules, case: dict[str, Any], max_evidence: int
) -> None:
    rules.check(case["roster"], case["records"], case["period"], case["as_of"], max_evidence)


def test_the_scenarios_raise_escalations_of_every_kind(rules: Rules) -> None:
    """What the test above is about is reached (a fixed case): raised escalations of each rule, evidence
    longer than one, and the secretary's findings shown after the team's."""
    roster = {
        "organisations": [{"id": "o0", "name": "组织0", "kind": "township"}],
        "people": [
            {"id": pid, "name": pid, "posts": [{"org": "o0", "role": role, "portfolios": areas, "start": "2020-01-01"}]}
            for pid, role, areas in [
                ("s", "secretary", []),
                ("d", "deputy_secretary", ["政法"]),
                ("m1", "member", ["宣传思想", "组织人事"]),
                ("m2", "member", ["政法"]),
            ]
        ],
    }
    report = rules.check(roster, [], "2024", "2025-01-15", 50)
    raised = {f.rule_id for f in report.findings if f.status.value == "violated" and f.rule_id.startswith("T-")}
    assert raised == set(ESCALATIONS)
    members = next(f for f in report.findings if f.rule_id == "T-MEMBERS")
    team, secretary = members.evidence[: members.count], members.evidence[members.count :]
    assert len(team) == members.count > 1 and all(e.split("/")[1] in ("m1", "m2") for e in team)
    assert secretary and all(e.split("/")[1] == "s" for e in secretary)
