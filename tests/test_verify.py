"""Receipts that verify from anywhere: packs recorded by id, version and hash (no folder), `verify` run from
another folder finds the inputs and packs, names the input that changed, and tells a truncated report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rules_engine import RuleSet, __version__, load_rules, verify
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES


def _installed(monkeypatch: pytest.MonkeyPatch, *paths: Path) -> None:
    """Make the installed packs those of `paths` (none: nothing installed), whatever this environment has."""
    monkeypatch.setattr(verify, "_installed_packs", lambda: load_rules(*paths) if paths else RuleSet(()))


@pytest.fixture(scope="module")
def made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder A, holding the data and the rules, where a report was made with relative paths (made once for the
    module; each test gets a copy of it, `made`)."""
    folder = tmp_path_factory.mktemp("made") / "A"
    shutil.copytree(EXAMPLE, folder / "data", ignore=shutil.ignore_patterns("*.py", "*.md"))
    shutil.copytree(RULES, folder / "rules")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _installed(monkeypatch)
        monkeypatch.chdir(folder)
        args = [
            "evaluate",
            "data",
            "--period",
            "2024",
            "--as-of",
            "2025-01-15",
            "--format",
            "json",
            "-o",
            "report.json",
        ]
        assert main([*args, "--waivers", "data/waivers.yaml", "--param", "ZZ-DW-01.at_least=2"]) == 1
    return folder


@pytest.fixture
def made(made_once: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A copy of folder A (`made_once`) for one test, which may change it; no pack is installed, so the copies in A
    are the only ones verify can find; the working folder is B, elsewhere."""
    _installed(monkeypatch)
    folder = tmp_path / "A"
    shutil.copytree(made_once, folder)
    elsewhere = tmp_path / "B"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    return folder


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["verify", *args])
    return code, capsys.readouterr().out


def test_verify_from_another_folder(made: Path, tmp_path: Path, capsys) -> None:
    assert Path.cwd() == tmp_path / "B"
    code, out = _verify(capsys, str(made / "report.json"))
    assert (code, out.strip()) == (0, "OK: 输入未变，报告逐字节复现 inputs unchanged, report reproduced byte for byte")
    assert Path.cwd() == tmp_path / "B"  # the working folder is restored
    # the report moved away from the folder it was made in: the inputs are not found, and verify says where it looked
    moved = tmp_path / "C" / "report.json"
    moved.parent.mkdir()
    shutil.move(made / "report.json", moved)
    code, out = _verify(capsys, str(moved))
    assert code == 1
    assert "名册 roster data/roster.yaml: 文件不存在 file is missing" in out
    assert "pass --base DIR" in out and "规则包 pack zhuti-zeren-2020@1.0.0: 找不到 not found" in out
    assert _verify(capsys, str(moved), "--base", str(made))[0] == 0
    assert _verify(capsys, str(moved), "--base", str(made / "data"), "--rules", str(made / "rules"))[0] == 1
    assert _verify(capsys, str(moved), "--base", str(made), "--rules", str(made / "rules"))[0] == 0


def test_packs_are_found_among_the_installed_ones(made: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    shutil.move(made / "rules", tmp_path / "elsewhere")  # not in A any more: verify looks among the installed
    code, out = _verify(capsys, str(made / "report.json"))
    assert code == 1 and "not found" in out
    _installed(monkeypatch, tmp_path / "elsewhere")
    assert _verify(capsys, str(made / "report.json"))[0] == 0


def test_receipt_names_packs_by_id_version_and_hash(made: Path) -> None:
    receipt = json.loads((made / "report.json").read_bytes())["receipt"]
    pack = next(p for p in receipt["packs"] if p["id"] == "zhuti-zeren-2020")
    assert set(pack) == {"id", "version", "sha256", "origin"}
    assert pack["version"] == "1.0.0" and len(pack["sha256"]) == 64
    assert "rules" not in json.dumps(receipt["packs"])  # no folder, relative or absolute


def test_same_run_from_two_folders_gives_the_same_bytes(tmp_path: Path, monkeypatch, capsys) -> None:
    outputs = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.chdir(folder)
        out = tmp_path / f"{name}.json"
        args = ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]
        assert main([*args, "--format", "json", "-o", str(out), "--waivers", str(EXAMPLE / "waivers.yaml")]) == 1
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    monkeypatch.chdir(RULES.parent)  # the rules are inside this folder now: still the same bytes
    again = tmp_path / "three.json"
    args = ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15", "-o"]
    assert main([*args, str(again), "--format", "json", "--waivers", str(EXAMPLE / "waivers.yaml")]) == 1
    assert again.read_bytes() == outputs[0]
    monkeypatch.chdir(tmp_path)
    assert _verify(capsys, str(tmp_path / "one.json"), "--rules", str(RULES))[0] == 0


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda a: _append(a / "data" / "roster.yaml", "# changed\n"), "名册 roster data/roster.yaml: 文件已改变"),
        (
            lambda a: _append(
                a / "data" / "records.jsonl", '{"id": "X1", "org": "county", "type": "t", "date": "2024"}\n'
            ),
            "记录文件 records file data/records.jsonl: 文件已改变 file has changed",
        ),
        (
            lambda a: _append(a / "data" / "waivers.yaml", "# changed\n"),
            "豁免文件 waiver file data/waivers.yaml: 文件已改变 file has changed",
        ),
        (
            lambda a: _append(next((a / "rules" / "zhuti-zeren-2020").glob("*.yaml")), "# changed\n"),
            "规则包 pack zhuti-zeren-2020@1.0.0: 内容已改变 has changed",
        ),
        (
            lambda a: shutil.rmtree(a / "rules" / "minzhu-shenghuohui-2016"),
            "规则包 pack minzhu-shenghuohui-2016@1.0.0: 找不到 not found",
        ),
        (lambda a: (a / "data" / "roster.yaml").unlink(), "名册 roster data/roster.yaml: 文件不存在 file is missing"),
    ],
    ids=["roster", "records", "waivers", "pack", "pack-missing", "roster-missing"],
)
def test_each_changed_input_is_named(made: Path, capsys, tamper, expected: str) -> None:
    tamper(made)
    code, out = _verify(capsys, str(made / "report.json"))
    assert code == 1
    assert expected in out
    assert len([line for line in out.splitlines() if "已改变" in line or "not found" in line or "missing" in line]) == 1


def test_another_library_version_is_named(made: Path, capsys) -> None:
    report = made / "report.json"
    raw = report.read_bytes()
    marker = f'"library": "duty-rules-engine",\n    "version": "{__version__}"'.encode()
    assert raw.count(marker) == 1
    report.write_bytes(raw.replace(marker, marker.replace(__version__.encode(), b"0.0.1")))
    code, out = _verify(capsys, str(report))
    assert code == 1
    assert "re-evaluation differs from the report" in out
    assert (
        f"library version differs: 报告由 the report was made by duty-rules-engine 0.0.1，当前为 this is {__version__}"
        in out
    )


def test_a_truncated_report_is_told_from_one_without_receipt(made: Path, capsys) -> None:
    report = made / "report.json"
    raw = report.read_bytes()
    for cut in (len(raw) - 1, len(raw) // 2, 40, 0):
        report.write_bytes(raw[:cut])
        code, out = _verify(capsys, str(report))
        assert code == 1
        assert out.startswith("报告不完整 truncated report"), (cut, out)
    cut = raw[: len(raw) // 2]
    report.write_bytes(cut)
    line = cut.rstrip(b"\n").count(b"\n") + 1
    assert line > 10 and f"ends early at line {line}:" in _verify(capsys, str(report))[1]
    report.write_text('{"format": "something else"}', encoding="utf-8")
    assert "the report has no receipt" in _verify(capsys, str(report))[1]
    report.write_text("name,status\n", encoding="utf-8")
    assert "the report has no receipt" in _verify(capsys, str(report))[1]
