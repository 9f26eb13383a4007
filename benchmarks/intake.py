"""The record intake alone: read, check and account for record files, the used rows handed to a sink that only
counts them (so what is measured is the intake's own time and memory, not the tally's, which holds every used
record as columns).

    python benchmarks/intake.py ROSTER RECORDS [RECORDS ...] [--rules rules] [--period 2024] [--as-of 2025-01-15]

Prints the intake's wall and CPU time, the process's peak RSS before and after it, and the input account."""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import time

import polars as pl

from rules_engine.intake import Intake, record_span
from rules_engine.load.inputs import BadRow, Rec
from rules_engine.periods import parse_period
from rules_engine.pipeline import compiled_rules, roster_result
from rules_engine.plan import RosterIndex


class Discard:
    """A sink that counts what it is handed and keeps nothing."""

    def __init__(self) -> None:
        self.used = self.bad = 0

    def add(self, rec: Rec) -> None:
        self.used += 1

    def add_bad(self, row: BadRow) -> None:
        self.bad += 1

    def add_frame(self, frame: pl.DataFrame) -> None:
        self.used += frame.height


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roster")
    parser.add_argument("records", nargs="+")
    parser.add_argument("--rules", default="rules")
    parser.add_argument("--period", default="2024")
    parser.add_argument("--as-of", default="2025-01-15")
    args = parser.parse_args()
    compiled = compiled_rules(args.rules, None)
    index = RosterIndex(roster_result(args.roster).roster)
    period = parse_period(args.period)
    before = _peak_mb()
    sink = Discard()
    intake = Intake(compiled, index, sink, record_span(compiled, period), dt.date.fromisoformat(args.as_of))
    wall, cpu = time.perf_counter(), time.process_time()
    intake.read(args.records)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    read, used, rejected, excluded = (sum(a[i] for a in intake.accounts.values()) for i in range(4))
    print(
        f"intake {wall:.2f} s wall {cpu:.2f} s cpu; peak RSS {before:.0f} MB before, {_peak_mb():.0f} MB after; "
        f"read {read:,} used {used:,} rejected {rejected:,} excluded {excluded:,} (sink: {sink.used:,} used)"
    )


if __name__ == "__main__":
    main()
