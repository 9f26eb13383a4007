"""The bundled county example gives exactly the findings its README lists."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import Counter

from rules_engine import Status, evaluate, load_rules, render_json
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES

EXPECTED = {
    ("ZZ-DW-01", "twn-liuhe", "twn-liuhe", "", "2024-H2", "violated"),
    ("ZZ-08-01", "twn-liuhe", "p052", "", "2024-H2", "violated"),
    ("ZZ-08-01", "finance-pg", "p026", "", "2024-H1", "violated"),
    ("ZZ-08-06", "county", "p001", "p007", "2024", "violated"),
    ("ZZ-08-06", "county", "p001", "p008", "2024", "violated"),
    ("ZZ-YG-01", "edu-pg", "p014", "财务审计", "2024-H2", "violated"),
    ("ZZ-YG-03", "twn-chengguan", "p039", "统战", "2024", "violated"),
    ("MZ-01", "health-pg", "health-pg", "", "2024", "violated"),
    ("ZZ-08-05", "health-pg", "p018", "", "2024", "violated"),
    ("ZZ-DC-01", "twn-chengguan", "R0239", "", "2024-05-10+30d", "violated"),
    ("ZZ-DC-01", "edu-pg", "R0694", "", "2024-12-16+30d", "pending"),
    ("ZZ-DW-01", "twn-shiqiao", "twn-shiqiao", "", "2024-H2", "undeterminable"),
    ("ZZ-08-01", "twn-shiqiao", "p059", "", "2024-H2", "undeterminable"),
    ("MZ-01", "twn-chengguan", "twn-chengguan", "", "2024", "not_applicable"),
    ("MZ-01", "twn-qingshan", "twn-qingshan", "", "2024", "not_applicable"),
    ("MZ-01", "twn-liuhe", "twn-liuhe", "", "2024", "not_applicable"),
    ("MZ-01", "twn-shiqiao", "twn-shiqiao", "", "2024", "not_applicable"),
}


def _report():
    return evaluate(
        load_rules(RULES), EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of="2025-01-15"
    )


def test_example_findings_match_the_readme() -> None:
    report = _report()
    got = set()
    for f in report.findings:
        if f.status is Status.fulfilled:
            continue
        extra = (f.subject.second.id if f.subject.second else None) or f.subject.portfolio or ""
        got.add((f.rule_id, f.organisation.id, f.subject.id, extra, f.period.label, f.status.value))
    assert got == EXPECTED
    assert report.summary == {"fulfilled": 486, "violated": 10, "pending": 1, "not_applicable": 4, "undeterminable": 2}
    (records,) = [s for s in report.input.sources if s.kind == "records"]
    assert (records.read, records.used, records.rejected) == (728, 727, 1)


def test_example_explains_its_findings() -> None:
    report = _report()
    by_key = {(f.rule_id, f.subject.id, f.period.label): f for f in report.findings}
    finance = by_key[("ZZ-08-01", "p026", "2024-H1")]
    assert [r.record for r in finance.rejected] == ["R0238"] and "p027" in finance.rejected[0].reason.zh
    health = by_key[("MZ-01", "health-pg", "2024")]
    assert "5/8" in health.rejected[0].reason.zh
    shiqiao = by_key[("ZZ-DW-01", "twn-shiqiao", "2024-H2")]
    assert "records.jsonl:728" in shiqiao.reason.zh
    assert by_key[("ZZ-DW-01", "finance-pg", "2024-H1")].status is Status.fulfilled


def test_mid_year_move_is_judged_per_post() -> None:
    report = _report()
    moves = [f for f in report.findings if f.subject.id == "p043"]
    windows = Counter((f.organisation.id, f.window.start, f.window.end) for f in moves)
    assert set(windows) == {("twn-qingshan", "2024-01-01", "2024-06-30"), ("county", "2024-07-01", "2024-12-31")}
    assert all(f.status is Status.fulfilled for f in moves)


def test_example_generator_reproduces_the_data(tmp_path) -> None:
    before = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in EXAMPLE.glob("*")
        if p.suffix in (".yaml", ".jsonl", ".md") and p.name != "README.md"
    }
    subprocess.run(
        [sys.executable, str(EXAMPLE / "generate.py"), "--out", str(tmp_path)], check=True, capture_output=True
    )
    after = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in before}
    assert after == before


def test_cli_on_the_example(tmp_path, capsys) -> None:
    out = tmp_path / "report.json"
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
    assert code == 1  # violations found
    assert out.read_bytes() == render_json(_report())
    code = main(
        [
            "evaluate",
            str(EXAMPLE),
            "--rules",
            str(RULES),
            "--period",
            "2024-H1",
            "--as-of",
            "2025-01-15",
            "--show",
            "violated",
            "--color",
            "never",
        ]
    )
    text = capsys.readouterr().out
    assert code == 1 and "县财政局党组" in text and "柳河乡党委" not in text
