#!/usr/bin/env python3
"""How long a post waits while the monitor's clock event counts every duty again.

    python benchmarks/synth.py --orgs 200 --records 20000 --out out/bench/200x20000
    python benchmarks/tick_posts.py --data out/bench/200x20000 [--src BASE/src]

Builds a monitor (``settle=False``, no store) on the data's roster and records as of 2024-06-30, then runs the
clock event for the next day in a thread while the main thread posts the province's later records one at a time
(as ``POST /records`` does, without HTTP; ``--every`` milliseconds apart), and prints the clock event's seconds,
how many posts were answered while it ran, and their latency (median, p99, longest). ``--src``: run another
checkout's library (e.g. main's, as the baseline), in a subprocess with that folder first on the path.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="a folder written by benchmarks/synth.py")
    ap.add_argument("--src", help="the library's source folder to run (PYTHONPATH)")
    ap.add_argument("--clock", default="2024-06-30")
    ap.add_argument("--every", type=float, default=2.0, help="milliseconds between two posts (default 2)")
    args = ap.parse_args()
    if args.src:
        env = dict(os.environ, PYTHONPATH=str(Path(args.src).resolve()))
        again = ["--data", args.data, "--clock", args.clock, "--every", str(args.every)]
        return subprocess.call([sys.executable, __file__, *again], env=env)
    import datetime as dt

    from rules_engine.monitor import Monitor

    data = Path(args.data)
    roster = next(p for p in (data / "roster.yaml", data / "roster.json") if p.exists())
    lines = (data / "records.jsonl").read_text(encoding="utf-8").splitlines()
    clock = dt.date.fromisoformat(args.clock)
    early = [line for line in lines if json.loads(line)["date"] <= args.clock]
    late = [line for line in lines if json.loads(line)["date"] > args.clock]
    started = time.perf_counter()
    m = Monitor("rules", str(roster), period="2024", clock=clock, settle=False)
    m.post_lines(early, source="early")
    m.settle()
    print(f"start and first count: {time.perf_counter() - started:.1f} s ({len(early)} records)")
    done = threading.Event()
    took: list[float] = []

    def tick() -> None:
        begun = time.perf_counter()
        m.tick(clock + dt.timedelta(days=1))
        took.append(time.perf_counter() - begun)
        done.set()

    thread = threading.Thread(target=tick)
    thread.start()
    waits: list[float] = []
    for n, line in enumerate(late, 1):
        if done.is_set():
            break
        begun = time.perf_counter()
        m.post_lines([line], source="late", lines=[n])
        waits.append(time.perf_counter() - begun)
        time.sleep(args.every / 1000)
    thread.join()
    waits.sort()
    if waits:
        p50, p99 = waits[len(waits) // 2], waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        print(
            f"clock event: {took[0]:.1f} s; posts answered while it ran: {len(waits)}; "
            f"latency p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, longest {waits[-1] * 1e3:.2f} ms"
        )
    else:
        print(f"clock event: {took[0]:.1f} s; no post")
    return 0


if __name__ == "__main__":
    sys.exit(main())
