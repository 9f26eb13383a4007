"""`lint --format json|sarif|github`: the problems as data, as SARIF 2.1.0 (valid against the published
schema), and as GitHub workflow annotations; exit codes as for the text output."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from rules_engine import Location, Problem, lint, render_annotations, render_sarif
from rules_engine.cli import main

from .conftest import RULES

SCHEMA = Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json"  # oasis-tcs/sarif-spec, errata 01
BROKEN = Path(__file__).parent / "broken_rules"


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)  # draft 4, as the schema declares
    cls.check_schema(schema)
    return cls(schema)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two broken packs (one in a folder whose name needs escaping) under rules/."""
    root = tmp_path / "repo"
    shutil.copytree(BROKEN / "duplicate-key" / "pack", root / "rules" / "dup")
    odd = root / "rules" / "a,b:c 100%"
    shutil.copytree(BROKEN / "ok-base" / "pack", odd)
    manifest = (odd / "pack.yaml").read_text(encoding="utf-8")
    (odd / "pack.yaml").write_text(manifest.replace("id: broken-base", "id: odd-base"), encoding="utf-8")
    rules = next(p for p in sorted(odd.glob("*.yaml")) if p.name != "pack.yaml")
    rules.write_text(rules.read_text(encoding="utf-8") + "  - id: [unclosed\n", encoding="utf-8")
    return root


def _lint(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["lint", *args])
    return code, capsys.readouterr().out


def test_sarif_is_valid_and_names_each_problem_where_it_is(repo, capsys, monkeypatch, sarif_validator) -> None:
    monkeypatch.chdir(repo)
    problems = lint("rules")
    assert {p.code for p in problems} >= {"yaml.duplicate_key", "yaml.syntax"}
    code, out = _lint(capsys, "rules", "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    sarif_validator.validate(log)
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "rules-engine" and driver["version"]
    assert [r["id"] for r in driver["rules"]] == sorted({p.code for p in problems})
    assert len(run["results"]) == len(problems)
    for problem, result in zip(problems, run["results"], strict=True):
        assert result["level"] == "error"
        assert result["ruleId"] == problem.code == driver["rules"][result["ruleIndex"]]["id"]
        assert result["message"]["text"].startswith(f"{problem.message} ({problem.message_en})")
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert artifact["uri"].startswith("rules/") and not artifact["uri"].startswith("/")
        region = location["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (problem.location.line, problem.location.column)
        if problem.hint:
            assert problem.hint in result["message"]["markdown"] and result["properties"]["hint"] == problem.hint
    dup = next(r for r in run["results"] if r["ruleId"] == "yaml.duplicate_key")
    assert dup["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "rules/dup/rules.yaml"
    odd = next(r for r in run["results"] if r["ruleId"] == "yaml.syntax")
    assert odd["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("rules/a%2Cb%3Ac%20100%25/")


def test_sarif_bytes_do_not_depend_on_the_working_folder(repo, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    _, here = _lint(capsys, "rules", "--format", "sarif")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _, there = _lint(capsys, str(repo / "rules"), "--format", "sarif", "--base", str(repo))
    assert here == there
    _, no_base = _lint(capsys, str(repo / "rules"), "--format", "sarif")  # outside the working folder: absolute
    assert json.loads(no_base)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"][
        "uri"
    ].startswith("file:///")


_COMMAND = re.compile(r"^::error (?P<props>[^:]*)::(?P<message>.*)$")


def _unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def test_github_annotations_one_line_per_problem_escaped(repo, capsys, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    problems = lint("rules")
    code, out = _lint(capsys, "rules", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(problems)
    for problem, line in zip(problems, lines, strict=True):
        match = _COMMAND.match(line)
        assert match, line
        props = dict(item.split("=", 1) for item in match["props"].split(","))
        assert _unescape(props["file"]) == Path(problem.location.file).as_posix()
        assert (props["line"], props["col"]) == (str(problem.location.line), str(problem.location.column))
        assert props["title"] == problem.code
        assert _unescape(match["message"]).startswith(f"{problem.message} ({problem.message_en})")
    syntax = next(line for line in lines if "title=yaml.syntax" in line)
    assert "file=rules/a%2Cb%3Ac 100%25/" in syntax


def test_annotation_escaping_of_data_and_properties() -> None:
    problem = Problem("x.y", "百分之百 100%\r\n第二行", "a: b, c", Location("<params>"), "提示 hint")
    assert render_annotations([problem]) == "::error title=x.y::百分之百 100%25%0D%0A第二行 (a: b, c) 提示 hint\n"
    located = Problem("x.y", "文", "m", Location("dir,x/f:1.yaml", 3, 0))
    assert render_annotations([located], base=".") == "::error file=dir%2Cx/f%3A1.yaml,line=3,title=x.y::文 (m)\n"
    sarif = json.loads(render_sarif([problem, located], base="."))
    results = sarif["runs"][0]["results"]
    assert "locations" not in results[0]  # not in a file
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}


def test_clean_rules_give_empty_output_and_exit_0(capsys, sarif_validator) -> None:
    code, out = _lint(capsys, str(RULES), "--format", "github")
    assert (code, out) == (0, "")
    code, out = _lint(capsys, str(RULES), "--format", "sarif")
    assert code == 0
    log = json.loads(out)
    sarif_validator.validate(log)
    assert log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []


def test_json_lists_the_same_problems_as_data(repo, capsys, monkeypatch) -> None:
    monkeypatch.chdir(repo)
    problems = lint("rules")
    code, out = _lint(capsys, "rules", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data == [p.to_dict() for p in problems]
    assert all({"code", "message", "location", "hint"} <= set(d) for d in data)
    assert data[0]["message"].keys() == {"zh", "en"}
