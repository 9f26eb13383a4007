"""Records dated after the evaluation date (as_of) are not evidence: a re-run as of a past date gives what
was knowable then, and the input account lists them as excluded."""

from __future__ import annotations

import json
from pathlib import Path

from rules_engine import Status, evaluate, load_rules

from .conftest import EXAMPLE, RULES, rec

MEETINGS = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 1}
"""

TRIGGER = """\
subject: trigger
trigger: {types: [feedback]}
match: {types: [report]}
params: {within_days: 30, at_least: 1}
"""


def test_a_record_dated_after_the_evaluation_date_is_excluded_not_evidence(make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", MEETINGS)))
    records = [rec("r1", "meeting", "2024-06-20", "s1")]
    early = evaluate(rules, township, records, period="2024-H1", as_of="2024-06-15")
    (finding,) = early.findings
    assert finding.status is Status.pending and finding.count == 0 and finding.evidence == []
    (excluded,) = early.input.excluded
    assert (excluded.record_id, excluded.field, excluded.value) == ("r1", "date", "2024-06-20")
    assert excluded.reason.zh.startswith("日期晚于评价日期") and "dated after the evaluation date" in excluded.reason.en
    (account,) = [s for s in early.input.sources if s.kind == "records"]
    assert (account.read, account.used, account.rejected, account.excluded) == (1, 0, 0, 1)
    assert not early.input.rejections and early.exit_code() == 0  # not bad data: the run is complete
    on_the_day = evaluate(rules, township, records, period="2024-H1", as_of="2024-06-20")
    assert on_the_day.findings[0].status is Status.fulfilled and not on_the_day.input.excluded


def test_a_later_record_takes_no_id_and_a_later_bad_row_casts_no_doubt(make_pack, township) -> None:
    rules = load_rules(make_pack(("ORG-1", MEETINGS), ("DC-1", TRIGGER)))
    records = [
        rec("r1", "meeting", "2024-09-01", "s1"),  # later, and the same id as the next row with other content
        rec("r1", "meeting", "2024-03-01", "s1"),
        rec("f1", "feedback", "2024-09-01", participants=5),  # a broken trigger row, dated later
    ]
    report = evaluate(rules, township, records, period="2024", as_of="2024-08-01")
    by_period = {f.period.label: f for f in report.findings if f.rule_id == "ORG-1"}
    assert by_period["2024-H1"].status is Status.fulfilled and by_period["2024-H1"].evidence == ["r1"]
    assert [f for f in report.findings if f.rule_id == "DC-1"] == []  # the trigger had not happened yet
    (rejected,) = report.input.rejections  # still a data problem in the file: listed
    assert rejected.record_id == "f1" and rejected.field == "participants"
    assert [e.line for e in report.input.excluded] == [1]
    later = evaluate(rules, township, records, period="2024", as_of="2024-10-01")
    (trigger,) = [f for f in later.findings if f.rule_id == "DC-1"]
    assert trigger.status is Status.undeterminable  # once it is dated in the past, it casts doubt


def test_the_example_as_of_a_past_date_gives_what_was_knowable_then(tmp_path: Path) -> None:
    """Evaluated as of 2024-10-15 with every record, or with the later records blanked out: the same findings."""
    rules = load_rules(RULES)
    lines = (EXAMPLE / "records.jsonl").read_text(encoding="utf-8").splitlines()
    later = [i for i, line in enumerate(lines) if json.loads(line)["date"] > "2024-10-15" and "-13-" not in line]
    assert len(later) > 250
    then = tmp_path / "records.jsonl"  # blank lines keep every line number
    then.write_text("\n".join("" if i in later else line for i, line in enumerate(lines)) + "\n", encoding="utf-8")
    full = evaluate(rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of="2024-10-15")
    known = evaluate(rules, EXAMPLE / "roster.yaml", then, period="2024", as_of="2024-10-15")
    assert full.summary == known.summary
    assert [f.model_dump(exclude={"reason"}) for f in full.findings] == [
        f.model_dump(exclude={"reason"}) for f in known.findings
    ]
    assert [e.line - 1 for e in full.input.excluded] == later
    (account,) = [s for s in full.input.sources if s.kind == "records"]
    assert account.read == account.used + account.rejected + account.excluded
