"""The v2 JSON layout (each rule's parts once, findings naming them), reading either layout back, the report
schemas, and Parquet output with the CSV's columns."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import jsonschema
import orjson
import pyarrow.parquet as pq
import pytest

from rules_engine import (
    InputError,
    MissingExtra,
    compile_rules,
    evaluate,
    evaluate_to,
    load_rules,
    read_report,
    render_json,
)
from rules_engine.cli import main
from rules_engine.model.layout import RULE_KEYS, to_v1, to_v2
from rules_engine.render.csv import COLUMNS, render_csv
from rules_engine.schema import rule_schema

from .conftest import EXAMPLE, RULES

OPTIONS = {"period": "2024", "as_of": "2025-01-15", "waivers": [EXAMPLE / "waivers.yaml"]}
CLI = ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]
CLI += ["--waivers", str(EXAMPLE / "waivers.yaml")]


@pytest.fixture(scope="module")
def compiled():
    return compile_rules(load_rules(RULES))


@pytest.fixture(scope="module")
def report(compiled):
    return evaluate(compiled, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", **OPTIONS)


@pytest.fixture(scope="module")
def v2(compiled) -> bytes:
    out = io.BytesIO()
    evaluate_to(out, compiled, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", report_format="v2", **OPTIONS)
    return out.getvalue()


def test_v2_writes_each_rule_once_and_findings_name_it(v2: bytes, report) -> None:
    doc = orjson.loads(v2)
    assert doc["format"] == "rules-engine/report/v2" and list(doc)[-2:] == ["rules", "findings"]
    assert doc["packs"] == [p.model_dump(mode="json") for p in report.rules]
    assert all(list(entry) == list(RULE_KEYS) for entry in doc["rules"].values())
    assert {f["rule"] for f in doc["findings"]} <= set(doc["rules"])
    assert all(not set(RULE_KEYS) & set(f) for f in doc["findings"])  # nothing of the rule repeated
    assert len(doc["findings"]) == len(report) and len(v2) < 0.7 * len(render_json(report))
    # the county overlay's parameters for the townships make a second variant of ZZ-DW-01, kept apart
    dw = {k: e for k, e in doc["rules"].items() if e["rule_id"] == "ZZ-DW-01"}
    assert sorted(dw) == ["ZZ-DW-01", "ZZ-DW-01#2"]
    assert dw["ZZ-DW-01"]["params"]["at_least"] != dw["ZZ-DW-01#2"]["params"]["at_least"]
    used = {(f["organisation"]["kind"] == "township", f["rule"]) for f in doc["findings"] if "DW-01" in f["rule"]}
    assert used == {(True, "ZZ-DW-01#2"), (False, "ZZ-DW-01")}
    assert dw["ZZ-DW-01#2"]["params"]["at_least"]["set_by"].startswith("mouxian-shishi-2024")
    lines = v2.decode().split("\n")
    start = lines.index('  "findings": [') + 1
    assert [json.loads(line.rstrip(",")) for line in lines[start : start + len(report)]] == doc["findings"]
    assert lines[lines.index('  "rules": {') + 1].startswith('    "')  # one entry per line


def test_v2_bytes_are_the_same_streamed_or_rendered_and_each_run(v2: bytes, report, compiled) -> None:
    assert render_json(report, report_format="v2", rules=compiled) == v2
    again = io.BytesIO()
    evaluate_to(again, compiled, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", report_format="v2", **OPTIONS)
    assert again.getvalue() == v2
    other = compile_rules(load_rules(RULES), {"ZZ-DW-01": {"at_least": 5}})
    with pytest.raises(InputError, match="does not come from the rules given"):
        render_json(report, report_format="v2", rules=other)


@pytest.mark.slow
def test_either_layout_reads_back_into_the_same_report(v2: bytes, report, tmp_path: Path) -> None:
    v1 = render_json(report)
    assert read_report(v2) == report and read_report(v1) == report
    path = tmp_path / "report.json"
    path.write_bytes(v2)
    assert read_report(path) == report and read_report(str(path)) == report
    assert render_json(read_report(v2)) == v1  # v2 -> v1 byte for byte
    assert to_v1(orjson.loads(v2)) == orjson.loads(v1)
    derived = to_v2(orjson.loads(v1))  # without the compiled rules: the variants the findings use
    assert to_v1(derived) == orjson.loads(v1) and orjson.loads(render_json(report, report_format="v2")) == derived
    assert read_report(render_json(report, report_format="v2")) == report


def test_reading_something_else_is_a_located_error(v2: bytes, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a whole JSON report"):
        read_report(v2[:-100])
    with pytest.raises(InputError, match="not a rules-engine report"):
        read_report(b'{"format": "rules-engine/report/v9"}')
    doc = orjson.loads(v2)
    doc["findings"][3]["rule"] = "NO-SUCH"
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps(doc))
    with pytest.raises(InputError, match=r"bad\.json: findings\[3\] .* 'NO-SUCH'"):
        read_report(bad)
    del doc["packs"]
    with pytest.raises(InputError, match="packs"):
        read_report(orjson.dumps(doc))
    with pytest.raises(InputError, match="unknown report format 'v3'"):
        evaluate_to(io.BytesIO(), RULES, EXAMPLE / "roster.yaml", [], period="2024", report_format="v3")


def test_the_command_line_writes_v2_unless_asked_for_v1(tmp_path: Path, v2: bytes, report, capsys) -> None:
    out = tmp_path / "report.json"
    assert main([*CLI, "--format", "json", "-o", str(out)]) == 1
    assert out.read_bytes() == v2
    assert main([*CLI, "--format", "json", "--report-format", "v1", "-o", str(out)]) == 1
    assert out.read_bytes() == render_json(report)
    assert main([*CLI, "--format", "csv", "--report-format", "v1"]) == 2
    assert "--report-format" in capsys.readouterr().err


def test_verify_reproduces_a_v2_report_and_finds_a_change(tmp_path: Path, v2: bytes, monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    out = tmp_path / "report.json"
    args = ["evaluate", "examples/county-2024", "--period", "2024", "--as-of", "2025-01-15", "--format", "json"]
    assert main([*args, "-o", str(out)]) == 1
    assert main(["verify", str(out)]) == 0
    out.write_bytes(out.read_bytes().replace(b'"status":"violated"', b'"status":"fulfilled"', 1))
    assert main(["verify", str(out)]) == 1


@pytest.mark.parametrize("layout", ["v1", "v2"])
@pytest.mark.slow
def test_each_layout_is_valid_against_its_schema(layout: str, report, compiled, capsys) -> None:
    assert main(["schema", "--kind", f"report-{layout}"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == rule_schema(f"report-{layout}")
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    doc = json.loads(render_json(report, report_format=layout, rules=compiled))
    validator.validate(doc)
    other = "v2" if layout == "v1" else "v1"
    assert not validator.is_valid(json.loads(render_json(report, report_format=other, rules=compiled)))
    doc["findings"][0]["count"] = "three"
    assert not validator.is_valid(doc)


def _csv(report) -> list[list[object]]:
    rows = list(csv.reader(io.StringIO(render_csv(report).decode("utf-8-sig"), newline="")))
    count = COLUMNS.index("次数 count")
    return [[int(c) if i == count else c for i, c in enumerate(row)] for row in rows[1:]]


def test_parquet_has_the_csv_columns_and_rows(tmp_path: Path, report, compiled) -> None:
    out = tmp_path / "findings.parquet"
    assert main([*CLI, "--format", "parquet", "-o", str(out)]) == 1
    table = pq.read_table(out)
    assert table.column_names == list(COLUMNS)
    assert [list(row.values()) for row in table.to_pylist()] == _csv(report)
    assert str(table.schema.field("次数 count").type) == "int64"
    again = tmp_path / "again.parquet"
    evaluate_to(again, compiled, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", format="parquet", **OPTIONS)
    assert again.read_bytes() == out.read_bytes()  # the same bytes each run


def test_parquet_is_written_in_row_groups(tmp_path: Path, report, monkeypatch) -> None:
    from rules_engine.render import frames

    monkeypatch.setattr(frames, "ROW_GROUP", 100)
    out = io.BytesIO()
    frames.write_parquet(report.findings, out, row_group=100)
    assert not out.closed
    parquet = pq.ParquetFile(io.BytesIO(out.getvalue()))
    assert parquet.metadata.num_row_groups == 11 and parquet.metadata.num_rows == len(report)
    empty = io.BytesIO()
    frames.write_parquet([], empty)
    assert pq.read_table(io.BytesIO(empty.getvalue())).num_rows == 0


def test_parquet_output_is_whole_or_not_at_all(tmp_path: Path, compiled, monkeypatch) -> None:
    from rules_engine.render import frames

    out = tmp_path / "findings.parquet"
    out.write_bytes(b"previous")
    real = frames._write_group
    calls = []

    def failing(*args):  # the second row group fails, after the first was written
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(*args)

    monkeypatch.setattr(frames, "_write_group", failing)
    monkeypatch.setattr(frames, "ROW_GROUP", 100)
    with pytest.raises(RuntimeError, match="disk on fire"):
        evaluate_to(out, compiled, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", format="parquet", **OPTIONS)
    assert out.read_bytes() == b"previous" and sorted(p.name for p in tmp_path.iterdir()) == ["findings.parquet"]


def test_parquet_without_pyarrow_names_the_extra_and_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    out = tmp_path / "findings.parquet"
    with pytest.raises(MissingExtra, match=r"duty-rules-engine\[parquet\]"):
        evaluate_to(out, RULES, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", format="parquet", period="2024")
    assert main([*CLI, "--format", "parquet", "-o", str(out)]) == 2
    assert "pip install 'duty-rules-engine[parquet]'" in capsys.readouterr().err and not out.exists()
