"""The author's loop: the JSON Schemas shipped in the package and the editor modeline that points at them, shell
completion, and the command line's help and errors in Chinese first (argparse's own texts included)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from rules_engine.cli import main
from rules_engine.cli_parser import ERRORS, chinese_first
from rules_engine.command import main as command_main
from rules_engine.schema import SHIPPED, rule_schema, schema_text, shipped_schema

from .conftest import ROOT, RULES

SOURCE_SCHEMAS = ROOT / "src" / "rules_engine" / "schemas"
MODELINE = "# yaml-language-server: $schema="
ONE_RULE = "subject: organisation\nmatch: {types: [meeting]}\nparams: {period: year, at_least: 1}\n"
IDS = {
    "rules": "https://duty-rules-engine.invalid/schema/rules-engine-v1-rules.json",
    "pack": "https://duty-rules-engine.invalid/schema/rules-engine-v1-pack.json",
    "scoring": "https://duty-rules-engine.invalid/schema/rules-engine-v1-scoring.json",
}


@pytest.mark.parametrize("kind", SHIPPED)
def test_the_shipped_schema_is_the_generated_one(kind: str, capsys) -> None:
    shipped = (SOURCE_SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert shipped == schema_text(kind), "the models changed: regenerate with `python -m rules_engine.schema`"
    assert main(["schema", "--kind", kind]) == 0
    assert capsys.readouterr().out == shipped  # `rules-engine schema` prints the shipped schema
    assert json.loads(shipped)["$id"] == IDS[kind]  # stable: editors and settings name it
    assert shipped_schema(kind).read_text(encoding="utf-8") == shipped  # the installed package's copy


def test_regeneration_is_one_command(tmp_path: Path) -> None:
    from rules_engine.schema import write_shipped

    written = write_shipped(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{k}.schema.json" for k in SHIPPED)
    for path in written:
        assert path.read_text(encoding="utf-8") == schema_text(path.name.split(".")[0])
    done = subprocess.run(
        [sys.executable, "-c", "import runpy; runpy.run_module('rules_engine.schema', run_name='__main__')"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr  # python -m rules_engine.schema (the files it rewrites are unchanged)
    assert all(f"{k}.schema.json" in done.stderr for k in SHIPPED)


def _shipped_yaml() -> list[Path]:
    """Every YAML file of a pack shipped: rules/ and the packs inside the package (any folder with a pack.yaml)."""
    package = ROOT / "src" / "rules_engine"
    inside = [p for p in package.rglob("*.y*ml") if (p.parent / "pack.yaml").is_file()]
    return sorted(RULES.glob("*/*.y*ml")) + sorted(inside)


@pytest.mark.parametrize("path", _shipped_yaml(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_shipped_pack_file_names_its_schema_and_is_valid_against_it(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE), "the first line is the yaml-language-server modeline"
    kind = "pack" if path.name == "pack.yaml" else "rules"
    target = (path.parent / first.removeprefix(MODELINE)).resolve()
    assert target == (SOURCE_SCHEMAS / f"{kind}.schema.json").resolve()
    doc = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
    jsonschema.Draft202012Validator(rule_schema(kind)).validate(doc)


def test_new_rule_writes_the_modeline(make_pack, capsys) -> None:
    pack = make_pack(("T-01", ONE_RULE))
    assert main(["new-rule", "ZZ-NEW-01", "--pack", str(pack)]) == 0
    capsys.readouterr()
    written = pack / "zz-new-01.yaml"
    first = written.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE)
    assert (written.parent / first.removeprefix(MODELINE)).resolve() == shipped_schema("rules").resolve()


# ------------------------------------------------------------------------------------------- completion


def _script(shell: str, capsys) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


BASH_COMPLETE = """
source "$1"
complete_words() {
  COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _shtab_rules_engine rules-engine "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
  printf '%s\\n' "${COMPREPLY[@]}"
}
complete_words rules-engine dr
echo --
complete_words rules-engine lint --rel
echo --
complete_words rules-engine evaluate --format j
echo --
complete_words rules-engine completion ''
echo --
cd "$2"
complete_words rules-engine draft --pack pa
echo --
complete_words rules-engine draft art
"""


def test_bash_completes_commands_options_and_choices(tmp_path: Path, capsys) -> None:
    script = tmp_path / "rules-engine.bash"
    script.write_text(_script("bash", capsys), encoding="utf-8")
    work = tmp_path / "work"
    (work / "packdir").mkdir(parents=True)
    (work / "pack.txt").write_text("", encoding="utf-8")
    (work / "article.txt").write_text("", encoding="utf-8")
    done = subprocess.run(
        ["bash", "-c", BASH_COMPLETE, "bash", str(script), str(work)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("--\n") == [
        "draft\n",
        "--release\n",
        "json\njunit\n",
        "bash\nzsh\nfish\n",
        "packdir\n",  # --pack names a folder
        "article.txt\n",  # the article a file
    ]


@pytest.mark.parametrize(("shell", "check"), [("zsh", ["zsh", "-n"]), ("fish", ["fish", "--no-execute"])])
def test_zsh_and_fish_scripts_name_every_command(shell: str, check: list[str], tmp_path: Path, capsys) -> None:
    text = _script(shell, capsys)
    for command in ("evaluate", "lint", "draft", "completion", "history"):
        assert command in text
    assert "--release" in text or "release" in text
    if shutil.which(check[0]) is None:
        pytest.skip(f"{check[0]} is not installed: the script's syntax is not checked")
    script = tmp_path / f"rules-engine.{shell}"
    script.write_text(text, encoding="utf-8")
    done = subprocess.run([*check, str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_fish_completes_commands(tmp_path: Path, capsys) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    script = tmp_path / "rules-engine.fish"
    script.write_text(_script("fish", capsys), encoding="utf-8")
    done = subprocess.run(
        [
            "fish",
            "--no-config",
            "-c",
            f"source {script}; complete -C 'rules-engine dr'; complete -C 'rules-engine lint --rel'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[0] for line in done.stdout.splitlines()] == ["draft", "--release"]


def test_completion_of_an_unknown_shell_is_refused_in_chinese_first(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["completion", "tcsh"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "rules-engine completion: 错误 error: 参数 argument shell: 无效的选择 invalid choice: 'tcsh'" in err


# ------------------------------------------------------------------------------------------- Chinese first


def test_help_is_chinese_first(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法 usage: rules-engine [-h] [--version]")
    assert "\n位置参数 positional arguments:\n" in out
    assert "\n选项 options:\n" in out
    assert re.search(r"\n  -h, --help +显示帮助并退出 show this help message and exit\n", out)
    assert re.search(r"\n  --version +显示版本并退出 show the version and exit\n", out)
    with pytest.raises(SystemExit):
        main(["lint", "-h"])
    out = capsys.readouterr().out
    assert out.startswith("用法 usage: rules-engine lint [-h]")
    assert "显示帮助并退出 show this help message and exit" in out and "options:" not in out.replace(
        "选项 options:", ""
    )
    with pytest.raises(SystemExit):
        main(["evaluate", "-h"])  # a raw-description formatter, Chinese first too
    out = capsys.readouterr().out
    assert out.startswith("用法 usage: rules-engine evaluate") and "退出码 exit codes:\n  0  全部判定" in out


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["evaluate", "x"],
            "rules-engine evaluate: 错误 error: 缺少必需的参数 the following arguments are required: --period",
        ),
        ([], "rules-engine: 错误 error: 缺少必需的参数 the following arguments are required: command"),
        (["lint", "--bogus"], "rules-engine: 错误 error: 无法识别的参数 unrecognized arguments: --bogus"),
        (
            ["lint", "--format", "xml"],
            "rules-engine lint: 错误 error: 参数 argument --format: 无效的选择 invalid choice: 'xml'",
        ),
        (
            ["evaluate", "x", "--period", "2024", "--max-evidence", "many"],
            "rules-engine evaluate: 错误 error: 参数 argument --max-evidence: 无效的值 invalid int value: 'many'",
        ),
        (["evaluate", "x", "--period"], "参数 argument --period: 需要一个值 expected one argument"),
        (
            ["evaluate", "x", "--period", "2024", "--workers", "0"],
            "参数 argument --workers: 应为正整数或 auto expected a positive whole number or auto, got '0'",
        ),
    ],
)
def test_argparse_errors_are_chinese_first(argv: list[str], line: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        code = main(argv)
        raise SystemExit(code)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("用法 usage: rules-engine")
    assert line in err.splitlines()[-1]


def test_the_history_commands_errors_are_chinese_first_too(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        command_main(["history", "runs", "--bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("用法 usage: rules-engine")
    assert err.splitlines()[-1] == "rules-engine: 错误 error: 无法识别的参数 unrecognized arguments: --bogus"


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("ambiguous option: --fo could match --format, --force", "有歧义的选项 ambiguous option: --fo could match"),
        ("argument --a: not allowed with argument --b", "参数 argument --a: 不能与此参数同时使用 not allowed with"),
        ("one of the arguments --a --b is required", "须给出其中一个参数 one of the arguments --a --b is required"),
        ("argument --x: expected at least one argument", "参数 argument --x: 至少需要一个值 expected at least one"),
        ("argument --x: ignored explicit argument 'y'", "参数 argument --x: 多余的值 ignored explicit argument"),
    ],
)
def test_each_known_argparse_error_gets_its_chinese(english: str, chinese: str) -> None:
    assert chinese_first(english).startswith(chinese)


def test_unknown_or_chinese_messages_keep_their_words() -> None:
    assert chinese_first("something argparse may say one day") == "something argparse may say one day"
    assert chinese_first("应为正整数 expected a positive number") == "应为正整数 expected a positive number"
    assert len(ERRORS) >= 10
