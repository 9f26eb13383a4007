"""The monitoring service in one process (rules_engine.monitor.service, .app on uvicorn in a thread, on loopback):
tokens listed and revoked (a revoked token refused at its next request, without a restart); the move to the next
period when the clock passes the period's end (the old period's duties ended and kept for answers as of a day in
it, the new one's opened, records of the new period accepted), the same answers after a restart; a store left by
revision 0005 (tokens, monitor rows) upgraded to 0006 and used as before."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")

import uvicorn

import rules_engine as re_
from rules_engine.cli import main
from rules_engine.model.records import RecordSource
from rules_engine.monitor import Monitor
from rules_engine.monitor.app import create_app
from rules_engine.monitor.commit import Outside
from rules_engine.monitor.service import Config, Service, following
from rules_engine.monitor.tokens import create_token, digest, list_tokens
from rules_engine.periods import parse_period

from .test_monitor import yaml_roster

ROOT = Path(__file__).resolve().parent.parent
RULES = str(ROOT / "rules")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Live:
    """The app of `service` served by uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, service: Service) -> None:
        self.service = service
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.app = create_app(service)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.02)

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


@contextlib.contextmanager
def held_count(m: Any) -> Iterator[tuple[threading.Event, threading.Event]]:
    """The monitor's full count (a clock event's) held until `release` is set; `counting` is set once it began."""
    count = m._count
    counting, release = threading.Event(), threading.Event()

    def held(*args: Any) -> Any:
        counting.set()
        assert release.wait(120)
        return count(*args)

    m._count = held
    try:
        yield counting, release
    finally:
        release.set()
        m._count = count


def _record(n: int, org: str, day: str, chair: str, kind: str = "zhuanti_huiyi") -> dict[str, Any]:
    return {"id": f"R{n:03d}", "org": org, "type": kind, "date": day, "chair": chair, "participants": []}


# ---------------------------------------------------------------------------------------------- the next period


def test_the_next_period_has_the_same_length_and_label_form() -> None:
    def nxt(label: str, day: str) -> tuple[str, str, str]:
        p = following(parse_period(label), dt.date.fromisoformat(day))
        return p.label, p.start.isoformat(), p.end.isoformat()

    assert nxt("2024", "2025-01-01") == ("2025", "2025-01-01", "2025-12-31")
    assert nxt("2024-H2", "2025-01-15") == ("2025-H1", "2025-01-01", "2025-06-30")
    assert nxt("2024-Q4", "2025-02-01") == ("2025-Q1", "2025-01-01", "2025-03-31")
    assert nxt("2024-12", "2025-01-31") == ("2025-01", "2025-01-01", "2025-01-31")
    assert nxt("2024-02-01..2024-03-31", "2024-04-02") == ("2024-04-01..2024-05-31", "2024-04-01", "2024-05-31")
    assert nxt("2024-01-01..2024-01-10", "2024-01-25") == ("2024-01-21..2024-01-30", "2024-01-21", "2024-01-30")
    # a clock that jumps over whole periods lands in the one holding its day (none opened between)
    assert nxt("2024", "2027-03-01") == ("2027", "2027-01-01", "2027-12-31")
    with pytest.raises(re_.InputError, match="9899"):  # beyond the calendar: refused, nothing moved
        following(parse_period("2024"), dt.date(9999, 12, 31))


def _batch(roster: Path, period: str, as_of: str, records: list[tuple[int, dict[str, Any]]]) -> list[str]:
    """The batch report's findings of `records` (seq, record) as they were posted (source <posted>, line = seq)."""
    source = RecordSource("<posted>", [r for _, r in records], [n for n, _ in records])
    report = re_.evaluate(RULES, roster, [source], period=period, as_of=as_of)
    return [f.model_dump_json() for f in report.findings]


@pytest.mark.slow  # (about 6 s of CPU on each store: three monitors built, one of them again after the restart)
def test_the_service_moves_to_the_next_period_and_a_restart_answers_the_same(
    tmp_path: Path, fresh_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite and on PostgreSQL (tests/postgres.py); the service's own clock (today) passes the year's end."""
    roster = yaml_roster(tmp_path)
    today = [dt.date(2024, 12, 20)]
    monkeypatch.setattr(Service, "_today", lambda self: today[0])
    config = Config(roster=str(roster), rules=(RULES,), db=fresh_store, period="2024")
    service = Service(config)
    old = [(1, _record(1, "t1", "2024-12-19", "a1")), (2, _record(2, "t2", "2024-03-01", "b1"))]
    with service.use() as m:
        assert m.period.label == "2024"
        for _, r in old:
            m.post([r])
    today[0] = dt.date(2025, 1, 3)  # a request on the third of January: the service's clock moves on
    with service.use() as m:
        assert (m.period.label, m.clock) == ("2025", dt.date(2025, 1, 3))
        new = [(1, _record(3, "t1", "2025-01-02", "a1"))]
        answers = m.post([new[0][1], _record(4, "t2", "2024-12-30", "b1")])[0]
    # a record of the new period is accepted; one dated in the old period, which is closed, is set aside as batch
    # mode sets aside a record outside the period evaluated
    assert [a.status for a in answers] == ["accepted", "excluded"]
    assert answers[1].problem is not None and answers[1].problem.code == "row.date.outside_span"
    # the old period's duties all ended (met or missed), told in the outbox; the new period's all opened
    ended = service.monitor_for(None, "2024").duties()
    assert ended and {d["state"] for d in ended} == {"met", "missed"}
    assert service.monitor_for(None, "2024").clock == dt.date(2025, 1, 1)
    opened = service.monitor.duties()
    assert opened and {d["window_end"][:4] for d in opened} == {"2025"}
    assert {d["state"] for d in opened} <= {"open", "met"}
    from rules_engine.monitor.outbox import notices

    told = notices(fresh_store)
    assert any(n.kind == "violation" and n.payload["change"]["window_end"] == "2024-12-31" for n in told)
    # answers as of a day in the old period are the old period's; as of a day in the new one, the new one's
    expected_old = _batch(roster, "2024", "2024-12-31", old)
    expected_new = _batch(roster, "2025", "2025-06-30", [*new, (2, _record(4, "t2", "2024-12-30", "b1"))])

    def answers_now(s: Service) -> tuple[list[str], list[str], list[str]]:
        with s.use(dt.date(2024, 12, 31)) as a, s.use(dt.date(2025, 6, 30)) as b:
            by_label = s.monitor_for(None, "2024").findings("2025-06-30")
            return (
                [f.model_dump_json() for f in a.findings("2024-12-31")],
                [f.model_dump_json() for f in b.findings("2025-06-30")],
                [f.model_dump_json() for f in by_label],
            )

    before = answers_now(service)
    assert before[0] == expected_old and before[1] == expected_new
    assert before[2] == _batch(roster, "2024", "2025-06-30", old)  # the old period asked for by its label
    assert [p["label"] for p in service.periods()] == ["2024", "2025"]
    assert service.periods()[0]["closed_at"] and service.periods()[1]["closed_at"] is None
    service.close()
    again = Service(config)  # the same --period 2024: the store knows it has moved on
    try:
        assert (again.monitor.period.label, again.monitor.clock) == ("2025", dt.date(2025, 1, 3))
        assert [r.status for r in again.monitor.rows()] == ["accepted", "excluded"]
        assert answers_now(again) == before
    finally:
        again.close()


# ---------------------------------------------------------------------------------------------- over HTTP


def county_roster(folder: Path) -> Path:
    """The two townships of test_monitor's roster, put under a county (a token of the whole roster)."""
    roster = yaml_roster(folder)
    text = roster.read_text(encoding="utf-8").replace("level: township}", "level: township, parent: county}")
    county = "  - {id: county, name: 县委, kind: local_committee, level: county}\n"
    roster.write_text(text.replace("organisations:\n", "organisations:\n" + county), encoding="utf-8")
    return roster


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("service")
    db = folder / "store.db"
    tokens = {
        "admin": create_token(db, "county", write=True)[1],
        "t2": create_token(db, "t2", write=True)[1],
        "reader": create_token(db, "t1")[1],
    }
    roster = county_roster(folder)
    service = Service(Config(roster=str(roster), rules=(RULES,), db=str(db), period="2024", clock="2024-12-20"))
    server = Live(service)
    yield server, db, tokens
    server.stop()
    service.close()


def test_tokens_are_listed_without_their_text_and_a_revoked_one_is_refused_at_once(
    live: tuple[Live, Path, dict[str, str]], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    server, db, tokens = live
    extra = create_token(db, "t1")[1]
    assert server.call("GET", "/findings?as_of=2024-12-20", extra)[0] == 200
    assert main(["token", "list", "--db", str(db)]) == 0
    listed = capsys.readouterr().out
    assert main(["token", "list", "--db", str(db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["organisation_id"], r["kind"], r["revoked_at"]) for r in rows][:4] == [
        (1, "county", "write", None),
        (2, "t2", "write", None),
        (3, "t1", "read", None),
        (4, "t1", "read", None),
    ]
    assert all(r["created_at"] for r in rows)
    for text in [*tokens.values(), extra]:  # never the token, nor its hash
        assert text not in listed and digest(text) not in listed and digest(text) not in json.dumps(rows)
    assert "只读 read" in listed.splitlines()[3] and "写入 write" in listed.splitlines()[1]
    # revoked while the server runs: the next request with it gets 401, the refusal logged with its number
    with caplog.at_level(logging.WARNING, logger="rules_engine.serve"):
        assert main(["token", "revoke", "4", "--db", str(db)]) == 0
        assert "已吊销令牌 revoked token 4" in capsys.readouterr().err
        status, answer = server.call("GET", "/findings?as_of=2024-12-20", extra)
    assert status == 401 and "令牌已吊销" in answer["detail"]
    assert any("token 4 (t1)" in r.getMessage() and "/findings" in r.getMessage() for r in caplog.records)
    assert server.call("GET", "/findings?as_of=2024-12-20", tokens["reader"])[0] == 200  # the others still work
    assert [t.revoked_at is not None for t in list_tokens(db)] == [False, False, False, True]
    # an unknown number, a token already revoked, a number that is not one: exit 2, Chinese first
    for args, said in (
        (["99"], "没有编号为 99 的令牌 no token 99"),
        (["4"], "令牌 4 已于"),
        (["x4"], "令牌编号无效 invalid token id 'x4'"),
    ):
        assert main(["token", "revoke", *args, "--db", str(db)]) == 2
        assert said in capsys.readouterr().err
    assert main(["token", "list", "--db", str(db.parent / "missing.db")]) == 2
    assert "数据库不存在" in capsys.readouterr().err and not (db.parent / "missing.db").exists()


def test_a_post_is_answered_while_the_clock_event_counts(live: tuple[Live, Path, dict[str, str]]) -> None:
    """POST /clock counts every duty again (minutes on a large roster): posts are committed and answered
    meanwhile (the count held here until the post is answered), and counted afterwards."""
    server, _, tokens = live
    admin = tokens["admin"]
    m = server.service.monitor
    ticked: list[tuple[int, Any]] = []
    posted: list[tuple[int, Any]] = []
    clock = threading.Thread(target=lambda: ticked.append(server.call("POST", "/clock?day=2024-12-21", admin)))
    with held_count(m) as (counting, release):
        clock.start()
        assert counting.wait(60)
        poster = threading.Thread(
            target=lambda: posted.append(server.call("POST", "/records", admin, _record(31, "t2", "2024-12-21", "b1")))
        )
        poster.start()
        poster.join(timeout=60)  # (a post that waits for the clock event would wait for `release`: a minute)
        assert not poster.is_alive(), "the post waited for the clock event's count"
        assert posted[0][0] == 200 and posted[0][1]["accepted"] == 1 and clock.is_alive()
        assert server.call("GET", "/health")[1]["clock"] == "2024-12-21"
        release.set()
        clock.join(timeout=120)
    assert ticked[0][0] == 200 and ticked[0][1]["clock"] == "2024-12-21"
    status, waited = server.call("POST", "/records?wait=true", admin, _record(32, "t1", "2024-12-21", "a1"))
    assert status == 200 and waited["accepted"] == 1
    duties = {
        (d["organisation_id"], d["rule_id"], d["subject_id"]): d for d in m.duties() if d["window_end"] == "2024-12-31"
    }
    assert duties[("t2", "ZZ-08-01", "b1")]["state"] == "met" and duties[("t1", "ZZ-08-01", "a1")]["state"] == "met"
    assert server.call("GET", "/health")[1]["unsettled"] == 0


def test_the_count_pauses_while_a_post_is_answered_unless_the_post_waits_for_it(
    live: tuple[Live, Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Posts first: the monitor's pause (called by the count between its steps) waits while a post is being
    answered (here held in its commit cycle, reading its token), and goes on once it is answered; a post that
    waits for the count (?wait=true) does not hold it up. Never longer than PAUSE_AT_MOST at a time."""
    from rules_engine.monitor import commit

    server, _, tokens = live
    service = server.service
    read = service.token
    reading, release = threading.Event(), threading.Event()

    def held(text: str) -> Any:
        reading.set()
        assert release.wait(60)
        return read(text)

    def paused() -> threading.Thread:
        thread = threading.Thread(target=service.monitor.pause)
        thread.start()
        return thread

    monkeypatch.setattr(commit, "PAUSE_AT_MOST", 60.0)
    monkeypatch.setattr(service, "token", held)
    for n, wait in ((41, False), (42, True)):
        reading.clear()
        release.clear()
        path = "/records?wait=true" if wait else "/records"
        poster = threading.Thread(
            target=lambda path=path, n=n: server.call(
                "POST", path, tokens["admin"], _record(n, "t1", "2024-12-20", "a1")
            )
        )
        poster.start()
        assert reading.wait(60)
        pause = paused()
        pause.join(timeout=0.5)
        assert pause.is_alive() is not wait  # (held by the post being answered; not by one waiting for the count)
        release.set()
        poster.join(timeout=60)
        pause.join(timeout=5)
        assert not pause.is_alive(), "the count's pause outlived the post"
    monkeypatch.setattr(commit, "PAUSE_AT_MOST", 0.05)
    reading.clear()
    release.clear()
    poster = threading.Thread(
        target=lambda: server.call("POST", "/records", tokens["admin"], _record(43, "t1", "2024-12-20", "a1"))
    )
    poster.start()
    assert reading.wait(60)
    pause = paused()
    pause.join(timeout=10)
    alive = pause.is_alive()
    release.set()
    poster.join(timeout=60)
    assert not alive, "the count's pause is bounded"


def test_the_count_never_pauses_for_the_posts_while_it_holds_the_service(tmp_path: Path) -> None:
    """A count pauses for the posts being answered only where they can go on meanwhile: moving to the next period
    counts the old period's last day with the service's lock held (the posts wait for the move), so it does not
    pause there; the clock event in the new period, counted outside that lock, does."""
    service = Service(
        Config(
            roster=str(yaml_roster(tmp_path)),
            rules=(RULES,),
            db=str(tmp_path / "s.db"),
            period="2024",
            clock="2024-12-20",
        )
    )
    try:
        held: list[bool] = []
        service.pace = lambda: held.append(service._lock._is_owned())  # type: ignore[attr-defined]
        service.tick(dt.date(2025, 1, 3))
        assert service.monitor.period.label == "2025"
        assert held and not any(held), "a count paused holding the service's lock"
    finally:
        service.close()


def test_the_daily_clock_event_runs_beside_the_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server without --clock: the first request of a new day starts the clock event in a thread of its own
    and is served at once (the count held here until it was); one clock event at a time."""
    today = [dt.date(2024, 6, 1)]
    monkeypatch.setattr(Service, "_today", lambda self: today[0])
    roster = county_roster(tmp_path)
    service = Service(Config(roster=str(roster), rules=(RULES,), db=str(tmp_path / "store.db"), period="2024"))
    try:
        with held_count(service.monitor) as (counting, release):
            m = service.monitor
            today[0] = dt.date(2024, 6, 2)
            served: list[int] = []

            def request() -> None:
                with service.use() as used:
                    posted = used.post_many([([_record(1, "t1", "2024-06-02", "a1")], "<posted>", None)], settle=False)
                    served.append(posted[0][0][0].seq)  # (as the commit cycle posts)

            first = threading.Thread(target=request)
            first.start()
            first.join(timeout=60)  # (a request that ran the clock event itself would wait for `release`)
            assert not first.is_alive() and served == [1] and counting.wait(60)
            ticker = service._ticker
            assert ticker is not None and ticker.is_alive() and m.clock == dt.date(2024, 6, 2)
            with service.use():  # (the clock event under way: not started again)
                assert service._ticker is ticker
            release.set()
            ticker.join(timeout=120)
            assert not ticker.is_alive() and m.clock == dt.date(2024, 6, 2)
            assert service.journal.at("2024").clock() == "2024-06-02"
            m.settle()  # (the record: counted by the clock event or by this settle, once)
            duties = {(d["organisation_id"], d["rule_id"], d["subject_id"], d["window_end"]): d for d in m.duties()}
            assert duties[("t1", "ZZ-08-01", "a1", "2024-06-30")]["count"] == 1
    finally:
        service.close()


@pytest.mark.slow  # (a monitor built for the new period: about 2 s of CPU)
def test_the_clock_posted_past_the_year_end_moves_the_service_on(live: tuple[Live, Path, dict[str, str]]) -> None:
    server, _, tokens = live
    admin = tokens["admin"]
    assert server.call("POST", "/clock?day=2025-01-02", tokens["t2"])[0] == 403  # (a township's token)
    posted = server.call("POST", "/records", admin, _record(1, "t1", "2024-12-20", "a1"))[1]
    assert posted["accepted"] == 1
    status, moved = server.call("POST", "/clock?day=2025-01-02", admin)
    assert status == 200 and (moved["period"], moved["clock"]) == ("2025", "2025-01-02")
    changes = moved["changes"]  # the old period's last changes: every duty still open or warned ends
    assert changes and {c["window_end"][:4] for c in changes} == {"2024"}
    assert {c["after"] for c in changes} <= {"met", "missed"} and "missed" in {c["after"] for c in changes}
    status, health = server.call("GET", "/health")
    assert status == 200 and (health["period"], health["clock"], health["records"]) == ("2025", "2025-01-02", 0)
    status, found = server.call("POST", "/records", admin, _record(2, "t1", "2025-01-02", "a1"))
    assert status == 200 and found["records"][0]["status"] == "accepted" and found["records"][0]["seq"] == 1
    status, old = server.call("GET", "/findings?as_of=2024-12-31", admin)
    assert status == 200 and old["findings"] and {f["period"]["start"][:4] for f in old["findings"]} == {"2024"}
    assert any("R001" in f["evidence"] for f in old["findings"])
    status, new = server.call("GET", "/findings?as_of=2025-01-15", admin)
    assert status == 200 and {f["period"]["start"][:4] for f in new["findings"]} == {"2025"}
    status, by_label = server.call("GET", "/findings?as_of=2025-01-15&period=2024", admin)
    assert status == 200 and {f["period"]["start"][:4] for f in by_label["findings"]} == {"2024"}
    assert server.call("GET", "/findings?as_of=2025-01-15&period=1999", admin)[0] == 400
    status, periods = server.call("GET", "/periods", tokens["reader"])
    assert status == 200 and [p["label"] for p in periods["periods"]] == ["2024", "2025"]
    status, duties = server.call("GET", "/duties?period=2024", admin)
    assert status == 200 and duties["period"] == "2024" and {d["state"] for d in duties["duties"]} <= {"met", "missed"}
    assert server.call("POST", "/clock?day=2024-12-31", admin)[0] == 409  # (never back)


def test_a_post_outside_its_token_scope_is_refused_whole_in_its_cycle_and_the_others_kept(
    live: tuple[Live, Path, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    """Each post's lines are read once, in the commit cycle, where its token's scope is checked: a post with one
    record outside the scope keeps nothing, and another post of the same cycle is committed."""
    server, _, tokens = live
    service = server.service
    own = json.dumps(_record(901, "t2", "2025-01-02", "b1"))
    sibling = json.dumps(_record(902, "t1", "2025-01-02", "a1"))
    before = server.call("GET", "/health")[1]["records"]
    with caplog.at_level(logging.WARNING, logger="rules_engine.serve"):  # over HTTP: 403, nothing kept, logged
        status, answer = server.call("POST", "/records", tokens["t2"], raw=f"{own}\n{sibling}\n".encode())
    assert status == 403 and "t1" in answer["detail"]
    assert server.call("GET", "/health")[1]["records"] == before
    assert any("token 2 (t2)" in r.getMessage() and "/records" in r.getMessage() for r in caplog.records)
    # two posts in one cycle (both queued while the queue is held): the one with a sibling's record is refused
    commits = server.app.state.commits
    t2 = service.token(tokens["t2"])
    assert t2 is not None
    done = {"mixed": threading.Event(), "own": threading.Event()}
    cycles = commits.cycles
    with commits._cond:  # (the commit thread takes the queue once both are in it)
        mixed = commits._queued(
            [own.replace("R901", "R903"), sibling], "<posted>", [1, 2], False, t2, None, lambda _: done["mixed"].set()
        )
        mine = commits._queued(
            [own.replace("R901", "R904")], "<posted>", [3], False, t2, None, lambda _: done["own"].set()
        )
    assert done["mixed"].wait(60) and done["own"].wait(60)
    assert commits.cycles == cycles + 1  # (one cycle for both)
    assert isinstance(mixed.error, Outside) and mixed.error.org == "t1" and mixed.result is None
    assert mine.error is None and mine.result is not None
    assert [(a.status, a.record_id) for a in mine.result[0]] == [("accepted", "R904")]
    # the token of a post is read in its cycle, never cached: one revoked by another process after it posted is
    # refused (401, logged, nothing kept) from its very next post
    server_db = server.service.config.db
    assert server_db is not None
    number, writer = create_token(server_db, "t2", write=True)
    first = server.call("POST", "/records", writer, raw=own.replace("R901", "R905").encode())
    assert first[0] == 200 and first[1]["accepted"] == 1
    assert main(["token", "revoke", str(number.id), "--db", server_db]) == 0
    kept = server.call("GET", "/health")[1]["records"]
    with caplog.at_level(logging.WARNING, logger="rules_engine.serve"):
        status, answer = server.call("POST", "/records", writer, raw=own.replace("R901", "R906").encode())
    assert status == 401 and "令牌已吊销" in answer["detail"]
    assert server.call("GET", "/health")[1]["records"] == kept
    assert any(
        f"token {number.id} (t2)" in r.getMessage() and "POST /records" in r.getMessage() for r in caplog.records
    )
    reader = server.call("POST", "/records", tokens["reader"], raw=own.replace("R901", "R907").encode())
    assert reader[0] == 403 and "只读" in reader[1]["detail"]  # (a read-only token)
    assert server.call("POST", "/records", "rem_guessed", raw=own.encode())[0] == 401
    assert [r.record_id for r in service.monitor.rows()[before:]] == ["R904", "R905"]  # (not R903, R906, R907)


# ---------------------------------------------------------------------------------------------- revision 0006


@pytest.mark.slow  # (a monitor built twice: about 3 s of CPU on each store)
def test_a_store_left_by_revision_0005_keeps_its_tokens_and_records(tmp_path: Path, fresh_store: str) -> None:
    """On SQLite and on PostgreSQL: tokens and posted records written by the previous release (revision 0005, no
    periods, no revocation) are upgraded in place; the tokens work and can be revoked, the records are the first
    period's."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from rules_engine import history
    from rules_engine.monitor import Monitor

    sa = history.store.sa
    roster = yaml_roster(tmp_path)
    records = [_record(1, "t1", "2024-03-01", "a1"), _record(2, "t2", "2024-05-02", "b1"), {"id": "bad"}]
    plain = Monitor(RULES, roster, period="2024", clock="2024-07-01")
    plain.post(records)
    texts = {"rem_old-writer": ("t1", True), "rem_old-reader": ("t2", False)}
    engine = sa.create_engine(history.resolve_db(fresh_store), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # the store as revision 0005 left it, rows as it wrote them
        config = AlembicConfig()
        config.set_main_option("script_location", str(history.store.MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(
            sa.text("INSERT INTO api_tokens (digest, organisation_id, can_write, created_at) VALUES (:d, :o, :w, :c)"),
            [{"d": digest(t), "o": o, "w": w, "c": "2024-06-30T08:00:00+00:00"} for t, (o, w) in texts.items()],
        )
        conn.execute(
            sa.text(
                "INSERT INTO monitor_rows (seq, received_at, source, line, body, status, record_id, organisation_id) "
                "VALUES (:seq, :at, :source, :line, :body, :status, :record_id, :org)"
            ),
            [
                {"seq": r.seq, "at": "2024-06-30T08:00:00+00:00", "source": r.source, "line": r.line, "body": r.text}
                | {"status": r.status, "record_id": r.record_id, "org": r.org}
                for r in plain.rows()
            ],
        )
        conn.execute(sa.text("INSERT INTO monitor_clock (day, at) VALUES ('2024-07-01', '2024-07-01T00:00:00+00:00')"))
    engine.dispose()
    plain.close()

    service = Service(Config(roster=str(roster), rules=(RULES,), db=fresh_store, period="2024", clock="2024-06-01"))
    try:
        assert [(t.id, t.organisation_id, t.can_write, t.revoked_at) for t in list_tokens(fresh_store)] == [
            (1, "t1", True, None),
            (2, "t2", False, None),
        ]
        found = service.token("rem_old-reader")
        assert found is not None and (found.organisation_id, found.revoked_at) == ("t2", None)
        m = service.monitor
        assert (m.period.label, m.clock) == ("2024", dt.date(2024, 7, 1))  # the clock it had
        assert [r.status for r in m.rows()] == ["accepted", "accepted", "rejected"]
        batch = re_.evaluate(
            RULES, roster, [RecordSource("<posted>", records, [1, 2, 3])], period="2024", as_of="2024-12-31"
        )
        assert [f.model_dump_json() for f in m.findings("2024-12-31")] == [f.model_dump_json() for f in batch.findings]
    finally:
        service.close()
    assert main(["token", "revoke", "2", "--db", fresh_store]) == 0
    again = Service(Config(roster=str(roster), rules=(RULES,), db=fresh_store, period="2024", clock="2024-06-01"))
    try:
        revoked = again.token("rem_old-reader")
        assert revoked is not None and revoked.revoked_at is not None
        assert len(again.monitor.rows()) == 3  # the rows were claimed once, by the period started first
    finally:
        again.close()
    engine = sa.create_engine(history.resolve_db(fresh_store), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == ["0006"]
        for table in ("monitor_rows", "monitor_changes", "monitor_clock"):
            assert set(conn.execute(sa.text(f"SELECT DISTINCT period FROM {table}")).scalars()) == {"2024"}, table
    engine.dispose()


@pytest.mark.slow  # (about 4 s of CPU each: monitors built on two stores)
@pytest.mark.parametrize("cut", ["before the new period is opened", "before its monitor is made"])
def test_a_move_cut_short_is_finished_when_the_service_starts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut: str
) -> None:
    """The move takes several transactions (the old period's end, the periods table, the new period's duties): a
    server stopped between them finishes the move when started again, with the answers of a move not cut."""
    from rules_engine.monitor.journal import Journal

    roster = yaml_roster(tmp_path)
    posted = [_record(1, "t1", "2024-12-19", "a1"), _record(2, "t2", "2024-03-01", "b1")]

    def served(db: Path, clock: str) -> Service:
        return Service(Config(roster=str(roster), rules=(RULES,), db=str(db), period="2024", clock=clock))

    whole = served(tmp_path / "whole.db", "2024-12-20")
    whole.monitor.post(posted)
    whole.tick(dt.date(2025, 1, 1))
    cut_db = tmp_path / "cut.db"
    service = served(cut_db, "2024-12-20")
    service.monitor.post(posted)

    def stop(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("stopped")

    if cut == "before the new period is opened":
        monkeypatch.setattr(Journal, "open_period", stop)
    else:
        monkeypatch.setattr(Service, "_build", stop)
    with pytest.raises(RuntimeError, match="stopped"):
        service.tick(dt.date(2025, 1, 1))
    monkeypatch.undo()
    service.journal.close()  # (the process is gone: nothing more is written)
    again = served(cut_db, "2024-12-20")
    try:
        assert (again.monitor.period.label, again.monitor.clock) == ("2025", dt.date(2025, 1, 1))
        assert [p["label"] for p in again.periods()] == ["2024", "2025"] and again.periods()[0]["closed_at"]
        for day in (dt.date(2024, 12, 31), dt.date(2025, 1, 15)):
            with again.use(day) as a, whole.use(day) as b:
                assert [f.model_dump_json() for f in a.findings(day)] == [f.model_dump_json() for f in b.findings(day)]
        assert again.monitor.duties() == whole.monitor.duties()
        assert again.monitor_for(None, "2024").duties() == whole.monitor_for(None, "2024").duties()
    finally:
        again.close()
        whole.close()


def test_the_serve_command_sets_the_garbage_collector_for_a_long_lived_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the start made is out of the collector's sight and its thresholds are the server's, by the time the
    server listens (the posts' answers waited on full collections of a heap of every record held)."""
    import gc

    from rules_engine.monitor import service as service_module

    seen: dict[str, Any] = {}

    def run(app: Any, **options: Any) -> None:
        seen.update(threshold=gc.get_threshold(), frozen=gc.get_freeze_count(), options=options)

    monkeypatch.setattr(uvicorn, "run", run)
    threshold = gc.get_threshold()
    db = f"sqlite:///{tmp_path / 'store.db'}"
    try:
        code = main(["serve", "--roster", str(yaml_roster(tmp_path)), "--db", db, "--clock", "2024-06-01"])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert code == 0
    assert seen["threshold"] == service_module.GC_THRESHOLDS != threshold
    assert seen["frozen"] > 1000  # (the start's objects: the rules, the roster, the monitor)


def test_the_service_store_checkpoints_when_asked_not_in_a_small_commit(tmp_path: Path) -> None:
    """The service's store connections leave SQLite's write-ahead log to grow to CHECKPOINT_PAGES before a commit
    copies it into the file (SQLite's default: 1,000 pages, the committing request waiting for it); the count
    thread copies it (a passive checkpoint) when it has counted."""
    from rules_engine.monitor.journal import CHECKPOINT_PAGES, Journal

    journal = Journal(str(tmp_path / "store.db"))
    try:
        with journal.store.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == CHECKPOINT_PAGES
        m = Monitor(RULES, yaml_roster(tmp_path), period="2024", clock="2024-12-01", journal=journal)
        m.post([_record(n, "t1", "2024-03-01", "a1") for n in range(50)])
        busy, frames, copied = journal.store.checkpoint() or (1, 0, 0)
        assert busy == 0 and frames > 0 and copied == frames
        m.close()
    finally:
        journal.close()
