"""三实三弱 diagnostics on the bundled county example: the three gaps with counts checked by an independent
count, Wilson and Newcombe intervals against published values, per-organisation gaps, group overrides,
and the change of each gap against an earlier report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rules_engine import InputError, Report, diagnose, evaluate, load_rules
from rules_engine.cli import main
from rules_engine.diagnose import newcombe, wilson

from .conftest import EXAMPLE, RULES

ROSTER = EXAMPLE / "roster.yaml"
RECORDS = EXAMPLE / "records.jsonl"
WAIVERS = EXAMPLE / "waivers.yaml"


@pytest.fixture(scope="module")
def report() -> Report:
    return evaluate(load_rules(RULES), ROSTER, RECORDS, period="2024", as_of="2025-01-15", waivers=[WAIVERS])


@pytest.fixture(scope="module")
def earlier() -> Report:
    return evaluate(load_rules(RULES), ROSTER, RECORDS, period="2024", as_of="2024-12-01", waivers=[WAIVERS])


def _count(findings) -> tuple[int, int, dict[str, int]]:  # type: ignore[no-untyped-def]
    """fulfilled, fulfilled + violated, and the other statuses, counted by hand."""
    ok = sum(1 for f in findings if f.status.value == "fulfilled")
    bad = sum(1 for f in findings if f.status.value == "violated")
    other: dict[str, int] = {}
    for f in findings:
        if f.status.value not in ("fulfilled", "violated"):
            other[f.status.value] = other.get(f.status.value, 0) + 1
    return ok, ok + bad, other


def test_the_three_gaps_match_an_independent_count(report: Report) -> None:
    roster = yaml.safe_load(ROSTER.read_text(encoding="utf-8"))
    parents = {o["id"]: o["parent"] for o in roster["organisations"]}
    kinds = {o["id"]: o["kind"] for o in roster["organisations"]}
    assert [o for o, p in parents.items() if p is None] == ["county"]  # one root: the county
    # escalations (ZZ-ESC-*) are consequences of other findings, not duties
    duties = [f for f in report.findings if not f.rule_id.startswith("ZZ-ESC-")]
    result = diagnose(report, ROSTER)
    assert result.apart["escalation"] == len(report.findings) - len(duties)

    def check(rate, findings) -> None:  # type: ignore[no-untyped-def]
        ok, n, other = _count(findings)
        assert (rate.fulfilled, rate.n) == (ok, n)
        assert {k: v for k, v in rate.excluded.items() if v} == other
        assert rate.rate == round(ok / n, 4)
        assert (rate.low, rate.high) == tuple(round(x, 4) for x in wilson(ok, n))  # type: ignore[union-attr]

    levels = result.gap("levels")
    upper = [f for f in duties if parents[f.organisation.id] is None]
    lower = [f for f in duties if parents[f.organisation.id] is not None]
    check(levels.first, upper)
    check(levels.second, lower)
    localities = result.gap("localities")
    check(localities.first, [f for f in duties if kinds[f.organisation.id] in ("local_committee", "township")])
    check(localities.second, [f for f in duties if kinds[f.organisation.id] == "party_group"])
    roles = result.gap("roles")
    people = [f for f in duties if f.subject.kind != "organisation" and f.subject.kind != "record"]
    check(roles.first, [f for f in people if f.subject.role == "secretary"])
    check(roles.second, [f for f in people if f.subject.role in ("deputy_secretary", "member")])
    assert result.apart["organisation_duty"] == len(duties) - len(people)
    for gap in result.gaps:
        ok1, n1, _ = (gap.first.fulfilled, gap.first.n, None)
        ok2, n2, _ = (gap.second.fulfilled, gap.second.n, None)
        assert gap.gap == round(ok1 / n1 - ok2 / n2, 4)
        assert gap.low is not None and gap.high is not None and gap.low <= gap.gap <= gap.high
    # the example's secretaries fulfil less than their teams (its deliberate gaps are mostly the secretaries')
    assert roles.gap is not None and roles.gap < 0
    # the undeterminable findings are out of every denominator and make the result incomplete
    assert levels.second.excluded["undeterminable"] == 2 and result.incomplete


def test_per_organisation_gaps_and_where_each_is_widest(report: Report) -> None:
    result = diagnose(report, ROSTER)
    roles = result.gap("roles")
    assert len(roles.by_organisation) == 8  # every organisation has a secretary and members
    for o in roles.by_organisation:
        mine = [
            f
            for f in report.findings
            if f.organisation.id == o.organisation
            and f.subject.kind in ("person", "portfolio", "pair")
            and not f.rule_id.startswith("ZZ-ESC-")
        ]
        ok1, n1, _ = _count([f for f in mine if f.subject.role == "secretary"])
        ok2, n2, _ = _count([f for f in mine if f.subject.role != "secretary"])
        assert (o.first.fulfilled, o.first.n, o.second.fulfilled, o.second.n) == (ok1, n1, ok2, n2)
        assert o.gap == round(ok1 / n1 - ok2 / n2, 4)
    gaps = [o.gap for o in roles.by_organisation]
    assert gaps == sorted(gaps, reverse=True)  # widest first
    assert roles.widest == roles.by_organisation[0]
    # the county is the only organisation with organisations below it: its own findings against theirs
    (county,) = result.gap("levels").by_organisation
    assert county.organisation == "county" and county.first == result.gap("levels").first


def test_wilson_and_newcombe_intervals_match_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872 (single proportion, method 3: Wilson score)
    for (x, n), (lo, hi) in {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
        (1, 29): (0.0061, 0.1718),
    }.items():
        assert tuple(round(v, 4) for v in wilson(x, n)) == (lo, hi)  # type: ignore[union-attr]
    # Newcombe (1998), Statistics in Medicine 17:873-890 (difference, method 10: hybrid score)
    for (a, m, b, n), (lo, hi) in {
        (56, 70, 48, 80): (0.0524, 0.3339),
        (9, 10, 3, 10): (0.1705, 0.8090),
        (6, 7, 2, 7): (0.0582, 0.8062),
        (5, 56, 0, 29): (-0.0381, 0.1926),
    }.items():
        assert tuple(round(v, 4) for v in newcombe(a, m, b, n)) == (lo, hi)  # type: ignore[union-attr]
    assert wilson(0, 0) is None and newcombe(1, 2, 0, 0) is None
    wide, narrow = wilson(81, 263, 0.99), wilson(81, 263, 0.90)
    assert wide is not None and narrow is not None and wide[0] < narrow[0] and wide[1] > narrow[1]
    with pytest.raises(InputError):
        wilson(3, 2)
    with pytest.raises(InputError):
        wilson(1, 2, 1.5)


def test_compare_gives_the_change_of_each_gap_and_it_changes_sign_when_swapped(report: Report, earlier: Report) -> None:
    forward = diagnose(report, ROSTER, compare=earlier)
    backward = diagnose(earlier, ROSTER, compare=report)
    assert forward.compared_with is not None and forward.compared_with.as_of == "2024-12-01"
    changed = 0
    for pair in ("levels", "localities", "roles"):
        f, b = forward.gap(pair), backward.gap(pair)
        assert f.previous == b.gap and b.previous == f.gap
        assert f.change == -b.change  # type: ignore[operator]
        assert f.change == pytest.approx(f.gap - f.previous, abs=1e-4)  # type: ignore[operator]
        changed += f.change != 0
    assert changed  # the two dates differ: some gap moved
    assert diagnose(report, ROSTER).gap("roles").change is None


def test_groups_are_declared_and_can_be_overridden(report: Report, tmp_path: Path) -> None:
    result = diagnose(report, ROSTER)
    assert result.groups["township"] == "locality" and result.groups["party_group"] == "department"
    moved = diagnose(report, ROSTER, groups={"乡镇党委": "department"})  # Chinese kind words too
    localities = moved.gap("localities")
    townships = [f for f in report.findings if f.organisation.kind == "township" and "at_least" in f.params]
    assert localities.second.n == result.gap("localities").second.n + _count(townships)[1]
    dropped = diagnose(report, ROSTER, groups={"party_group": "none"})
    assert dropped.gap("localities").second.n == 0 and dropped.gap("localities").gap is None
    assert dropped.apart["kind_in_no_group"] == result.gap("localities").second.n + sum(
        result.gap("localities").second.excluded.values()
    )
    with pytest.raises(InputError, match="unknown organisation kind"):
        diagnose(report, ROSTER, groups={"townshp": "locality"})
    with pytest.raises(InputError, match="locality, department or none"):
        diagnose(report, ROSTER, groups={"township": "rural"})


def test_findings_of_organisations_missing_from_the_roster_are_counted_apart(report: Report, tmp_path: Path) -> None:
    roster = yaml.safe_load(ROSTER.read_text(encoding="utf-8"))
    roster["organisations"] = [o for o in roster["organisations"] if o["id"] != "twn-liuhe"]
    roster["people"] = [p for p in roster["people"] if all(post["org"] != "twn-liuhe" for post in p["posts"])]
    path = tmp_path / "roster.yaml"
    path.write_text(yaml.safe_dump(roster, allow_unicode=True), encoding="utf-8")
    result = diagnose(report, path)
    liuhe = [f for f in report.findings if f.organisation.id == "twn-liuhe" and "at_least" in f.params]
    assert result.apart["not_in_roster"] == len(liuhe)
    assert any("twn-liuhe" in n.zh for n in result.incomplete)


def test_diagnose_command(report: Report, earlier: Report, tmp_path: Path, capsys) -> None:
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    new.write_text(report.model_dump_json(), encoding="utf-8")
    old.write_text(earlier.model_dump_json(), encoding="utf-8")
    assert main(["diagnose", str(new), "--roster", str(ROSTER)]) == 4  # undeterminable findings: incomplete
    out = capsys.readouterr().out
    assert "三实三弱诊断" in out and "书记实、班子成员弱" in out and "最大处 widest in" in out
    args = ["diagnose", str(new), "--roster", str(ROSTER), "--compare", str(old), "--format", "json"]
    assert main(args) == 4
    data = json.loads(capsys.readouterr().out)
    assert data["compared_with"]["as_of"] == "2024-12-01"
    assert all(g["change"] is not None for g in data["gaps"])
    assert main([*args, "--group", "party_group=locality"]) == 4
    data = json.loads(capsys.readouterr().out)
    assert data["groups"]["party_group"] == "locality"
    assert main(["diagnose", str(new), "--roster", str(ROSTER), "--group", "township"]) == 2
    assert "KIND=GROUP" in capsys.readouterr().err
    assert main(["diagnose", str(tmp_path / "none.json"), "--roster", str(ROSTER)]) == 2
    assert "report file not found" in capsys.readouterr().err
    assert main(["diagnose", str(new), "--roster", str(ROSTER), "--compare", str(ROSTER)]) == 2
    assert "not a whole JSON report" in capsys.readouterr().err
    assert main(["diagnose", str(new), "--roster", str(tmp_path / "nope.yaml")]) == 2
