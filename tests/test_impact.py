"""The impact of a rule change (rules_engine.impact, rules-engine impact), checked against two evaluations
compared here, independently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rules_engine import Finding, Report, evaluate, impact, load_rules
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES

WAIVERS = str(EXAMPLE / "waivers.yaml")
INPUTS = [str(EXAMPLE / "roster.yaml"), str(EXAMPLE / "records.jsonl"), "--waivers", WAIVERS]
COMMON = ["--period", "2024", "--as-of", "2025-01-15"]


def _evaluate(rules: Any = RULES, params: dict[str, dict[str, Any]] | None = None) -> Report:
    return evaluate(
        load_rules(rules) if not isinstance(rules, list) else load_rules(*rules),
        EXAMPLE / "roster.yaml",
        EXAMPLE / "records.jsonl",
        period="2024",
        as_of="2025-01-15",
        params=params,
        waivers=[WAIVERS],
    )


def _key(f: Finding) -> tuple[str, ...]:
    s = f.subject
    second = s.second.id if s.second else ""
    return (f.rule_id, s.kind, s.id, s.portfolio or "", second, s.record or "", f.organisation.id, f.window.start)


def _flips(a: Report, b: Report) -> set[tuple[str, str, str, str | None, str | None]]:
    """(rule, organisation, window, old status, new status) of every finding whose status differs."""
    old, new = {_key(f): f for f in a.findings}, {_key(f): f for f in b.findings}
    out = set()
    for key in old.keys() | new.keys():
        x, y = old.get(key), new.get(key)
        sx, sy = (x.status.value if x else None), (y.status.value if y else None)
        if sx != sy:
            one = y or x
            assert one is not None
            out.add((one.rule_id, one.organisation.id, one.window.label, sx, sy))
    return out


@pytest.fixture(scope="module")
def at_two() -> Report:
    return _evaluate(params={"ZZ-DW-01": {"at_least": 2}})


@pytest.fixture(scope="module")
def at_three() -> Report:
    return _evaluate(params={"ZZ-DW-01": {"at_least": 3}})


def test_at_least_2_to_3_lists_exactly_the_organisations_whose_finding_flips(
    at_two: Report, at_three: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = _flips(at_two, at_three)
    orgs = {org for _, org, *_ in expected}
    assert expected and {rule for rule, *_ in expected} == {"ZZ-DW-01"}
    assert orgs < {f.organisation.id for f in at_three.findings}  # some organisations, not all
    args = ["impact", *INPUTS, "--old", str(RULES), "--new", str(RULES), *COMMON]
    assert (
        main([*args, "--params-old", "ZZ-DW-01.at_least=2", "--params-new", "ZZ-DW-01.at_least=3", "--format", "json"])
        == 1
    )
    got = json.loads(capsys.readouterr().out)
    listed = {
        (
            f["rule_id"],
            f["organisation_id"],
            f["window"],
            f["old"] and f["old"]["status"],
            f["new"] and f["new"]["status"],
        )
        for f in got["flips"]
    }
    assert listed == expected and got["total"] == len(expected) == len(got["flips"])
    assert set(got["by_rule"]["ZZ-DW-01"]["organisations"]) == orgs
    assert got["by_rule"]["ZZ-DW-01"]["total"] == len(expected)
    assert sum(got["transitions"].values()) == len(expected)
    # --param is the new side; --allow makes it pass
    assert main([*args, "--params-old", "ZZ-DW-01.at_least=2", "--param", "ZZ-DW-01.at_least=3", "--allow"]) == 0
    text = capsys.readouterr().out
    assert f"结论翻转 findings that flip: {len(expected)}" in text
    assert f"ZZ-DW-01: {len(expected)}\n" in text
    for org in orgs:
        assert f"[{org}]: {sum(1 for _, o, *_ in expected if o == org)}\n" in text


def test_nothing_flips_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["impact", *INPUTS, "--old", str(RULES), "--new", str(RULES), *COMMON]) == 0
    assert "结论翻转 findings that flip: 0" in capsys.readouterr().out


def test_a_pack_added_flips_its_findings_present_on_one_side_only() -> None:
    old = [str(RULES / "zhuti-zeren-2020")]
    new = [*old, str(RULES / "zhibu-gongzuo-2018")]
    result = impact(
        load_rules(*old),
        load_rules(*new),
        EXAMPLE / "roster.yaml",
        [str(EXAMPLE / "records.jsonl")],
        period="2024",
        as_of="2025-01-15",
    )
    added = {r.rule.id for r in load_rules(*new).rules} - {r.rule.id for r in load_rules(*old).rules}
    assert result.flips and {f.rule_id for f in result.flips} == added
    assert all(f.old is None and f.new is not None for f in result.flips)
    assert result.exit_code() == 1 and result.exit_code(allow=True) == 0
    assert sum(sum(orgs.values()) for orgs in result.by_rule().values()) == len(result.flips)


def test_impact_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["impact", *INPUTS, "--old", str(RULES), "--new", str(RULES), "--period", "2024"]
    assert main([*args, "--as-of", "2025-13-01"]) == 2
    assert "--as-of 日期无效 invalid date" in capsys.readouterr().err
    assert main([*args, "--param", "nonsense"]) == 2
    assert "--param 应为 RULE.NAME=VALUE" in capsys.readouterr().err
    assert main(["impact", *INPUTS, "--old", str(tmp_path / "none"), "--new", str(RULES), "--period", "2024"]) == 2
