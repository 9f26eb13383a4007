"""Parameter overrides handed to ``compile_rules`` / ``evaluate``: each mistake is refused with its own code, a
message in Chinese and English, the parameter's path and a hint (what ``--param`` on the command line shows)."""

from __future__ import annotations

from typing import Any

import pytest

from rules_engine import RulesError, compile_rules, load_rules

ORG_RULE = """\
subject: organisation
match: {types: [meeting]}
params: {period: half_year, at_least: 1}
"""


def _problem(code: str, path: str, zh: str, en: str, hint: str) -> dict[str, Any]:
    location = {"file": "<params>", "line": 0, "column": 0, "path": path}
    return {"code": code, "message": {"zh": zh, "en": en}, "location": location, "hint": hint}


CASES = [
    (
        {"ORG-1": 3},
        _problem(
            "param.not_a_mapping",
            "ORG-1",
            "规则 ORG-1 的参数覆盖应为 {参数: 值} 映射",
            "the overrides of rule ORG-1 must be a {name: value} mapping",
            '如 e.g. {"ZZ-DW-01": {"at_least": 2}}',
        ),
    ),
    (
        {"ORG-1": {"at_least": None}},
        _problem(
            "param.null",
            "ORG-1.at_least",
            "参数 ORG-1.at_least 的值为空",
            "parameter ORG-1.at_least is null",
            "省略该参数即用默认值 omit it to keep the default",
        ),
    ),
    (
        {"ORG-2": {"at_least": 1}},
        _problem(
            "param.unknown_rule",
            "",
            "参数覆盖指向未知规则 'ORG-2'",
            "override for unknown rule 'ORG-2'",
            "是否应为 did you mean 'ORG-1'?",
        ),
    ),
    (
        {"ORG-1": {"at_leest": 1}},
        _problem(
            "param.unknown_name",
            "ORG-1.at_leest",
            "规则 ORG-1 没有参数 'at_leest'",
            "rule ORG-1 has no parameter 'at_leest'",
            "是否应为 did you mean 'at_least'?",
        ),
    ),
    (
        {"ORG-1": {"at_least": "two"}},
        _problem(
            "param.invalid.int_type",
            "ORG-1.at_least",
            "参数 ORG-1.at_least: 'at_least' 应为整数（当前值 'two'）",
            "parameter ORG-1.at_least: 'at_least' must be a whole number (value 'two')",
            "写作数字，如 1 write a number, e.g. 1",
        ),
    ),
    (
        {"ORG-1": {"window": {"from": "13-01"}}},
        _problem(
            "param.invalid.string_pattern_mismatch",
            "ORG-1.window.from",
            "参数 ORG-1.window.from: 'from' 应为 月-日（当前值 '13-01'）",
            "parameter ORG-1.window.from: 'from' must be MM-DD (value '13-01')",
            "写作 MM-DD，如 10-01 write MM-DD, e.g. 10-01",
        ),
    ),
    (
        {"ORG-1": {"window": {"frm": "10-01"}}},
        _problem(
            "param.unknown_key",
            "ORG-1.window.frm",
            "参数 ORG-1.window.frm: 未知的键 'frm'",
            "parameter ORG-1.window.frm: unknown key 'frm'",
            "是否应为 did you mean 'from'?",
        ),
    ),
    (
        {"ORG-1": {"at_least": 3, "at_most": 1}},
        _problem(
            "param.invalid",
            "ORG-1",
            "参数覆盖无效（规则 ORG-1）: 至少次数 at_least（3）大于至多次数 at_most（1）",
            "invalid override of rule ORG-1: at_least (3) is greater than at_most (1)",
            "",
        ),
    ),
]


@pytest.mark.parametrize(("params", "problem"), CASES, ids=[c[1]["code"] for c in CASES])
def test_an_override_mistake_is_refused_with_its_path_and_a_hint(make_pack, params, problem) -> None:
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    with pytest.raises(RulesError) as caught:
        compile_rules(rules, params)
    assert [p.to_dict() for p in caught.value.problems] == [problem]


def test_a_valid_override_is_used_and_credited(make_pack) -> None:
    compiled = compile_rules(load_rules(make_pack(("ORG-1", ORG_RULE))), {"ORG-1": {"at_least": 2}})
    (rule,) = compiled.rules
    assert rule.at_least == 2 and rule.at_most is None
    assert rule.params_dump() == {
        "period": {"value": "half_year", "set_by": "test-pack@1.0.0"},
        "at_least": {"value": 2, "set_by": "override"},
    }
    assert compiled.overrides == {"ORG-1": {"at_least": 2}}
