"""Load on the monitoring service (rules-engine serve) over loopback: records posted by N client threads, one
record or a JSON Lines batch per request; records/s and the latency of each request (p50, p99) printed.

    python benchmarks/serve_load.py --roster examples/county-2024/roster.yaml \\
        --records examples/county-2024/records.jsonl --clients 4 --batch 1 [--limit 300]
    python benchmarks/serve_load.py --data out/bench/1000x100000 --clients 8 --batch 20 --rate 2000 --limit 40000

`--data DIR`: a folder made by benchmarks/synth.py (its roster.yaml and records.jsonl). `--rate R`: a sustained
load of R records/s in all (each client sends its requests on a schedule; a request is timed from its scheduled
start, so a server that falls behind shows in the latency); without, each client posts as fast as answered.
`--phase 8x20@2000:20000` (repeatable): phases run one after another on the same server, each with its clients,
batch, rate (records/s) and number of records; the file's records continue from one phase to the next. `--src
DIR`: the library the server runs (PYTHONPATH; e.g. a checkout of an older version, for a baseline). The
records are posted in the file's order (by date). After the load, the time until the server has counted every
record for its duties is printed too (``unsettled`` of ``GET /health``; a server that counts in the request
says nothing of it).

The server is started here on a free port with a new store in a temporary folder (and stopped at the end), the
clock and period fixed (2024-12-01, 2024). Standard library only (the client is http.client in threads, each
client keeping its connection open, as an HTTP/1.1 client does; before 2026-12-08 each request opened a connection
of its own, which added tens of milliseconds to the slowest requests' latency on this 2-core machine).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--roster", default=str(ROOT / "examples/county-2024/roster.yaml"))
    ap.add_argument("--records", default=str(ROOT / "examples/county-2024/records.jsonl"))
    ap.add_argument("--rules", default=str(ROOT / "rules"))
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1, help="records per request")
    ap.add_argument("--limit", type=int, default=0, help="post only the first N records (0: all)")
    ap.add_argument("--data", help="a folder of benchmarks/synth.py (roster.yaml, records.jsonl)")
    ap.add_argument("--rate", type=float, default=0, help="records/s in all, sustained (0: as fast as answered)")
    ap.add_argument("--src", help="the library's source folder the server runs (PYTHONPATH)")
    ap.add_argument("--wait", action="store_true", help="each post waits for its duties' count (?wait=true)")
    ap.add_argument(
        "--phase",
        action="append",
        help="CLIENTSxBATCH[@RATE][:RECORDS], one after another on the same server (the records continue)",
    )
    args = ap.parse_args()
    if args.data:
        args.roster, args.records = str(Path(args.data) / "roster.yaml"), str(Path(args.data) / "records.jsonl")
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    lines = [x for x in Path(args.records).read_text(encoding="utf-8").splitlines() if x.strip()]
    if args.limit:
        lines = lines[: args.limit]
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "load.db")
        token = subprocess.run(
            [
                sys.executable,
                "-m",
                "rules_engine",
                "token",
                "create",
                "--org",
                _root(args.roster),
                "--write",
                "--db",
                db,
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = [sys.executable, "-m", "rules_engine", "serve", "--roster", args.roster, "--rules", args.rules]
        command += ["--db", db, "--port", str(port), "--clock", "2024-12-01", "--period", "2024"]
        started = time.perf_counter()
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        assert server.stderr is not None
        for line in server.stderr:
            if "Uvicorn running on" in line:
                break
        print(f"server ready after {time.perf_counter() - started:.1f} s", flush=True)
        threading.Thread(target=lambda: server.stderr.read() if server.stderr else None, daemon=True).start()
        try:
            phases = args.phase or [f"{args.clients}x{args.batch}" + (f"@{args.rate:g}" if args.rate else "")]
            at = 0
            for phase in phases:
                clients, batch, rate, count = _phase(phase, len(lines) - at)
                _load(port, token, lines[at : at + count], clients, batch, rate, args.wait)
                at += count
        finally:
            server.terminate()
            server.wait(timeout=60)
    return 0


def _phase(text: str, left: int) -> tuple[int, int, float, int]:
    """CLIENTSxBATCH[@RATE][:RECORDS] (records: all that are left by default)."""
    head, _, count = text.partition(":")
    shape, _, rate = head.partition("@")
    clients, _, batch = shape.partition("x")
    return int(clients), int(batch or 1), float(rate or 0), min(left, int(count) if count else left)


def _load(port: int, token: str, lines: list[str], clients: int, batch: int, rate: float, wait: bool) -> None:
    """Post `lines` from `clients` threads, `batch` a request (at `rate` records/s in all, or as fast as answered);
    print the figures."""
    work: queue.Queue[tuple[int, list[str]]] = queue.Queue()
    for n, i in enumerate(range(0, len(lines), batch)):
        work.put((n, lines[i : i + batch]))
    latencies: list[float] = []
    lock = threading.Lock()
    interval = batch / rate if rate else 0.0  # seconds between two requests' starts
    path = "/records" + ("?wait=true" if wait else "")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)  # (kept open: HTTP/1.1)
        try:
            while True:
                try:
                    n, part = work.get_nowait()
                except queue.Empty:
                    return
                body = "".join(x + "\n" for x in part).encode()
                start = time.perf_counter()
                if interval:  # (the request's place in the schedule: timed from there)
                    due = began + n * interval
                    if due > start:
                        time.sleep(due - start)
                    start = due
                connection.request("POST", path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"POST /records: HTTP {answer.status}: {data[:300]!r}")
                json.loads(data)
                with lock:
                    latencies.append(time.perf_counter() - start)
        finally:
            connection.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    settled = _settled(port)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"{len(lines)} records in {len(latencies)} requests, {clients} clients, batch {batch}, "
        f"rate {rate or 'open'}{', wait' if wait else ''}: "
        f"{took:.1f} s, {len(lines) / took:.1f} records/s; latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms"
        + ("" if settled is None else f"; all counted {settled:.1f} s after the last answer"),
        flush=True,
    )


def _settled(port: int) -> float | None:
    """Seconds until the server has no record left to count (None: it does not say)."""
    began = time.perf_counter()
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=600) as answer:
            health = json.loads(answer.read())
        if "unsettled" not in health:
            return None
        if not health["unsettled"]:
            return time.perf_counter() - began
        time.sleep(0.05)


def _root(roster: str) -> str:
    """The first organisation without a parent (the token for the whole roster)."""
    import yaml

    data = yaml.safe_load(Path(roster).read_text(encoding="utf-8"))
    return next(o["id"] for o in data["organisations"] if not o.get("parent"))


if __name__ == "__main__":
    raise SystemExit(main())
