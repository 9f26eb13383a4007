"""Rectification (整改) in the findings store: open, update, close, reopen, overdue; the store's guard."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rules_engine import Report, history
from rules_engine.cli import main
from rules_engine.identity import detail

from .conftest import _clock, _report
from .test_history import ENV, sql

# twn-liuhe held no dedicated meeting in 2024-H2: violated as of 2025-01-15 (pending in July)
RULE, ORG, WINDOW = "ZZ-DW-01", "twn-liuhe", "2024-H2"


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("RULES_ENGINE_DB", raising=False)
    monkeypatch.delenv("RULES_ENGINE_RECORDED_BY", raising=False)
    yield


def _entry(db: str, run: int, rule: str = RULE, subject: str = ORG, window: str = WINDOW) -> history.Entry:
    (entry,) = [
        e
        for e in history.show(db, subject).entries
        if (e.run_id, e.rule_id, e.subject_id, e.window) == (run, rule, subject, window)
    ]
    return entry


def _events(db: str) -> list[tuple[Any, ...]]:
    return sql(db, "SELECT * FROM rectification_events ORDER BY id")


@pytest.mark.slow
def test_acceptance_open_close_show_and_a_later_run_reopens(
    db: str, january: Report, capsys: pytest.CaptureFixture[str]
) -> None:
    finding = _entry(db, 2)
    assert finding.status == "violated"
    r = history.open_rectification(
        db, finding.identity[:10], deadline="2025-03-31", owner="李四", by="督查室", clock=_clock("2025-01-20")
    )
    assert (r.id, r.state, r.deadline, r.owner, r.identity, r.run_id) == (
        1,
        "open",
        "2025-03-31",
        "李四",
        finding.identity,
        2,
    )
    assert (r.rule_id, r.organisation_id, r.window, r.opened_by) == (RULE, ORG, WINDOW, "督查室")
    history.update_rectification(db, 1, note="已部署补开专题会议", by="督查室", clock=_clock("2025-02-01"))
    closed = history.close_rectification(
        db,
        1,
        note="已补开专题会议",
        records=["rec-liuhe-0305"],
        documents=["柳发〔2025〕3号"],
        by="李四",
        clock=_clock("2025-03-05"),
    )
    assert (closed.state, closed.records, closed.documents) == ("closed", ["rec-liuhe-0305"], ["柳发〔2025〕3号"])
    assert closed.closed_at == "2025-03-05T09:00:00+08:00"
    assert [e.kind for e in closed.events] == ["opened", "updated", "closed"]

    assert main(["history", "show", ORG, "--db", db]) == 0
    text = capsys.readouterr().out
    assert "整改 rectifications: 1\n" in text
    assert (
        f"#1  已关闭 closed  2025-03-31  李四  {RULE}  {ORG}  柳河乡党委 [{ORG}]  {WINDOW}  {finding.identity[:12]}"
        in text
    )
    assert "closed  by 李四  记录 records rec-liuhe-0305  文件 documents 柳发〔2025〕3号  已补开专题会议" in text
    assert f"[{finding.identity[:12]}] run 2 (as of 2025-01-15)  {RULE}" in text  # the identity to open it with
    assert main(["history", "show", ORG, "--db", db, "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)["rectifications"]
    assert [(x["id"], x["state"], x["records"]) for x in shown] == [(1, "closed", ["rec-liuhe-0305"])]

    # a re-check of the past (as of before the closing day) does not reopen it
    history.record(january, db, clock=_clock("2025-03-06"))
    assert history.rectifications(db)[0].state == "closed"
    # a later run that still finds the violation does, by an event of the same recording
    run = history.record(_report("2024", "2025-03-10"), db, recorded_by="督查室", clock=_clock("2025-03-10"))
    (again,) = history.rectifications(db)
    assert again.state == "reopened" and again.closed_at is None
    last = again.events[-1]
    assert (last.kind, last.run_id, last.by, last.at) == (
        "reopened",
        run.id,
        "rules-engine",
        "2025-03-10T09:00:00+08:00",
    )
    # recording once more does not reopen it twice
    history.record(_report("2024", "2025-03-11"), db, clock=_clock("2025-03-11"))
    assert [e.kind for e in history.rectifications(db)[0].events] == ["opened", "updated", "closed", "reopened"]
    # reopened: it can be progressed and closed again
    assert (
        history.close_rectification(db, 1, note="再次整改", documents=["doc"], clock=_clock("2025-03-12")).state
        == "closed"
    )


def test_rectify_cli_round_trip_and_who_defaults_to_the_os_user(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "os-user")
    ident = _entry(db, 2).identity
    deadline = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert main(["rectify", "open", ident[:8], "--deadline", deadline, "--owner", "李四", "--db", db]) == 0
    assert capsys.readouterr().out.startswith(f"已开始整改 opened #1: {RULE} {ORG} {ORG} {WINDOW}")
    assert main(["rectify", "update", "#1", "--note", "进展", "--owner", "王五", "--by", "张三", "--db", db]) == 0
    assert main(["rectify", "close", "1", "--note", "完成", "--record", "r1", "--record", "r2", "--db", db]) == 0
    capsys.readouterr()
    assert main(["rectify", "list", "--db", db, "--format", "json", "--subject", ORG]) == 0
    (got,) = json.loads(capsys.readouterr().out)
    assert (got["state"], got["owner"], got["records"]) == ("closed", "王五", ["r1", "r2"])
    assert [(e["kind"], e["by"]) for e in got["events"]] == [
        ("opened", "os-user"),
        ("updated", "张三"),
        ("closed", "os-user"),
    ]
    assert main(["rectify", "list", "--db", db, "--state", "open"]) == 0
    assert "（无 none）" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["open", "0123456789abcdef", "--deadline", "2099-01-01", "--owner", "x"], "没有该结论 unknown finding"),
        (["open", "abc", "--deadline", "2099-01-01", "--owner", "x"], "结论编号无效 invalid finding 'abc'"),
        (["open", "{id}", "--deadline", "2020-01-01", "--owner", "x"], "整改期限 2020-01-01 已过"),
        (["open", "{id}", "--deadline", "2099-13-01", "--owner", "x"], "整改期限日期无效 invalid deadline"),
        (["open", "{id}", "--deadline", "2099-01-01", "--owner", " "], "责任人 owner 不能为空 must not be empty"),
        (["open", "{fulfilled}", "--deadline", "2099-01-01", "--owner", "x"], "only a violated finding"),
        (["update", "7", "--note", "x"], "没有编号为 7 的整改 no rectification #7"),
        (["close", "x7", "--note", "x", "--record", "r"], "整改编号无效 invalid rectification number 'x7'"),
        (["close", "1", "--note", "x"], "关闭整改须提供证据 closing needs evidence"),
    ],
)
def test_rectify_mistakes_are_clear_chinese_first_errors_with_exit_2(
    db: str, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ident = _entry(db, 2).identity
    history.open_rectification(db, ident, deadline="2099-01-01", owner="李四", by="x")
    fulfilled = next(e for e in history.show(db, "twn-chengguan").entries if e.run_id == 2 and e.status == "fulfilled")
    other = _entry(db, 2, "ZZ-08-01", "p052")  # another violated finding of twn-liuhe
    args = [a.format(id=other.identity, fulfilled=fulfilled.identity) for a in args]
    before = _events(db)
    assert main(["rectify", *args, "--db", db]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert _events(db) == before  # nothing written


def test_closing_a_closed_one_opening_twice_and_updating_a_closed_one_are_refused(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ident = _entry(db, 2).identity
    history.open_rectification(db, ident, deadline="2099-01-01", owner="李四", by="x")
    assert main(["rectify", "open", ident, "--deadline", "2099-01-01", "--owner", "x", "--db", db]) == 2
    assert "该结论已有未关闭的整改 #1" in capsys.readouterr().err
    history.close_rectification(db, 1, note="done", documents=["d"], by="x")
    assert main(["rectify", "close", "1", "--note", "x", "--document", "d", "--db", db]) == 2
    assert "整改 #1 已于" in capsys.readouterr().err
    assert main(["rectify", "update", "1", "--note", "x", "--db", db]) == 2
    assert "整改 #1 已关闭，不能再更新" in capsys.readouterr().err
    # once closed, the finding may get a new rectification
    assert history.open_rectification(db, ident, deadline="2099-01-01", owner="x", by="x").id == 2


def test_events_are_appended_never_changed(db: str) -> None:
    ident = _entry(db, 2).identity
    history.open_rectification(db, ident, deadline="2099-01-01", owner="李四", by="x")
    first = _events(db)
    history.update_rectification(db, 1, note="n", deadline="2099-06-30", owner="王五", by="y")
    history.close_rectification(db, 1, note="c", records=["r"], by="z")
    after = _events(db)
    assert after[: len(first)] == first and len(after) == 3
    assert history.rectifications(db)[0].deadline == "2099-06-30"  # derived from the events
    statements = ["UPDATE rectification_events SET note = 'x'", "DELETE FROM rectifications"]
    if not db.endswith(".db"):  # PostgreSQL: TRUNCATE is a statement of its own, refused too
        statements += ["TRUNCATE rectification_events", "DELETE FROM rectification_events WHERE id = 1"]
    for statement in statements:
        with pytest.raises(history.store.sa.exc.IntegrityError, match="append-only"):
            sql(db, statement)
    assert _events(db) == after


def test_overdue_rectifications_are_findings_of_zg_yq_01_as_of_a_date(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ident = _entry(db, 2).identity
    history.open_rectification(db, ident, deadline="2025-03-31", owner="李四", by="x", clock=_clock("2025-01-20"))
    history.close_rectification(db, 1, note="done", documents=["d"], by="x", clock=_clock("2025-04-10"))
    assert history.overdue(db, as_of="2025-03-31") == []  # the deadline day itself is not past
    (late,) = history.overdue(db, as_of="2025-04-05")  # closed only on 2025-04-10
    got = late.to_dict()
    assert (got["rule_id"], got["status"], got["severity"], got["clause"]["article"]) == (
        "ZG-YQ-01",
        "violated",
        "high",
        8,
    )
    assert (got["rectification"], got["finding"], got["days_overdue"], got["organisation"]["id"]) == (1, ident, 5, ORG)
    assert history.overdue(db, as_of="2025-04-11") == []
    assert history.rectifications(db, as_of="2025-01-19") == []  # not opened yet then
    assert [r.state for r in history.rectifications(db, as_of="2025-04-09")] == ["open"]
    assert main(["rectify", "overdue", "--as-of", "2025-04-05", "--db", db, "--format", "json"]) == 1
    assert [f["rule_id"] for f in json.loads(capsys.readouterr().out)] == ["ZG-YQ-01"]
    assert main(["rectify", "overdue", "--as-of", "2025-04-11", "--db", db]) == 0
    assert ": 0\n" in capsys.readouterr().out
    assert main(["rectify", "list", "--state", "overdue", "--as-of", "2025-04-05", "--db", db]) == 0
    assert "逾期 OVERDUE" in capsys.readouterr().out


def test_a_failure_between_the_writes_of_an_opening_leaves_nothing(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ident = _entry(db, 2).identity

    def failing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(history.rectify, "_append", failing)  # after the rectification row, before its event
    with pytest.raises(RuntimeError, match="disk gone"):
        history.open_rectification(db, ident, deadline="2099-01-01", owner="x", by="x")
    assert sql(db, "SELECT count(*) FROM rectifications") == [(0,)]


def test_a_recording_that_fails_while_reopening_records_neither_the_run_nor_the_reopening(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ident = _entry(db, 2).identity
    history.open_rectification(db, ident, deadline="2099-01-01", owner="x", by="x", clock=_clock("2025-01-20"))
    history.close_rectification(db, 1, note="done", documents=["d"], by="x", clock=_clock("2025-01-21"))
    reopen = history.rectify.reopen_still_violated

    def failing(*args: Any) -> list[int]:
        assert reopen(*args) == [1]
        raise RuntimeError("killed")

    monkeypatch.setattr(history.rectify, "reopen_still_violated", failing)
    with pytest.raises(RuntimeError, match="killed"):
        history.record(_report("2024", "2025-03-10"), db, clock=_clock("2025-03-10"))
    assert [r.id for r in history.runs(db)] == [1, 2]
    assert history.rectifications(db)[0].state == "closed"


OPENER = textwrap.dedent(
    """
    import sys, time
    from rules_engine import history
    insert = history.rectify._insert_rectification
    def slow(conn, row):
        key = insert(conn, row)
        print("inserted", key, flush=True)
        time.sleep(600)
    history.rectify._insert_rectification = slow
    history.open_rectification(sys.argv[1], sys.argv[2], deadline="2099-01-01", owner="x", by="x")
    """
)


def test_an_opening_process_killed_half_way_leaves_nothing(db: str) -> None:
    ident = _entry(db, 2).identity
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", OPENER, db, ident], stdout=subprocess.PIPE, text=True, cwd=root, env=ENV
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "inserted 1\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert history.rectifications(db) == []
    assert sql(db, "SELECT count(*) FROM rectifications") == [(0,)]
    # no lock left (PostgreSQL does not give back the killed opening's number)
    again = history.open_rectification(db, ident, deadline="2099-01-01", owner="x", by="x")
    assert [r.id for r in history.rectifications(db)] == [again.id]


# ------------------------------------------------------------------------------------------------ the guard


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _foreign(path: Path, *statements: str) -> Path:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (
            ["CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO customers VALUES (1, 'a')"],
            "不是 rules-engine 历史数据库 not a rules-engine findings store",
        ),
        (
            ["CREATE TABLE alembic_version (version_num TEXT)", "INSERT INTO alembic_version VALUES ('ae1027a6acf')"],
            "数据库版本未知 unknown schema version (ae1027a6acf)",
        ),
        (
            [
                "CREATE TABLE alembic_version (version_num TEXT)",
                "INSERT INTO alembic_version VALUES ('0001')",
                "CREATE TABLE orders (id INTEGER)",
            ],
            "lacks the tables findings, run_packs, runs",
        ),
    ],
)
def test_another_apps_sqlite_file_is_refused_and_left_unchanged(
    tmp_path: Path, july: Report, statements: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _foreign(tmp_path / "other.db", *statements)
    digest = _digest(path)
    with pytest.raises(history.HistoryError, match="refusing to change it"):
        history.record(july, path)
    for args in (["history", "runs", "--db", str(path)], ["rectify", "list", "--db", str(path)]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert _digest(path) == digest
    assert {p.name for p in tmp_path.iterdir()} == {"other.db"}  # no -wal or -shm: never opened for writing
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.db"
    path.write_text("不是数据库 " * 200, encoding="utf-8")
    digest = _digest(path)
    assert main(["history", "runs", "--db", str(path)]) == 2
    assert "不是 SQLite 数据库，拒绝使用 not a SQLite database, refused" in capsys.readouterr().err
    assert _digest(path) == digest


@pytest.mark.parametrize("revision", ["0001", "0002", "0003"])
@pytest.mark.slow
def test_a_store_made_by_an_earlier_release_is_upgraded_and_keeps_its_runs(
    fresh_store: str, july: Report, revision: str
) -> None:
    from alembic import command
    from alembic.config import Config

    path = fresh_store
    engine = history.store.sa.create_engine(history.resolve_db(path))
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(history.store.MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    engine.dispose()
    assert sql(path, "SELECT version_num FROM alembic_version") == [(revision,)]
    # a run recorded into an older store upgrades it first; the tables of each revision are known to the guard
    assert history.record(july, path).id == 1
    assert sql(path, "SELECT version_num FROM alembic_version") == [(history.store.HEAD,)]
    history.open_rectification(path, _violated(path), deadline="2099-01-01", owner="x")
    with pytest.raises(history.store.sa.exc.IntegrityError, match="append-only"):  # 0003 on PostgreSQL
        sql(path, "DELETE FROM rectification_events")
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(history.store.MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    shipped = {s.revision for s in scripts.walk_revisions()}
    assert shipped == set(history.store.REVISION_TABLES)
    assert scripts.get_current_head() == history.store.HEAD  # a store at HEAD is not migrated again


def _old_row(run_id: int, f: Any) -> dict[str, Any]:
    """A finding as revisions 0001-0003 stored it: one wide row per finding and run, texts included."""
    return {
        "run_id": run_id,
        "identity": history.identity(f),
        "rule_id": f.rule_id,
        "pack": f.pack,
        "pack_version": f.pack_version,
        "subject_kind": f.subject.kind,
        "subject_id": f.subject.id,
        "subject_detail": detail(f),
        "subject_name": f.subject.name,
        "organisation_id": f.organisation.id,
        "organisation_name": f.organisation.name,
        "period": f.period.label,
        "window_start": f.window.start.isoformat(),
        "window_end": f.window.end.isoformat(),
        "window_label": f.window.label,
        "status": f.status.value,
        "count": f.count,
        "expected_zh": f.expected.zh,
        "expected_en": f.expected.en,
        "actual_zh": f.actual.zh,
        "actual_en": f.actual.en,
        "message_zh": f.message.zh,
        "message_en": f.message.en,
    }


@pytest.mark.slow
def test_runs_recorded_by_revision_0003_move_to_the_compact_findings_unchanged(
    fresh_store: str, tmp_path: Path, july: Report, january: Report
) -> None:
    from alembic import command
    from alembic.config import Config

    sa = history.store.sa
    engine = sa.create_engine(history.resolve_db(fresh_store), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # a store as the previous release left it: two runs in the wide findings table
        config = Config()
        config.set_main_option("script_location", str(history.store.MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")
        old = sa.Table("findings", sa.MetaData(), autoload_with=conn)
        for report, day in ((july, "2024-07-16"), (january, "2025-01-16")):
            receipt = report.receipt.model_dump(mode="json")
            run_id = conn.execute(
                sa.insert(history.store.runs).values(
                    recorded_at=f"{day}T09:00:00+08:00", recorded_by="督查室", as_of=report.as_of.isoformat(),
                    period=report.receipt.period, period_start=report.period.start.isoformat(),
                    period_end=report.period.end.isoformat(), library=report.receipt.library,
                    library_version=report.receipt.version, findings=len(report.findings),
                    summary=dict(report.summary), receipt=receipt,
                )
            ).inserted_primary_key[0]  # fmt: skip
            conn.execute(
                sa.insert(history.store.run_packs),
                [
                    {"run_id": run_id, "pack_id": p["id"], "version": p["version"], "sha256": p["sha256"]}
                    for p in report.receipt.packs
                ],
            )
            conn.execute(sa.insert(old), [_old_row(run_id, f) for f in report.findings])
    engine.dispose()
    fresh = str(tmp_path / "fresh.db")  # the same runs recorded by this release
    history.record(july, fresh, recorded_by="督查室", clock=_clock("2024-07-16"))
    history.record(january, fresh, recorded_by="督查室", clock=_clock("2025-01-16"))

    upgraded = history.diff(fresh_store, 1, 2)  # opening the store upgrades it
    assert sql(fresh_store, "SELECT version_num FROM alembic_version") == [(history.store.HEAD,)]
    assert sql(fresh_store, "SELECT count(*) FROM findings") == [(1087 + 1093,)]
    assert upgraded.to_dict() == history.diff(fresh, 1, 2).to_dict()
    assert history.show(fresh_store, ORG).to_dict() == history.show(fresh, ORG).to_dict()
    assert [r.to_dict() for r in history.runs(fresh_store)] == [r.to_dict() for r in history.runs(fresh)]
    # what the migration moved is used like what this release records: a rectification, then a run on top
    opened = history.open_rectification(fresh_store, _entry(fresh_store, 2).identity, deadline="2099-01-01", owner="x")
    assert history.record(january, fresh_store).id == 3
    assert history.diff(fresh_store, 2, 3).new == [] and len(history.diff(fresh_store, 2, 3).persisting) == 26
    assert history.rectifications(fresh_store)[0].id == opened.id


def _violated(db: str) -> str:
    statement = (
        "SELECT k.identity FROM findings f JOIN finding_keys k ON k.id = f.key_id "
        "JOIN finding_states s ON s.id = f.state_id WHERE s.status = 'violated' ORDER BY k.identity LIMIT 1"
    )
    return sql(db, statement)[0][0]


# a PostgreSQL database is a store when it is empty or holds the tables of a known revision of ours: anything
# else is refused before any change (the check and the migrations run in one transaction, DDL included)
@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (
            ["CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO customers VALUES (1, 'a')"],
            "不是 rules-engine 历史数据库 not a rules-engine findings store",
        ),
        (
            ["CREATE TABLE alembic_version (version_num VARCHAR(32))", "INSERT INTO alembic_version VALUES ('ae10')"],
            "数据库版本未知 unknown schema version (ae10)",
        ),
        (
            [
                "CREATE TABLE alembic_version (version_num VARCHAR(32))",
                "INSERT INTO alembic_version VALUES ('0002')",
                "CREATE TABLE runs (id INTEGER)",
            ],
            "lacks the tables findings, rectification_events, rectifications, run_packs",
        ),
    ],
)
def test_another_apps_postgresql_database_is_refused_and_left_unchanged(
    postgresql_url: str, july: Report, statements: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for statement in statements:
        sql(postgresql_url, statement)
    tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    before = (sql(postgresql_url, tables), sql(postgresql_url, "SELECT count(*) FROM pg_trigger"))
    with pytest.raises(history.HistoryError, match="refusing to change it"):
        history.record(july, postgresql_url)
    for args in (["history", "runs", "--db", postgresql_url], ["rectify", "list", "--db", postgresql_url]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert (sql(postgresql_url, tables), sql(postgresql_url, "SELECT count(*) FROM pg_trigger")) == before


@pytest.mark.slow
def test_the_revisions_since_0004_step_down_one_at_a_time_and_the_store_comes_back_up(
    fresh_store: str, july: Report
) -> None:
    """The downgrades run: from the latest revision down to 0004, one revision at a time, each step leaving the tables
    of the revision below it (the rows of the tables it rebuilds kept); 0004's downgrade refuses (the wide findings
    table cannot be made again: restore a backup) and leaves the store as it was; the store, opened again, is
    upgraded to the latest revision and keeps its run."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    sa = history.store.sa
    assert history.record(july, fresh_store).id == 1  # (a store at the latest revision, with a run)
    row = {"seq": 1, "received_at": "2024-12-01T09:00:00+08:00", "source": "<posted>", "line": 1, "body": "{}"}
    row |= {"status": "rejected", "record_id": None, "organisation_id": None, "period": "2024"}
    engine = sa.create_engine(history.resolve_db(fresh_store), poolclass=sa.pool.NullPool)
    config = Config()
    config.set_main_option("script_location", str(history.store.MIGRATIONS))
    order = [s.revision for s in ScriptDirectory.from_config(config).walk_revisions()]  # the latest first
    steps = order[: order.index("0004") + 1]
    assert steps[0] == history.store.HEAD and len(steps) >= 3

    def state() -> tuple[list[str], set[str], int]:
        with engine.begin() as conn:
            tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
            versions = [v for (v,) in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
            rows = conn.exec_driver_sql("SELECT count(*) FROM monitor_rows").scalar() if "monitor_rows" in tables else 0
        return versions, tables, int(rows or 0)

    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(history.store.monitor_rows), [row])
        for revision, below in itertools.pairwise(steps):
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.downgrade(config, below)
            versions, tables, rows = state()
            assert versions == [below] and tables == history.store.REVISION_TABLES[below], revision
            assert rows == (1 if "monitor_rows" in tables else 0), revision  # (0006 rebuilt it: its row kept)
        with pytest.raises(NotImplementedError, match="restore the store from a backup"), engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "-1")
        assert state()[:2] == (["0004"], history.store.REVISION_TABLES["0004"])
    finally:
        engine.dispose()
    assert history.record(july, fresh_store).id == 2  # (upgraded again, the first run kept)
    assert sql(fresh_store, "SELECT version_num FROM alembic_version") == [(history.store.HEAD,)]
