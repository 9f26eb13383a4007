"""``rules-engine serve`` killed with SIGKILL under sustained load: client threads keep posting the example's records
(a few a request), the server is killed in the middle, started again on the same store, and then every record whose
post was answered is kept, no post is kept by half, and the findings are the batch evaluation of the records kept."""

from __future__ import annotations

import http.client
import itertools
import json
import signal
import sqlite3
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")

import rules_engine as re_
from rules_engine.model.records import RecordSource
from rules_engine.monitor.tokens import create_token
from tests.test_serve import AS_OF, RECORDS, ROOT, ROSTER, WAIVERS, start

# two servers started, the example posted in part and evaluated: about 20 s of CPU
pytestmark = pytest.mark.slow

CLIENTS = 4
KILL_AFTER = 250  # records answered before the kill


def test_killed_under_load_keeps_every_answered_post_whole(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    token = create_token(db, "county", write=True)[1]
    lines = list(enumerate(RECORDS.read_text(encoding="utf-8").splitlines(), start=1))[:-1]  # (the last: a bad date)
    server = start(db, tmp_path)
    answered: list[list[int]] = []  # the lines of each post answered
    sent: list[list[int]] = []  # the lines of each post sent (answered or cut off)
    lock = threading.Lock()
    enough = threading.Event()
    stop = threading.Event()

    def client(number: int) -> None:
        mine = lines[number::CLIENTS]
        at = 0
        for size in itertools.cycle((1, 3, 7, 2)):
            part = mine[at : at + size]
            at += size
            if not part or stop.is_set():
                return
            numbers = [n for n, _ in part]
            with lock:
                sent.append(numbers)
            query = f"/records?source=c{number}&lines=" + ",".join(str(n) for n in numbers)
            request = urllib.request.Request(server.url + query, data="\n".join(t for _, t in part).encode())
            request.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=120) as answer:
                    body = json.loads(answer.read())
            except (OSError, urllib.error.URLError, http.client.HTTPException):
                return  # (cut off by the kill: before the answer, or in the middle of it)
            assert body["accepted"] == len(part), body
            with lock:
                answered.append(numbers)
                if sum(len(a) for a in answered) >= KILL_AFTER:
                    enough.set()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    assert enough.wait(timeout=300), "the load did not get going"
    server.stop(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert sum(len(p) for p in sent) < len(lines)  # (killed in the middle)

    again = start(db, tmp_path)
    try:
        with sqlite3.connect(db) as conn:
            kept = conn.execute("SELECT source, line, body FROM monitor_rows ORDER BY seq").fetchall()
        lines_kept = {line for _, line, _ in kept}
        assert len(lines_kept) == len(kept)  # (no row twice)
        assert all(set(p) <= lines_kept for p in answered)  # every answered post kept
        assert all(set(p) <= lines_kept or not set(p) & lines_kept for p in sent)  # none by half
        assert again.call("GET", "/health")[1]["records"] == len(kept)
        status, found = again.call("GET", f"/findings?as_of={AS_OF}", token)
        assert status == 200
        assert found["findings"] == [f.model_dump(mode="json") for f in _batch(kept).findings]
        # the duties as the restarted server holds them are the count of what is kept
        status, duties = again.call("GET", "/duties", token)
        assert status == 200 and any(d["count"] for d in duties["duties"])
        # the records never sent, in one post that waits for the count: its answer lists the duties it changed
        rest = [(n, t) for n, t in lines if n not in {m for p in sent for m in p}]
        query = "/records?wait=true&source=rest&lines=" + ",".join(str(n) for n, _ in rest)
        status, answer = again.call("POST", query, token, "\n".join(t for _, t in rest).encode())
        assert status == 200 and answer["accepted"] == len(rest)
        orgs = {json.loads(t)["org"] for _, t in rest}
        assert answer["changes"] and {c["organisation_id"] for c in answer["changes"]} <= orgs
        assert any(c["after"] == "met" for c in answer["changes"])
        assert again.call("GET", "/health")[1]["unsettled"] == 0
    finally:
        again.stop()


def _batch(kept: list[tuple[str, int, str]]) -> re_.Report:
    """The batch evaluation of the kept records, in the monitor's reading order (by date, then id), each at its
    place (source, line)."""
    rows: list[tuple[dict[str, Any], str, int]] = [(json.loads(body), source, line) for source, line, body in kept]
    rows.sort(key=lambda x: (x[0]["date"], x[0]["id"]))
    sources = [
        RecordSource(name, [r for r, _, _ in part], [n for _, _, n in part])
        for name, part in ((k, list(g)) for k, g in itertools.groupby(rows, key=lambda x: x[1]))
    ]
    return re_.evaluate(ROOT / "rules", ROSTER, sources, period="2024", as_of=AS_OF, waivers=[WAIVERS])
