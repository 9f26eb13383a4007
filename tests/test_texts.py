"""Reason codes and their texts: one table (rules_engine.texts) holds every row, duty, candidate and problem
text, each code the source uses has one, none is left over, each call gives a text exactly the values it
shows, and a rejected row is a Problem that reports and the CLI show with its code."""

from __future__ import annotations

import ast
import json
import re
import string
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic_core.core_schema import ErrorType

from rules_engine import lint, read_report
from rules_engine.cli import main
from rules_engine.errors import Location, Problem
from rules_engine.load.inputs import BadRow, read_records, read_roster
from rules_engine.texts import HINTS, TEXTS, describe, fixed_hint, message, text

SRC = Path(__file__).resolve().parent.parent / "src" / "rules_engine"
PROBLEMS = ("file", "yaml", "pack", "rule", "overlay", "provenance", "param", "waiver", "scoring")
#: The errors the API and the command line raise (one line: rules_engine.errors.Coded.of, texts.message)
ERRORS = ("usage", "arg", "input", "report", "output", "period", "extra", "worker", "cluster", "history", "feature")
#: Texts of results: notes and labels (rules_engine.model.findings.Bilingual.of)
NOTES = ("note", "label")
FAMILIES = ("row", "na", "unk", "duty", "candidate", "frame", "folder", *PROBLEMS, *ERRORS, *NOTES)
CODE = re.compile(rf"^({'|'.join(FAMILIES)})\.[a-z_]+(\.[a-z_]+)*(#[a-z_]+)?$")
# names that look like codes and are not: a manifest's, the HTML report's assets, a JUnit test case's
FILE_NAMES = {"pack.yaml", "pack.yml", "report.js", "report.css", "input.rejected"}
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "county-2024"
# the texts of rule.invalid.<kind> are chosen by pydantic's error kind at run time, not named in the source
KINDS = {key for key in TEXTS if re.fullmatch(r"rule\.invalid\.[a-z_]+", key)}


def _constants() -> tuple[set[str], set[str]]:
    """Every string constant in the package's source but texts.py, and the first items of tuple literals."""
    strings: set[str] = set()
    heads: set[str] = set()
    for path in SRC.rglob("*.py"):
        if path.name == "texts.py" and path.parent == SRC:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
            elif isinstance(node, ast.Tuple) and node.elts:
                first = node.elts[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    heads.add(first.value)
    return strings, heads


def test_every_code_the_source_names_has_a_text() -> None:
    strings, _ = _constants()
    used = {s for s in strings if CODE.match(s)} - FILE_NAMES
    assert {c for c in used if c.startswith("row.")}, "the scan finds the row codes"
    assert {c for c in used if c.startswith("yaml.")}, "the scan finds the problem codes"
    assert sorted(used - TEXTS.keys() - HINTS.keys()) == []


def test_no_text_is_left_unused() -> None:
    strings, heads = _constants()
    unused = []
    for code in TEXTS:
        family, _, bare = code.partition(".")
        if family in ("row", "frame", "folder") or family in PROBLEMS or family in ERRORS or family in NOTES:
            # written out where the row is rejected or the problem is found (rule.invalid.<kind>: below)
            found = code in strings or code in KINDS or code == "rule.invalid.*"
        elif family == "candidate":
            found = bare in heads  # the reason tuple a record was not counted for: ("outside",), ...
        else:
            found = bare in strings  # na=/unk= codes of an obligation, looked up as f"na.{ob.na}"
        if not found:
            unused.append(code)
    assert unused == []
    # a fixed hint belongs to a text, or is one of the hints a code chooses from (yaml.syntax#tab)
    assert [key for key in HINTS if key not in TEXTS and key not in strings] == []
    assert [key for key in HINTS if key.partition("#")[0] not in TEXTS] == []


def test_each_rule_invalid_text_is_keyed_by_a_kind_pydantic_reports() -> None:
    kinds = {key.removeprefix("rule.invalid.") for key in KINDS}
    assert "int_parsing" in kinds and "value_error" in kinds
    assert sorted(kinds - set(typing.get_args(ErrorType))) == []


def _fields_of(key: str) -> tuple[set[str], set[str]]:
    """The values a text shows, and those its fixed hint shows."""
    zh, en = TEXTS[key]
    hint = HINTS.get(key, HINTS.get(key.partition("#")[0], ""))
    return _fields(zh) | _fields(en), _fields(hint)


#: The calls that make a text from a key: Problem.of, provenance's add, texts.text, fixed_hint, Problem.framed,
#: the refusal a model's validator raises (rules_engine.model.refusal.refuse), an error's or a note's .of
#: (UsageError.of, Bilingual.of, ...) and texts.message.
CALLS = ("of", "add", "text", "fixed_hint", "framed", "refuse", "message")


def _calls() -> list[tuple[str, int, str, str, set[str], bool]]:
    """Each call that makes a text from a key written out: (file, line, function, key, the value names given,
    whether a hint is given). Calls that spread a mapping of values are left to the tests that run them."""
    out = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if isinstance(func, ast.Attribute) and name == "of" and not isinstance(func.value, ast.Name):
                continue  # Problem.of, UsageError.of, Bilingual.of, ...: a class's, not a method of something else
            first = node.args[0]
            if name not in CALLS or not isinstance(first, ast.Constant):
                continue
            if (
                not isinstance(first.value, str)
                or not CODE.match(first.value)
                or any(k.arg is None for k in node.keywords)
            ):
                continue
            given = {k.arg for k in node.keywords if k.arg is not None} - {"code", "location"}
            at = 1 if name == "refuse" else 2  # the hint: refuse(key, hint), Problem.of(key, location, hint)
            hinted = len(node.args) > at and not (
                isinstance(node.args[at], ast.Constant) and node.args[at].value is None
            )
            out.append((path.name, node.lineno, name, first.value, given, hinted))
    return out


def test_each_call_gives_a_text_exactly_the_values_it_shows() -> None:
    calls = _calls()
    assert {call[2] for call in calls} == set(CALLS), "the scan finds every kind of call"
    wrong = []
    for file, line, name, key, given, hinted in calls:
        if name == "fixed_hint":
            shown, needed = _fields(HINTS[key]), _fields(HINTS[key])
        elif key.partition(".")[0] in ERRORS or key.partition(".")[0] in NOTES:  # Coded.of, Bilingual.of, message
            shown = needed = _fields_of(key)[0]
        elif name in ("text", "framed"):
            shown = needed = _fields_of(key)[0] - ({"message"} if name == "framed" else set())
        else:  # Problem.of, provenance's add, a validator's refuse: the text's values, and its fixed hint's
            # unless one is given
            message, hint = _fields_of(key)
            shown, needed = message | hint, message | (set() if hinted else hint)
        if not needed <= given <= shown:
            wrong.append(f"{file}:{line}: {key} shows {sorted(shown)}, given {sorted(given)}")
    assert wrong == []


def test_a_problem_takes_its_texts_and_fixed_hint_by_its_code() -> None:
    where = Location("p/r.yaml", 3, 5)
    problem = Problem.of("yaml.syntax#quote", where, None, quote="'")
    assert (problem.code, problem.message, problem.message_en) == (
        "yaml.syntax",  # the situation is not part of the code
        "YAML 语法错误：引号没有闭合",
        "YAML syntax error: a quote is not closed",
    )
    assert problem.hint == "在这一行补上另一个 ' close the ' on this line"
    # a situation without its own hint has its code's; a hint made from what was found replaces it
    assert Problem.of("pack.no_manifest#file", where).hint == fixed_hint("pack.no_manifest") != ""
    assert Problem.of("pack.unknown", where, "是否应为 did you mean 'x'?").hint == "是否应为 did you mean 'x'?"
    framed = Problem.of("rule.missing_key", where, key="citation").framed("frame.rule", rule="T-01")
    assert (framed.message, framed.message_en) == (
        "规则 T-01：缺少必填项 'citation'",
        "rule T-01: missing required key 'citation'",
    )
    with pytest.raises(KeyError):
        Problem.of("pack.no_such_problem", where)


def test_a_kind_pydantic_adds_later_has_its_familys_text_not_an_error() -> None:
    value = text("frame.value", value="'abcdef'")
    assert text(
        "rule.invalid.string_too_long", field="id", error="String should have at most 5 characters", value=value
    ) == (
        "'id' 取值无效：String should have at most 5 characters（当前值 'abcdef'）",
        "'id' is invalid: String should have at most 5 characters (value 'abcdef')",
    )
    for unknown in ("rule.no_such_problem", "rule.invalid.enum#no_such_situation", "yaml.no_such_problem"):
        with pytest.raises(KeyError):
            text(unknown)


def _shown(template: str) -> str:
    """A template as the docs show it: a brace written twice (a literal one) once."""
    return template.replace("{{", "{").replace("}}", "}")


def test_the_rule_format_lists_every_problem_code_with_its_texts() -> None:
    doc = (SRC.parent.parent / "docs" / "rule-format.md").read_text(encoding="utf-8")
    section = doc.split("#### 问题代码一览 / Every problem code", 1)[1].split("\n##", 1)[0]
    rows = {line.split("`")[1]: line for line in section.splitlines() if line.startswith("| `")}
    codes = {key.partition("#")[0] for key in TEXTS if key.partition(".")[0] in PROBLEMS}
    assert sorted(codes - rows.keys()) == [], "a code the docs do not list"
    assert sorted(rows.keys() - codes - {"param.<code>", "scoring.<code>"}) == [], "a code the docs list is not raised"
    texts_missing = [
        key
        for key in TEXTS
        if key.partition("#")[0] in rows and _shown(" / ".join(TEXTS[key])) not in rows[key.partition("#")[0]]
    ]
    assert texts_missing == []
    # the other tables of codes in the docs name codes that exist
    named, header = set(), ""
    for line in doc.splitlines():
        header = header if line.startswith("|") else ""
        header = header or (line if line.startswith("|") else "")
        if header.startswith("| 代码 code") and line.startswith("| `"):
            named.add(line.split("`")[1])
    assert {"rule.duplicate_id", "rule.decisions_overlap"} <= named, "the scan reads the tables of codes"
    assert sorted(named - codes - {"param.<code>", "scoring.<code>"}) == []


def test_derived_codes_keep_the_validators_text(tmp_path: Path) -> None:
    """Parameter overrides and scoring files are checked by the rule files' validator: its rule.* codes
    show as param.* (framed by the parameter's name) and scoring.*, with the same texts and hints."""
    from rules_engine import load_rules
    from rules_engine.compile import compile_rules
    from rules_engine.errors import RulesError
    from rules_engine.scorecard import load_scoring

    with pytest.raises(RulesError) as raised:
        compile_rules(load_rules("zhuti-zeren-2020"), {"ZZ-08-01": {"at_least": "x"}})
    (problem,) = raised.value.problems
    assert (problem.code, problem.location.path) == ("param.invalid.int_type", "ZZ-08-01.at_least")
    assert problem.message_en == "parameter ZZ-08-01.at_least: 'at_least' must be a whole number (value 'x')"
    assert problem.hint == fixed_hint("rule.invalid.int_type")
    scoring = tmp_path / "scoring.yaml"
    scoring.write_text("weights:\n  bogus: 1\n", encoding="utf-8")
    with pytest.raises(RulesError) as raised:
        load_scoring(scoring)
    assert [(p.code, p.message_en) for p in raised.value.problems] == [("scoring.unknown_key", "unknown key 'bogus'")]


def test_lint_shows_the_texts_of_the_table(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("rules: []\n", encoding="utf-8")
    (problem,) = lint(str(tmp_path / "rules.yaml"))
    assert (problem.code, problem.message, problem.message_en) == ("pack.no_manifest", *TEXTS["pack.no_manifest#file"])
    assert problem.hint == HINTS["pack.no_manifest"]


def test_the_report_format_lists_every_row_code_with_its_texts() -> None:
    doc = (SRC.parent.parent / "docs" / "report-format.md").read_text(encoding="utf-8")
    rows = {line.split("`")[1]: line for line in doc.splitlines() if line.startswith("| `row.")}
    assert sorted(rows) == sorted(code for code in TEXTS if code.startswith("row."))
    assert [code for code, line in rows.items() if " / ".join(TEXTS[code]) not in line] == []


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@pytest.mark.parametrize("code", sorted(TEXTS))
def test_both_languages_take_the_same_values(code: str) -> None:
    zh, en = TEXTS[code]
    assert zh and en and zh != en
    assert re.search("[\u4e00-\u9fff]", zh), f"{code}: the first text is Chinese"
    if code.partition(".")[0] in ERRORS:
        # an error is one line, Chinese then English: a value is shown once, where the line was worded with it
        values = {name: f"<{name}>" for name in _fields(zh) | _fields(en)}
        shown = message(code, **values)
        assert shown.startswith(text(code, **values)[0]) and all(v in shown for v in values.values())
        return
    assert _fields(zh) == _fields(en), f"{code}: the Chinese and English texts must show the same values"
    values = {name: f"<{name}>" for name in _fields(zh)}
    filled = text(code, **values)
    assert all(f"<{name}>" in filled[0] and f"<{name}>" in filled[1] for name in values)


@pytest.mark.parametrize("key", sorted(HINTS))
def test_each_fixed_hint_is_filled_from_values(key: str) -> None:
    values = {name: f"<{name}>" for name in _fields(HINTS[key])}
    filled = fixed_hint(key, **values)
    assert filled and all(f"<{name}>" in filled for name in values)
    assert re.search("[\u4e00-\u9fff]", filled) and re.search("[a-z]", filled), f"{key}: Chinese, then English"


def test_a_value_can_differ_by_language() -> None:
    assert text("candidate.participant", ref=("书记", "secretary")) == (
        "书记不在参加人员中",
        "the secretary is not among the participants",
    )


def test_an_unknown_reason_is_an_error_not_another_reasons_text() -> None:
    with pytest.raises(KeyError):
        text("row.no_such_reason")
    with pytest.raises(KeyError):  # it used to read as "no team members on the roster on that date"
        describe(SimpleNamespace(match=None), ("no_such_reason",), None, None)  # type: ignore[arg-type]


def test_a_rejected_row_is_a_problem_with_a_code_and_its_place(tmp_path: Path) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(
        '{"id": "a", "org": "o", "type": "t", "date": "2024-02-30"}\n'
        '{"id": "b", "org": "o", "type": "t", "date": "2024-01-01", "colour": "red"}\n'
        '{"id": "c", "org": "o", "type": "t", "date": "2024-01-01", "tags": 7}\n'
        '{"id": "d", "org": "o", \n',
        encoding="utf-8",
    )
    rows = list(read_records(records))
    assert all(isinstance(row, BadRow) and isinstance(row, Problem) for row in rows)
    bad = [row for row in rows if isinstance(row, BadRow)]
    assert [(r.code, r.line, r.field, r.value) for r in bad] == [
        ("row.date.invalid", 1, "date", "2024-02-30"),
        ("row.field.unknown", 2, "colour", "red"),
        ("row.tags.invalid", 3, "tags", "7"),
        ("row.json.malformed", 4, None, '{"id": "d", "org": "o",'),
    ]
    shown = "row.date.invalid: 日期无效，应为 YYYY-MM-DD (invalid date, expected YYYY-MM-DD)"
    assert str(bad[0]) == f"{records}:1: {shown}"
    assert (bad[1].zh, bad[1].en) == ("未知字段 'colour'", "unknown field 'colour'")
    assert (bad[3].record_id, bad[3].org) == ("d", "o")  # what the broken line still shows


def test_roster_rows_have_codes_too(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "organisations:\n"
        "  - {id: o1, name: 一, kind: township}\n"
        "  - {id: o1, name: 二, kind: township}\n"
        "people:\n"
        "  - id: p1\n"
        "    name: 张三\n"
        "    posts:\n"
        "      - {org: nowhere, role: secretary, start: 2020-01-01}\n",
        encoding="utf-8",
    )
    rejected = read_roster(roster).rejected
    assert [(r.code, r.line, r.field) for r in rejected] == [
        ("row.org.duplicate_id", 3, "id"),
        ("row.post.unknown_org", 8, "org"),
    ]
    assert rejected[1].en == "post in unknown organisation 'nowhere' (person p1)"


def test_reports_carry_the_code_and_the_cli_prints_it(tmp_path: Path, capsys) -> None:
    args = ["evaluate", str(EXAMPLE), "--period", "2024", "--as-of", "2025-01-15"]
    out = tmp_path / "report.json"
    assert main([*args, "--format", "json", "-o", str(out)]) == 1
    doc = json.loads(out.read_text(encoding="utf-8"))
    entry = doc["input"]["rejections"][0]
    assert list(entry) == ["source", "line", "field", "value", "reason", "record_id", "code"]
    assert entry["code"] == "row.date.invalid"
    assert read_report(out).input.rejections[0].code == "row.date.invalid"
    capsys.readouterr()
    assert main(args) == 1
    source = str(EXAMPLE / "records.jsonl")
    assert f"  {source}:1179: row.date.invalid: 日期无效，应为 YYYY-MM-DD (invalid date" in capsys.readouterr().out
    # a report written before codes were added still reads
    for entry in doc["input"]["rejections"]:
        del entry["code"]
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    old = read_report(out).input.rejections[0]
    assert old.code is None and str(old.as_problem()).startswith(f"{source}:1179: row: ")


def test_the_models_checks_refuse_with_a_code_not_a_bare_value_error() -> None:
    """Every check of the models (rule files, packs, waivers, scoring files, rosters) raises a refusal keyed in
    rules_engine.texts: a bare ValueError (or a PydanticCustomError made in place) would reach users as
    rule.invalid.value_error, with a text written outside the table."""
    bare = []
    for path in sorted((SRC / "model").glob("*.py")):
        if path.name == "refusal.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Name) and func.id in ("ValueError", "PydanticCustomError"):
                bare.append(f"{path.name}:{node.lineno}: {func.id}")
    assert bare == []


def test_a_models_check_is_a_problem_with_its_own_code(tmp_path: Path) -> None:
    import shutil

    from pydantic import ValidationError

    from rules_engine.model.rules import RuleFile

    pack = tmp_path / "pack"
    shutil.copytree(SRC.parent.parent / "tests" / "broken_rules" / "params-without-count" / "pack", pack)
    (problem,) = lint(str(pack))
    assert (problem.code, problem.message, problem.message_en, problem.hint) == (
        "rule.params.no_bound",
        "规则 T-01：params 须给出 at_least 或 at_most",
        "rule T-01: params needs at_least or at_most",
        fixed_hint("rule.params.no_bound"),
    )
    # a host that validates the model itself sees the same code, and the text Chinese first
    import yaml

    with pytest.raises(ValidationError) as raised:
        RuleFile.model_validate(yaml.safe_load((pack / "rules.yaml").read_text(encoding="utf-8")))
    (error,) = raised.value.errors()
    assert (error["type"], error["msg"]) == (
        "rule.params.no_bound",
        "params 须给出 at_least 或 at_most params needs at_least or at_most",
    )
    # a hint made from what was found replaces the fixed one
    (template,) = lint(str(SRC.parent.parent / "tests" / "broken_rules" / "placeholder-unknown" / "pack"))
    assert (template.code, template.message_en) == (
        "rule.message.unknown_placeholder",
        "unknown placeholder {organsation}",
    )
    assert template.hint == "是否应为 did you mean 'organisation'?"


def test_a_roster_models_check_is_a_row_with_its_code(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "organisations:\n"
        "  - {id: o1, name: 一, kind: townshp}\n"
        "  - {id: o2, name: 二, kind: township}\n"
        "people:\n"
        "  - id: p1\n"
        "    name: 张三\n"
        "    posts:\n"
        "      - {org: o2, role: 副书纪, start: 2020-01-01}\n"
        "      - {org: o2, role: secretary, start: 2021-01-01, end: 2020-12-31}\n",
        encoding="utf-8",
    )
    rejected = read_roster(roster).rejected
    assert [(r.code, r.line, r.field, r.zh, r.en) for r in rejected] == [
        (
            "row.kind.unknown",
            2,
            "kind",
            "未知组织类型 'townshp'；是否应为 'township'？",
            "unknown organisation kind 'townshp'; did you mean 'township'?",
        ),
        (
            "row.role.unknown",
            8,
            "role",
            "未知职务 '副书纪'；是否应为 '副书记'？",
            "unknown role '副书纪'; did you mean '副书记'?",
        ),
        (
            "row.post.ends_before_start",
            9,
            None,
            "任期结束早于开始（2020-12-31 早于 2021-01-01）",
            "the term ends before it starts (2020-12-31 before 2021-01-01)",
        ),
    ]


def test_a_scoring_files_checks_have_scoring_codes(tmp_path: Path) -> None:
    from rules_engine.errors import RulesError
    from rules_engine.scorecard import load_scoring

    scoring = tmp_path / "scoring.yaml"
    scoring.write_text(
        "weights:\n  rules: {ZZ-08-01: -1}\ngroups:\n  locality: [townshp]\ncaps: {ZZ-08-01: 0}\n", encoding="utf-8"
    )
    with pytest.raises(RulesError) as raised:
        load_scoring(scoring)
    assert [(p.code, p.message, p.message_en) for p in raised.value.problems] == [
        (
            "scoring.weight.negative",
            "'ZZ-08-01' 的权重不能为负（-1.0）",
            "the weight of 'ZZ-08-01' cannot be negative (-1.0)",
        ),
        (
            "scoring.groups.unknown_kind",
            "未知组织类型 'townshp'；是否应为 'township'？",
            "unknown organisation kind 'townshp'; did you mean 'township'?",
        ),
        (
            "scoring.cap.not_positive",
            "'ZZ-08-01' 的上限须大于 0（0.0）",
            "the cap of 'ZZ-08-01' must be more than 0 (0.0)",
        ),
    ]


def test_an_input_folders_entries_not_read_have_a_code_and_its_texts(tmp_path: Path) -> None:
    from rules_engine.load.folder import scan_folder

    for name in ("README.md", ".hidden", "~$book.xlsx", "waivers.yaml", "notes"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "old").mkdir()
    found = scan_folder(tmp_path)
    assert [(e.path.name, e.code) for e in found.left_out] == [
        (".hidden", "folder.hidden"),
        ("README.md", "folder.documentation"),
        ("old", "folder.sub_folder"),
        ("waivers.yaml", "folder.yaml"),
        ("~$book.xlsx", "folder.lock_file"),
    ]
    (refused,) = found.refused
    assert (refused.path.name, refused.code, refused.zh, refused.en) == (
        "notes",
        "folder.unsupported",
        *TEXTS["folder.unsupported"],
    )


CJK = re.compile("[\u4e00-\u9fff]")


def _inline_texts() -> list[str]:
    """Every error raised (or made) with a Chinese text written in place, and every note or label made in
    place: `raise UsageError(f"中文 english")`, `return WorkerError("...")`, `Bilingual(zh="...", en=...)`."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "texts.py" and path.parent == SRC:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        made = [node.exc for node in ast.walk(tree) if isinstance(node, ast.Raise) and node.exc is not None]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                if name == "Bilingual" or name.endswith(("Error", "Exception", "Extra")):
                    made.append(node)
        for call in made:
            parts = [*call.args, *(k.value for k in call.keywords)] if isinstance(call, ast.Call) else [call]
            for part in parts:
                inline = [
                    n.value
                    for n in ast.walk(part)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str) and CJK.search(n.value)
                ]
                if inline:
                    found.append(f"{path.relative_to(SRC)}:{call.lineno}: {inline[0][:40]}")
    return sorted(set(found))


def test_no_error_or_note_is_worded_in_place() -> None:
    """Errors take their one-line message from rules_engine.texts by a code (UsageError.of(code, ...),
    texts.message(code, ...) for an exception of another library), and notes theirs (Bilingual.of): a message
    written at the raise would have no code for hosts and no entry in the docs."""
    assert _inline_texts() == []


def test_the_scan_for_texts_in_place_finds_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "rules_engine"
    package.mkdir()
    (package / "bad.py").write_text(
        "def f(x):\n"
        "    if x:\n"
        "        raise UsageError(f'--as-of 日期无效 invalid date {x}') from None\n"
        "    note = Bilingual(zh='示例', en='example')\n"
        "    return WorkerError('工作进程出错 worker failed')\n"
        "def g():\n"
        "    raise UsageError.of('usage.path.not_found', path='x')\n",
        encoding="utf-8",
    )
    monkeypatch.setitem(globals(), "SRC", package)
    assert [line.split(": ")[0] for line in _inline_texts()] == ["bad.py:3", "bad.py:4", "bad.py:5"]


def test_an_error_carries_its_code_and_its_one_line_message(tmp_path: Path, capsys) -> None:
    from rules_engine import InputError, PeriodError, WorkerError, parse_period
    from rules_engine.cli_common import UsageError

    error = UsageError.of("usage.path.not_found", path="nowhere")
    assert (error.code, str(error), error.values) == (
        "usage.path.not_found",
        "文件或目录不存在 no such file or folder: nowhere",
        {"path": "nowhere"},
    )
    # the situation is not part of the code; a long Chinese sentence is set apart by " / "
    error = InputError.of("input.table.duplicate_column#sheet", source="b.xlsx", row=1, column="日期", letter="D")
    assert error.code == "input.table.duplicate_column"
    assert str(error) == (
        "b.xlsx: 第 1 行表头中列 '日期' 重复（D 列） / duplicate column '日期' in the header (row 1, column D)"
    )
    # raised by the API, the error says which
    with pytest.raises(PeriodError) as raised:
        parse_period("2024-H3")
    assert raised.value.code == "period.unrecognised"
    assert str(raised.value).startswith("无法识别的期间 '2024-H3' (unrecognised period); 可用 expected: 2024, ")
    assert WorkerError.of("worker.died", index=1, exit_code="-9").code == "worker.died"
    assert InputError("made in place").code is None
    # and the command line prints the same line
    assert main(["evaluate", str(EXAMPLE), "--period", "2024", "--as-of", "2024-13-01"]) == 2
    assert "--as-of 日期无效 invalid date '2024-13-01' (YYYY-MM-DD)" in capsys.readouterr().err


def test_the_docs_list_every_error_and_note_code_with_its_texts() -> None:
    doc = (SRC.parent.parent / "docs" / "errors.md").read_text(encoding="utf-8")
    rows = {line.split("`")[1]: line for line in doc.splitlines() if line.startswith("| `")}
    assert len(rows) > 100, "the scan reads the tables"
    keys = {key for key in TEXTS if key.partition(".")[0] in ERRORS or key.partition(".")[0] in NOTES}
    assert sorted(rows) == sorted(keys)
    written = {key: _shown(" / ".join(TEXTS[key])).replace("|", "\\|").replace("\n", "\\n") for key in keys}
    assert [key for key in keys if written[key] not in rows[key]] == []
