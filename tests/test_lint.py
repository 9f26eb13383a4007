"""Bad rule files are refused with file:line:column, a code and a hint; nothing raises a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules_engine import RulesError, lint, load_rules
from rules_engine.cli import main

from .conftest import RULES

GOOD_BODY = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 1}
"""


def test_shipped_rules_are_clean() -> None:
    assert lint(RULES) == []
    ruleset = load_rules(RULES)
    assert {p.id for p in ruleset.packs} >= {"zhuti-zeren-2020"}


def _codes(problems) -> list[str]:
    return [p.code for p in problems]


def test_unknown_key_is_located_with_did_you_mean(make_pack) -> None:
    root = make_pack(("T-1", GOOD_BODY.replace("match:", "mach:")))
    problems = lint(root)
    unknown = [p for p in problems if p.code == "rule.unknown_key"]
    assert unknown, problems
    p = unknown[0]
    assert p.location.file.endswith("rules.yaml")
    assert (p.location.line, p.location.column) == (8, 5)
    assert "did you mean 'match'" in p.hint
    assert str(p).startswith(f"{p.location.file}:8:5: rule.unknown_key")


def test_nested_unknown_key_suggests_field_of_the_right_model(make_pack) -> None:
    root = make_pack(("T-1", GOOD_BODY.replace("at_least", "at_leats")))
    problems = [p for p in lint(root) if p.code == "rule.unknown_key"]
    assert problems and "at_least" in problems[0].hint
    assert problems[0].location.line == 9


def test_duplicate_keys_and_duplicate_rule_ids(make_pack) -> None:
    root = make_pack(("T-1", GOOD_BODY + "severity: high\nseverity: low\n"), ("T-1", GOOD_BODY))
    problems = lint(root)
    assert "yaml.duplicate_key" in _codes(problems)
    dup = [p for p in problems if p.code == "rule.duplicate_id"]
    assert dup and "T-1" in dup[0].message and "first defined at" in dup[0].message_en
    assert dup[0].location.line > 5


def test_unknown_record_type_hint(make_pack) -> None:
    root = make_pack(("T-1", GOOD_BODY.replace("[meeting]", "[meeting, taalk]")))
    (problem,) = [p for p in lint(root) if p.code == "rule.unknown_record_type"]
    assert "did you mean 'talk'" in problem.hint
    assert problem.location.line == 8


@pytest.mark.parametrize(
    ("template", "needle"),
    [
        ("{subject.__class__}", "unknown placeholder"),
        ("{subjct} 未履行", "unknown placeholder"),
        ("{subject!r}", "format spec or conversion"),
        ("{subject[0]}", "unknown placeholder"),
        ("{expected:>10}", "format spec"),
    ],
)
def test_message_templates_cannot_reach_attributes(make_pack, template: str, needle: str) -> None:
    body = GOOD_BODY + f"messages:\n  violated: {{zh: '{template}', en: 'x'}}\n"
    problems = lint(make_pack(("T-1", body)))
    assert problems and any(needle in p.message_en for p in problems), problems
    assert problems[0].location.line >= 8


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (GOOD_BODY.replace("half_year", "fortnight"), "half_year"),
        (GOOD_BODY.replace("at_least: 1", "at_least: -1"), "must be at least 0"),
        (GOOD_BODY.replace("organisation", "persn"), "person"),
        (GOOD_BODY.replace("organisation", "person"), "roles"),
        (GOOD_BODY + "roles: [secretry]\n", "secretary"),
        (GOOD_BODY.replace("period: half_year, ", ""), "period"),
        (GOOD_BODY.replace("at_least: 1", "window: {from: '12-01', to: '03-01'}, at_least: 1"), "starts after it ends"),
        (GOOD_BODY.replace("at_least: 1", "at_least: 1, min_share: 3/2"), "share"),
    ],
)
def test_wrong_values_are_refused_with_location(make_pack, body: str, needle: str) -> None:
    problems = lint(make_pack(("T-1", body)))
    assert problems, body
    text = " ".join(f"{p.message} {p.message_en} {p.hint}" for p in problems)
    assert needle in text
    assert all(p.location.line > 0 for p in problems)


def test_yaml_syntax_error_with_tab_hint(tmp_path: Path, make_pack) -> None:
    root = make_pack(("T-1", GOOD_BODY))
    (root / "rules.yaml").write_text("rules:\n  - id: T-2\n\ttitle: x\n", encoding="utf-8")
    (problem,) = lint(root)
    assert problem.code == "yaml.syntax"
    assert problem.location.line == 3
    assert "Tab" in problem.hint


def test_wrong_encoding_is_located(make_pack) -> None:
    root = make_pack(("T-1", GOOD_BODY))
    (root / "rules.yaml").write_bytes("rules:\n  - id: 规则\n".encode("gb18030"))
    (problem,) = lint(root)
    assert problem.code == "yaml.encoding"
    assert problem.location.line == 2
    assert "UTF-8" in problem.hint


def test_load_rules_raises_with_all_problems(make_pack) -> None:
    root = make_pack(("T-1", GOOD_BODY.replace("match:", "mach:")), ("T-2", GOOD_BODY.replace("half_year", "x")))
    with pytest.raises(RulesError) as info:
        load_rules(root)
    assert len(info.value.problems) >= 2
    assert "rules.yaml:" in str(info.value)


def test_yaml_cannot_construct_python_objects(make_pack) -> None:
    root = make_pack(("T-1", GOOD_BODY))
    (root / "rules.yaml").write_text("rules: !!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8")
    problems = lint(root)
    assert problems and problems[0].code == "yaml.tag"
    assert problems[0].location.line == 1


def test_cli_lint_exit_codes(make_pack, capsys) -> None:
    good = make_pack(("T-1", GOOD_BODY))
    assert main(["lint", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    (good / "rules.yaml").write_text((good / "rules.yaml").read_text().replace("match:", "mach:"), encoding="utf-8")
    assert main(["lint", str(good)]) == 1
    out = capsys.readouterr().out
    assert "rules.yaml:8:5: rule.unknown_key" in out


def test_misspelt_required_key_reports_both_and_still_checks_record_types(make_pack) -> None:
    body = GOOD_BODY.replace("subject:", "subjet:").replace("[meeting]", "[meetng]")
    problems = lint(make_pack(("T-1", body)))
    codes = {p.code: p for p in problems}
    assert "did you mean 'subject'" in codes["rule.unknown_key"].hint
    missing = codes["rule.missing_key"]
    assert "'subject'" in missing.message and "'subject'" in missing.message_en
    assert missing.location.line == 2  # the rule that lacks it, not the top of the file
    assert "did you mean 'meeting'" in codes["rule.unknown_record_type"].hint
