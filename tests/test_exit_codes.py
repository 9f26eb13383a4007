"""Exit codes a CI gate can rely on (0 decided and clean, 1 violations, 4 incomplete), --fail-on, and broken
rows that taint only the duties they can belong to."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from rules_engine import InputError, Status, Summary, evaluate, evaluate_to, exit_code, load_rules, read_report
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES, person, rec

MEETINGS = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 1}
"""


@pytest.mark.parametrize(
    ("summary", "rejected", "fail_on", "code"),
    [
        ({"fulfilled": 3}, 0, "violated,incomplete", 0),
        ({"fulfilled": 3, "pending": 2, "waived": 1, "not_applicable": 1}, 0, "violated,incomplete", 0),
        ({"violated": 1}, 0, "violated,incomplete", 1),
        ({"violated": 1, "undeterminable": 2}, 3, "violated,incomplete", 1),  # violations take precedence
        ({"undeterminable": 1}, 0, "violated,incomplete", 4),
        ({"fulfilled": 1}, 1, "violated,incomplete", 4),  # a rejected row alone: incomplete
        ({"undeterminable": 1}, 1, "violated", 0),  # the gate chose to ignore incompleteness
        ({"violated": 2}, 0, "violated", 1),
        ({"fulfilled": 1}, 1, "rejected", 4),
        ({"undeterminable": 1}, 0, "rejected", 0),
        ({"pending": 1}, 0, "violated,incomplete,pending", 4),
        ({"violated": 1}, 0, ["undeterminable"], 0),
    ],
)
def test_exit_code_decision(summary: dict[str, int], rejected: int, fail_on: Any, code: int) -> None:
    assert exit_code(summary, rejected, fail_on) == code
    assert Summary(summary, rejected).exit_code(fail_on) == code


def test_fail_on_refuses_unknown_and_empty_conditions(capsys) -> None:
    with pytest.raises(InputError, match="did you mean 'violated'"):
        exit_code({}, 0, "violatd")
    with pytest.raises(InputError, match="at least one"):
        exit_code({}, 0, " , ")
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", str(EXAMPLE), "--period", "2024", "--fail-on", "incompleet"])
    assert stop.value.code == 2
    assert "did you mean 'incomplete'" in capsys.readouterr().err


def test_help_documents_the_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    out = capsys.readouterr().out
    assert "--fail-on" in out and "4  无未履行但检查不完整" in out and "incomplete" in out


def _example(tmp_path: Path, records: bytes) -> Path:
    folder = tmp_path / "county"
    folder.mkdir()
    shutil.copy(EXAMPLE / "roster.yaml", folder / "roster.yaml")
    (folder / "records.jsonl").write_bytes(records)
    return folder


def _run(folder: Path, *extra: str) -> int:
    args = ["evaluate", str(folder), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]
    return main([*args, "--waivers", str(EXAMPLE / "waivers.yaml"), *extra])


def _report(path: Path) -> dict[str, Any]:
    """The report file the command line wrote (v2, its default), as the v1 document."""
    data: dict[str, Any] = read_report(path).model_dump(mode="json")
    return data


@pytest.mark.parametrize("form", ["table", "json", "csv"])
def test_the_example_exits_1_and_4_when_its_broken_last_line_hides_its_organisation(tmp_path: Path, form: str) -> None:
    """The intact example has violations, undeterminable findings and a rejected row: 1. Its last line cut
    before the organisation could belong to any organisation: every violation becomes undeterminable, and
    the run exits 4, never 0."""
    lines = (EXAMPLE / "records.jsonl").read_bytes().splitlines(keepends=True)
    out = tmp_path / f"report.{form}"
    assert _run(EXAMPLE, "--format", form, "-o", str(out)) == 1
    cut = _example(tmp_path, b"".join(lines[:-1]) + lines[-1][: lines[-1].index(b'"org"') + 10])
    assert _run(cut, "--format", form, "-o", str(out)) == 4
    assert _run(cut, "--format", form, "-o", str(out), "--fail-on", "violated") == 0
    if form == "json":
        report = _report(out)
        assert report["summary"]["violated"] == 0 and report["summary"]["undeterminable"] == 28
        (rejection,) = report["input"]["rejections"]
        assert rejection["line"] == 1179 and "malformed JSON" in rejection["reason"]["en"]


def test_the_example_cut_after_its_organisation_taints_that_organisation_only(tmp_path: Path) -> None:
    """The last line cut after its org and type: only that township's meeting duties lose their footing;
    the violations elsewhere are real and the run exits 1 (violations take precedence)."""
    lines = (EXAMPLE / "records.jsonl").read_bytes().splitlines(keepends=True)
    last = lines[-1]
    cut = _example(tmp_path, b"".join(lines[:-1]) + last[: last.index(b'"date"')])
    out = tmp_path / "report.json"
    assert _run(cut, "--format", "json", "-o", str(out)) == 1
    report = _report(out)
    undeterminable = {
        (f["rule_id"], f["organisation"]["id"], f["period"]["label"])
        for f in report["findings"]
        if f["status"] == "undeterminable"
    }
    assert undeterminable == {("ZZ-DW-01", "twn-shiqiao", "2024-H2"), ("ZZ-08-01", "twn-shiqiao", "2024-H2")}
    assert report["summary"]["violated"] == 26
    (rejection,) = report["input"]["rejections"]
    assert rejection["record_id"] == "R1179"


def test_random_bytes_as_records_never_exit_0(tmp_path: Path) -> None:
    noise = random.Random(9).randbytes(200_000)
    folder = _example(tmp_path, noise)
    assert _run(folder, "--format", "json", "-o", str(tmp_path / "r.json")) == 4
    assert _run(folder) == 4
    (folder / "records.jsonl").rename(folder / "records.csv")
    assert _run(folder, "--format", "json", "-o", str(tmp_path / "r.json")) in (2, 4)


def _two_townships() -> dict[str, Any]:
    return {
        "organisations": [
            {"id": "t1", "name": "甲镇党委", "kind": "township"},
            {"id": "t2", "name": "乙镇党委", "kind": "township"},
        ],
        "people": [person("s1", "张书记", "t1", "secretary"), person("s2", "李书记", "t2", "secretary")],
    }


def _statuses(report: Any) -> dict[tuple[str, str], Status]:
    return {(f.organisation.id, f.period.label): f.status for f in report.findings}


GOOD = [
    json.dumps(rec("a1", "meeting", "2024-03-01", "s1")),
    json.dumps(rec("a2", "meeting", "2024-09-01", "s1")),  # t1: both halves held
    json.dumps(rec("b1", "meeting", "2024-03-01", "s2", org="t2")),  # t2: none in H2
]


@pytest.mark.parametrize(
    ("broken", "t1_h2", "t2_h2", "code"),
    [
        # shows t2 and a type the duty counts: t2's H2 cannot be decided; t1's duties are decided
        ('{"id": "b9", "org": "t2", "type": "meeting", "date": "2024-', Status.fulfilled, Status.undeterminable, 4),
        # shows t2 and another type: the meeting duties are decided
        ('{"id": "b9", "org": "t2", "type": "talk", "date": "2024-', Status.fulfilled, Status.violated, 1),
        # shows nothing that says where it belongs: as before, it could belong anywhere
        ('{"id": "b9", "or', Status.fulfilled, Status.undeterminable, 4),
        # two records run together: neither organisation can be trusted
        ('{"id": "b9", "org": "t1", "ty{"id": "b8", "org": "t2"}', Status.fulfilled, Status.undeterminable, 4),
    ],
)
def test_a_broken_json_line_taints_what_its_text_still_shows(
    make_pack, tmp_path: Path, broken: str, t1_h2: Status, t2_h2: Status, code: int
) -> None:
    rules = load_rules(make_pack(("ORG-1", MEETINGS)))
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join([*GOOD, broken]), encoding="utf-8")
    report = evaluate(rules, _two_townships(), path, period="2024", as_of="2025-01-15")
    statuses = _statuses(report)
    assert (statuses[("t1", "2024-H2")], statuses[("t2", "2024-H2")]) == (t1_h2, t2_h2)
    assert report.exit_code() == code
    summary = evaluate_to(tmp_path / "r.json", rules, _two_townships(), path, period="2024", as_of="2025-01-15")
    assert summary.exit_code() == code and summary.rejected == 1 and summary == report.summary


def test_a_broken_line_that_hides_its_organisation_taints_every_organisation(make_pack, tmp_path: Path) -> None:
    rules = load_rules(make_pack(("ORG-1", MEETINGS)))
    path = tmp_path / "records.jsonl"
    no_t1_h2 = [GOOD[0], GOOD[2]]
    cases = [
        ('{"id": "b9", "org": "t2", "type": "meet', Status.violated),  # shows t2: t1 is judged without it
        ('{"id": "b9"', Status.undeterminable),
        ('{"id": "b9", "org": "t1", "org": "t2", "da', Status.undeterminable),  # which one?
        ('{"id": "b9", {"id": "b8", "org": "t2", "type": "meeting"}', Status.undeterminable),  # b9's org is cut
    ]
    for broken, t1 in cases:
        path.write_text("\n".join([*no_t1_h2, broken]), encoding="utf-8")
        report = evaluate(rules, _two_townships(), path, period="2024", as_of="2025-01-15")
        assert _statuses(report)[("t1", "2024-H2")] is t1
        assert _statuses(report)[("t2", "2024-H2")] is Status.undeterminable


CSV_HEAD = "id,org,type,date,chair\nb1,t2,meeting,2024-03-01,s2\na1,t1,meeting,2024-03-01,s1\n"


@pytest.mark.parametrize(
    ("broken", "t1_h2"),
    [
        ("b9,t2,meeting,2024-0", Status.violated),  # cut short: the cells before the last one are whole
        ("b9,t2", Status.undeterminable),  # the org cell may itself be cut short
        ("b9,t2,meeting,2024-09-01,s2,extra", Status.undeterminable),  # too many cells: could be two rows
        ('b9,t2,"meeting\nb8,t1', Status.undeterminable),  # an open quote swallowed a line: could be t1's
    ],
)
def test_a_broken_csv_row_taints_what_its_cells_still_show(
    make_pack, tmp_path: Path, broken: str, t1_h2: Status
) -> None:
    rules = load_rules(make_pack(("ORG-1", MEETINGS)))
    path = tmp_path / "records.csv"
    path.write_text(CSV_HEAD + broken + "\n", encoding="utf-8")
    report = evaluate(rules, _two_townships(), path, period="2024", as_of="2025-01-15")
    statuses = _statuses(report)
    assert statuses[("t1", "2024-H2")] is t1_h2
    assert statuses[("t2", "2024-H2")] is Status.undeterminable
    assert len(report.input.rejections) == 1 and "columns" in report.input.rejections[0].reason.en
