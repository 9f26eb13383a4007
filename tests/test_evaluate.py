"""Evaluation semantics: statuses, windows, posts held part of a period, deadlines, attendance, bad data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from rules_engine import Finding, Report, Status, evaluate, load_rules, render_json

from .conftest import RULES, person, rec

ORG_RULE = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 1}
"""


def find(report: Report, rule_id: str, **where: str) -> list[Finding]:
    out = []
    for f in report.findings:
        if f.rule_id != rule_id:
            continue
        if all(_get(f, k) == v for k, v in where.items()):
            out.append(f)
    return out


def _get(f: Finding, key: str) -> object:
    return {
        "subject": f.subject.id,
        "window": f.window.label,
        "period": f.period.label,
        "portfolio": f.subject.portfolio,
        "second": f.subject.second.id if f.subject.second else None,
        "org": f.organisation.id,
    }[key]


def one(report: Report, rule_id: str, **where: str) -> Finding:
    found = find(report, rule_id, **where)
    assert len(found) == 1, (rule_id, where, [(f.subject.id, f.period.label, f.status) for f in found])
    return found[0]


def test_org_duty_fulfilled_violated_and_pending(make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    records = [rec("r1", "meeting", "2024-03-01", "s1")]
    report = evaluate(rules, township, records, period="2024", as_of="2024-10-01")
    h1 = one(report, "ORG-1", period="2024-H1")
    h2 = one(report, "ORG-1", period="2024-H2")
    assert h1.status is Status.fulfilled and h1.evidence == ["r1"] and h1.count == 1
    assert h2.status is Status.pending
    closed = evaluate(rules, township, records, period="2024", as_of="2025-01-01")
    h2 = one(closed, "ORG-1", period="2024-H2")
    assert h2.status is Status.violated
    assert h2.expected.en == "at least 1 per half-year" and h2.actual.en == "0"
    assert h2.clause.article == 8 and h2.clause.provenance == "local_practice"
    assert "甲镇党委" in h2.message.zh and "did not fulfil" in h2.message.en
    assert closed.summary["violated"] == 1


def test_evaluation_date_not_wall_clock_decides_pending(make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    on_last_day = evaluate(rules, township, [], period="2024-H1", as_of="2024-06-30")
    day_after = evaluate(rules, township, [], period="2024-H1", as_of="2024-07-01")
    assert one(on_last_day, "ORG-1").status is Status.pending
    assert one(day_after, "ORG-1").status is Status.violated


SECRETARY_CHAIRS = """\
subject: person
roles: [secretary]
match: {types: [meeting], chair: subject}
params: {period: half_year, at_least: 1}
"""


def test_candidate_chaired_by_someone_else_is_rejected_with_reason(make_pack, township) -> None:
    rules = load_rules(make_pack(("SEC-1", SECRETARY_CHAIRS), ("ORG-1", ORG_RULE)))
    records = [rec("r1", "meeting", "2024-03-01", "d1", ["s1"])]
    report = evaluate(rules, township, records, period="2024-H1", as_of="2025-01-01")
    sec = one(report, "SEC-1", subject="s1")
    assert sec.status is Status.violated
    assert [r.record for r in sec.rejected] == ["r1"]
    assert "d1" in sec.rejected[0].reason.zh and "not the subject" in sec.rejected[0].reason.en
    assert one(report, "ORG-1").status is Status.fulfilled


PORTFOLIO = """\
subject: portfolio
roles: [deputy_secretary, member]
match: {types: [visit], chair: subject, portfolio: subject}
params: {period: half_year, at_least: 1, min_days_in_post: 30}
"""


def test_each_portfolio_area_of_each_member_is_judged(make_pack, township) -> None:
    rules = load_rules(make_pack(("YG-1", PORTFOLIO)))
    records = [
        rec("v1", "visit", "2024-02-01", "m1", portfolio="宣传思想"),
        rec("v2", "visit", "2024-02-02", "m1", portfolio="组织人事"),  # not m1's area
        rec("v3", "visit", "2024-03-01", "d1", portfolio="组织人事"),
    ]
    report = evaluate(rules, township, records, period="2024-H1", as_of="2025-01-01")
    assert one(report, "YG-1", subject="m1", portfolio="宣传思想").status is Status.fulfilled
    zf = one(report, "YG-1", subject="m1", portfolio="政法")
    assert zf.status is Status.violated
    assert "v2" in [r.record for r in zf.rejected]
    assert one(report, "YG-1", subject="d1", portfolio="组织人事").evidence == ["v3"]


def test_post_held_part_of_the_period_is_judged_on_that_part(make_pack, township) -> None:
    """m2 leaves on 2024-05-31: H1 is judged on 01-01..05-31, and H2 does not exist for m2."""
    rules = load_rules(make_pack(("YG-1", PORTFOLIO)))
    records = [rec("v1", "visit", "2024-06-10", "m2", portfolio="经济发展")]  # after leaving: does not count
    report = evaluate(rules, township, records, period="2024", as_of="2025-01-01")
    (h1,) = find(report, "YG-1", subject="m2")
    assert (h1.window.start, h1.window.end) == (dt.date(2024, 1, 1), dt.date(2024, 5, 31))
    assert h1.status is Status.violated
    assert h1.rejected[0].record == "v1" and "outside the judged window" in h1.rejected[0].reason.en


def test_short_time_in_post_is_not_applicable(make_pack, township) -> None:
    township["people"].append(person("n1", "新委员", "t1", "member", start="2024-12-10", portfolios=["统战"]))
    rules = load_rules(make_pack(("YG-1", PORTFOLIO)))
    report = evaluate(rules, township, [], period="2024-H2", as_of="2025-01-01")
    finding = one(report, "YG-1", subject="n1")
    assert finding.status is Status.not_applicable
    assert "fewer days" in finding.reason.en


def test_no_holder_on_roster_is_undeterminable_not_violated(make_pack, township) -> None:
    township["people"] = [p for p in township["people"] if p["id"] != "s1"]
    rules = load_rules(make_pack(("SEC-1", SECRETARY_CHAIRS)))
    report = evaluate(rules, township, [], period="2024-H1", as_of="2025-01-01")
    finding = one(report, "SEC-1")
    assert finding.status is Status.undeterminable
    assert finding.subject.kind == "role" and "nobody in this role" in finding.reason.en


PAIR = """\
subject: pair
pair: {first: [secretary], second: [deputy_secretary, member]}
match: {types: [talk], participants: [first, second]}
params: {period: year, at_least: 1}
"""


def test_secretary_talks_with_each_other_member(make_pack, township) -> None:
    rules = load_rules(make_pack(("TALK-1", PAIR)))
    records = [rec("k1", "talk", "2024-04-01", "s1", ["d1"]), rec("k2", "talk", "2024-04-02", "d1", ["m1"])]
    report = evaluate(rules, township, records, period="2024", as_of="2025-01-01")
    assert one(report, "TALK-1", second="d1").status is Status.fulfilled
    m1 = one(report, "TALK-1", second="m1")
    assert m1.status is Status.violated
    assert [r.record for r in m1.rejected] == ["k2"]  # involves m1 but not the secretary
    m2 = one(report, "TALK-1", second="m2")
    assert m2.window.end == dt.date(2024, 5, 31)
    assert len(find(report, "TALK-1")) == 3


ATTENDANCE = """\
subject: organisation
match: {types: [meeting]}
attendance: true
params: {period: year, at_least: 1, min_share: 2/3}
"""


@pytest.mark.parametrize(
    ("present", "status"),
    [(["s1", "d1"], Status.violated), (["s1", "d1", "m1"], Status.fulfilled)],
)
def test_attendance_share(make_pack, township, present: list[str], status: Status) -> None:
    """On 2024-07-01 the team is s1, d1, m1 (m2 left): 2/3 is the threshold; 2 of 3 would be equal."""
    township["people"].append(person("m3", "钱委员", "t1", "member", portfolios=["统战"]))  # team of 4 in H2
    rules = load_rules(make_pack(("MZ-1", ATTENDANCE)))
    report = evaluate(
        rules, township, [rec("z1", "meeting", "2024-07-01", participants=present)], period="2024", as_of="2025-01-01"
    )
    finding = one(report, "MZ-1")
    assert finding.status is status
    if status is Status.violated:
        assert "2/4" in finding.rejected[0].reason.zh and "below 2/3" in finding.rejected[0].reason.en


WINDOW = """\
subject: organisation
match: {types: [report]}
params: {period: year, at_least: 1, window: {from: '10-01', to: '12-15'}}
"""


def test_deadline_window_inside_the_period(make_pack, township) -> None:
    rules = load_rules(make_pack(("Q4-1", WINDOW)))
    early = [rec("p1", "report", "2024-03-01")]
    report = evaluate(rules, township, early, period="2024", as_of="2024-12-10")
    finding = one(report, "Q4-1")
    assert finding.status is Status.pending
    assert (finding.window.start, finding.window.end) == (dt.date(2024, 10, 1), dt.date(2024, 12, 15))
    report = evaluate(rules, township, early, period="2024", as_of="2024-12-16")
    assert one(report, "Q4-1").status is Status.violated
    assert one(report, "Q4-1").rejected[0].record == "p1"
    ok = evaluate(rules, township, [rec("p2", "report", "2024-12-15")], period="2024", as_of="2024-12-16")
    assert one(ok, "Q4-1").status is Status.fulfilled


TRIGGER = """\
subject: trigger
trigger: {types: [feedback]}
match: {types: [report]}
params: {within_days: 30, at_least: 1}
"""


def test_relative_deadline_after_a_trigger_record(make_pack, township) -> None:
    rules = load_rules(make_pack(("DC-1", TRIGGER)))
    records = [
        rec("f1", "feedback", "2024-03-01"),
        rec("x1", "report", "2024-03-25"),
        rec("f2", "feedback", "2024-05-01"),
        rec("x2", "report", "2024-06-20"),  # 50 days: late
        rec("f3", "feedback", "2024-12-20"),
    ]
    report = evaluate(rules, township, list(reversed(records)), period="2024", as_of="2025-01-05")
    by_trigger = {f.subject.record: f for f in find(report, "DC-1")}
    assert by_trigger["f1"].status is Status.fulfilled and by_trigger["f1"].evidence == ["x1"]
    assert by_trigger["f2"].status is Status.violated
    assert by_trigger["f3"].status is Status.pending and by_trigger["f3"].window.end == dt.date(2025, 1, 19)


AT_MOST = """\
subject: organisation
match: {types: [meeting]}
params: {period: quarter, at_most: 1}
"""


def test_at_most(make_pack, township) -> None:
    rules = load_rules(make_pack(("MAX-1", AT_MOST)))
    records = [rec("a", "meeting", "2024-01-05"), rec("b", "meeting", "2024-02-05"), rec("c", "meeting", "2024-04-05")]
    report = evaluate(rules, township, records, period="2024-H1", as_of="2024-05-01")
    assert one(report, "MAX-1", period="2024-Q1").status is Status.violated
    assert one(report, "MAX-1", period="2024-Q2").status is Status.pending  # could still exceed
    later = evaluate(rules, township, records, period="2024-H1", as_of="2024-07-01")
    assert one(later, "MAX-1", period="2024-Q2").status is Status.fulfilled


def test_kind_not_covered_and_rule_not_in_force(make_pack, township) -> None:
    township["organisations"].append({"id": "g1", "name": "某村党支部", "kind": "grassroots"})
    root = make_pack(("ORG-1", ORG_RULE), ("NEW-1", ORG_RULE + "effective: {from: 2024-09-01}\n"))
    report = evaluate(load_rules(root), township, [], period="2024", as_of="2025-01-01")
    assert one(report, "ORG-1", org="g1").status is Status.not_applicable
    assert one(report, "NEW-1", org="t1", period="2024-H1").status is Status.not_applicable
    h2 = one(report, "NEW-1", org="t1", period="2024-H2")
    assert h2.status is Status.violated and h2.window.start == dt.date(2024, 9, 1)


def test_bad_record_makes_the_duty_undeterminable_not_violated(make_pack, township, tmp_path: Path) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE), ("YG-1", PORTFOLIO)))
    path = tmp_path / "records.jsonl"
    lines = [
        json.dumps(rec("r1", "meeting", "2024-03-01", "s1"), ensure_ascii=False),
        json.dumps(rec("r2", "meeting", "2024-13-05", "s1"), ensure_ascii=False),  # bad date, same org and type
        json.dumps(rec("v1", "visit", "2024-03-01", "m1", portfolio="宣传思想"), ensure_ascii=False),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = evaluate(rules, township, path, period="2024", as_of="2025-01-01")
    h2 = one(report, "ORG-1", period="2024-H2")
    assert h2.status is Status.undeterminable
    assert f"{path}:2" in h2.reason.en
    assert one(report, "ORG-1", period="2024-H1").status is Status.fulfilled  # fulfilled regardless
    # a visit-type duty is not affected by a bad meeting record
    assert one(report, "YG-1", subject="m1", portfolio="政法", period="2024-H2").status is Status.violated
    (rejection,) = report.input.rejections
    assert (rejection.line, rejection.field, rejection.value, rejection.record_id) == (2, "date", "2024-13-05", "r2")


def test_every_input_row_is_accounted_for(make_pack, township, tmp_path: Path) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    path = tmp_path / "records.jsonl"
    good = json.dumps(rec("r1", "meeting", "2024-03-01", "s1"))
    rows = [
        good,
        good,  # identical duplicate: counted once, reported as excluded (no data problem)
        json.dumps(rec("r1", "meeting", "2024-04-01", "s1")),  # same id, other content
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"id": "r3", "org": "t1", "type": "meeting"}),
        json.dumps(rec("r4", "meeting", "2024-03-01", org="nowhere")),
        json.dumps(rec("r5", "meetting", "2024-03-01")),
        json.dumps({**rec("r6", "meeting", "2024-03-01"), "colour": "red"}),
        json.dumps(rec("r7", "meeting", "2024-05-01", participants="s1；d1")),  # string list is split
    ]
    path.write_text("\n".join(rows) + "\n\n", encoding="utf-8")
    report = evaluate(rules, township, path, period="2024", as_of="2025-01-01")
    (account,) = [s for s in report.input.sources if s.kind == "records"]
    assert account.read == 10
    assert account.used + account.rejected + account.excluded == account.read
    assert (account.used, account.rejected, account.excluded) == (2, 7, 1)
    (excluded,) = report.input.excluded
    assert excluded.line == 2 and "identical, counted once" in excluded.reason.en
    reasons = {r.line: r.reason.en for r in report.input.rejections}
    assert 2 not in reasons
    assert "different content" in reasons[3]
    assert "malformed JSON" in reasons[4]
    assert "not a JSON object" in reasons[5]
    assert "missing required field 'date'" in reasons[6]
    assert "unknown organisation" in reasons[7]
    assert "did you mean 'meeting'" in reasons[8]
    assert "unknown field 'colour'" in reasons[9]
    h1 = one(report, "ORG-1", period="2024-H1")
    assert h1.count == 2 and h1.evidence == ["r1", "r7"]


def test_csv_records_with_chinese_headers_and_bom(make_pack, township, tmp_path: Path) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    path = tmp_path / "records.csv"
    path.write_bytes(
        "编号,组织,类型,日期,主持人,参加人员\r\nr1,t1,meeting,2024-03-01,s1,d1、m1\r\nr2,t1,meeting,2024/08/01,s1,\r\n".encode(
            "utf-8-sig"
        )
    )
    report = evaluate(rules, township, path, period="2024", as_of="2025-01-01")
    assert one(report, "ORG-1", period="2024-H1").evidence == ["r1"]
    assert one(report, "ORG-1", period="2024-H2").status is Status.undeterminable
    assert report.input.rejections[0].line == 3 and report.input.rejections[0].field == "date"


def test_same_inputs_give_byte_identical_json(township, tmp_path: Path) -> None:
    rules = load_rules(RULES)
    records = [
        rec("r1", "zhuanti_huiyi", "2024-03-01", "s1", ["d1", "m1"]),
        rec("r2", "tanxin_tanhua", "2024-05-01", "s1", ["m1"]),
    ]
    a = render_json(evaluate(rules, township, records, period="2024", as_of="2025-01-01"))
    b = render_json(evaluate(load_rules(RULES), township, list(reversed(records)), period="2024", as_of="2025-01-01"))
    assert a == b
    doc = json.loads(a)
    assert list(doc)[:6] == ["format", "period", "as_of", "summary", "rules", "input"]
    for key in (
        "rule_id",
        "status",
        "subject",
        "organisation",
        "period",
        "clause",
        "expected",
        "actual",
        "evidence",
        "rejected",
        "severity",
        "message",
    ):
        assert key in doc["findings"][0]


def test_two_evaluations_in_one_process_are_independent(make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    first = evaluate(rules, township, [rec("r1", "meeting", "2024-03-01")], period="2024-H1", as_of="2025-01-01")
    second = evaluate(rules, township, [], period="2024-H1", as_of="2025-01-01")
    third = evaluate(rules, township, [rec("r1", "meeting", "2024-03-01")], period="2024-H1", as_of="2025-01-01")
    assert [f.status for f in first.findings] == [Status.fulfilled]
    assert [f.status for f in second.findings] == [Status.violated]
    assert render_json(first) == render_json(third)


def test_parameter_override_is_shown_in_the_finding(make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    records = [rec("r1", "meeting", "2024-03-01")]
    report = evaluate(rules, township, records, period="2024-H1", as_of="2025-01-01", params={"ORG-1": {"at_least": 2}})
    finding = one(report, "ORG-1")
    assert finding.status is Status.violated
    assert finding.params["at_least"] == {"value": 2, "set_by": "override"}
    assert finding.params["period"] == {"value": "half_year", "set_by": "test-pack@1.0.0"}


def test_records_can_be_model_instances(make_pack, township) -> None:
    from rules_engine import ActivityRecord

    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    records = [ActivityRecord(id="r1", org="t1", type="meeting", date="2024-02-01", chair="s1")]
    report = evaluate(rules, township, records, period="2024-H1", as_of="2025-01-01")
    assert one(report, "ORG-1").status is Status.fulfilled


def test_streamed_report_is_byte_identical_to_the_in_memory_one(township, tmp_path: Path) -> None:
    from rules_engine import evaluate_to

    rules = load_rules(RULES)
    records = [
        rec("r1", "zhuanti_huiyi", "2024-03-01", "s1", ["d1", "m1"]),
        rec("r2", "tanxin_tanhua", "2024-05-01", "s1", ["m1"]),
        rec("r3", "dingqi_dudao", "2024-13-01", "m1", portfolio="政法"),
    ]
    out = tmp_path / "report.json"
    summary = evaluate_to(out, rules, township, records, period="2024", as_of="2025-01-01")
    report = evaluate(rules, township, records, period="2024", as_of="2025-01-01")
    assert out.read_bytes() == render_json(report)
    assert summary == report.summary
    empty = tmp_path / "empty.json"
    evaluate_to(empty, rules, {"organisations": [], "people": []}, [], period="2024", as_of="2025-01-01")
    assert json.loads(empty.read_bytes())["findings"] == []


def test_promotion_inside_a_pair_keeps_the_pair_whole(make_pack, township) -> None:
    """m1 is promoted from member to deputy on 2024-07-01: one pair with the secretary, judged all year."""
    m1 = next(p for p in township["people"] if p["id"] == "m1")
    m1["posts"][0]["end"] = "2024-06-30"
    m1["posts"].append({"org": "t1", "role": "deputy_secretary", "start": "2024-07-01", "portfolios": ["政法"]})
    rules = load_rules(make_pack(("TALK-1", PAIR), ("YG-1", PORTFOLIO)))
    records = [rec("k1", "talk", "2024-09-01", "s1", ["m1"]), rec("v1", "visit", "2024-08-01", "m1", portfolio="政法")]
    report = evaluate(rules, township, records, period="2024", as_of="2025-01-01")
    pair = one(report, "TALK-1", second="m1")
    assert pair.status is Status.fulfilled and pair.window.start == dt.date(2024, 1, 1)
    assert one(report, "YG-1", subject="m1", portfolio="政法", period="2024-H2").status is Status.fulfilled
    # 宣传思想 was only in the first post: judged on the first half only
    assert [f.period.label for f in find(report, "YG-1", subject="m1", portfolio="宣传思想")] == ["2024-H1"]


def test_deadline_window_shorter_than_min_days_in_post(make_pack, township) -> None:
    body = WINDOW.replace("window: {from: '10-01', to: '12-15'}", "window: {from: '12-01', to: '12-15'}")
    body = body.replace("subject: organisation", "subject: person\nroles: [secretary]")
    body = body.replace("at_least: 1,", "at_least: 1, min_days_in_post: 30,")
    rules = load_rules(make_pack(("Q4-1", body)))
    report = evaluate(rules, township, [rec("p1", "report", "2024-12-02")], period="2024", as_of="2025-01-01")
    assert one(report, "Q4-1", subject="s1").status is Status.fulfilled  # in post for the whole window


def test_records_outside_every_period_are_excluded_without_doubt(make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    records = [rec("old", "meeting", "2019-05-01"), rec("new", "meeting", "2024-03-01")]
    report = evaluate(rules, township, records, period="2024-H1", as_of="2025-01-01")
    assert not report.input.rejections  # not a data problem: the run is complete (exit code 0, not 4)
    (excluded,) = report.input.excluded
    assert excluded.record_id == "old" and "outside every period" in excluded.reason.en
    assert report.exit_code() == 0
    assert one(report, "ORG-1").status is Status.fulfilled
    later = evaluate(rules, township, [rec("old", "meeting", "2019-05-01")], period="2024-H1", as_of="2025-01-01")
    assert one(later, "ORG-1").status is Status.violated  # not undeterminable: the row could not have counted


def test_a_mistyped_person_id_casts_doubt_instead_of_a_violation(make_pack, township) -> None:
    rules = load_rules(make_pack(("TALK-1", PAIR), ("ORG-1", ORG_RULE)))
    records = [
        rec("k1", "talk", "2024-04-01", "s1", ["m1", "d1x"]),  # d1 mistyped as d1x
        rec("r1", "meeting", "2024-03-01", "s1", ["nobody9"]),
    ]
    report = evaluate(rules, township, records, period="2024", as_of="2025-01-01")
    assert one(report, "TALK-1", second="m1").status is Status.fulfilled
    d1 = one(report, "TALK-1", second="d1")
    assert d1.status is Status.violated  # k1 does not name d1 at all: nothing suggests it was about d1
    warnings = {w.record_id: w.value for w in report.input.warnings}
    assert warnings == {"k1": "d1x", "r1": "nobody9"}
    assert one(report, "ORG-1", period="2024-H1").status is Status.fulfilled  # the meeting still counts
    chaired = evaluate(
        load_rules(make_pack(("SEC-1", SECRETARY_CHAIRS))),
        township,
        [rec("r2", "meeting", "2024-03-01", "s1x", ["d1"])],
        period="2024-H1",
        as_of="2025-01-01",
    )
    finding = one(chaired, "SEC-1", subject="s1")
    assert finding.status is Status.undeterminable and "a mistyped id?" in finding.reason.en
