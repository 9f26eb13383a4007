"""Local overlays, rule versions by effective date, and waivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules_engine import RulesError, Status, evaluate, lint, load_rules

from .conftest import RULE_HEAD, rec
from .test_evaluate import ORG_RULE, find, one

OVERLAY = """\
format: rules-engine/v1
pack:
  id: local-2024
  version: 2.1.0
  title: {zh: 某市实施细则, en: a city's implementing rules}
  regulation: {id: local, document: 《某市实施细则》}
  effective: {from: 2024-01-01}
overlay:
  extends: test-pack
  organisations: [city]
  params:
    ORG-1: {at_least: 2}
  retire: [ORG-2]
"""


@pytest.fixture
def province(township) -> dict:
    township["organisations"] = [
        {"id": "city", "name": "某市委", "kind": "local_committee"},
        {"id": "t1", "name": "甲镇党委", "kind": "township", "parent": "city"},
        {"id": "t2", "name": "乙镇党委", "kind": "township"},
    ]
    return township


def _packs(tmp_path: Path, make_pack, overlay: str = OVERLAY, extra_rules: str = "") -> list[Path]:
    base = make_pack(("ORG-1", ORG_RULE), ("ORG-2", ORG_RULE))
    local = tmp_path / "local"
    local.mkdir()
    (local / "pack.yaml").write_text(overlay, encoding="utf-8")
    if extra_rules:
        (local / "rules.yaml").write_text(extra_rules, encoding="utf-8")
    return [base, local]


def test_overlay_changes_parameters_and_retires_rules_only_in_its_scope(tmp_path, make_pack, province) -> None:
    rules = load_rules(*_packs(tmp_path, make_pack))
    records = [rec("r1", "meeting", "2024-03-01", org="t1"), rec("r2", "meeting", "2024-03-01", org="t2")]
    report = evaluate(rules, province, records, period="2024-H1", as_of="2025-01-01")
    inside = one(report, "ORG-1", org="t1")
    assert inside.status is Status.violated  # the city's overlay asks for 2
    assert inside.params["at_least"] == {"value": 2, "set_by": "local-2024@2.1.0"}
    outside = one(report, "ORG-1", org="t2")
    assert outside.status is Status.fulfilled and outside.params["at_least"]["set_by"] == "test-pack@1.0.0"
    retired = one(report, "ORG-2", org="t1")
    assert retired.status is Status.not_applicable and "local-2024@2.1.0" in retired.reason.en
    assert one(report, "ORG-2", org="t2").status is Status.fulfilled
    # the caller's override still comes last
    report = evaluate(rules, province, records, period="2024-H1", as_of="2025-01-01", params={"ORG-1": {"at_least": 1}})
    assert one(report, "ORG-1", org="t1").params["at_least"] == {"value": 1, "set_by": "override"}


def test_overlay_adds_rules_for_its_organisations(tmp_path, make_pack, province) -> None:
    extra = "rules:\n" + RULE_HEAD.format(id="LOCAL-1") + "    " + ORG_RULE.replace("\n", "\n    ")
    rules = load_rules(*_packs(tmp_path, make_pack, extra_rules=extra))
    report = evaluate(rules, province, [], period="2024-H1", as_of="2025-01-01")
    judged = [f.organisation.id for f in find(report, "LOCAL-1") if f.status is not Status.not_applicable]
    assert judged == ["t1"]  # inside the overlay's scope only (the city itself is not a covered kind)
    assert "t2" not in [f.organisation.id for f in find(report, "LOCAL-1")]


def test_overlay_mistakes_are_refused_with_hints(tmp_path, make_pack) -> None:
    bad = OVERLAY.replace("extends: test-pack", "extends: test-pak").replace("retire: [ORG-2]", "retire: [ORG-3]")
    problems = lint(*_packs(tmp_path, make_pack, overlay=bad))
    assert any(p.code == "overlay.unknown_base" and "test-pack" in p.hint for p in problems)
    ok_base = OVERLAY.replace("retire: [ORG-2]", "retire: [ORG-3]")
    problems = lint(*_packs(tmp_path / "b", make_pack, overlay=ok_base)) if (tmp_path / "b").mkdir() is None else []
    assert any(p.code == "overlay.unknown_rule" and "ORG-2" in p.hint for p in problems)


def test_a_rule_changed_mid_period_is_judged_per_version(make_pack, township) -> None:
    v1 = ORG_RULE + "effective: {from: 2020-01-01, to: 2024-06-30}\n"
    v2 = ORG_RULE.replace("half_year", "quarter") + "effective: {from: 2024-07-01}\n"
    rules = load_rules(make_pack(("ORG-1", v1), ("ORG-1", v2)))
    records = [rec("r1", "meeting", "2024-03-01"), rec("r2", "meeting", "2024-08-01")]
    report = evaluate(rules, township, records, period="2024", as_of="2025-01-01")
    got = {(f.period.label, f.status.value) for f in find(report, "ORG-1")}
    assert got == {
        ("2024-H1", "fulfilled"),
        ("2024-H2", "not_applicable"),
        ("2024-Q1", "not_applicable"),
        ("2024-Q2", "not_applicable"),
        ("2024-Q3", "fulfilled"),
        ("2024-Q4", "violated"),
    }
    with pytest.raises(RulesError, match="duplicate rule id"):
        load_rules(make_pack(("ORG-1", v1), ("ORG-1", ORG_RULE + "effective: {from: 2024-06-01}\n")))


WAIVERS = """\
waivers:
  - id: W-1
    rule: ORG-1
    org: t1
    from: 2024-07-01
    to: 2024-12-31
    justification: 该镇下半年整建制合并，经批准豁免
    approved_by: 县委组织部
    expires: 2025-06-30
  - id: W-2
    rule: ORG-1
    org: t1
    from: 2024-01-01
    to: 2024-06-30
    justification: 已过期的豁免
    approved_by: 县委组织部
    expires: 2024-12-31
"""


def test_waivers_valid_and_expired(tmp_path, make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS, encoding="utf-8")
    report = evaluate(rules, township, [], period="2024", as_of="2025-01-15", waivers=[path])
    h2 = one(report, "ORG-1", period="2024-H2")
    assert h2.status is Status.waived and h2.waiver is not None
    assert h2.waiver.status_without_waiver is Status.violated and "整建制合并" in h2.reason.zh
    h1 = one(report, "ORG-1", period="2024-H1")
    assert h1.status is Status.violated  # the waiver expired on 2024-12-31
    assert h1.waiver is not None and h1.waiver.expired and h1.waiver.id == "W-2"
    assert report.summary["waived"] == 1
    assert report.receipt.waivers[0]["sha256"]


def test_waiver_file_mistakes_are_located(tmp_path, make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    path = tmp_path / "waivers.yaml"
    path.write_text(
        WAIVERS.replace(
            "rule: ORG-1\n    org: t1\n    from: 2024-07-01", "rule: ORG-9\n    org: t1\n    from: 2024-07-01"
        ),
        encoding="utf-8",
    )
    with pytest.raises(RulesError) as info:
        evaluate(rules, township, [], period="2024", as_of="2025-01-15", waivers=[path])
    (problem,) = info.value.problems
    assert problem.code == "waiver.unknown_rule" and problem.location.line == 3 and "ORG-1" in problem.hint


def test_nested_overlays_the_nearest_one_governs(tmp_path, make_pack, province) -> None:
    packs = _packs(tmp_path, make_pack)
    town = tmp_path / "town"
    town.mkdir()
    (town / "pack.yaml").write_text(
        OVERLAY.replace("local-2024", "town-2024")
        .replace("[city]", "[t1]")
        .replace("at_least: 2", "at_least: 3")
        .replace("  retire: [ORG-2]\n", ""),
        encoding="utf-8",
    )
    rules = load_rules(*packs, town)
    records = [rec(f"r{i}", "meeting", "2024-03-0" + str(i + 1), org="t1") for i in range(3)]
    report = evaluate(rules, province, records, period="2024-H1", as_of="2025-01-01")
    (finding,) = find(report, "ORG-1", org="t1")  # one finding, not one per overlay
    assert finding.status is Status.fulfilled and finding.params["at_least"]["set_by"] == "town-2024@2.1.0"
    assert one(report, "ORG-1", org="city").params["at_least"]["set_by"] == "local-2024@2.1.0"


def test_overlay_parameters_are_checked_when_linting(tmp_path, make_pack) -> None:
    bad = OVERLAY.replace("ORG-1: {at_least: 2}", "ORG-1: {at_least: 2, within_days: 5}")
    problems = lint(*_packs(tmp_path, make_pack, overlay=bad))
    assert any(p.code == "overlay.invalid_params" and "within_days" in p.message_en for p in problems)


def test_a_waiver_that_matches_nothing_is_reported(tmp_path, make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS.replace("org: t1\n    from: 2024-07-01", "org: t9\n    from: 2024-07-01"), encoding="utf-8")
    report = evaluate(rules, township, [], period="2024", as_of="2025-01-15", waivers=[path])
    (warning,) = [w for w in report.input.warnings if w.record_id == "W-1"]
    assert "matched no finding" in warning.reason.en and warning.line == 2


def test_explain_lists_every_version(make_pack, capsys) -> None:
    from rules_engine.cli import main

    v1 = ORG_RULE + "effective: {from: 2020-01-01, to: 2024-06-30}\n"
    v2 = ORG_RULE.replace("half_year", "quarter") + "effective: {from: 2024-07-01}\n"
    root = make_pack(("ORG-1", v1), ("ORG-1", v2))
    assert main(["explain", "ORG-1", "--rules", str(root)]) == 0
    out = capsys.readouterr().out
    assert "2020-01-01..2024-06-30" in out and '2024-07-01..: period = "quarter"' in out
