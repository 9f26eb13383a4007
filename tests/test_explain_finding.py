"""``rules-engine explain RULE --subject ID --period P INPUTS``: one finding explained like a trace (records
counted with date and file:line, candidates rejected and why, the decision in words)."""

from __future__ import annotations

import json

from rules_engine import evaluate, load_rules
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES

BASE = ["--rules", str(RULES), "--as-of", "2025-01-15"]


def _lines() -> list[dict]:
    return [json.loads(line) for line in (EXAMPLE / "records.jsonl").read_text(encoding="utf-8").splitlines()]


def test_explain_a_violated_finding_names_the_rejected_candidate_and_decides_in_words(capsys) -> None:
    code = main(["explain", "ZZ-08-01", "--subject", "p026", "--period", "2024-H1", *BASE, str(EXAMPLE)])
    out = capsys.readouterr().out
    assert code == 0
    assert "records.jsonl:386" in out and "R0386" in out and "2024-04-30" in out  # R0386 is line 386
    assert "主持人为 p027，不是责任人本人 / chaired by p027, not the subject" in out
    assert "应为 expected: 每半年至少1次 / at least 1 per half-year" in out
    assert "结论 status:   未履行 violated — 判定区间已结束" in out
    # not the engine's decision codes (explain RULE prints those: 'violated when n < ... and due == ...')
    assert " when " not in out and "due" not in out


def test_explain_json_lists_every_record_counted_with_its_place(capsys) -> None:
    report = evaluate(
        load_rules(RULES),
        EXAMPLE / "roster.yaml",
        [EXAMPLE / "records.jsonl"],
        period="2024",
        as_of="2025-01-15",
        max_evidence=1_000_000,
    )
    f = next(f for f in report.findings if f.rule_id == "ZZ-DW-01" and f.organisation.id == "county")
    assert f.count >= 2
    argv = ["explain", "ZZ-DW-01", "--org", "county", "--period", "2024", "--format", "json", *BASE, str(EXAMPLE)]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["findings"]) == 2  # H1 and H2
    trace = next(t for t in data["findings"] if t["window"] == f"{f.window.start}..{f.window.end}")
    assert [r["id"] for r in trace["counted"]] == f.evidence and len(trace["counted"]) == f.count
    rows = _lines()
    for r in trace["counted"]:
        assert r["source"].endswith("records.jsonl")
        assert rows[r["line"] - 1]["id"] == r["id"] and rows[r["line"] - 1]["date"] == r["date"]
    assert trace["decision"]["status"] == f.status.value and trace["decision"]["found"] == f.actual.model_dump()


def test_explain_without_a_matching_finding_is_refused(capsys) -> None:
    assert main(["explain", "ZZ-08-01", "--subject", "p02", "--period", "2024-H1", *BASE, str(EXAMPLE)]) == 2
    assert "no finding of ZZ-08-01" in capsys.readouterr().err
    assert main(["explain", "ZZ-08-01", "--subject", "p026", *BASE]) == 2  # no period, no inputs
    assert "--period" in capsys.readouterr().err


def test_explain_a_rule_still_works_without_inputs(capsys) -> None:
    assert main(["explain", "ZZ-08-01", "--rules", str(RULES)]) == 0
    assert "判定 decisions" in capsys.readouterr().out
