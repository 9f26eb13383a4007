"""The command line: exit codes, schema, explain, usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rules_engine.cli import main

from .conftest import EXAMPLE, RULES


def test_schema_is_json_schema_of_rule_files(capsys) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "rules" in schema["properties"]
    rule = schema["$defs"]["Rule"]
    assert rule["additionalProperties"] is False
    assert {"id", "title", "citation", "provenance", "subject", "params"} <= set(rule["required"])
    assert {"match", "escalate"} <= set(rule["properties"])
    assert main(["schema", "--kind", "pack"]) == 0
    assert "record_types" in json.loads(capsys.readouterr().out)["properties"]


def test_explain_shows_citation_parameters_and_decisions(capsys) -> None:
    assert main(["explain", "ZZ-08-06", "--rules", str(RULES)]) == 0
    out = capsys.readouterr().out
    assert "书记每年同每名班子成员至少谈心谈话一次" in out
    assert "at_least = 1" in out and "violated" in out and "each pair (secretary x deputy_secretary/member)" in out
    assert (
        main(["explain", "ZZ-08-06", "--rules", str(RULES), "--param", "ZZ-08-06.at_least=3", "--format", "json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["params"]["at_least"] == {"value": 3, "set_by": "override"}


def test_explain_every_shipped_rule(capsys) -> None:
    from rules_engine import load_rules

    for loaded in load_rules(RULES).rules:
        assert main(["explain", loaded.rule.id, "--rules", str(RULES)]) == 0
    assert main(["explain", "ZZ-08-6", "--rules", str(RULES)]) == 2
    assert "did you mean 'ZZ-08-06'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024-H3"], "unrecognised period"),
        (["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "tomorrow"], "--as-of"),
        (["evaluate", "/nonexistent", "--rules", str(RULES), "--period", "2024"], "no such file"),
        (
            ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--param", "ZZ-X.at_least=2"],
            "unknown rule",
        ),
        (
            ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--param", "ZZ-DW-01.at_least=-1"],
            "must be at least 0",
        ),
        (["evaluate", str(EXAMPLE / "records.jsonl"), "--rules", str(RULES), "--period", "2024"], "no roster"),
    ],
)
def test_usage_errors_exit_2_with_a_message(args: list[str], needle: str, capsys) -> None:
    assert main(args) == 2
    assert needle in capsys.readouterr().err


def test_no_violation_exits_0_and_an_undecided_duty_4(tmp_path) -> None:
    args = ["evaluate", str(tmp_path), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-01"]
    (tmp_path / "roster.yaml").write_text(
        "organisations: [{id: t1, name: 甲镇党委, kind: grassroots}]\n"
        "people: [{id: s1, name: 张书记, posts: [{org: t1, role: secretary, start: 2020-01-01}]}]\n",
        encoding="utf-8",
    )
    lecture = '{"id": "k1", "org": "t1", "type": "jiang_dangke", "date": "2024-05-01", "chair": "s1"}\n'
    (tmp_path / "records.jsonl").write_text(lecture, encoding="utf-8")
    assert main(args) == 0  # every duty decided, none violated
    (tmp_path / "records.jsonl").write_text(lecture.replace("2024-05-01", "2025-05-01"), encoding="utf-8")
    assert main(args) == 1  # a lecture dated after the evaluation date is not evidence
    (tmp_path / "roster.yaml").write_text(
        "organisations: [{id: t1, name: 甲镇党委, kind: grassroots}]\npeople: []\n", encoding="utf-8"
    )
    (tmp_path / "records.jsonl").write_text("", encoding="utf-8")
    assert main(args) == 4  # nobody holds the post the rule names: undeterminable, no violation
    assert main([*args, "--fail-on", "violated"]) == 0


def test_python_dash_m_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "rules_engine", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "rules-engine" in result.stdout


def test_output_into_a_missing_folder_is_a_usage_error(tmp_path, capsys) -> None:
    out = tmp_path / "no" / "such" / "report.json"
    code = main(
        [
            "evaluate",
            str(EXAMPLE),
            "--rules",
            str(RULES),
            "--period",
            "2024",
            "--as-of",
            "2025-01-15",
            "--format",
            "json",
            "-o",
            str(out),
        ]
    )
    assert code == 2 and "cannot read or write" in capsys.readouterr().err


def test_null_override_is_refused(capsys) -> None:
    args = ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--param", "ZZ-DW-01.at_least=null"]
    assert main(args) == 2
    assert "is null" in capsys.readouterr().err


def test_empty_record_file_is_still_accounted(tmp_path) -> None:
    from rules_engine import evaluate, load_rules

    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    report = evaluate(
        load_rules(RULES),
        EXAMPLE / "roster.yaml",
        [EXAMPLE / "records.jsonl", tmp_path / "empty.jsonl"],
        period="2024",
        as_of="2025-01-15",
    )
    sources = {s.source: (s.read, s.used, s.rejected) for s in report.input.sources if s.kind == "records"}
    assert sources[str(tmp_path / "empty.jsonl")] == (0, 0, 0)


def test_verify_reproduces_a_saved_report_and_notices_changes(tmp_path, capsys) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    out = tmp_path / "report.json"
    args = [
        "evaluate",
        str(data),
        "--rules",
        str(RULES),
        "--period",
        "2024",
        "--as-of",
        "2025-01-15",
        "--format",
        "json",
        "-o",
        str(out),
        "--param",
        "ZZ-DW-01.at_least=2",
    ]
    assert main(args) == 1
    receipt = json.loads(out.read_bytes())["receipt"]
    assert receipt["params"] == {"ZZ-DW-01": {"at_least": 2}} and receipt["as_of"] == "2025-01-15"
    assert {i["kind"] for i in receipt["inputs"]} == {"roster", "records"}
    assert all(len(i["sha256"]) == 64 for i in receipt["inputs"])
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "reproduced byte for byte" in capsys.readouterr().out
    with (data / "records.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"id": "X1", "org": "county", "type": "zhuanti_huiyi", "date": "2024-03-01"}\n')
    assert main(["verify", str(out)]) == 1
    assert "file has changed" in capsys.readouterr().out


def test_coverage_file_is_generated_and_current() -> None:
    from pathlib import Path

    from rules_engine import load_rules
    from rules_engine.coverage import coverage_markdown

    root = Path(__file__).resolve().parents[1]
    expected = coverage_markdown(load_rules(root / "rules"), root / "tests" / "features")
    current = (root / "rules" / "COVERAGE.md").read_text(encoding="utf-8")
    assert current == expected, "rules/COVERAGE.md is stale: run `rules-engine coverage -o rules/COVERAGE.md`"
    assert "无场景 without scenarios" not in current  # every rule has scenarios
    assert "记录无法反映的职责" in current


def test_explain_shows_where_an_overlay_changes_or_retires_the_rule(capsys) -> None:
    assert main(["explain", "ZZ-DW-01", "--rules", str(RULES)]) == 0
    assert "at_least = 2 (set by mouxian-shishi-2024@1.0.0)" in capsys.readouterr().out
    assert main(["explain", "ZZ-YG-03", "--rules", str(RULES)]) == 0
    assert "retired in twn-chengguan" in capsys.readouterr().out


def test_table_lists_problems_by_default_and_everything_on_request(capsys) -> None:
    args = [
        "evaluate",
        str(EXAMPLE),
        "--rules",
        str(RULES),
        "--period",
        "2024",
        "--as-of",
        "2025-01-15",
        "--color",
        "never",
    ]
    main(args)
    short = capsys.readouterr().out
    assert "未履行 violated" in short and "已履行 fulfilled  " not in short and "未列出 not listed" in short
    main([*args, "--show", "all"])
    assert "已履行 fulfilled " in capsys.readouterr().out
    assert main([*args, "--show", "violatd"]) == 2


def test_refused_waiver_files_are_called_waiver_files(capsys) -> None:
    args = ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]
    assert main([*args, "--waivers", "no-such-waivers.yaml"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == "豁免文件有 1 处问题 1 problem(s) in the waiver files"
