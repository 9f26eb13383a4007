"""The findings history (rules_engine.history, evaluate --db, rules-engine history) on a real SQLite file."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rules_engine import Finding, Report, Status, history, read_report, render_json
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES, WAIVERS, _clock, _report

CLI_INPUTS = [str(EXAMPLE / "roster.yaml"), str(EXAMPLE / "records.jsonl"), "--rules", str(RULES), "--waivers", WAIVERS]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def sql(db: str | Path, statement: str) -> list[tuple[Any, ...]]:
    """The rows of one SQL statement run on the store `db` (a file or a URL) by a plain connection, committed."""
    engine = history.store.sa.create_engine(history.resolve_db(db), poolclass=history.store.sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.exec_driver_sql(statement)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _key(f: Finding) -> tuple[str, ...]:
    s = f.subject
    second = s.second.id if s.second else ""
    return (f.rule_id, s.kind, s.id, s.portfolio or "", second, s.record or "", f.organisation.id, f.window.start)


def _detail(f: Finding) -> str:
    s = f.subject
    return " ".join(
        p
        for p in (
            f"portfolio={s.portfolio}" if s.portfolio else "",
            f"second={s.second.id}" if s.second else "",
            f"record={s.record}" if s.record else "",
        )
        if p
    )


def _plain_diff(a: Report, b: Report) -> dict[str, set[tuple[Any, ...]]]:
    """The four lists computed directly from the two reports: (rule, organisation, subject, window, before, after)."""
    before = {_key(f): f for f in a.findings}
    after = {_key(f): f for f in b.findings}
    out: dict[str, set[tuple[Any, ...]]] = {"new": set(), "resolved": set(), "persisting": set(), "changed": set()}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        was = old is not None and old.status is Status.violated
        now = new is not None and new.status is Status.violated
        one = new or old
        assert one is not None
        row = (
            one.rule_id,
            one.organisation.id,
            one.subject.id,
            _detail(one),
            one.window.label,
            (old.status.value, old.count) if old else None,
            (new.status.value, new.count) if new else None,
        )
        if now and not was:
            out["new"].add(row)
        elif was and not now:
            out["resolved"].add(row)
        elif was and now:
            out["persisting"].add(row)
        elif old is None or new is None or (old.status, old.count) != (new.status, new.count):
            out["changed"].add(row)
    return out


def _state(s: dict[str, Any] | None) -> tuple[str, int] | None:
    return None if s is None else (s["status"], s["count"])


def _states(change: dict[str, Any]) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    return _state(change["before"]), _state(change["after"])


def test_history_diff_of_the_example_lists_what_changed_between_july_and_january(
    db: str, july: Report, january: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "diff", "1", "2", "--db", db, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    expected = _plain_diff(july, january)
    for name in ("new", "resolved", "persisting", "changed"):
        listed = [
            (c["rule_id"], c["organisation_id"], c["subject_id"], c["subject_detail"], c["window"], *_states(c))
            for c in got[name]
        ]
        assert len(listed) == len(set(listed))
        assert set(listed) == expected[name], name
    assert len(got["new"]) == 22 and len(got["persisting"]) == 4  # the example's README: 4 violations in July
    d = history.diff(db, 1, 2)  # the JSON is each change as dataclasses.asdict gives it
    assert got["changed"] == [dataclasses.asdict(c) for c in d.changed] and got["new"][0] == dataclasses.asdict(
        d.new[0]
    )
    # the July violation twn-liuhe ZZ-DW-01 2024-H2 was pending then: new in January
    assert ("ZZ-DW-01", "twn-liuhe", "twn-liuhe", "", "2024-H2", ("pending", 0), ("violated", 0)) in expected["new"]


def test_diff_text_groups_by_organisation_and_latest_names_runs(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "diff", "latest~1", "latest", "--db", db]) == 0
    text = capsys.readouterr().out
    assert text.startswith("运行 run 1 (as of 2024-07-15, 2024) -> 运行 run 2 (as of 2025-01-15, 2024)")
    assert "新增未履行 new violations: 22" in text
    assert "  柳河乡党委 [twn-liuhe]\n" in text
    assert "    ZZ-DW-01  柳河乡党委 [twn-liuhe]  2024-H2  pending(0) -> violated(0)" in text
    assert main(["history", "diff", "latest~2", "latest", "--db", db]) == 2
    assert "没有运行 latest~2 no run latest~2: 2 run(s) recorded" in capsys.readouterr().err
    assert main(["history", "diff", "1", "7", "--db", db]) == 2
    assert "no run 7" in capsys.readouterr().err


def test_runs_keep_when_who_as_of_period_and_the_packs_with_their_hashes(
    db: str, january: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    found = history.runs(db)
    assert [(r.id, r.recorded_at, r.as_of, r.period) for r in found] == [
        (1, "2024-07-16T09:00:00+08:00", "2024-07-15", "2024"),
        (2, "2025-01-16T09:00:00+08:00", "2025-01-15", "2024"),
    ]
    assert found[1].recorded_by == "督查室"
    assert found[1].summary == january.summary and found[1].findings == len(january.findings)
    assert {(p.id, p.version, p.sha256) for p in found[1].packs} == {
        (p["id"], p["version"], p["sha256"]) for p in january.receipt.packs
    }
    assert main(["history", "runs", "--db", db, "--format", "json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [1, 2]


def test_who_ran_it_comes_from_the_argument_or_the_environment_only(
    tmp_path: Path, july: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "who.db"
    monkeypatch.delenv("RULES_ENGINE_RECORDED_BY", raising=False)
    assert history.record(july, path).recorded_by is None  # never guessed from the machine (USER, host name)
    monkeypatch.setenv("RULES_ENGINE_RECORDED_BY", "纪检组")
    assert history.record(july, path).recorded_by == "纪检组"
    assert history.record(july, path, recorded_by="张三").recorded_by == "张三"


def test_show_flags_a_duty_violated_three_windows_in_a_row(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    # 2025: no record at all, so every half-year of 2025 is violated
    history.record(_report("2025", "2026-01-15"), db, clock=_clock("2026-01-16"))
    record = history.show(db, "twn-liuhe")
    flagged = {(e.run_id, e.rule_id, e.subject_id, e.window) for e in record.persistent}
    # twn-liuhe: 2024-H2, 2025-H1, 2025-H2 violated in a row (2024-H2 as judged by the January run)
    assert {("twn-liuhe", "2024-H2", 2), ("twn-liuhe", "2025-H1", 3), ("twn-liuhe", "2025-H2", 3)} <= {
        (s, w, r) for r, rule, s, w in flagged if rule == "ZZ-DW-01"
    }
    assert (1, "ZZ-DW-01", "twn-liuhe", "2024-H2") not in flagged  # the July run saw it pending
    # twn-chengguan: 2024-H1 violated, 2024-H2 fulfilled, then two violated: not three in a row
    chengguan = history.show(db, "twn-chengguan")
    assert not [e for e in chengguan.persistent if e.rule_id == "ZZ-DW-01"]
    assert main(["history", "show", "twn-liuhe", "--db", db]) == 0
    text = capsys.readouterr().out
    line = "run 3 (as of 2026-01-15)  ZZ-DW-01  twn-liuhe  柳河乡党委 [twn-liuhe]  2025-H2  violated(0)"
    assert f"{line}  持续未履行 PERSISTENT\n" in text
    assert main(["history", "show", "nobody", "--db", db]) == 2
    assert "nothing recorded for 'nobody'" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_with_db_records_the_run_and_writes_the_same_report(
    tmp_path: Path, july: Report, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    path = tmp_path / "store.db"
    args = ["evaluate", *CLI_INPUTS, "--period", "2024", "--as-of", "2024-07-15"]
    for fmt in ("json", "csv", "junit", "table", "parquet"):
        assert main([*args, "--format", fmt]) == 1
        plain = capsysbinary.readouterr().out
        assert main([*args, "--format", fmt, "--db", str(path), "--recorded-by", "督查室"]) == 1
        recorded = capsysbinary.readouterr()
        assert recorded.out == plain, fmt
        assert "已记录运行 recorded run" in recorded.err.decode()
    assert [(r.id, r.recorded_by, r.findings) for r in history.runs(path)] == [
        (i, "督查室", 1087) for i in (1, 2, 3, 4, 5)
    ]
    out = tmp_path / "report.json"
    assert main([*args, "--format", "json", "--db", str(path), "-o", str(out), "--report-format", "v1"]) == 1
    assert out.read_bytes() == render_json(july)
    assert main([*args, "--format", "json", "--db", str(path), "-o", str(out)]) == 1  # v2, the default
    assert read_report(out) == july


def test_a_failed_evaluation_records_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "store.db"
    assert main(["evaluate", *CLI_INPUTS, "--period", "2024-H9", "--db", str(path)]) == 2
    assert not path.exists()
    assert main(["evaluate", *CLI_INPUTS, "--period", "2024", "--db", str(tmp_path / "no" / "such.db")]) == 2
    assert "the database's folder does not exist" in capsys.readouterr().err


def test_a_database_url_that_cannot_be_used_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "runs", "--db", "nosuchdb://someone:secret@host/x"]) == 2
    err = capsys.readouterr().err
    assert "无法使用该数据库 cannot use the database nosuchdb://someone:***@host/x" in err
    assert "secret" not in err and "Traceback" not in err


def test_history_db_defaults_to_the_environment_then_the_working_folder(
    tmp_path: Path, july: Report, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RULES_ENGINE_DB", raising=False)
    assert main(["history", "runs"]) == 2
    assert "no such database" in capsys.readouterr().err
    history.record(july, "rules-engine.db")
    assert main(["history", "runs"]) == 0
    assert "\n1  " in capsys.readouterr().out
    history.record(july, tmp_path / "env.db")
    history.record(july, tmp_path / "env.db")
    monkeypatch.setenv("RULES_ENGINE_DB", str(tmp_path / "env.db"))
    assert [r.id for r in history.runs()] == [1, 2]


def test_the_store_is_made_by_the_shipped_migrations(db: str, july: Report, january: Report) -> None:
    assert sql(db, "SELECT version_num FROM alembic_version") == [(history.store.HEAD,)]
    engine = history.store.sa.create_engine(history.resolve_db(db))
    tables = set(history.store.sa.inspect(engine).get_table_names())
    engine.dispose()
    assert tables == set(history.store.REVISION_TABLES[history.store.HEAD]) | {"alembic_version"}
    # a finding is three numbers per run; its duty and its state are stored once whatever the number of runs
    assert _count(db, "findings") == 1087 + 1093
    assert _count(db, "finding_keys") == len({_key(f) for f in january.findings} | {_key(f) for f in july.findings})
    states = _count(db, "finding_states")
    history.record(january, db)  # the same report again: 1093 rows of three numbers, no new duty or state
    assert (_count(db, "findings"), _count(db, "finding_states")) == (1087 + 1093 * 2, states)
    assert (Path(history.store.MIGRATIONS) / "versions").is_dir()


def test_a_sqlite_store_is_in_wal_mode(tmp_path: Path, july: Report) -> None:
    path = tmp_path / "wal.db"
    history.record(july, path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_postgresql_urls_mean_psycopg_3(monkeypatch: pytest.MonkeyPatch) -> None:
    for given in ("postgresql://u:p@h:5433/d", "postgres://u:p@h:5433/d", "postgresql+psycopg://u:p@h:5433/d"):
        assert history.resolve_db(given) == "postgresql+psycopg://u:p@h:5433/d"
    assert history.resolve_db("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"  # as asked
    assert history.shown_db("postgresql://u:secret@h/d") == "postgresql+psycopg://u:***@h/d"


def _count(db: str | Path, table: str) -> int:
    return int(sql(db, f"SELECT count(*) FROM {table}")[0][0])


def test_an_error_half_way_through_recording_leaves_no_partial_run(
    db: str, july: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (_count(db, "runs"), _count(db, "run_packs"), _count(db, "findings"))
    calls: list[int] = []
    insert = history.core._insert_batch

    def failing(conn: Any, rows: list[dict[str, Any]]) -> None:
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("disk gone")
        insert(conn, rows)

    monkeypatch.setattr(history.core, "_insert_batch", failing)
    with pytest.raises(RuntimeError, match="disk gone"):
        history.record(july, db)
    assert calls == [500, 500]
    assert (_count(db, "runs"), _count(db, "run_packs"), _count(db, "findings")) == before


RECORDER = textwrap.dedent(
    """
    import sys, time
    from rules_engine import history
    from tests.test_history import _report
    report = _report("2024", "2024-07-15")
    insert = history.core._insert_batch
    def slow(conn, rows):
        insert(conn, rows)
        print("inserted", len(rows), flush=True)
        time.sleep(600)
    history.core._insert_batch = slow
    history.record(report, sys.argv[1])
    """
)


@pytest.mark.slow  # (a subprocess that evaluates the example: seconds of CPU on each store, the same on any Python)
def test_a_recording_process_killed_half_way_leaves_no_partial_run(db: str, july: Report) -> None:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", RECORDER, db], stdout=subprocess.PIPE, text=True, cwd=root, env=ENV)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "inserted 500\n"  # a run row, its packs and 500 findings written
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert [r.id for r in history.runs(db)] == [1, 2]
    assert _count(db, "findings") == 1087 + 1093
    # the store is usable at once: no lock left behind (PostgreSQL does not give back the killed run's number)
    again = history.record(july, db).id
    assert [r.id for r in history.runs(db)] == [1, 2, again] and _count(db, "findings") == 1087 * 2 + 1093


WRITER = textwrap.dedent(
    """
    import sys
    from rules_engine import history
    from tests.test_history import _report
    report = _report("2024", sys.argv[2])
    print("ready", flush=True)
    sys.stdin.readline()
    print(history.record(report, sys.argv[1]).id, flush=True)
    """
)


@pytest.mark.slow  # (two subprocesses that evaluate the example: seconds of CPU on each store, the same on any Python)
def test_two_processes_recording_at_once_both_land(fresh_store: str) -> None:
    path = fresh_store  # the first use too (the migrations) happens in both at once
    root = Path(__file__).resolve().parents[1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, path, day],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env=ENV,
        )
        for day in ("2024-07-15", "2025-01-15")
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    ids = [proc.communicate(timeout=300)[0].strip() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    assert sorted(ids) == ["1", "2"]
    assert sorted((r.as_of, r.findings) for r in history.runs(path)) == [("2024-07-15", 1087), ("2025-01-15", 1093)]
    assert _count(path, "findings") == 1087 + 1093


def test_without_the_extra_the_core_works_and_history_says_what_to_install(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["sqlalchemy"] = None  # as if not installed
        import rules_engine, rules_engine.cli
        assert "alembic" not in sys.modules
        sys.exit(rules_engine.cli.main(["history", "runs", "--db", sys.argv[1]]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "x.db")], capture_output=True, text=True, env=ENV
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'duty-rules-engine[history]'" in done.stderr
    assert "Traceback" not in done.stderr
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rules_engine.cli; "
            "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'alembic'))))",
        ],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert done.stdout.strip() == "[]"


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("RULES_ENGINE_DB", raising=False)
    monkeypatch.delenv("RULES_ENGINE_RECORDED_BY", raising=False)
    yield


OPENER = textwrap.dedent(
    """
    import sys, time
    from rules_engine.history import store
    path, go = sys.argv[1], float(sys.argv[2])
    time.sleep(max(0.0, go - time.time() - 0.002))  # asleep until just before the start, not spinning
    while time.time() < go:
        pass
    with store.connect(path, create=True) as conn:
        conn.exec_driver_sql("SELECT 1")
    """
)


@pytest.mark.slow
def test_two_processes_opening_a_new_store_at_once_both_succeed(tmp_path: Path) -> None:
    """Switching a new file to write-ahead logging answers "database is locked" at once, without SQLite's
    busy handler, while the other process holds the file: it must wait, not fail (before the retry, about
    one opening in four failed this way)."""
    import time

    for attempt in range(6):
        path = str(tmp_path / f"new-{attempt}.db")
        go = str(time.time() + 1.0)  # both start together, after their imports
        procs = [
            subprocess.Popen([sys.executable, "-c", OPENER, path, go], stderr=subprocess.PIPE, text=True, env=ENV)
            for _ in range(2)
        ]
        errors = [proc.communicate(timeout=120)[1] for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], errors


def test_history_diff_text_counts_persisting_violations_per_organisation_and_lists_them_on_request(
    db: str, july: Report, january: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = _plain_diff(july, january)
    per_org: dict[str, int] = {}
    for row in expected["persisting"]:
        per_org[row[1]] = per_org.get(row[1], 0) + 1
    assert main(["history", "diff", "1", "2", "--db", db]) == 0
    text = capsys.readouterr().out
    counted = f"持续未履行 persisting: {len(expected['persisting'])} （按组织计数，逐条列出请加 --persisting）"
    assert counted in text  # the text says the list was left out, and how to get it
    block = text.split(counted, 1)[1].split("其他变化 changed")[0]
    names = {f.organisation.id: f.organisation.name for f in january.findings}
    assert block.splitlines()[1:] == [f"  {names[o]} [{o}]: {n}" for o, n in sorted(per_org.items())]
    assert main(["history", "diff", "1", "2", "--db", db, "--persisting"]) == 0
    listed = capsys.readouterr().out
    assert f"持续未履行 persisting: {len(expected['persisting'])}\n" in listed and "逐条列出" not in listed
    persisting = listed.split("持续未履行 persisting:")[1].split("其他变化 changed")[0]
    assert sum(1 for line in persisting.splitlines() if line.startswith("    ")) == len(expected["persisting"])
    # the rest of the text is the same either way: new, resolved and changed listed in both
    assert text.split("持续未履行")[0] == listed.split("持续未履行")[0]
    assert text.split("其他变化 changed")[1] == listed.split("其他变化 changed")[1]


def test_diff_api_lists_or_counts_persisting_and_the_json_is_each_change_whole(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    whole, counted = history.diff(db, 1, 2), history.diff(db, 1, 2, persisting=False)
    assert whole.persisting_listed and not counted.persisting_listed
    assert len(whole.persisting) == 4 and counted.persisting == []
    assert counted.persisting_counts == whole.persisting_counts
    assert [(c.organisation_id, c.count) for c in whole.persisting_counts] == sorted(
        {
            (o, sum(1 for c in whole.persisting if c.organisation_id == o))
            for o in {c.organisation_id for c in whole.persisting}
        }
    )
    for name in ("new", "resolved", "changed"):
        assert getattr(counted, name) == getattr(whole, name), name
    assert main(["history", "diff", "1", "2", "--db", db, "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert list(got) == ["a", "b", "new", "resolved", "persisting", "changed"]
    assert got == json.loads(json.dumps(whole.to_dict()))
    for name in ("new", "resolved", "persisting", "changed"):  # as dataclasses.asdict gives each Change
        assert got[name] == [dataclasses.asdict(c) for c in getattr(whole, name)], name
    assert got["a"] == dataclasses.asdict(whole.a) and got["b"] == dataclasses.asdict(whole.b)


def test_history_commands_start_without_the_evaluation_and_give_the_same_exit_codes(db: str) -> None:
    probe = textwrap.dedent(
        """
        import sys, runpy
        sys.argv = ["rules-engine", *sys.argv[1:]]
        try:
            runpy.run_module("rules_engine", run_name="__main__")
        except SystemExit as exc:
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "alembic", "durable", "yaml")
                           or m in ("rules_engine.pipeline", "rules_engine.evaluate", "rules_engine.cli"))
            print("IMPORTED", heavy, file=sys.stderr)
            raise
        """
    )
    for args, code in (
        (["runs"], 0),
        (["diff", "latest~1", "latest"], 0),
        (["show", "twn-liuhe"], 0),
        (["diff", "1", "9"], 2),
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, "history", *args, "--db", db], capture_output=True, text=True, env=ENV
        )
        assert done.returncode == code, done.stderr
        assert "IMPORTED []" in done.stderr, done.stderr
    assert "no run 9" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "rules_engine", "history", "diff", "1"], capture_output=True, text=True, env=ENV
    )
    assert done.returncode == 2 and "usage: rules-engine history diff" in done.stderr


def test_the_package_imports_its_parts_on_first_use_and_keeps_its_functions() -> None:
    script = textwrap.dedent(
        """
        import sys, rules_engine
        assert "rules_engine.pipeline" not in sys.modules and "pydantic" not in sys.modules
        import rules_engine.evaluate, rules_engine.lint, rules_engine.impact  # the modules named like functions
        assert callable(rules_engine.evaluate) and rules_engine.evaluate.__name__ == "evaluate"
        assert rules_engine.lint.__name__ == "lint" and rules_engine.impact.__name__ == "impact"
        from rules_engine import *
        assert all(hasattr(rules_engine, name) for name in rules_engine.__all__)
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV)
    assert done.stdout.strip() == "ok", done.stderr


def test_the_stored_violated_status_is_the_models() -> None:
    assert history.rectify.VIOLATED == history.core.VIOLATED == Status.violated.value
