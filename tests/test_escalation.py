"""Escalation: rules over findings, decided on durable_rules, cycles refused when loading."""

from __future__ import annotations

import json

from rules_engine import Status, evaluate, lint, load_rules

from .conftest import rec
from .test_evaluate import PORTFOLIO, SECRETARY_CHAIRS, find, one

ESC_PERSON = """\
subject: person
roles: [deputy_secretary, member]
escalate: {rules: [YG-1], count: portfolios, raise_at: 2}
params: {}
"""
ESC_ORG = """\
subject: organisation
escalate: {rules: [SEC-1, YG-1], count: people, roles: [deputy_secretary, member], with_secretary: true,
           raise_share: 1/2}
params: {}
"""


def _rules(make_pack):
    return load_rules(
        make_pack(("YG-1", PORTFOLIO), ("SEC-1", SECRETARY_CHAIRS), ("ESC-1", ESC_PERSON), ("ESC-2", ESC_ORG))
    )


def test_member_failing_in_two_areas_raises_an_escalation(make_pack, township) -> None:
    visits = [rec("v1", "visit", "2024-02-01", "d1", portfolio="组织人事")]
    report = evaluate(_rules(make_pack), township, visits, period="2024-H1", as_of="2025-01-01")
    m1 = one(report, "ESC-1", subject="m1")  # 宣传思想 and 政法 both violated
    assert m1.status is Status.violated and m1.count == 2
    assert sorted(m1.evidence) == ["YG-1/m1/宣传思想/2024-H1", "YG-1/m1/政法/2024-H1"]
    assert one(report, "ESC-1", subject="d1").status is Status.fulfilled
    assert one(report, "ESC-1", subject="m2").status is Status.fulfilled  # one area only


def test_committee_escalation_needs_the_secretary_and_half_the_team(make_pack, township) -> None:
    rules = _rules(make_pack)
    meeting = [rec("r1", "meeting", "2024-03-01", "s1")]
    report = evaluate(rules, township, meeting, period="2024-H1", as_of="2025-01-01")
    esc = one(report, "ESC-2")
    assert esc.status is Status.fulfilled and esc.count == 3  # team failed, but not the secretary
    report = evaluate(rules, township, [], period="2024-H1", as_of="2025-01-01")
    esc = one(report, "ESC-2")
    assert esc.status is Status.violated and "escalation raised" in esc.reason.en


def test_undecided_lower_findings_make_the_escalation_undeterminable_only_if_they_matter(
    make_pack, township, tmp_path
) -> None:
    path = tmp_path / "r.jsonl"
    rows = [
        rec("v1", "visit", "2024-13-01", "m1", portfolio="政法"),
        rec("v2", "visit", "2024-02-01", "d1", portfolio="组织人事"),
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    report = evaluate(_rules(make_pack), township, path, period="2024-H1", as_of="2025-01-01")
    # the bad row makes every H1 visit duty undeterminable ... (same org, same type, unknown date)
    assert one(report, "YG-1", subject="m1", portfolio="政法").status is Status.undeterminable
    # ... so whether m1 failed in two areas cannot be told
    assert one(report, "ESC-1", subject="m1").status is Status.undeterminable
    pending = evaluate(_rules(make_pack), township, [], period="2024-H1", as_of="2024-06-01")
    assert one(pending, "ESC-1", subject="m1").status is Status.pending


def test_escalation_cycles_and_unknown_rules_are_refused(make_pack) -> None:
    loop_a = ESC_PERSON.replace("rules: [YG-1]", "rules: [YG-1, ESC-B]")
    loop_b = ESC_PERSON.replace("rules: [YG-1]", "rules: [ESC-A]")
    problems = lint(make_pack(("YG-1", PORTFOLIO), ("ESC-A", loop_a), ("ESC-B", loop_b)))
    cycle = [p for p in problems if p.code == "rule.escalation_cycle"]
    assert cycle and "ESC-A" in cycle[0].message_en and "ESC-B" in cycle[0].message_en
    assert cycle[0].location.line > 0
    problems = lint(make_pack(("YG-1", PORTFOLIO), ("ESC-A", ESC_PERSON.replace("[YG-1]", "[YG-2]"))))
    assert any(p.code == "rule.unknown_rule" and "YG-1" in p.hint for p in problems)
    assert any(
        "reads its own findings" in p.message_en
        for p in lint(make_pack(("ESC-A", ESC_PERSON.replace("[YG-1]", "[ESC-A]"))))
    )


def test_escalation_of_escalations_runs_in_layers(make_pack, township) -> None:
    top = "subject: organisation\nescalate: {rules: [ESC-1], count: people, raise_at: 1}\nparams: {}\n"
    rules = load_rules(make_pack(("YG-1", PORTFOLIO), ("ESC-1", ESC_PERSON), ("TOP-1", top)))
    report = evaluate(rules, township, [], period="2024-H1", as_of="2025-01-01")
    assert one(report, "TOP-1").status is Status.violated
    assert [f.status for f in find(report, "ESC-1", subject="m1")] == [Status.violated]
