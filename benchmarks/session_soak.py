"""The monitoring session (rules_engine.engine._session) over a year of simulated days: ORGS organisations with
DUTIES duties each, records arriving every day (a duty's shortfall falls), and the clock event each day (windows
near and over). Prints the transitions, the time, and the process's resident memory at each simulated month, to
see that the durable_rules state neither grows nor crashes over time (docs/engine.md, "State in the monitoring
service").

    python benchmarks/session_soak.py [--orgs 100] [--duties 150] [--seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import time

from rules_engine.engine._session import DutySession


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orgs", type=int, default=100)
    ap.add_argument("--duties", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    start = dt.date(2024, 1, 1)
    ends = [dt.date(2024, m, 28) for m in (3, 6, 9, 12)] + [dt.date(2024, 6, 30), dt.date(2024, 12, 31)]
    duties = {
        f"o{o}": {f"o{o}-d{d}": [rng.randint(1, 4), rng.choice(ends)] for d in range(args.duties)}
        for o in range(args.orgs)
    }
    session = DutySession()
    counts: dict[str, int] = {}
    began = time.perf_counter()
    for day_number in range(366):
        day = start + dt.timedelta(days=day_number)
        for org, held in duties.items():
            for duty in rng.sample(list(held), k=max(1, len(held) // 60)):  # records arrive
                held[duty][0] = max(0, held[duty][0] - 1)
            facts = {
                d: (short, int(end < day), int(end <= day + dt.timedelta(days=30))) for d, (short, end) in held.items()
            }
            for t in session.put(org, facts):
                counts[t.after] = counts.get(t.after, 0) + 1
        if day.day == 1 or day_number == 365:
            print(f"{day}: {time.perf_counter() - began:7.1f} s, rss {rss_mb():7.1f} MB, transitions {counts}")
    session.close()
    print(f"after close: rss {rss_mb():.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
