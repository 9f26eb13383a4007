"""Edge cases that mutation testing found unguarded (docs/testing.md): each test here failed on the mutation
named in its docstring."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from rules_engine import Status, evaluate, load_rules, parse_period, render_json
from rules_engine.load.inputs import BadRow, read_records, records_from_objects
from rules_engine.periods import Granularity, Period, month_day

from .conftest import rec
from .test_evaluate import find, one

ORG_RULE = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 1}
"""
QUARTER_RULE = """\
subject: organisation
match: {types: [meeting]}
params: {period: quarter, at_least: 1}
"""


def _waiver(wid: str, expires: str) -> str:
    return f"""\
  - id: {wid}
    rule: ORG-1
    org: t1
    from: 2024-01-01
    to: 2024-06-30
    justification: 机构调整 {wid}
    approved_by: 县委组织部
    expires: {expires}
"""


def _waivers(tmp_path: Path, *items: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n" + "".join(items), encoding="utf-8")
    return path


# ---------------------------------------------------------------- waivers


@pytest.mark.parametrize(
    ("as_of", "status", "expired"), [("2024-12-31", "waived", False), ("2025-01-01", "violated", True)]
)
def test_a_waiver_holds_on_its_own_expiry_day(tmp_path, make_pack, township, as_of, status, expired) -> None:
    """Mutation: ``as_of > w.expires`` -> ``as_of >= w.expires`` (the waiver lapses a day early)."""
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    waivers = [_waivers(tmp_path, _waiver("W-1", "2024-12-31"))]
    report = evaluate(rules, township, [], period="2024-H1", as_of=as_of, waivers=waivers)
    h1 = one(report, "ORG-1", period="2024-H1")
    assert h1.status is Status(status)
    assert h1.waiver is not None and h1.waiver.id == "W-1" and h1.waiver.expired is expired


@pytest.mark.parametrize("expired_first", [True, False])
def test_the_valid_waiver_wins_over_an_expired_one_in_either_order(
    tmp_path, make_pack, township, expired_first
) -> None:
    """Mutations: the expired-then-valid replacement dropped (the first match kept), or any later match replacing
    the earlier one (the valid one listed first then lost)."""
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    old, new = _waiver("W-OLD", "2024-03-31"), _waiver("W-NEW", "2025-12-31")
    waivers = [_waivers(tmp_path, *((old, new) if expired_first else (new, old)))]
    report = evaluate(rules, township, [], period="2024-H1", as_of="2024-07-15", waivers=waivers)
    h1 = one(report, "ORG-1", period="2024-H1")
    assert h1.status is Status.waived
    assert h1.waiver is not None and h1.waiver.id == "W-NEW" and not h1.waiver.expired
    assert h1.waiver.status_without_waiver is Status.violated


# ---------------------------------------------------------------- empty required fields


REQUIRED = ("id", "org", "type", "date")


@pytest.mark.parametrize("field", REQUIRED)
def test_an_empty_required_field_in_jsonl_is_rejected_and_located(tmp_path, make_pack, township, field) -> None:
    """Mutation: ``value is None or value == ""`` -> ``value is None`` (an empty id or organisation accepted)."""
    good = rec("r1", "meeting", "2024-03-01", "s1")
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "r2", field: ""}) + "\n", encoding="utf-8")
    rows = list(read_records(path))
    assert not isinstance(rows[0], BadRow)
    bad = rows[1]
    assert isinstance(bad, BadRow)
    assert (bad.source, bad.line, bad.field) == (str(path), 2, field)
    assert bad.zh == f"缺少必填字段 '{field}'" and bad.en == f"missing required field '{field}'"
    report = evaluate(load_rules(make_pack(("ORG-1", ORG_RULE))), township, path, period="2024-H1", as_of="2024-07-01")
    (rejection,) = report.input.rejections
    assert (rejection.line, rejection.field) == (2, field)
    assert report.input.sources[1].model_dump(include={"read", "used", "rejected"}) == {
        "read": 2,
        "used": 1,
        "rejected": 1,
    }


@pytest.mark.parametrize("field", REQUIRED)
def test_an_empty_required_field_in_python_records_is_rejected(make_pack, township, field) -> None:
    """The same mutation, for records handed over as Python objects."""
    items = [rec("r1", "meeting", "2024-03-01", "s1"), {**rec("r2", "meeting", "2024-03-02", "s1"), field: ""}]
    rows = list(records_from_objects(items))
    bad = rows[1]
    assert isinstance(bad, BadRow) and (bad.source, bad.line, bad.field) == ("<records>", 2, field)
    assert bad.en == f"missing required field '{field}'"
    report = evaluate(load_rules(make_pack(("ORG-1", ORG_RULE))), township, items, period="2024-H1", as_of="2024-07-01")
    assert [(r.source, r.line, r.field) for r in report.input.rejections] == [("<records>", 2, field)]
    h1 = one(report, "ORG-1", period="2024-H1")
    # the rejected row might have evidenced the duty too: only r1 is evidence
    assert h1.evidence == ["r1"] and h1.count == 1


# ---------------------------------------------------------------- evidence cap


def _meetings(count: int) -> list[dict[str, object]]:
    start = dt.date(2024, 1, 1)
    return [rec(f"r{i:02d}", "meeting", (start + dt.timedelta(days=i)).isoformat(), "s1") for i in range(count)]


def test_more_than_twenty_records_list_twenty_evidence_ids_and_count_them_all(make_pack, township) -> None:
    """Mutations: the cap compared with ``<=`` (21 ids kept), or not applied."""
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    report = evaluate(rules, township, _meetings(25), period="2024-H1", as_of="2024-07-01")
    h1 = one(report, "ORG-1", period="2024-H1")
    assert h1.status is Status.fulfilled and h1.count == 25
    assert h1.evidence == [f"r{i:02d}" for i in range(20)]  # the first twenty, in input order
    assert report.receipt.max_evidence == 20


@pytest.mark.parametrize("cap", [0, 1, 3, 25, 30])
def test_max_evidence_caps_the_ids_a_finding_lists(make_pack, township, cap) -> None:
    """Mutation: ``max_evidence`` not passed on (the default of 20 used instead)."""
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    report = evaluate(rules, township, _meetings(25), period="2024-H1", as_of="2024-07-01", max_evidence=cap)
    h1 = one(report, "ORG-1", period="2024-H1")
    assert h1.count == 25 and h1.evidence == [f"r{i:02d}" for i in range(min(cap, 25))]
    assert report.receipt.max_evidence == cap


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024-H1", "2024-01-01", "2024-06-30"),
        ("2023-H1", "2023-01-01", "2023-06-30"),
        ("2024-Q2", "2024-04-01", "2024-06-30"),
        ("2024-Q4", "2024-10-01", "2024-12-31"),
        ("2024-12", "2024-12-01", "2024-12-31"),
        ("2023-02", "2023-02-01", "2023-02-28"),
        ("2024-03-01..2024-03-01", "2024-03-01", "2024-03-01"),
    ],
)
def test_period_labels_parse_to_their_calendar_days(text, start, end) -> None:
    """Mutations: the first half-year starting on 1 February, a quarter or month moved by one."""
    period = parse_period(text)
    assert period == Period(dt.date.fromisoformat(start), dt.date.fromisoformat(end), text)


def test_a_half_year_period_judges_january(make_pack, township) -> None:
    """Mutation: ``2024-H1`` starting on 1 February: January's window and its meeting silently left out."""
    monthly = ORG_RULE.replace("period: half_year", "period: month")
    rules = load_rules(make_pack(("ORG-1", monthly)))
    report = evaluate(rules, township, [rec("r1", "meeting", "2024-01-31", "s1")], period="2024-H1", as_of="2024-07-01")
    assert [f.period.label for f in report.findings] == [f"2024-0{m}" for m in range(1, 7)]
    january = one(report, "ORG-1", period="2024-01")
    assert january.status is Status.fulfilled and january.evidence == ["r1"]
    assert report.period.start == dt.date(2024, 1, 1) and report.input.excluded == []


def test_a_single_day_period(make_pack, township) -> None:
    """Mutations: a range that must start before it ends (``<=`` for ``<``); no window found for a one-day period.
    A period selects the rule windows that overlap it: the day's quarter is judged whole."""
    period = parse_period("2024-03-01..2024-03-01")
    assert period.days == 1 and period.contains(dt.date(2024, 3, 1))
    assert not period.contains(dt.date(2024, 3, 2)) and not period.contains(dt.date(2024, 2, 29))
    assert [(w.label, w.start, w.end) for w in period.windows(Granularity.month)] == [
        ("2024-03", dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    ]
    rules = load_rules(make_pack(("ORG-1", QUARTER_RULE)))
    records = [rec("r1", "meeting", "2024-03-02", "s1"), rec("r2", "meeting", "2024-04-01", "s1")]
    report = evaluate(rules, township, records, period="2024-03-01..2024-03-01", as_of="2024-04-01")
    one_day = {"start": "2024-03-01", "end": "2024-03-01", "label": "2024-03-01..2024-03-01"}
    assert report.period.model_dump(mode="json") == one_day
    (q1,) = find(report, "ORG-1")
    assert q1.period.label == "2024-Q1" and (str(q1.window.start), str(q1.window.end)) == ("2024-01-01", "2024-03-31")
    assert q1.status is Status.fulfilled and q1.evidence == ["r1"]
    assert [r.record_id for r in report.input.excluded] == ["r2"]  # outside every window evaluated


@pytest.mark.parametrize(
    ("period", "label", "start", "end", "windows"),
    [
        ("2024-H1", "2024-H1", "2024-01-01", "2024-06-30", ["2024-Q1", "2024-Q2"]),
        ("2024-Q3", "2024-Q3", "2024-07-01", "2024-09-30", ["2024-Q3"]),
        ("2024-05", "2024-05", "2024-05-01", "2024-05-31", ["2024-Q2"]),
        ("2024", "2024", "2024-01-01", "2024-12-31", ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]),
        ("2024-02-10..2024-04-01", "2024-02-10..2024-04-01", "2024-02-10", "2024-04-01", ["2024-Q1", "2024-Q2"]),
    ],
)
def test_the_report_header_names_the_period(make_pack, township, period, label, start, end, windows) -> None:
    """Mutations: the header's label, start or end taken from elsewhere; windows labelled wrongly."""
    rules = load_rules(make_pack(("ORG-1", QUARTER_RULE)))
    report = evaluate(rules, township, [], period=period, as_of="2025-01-01")
    assert report.period.model_dump(mode="json") == {"start": start, "end": end, "label": label}
    assert report.receipt.period == label
    assert [f.period.label for f in report.findings] == windows
    header = json.loads(render_json(report))
    assert header["period"] == {"start": start, "end": end, "label": label}


def test_month_day_falls_back_to_28_february_in_a_common_year() -> None:
    """Mutations: another fallback day, or the fallback taken in leap years too."""
    assert month_day(2023, "02-29") == dt.date(2023, 2, 28)
    assert month_day(2024, "02-29") == dt.date(2024, 2, 29)
    assert month_day(2023, "12-31") == dt.date(2023, 12, 31)
    assert month_day(2100, "02-29") == dt.date(2100, 2, 28)  # not a leap year either


def test_a_deadline_window_ending_29_february_in_a_common_year(make_pack, township) -> None:
    """The same fallback end to end: the window of 2023 ends on 28 February and takes a record on that day."""
    body = "subject: organisation\nmatch: {types: [meeting]}\n"
    body += "params: {period: year, at_least: 1, window: {from: '01-01', to: '02-29'}}\n"
    rules = load_rules(make_pack(("ORG-1", body)))
    for year, last in ((2023, "2023-02-28"), (2024, "2024-02-29")):
        records = [rec(f"r{year}", "meeting", last, "s1")]
        report = evaluate(rules, township, records, period=str(year), as_of=f"{year + 1}-01-01")
        (finding,) = find(report, "ORG-1")
        assert finding.window.end.isoformat() == last
        assert finding.status is Status.fulfilled and finding.evidence == [f"r{year}"]
