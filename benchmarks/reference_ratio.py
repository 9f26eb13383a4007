"""Time the pipeline (counting + durable_rules) against the plain evaluator of the tests (tests/oracle.py) on the same
data, and print the ratio. The oracle is for tests, not meant to be fast.

    python benchmarks/reference_ratio.py --orgs 50 --records 5000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

import rules_engine
from rules_engine.periods import parse_period

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the oracle lives with the tests

from tests.oracle import reference_evaluate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=50)
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--period", default="2024")
    ap.add_argument("--as-of", default="2025-01-15")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "synth.py"),
                "--orgs",
                str(args.orgs),
                "--records",
                str(args.records),
                "--out",
                str(out),
                "--roster-format",
                "json",
                "--quiet",
            ],
            check=True,
        )
        compiled = rules_engine.compile_rules(rules_engine.load_rules(ROOT / "rules"))
        roster = rules_engine.read_roster(out / "roster.json").roster
        records = [orjson.loads(line) for line in (out / "records.jsonl").read_bytes().splitlines() if line.strip()]

        t0 = time.perf_counter()
        report = rules_engine.evaluate(compiled, roster, records, period=args.period, as_of=args.as_of)
        t1 = time.perf_counter()
        expected = reference_evaluate(
            compiled, roster, records, parse_period(args.period), __import__("datetime").date.fromisoformat(args.as_of)
        )
        t2 = time.perf_counter()
    pipeline, reference = t1 - t0, t2 - t1
    print(
        f"{args.orgs} organisations x {args.records} records: {len(report.findings)} findings "
        f"({len(expected)} from the reference, which skips escalation and overlay rules)"
    )
    print(f"pipeline (evaluate, pydantic findings): {pipeline:.2f} s")
    print(f"reference evaluator:                    {reference:.2f} s")
    print(f"ratio reference / pipeline:             {reference / pipeline:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
