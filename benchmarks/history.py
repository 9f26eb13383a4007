#!/usr/bin/env python3
"""Benchmark of the findings store: many runs of a synthetic province recorded, then read back.

    python benchmarks/history.py                         # out/bench/1000x100000 (made if missing), 100 runs
    python benchmarks/history.py --runs 10 --postgres auto
    python benchmarks/history.py --postgres postgresql://user@localhost/bench --no-sqlite

Evaluates the province (period 2024) as of a handful of dates in turn (``--as-of``, default four: 2024-04-15,
2024-07-15, 2024-10-15, 2025-01-15; one report held at a time) and records each report for its share of the
``--runs`` runs, in date order: run k is that report with about 1 % of its findings flipped (violated ->
fulfilled, anything else -> violated; chosen by ``random.Random(k)``, the texts left as they were), so that a
diff of two runs of one date has new and resolved findings besides the persisting ones, and a diff across
two dates has what a real later check has (pending windows decided, counts grown). Then, each as a whole
process (``rules-engine history ...``, best of 3, wall time): ``history diff latest~1 latest`` (target under
2 s), an older pair (runs 1 and 2), the pair across the last change of date, ``history runs`` and
``history show`` of one organisation. Prints the store's size per million findings: the SQLite file after a
WAL checkpoint, the PostgreSQL database by ``pg_database_size``.

``--postgres auto`` starts a throwaway PostgreSQL server as the tests do (tests/postgres.py); a URL uses
that database (it must be empty or a store of ours). No assertion: figures to read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FLIP = 0.01
AS_OF = ["2024-04-15", "2024-07-15", "2024-10-15", "2025-01-15"]


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
    """Run k's report: about FLIP of the findings flipped (run 0: the report as it is)."""
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
    return report.model_copy(update={"findings": findings, "summary": {s: summary.get(s, 0) for s in report.summary}})


def best_of(name: str, command: list[str], times: int = 3) -> str:
    """Run `command` `times` times as a process; print the best wall time; return its standard output."""
    walls, out = [], ""
    for _ in range(times):
        w = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - w)
        out = done.stdout
    print(f"  {name:<34} best wall {min(walls):6.2f} s  (of {', '.join(f'{x:.2f}' for x in walls)})", flush=True)
    return out


def record_all(
    label: str,
    db: str,
    reports: Callable[[], Iterator[tuple[str, Any, int]]],
    after: Callable[[int], None] = lambda k: None,
) -> tuple[int, list[int]]:
    """Record every run (calling `after` with the number of runs recorded after each); returns the findings
    recorded and the first run of each date."""
    from rules_engine import history

    print(f"{label}: recording", flush=True)
    total, started, k = 0, time.perf_counter(), 0
    record_walls: list[float] = []
    record_cpus: list[float] = []
    firsts: list[int] = []
    for as_of, report, count in reports():
        print(f"  as of {as_of}: {len(report.findings):,} findings, {count} runs", flush=True)
        for _ in range(count):
            r = variant(report, k)
            w, c = time.perf_counter(), time.process_time()
            run = history.record(
                r,
                db,
                recorded_by="benchmark",
                clock=lambda k=k: dt.datetime(2025, 1, 16, tzinfo=dt.timezone.utc) + dt.timedelta(days=k),
            )
            record_walls.append(time.perf_counter() - w)
            record_cpus.append(time.process_time() - c)
            total += len(r.findings)
            k += 1
            after(k)
            if k % 10 == 0:
                print(f"  {k} runs, {total:,} findings, {time.perf_counter() - started:.0f} s", flush=True)
        firsts.append(run.id - count + 1)
    walls, cpus = sorted(record_walls), sorted(record_cpus)
    print(
        f"  record one run: median wall {walls[len(walls) // 2]:.2f} s, cpu {cpus[len(cpus) // 2]:.2f} s; "
        f"first run wall {record_walls[0]:.2f} s, cpu {record_cpus[0]:.2f} s; {k} runs in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return total, firsts


def read_back(db: str, total: int, firsts: list[int], size: Callable[[], int], subject: str) -> None:
    cli = [sys.executable, "-m", "rules_engine", "history"]
    out = best_of("diff latest~1 latest", [*cli, "diff", "latest~1", "latest", "--db", db, "--format", "json"])
    d = json.loads(out)
    print(f"    new {len(d['new'])}, resolved {len(d['resolved'])}, persisting {len(d['persisting'])}, "
          f"changed {len(d['changed'])}")  # fmt: skip
    best_of("diff 1 2 (the oldest pair)", [*cli, "diff", "1", "2", "--db", db])
    if len(firsts) > 1:
        a, b = firsts[-1] - 1, firsts[-1]
        out = best_of(f"diff {a} {b} (across dates)", [*cli, "diff", str(a), str(b), "--db", db, "--format", "json"])
        d = json.loads(out)
        print(f"    new {len(d['new'])}, resolved {len(d['resolved'])}, persisting {len(d['persisting'])}, "
              f"changed {len(d['changed'])}")  # fmt: skip
    best_of("runs", [*cli, "runs", "--db", db])
    best_of(f"show {subject}", [*cli, "show", subject, "--db", db])
    nbytes = size()
    print(
        f"  size {nbytes / 2**20:,.1f} MiB for {total:,} findings: "
        f"{nbytes / 2**20 / (total / 1e6):,.1f} MiB per million findings",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "out" / "bench" / "1000x100000", help="synth.py output")
    ap.add_argument("--orgs", type=int, default=1000, help="when --data is missing: organisations to generate")
    ap.add_argument("--records", type=int, default=100_000, help="when --data is missing: records to generate")
    ap.add_argument("--runs", type=int, default=100, help="runs to record (default 100)")
    ap.add_argument("--as-of", nargs="+", default=AS_OF, help="the evaluation dates, in turn (period 2024)")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench-history", help="where the SQLite store goes")
    ap.add_argument("--postgres", help="'auto' (a throwaway server, as the tests start) or a database URL")
    ap.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    ap.add_argument("--subject", default="o00001", help="the organisation history show reads")
    ap.add_argument(
        "--snapshot-at",
        type=int,
        nargs="+",
        default=[],
        metavar="N",
        help="SQLite: copy the store as it is after N runs to history-N.db beside it (to time the same pair of "
        "runs in stores of different sizes)",
    )
    ap.add_argument("--record-only", action="store_true", help="record the runs, time nothing")
    args = ap.parse_args(argv)
    roster, records = _data(args)

    import rules_engine

    print(f"data {args.data} · pid {os.getpid()} · load average {os.getloadavg()[0]:.2f}", flush=True)
    n = len(args.as_of)
    shares = [args.runs // n + (1 if i < args.runs % n else 0) for i in range(n)]

    def reports() -> Iterator[tuple[str, Any, int]]:
        rules = rules_engine.load_rules(ROOT / "rules")
        for as_of, count in zip(args.as_of, shares, strict=True):
            if count:
                w = time.perf_counter()
                report = rules_engine.evaluate(rules, roster, records, period="2024", as_of=as_of)
                print(f"  evaluated as of {as_of} in {time.perf_counter() - w:.1f} s: {report.summary}", flush=True)
                yield as_of, report, count

    if not args.no_sqlite:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "history.db"
        for stale in args.out.glob("history*.db*"):
            stale.unlink()

        def sqlite_size() -> int:
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return sum(p.stat().st_size for p in args.out.glob("history.db*"))

        def snapshot(k: int) -> None:
            if k in args.snapshot_at:
                sqlite_size()  # the WAL checkpointed into the file
                shutil.copyfile(path, args.out / f"history-{k}.db")
                print(f"  store after {k} runs copied to {args.out / f'history-{k}.db'}", flush=True)

        total, firsts = record_all(f"SQLite {path}", str(path), reports, snapshot)
        if not args.record_only:
            read_back(str(path), total, firsts, sqlite_size, args.subject)
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        from rules_engine.history import store

        def run_pg(url: str) -> None:
            def pg_size() -> int:
                with store.connect(url, create=False) as conn:
                    return int(conn.execute(store.sa.text("SELECT pg_database_size(current_database())")).scalar_one())

            total, firsts = record_all("PostgreSQL", url, reports)
            if not args.record_only:
                read_back(url, total, firsts, pg_size, args.subject)

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
