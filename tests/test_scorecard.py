"""Scorecards (考核评分) on the bundled county example: scores with their breakdown, ranking within each kind,
the status rules (neutral, apart, pending), caps, located errors in scoring files, and the command."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_engine import Report, RulesError, Scoring, evaluate, load_rules, load_scoring, score
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES

ROSTER = EXAMPLE / "roster.yaml"
RECORDS = EXAMPLE / "records.jsonl"
WAIVERS = EXAMPLE / "waivers.yaml"
SCORING = EXAMPLE / "scoring.yaml"
TOWNSHIPS = {"twn-chengguan", "twn-qingshan", "twn-liuhe", "twn-shiqiao"}


@pytest.fixture(scope="module")
def report() -> Report:
    return evaluate(load_rules(RULES), ROSTER, RECORDS, period="2024", as_of="2025-01-15", waivers=[WAIVERS])


@pytest.fixture(scope="module")
def report_file(report: Report, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("score") / "report.json"
    path.write_text(report.model_dump_json(), encoding="utf-8")
    return path


def _expected(findings, raw: dict) -> Fraction | None:  # type: ignore[no-untyped-def]
    """The score counted independently from the scoring file's text: weights by rule, else severity, else
    default; fulfilled earns the weight, violated nothing, other statuses nothing either way; caps scale."""
    weights = raw.get("weights", {})
    caps = raw.get("caps", {})
    possible: dict[str, Fraction] = defaultdict(Fraction)
    earned: dict[str, Fraction] = defaultdict(Fraction)
    for f in findings:
        if f.status.value not in ("fulfilled", "violated"):
            continue
        w = Fraction(weights.get("rules", {}).get(f.rule_id, weights.get("severity", {}).get(f.severity, 1)))
        possible[f.rule_id] += w
        if f.status.value == "fulfilled":
            earned[f.rule_id] += w
    total_possible = total_earned = Fraction(0)
    for rule, p in possible.items():
        e = earned[rule]
        if rule in caps and p > caps[rule]:
            e, p = e * Fraction(caps[rule]) / p, Fraction(caps[rule])
        total_possible += p
        total_earned += e
    return 100 * total_earned / total_possible if total_possible else None


def test_score_ranks_the_townships_by_the_score_counted_from_the_findings(report: Report) -> None:
    raw = yaml.safe_load(SCORING.read_text(encoding="utf-8"))
    result = score(report, SCORING)
    townships = [c for c in result.organisations if c.organisation_kind == "township"]
    assert {c.id for c in townships} == TOWNSHIPS
    expected = {c.id: _expected([f for f in report.findings if f.organisation.id == c.id], raw) for c in townships}
    for card in townships:
        assert card.score == round(float(expected[card.id]), 2)  # type: ignore[arg-type]
    # ranked within the kind, best first, every township with its own rank
    assert [c.id for c in townships] == sorted(expected, key=lambda o: -expected[o])  # type: ignore[operator]
    assert [c.rank for c in townships] == [1, 2, 3, 4]
    assert all(c.ranked == 4 for c in townships)
    # each kind is ranked on its own: the party groups have their own 1..3
    groups = [c for c in result.organisations if c.organisation_kind == "party_group"]
    assert sorted(c.rank for c in groups) == [1, 2, 3]
    # the breakdown adds up to the score
    for card in townships:
        assert sum(r.possible for r in card.rules) == pytest.approx(card.possible)
        assert sum(r.earned for r in card.rules) == pytest.approx(card.earned)
        assert card.score == pytest.approx(100 * card.earned / card.possible, abs=0.01)
    assert result.scoring.example is True and "不是正式" in result.scoring.notes[0].zh


def test_person_scores_count_the_duties_they_bear_in_each_organisation(report: Report) -> None:
    raw = yaml.safe_load(SCORING.read_text(encoding="utf-8"))
    result = score(report, SCORING)
    # p043 served in 青山镇 until June and on the county committee from July: a score in each
    p043 = {c.organisation: c for c in result.people if c.id == "p043"}
    assert set(p043) == {"twn-qingshan", "county"}
    for org, card in p043.items():
        mine = [
            f
            for f in report.findings
            if f.organisation.id == org and f.subject.kind in ("person", "portfolio", "pair") and f.subject.id == "p043"
        ]
        assert sum(card.counts.values()) == len(mine)
        assert card.score == round(float(_expected(mine, raw)), 2)  # type: ignore[arg-type]
    # people are ranked within their organisation kind and role; equal scores share a rank
    secretaries = [c for c in result.people if c.group == "township/secretary"]
    assert secretaries and all(c.role == "secretary" for c in secretaries)
    ranks = [c.rank for c in secretaries if c.rank is not None]
    assert ranks == sorted(ranks) and ranks[0] == 1
    for a, b in itertools.pairwise(secretaries):
        if a.score == b.score:
            assert a.rank == b.rank


def test_a_person_card_carries_the_name_and_role_of_their_latest_post(report: Report) -> None:
    # a member promoted in the period: the findings of the later post (a later window) name the new role
    mine = [f for f in report.findings if f.subject.kind == "person" and f.subject.id == "p043"]
    mine = [f for f in mine if f.organisation.id == "twn-qingshan"]
    latest = max(mine, key=lambda f: (f.window.end, f.window.start))
    assert latest is not mine[0] and latest is not mine[-1]  # neither first nor last in the report's order
    promoted = latest.model_copy(
        update={"subject": latest.subject.model_copy(update={"role": "deputy_secretary", "name": "新名 renamed"})}
    )
    findings = [promoted if f is latest else f for f in report.findings]
    card = next(
        c
        for c in score(report.model_copy(update={"findings": findings}), SCORING).people
        if c.id == "p043" and c.organisation == "twn-qingshan"
    )
    assert (card.role, card.name) == ("deputy_secretary", "新名 renamed")
    assert card.group == "township/deputy_secretary"


def test_neutral_and_apart_statuses_are_never_counted_as_fulfilled(report: Report) -> None:
    result = score(report, Scoring())
    cards = {c.id: c for c in result.organisations}
    for org_id, card in cards.items():
        mine = [f for f in report.findings if f.organisation.id == org_id]
        fulfilled = sum(f.status.value == "fulfilled" for f in mine)
        violated = sum(f.status.value == "violated" for f in mine)
        # weight 1 each: earned is the fulfilled count, possible fulfilled + violated, nothing else
        assert (card.earned, card.possible) == (fulfilled, fulfilled + violated)
    # 石桥镇 has two undeterminable findings: shown apart, the score marked incomplete
    shiqiao = cards["twn-shiqiao"]
    assert shiqiao.undeterminable == 2 and not shiqiao.complete
    assert any("无法判定" in n.zh for n in result.incomplete)
    # 青山镇's waived finding (SZPY-01, p051) and its not-applicable ones are neutral
    qingshan = cards["twn-qingshan"]
    assert qingshan.counts.get("waived") == 1 and qingshan.counts.get("not_applicable", 0) > 0
    # pending is neutral by default; a credit makes it count (教育局 has the pending ZZ-DC-01)
    edu = cards["edu-pg"]
    assert edu.counts.get("pending") == 1
    strict = {c.id: c for c in score(report, Scoring.model_validate({"statuses": {"pending": 0}})).organisations}
    assert strict["edu-pg"].possible == edu.possible + 1 and strict["edu-pg"].earned == edu.earned


def test_a_cap_limits_what_one_rule_adds_to_a_score(report: Report) -> None:
    free = score(report, Scoring())
    capped = score(report, Scoring.model_validate({"caps": {"ZZ-08-06": 3}}))
    before = next(r for c in free.organisations if c.id == "county" for r in c.rules if r.rule_id == "ZZ-08-06")
    after = next(r for c in capped.organisations if c.id == "county" for r in c.rules if r.rule_id == "ZZ-08-06")
    assert before.possible > 3 and not before.capped
    assert after.capped and after.possible == 3
    assert after.earned == pytest.approx(3 * before.earned / before.possible, abs=1e-4)


def test_weights_by_rule_then_severity_then_default(report: Report) -> None:
    scoring = Scoring.model_validate({"weights": {"default": 7, "severity": {"high": 3}, "rules": {"ZZ-08-01": 5}}})
    county = next(c for c in score(report, scoring).organisations if c.id == "county")
    weights = {r.rule_id: r.weight for r in county.rules}
    assert weights["ZZ-08-01"] == 5  # the rule's weight, though high
    assert weights["ZZ-DW-01"] == 3  # high
    assert weights["SH-01"] == 7  # medium: not listed, the default


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scoring.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_scoring_file_is_refused_with_file_line_column_and_a_hint(tmp_path: Path, report: Report) -> None:
    path = _write(
        tmp_path,
        "weights:\n  severity: {hihg: 2}\nstatuses:\n  waived: 1\n  undeterminable: 1\ncapz: {SH-01: 2}\n",
    )
    with pytest.raises(RulesError) as caught:
        load_scoring(path)
    found = {(p.location.line, p.location.column, p.code): p for p in caught.value.problems}
    assert all(p.location.file == str(path) for p in found.values())
    assert "did you mean 'high'" in found[(2, 14, "scoring.invalid.enum")].hint
    assert "neutral" in found[(4, 3, "scoring.invalid.literal_error")].hint  # waived is always neutral
    assert "apart" in found[(5, 3, "scoring.invalid.literal_error")].hint  # undeterminable is never scored
    assert "did you mean 'caps'" in found[(6, 1, "scoring.unknown_key")].hint
    # a rule the report's packs do not have: refused where it is written, with the rule it may mean
    path = _write(tmp_path, "weights:\n  rules:\n    ZZ-08-1: 3\n")
    with pytest.raises(RulesError) as caught:
        score(report, path)
    (problem,) = caught.value.problems
    assert (problem.code, problem.location.line, problem.location.column) == ("scoring.unknown_rule", 3, 5)
    assert "did you mean 'ZZ-08-01'" in problem.hint
    # fulfilled must earn more than violated
    with pytest.raises(RulesError, match="fulfilled must earn more than violated"):
        load_scoring(_write(tmp_path, "statuses: {fulfilled: 0.5, violated: 0.5}\n"))
    with pytest.raises(RulesError, match="cannot be negative"):
        load_scoring(_write(tmp_path, "weights: {rules: {SH-01: -1}}\n"))


def test_the_scoring_schema_accepts_the_sample_and_refuses_what_the_loader_refuses(capsys) -> None:
    assert main(["schema", "--kind", "scoring"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"].startswith("rules-engine scoring file")
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(yaml.safe_load(SCORING.read_text(encoding="utf-8")))
    assert not validator.is_valid({"statuses": {"waived": 1}})
    assert not validator.is_valid({"capz": {}})
    assert not validator.is_valid({"weights": {"severity": {"hihg": 1}}})


def test_score_command(report_file: Path, tmp_path: Path, capsys) -> None:
    assert main(["score", str(report_file), "--scoring", str(SCORING)]) == 4  # undeterminable findings: incomplete
    out = capsys.readouterr().out
    assert "考核评分 scorecard" in out and "名次 rank" in out and "示例权重" in out and "乡镇党委 township" in out
    target = tmp_path / "score.json"
    assert main(["score", str(report_file), "--scoring", str(SCORING), "--format", "json", "-o", str(target)]) == 4
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["format"] == "rules-engine/score/v1"
    assert {c["id"] for c in data["organisations"] if c["organisation_kind"] == "township"} == TOWNSHIPS
    first = target.read_bytes()
    assert main(["score", str(report_file), "--scoring", str(SCORING), "--format", "json", "-o", str(target)]) == 4
    assert target.read_bytes() == first  # same inputs, same bytes


def test_score_refuses_a_missing_report_or_one_that_is_not_a_report(tmp_path: Path, capsys) -> None:
    assert main(["score", str(tmp_path / "missing.json"), "--scoring", str(SCORING)]) == 2
    assert "找不到报告文件 report file not found" in capsys.readouterr().err
    assert main(["score", str(ROSTER), "--scoring", str(SCORING)]) == 2
    assert "不是完整的 JSON 报告 not a whole JSON report" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"format": "something else"}', encoding="utf-8")
    assert main(["score", str(other), "--scoring", str(SCORING)]) == 2
    assert "不是规则引擎报告 not a rules-engine report" in capsys.readouterr().err


@pytest.mark.slow
def test_score_and_diagnose_read_the_report_evaluate_writes_by_default_as_its_v1_layout(tmp_path: Path) -> None:
    # `evaluate --format json` writes the v2 layout unless told otherwise: the commands that read a report take it
    reports = {}
    for layout in ("default", "v1"):
        reports[layout] = tmp_path / f"{layout}.json"
        chosen = [] if layout == "default" else ["--report-format", "v1"]
        args = [str(EXAMPLE), "--period", "2024", "--as-of", "2025-01-15", "--format", "json", *chosen]
        assert main(["evaluate", *args, "-o", str(reports[layout])]) == 1
    assert json.loads(reports["default"].read_bytes())["format"] == "rules-engine/report/v2"
    outputs = {}
    for layout, path in reports.items():
        outputs[layout] = [tmp_path / f"{layout}-score.json", tmp_path / f"{layout}-diagnosis.json"]
        score_args = ["score", str(path), "--scoring", str(SCORING), "--format", "json", "-o", str(outputs[layout][0])]
        assert main(score_args) == 4
        diagnose = ["diagnose", str(path), "--roster", str(ROSTER), "--format", "json", "-o", str(outputs[layout][1])]
        assert main(diagnose) == 4
    for default, v1 in zip(outputs["default"], outputs["v1"], strict=True):
        assert default.read_bytes() == v1.read_bytes()
    assert json.loads(outputs["default"][0].read_bytes())["organisations"]


def test_score_command_prints_located_scoring_problems(report_file: Path, tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, "weights:\n  default: lots\n")
    assert main(["score", str(report_file), "--scoring", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:3:" in err and "must be a number" in err and "写作数字" in err
    assert "评分文件有 1 处问题 1 problem(s) in the scoring file" in err


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fractions(min_value=-1000, max_value=1000, max_denominator=10_000), max_size=40))
@pytest.mark.slow
def test_a_card_s_points_are_summed_exactly(values: list[Fraction]) -> None:
    """A card's points are summed over their common denominator at once: the exact sum, as added one by one
    (ties in the ranking are decided on it)."""
    from rules_engine.scorecard import _exact_sum

    assert _exact_sum(values) == sum(values, Fraction(0))
