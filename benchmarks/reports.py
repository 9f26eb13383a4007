#!/usr/bin/env python3
"""Benchmark of the reports people open: the Excel workbook and the HTML page of a synthetic province.

    python benchmarks/reports.py                                    # out/bench/1000x100000, made if missing
    python benchmarks/reports.py --data out/bench/1000x100000 --scoring examples/county-2024/scoring.yaml

Evaluates the province once (``rules_engine.evaluate``, every finding held), then writes each report
(``render_xlsx``, ``render_html``; both with the scorecard and the 三实三弱 diagnosis: the first scores and
diagnoses the report, the second reuses that; ``html alone`` is the page of a copy of the report, scored and
diagnosed again, as when it is the only output) and prints, for the evaluation (then a full garbage collection,
timed apart: see ``collect`` in the code) and for each report: wall
time, CPU time of this process, and memory, the peak resident set during the step less the resident set
when it started ("beyond the evaluation"), read from ``/proc/self/status`` after resetting the peak
(``/proc/self/clear_refs``; Linux). Target for 1,000 organisations and 100,000 records: each report in
under 10 s and 200 MB beyond the evaluation.
No assertion: figures to read (the machine's load changes them; the CPU time less so).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Step:
    """Wall and CPU time of a block, and its peak memory above the resident set it started with."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.figures: dict[str, Any] = {}

    def __enter__(self) -> Step:
        self.reset = _reset_peak()
        self.rss0 = _status_kb("VmRSS")
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, cpu = time.perf_counter() - self.wall0, time.process_time() - self.cpu0
        peak, rss = _status_kb("VmHWM"), _status_kb("VmRSS")
        self.figures = {"wall_s": wall, "cpu_s": cpu}
        if self.rss0 is not None and peak is not None and rss is not None:
            self.figures.update({"rss_start_mb": self.rss0 / 1024, "peak_mb": peak / 1024, "rss_end_mb": rss / 1024})
            if self.reset:
                self.figures["beyond_mb"] = (peak - self.rss0) / 1024
        text = f"{self.name:<12} wall {wall:7.2f} s   cpu {cpu:7.2f} s"
        if "beyond_mb" in self.figures:
            text += f"   peak {peak / 1024:8.1f} MB   beyond start {self.figures['beyond_mb']:7.1f} MB"
        elif peak is not None:
            text += f"   peak {peak / 1024:8.1f} MB (process peak; the kernel would not reset it)"
        print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "out" / "bench" / "1000x100000", help="synth.py output")
    ap.add_argument("--orgs", type=int, default=1000, help="when --data is missing: organisations to generate")
    ap.add_argument("--records", type=int, default=100_000, help="when --data is missing: records to generate")
    ap.add_argument("--scoring", type=Path, default=ROOT / "examples" / "county-2024" / "scoring.yaml")
    ap.add_argument("--out", type=Path, help="folder for the reports (default: a temporary folder)")
    args = ap.parse_args(argv)

    roster = next((args.data / n for n in ("roster.yaml", "roster.json") if (args.data / n).is_file()), None)
    if roster is None:
        print(f"generating {args.orgs}x{args.records} into {args.data}", flush=True)
        subprocess.run(
            [sys.executable, str(HERE / "synth.py"), "--orgs", str(args.orgs), "--records", str(args.records),
             "--out", str(args.data)],
            check=True,
        )  # fmt: skip
        roster = args.data / "roster.yaml"
    records = args.data / "records.jsonl"

    import rules_engine
    from rules_engine.render.html import render_html
    from rules_engine.render.xlsx import render_xlsx

    out = args.out or Path(tempfile.mkdtemp(prefix="rules-engine-reports-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"data {args.data} · pid {os.getpid()} · load average {os.getloadavg()[0]:.2f}", flush=True)
    with Step("evaluate"):
        report = rules_engine.evaluate(
            rules_engine.load_rules(ROOT / "rules"), roster, records, period="2024", as_of="2025-01-15"
        )
    print(f"findings {len(report.findings)}: {report.summary}", flush=True)
    # The evaluation leaves millions of objects young (it pauses the collector): the collector's next older-
    # generation pass walks them all, 2-4 s, in whichever step happens to trigger it. Paid here, shown apart,
    # so that each report's figures are its own (a whole process pays it once, after the evaluation).
    with Step("collect"):
        gc.collect()
    scoring = rules_engine.load_scoring(args.scoring)
    with Step("xlsx"):
        render_xlsx(report, out / "report.xlsx", scoring, roster)
    with Step("html"):
        (out / "report.html").write_bytes(render_html(report, scoring, roster))
    alone = report.model_copy()  # another report object: nothing computed for it yet
    with Step("html alone"):
        render_html(alone, scoring, roster)
    for name in ("report.xlsx", "report.html"):
        print(f"{name:<12} {(out / name).stat().st_size / 2**20:8.1f} MB  {out / name}")
    print(f"load average now {os.getloadavg()[0]:.2f} (2 cores busy elsewhere make wall times longer)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
