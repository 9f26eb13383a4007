"""The shipped pytest-bdd plugin: a folder of .feature files plus a pytest.ini is a test suite, and a
wrong expectation fails with a message a rule author can read."""

from __future__ import annotations

import shutil

import pytest

from .conftest import RULES

pytest_plugins = ["pytester"]

FEATURE_ZH = """\
# language: zh-CN
功能: 书记主持专题会议

  背景:
    假如组织：
      | 编号 | 名称     | 类型     |
      | t1   | 甲镇党委 | 乡镇党委 |
    并且人员：
      | 编号 | 姓名   | 组织 | 职务   | 任职开始   |
      | s1   | 张书记 | t1   | 书记   | 2020-01-01 |
      | d1   | 李副书记 | t1 | 副书记 | 2020-01-01 |
    并且评价日期为 ２０２５-０１-１５

  场景: 预期写错了
    假如活动记录：
      | 编号 | 组织 | 类型          | 日期       | 主持人 |
      | r1   | t1   | zhuanti_huiyi | 2024-03-01 | d1     |
    当评价期间 2024-H1
    那么规则 ZZ-08-01 对 s1 在 2024-H1 的结论为 已履行
"""

FEATURE_EN = """\
Feature: The committee studies strict governance every half-year

  Scenario Outline: <n> dedicated meetings in the first half
    Given the organisations:
      | id | name   | kind     |
      | t1 | Town 1 | township |
    And the activity records in JSON Lines:
      \"\"\"
      {"id": "r1", "org": "t1", "type": "zhuanti_huiyi", "date": "2024-03-01"}
      {"id": "r2", "org": "t1", "type": "zhuanti_huiyi", "date": "2024-04-01"}
      \"\"\"
    And the evaluation date is 2025-01-15
    And the parameter ZZ-DW-01.at_least is <n>
    When the period 2024-H1 is evaluated
    Then the finding of ZZ-DW-01 for t1 in 2024-H1 is <status>

    Examples:
      | n | status    |
      | 2 | fulfilled |
      | 3 | violated  |
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(RULES, pytester.path / "rules")
    pytester.makeini("[pytest]\nrules_engine_features = true\nrules_engine_rules = rules\n")
    return pytester


def test_feature_folder_with_only_an_ini_runs(suite: pytest.Pytester) -> None:
    suite.makefile(".feature", committee=FEATURE_EN)
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_wrong_expectation_fails_readably_in_chinese(suite: pytest.Pytester) -> None:
    suite.makefile(".feature", secretary=FEATURE_ZH)
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "规则 ZZ-08-01 对 s1 在 2024-H1 的结论应为「已履行」，实际为「未履行」" in text
    assert "该规则产生的结论" in text and "s1" in text
    assert "Traceback" not in text  # pytest.fail(pytrace=False): the message only


def test_wrong_evidence_lists_rejected_candidates_in_english(suite: pytest.Pytester) -> None:
    suite.makefile(
        ".feature",
        evidence=FEATURE_EN.replace(
            "Then the finding of ZZ-DW-01 for t1 in 2024-H1 is <status>",
            "Then the evidence of ZZ-DW-01 for t1 in 2024-H1 is r9",
        ),
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    text = result.stdout.str()
    assert "expected  r9" in text and "produced  r1, r2" in text


def test_unknown_status_word_is_explained(suite: pytest.Pytester) -> None:
    suite.makefile(".feature", bad=FEATURE_ZH.replace("的结论为 已履行", "的结论为 完成"))
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert "未知的结论 '完成'" in result.stdout.str()


@pytest.mark.parametrize("subject", ["organisation", "person", "portfolio", "pair", "trigger"])
def test_new_rule_scaffold_lints_clean_and_its_feature_runs(suite: pytest.Pytester, subject: str) -> None:
    from rules_engine import lint
    from rules_engine.cli import main

    pack = suite.path / "rules" / "zhuti-zeren-2020"
    assert main(["new-rule", "NEW-1", "--pack", str(pack), "--subject", subject, "--features", str(suite.path)]) == 0
    assert lint(suite.path / "rules") == []
    assert main(["new-rule", "NEW-1", "--pack", str(pack), "--features", str(suite.path)]) == 2  # never overwrites
    suite.makeini("[pytest]\nrules_engine_features = true\nrules_engine_rules = rules\n")
    result = suite.runpytest("-p", "no:cacheprovider", "new-1.feature")
    result.assert_outcomes(passed=2)


def test_plugin_is_inert_without_pytest_bdd(tmp_path) -> None:
    """With pytest-bdd missing, pytest still runs (the entry-point plugin loads nothing of it)."""
    import os
    import subprocess
    import sys

    (tmp_path / "test_plain.py").write_text("def test_ok():\n    assert True\n", encoding="utf-8")
    (tmp_path / "x.feature").write_text("Feature: x\n", encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nrules_engine_features = true\n", encoding="utf-8")
    code = (
        "import sys; sys.modules['pytest_bdd'] = None; import pytest; "
        "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'rules_engine.pytest_plugin', '.']))"
    )
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # as if pytest-bdd were not installed
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_duplicate_scenario_names_are_refused(suite: pytest.Pytester) -> None:
    text = FEATURE_EN.replace(
        "Scenario Outline: <n> dedicated meetings in the first half",
        "Scenario: twice\n    Given the evaluation date is 2025-01-15\n\n"
        "  Scenario: twice\n    Given the evaluation date is 2025-01-15\n\n"
        "  Scenario Outline: <n> dedicated meetings in the first half",
    )
    suite.makefile(".feature", dup=text)
    result = suite.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    assert "duplicate scenario name" in result.stdout.str() and "dup.feature:" in result.stdout.str()


def _with_pack_step(feature: str, step: str) -> str:
    """The feature with a pack step as the first step of its background (zh) or scenario (en)."""
    anchor = "背景:\n" if "背景:" in feature else "the first half\n"
    head, sep, rest = feature.partition(anchor)
    return head + sep + step + rest


def test_a_folder_with_only_an_ini_and_a_feature_finds_a_bundled_pack_by_id(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nrules_engine_features = true\n")  # no rules/, no rules_engine_rules
    zh = FEATURE_ZH.replace("的结论为 已履行", "的结论为 未履行")  # the right expectation
    pytester.makefile(".feature", zh=_with_pack_step(zh, '    假如规则包 "zhuti-zeren-2020"\n'))
    pytester.makefile(".feature", en=_with_pack_step(FEATURE_EN, '    Given the rule pack "zhuti-zeren-2020"\n'))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
    pytester.makefile(".feature", wrong=_with_pack_step(FEATURE_ZH, '    假如规则包 "zhuti-zeren-2020"\n'))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3, failed=1)  # a wrong one still fails


def test_a_folder_without_rules_uses_every_installed_pack_by_default(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nrules_engine_features = true\n")
    pytester.makefile(".feature", committee=FEATURE_EN)  # names no pack
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_a_pack_named_by_id_is_looked_for_in_the_configured_folders_first(suite: pytest.Pytester) -> None:
    """A pack repository's own copy of a pack wins over the installed one with the same id."""
    committee = suite.path / "rules" / "zhuti-zeren-2020" / "committee.yaml"
    text = committee.read_text(encoding="utf-8")
    committee.write_text(text.replace("{period: half_year, at_least: 1}", "{period: year, at_least: 1}"), "utf-8")
    suite.makefile(".feature", local=_with_pack_step(FEATURE_EN, '    Given the rule pack "zhuti-zeren-2020"\n'))
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)  # the local copy judges by year: there is no 2024-H1 finding
    assert "no finding of ZZ-DW-01 for t1 in 2024-H1" in result.stdout.str()
