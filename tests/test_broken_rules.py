"""The broken-rule corpus (tests/broken_rules/): every bad rule pack is refused with a located, hinted problem.

Each case folder holds ``expect.yaml`` and a minimal pack in ``pack/`` (``pack.yaml`` plus a rule file),
copied from one small valid base and broken in one way. ``expect.yaml`` says what ``lint`` must report;
see ``tests/broken_rules/README.md``. A case the linter currently gets wrong carries ``xfail_reason`` and
is run as a strict xfail: once the linter is fixed the test XPASSes, fails, and the marker must go.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules_engine import lint
from rules_engine.command import main as command_main
from rules_engine.errors import Problem

CORPUS = Path(__file__).resolve().parent / "broken_rules"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
EXPECT_KEYS = {
    "description",
    "clean",
    "code",
    "file",
    "line",
    "column",
    "message_contains",
    "hint_contains",
    "hint_required",
    "xfail_reason",
}
# what `rules-engine lint` prints for each problem: file:line:col: code: message
CLI_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Za-z0-9_.]+): \S")


def _expect(case: Path) -> dict[str, Any]:
    data = yaml.safe_load((case / "expect.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{case}/expect.yaml must be a mapping"
    return data


def _params() -> list[Any]:
    out = []
    for case in CASES:
        expect = _expect(case)
        reason = expect.get("xfail_reason")
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(case, expect, id=case.name, marks=marks))
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _code_matches(code: str, wanted: str | list[str]) -> bool:
    """`wanted` is a code or a list of acceptable codes; a trailing `*` matches any code with that prefix."""
    return any(code.startswith(w[:-1]) if w.endswith("*") else code == w for w in _as_list(wanted))


def _matches(problem: Problem, expect: dict[str, Any]) -> bool:
    loc = problem.location
    return (
        _code_matches(problem.code, expect["code"])
        and Path(loc.file).name == expect["file"]
        and loc.line == expect["line"]
        and ("column" not in expect or loc.column == expect["column"])
        and all(s in problem.message or s in problem.message_en for s in _as_list(expect.get("message_contains")))
        and all(s in problem.hint for s in _as_list(expect.get("hint_contains")))
        and (not expect.get("hint_required") or bool(problem.hint.strip()))
    )


def _show(problems: list[Problem]) -> str:
    return "\n".join(f"  {p} [hint: {p.hint!r}]" for p in problems) or "  (no problems)"


def test_corpus_is_well_formed() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        expect = _expect(case)
        assert set(expect) <= EXPECT_KEYS, f"{case.name}: unknown keys {set(expect) - EXPECT_KEYS}"
        assert expect.get("description"), f"{case.name}: say what is broken"
        assert (case / "pack").is_dir(), f"{case.name}: the pack lives in pack/, apart from expect.yaml"
        if not expect.get("clean"):
            assert {"code", "file", "line"} <= set(expect), f"{case.name}: needs code, file and line"


@pytest.mark.parametrize(("case", "expect"), _params())
def test_broken_rule_pack_is_refused(case: Path, expect: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    # (a) lint never raises, whatever the file holds
    problems = lint(case / "pack")

    # (b) the expected problem is reported (or nothing at all for a pack that must be accepted)
    if expect.get("clean"):
        assert problems == [], f"{case.name} must lint clean:\n{_show(problems)}"
    else:
        assert any(_matches(p, expect) for p in problems), (
            f"{case.name}: no problem matches { ({k: v for k, v in expect.items() if k != 'description'}) }\n"
            f"lint reported:\n{_show(problems)}"
        )

    # (c) every problem points into a file
    for problem in problems:
        assert problem.location.file and problem.location.line > 0, f"unlocated problem: {problem}"

    # (d) the command line agrees: exit status, file:line:col: code: lines, no traceback (run in this process;
    # the process boundary itself, `python -m rules_engine lint`, is tested below on a sample of the corpus)
    code = command_main(["lint", str(case / "pack")])
    captured = capsys.readouterr()
    _check_cli(case, expect, code, captured.out, captured.err)


# a clean pack, a broken one with a Chinese message, and the alias bomb (a real process must survive it)
PROCESS_SAMPLE = ["ok-base", "duplicate-rule-id-two-files", "yaml-alias-bomb"]


@pytest.mark.parametrize("name", PROCESS_SAMPLE)
def test_the_lint_command_in_its_own_process_agrees(name: str) -> None:
    case = CORPUS / name
    expect = _expect(case)
    assert not expect.get("xfail_reason"), f"{name}: pick a case the linter gets right"
    run = subprocess.run(
        [sys.executable, "-m", "rules_engine", "lint", str(case / "pack")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=120,
    )
    _check_cli(case, expect, run.returncode, run.stdout, run.stderr)


def _check_cli(case: Path, expect: dict[str, Any], returncode: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    if expect.get("clean"):
        assert returncode == 0, stdout + stderr
        assert "OK" in stdout
        return
    assert returncode == 1, f"exit {returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, f"no problems printed\nstderr:\n{stderr}"
    parsed = []
    for line in lines:
        m = CLI_LINE.match(line)
        assert m and int(m["line"]) > 0, f"not a file:line:col: code: line: {line!r}"
        parsed.append(m)
    assert any(
        _code_matches(m["code"], expect["code"])
        and Path(m["file"]).name == expect["file"]
        and int(m["line"]) == expect["line"]
        for m in parsed
    ), f"expected {expect['code']} at {expect['file']}:{expect['line']} in:\n{stdout}"
