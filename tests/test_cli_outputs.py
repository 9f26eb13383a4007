"""Several outputs from one evaluation (``-o a.json -o a.xlsx -o a.html``), the --org/--rule/--show filters for
every format, and the summary view (``--format summary``)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path

import pytest

import rules_engine.cli_outputs as cli_outputs
from rules_engine import evaluate, load_rules
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES

ARGS = [str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]
ARGS += ["--waivers", str(EXAMPLE / "waivers.yaml")]


@pytest.fixture(scope="module")
def whole():
    return evaluate(
        load_rules(RULES),
        EXAMPLE / "roster.yaml",
        [EXAMPLE / "records.jsonl"],
        period="2024",
        as_of="2025-01-15",
        waivers=[EXAMPLE / "waivers.yaml"],
    )


def _single(tmp_path: Path, fmt: str, name: str) -> bytes:
    out = tmp_path / "single" / name
    out.parent.mkdir(exist_ok=True)
    main(["evaluate", *ARGS, "--format", fmt, "-o", str(out)])
    return out.read_bytes()


@pytest.mark.slow
def test_several_outputs_from_one_evaluation_each_as_its_single_format(tmp_path, monkeypatch, capsys) -> None:
    pytest.importorskip("xlsxwriter")
    pytest.importorskip("jinja2")
    openpyxl = pytest.importorskip("openpyxl")
    calls = []
    real = cli_outputs.evaluate
    monkeypatch.setattr(cli_outputs, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    names = ["r.json", "r.csv", "r.xml", "r.txt", "r.xlsx", "r.html"]
    argv = ["evaluate", *ARGS]
    for name in names:
        argv += ["-o", str(tmp_path / name)]
    assert main(argv) == 1
    assert calls == [1]  # one evaluation for every output
    assert capsys.readouterr().out == ""
    for name, fmt in [("r.json", "json"), ("r.csv", "csv"), ("r.xml", "junit"), ("r.txt", "table")]:
        assert (tmp_path / name).read_bytes() == _single(tmp_path, fmt, name), name
    assert (tmp_path / "r.html").read_bytes() == _single(tmp_path, "html", "r.html")
    book = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)
    assert "摘要" in book.sheetnames[0]


def test_one_output_takes_its_format_from_its_extension(tmp_path) -> None:
    out = tmp_path / "r.json"
    assert main(["evaluate", *ARGS, "-o", str(out)]) == 1
    assert json.loads(out.read_bytes())["format"] == "rules-engine/report/v2"
    other = tmp_path / "r.out"  # an extension that names no format: the table, as before
    main(["evaluate", *ARGS, "-o", str(other)])
    assert other.read_text(encoding="utf-8").startswith("评价期间 period 2024")


def test_one_failing_output_writes_none_and_names_it(tmp_path, capsys) -> None:
    kept = tmp_path / "r.json"
    kept.write_bytes(b"before")
    missing = tmp_path / "no-such-folder" / "r.csv"
    code = main(["evaluate", *ARGS, "-o", str(kept), "-o", str(missing), "-o", str(tmp_path / "r.txt")])
    err = capsys.readouterr().err
    assert code == 2
    assert str(missing) in err and "none of the other outputs" in err
    assert kept.read_bytes() == b"before"  # the earlier file stays as it was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary file left behind


def test_outputs_refused_before_anything_is_written(tmp_path, capsys) -> None:
    roster = EXAMPLE / "roster.yaml"
    before = roster.read_bytes()
    assert main(["evaluate", *ARGS, "--format", "json", "-o", str(tmp_path / "a.json"), "-o", str(roster)]) == 2
    assert roster.read_bytes() == before and "over an input" in capsys.readouterr().err
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "a.json")
    assert main(["evaluate", *ARGS, "-o", str(tmp_path / "a.json"), "-o", str(link)]) == 2
    assert "same file" in capsys.readouterr().err
    assert (
        main(["evaluate", *ARGS, "--format", "json", "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.csv")])
        == 2
    )
    assert "does not match" in capsys.readouterr().err
    assert main(["evaluate", *ARGS, "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.out")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json"]
    # --format that matches every -o is accepted
    assert (
        main(["evaluate", *ARGS, "--format", "json", "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.json")])
        == 1
    )
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_org_and_rule_filters_apply_to_every_format_and_say_so(tmp_path, whole, capsys) -> None:
    out, table = tmp_path / "r.json", tmp_path / "r.csv"
    code = main(
        ["evaluate", *ARGS, "--org", "twn-qingshan", "--rule", "ZZ-YG-01,SH-02", "-o", str(out), "-o", str(table)]
    )
    data = json.loads(out.read_bytes())
    kept = [f for f in whole.findings if f.organisation.id == "twn-qingshan" and f.rule_id in ("ZZ-YG-01", "SH-02")]
    assert kept and len(data["findings"]) == len(kept)
    assert {f["organisation"]["id"] for f in data["findings"]} == {"twn-qingshan"}
    counted = Counter(f.status.value for f in kept)
    assert data["summary"] == {k: counted.get(k, 0) for k in whole.summary}  # the summary counts what was kept
    assert data["filter"]["organisations"] == ["twn-qingshan"] and data["filter"]["rules"] == ["SH-02", "ZZ-YG-01"]
    assert data["filter"]["all"] == whole.summary
    assert data["input"] == json.loads(whole.model_dump_json())["input"]  # the input account is whole
    rows = list(csv.reader(io.StringIO((table).read_text(encoding="utf-8-sig"))))[1:]
    assert len(rows) == len(kept) and {r[3] for r in rows} == {"twn-qingshan"}
    assert "筛选 filter" in capsys.readouterr().err  # CSV has no header to say so
    expected = 1 if counted.get("violated") else (4 if whole.input.rejections else 0)
    assert code == expected


def test_show_lists_statuses_in_json_and_the_summary_counts_all(tmp_path, whole) -> None:
    out = tmp_path / "r.json"
    main(["evaluate", *ARGS, "--show", "violated", "-o", str(out)])
    data = json.loads(out.read_bytes())
    assert {f["status"] for f in data["findings"]} == {"violated"}
    assert len(data["findings"]) == whole.summary["violated"]
    assert data["summary"] == whole.summary and data["filter"]["statuses"] == ["violated"]
    unfiltered = tmp_path / "all.json"
    main(["evaluate", *ARGS, "-o", str(unfiltered)])
    assert "filter" not in json.loads(unfiltered.read_bytes())  # no filter, no key: the bytes as before


def test_table_with_a_filter_says_so(capsys) -> None:
    main(["evaluate", *ARGS, "--org", "county"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("筛选 filter: 组织 organisations county")
    assert not [line for line in lines if line.startswith("== ") and "county" not in line]


def test_unknown_org_or_rule_is_refused(tmp_path, capsys) -> None:
    assert main(["evaluate", *ARGS, "--org", "twn-qingshna", "-o", str(tmp_path / "r.json")]) == 2
    assert "twn-qingshan" in capsys.readouterr().err  # did you mean
    assert main(["evaluate", *ARGS, "--rule", "ZZ-XX-99", "-o", str(tmp_path / "r.json")]) == 2
    assert "ZZ-XX-99" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_summary_view_counts_by_organisation_and_rule(whole, capsys) -> None:
    assert main(["evaluate", *ARGS, "--format", "summary"]) == 1
    text = capsys.readouterr().out
    assert len(text.splitlines()) < 60  # not a line per finding
    for org, findings in whole.by_org().items():
        row = next(line for line in text.splitlines() if line.startswith(org + " "))
        assert row.split()[-1] == str(len(findings))
        assert row.split()[2] == str(sum(f.status.value == "violated" for f in findings))
    for rule, findings in whole.by_rule().items():
        row = next(line for line in text.splitlines() if line.startswith(rule + " "))
        assert row.split()[-1] == str(len(findings))
    assert "合计 summary:" in text and "输入 input:" in text
    assert main(["evaluate", *ARGS, "--summary"]) == 1
    assert capsys.readouterr().out == text
    assert main(["evaluate", *ARGS, "--summary", "--format", "json"]) == 2


def test_report_command_writes_several_outputs(tmp_path, capsys) -> None:
    pytest.importorskip("xlsxwriter")
    pytest.importorskip("jinja2")
    outs = [tmp_path / "r.xlsx", tmp_path / "r.html", tmp_path / "r.json"]
    argv = ["report", *ARGS]
    for out in outs:
        argv += ["-o", str(out)]
    assert main(argv) == 1
    assert all(out.stat().st_size > 0 for out in outs)
    assert json.loads(outs[2].read_bytes())["format"] == "rules-engine/report/v2"
    err = capsys.readouterr().err
    assert all(f"wrote {out}" in err for out in outs)
    assert os.listdir(tmp_path) and main(["report", *ARGS, "-o", str(tmp_path / "r.txt")]) == 2
