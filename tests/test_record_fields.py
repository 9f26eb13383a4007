"""Record fields declared in pack.yaml: records carry them (every reader), rules filter on them (match.where), and
quorums count a share of a body exactly."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from rules_engine import ActivityRecord, RulesError, Status, evaluate, load_rules
from rules_engine.fields import QuorumSpec, quorum_met

from .conftest import EXAMPLE, RULES

MANIFEST = """\
format: rules-engine/v1
pack:
  id: fields-pack
  version: 1.0.0
  title: {zh: 字段测试, en: fields test}
  regulation: {id: fields, document: 《测试规定》}
  effective: {from: 2020-01-01}
record_types:
  meeting: {zh: 会议, en: meeting}
  lecture: {zh: 党课, en: lecture}
record_fields:
  speaker: {type: person, zh: 主讲人, en: speaker}
  attendees: {type: people, zh: 到会人员, en: attendees, aliases: [出席名单]}
  topic: {type: text, zh: 议题, en: topic}
  level: {type: tag, zh: 级别, en: level}
  votes: {type: number, zh: 赞成票数, en: votes for}
  decided: {type: date, zh: 决定日期, en: decided on}
  approved: {type: boolean, zh: 纪要已审定, en: minutes approved}
"""

HEAD = """\
  - id: {id}
    title: {{zh: 测试规则, en: test rule}}
    citation: {{document: 《测试规定》, article: 8}}
    provenance: {{basis: local_practice}}
    org_kinds: [township]
"""

RULES_TEXT = {
    "APPROVED": """\
subject: organisation
match:
  types: [meeting]
  where: {approved: true, topic: {contains: 重大}}
params: {period: year, at_least: 1}
""",
    "APPROVED3": """\
subject: organisation
match:
  types: [meeting]
  where: {approved: true}
params: {period: year, at_least: 3}
""",
    "APPROVED_AT_MOST": """\
subject: organisation
match:
  types: [meeting]
  where: {approved: true}
params: {period: year, at_most: 1}
""",
    "SPEAKER": """\
subject: person
roles: [secretary, member]
match:
  types: [lecture]
  where: {speaker: subject}
params: {period: year, at_least: 1}
""",
    "VOTES": """\
subject: organisation
match:
  types: [meeting]
  where: {votes: {at_least: 3, less_than: 10}, decided: {at_least: 2024-03-01}, level: {in: [县级, 市级]}}
params: {period: year, at_least: 1}
""",
    "ATTENDED": """\
subject: organisation
match:
  types: [meeting]
  where: {attendees: {includes: [secretary]}}
params: {period: year, at_least: 1}
""",
    "HALF": """\
subject: organisation
match:
  types: [meeting]
quorum: {more_than: 1/2, of: team, attendees: attendees}
params: {period: year, at_least: 1}
""",
}


def write_pack(root: Path, rules: dict[str, str], manifest: str = MANIFEST) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pack.yaml").write_text(manifest, encoding="utf-8")
    text = "rules:\n"
    for rule_id, body in rules.items():
        text += HEAD.format(id=rule_id) + textwrap.indent(body, "    ")
    (root / "rules.yaml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_rules(write_pack(tmp_path_factory.mktemp("fields") / "pack", RULES_TEXT))


def roster(members: int = 3) -> dict[str, Any]:
    people = [{"id": "s1", "name": "书记", "posts": [{"org": "t1", "role": "secretary", "start": "2020-01-01"}]}]
    for i in range(1, members):
        post = {"org": "t1", "role": "member", "start": "2020-01-01"}
        people.append({"id": f"m{i}", "name": f"委员{i}", "posts": [post]})
    return {"organisations": [{"id": "t1", "name": "某镇党委", "kind": "township"}], "people": people}


def rec(rid: str, kind: str = "meeting", **fields: Any) -> dict[str, Any]:
    return {"id": rid, "org": "t1", "type": kind, "date": "2024-05-01", "chair": "s1", **fields}


def findings(report: Any, rule_id: str) -> list[Any]:
    return [f for f in report.findings if f.rule_id == rule_id]


def one(report: Any, rule_id: str) -> Any:
    (found,) = findings(report, rule_id)
    return found


def run(pack: Any, records: Any, members: int = 3) -> Any:
    return evaluate(pack, roster(members), records, period="2024", as_of="2025-01-15")


# ---------------------------------------------------------------- where


def test_a_boolean_and_a_text_filter_count_only_the_records_that_meet_both(pack: Any) -> None:
    records = [
        rec("r1", approved=True, topic="研究重大事项"),
        rec("r2", approved=False, topic="研究重大事项"),
        rec("r3", approved=True, topic="学习"),
    ]
    finding = one(run(pack, records), "APPROVED")
    assert (finding.status, finding.count, finding.evidence) == (Status.fulfilled, 1, ["r1"])
    reasons = {r.record: r.reason.en for r in finding.rejected}
    assert reasons == {
        "r2": "field approved does not meet = true",
        "r3": "field topic does not meet ⊇ 重大",
    }


def test_a_record_lacking_a_field_a_filter_reads_is_set_aside_and_never_a_violation_of_its_own(pack: Any) -> None:
    report = run(pack, [rec("r1", topic="研究重大事项")])
    finding = one(report, "APPROVED")
    # no record shows the duty, but r1 might have, had it said whether its minutes were approved
    assert finding.status is Status.undeterminable
    assert finding.count == 0
    (rejected,) = finding.rejected
    assert rejected.record == "r1"
    assert "lacks the field approved" in rejected.reason.en
    assert finding.reason.zh == (
        "在 2024-01-01..2024-12-31 内找到 0 条符合条件的记录；另有 1 条记录缺少筛选条件读取的字段（approved），未计入，"
        "但可能改变结论，无法判定"
    )
    assert finding.reason.en == (
        "found 0 matching record(s) in 2024-01-01..2024-12-31; 1 record(s) lacking a field a filter reads (approved)"
        " were set aside and could change the outcome; so this cannot be decided"
    )


def test_records_lacking_a_field_that_could_not_change_the_outcome_leave_it_violated(pack: Any) -> None:
    records = [rec("r1", approved=True), rec("r2")]  # one counts, one lacks the field: 1 + 1 < 3
    finding = one(run(pack, records), "APPROVED3")
    assert (finding.status, finding.count) == (Status.violated, 1)
    assert finding.reason.en.endswith("; 1 record(s) lacking a field a filter reads (approved) were set aside")
    records.append(rec("r3"))  # 1 + 2 reaches 3: they might have made up the shortfall
    assert one(run(pack, records), "APPROVED3").status is Status.undeterminable


def test_at_most_records_lacking_a_field_that_could_go_over_make_it_undeterminable(pack: Any) -> None:
    finding = one(run(pack, [rec("r1", approved=True), rec("r2")]), "APPROVED_AT_MOST")
    assert (finding.status, finding.count) == (Status.undeterminable, 1)  # 1 within, 2 over
    assert one(run(pack, [rec("r1", approved=True)]), "APPROVED_AT_MOST").status is Status.fulfilled
    records = [rec("r1", approved=True), rec("r2", approved=True), rec("r3")]
    finding = one(run(pack, records), "APPROVED_AT_MOST")
    assert (finding.status, finding.count) == (Status.violated, 2)  # over whatever r3 would have said


def test_a_person_field_names_the_subject(pack: Any) -> None:
    records = [rec("r1", "lecture", speaker="m1"), rec("r2", "lecture", speaker="m2")]
    report = run(pack, records)
    counts = {f.subject.id: f.count for f in findings(report, "SPEAKER")}
    assert counts == {"s1": 0, "m1": 1, "m2": 1}


def test_number_date_and_tag_conditions(pack: Any) -> None:
    records = [
        rec("r1", votes=3, decided="2024-03-01", level="县级"),
        rec("r2", votes=10, decided="2024-03-01", level="县级"),
        rec("r3", votes=5, decided="2024-02-29", level="县级"),
        rec("r4", votes=5, decided="2024-04-01", level="乡级"),
        rec("r5", votes=9.5, decided="2024-12-31", level="市级"),
    ]
    finding = one(run(pack, records), "VOTES")
    assert finding.evidence == ["r1", "r5"]


def test_a_people_field_includes_the_secretary_on_the_records_date(pack: Any) -> None:
    records = [rec("r1", attendees=["m1", "s1"]), rec("r2", attendees=["m1", "m2"])]
    assert one(run(pack, records), "ATTENDED").evidence == ["r1"]


def test_model_instances_carry_declared_fields(pack: Any) -> None:
    records = [ActivityRecord(id="r1", org="t1", type="meeting", date="2024-05-01", approved=True, topic="重大事项")]
    assert one(run(pack, records), "APPROVED").evidence == ["r1"]


# ---------------------------------------------------------------- readers


def test_a_wrong_type_is_rejected_with_file_line_field_and_reason(pack: Any, tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    rows = [rec("r1", approved="perhaps", topic="重大"), rec("r2", votes="many"), rec("r3", mood="good")]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    report = run(pack, [path])
    rejected = {(r.line, r.field, r.code) for r in report.input.rejections}
    assert rejected == {
        (1, "approved", "row.field.wrong_type"),
        (2, "votes", "row.field.wrong_type"),
        (3, "mood", "row.field.unknown"),
    }
    reason = next(r.reason for r in report.input.rejections if r.line == 1)
    assert "approved" in reason.en and "true or false" in reason.en
    assert one(report, "APPROVED").status is Status.undeterminable  # a rejected row may have evidenced it


def test_table_headers_use_the_declared_names(pack: Any, tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    path.write_text(
        "编号,组织,类型,日期,主持人,纪要已审定,议题,出席名单\n"
        "r1,t1,meeting,2024-05-01,s1,是,重大事项,m1；s1\n"
        "r2,t1,meeting,2024-05-02,s1,否,重大事项,m1\n",
        "utf-8",
    )
    report = run(pack, [path])
    assert not report.input.rejections
    assert one(report, "APPROVED").evidence == ["r1"]
    assert one(report, "ATTENDED").evidence == ["r1"]


def test_a_workbook_reads_declared_columns(pack: Any, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "活动记录"
    sheet.append(["编号", "组织", "类型", "日期", "主持人", "Minutes approved", "topic", "赞成票数"])
    sheet.append(["r1", "t1", "meeting", "2024-05-01", "s1", True, "重大事项", 4])
    sheet.append(["r2", "t1", "meeting", "2024-05-01", "s1", "x", "重大事项", 4])
    path = tmp_path / "records.xlsx"
    book.save(path)
    report = run(pack, [path])
    assert [(r.line, r.field, r.code) for r in report.input.rejections] == [(3, "approved", "row.field.wrong_type")]
    assert one(report, "APPROVED").evidence == ["r1"]


WHERE_ONLY = (
    "subject: organisation\nmatch:\n  types: [meeting]\n  where: {where}\nparams: {{period: year, at_least: 1}}\n"
)


def test_an_undeclared_where_field_is_refused_with_a_did_you_mean(tmp_path: Path) -> None:
    body = WHERE_ONLY.format(where="{aproved: true}")
    with pytest.raises(RulesError) as caught:
        load_rules(write_pack(tmp_path / "bad", {"BAD": body}))
    (problem,) = caught.value.problems
    assert problem.code == "rule.where.unknown_field"
    assert "'approved'" in problem.hint and problem.location.line > 0


OVERLAY_MANIFEST = """\
format: rules-engine/v1
pack:
  id: fields-local
  version: 1.0.0
  title: {zh: 地方细则, en: local rules}
  regulation: {id: fields-local, document: 《某地细则》}
  effective: {from: 2020-01-01}
overlay:
  extends: fields-pack
  organisations: [t1]
record_fields:
  minutes: {type: text, zh: 纪要, en: minutes}
"""


def test_an_overlay_rules_where_and_quorum_are_checked_when_loaded(tmp_path: Path) -> None:
    """Against the fields of its base pack and its own: located, with a did-you-mean, not at compile."""
    base = write_pack(tmp_path / "base", {"APPROVED": RULES_TEXT["APPROVED"]})
    local = write_pack(
        tmp_path / "local",
        {
            "LOCAL-OK": WHERE_ONLY.format(where="{approved: true, minutes: {contains: 决定}}"),
            "LOCAL-BAD": WHERE_ONLY.format(where="{aproved: true, minuts: {contains: 决定}}")
            + "quorum: {more_than: 1/2, of: team, attendees: atendees}\n",
        },
        OVERLAY_MANIFEST,
    )
    with pytest.raises(RulesError) as caught:
        load_rules(base, local)
    problems = caught.value.problems
    assert [(p.code, p.hint) for p in problems] == [
        ("rule.where.unknown_field", "是否应为 did you mean 'approved'?"),
        ("rule.where.unknown_field", "是否应为 did you mean 'minutes'?"),
        ("rule.quorum.attendees", "是否应为 did you mean 'attendees'?"),
    ]
    assert {(Path(p.location.file).parent.name, Path(p.location.file).name) for p in problems} == {
        ("local", "rules.yaml")
    }
    assert all(p.location.line > 0 for p in problems)
    # the same overlay without its mistakes loads and filters on both packs' fields
    ok = WHERE_ONLY.format(where="{approved: true, minutes: {contains: 决定}}")
    rules = load_rules(base, write_pack(tmp_path / "local", {"LOCAL-OK": ok}, OVERLAY_MANIFEST))
    records = [rec("r1", approved=True, minutes="会议决定"), rec("r2", approved=True, minutes="学习")]
    assert one(run(rules, records), "LOCAL-OK").evidence == ["r1"]


def test_a_condition_the_type_does_not_take_is_refused(tmp_path: Path) -> None:
    body = WHERE_ONLY.format(where="{approved: {at_least: 1}}")
    with pytest.raises(RulesError) as caught:
        load_rules(write_pack(tmp_path / "bad", {"BAD": body}))
    assert [p.code for p in caught.value.problems] == ["rule.where.bad_condition"]


# ---------------------------------------------------------------- quorum


@pytest.mark.parametrize("members", [2, 7, 500, 1001])
def test_more_than_half_is_exact_for_any_size(pack: Any, members: int) -> None:
    team = ["s1", *(f"m{i}" for i in range(1, members))]
    half = members // 2  # exactly half (even) or just below it (odd): not more than half
    records = [rec("short", attendees=team[:half]), rec("enough", attendees=team[: half + 1])]
    finding = one(run(pack, records, members), "HALF")
    assert finding.evidence == ["enough"]
    (rejected,) = finding.rejected
    assert rejected.record == "short"
    assert rejected.reason.en == f"attendance {half}/{members} does not reach more than 1/2"


@pytest.mark.parametrize("members", [2, 7, 500, 1001])
def test_the_integer_comparison_at_the_boundary(members: int) -> None:
    from fractions import Fraction

    more = QuorumSpec(Fraction(1, 2), True, None, "participants", False)
    least = QuorumSpec(Fraction(1, 2), False, None, "participants", False)
    assert not quorum_met(more, members // 2, members)  # exactly half, or just below it
    assert quorum_met(more, members // 2 + 1, members)
    assert quorum_met(least, -(-members // 2), members)
    assert not quorum_met(least, -(-members // 2) - 1, members)


def test_a_quorum_needs_its_attendees_field(pack: Any) -> None:
    finding = one(run(pack, [rec("r1", participants=["s1", "m1", "m2"])]), "HALF")
    assert finding.count == 0
    assert "lacks the field attendees" in finding.rejected[0].reason.en


def test_v1_attendance_gives_the_same_findings_as_its_quorum(tmp_path: Path) -> None:
    """The example's democratic life meeting rule (attendance: true, min_share: 2/3) rewritten as quorum:
    {at_least: 2/3, of: organisation} gives the same statuses, counts, evidence and rejected records."""
    import shutil

    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy, ignore=shutil.ignore_patterns("*.md"))
    path = copy / "minzhu-shenghuohui-2016" / "annual-meeting.yaml"
    text = path.read_text("utf-8")
    text = text.replace("        - param: min_share\n", "        - param: quorum\n")  # (the quorum's share is a number)
    text = text.replace("    attendance: true\n", "    quorum: {at_least: 2/3, of: organisation}\n")
    text = text.replace("min_share: 2/3}", "}").replace("at_least: 1, }", "at_least: 1}")
    path.write_text(text, "utf-8")
    args = dict(period="2024", as_of="2025-01-15")
    before = evaluate(load_rules(RULES), EXAMPLE / "roster.yaml", [EXAMPLE / "records.jsonl"], **args)
    after = evaluate(load_rules(copy), EXAMPLE / "roster.yaml", [EXAMPLE / "records.jsonl"], **args)

    def seen(report: Any) -> list[Any]:
        return [
            (f.organisation.id, f.status, f.count, f.evidence, [r.record for r in f.rejected])
            for f in findings(report, "MZ-01")
        ]

    assert seen(before) == seen(after)
    assert any(f.rejected for f in findings(before, "MZ-01"))  # (the example has meetings short of the share)


def test_a_repeated_id_with_other_declared_fields_is_a_conflict_not_a_duplicate(pack: Any) -> None:
    records = [rec("r1", approved=True, topic="重大"), rec("r1", approved=False, topic="重大")]
    report = run(pack, records)
    assert [(r.line, r.code) for r in report.input.rejections] == [(2, "row.duplicate.conflict")]
    assert one(report, "APPROVED").evidence == ["r1"]  # (the first; fulfilled whatever the conflict)
