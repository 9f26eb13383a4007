"""Output files are written whole or not at all, and never over one of the run's own inputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rules_engine import InputError, OutputError, evaluate_to, load_rules
from rules_engine.atomic import STALE_AFTER, TEMP_SUFFIX, atomic_write, write_bytes
from rules_engine.cli import main

from .conftest import EXAMPLE, ROOT, RULES

ARGS = ["--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]
OLD = b'{"an": "earlier report"}\n'


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed away meanwhile
        return 0


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX))


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic province large enough that writing its JSON report takes a noticeable time."""
    out = tmp_path_factory.mktemp("province")
    synth = ROOT / "benchmarks" / "synth.py"
    subprocess.run(
        [sys.executable, str(synth), "--orgs", "120", "--records", "12000", "--out", str(out), "--quiet"], check=True
    )
    return out


# ---------------------------------------------------------------- the helper


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(OLD)
    for error in (RuntimeError("disk full"), KeyboardInterrupt()):
        with pytest.raises(type(error)), atomic_write(target) as handle:
            handle.write(b'{"format": "rules-engine/report/v1",\n  "findings": [')
            assert temporaries(tmp_path)  # the partial text goes to a temporary file, not the target
            raise error
        assert target.read_bytes() == OLD
        assert temporaries(tmp_path) == []


def test_a_whole_write_replaces_the_file_keeps_its_mode_and_writes_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_bytes(OLD)
    target.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(target.name)
    write_bytes(link, b"new\n")
    assert link.is_symlink() and target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert temporaries(tmp_path) == []
    write_bytes(tmp_path / "fresh.txt", b"x")  # a new file: the umask applies, as for any file
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "fresh.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_stale_orphans_of_dead_processes_are_removed_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    old = time.time() - STALE_AFTER - 60
    orphan = tmp_path / f".report.json.{gone.pid}.0badc0de{TEMP_SUFFIX}"
    recent = tmp_path / f".report.json.{gone.pid}.12345678{TEMP_SUFFIX}"
    running = tmp_path / f".report.json.{os.getpid()}.abcdef01{TEMP_SUFFIX}"
    other = tmp_path / f".other.json.{gone.pid}.0badc0de{TEMP_SUFFIX}"
    for path in (orphan, recent, running, other):
        path.write_bytes(b"partial")
    for path in (orphan, running, other):
        os.utime(path, (old, old))
    write_bytes(target, b"whole\n")
    assert not orphan.exists()  # dead and unchanged for long: removed
    assert recent.exists() and running.exists() and other.exists()  # maybe still being written; another file


def test_output_onto_an_input_is_refused_before_anything_is_written(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLE, folder)
    link = tmp_path / "link.jsonl"
    link.symlink_to(folder / "records.jsonl")
    hard = tmp_path / "hard.yaml"
    os.link(folder / "roster.yaml", hard)
    rule_file = tmp_path / "rules"
    shutil.copytree(RULES, rule_file)
    some_rule = next(p for p in sorted(rule_file.rglob("*.yaml")) if p.name != "pack.yaml")
    waivers = folder / "waivers.yaml"
    rule_args = ["--rules", str(rule_file), "--period", "2024", "--as-of", "2025-01-15", "--waivers", str(waivers)]
    before = {p: p.read_bytes() for p in [*folder.iterdir(), some_rule]}
    for target in (folder / "records.jsonl", link, hard, some_rule, waivers, folder / "." / "roster.yaml"):
        for fmt in ("table", "json", "csv"):
            code = main(["evaluate", str(folder), *rule_args, "--format", fmt, "-o", str(target)])
            assert code == 2, (target, fmt)
            assert "refusing to write the output over an input file" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in before} == before
    assert temporaries(folder) == [] and temporaries(tmp_path) == []
    with pytest.raises(OutputError) as info:  # the API refuses it too, with a typed error
        evaluate_to(link, load_rules(rule_file), folder / "roster.yaml", folder / "records.jsonl", period="2024")
    assert isinstance(info.value, InputError)
    assert {p: p.read_bytes() for p in before} == before


def test_coverage_output_onto_a_rule_file_is_refused(tmp_path: Path, capsys) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    manifest = next(rules.rglob("pack.yaml"))
    before = manifest.read_bytes()
    assert (
        main(["coverage", "--rules", str(rules), "--features", str(ROOT / "tests" / "features"), "-o", str(manifest)])
        == 2
    )
    assert "refusing" in capsys.readouterr().err and manifest.read_bytes() == before
    out = rules / "COVERAGE.md"
    assert (
        main(["coverage", "--rules", str(rules), "--features", str(ROOT / "tests" / "features"), "-o", str(out)]) == 0
    )
    assert out.read_text(encoding="utf-8").startswith("#")


# ---------------------------------------------------------------- real runs


@pytest.mark.slow
def test_a_run_killed_mid_write_leaves_the_previous_report_intact(tmp_path: Path, province: Path) -> None:
    report = tmp_path / "report.json"
    report.write_bytes(OLD)
    command = [sys.executable, "-m", "rules_engine", "evaluate", str(province), *ARGS, "--format", "json"]
    proc = subprocess.Popen([*command, "-o", str(report)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed_at = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            # the report is being written (to a temporary file, or in place): header and first findings out
            size = max((_size(p) for p in tmp_path.iterdir()), default=0)
            if size >= 1 << 16:
                proc.send_signal(signal.SIGKILL)
                killed_at = size
                break
            time.sleep(0.002)
    finally:
        proc.wait(timeout=120)
    assert killed_at, "the run ended before it could be killed mid-write; make the input larger"
    assert proc.returncode == -signal.SIGKILL
    assert report.read_bytes() == OLD  # byte-identical: the partial report never replaced it
    # what is left is the killed process's orphan, recognisable by name (and removed once stale)
    assert all(name.startswith(f".report.json.{proc.pid}.") for name in temporaries(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(TEMP_SUFFIX)) == ["report.json"]


@pytest.mark.slow
def test_two_runs_writing_one_output_leave_one_whole_report(tmp_path: Path, province: Path) -> None:
    report = tmp_path / "report.json"
    base = [sys.executable, "-m", "rules_engine", "evaluate", str(province), *ARGS, "--format", "json"]
    # different --max-evidence: the two reports differ, so a mix of both could not pass for either
    runs = [
        subprocess.Popen([*base, "--max-evidence", n, "-o", str(report)], stderr=subprocess.PIPE) for n in ("1", "20")
    ]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode in (0, 1), err.decode()
    data = report.read_bytes()
    assert data.count(b'"format": "rules-engine/report/v2"') == 1  # the command line's default layout
    parsed = json.loads(data)
    assert parsed["receipt"]["max_evidence"] in (1, 20)
    assert temporaries(tmp_path) == []
    verify = subprocess.run(
        [sys.executable, "-m", "rules_engine", "verify", str(report)], capture_output=True, timeout=300
    )
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()


def test_output_to_dev_stdout_is_written_to_the_pipe() -> None:
    """`-o /dev/stdout` is a link to a pipe: written directly, not refused for the pipe's odd name."""
    proc = subprocess.run(
        [sys.executable, "-m", "rules_engine", "evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024",
         "--as-of", "2025-01-15", "--format", "json", "-o", "/dev/stdout"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr.decode()
    assert json.loads(proc.stdout)["summary"]["violated"] > 0
