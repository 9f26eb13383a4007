"""``rules-engine serve`` over HTTP: the real server in a subprocess on a free loopback port (one for the module),
the example's records posted in random order, and the answers compared with the batch report's; tokens by
scope (401, 403 across scopes, denials logged); a server killed with SIGKILL and started again answers the same."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("sqlalchemy")

import rules_engine as re_
from rules_engine.model.records import RecordSource
from rules_engine.monitor.tokens import create_token

# a server started twice and the example posted and evaluated: about 20 s of CPU (most in the server's process)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-2024"
RECORDS = EXAMPLE / "records.jsonl"
ROSTER = EXAMPLE / "roster.yaml"
WAIVERS = str(EXAMPLE / "waivers.yaml")
AS_OF = "2025-01-15"
STARTED = "Uvicorn running on"  # (logged once the socket listens)


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, token: str | None = None, body: bytes | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def logged(self, *parts: str, within: float = 60.0) -> list[str]:
        """The lines of the server's log that hold every one of `parts`, once there is one (its log is read by a
        thread: a line written before an answer may be read after it); none after `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            found = [line for line in list(self.lines) if all(part in line for part in parts)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SECRET = "s3cret-for-tests"


class Receiver:
    """A webhook receiver on loopback: answers 500 to the first notice, 200 to the others, and keeps each
    delivery (body, signature)."""

    def __init__(self) -> None:
        self.got: list[tuple[bytes, str, int]] = []
        self.retried = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if not receiver.got else 200
                receiver.got.append((body, self.headers.get("X-Rules-Engine-Signature", ""), status))
                if status == 200 and body == receiver.got[0][0]:
                    receiver.retried.set()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start(db: Path, cwd: Path, webhook: str | None = None) -> Server:
    """The server on `db`, on a free loopback port; returns once it has said it is ready."""
    port = _free_port()
    command = [sys.executable, "-m", "rules_engine", "serve", "--roster", str(ROSTER), "--rules", str(ROOT / "rules")]
    command += ["--db", str(db), "--port", str(port), "--clock", "2024-12-01", "--period", "2024"]
    command += ["--waivers", WAIVERS]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if webhook is not None:
        command += ["--webhook", webhook, "--webhook-backoff", "0.05"]
        env["RULES_ENGINE_WEBHOOK_SECRET"] = SECRET
    process = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, text=True, env=env)
    server = Server(process, f"http://127.0.0.1:{port}")
    ready = threading.Event()

    def drain() -> None:  # (a full pipe would stall the server: read it all, keep it for the tests)
        assert process.stderr is not None
        for line in process.stderr:
            server.lines.append(line)
            if STARTED in line:
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    ready.wait(timeout=120)
    if process.poll() is not None or not any(STARTED in line for line in server.lines):
        server.stop(signal.SIGKILL)
        pytest.fail("the server did not start:\n" + "".join(server.lines))
    return server


@dataclass
class Setup:
    server: Server
    db: Path
    cwd: Path
    tokens: dict[str, str]
    posted: list[dict[str, Any]]
    receiver: Receiver


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("serve")
    db = folder / "store.db"
    made = subprocess.run(
        [sys.executable, "-m", "rules_engine", "token", "create", "--org", "county", "--write", "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    )
    tokens = {"county": made.stdout.strip()}
    assert made.stdout.count("\n") == 1 and tokens["county"].startswith("rem_")  # the token alone, once
    for org, write in (("twn-qingshan", False), ("twn-liuhe", True), ("county-read", False)):
        tokens[org] = create_token(db, org.replace("-read", ""), write=write)[1]
    receiver = Receiver()
    server = start(db, folder, receiver.url)
    # the example's records in random order, in three JSON Lines posts, each record at its line of the file
    lines = list(enumerate(RECORDS.read_text(encoding="utf-8").splitlines(), start=1))
    random.Random(14).shuffle(lines)
    posted = []
    for part in (lines[:1], lines[1:400], lines[400:]):
        query = f"/records?source={RECORDS}&lines=" + ",".join(str(n) for n, _ in part)
        body = "".join(text + "\n" for _, text in part).encode()
        status, answer = server.call("POST", query, tokens["county"], body)
        assert status == 200, answer
        posted.append(answer)
    shared = Setup(server, db, folder, tokens, posted, receiver)
    yield shared
    shared.server.stop()  # (the one started again by the last test, if it ran)
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def batch() -> re_.Report:
    return re_.evaluate(ROOT / "rules", ROSTER, str(RECORDS), period="2024", as_of=AS_OF, waivers=[WAIVERS])


def test_health_and_the_openapi_document(setup: Setup) -> None:
    status, health = setup.server.call("GET", "/health")
    assert status == 200 and health["status"] == "ok" and health["clock"] == "2024-12-01"
    status, doc = setup.server.call("GET", "/openapi.json")
    assert status == 200
    assert {"/records", "/findings", "/upcoming", "/input", "/health", "/reload"} <= set(doc["paths"])


def test_each_posted_record_is_answered_as_in_batch_mode(setup: Setup, batch: re_.Report) -> None:
    answers = [r for post in setup.posted for r in post["records"]]
    assert len(answers) == 1179 and sum(p["accepted"] for p in setup.posted) == 1178
    rejected = [r for r in answers if r["status"] != "accepted"]
    assert [r["problem"] for r in rejected] == [x.model_dump(mode="json") for x in batch.input.rejections]


def test_findings_equal_the_batch_report(setup: Setup, batch: re_.Report) -> None:
    status, answer = setup.server.call("GET", f"/findings?as_of={AS_OF}", setup.tokens["county"])
    assert status == 200
    assert answer["findings"] == [f.model_dump(mode="json") for f in batch.findings]
    status, answer = setup.server.call(
        "GET", f"/findings?as_of={AS_OF}&status=violated&org=twn-liuhe", setup.tokens["county"]
    )
    expected = [f for f in batch.findings if f.status.value == "violated" and f.organisation.id == "twn-liuhe"]
    assert answer["findings"] == [f.model_dump(mode="json") for f in expected] and expected


def test_the_input_account_equals_the_batch_one(setup: Setup, batch: re_.Report) -> None:
    status, answer = setup.server.call("GET", f"/input?as_of={AS_OF}", setup.tokens["county-read"])
    assert status == 200 and answer == batch.input.model_dump(mode="json")


def test_upcoming_lists_what_is_due_before_year_end(setup: Setup) -> None:
    status, answer = setup.server.call("GET", "/upcoming?as_of=2024-12-01&within=30d", setup.tokens["county"])
    assert status == 200
    report = re_.evaluate(ROOT / "rules", ROSTER, str(RECORDS), period="2024", as_of="2024-12-01", waivers=[WAIVERS])
    assert answer == re_.upcoming(report, within=30).model_dump(mode="json")
    assert answer["items"] and all("2024-12-01" <= i["due"] <= "2024-12-31" for i in answer["items"])


def test_tokens_are_limited_to_their_subtree(setup: Setup, batch: re_.Report) -> None:
    call, t = setup.server.call, setup.tokens
    assert call("GET", f"/findings?as_of={AS_OF}")[0] == 401
    assert call("GET", f"/findings?as_of={AS_OF}", "rem_guessed")[0] == 401
    # a township token sees its own township only
    status, own = call("GET", f"/findings?as_of={AS_OF}", t["twn-qingshan"])
    assert status == 200 and own["findings"]
    assert {f["organisation"]["id"] for f in own["findings"]} == {"twn-qingshan"}
    # ids guessed across scopes: a sibling township, its parent, an organisation that does not exist, a sibling's
    # person: all refused alike (403), so that the answer does not tell whether they exist
    for guess in ("twn-liuhe", "county", "twn-nowhere"):
        assert call("GET", f"/findings?as_of={AS_OF}&org={guess}", t["twn-qingshan"])[0] == 403, guess
        assert call("GET", f"/upcoming?as_of=2024-12-01&org={guess}", t["twn-qingshan"])[0] == 403
    sibling = next(
        f.subject.id for f in batch.findings if f.organisation.id == "twn-liuhe" and f.subject.kind == "person"
    )
    assert call("GET", f"/findings?as_of={AS_OF}&person={sibling}", t["twn-qingshan"])[0] == 403
    status, upcoming = call("GET", "/upcoming?as_of=2024-12-01&within=30d", t["twn-qingshan"])
    assert status == 200 and {i["finding"]["organisation"]["id"] for i in upcoming["items"]} <= {"twn-qingshan"}
    # the input account and reloading need the whole roster; posting needs a write token of the organisation
    assert call("GET", f"/input?as_of={AS_OF}", t["twn-qingshan"])[0] == 403
    assert call("POST", "/reload", t["twn-liuhe"])[0] == 403
    record = {"id": "S1", "org": "twn-qingshan", "type": "tanxin_tanhua", "date": "2024-12-02", "chair": "p046"}
    body = json.dumps(record).encode()
    assert call("POST", "/records", t["twn-qingshan"], body)[0] == 403  # read-only
    assert call("POST", "/records", t["twn-liuhe"], body)[0] == 403  # a sibling's record
    assert call("GET", "/health")[1]["records"] == 1179  # nothing was kept
    assert setup.server.logged("denied", "twn-liuhe", "/records")
    assert setup.server.logged("denied", "no valid token")


def test_reload_swaps_in_the_roster_and_packs_and_keeps_the_records(setup: Setup, batch: re_.Report) -> None:
    status, answer = setup.server.call("POST", "/reload", setup.tokens["county"])
    assert status == 200 and answer["records"] == 1179
    status, found = setup.server.call("GET", f"/findings?as_of={AS_OF}", setup.tokens["county"])
    assert found["findings"] == [f.model_dump(mode="json") for f in batch.findings]


def test_warnings_and_violations_go_out_signed_and_retried(setup: Setup) -> None:
    receiver = setup.receiver
    assert receiver.retried.wait(timeout=60)  # the first notice, refused once, delivered again
    for body, signature, _ in list(receiver.got):
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(signature, expected)
        assert json.loads(body)["kind"] in ("warning", "violation")
    listed = subprocess.run(
        [sys.executable, "-m", "rules_engine", "outbox", "--db", str(setup.db), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    notices = json.loads(listed.stdout)
    first = json.loads(receiver.got[0][0])
    mine = [n for n in notices if n["payload"] == first]
    assert len(mine) == 1 and mine[0]["attempts"] == 2 and mine[0]["delivered_at"]
    delivered = {json.dumps(json.loads(b), sort_keys=True) for b, _, status in receiver.got if status == 200}
    assert all(json.dumps(n["payload"], sort_keys=True) in delivered for n in notices if n["delivered_at"])
    # a duty of a township missed by the clock's date: a new violation told
    assert any(n["kind"] == "violation" and n["payload"]["change"]["after"] == "missed" for n in notices)


def test_killed_and_started_again_it_answers_the_same(setup: Setup, batch: re_.Report) -> None:
    """SIGKILL while a post is being answered: afterwards every record whose answer came back is kept, the post
    that was cut off is kept whole or not at all, and the findings are the batch report's of what is kept."""
    server = setup.server
    extra = {"id": "K1", "org": "twn-liuhe", "type": "tanxin_tanhua", "date": "2024-12-03", "chair": "p057"}
    cut = threading.Thread(
        target=lambda: _quietly(server.call, "POST", "/records", setup.tokens["twn-liuhe"], json.dumps(extra).encode())
    )
    cut.start()
    server.stop(signal.SIGKILL)
    cut.join()
    again = start(setup.db, setup.cwd)
    setup.server = again
    kept = again.call("GET", "/health")[1]["records"]
    assert kept in (1179, 1180)
    status, found = again.call("GET", f"/findings?as_of={AS_OF}", setup.tokens["county"])
    assert status == 200
    if kept == 1179:
        assert found["findings"] == [f.model_dump(mode="json") for f in batch.findings]
    else:  # the post landed whole: the batch report of the records in the monitor's reading order, K1 among them
        rows = [(json.loads(t), n) for n, t in enumerate(RECORDS.read_text(encoding="utf-8").splitlines(), start=1)]
        used = sorted(
            [*((r, str(RECORDS), n) for r, n in rows[:-1]), (extra, "<posted>", 1180)],
            key=lambda x: (x[0]["date"], x[0]["id"]),
        )
        sources = [
            RecordSource(name, [r for r, _, _ in part], [n for _, _, n in part])
            for name, part in ((k, list(g)) for k, g in itertools.groupby(used, key=lambda x: x[1]))
        ]
        sources.append(RecordSource(str(RECORDS), [rows[-1][0]], [rows[-1][1]]))  # the rejected row, at its place
        expected = re_.evaluate(ROOT / "rules", ROSTER, sources, period="2024", as_of=AS_OF, waivers=[WAIVERS])
        assert found["findings"] == [f.model_dump(mode="json") for f in expected.findings]
    status, account = again.call("GET", f"/input?as_of={AS_OF}", setup.tokens["county"])
    assert status == 200 and account["sources"][1]["read"] == 1179 + (kept - 1179)


def _quietly(fn: Any, *args: Any) -> None:
    with contextlib.suppress(OSError):  # (the connection cut by the kill)
        fn(*args)
