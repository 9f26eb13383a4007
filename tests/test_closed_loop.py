"""Duty lists (责任清单) and early warning (预警) on the bundled county example."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from rules_engine import InputError, Status, duties, evaluate, load_rules, upcoming
from rules_engine.cli import main
from rules_engine.upcoming import parse_within

from .conftest import EXAMPLE, RULES

ROSTER = EXAMPLE / "roster.yaml"
RECORDS = EXAMPLE / "records.jsonl"
WAIVERS = EXAMPLE / "waivers.yaml"


def _key(rule_id, org, subject, window_start, window_end):  # type: ignore[no-untyped-def]
    second = subject.second.id if subject.second else ""
    return (rule_id, org, subject.kind, subject.id, second, subject.portfolio or "", str(window_start), str(window_end))


def test_duty_list_is_exactly_the_obligations_evaluation_judges() -> None:
    ruleset = load_rules(RULES)
    listed = duties(ruleset, ROSTER, period="2024")
    report = evaluate(ruleset, ROSTER, RECORDS, period="2024", as_of="2025-01-15")
    # escalations are consequences, trigger rules start from records: neither is a planned duty
    derived = {r.rule.id for r in ruleset.rules if r.rule.escalate is not None or r.rule.trigger is not None}
    judged = {
        _key(f.rule_id, f.organisation.id, f.subject, f.window.start, f.window.end)
        for f in report.findings
        if f.status is not Status.not_applicable and f.rule_id not in derived
    }
    dated = [d for d in listed.duties if d.window is not None]
    assert len(dated) == len(judged)
    assert {_key(d.rule_id, d.organisation.id, d.subject, d.window.start, d.window.end) for d in dated} == judged
    assert listed.not_applicable == report.summary["not_applicable"]
    # each dated duty is due on its window's last day
    assert all(d.window is not None and d.due == d.window.end.isoformat() for d in dated)
    # the rule a record starts is listed once per organisation it governs, without a date
    triggered = [d for d in listed.duties if d.window is None]
    assert {d.rule_id for d in triggered} == {r.rule.id for r in ruleset.rules if r.rule.trigger is not None}
    assert all(d.due is None and d.note is not None for d in triggered)


def test_a_person_who_takes_office_mid_year_gets_only_the_duties_from_that_day() -> None:
    # p051 becomes secretary of 青山镇 on 2024-07-01; p043 held the post until 2024-06-30, then joins the
    # county committee; p067 joins 青山镇 on 2024-11-18 (44 days: too short for the yearly duties)
    listed = duties(RULES, ROSTER, period="2024")
    p051 = listed.for_person("p051")
    assert p051 and all(d.window is not None and d.window.start >= dt.date(2024, 7, 1) for d in p051)
    assert {d.window.label for d in p051 if d.rule_id == "SH-01" and d.window} == {"2024-Q3", "2024-Q4"}
    assert [(d.window.start.isoformat(), d.due) for d in p051 if d.rule_id == "ZZ-08-01" and d.window] == [
        ("2024-07-01", "2024-12-31")
    ]
    assert {d.subject.second.id for d in p051 if d.rule_id == "ZZ-08-06" and d.subject.second} == {
        "p044",
        "p045",
        "p046",
        "p047",
        "p048",
        "p049",
        "p050",
    }  # not p067: in post 44 days, fewer than the rule's 60
    p043 = listed.for_person("p043")
    township = [d for d in p043 if d.organisation.id == "twn-qingshan"]
    county = [d for d in p043 if d.organisation.id == "county"]
    assert township and all(d.window is not None and d.window.end <= dt.date(2024, 6, 30) for d in township)
    assert county and all(d.window is not None and d.window.start >= dt.date(2024, 7, 1) for d in county)
    p067 = listed.for_person("p067")
    assert {(d.rule_id, d.window.start.isoformat(), d.due) for d in p067 if d.window} == {
        ("SH-01", "2024-11-18", "2024-12-31"),
        ("ZZ-YG-01", "2024-11-18", "2024-12-31"),
    }
    # the API's person filter gives the same list
    assert duties(RULES, ROSTER, period="2024", person="p051").duties == p051


def test_who_shares_a_duty() -> None:
    listed = duties(RULES, ROSTER, period="2024", org="twn-qingshan")
    assert {d.organisation.id for d in listed.duties} == {"twn-qingshan"}
    h1, h2 = [d for d in listed.duties if d.rule_id == "ZZ-DW-01"]
    # the committee's duty is shared by the team in post in the window, the secretary first
    assert h1.shared_with[0].id == "p043" and "p051" not in {p.id for p in h1.shared_with}
    assert h2.shared_with[0].id == "p051" and {"p067"} <= {p.id for p in h2.shared_with}
    assert "p043" not in {p.id for p in h2.shared_with}
    pair = next(d for d in listed.duties if d.rule_id == "ZZ-08-06")
    assert pair.subject.second is not None and [p.id for p in pair.shared_with] == [pair.subject.second.id]
    own = next(d for d in listed.duties if d.rule_id == "JD-01")
    assert own.shared_with == []
    # a portfolio area two county members share: each lists the other
    county = duties(RULES, ROSTER, period="2024", org="county")
    economy = [d for d in county.duties if d.rule_id == "ZZ-YG-01" and d.subject.portfolio == "经济发展"]
    assert {
        (d.subject.id, tuple(p.id for p in d.shared_with)) for d in economy if d.period and d.period.label == "2024-H1"
    } == {
        ("p002", ("p009",)),
        ("p009", ("p002",)),
    }


def test_duties_refuses_unknown_ids_with_a_suggestion() -> None:
    with pytest.raises(InputError, match=r"名册中没有人员 no person .p05l.*did you mean"):
        duties(RULES, ROSTER, period="2024", person="p05l")
    with pytest.raises(InputError, match="twn-qingshan"):
        duties(RULES, ROSTER, period="2024", org="twn-qinshan")


def test_duties_command(capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["duties", str(EXAMPLE), "--period", "2024", "--rules", str(RULES), "--person", "p051"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == "rules-engine/duties/v1"
    assert data["duties"] == duties(RULES, ROSTER, period="2024", person="p051").model_dump(mode="json")["duties"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "责任清单 duty list" in table and "万正刚（p051）" in table and "2024-07-01..2024-09-30" in table
    assert "2024-01-01..2024-03-31" not in table
    assert main(["duties", str(ROSTER), "--period", "2024", "--rules", str(RULES), "--person", "nobody"]) == 2
    assert "名册中没有人员" in capsys.readouterr().err


def _plain(report, as_of: dt.date, days: int):  # type: ignore[no-untyped-def]
    """The warnings computed by hand from the report's findings."""
    out = []
    for f in report.findings:
        end = f.window.end
        if f.status is Status.pending and "at_least" in f.params and as_of <= end <= as_of + dt.timedelta(days=days):
            out.append(
                (_key(f.rule_id, f.organisation.id, f.subject, f.window.start, f.window.end), (end - as_of).days)
            )
    return out


def test_upcoming_in_december_lists_the_open_duties_with_days_left() -> None:
    report = evaluate(RULES, ROSTER, RECORDS, period="2024", as_of="2024-12-01", waivers=[WAIVERS])
    result = upcoming(report, within="30d")
    expected = _plain(report, dt.date(2024, 12, 1), 30)
    got = [
        (
            _key(u.finding.rule_id, u.finding.organisation.id, u.finding.subject, u.finding.window.start, u.due),
            u.days_left,
        )
        for u in result.items
    ]
    assert expected and sorted(got) == sorted(expected)
    assert result.until == "2024-12-31" and {u.days_left for u in result.items} == {30}
    for u in result.items:
        assert u.held == u.finding.count < u.required == u.finding.params["at_least"]["value"]
        assert f"已有 {u.held} 次，应 {u.required} 次" in u.missing.zh and "剩 30 天" in u.missing.zh
        assert f"{u.held} of {u.required} held" in u.missing.en
    # escalations wait on other findings: pending, but nothing to do, so not listed
    assert any(f.rule_id.startswith("ZZ-ESC") and f.status is Status.pending for f in report.findings)
    assert not any(u.finding.rule_id.startswith("ZZ-ESC") for u in result.items)


def test_upcoming_sorts_by_days_left_and_keeps_to_the_horizon() -> None:
    as_of = dt.date(2024, 6, 10)
    report = evaluate(RULES, ROSTER, RECORDS, period="2024", as_of=as_of, waivers=[WAIVERS])
    result = upcoming(report, within="30w")  # 210 days: until 2025-01-06
    left = [u.days_left for u in result.items]
    assert left == sorted(left) and {20, 112, 204} <= set(left)  # 06-30, 09-30, 12-31
    got = sorted(
        (
            _key(u.finding.rule_id, u.finding.organisation.id, u.finding.subject, u.finding.window.start, u.due),
            u.days_left,
        )
        for u in result.items
    )
    assert got == sorted(_plain(report, as_of, 210))
    short = upcoming(report, within=20)
    assert short.items and {u.days_left for u in short.items} == {20}
    assert upcoming(report, within=19).items == []


def test_upcoming_refuses_a_date_after_the_report_and_bad_horizons() -> None:
    report = evaluate(RULES, ROSTER, RECORDS, period="2024-H1", as_of="2024-06-01")
    with pytest.raises(InputError, match="晚于报告的评价日期"):
        upcoming(report, as_of="2024-06-02")
    assert parse_within("30d") == 30 and parse_within("4w") == 28 and parse_within(" 7 ") == 7
    for bad in ("-3d", "30 days", "", "1.5d"):
        with pytest.raises(InputError, match="期限范围"):
            parse_within(bad)


def test_upcoming_command(capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["upcoming", str(EXAMPLE), "--as-of", "2024-12-01", "--within", "30d", "--rules", str(RULES)]
    args += ["--waivers", str(WAIVERS)]
    # the example has one malformed record: the check is incomplete, and says so
    assert main([*args, "--format", "json"]) == 4
    out = capsys.readouterr()
    assert "检查不完整" in out.err
    data = json.loads(out.out)
    report = evaluate(RULES, ROSTER, RECORDS, period="2024", as_of="2024-12-01", waivers=[WAIVERS])
    assert data == upcoming(report, within=30).model_dump(mode="json")
    assert main([*args, "--org", "twn-qingshan"]) == 4
    table = capsys.readouterr().out
    assert "剩余天数 days" in table and "青山镇党委" in table and "某某县委" not in table
    assert main([*args[:-2], "--within", "soon"]) == 2
    assert "期限范围无效" in capsys.readouterr().err
