#!/usr/bin/env python3
"""Benchmark of the findings store: many runs of a synthetic province recorded, then read back.

    python benchmarks/history.py                         # out/bench/1000x100000 (made if missing), 100 runs
    python benchmarks/history.py --runs 10 --postgres auto
    python benchmarks/history.py --postgres postgresql://user@localhost/bench --no-sqlite

Evaluates the province once (as of 2025-01-15, every finding held), then records it ``--runs`` times, each
run a variant of that report: run k has about 1 % of its findings flipped (violated -> fulfilled, anything
else -> violated; chosen by ``random.Random(k)``, the texts left as they were) and is dated k days later,
so that a diff of two runs has new and resolved findings besides the persisting ones. Then, best of 3
(wall and CPU time of this process): ``history.diff`` of the last two runs (text rendered too; target
under 2 s), of the first and the last, ``history.runs`` (rendered), and ``history.show`` of one
organisation. Prints the store's size per million findings: the SQLite file after a WAL checkpoint, the
PostgreSQL database by ``pg_database_size``.

``--postgres auto`` starts a throwaway PostgreSQL server as the tests do (tests/postgres.py); a URL uses
that database (it must be empty or a store of ours). No assertion: figures to read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FLIP = 0.01


def _data(args: argparse.Namespace) -> tuple[Path, Path]:
    roster = next((args.data / n for n in ("roster.yaml", "roster.json") if (args.data / n).is_file()), None)
    if roster is None:
        print(f"generating {args.orgs}x{args.records} into {args.data}", flush=True)
        subprocess.run(
            [sys.executable, str(HERE / "synth.py"), "--orgs", str(args.orgs), "--records", str(args.records),
             "--out", str(args.data), "--quiet"],
            check=True,
        )  # fmt: skip
        roster = args.data / "roster.yaml"
    return roster, args.data / "records.jsonl"


def variant(report: Any, k: int) -> Any:
    """Run k's report: about FLIP of the findings flipped, as of k days after the report's date."""
    from rules_engine import Status

    if k == 0:
        return report
    rng = random.Random(k)
    findings = list(report.findings)
    for i in rng.sample(range(len(findings)), int(len(findings) * FLIP)):
        f = findings[i]
        status = Status.fulfilled if f.status is Status.violated else Status.violated
        findings[i] = f.model_copy(update={"status": status})
    summary = Counter(f.status.value for f in findings)
    return report.model_copy(
        update={
            "findings": findings,
            "summary": {s: summary.get(s, 0) for s in report.summary},
            "as_of": report.as_of + dt.timedelta(days=k),
        }
    )


def best_of(name: str, fn: Callable[[], Any], times: int = 3) -> Any:
    walls, cpus, result = [], [], None
    for _ in range(times):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    print(f"  {name:<28} best wall {min(walls):6.2f} s   best cpu {min(cpus):6.2f} s", flush=True)
    return result


def bench(label: str, db: str, report: Any, runs: int, size: Callable[[], int], subject: str) -> None:
    from rules_engine import history

    print(f"{label}: recording {runs} runs of {len(report.findings)} findings", flush=True)
    total, started = 0, time.perf_counter()
    record_walls = []
    for k in range(runs):
        r = variant(report, k)
        w = time.perf_counter()
        history.record(
            r,
            db,
            recorded_by="benchmark",
            clock=lambda k=k: dt.datetime(2025, 1, 16, tzinfo=dt.timezone.utc) + dt.timedelta(days=k),
        )
        record_walls.append(time.perf_counter() - w)
        total += len(r.findings)
        if k % 10 == 9 or k == runs - 1:
            print(f"  {k + 1} runs, {total:,} findings, {time.perf_counter() - started:.0f} s", flush=True)
    record_walls.sort()
    print(f"  record one run               median wall {record_walls[len(record_walls) // 2]:6.2f} s", flush=True)

    def diff(a: str, b: str) -> Any:
        d = history.diff(db, a, b)
        history.format_diff(d)
        return d

    d = best_of("diff latest~1 latest", lambda: diff("latest~1", "latest"))
    print(f"    new {len(d.new)}, resolved {len(d.resolved)}, persisting {len(d.persisting)}, changed {len(d.changed)}")
    best_of("diff 1 latest", lambda: diff("1", "latest"))
    best_of("runs", lambda: history.format_runs(history.runs(db)))
    rec = best_of(f"show {subject}", lambda: history.format_record(history.show(db, subject)))
    print(f"    {len(rec)} characters shown")
    nbytes = size()
    print(
        f"  size {nbytes / 2**20:,.1f} MiB for {total:,} findings: "
        f"{nbytes / 2**20 / (total / 1e6):,.0f} MiB per million findings",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "out" / "bench" / "1000x100000", help="synth.py output")
    ap.add_argument("--orgs", type=int, default=1000, help="when --data is missing: organisations to generate")
    ap.add_argument("--records", type=int, default=100_000, help="when --data is missing: records to generate")
    ap.add_argument("--runs", type=int, default=100, help="runs to record (default 100)")
    ap.add_argument("--postgres", help="'auto' (a throwaway server, as the tests start) or a database URL")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument("--subject", default="o00001", help="the organisation history show reads")
    args = ap.parse_args(argv)
    roster, records = _data(args)

    import rules_engine

    print(f"data {args.data} · pid {os.getpid()} · load average {os.getloadavg()[0]:.2f}", flush=True)
    w = time.perf_counter()
    report = rules_engine.evaluate(
        rules_engine.load_rules(ROOT / "rules"), roster, records, period="2024", as_of="2025-01-15"
    )
    print(f"evaluated in {time.perf_counter() - w:.1f} s: {len(report.findings)} findings {report.summary}")

    if not args.no_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="rules-engine-history-"))
        path = folder / "history.db"

        def sqlite_size() -> int:
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return sum(p.stat().st_size for p in folder.iterdir())

        bench(f"SQLite {path}", str(path), report, args.runs, sqlite_size, args.subject)
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        from rules_engine.history import store

        def run_pg(url: str) -> None:
            def pg_size() -> int:
                with store.connect(url, create=False) as conn:
                    return int(conn.execute(store.sa.text("SELECT pg_database_size(current_database())")).scalar_one())

            bench("PostgreSQL", url, report, args.runs, pg_size, args.subject)

        if args.postgres == "auto":
            from tests.postgres import started_server

            with started_server() as server:
                if isinstance(server, str):
                    print(f"PostgreSQL not available: {server}")
                else:
                    run_pg(server.url)
        else:
            run_pg(args.postgres)
    print(f"load average now {os.getloadavg()[0]:.2f} (2 cores busy elsewhere make wall times longer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
