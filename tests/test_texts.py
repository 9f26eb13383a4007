"""Reason codes and their texts: one table (rules_engine.texts) holds every row, duty and candidate text,
each code the source uses has one, none is left over, and a rejected row is a Problem that reports and the
CLI show with its code."""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path
from types import SimpleNamespace

import pytest

from rules_engine import read_report
from rules_engine.cli import main
from rules_engine.errors import Problem
from rules_engine.load.inputs import BadRow, read_records, read_roster
from rules_engine.texts import TEXTS, describe, text

SRC = Path(__file__).resolve().parent.parent / "src" / "rules_engine"
CODE = re.compile(r"^(row|na|unk|duty|candidate)\.[a-z_]+(\.[a-z_]+)*$")
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "county-2024"


def _constants() -> tuple[set[str], set[str]]:
    """Every string constant in the package's source but texts.py, and the first items of tuple literals."""
    strings: set[str] = set()
    heads: set[str] = set()
    for path in SRC.rglob("*.py"):
        if path.name == "texts.py" and path.parent == SRC:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
            elif isinstance(node, ast.Tuple) and node.elts:
                first = node.elts[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    heads.add(first.value)
    return strings, heads


def test_every_code_the_source_names_has_a_text() -> None:
    strings, _ = _constants()
    used = {s for s in strings if CODE.match(s)}
    assert {c for c in used if c.startswith("row.")}, "the scan finds the row codes"
    assert sorted(used - TEXTS.keys()) == []


def test_no_text_is_left_unused() -> None:
    strings, heads = _constants()
    unused = []
    for code in TEXTS:
        family, _, bare = code.partition(".")
        if family == "row":
            found = code in strings  # row codes are written out where the row is rejected
        elif family == "candidate":
            found = bare in heads  # the reason tuple a record was not counted for: ("outside",), ...
        else:
            found = bare in strings  # na=/unk= codes of an obligation, looked up as f"na.{ob.na}"
        if not found:
            unused.append(code)
    assert unused == []


def test_the_report_format_lists_every_row_code_with_its_texts() -> None:
    doc = (SRC.parent.parent / "docs" / "report-format.md").read_text(encoding="utf-8")
    rows = {line.split("`")[1]: line for line in doc.splitlines() if line.startswith("| `row.")}
    assert sorted(rows) == sorted(code for code in TEXTS if code.startswith("row."))
    assert [code for code, line in rows.items() if " / ".join(TEXTS[code]) not in line] == []


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_both_languages_take_the_same_values(code: str) -> None:
    zh, en = TEXTS[code]
    assert zh and en and zh != en
    assert _fields(zh) == _fields(en), f"{code}: the Chinese and English texts must show the same values"
    values = {name: f"<{name}>" for name in _fields(zh)}
    filled = text(code, **values)
    assert all(f"<{name}>" in filled[0] and f"<{name}>" in filled[1] for name in values)


def test_a_value_can_differ_by_language() -> None:
    assert text("candidate.participant", ref=("书记", "secretary")) == (
        "书记不在参加人员中",
        "the secretary is not among the participants",
    )


def test_an_unknown_reason_is_an_error_not_another_reasons_text() -> None:
    with pytest.raises(KeyError):
        text("row.no_such_reason")
    with pytest.raises(KeyError):  # it used to read as "no team members on the roster on that date"
        describe(SimpleNamespace(match=None), ("no_such_reason",), None, None)  # type: ignore[arg-type]


def test_a_rejected_row_is_a_problem_with_a_code_and_its_place(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(
        '{"id": "a", "org": "o", "type": "t", "date": "2024-02-30"}\n'
        '{"id": "b", "org": "o", "type": "t", "date": "2024-01-01", "colour": "red"}\n'
        '{"id": "c", "org": "o", "type": "t", "date": "2024-01-01", "tags": 7}\n'
        '{"id": "d", "org": "o", \n',
        encoding="utf-8",
    )
    rows = list(read_records(records))
    assert all(isinstance(row, BadRow) and isinstance(row, Problem) for row in rows)
    bad = [row for row in rows if isinstance(row, BadRow)]
    assert [(r.code, r.line, r.field, r.value) for r in bad] == [
        ("row.date.invalid", 1, "date", "2024-02-30"),
        ("row.field.unknown", 2, "colour", "red"),
        ("row.tags.invalid", 3, "tags", "7"),
        ("row.json.malformed", 4, None, '{"id": "d", "org": "o",'),
    ]
    shown = "row.date.invalid: 日期无效，应为 YYYY-MM-DD (invalid date, expected YYYY-MM-DD)"
    assert str(bad[0]) == f"{records}:1: {shown}"
    assert (bad[1].zh, bad[1].en) == ("未知字段 'colour'", "unknown field 'colour'")
    assert (bad[3].record_id, bad[3].org) == ("d", "o")  # what the broken line still shows


def test_roster_rows_have_codes_too(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "organisations:\n"
        "  - {id: o1, name: 一, kind: township}\n"
        "  - {id: o1, name: 二, kind: township}\n"
        "people:\n"
        "  - id: p1\n"
        "    name: 张三\n"
        "    posts:\n"
        "      - {org: nowhere, role: secretary, start: 2020-01-01}\n",
        encoding="utf-8",
    )
    rejected = read_roster(roster).rejected
    assert [(r.code, r.line, r.field) for r in rejected] == [
        ("row.org.duplicate_id", 3, "id"),
        ("row.post.unknown_org", 8, "org"),
    ]
    assert rejected[1].en == "post in unknown organisation 'nowhere' (person p1)"


def test_reports_carry_the_code_and_the_cli_prints_it(tmp_path: Path, capsys) -> None:
    args = ["evaluate", str(EXAMPLE), "--period", "2024", "--as-of", "2025-01-15"]
    out = tmp_path / "report.json"
    assert main([*args, "--format", "json", "-o", str(out)]) == 1
    doc = json.loads(out.read_text(encoding="utf-8"))
    entry = doc["input"]["rejections"][0]
    assert list(entry) == ["source", "line", "field", "value", "reason", "record_id", "code"]
    assert entry["code"] == "row.date.invalid"
    assert read_report(out).input.rejections[0].code == "row.date.invalid"
    capsys.readouterr()
    assert main(args) == 1
    source = str(EXAMPLE / "records.jsonl")
    assert f"  {source}:1179: row.date.invalid: 日期无效，应为 YYYY-MM-DD (invalid date" in capsys.readouterr().out
    # a report written before codes were added still reads
    for entry in doc["input"]["rejections"]:
        del entry["code"]
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    old = read_report(out).input.rejections[0]
    assert old.code is None and str(old.as_problem()).startswith(f"{source}:1179: row: ")
