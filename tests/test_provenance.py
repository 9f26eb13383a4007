"""Honest provenance: each number a shipped rule enforces says whether it is the regulation's text, commentary
or the pack's own choice; a claim of verified text needs a source saying where the text was seen; explain and
COVERAGE.md show the basis of each number."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rules_engine import lint, load_rules
from rules_engine.cli import main
from rules_engine.coverage import coverage_markdown
from rules_engine.load.provenance import enforced_numbers
from rules_engine.model.rules import Basis, Citation, Grounds, Wording

from .conftest import RULES


def test_every_shipped_rule_states_the_basis_of_each_number_it_enforces() -> None:
    for loaded in load_rules(RULES).rules:
        rule = loaded.rule
        stated = {n.param: n for n in rule.provenance.numbers}
        assert sorted(stated) == sorted(enforced_numbers(rule)), rule.id
        if "min_days_in_post" in stated:  # days in post are the pack's tolerance, never the regulation's
            assert stated["min_days_in_post"].basis is Grounds.tolerance, rule.id
        for number in stated.values():
            assert number.note is not None and number.note.zh and number.note.en, (rule.id, number.param)


def test_no_shipped_rule_claims_more_than_its_sources() -> None:
    """Nothing shipped is verified text (no source was read), and no rule is surer than any of its parts."""
    for loaded in load_rules(RULES).rules:
        prov = loaded.rule.provenance
        claims = [prov.basis, *(s.basis for s in prov.sources)]
        assert Basis.verified_text not in claims, loaded.rule.id
        parts = [*prov.numbers, *prov.conditions]
        assert all(p.basis is not Grounds.verified_text for p in parts), loaded.rule.id
    # the numbers the audit found overstated are now labelled as the pack's choice, confidence low
    by_id = {loaded.rule.id: loaded.rule for loaded in load_rules(RULES).rules}
    for rule_id in ("ZZ-08-02", "ZZ-08-05", "ZZ-YG-01", "ZZ-YG-02", "ZZ-YG-03", "ZZ-ESC-01", "ZZ-ESC-02"):
        prov = by_id[rule_id].provenance
        assert prov.confidence == "low", rule_id
        assert {n.basis for n in prov.numbers} <= {Grounds.local_practice, Grounds.tolerance}, rule_id
    assert by_id["ZZ-ESC-01"].severity.value == "high" and by_id["ZZ-ESC-02"].severity.value == "high"


def test_a_shipped_rule_claiming_verified_text_without_a_source_is_refused(tmp_path: Path) -> None:
    pack = tmp_path / "zhuti-zeren-2020"
    shutil.copytree(RULES / "zhuti-zeren-2020", pack)
    committee = pack / "committee.yaml"
    text = committee.read_text(encoding="utf-8")
    claimed = text.replace(
        "      basis: commentary\n      confidence: medium-high\n",
        "      basis: verified_text\n      confidence: medium-high\n",
        1,
    )
    assert claimed != text
    committee.write_text(claimed, encoding="utf-8")
    problems = [p for p in lint(pack) if p.code == "provenance.verified_text_unsourced"]
    assert len(problems) == 1
    problem = problems[0]
    line = claimed.splitlines().index("      basis: verified_text") + 1  # the claim itself
    assert Path(problem.location.file).name == "committee.yaml" and problem.location.line == line
    assert "ZZ-DW-01" in problem.message and "seen_in" in problem.hint
    # its numbers are commentary: the claim is also an overstatement of the rule as a whole
    assert "provenance.overstated_basis" in {p.code for p in lint(pack)}
    # naming where the text was seen answers this check (the overstatement stays)
    sourced = claimed.replace(
        "      numbers:\n",
        "      sources:\n"
        "        - {id: ch3, document: 《党委（党组）落实全面从严治党主体责任规定》, chapter: 3, basis: verified_text,"
        " seen_in: 测试用出处 test source}\n"
        "      numbers:\n",
        1,
    )
    committee.write_text(sourced, encoding="utf-8")
    assert "provenance.verified_text_unsourced" not in {p.code for p in lint(pack)}


def test_explain_shows_the_basis_of_each_number(capsys) -> None:
    assert main(["explain", "ZZ-08-01", "--rules", str(RULES)]) == 0
    out = capsys.readouterr().out
    assert "各数字的依据 basis of each number:" in out
    assert '    period = "half_year": 释义 commentary, confidence medium-high [citation]' in out
    assert "    min_days_in_post = 30: 本规则包的容差 tolerance — 在岗不足30天不作评判" in out
    assert "  职责本身 duty: 本规则包的推断 inference, confidence medium [art8, citation]" in out
    assert "[art8] 《党委（党组）落实全面从严治党主体责任规定》第8条 — 释义 commentary" in out
    assert "见于 seen in: 未记录 not recorded" in out
    assert "引文性质 citation wording: reconstructed" in out

    args = ["explain", "ZZ-DW-01", "--rules", str(RULES), "--param", "ZZ-DW-01.at_least=2", "--format", "json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    at_least = next(n for n in data["numbers"] if n["param"] == "at_least")
    assert at_least["value"] == 2 and at_least["set_by"] == "override" and at_least["pack_value"] == 1
    assert at_least["basis"] == "commentary" and at_least["confidence"] == "medium-high"
    assert data["provenance"]["numbers"][0]["param"] == "period"

    assert main(["explain", "ZZ-ESC-02", "--rules", str(RULES), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["numbers"] == [
        {
            "param": "raise_share",
            "value": "1/2",
            "set_by": "zhuti-zeren-2020@1.0.0",
            "basis": "local_practice",
            "basis_zh": "地方做法（本规则包的选择）",
            "confidence": "low",
            "sources": [],
            "note": {
                "zh": "半数：本规则包的选择，未见出处，可由地方规则包调整。",
                "en": "Half: the pack's choice; no source found; a local pack may change it.",
            },
        }
    ]


def test_explain_says_when_a_pack_does_not_state_its_numbers(make_pack, capsys) -> None:
    pack = make_pack(
        ("T-01", "subject: organisation\nmatch: {types: [meeting]}\nparams: {period: year, at_least: 1}\n")
    )
    assert main(["explain", "T-01", "--rules", str(pack)]) == 0
    out = capsys.readouterr().out
    assert "    at_least = 1: 未说明 not stated (see the note)" in out
    assert main(["explain", "T-01", "--rules", str(pack), "--format", "json"]) == 0
    numbers = json.loads(capsys.readouterr().out)["numbers"]
    assert [(n["param"], n["basis"]) for n in numbers] == [("period", None), ("at_least", None)]


def test_a_label_says_when_the_article_is_not_verified_or_the_text_is_commentary() -> None:
    plain = Citation(document="《规定》", article=8)
    assert plain.label() == "《规定》第8条"
    unsure = Citation(document="《规定》", article=16, article_verified=False)
    assert unsure.label() == "《规定》第16条（条文序号未核实）"
    commentary = Citation(document="《规定》", article=8, wording=Wording.commentary)
    assert commentary.label() == "《规定》第8条（释义）"
    assert Citation(document="《规定》", chapter=3).label() == "《规定》第3章"


def test_schema_describes_sources_and_numbers(capsys) -> None:
    assert main(["schema"]) == 0
    defs = json.loads(capsys.readouterr().out)["$defs"]
    assert {"sources", "numbers", "conditions"} <= set(defs["Provenance"]["properties"])
    assert "seen_in" in defs["Source"]["properties"] and "where the text was seen" in json.dumps(defs["Source"])
    param = defs["NumberProvenance"]["properties"]["param"]
    assert {"at_least", "min_days_in_post", "raise_at", "raise_share"} <= set(param["enum"])
    assert set(defs["Grounds"]["enum"]) == {"verified_text", "commentary", "local_practice", "inference", "tolerance"}


def test_coverage_shows_the_basis_of_each_number() -> None:
    text = coverage_markdown(load_rules(RULES), None)
    row = next(line for line in text.splitlines() if "`ZZ-08-01`" in line)
    assert "commentary (medium)<br>period, at_least: commentary (medium-high); min_days_in_post: tolerance" in row
    assert "duty: inference (medium)" in row
