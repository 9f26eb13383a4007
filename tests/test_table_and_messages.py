"""The table's input account (record rows and roster units apart) and the message for a short count."""

from __future__ import annotations

from typing import Any

from rules_engine import evaluate, load_rules, render_table

from .conftest import EXAMPLE, RULES, person, rec

MEETINGS = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 2}
"""
NONE_FOUND = "messages:\n  violated: {zh: '{organisation}未开会（实{actual}）', en: '{organisation} held no meeting'}\n"
SHORT = "  short: {zh: '{organisation}仅开会{actual}（应{expected}）', en: '{organisation} held only {actual}'}\n"


def test_the_table_counts_roster_rows_and_records_apart(make_pack, township: dict[str, Any]) -> None:
    rules = load_rules(make_pack(("ORG-1", MEETINGS)))
    roster = {
        **township,
        "people": [
            *township["people"],
            person("x1", "钱委员", "t9", "member"),  # a post in an organisation not on the roster
            person("x2", "孙委员", "t1", "chairman"),  # an unknown role
        ],
    }
    records = [rec("r1", "meeting", "2024-03-01"), rec("r2", "meeting", "2025-03-01")]
    report = evaluate(rules, roster, records, period="2024-H1", as_of="2024-12-31")
    footer = render_table(report).splitlines()
    line = next(x for x in footer if x.startswith("输入 input:"))
    assert "记录 records 2 条读入 read, 0 条拒收 rejected, 1 条排除 excluded" in line
    assert "名册 roster 7 项读入 units read, 2 项拒收 rejected" in line


def test_a_short_count_says_how_many_were_found(make_pack, township: dict[str, Any]) -> None:
    one = [rec("r1", "meeting", "2024-03-01")]
    with_short = load_rules(make_pack(("ORG-1", MEETINGS + NONE_FOUND + SHORT)))
    (short,) = evaluate(with_short, township, one, period="2024-H1", as_of="2024-12-31").findings
    assert (short.message.zh, short.message.en) == ("甲镇党委仅开会1次（应每半年至少2次）", "甲镇党委 held only 1")
    (none,) = evaluate(with_short, township, [], period="2024-H1", as_of="2024-12-31").findings
    assert none.message.en == "甲镇党委 held no meeting"
    without_short = load_rules(make_pack(("ORG-1", MEETINGS + NONE_FOUND)))
    (default,) = evaluate(without_short, township, one, period="2024-H1", as_of="2024-12-31").findings
    assert "did not fulfil" in default.message.en and "found 1" in default.message.en


def test_the_bundled_rules_say_how_many_meetings_were_held() -> None:
    report = evaluate(
        load_rules(RULES), EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024-H1", as_of="2025-01-15"
    )
    (chengguan,) = [f for f in report.findings if f.rule_id == "ZZ-DW-01" and f.organisation.id == "twn-chengguan"]
    assert chengguan.status.value == "violated" and chengguan.count == 1
    assert chengguan.message.zh == "城关镇党委在2024-H1仅专题研究全面从严治党工作1次（应每半年至少2次）"
    assert "held only 1 meeting(s)" in chengguan.message.en and "held no" not in chengguan.message.en


def test_a_homophone_typo_of_a_role_points_at_the_role_meant(township: dict[str, Any]) -> None:
    """'付书记' is '副书记' typed with a homophone: the hint must name the deputy secretary, not the
    secretary (a shorter word with a higher similarity ratio), or a deputy would get the secretary's duties."""
    from rules_engine.load.inputs import roster_from_data

    roster = {**township, "people": [*township["people"], person("x3", "李副书记", "t1", "付书记")]}
    (bad,) = roster_from_data(roster).rejected
    assert "'副书记'" in bad.zh and "'书记'" not in bad.zh
