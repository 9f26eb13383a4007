#!/usr/bin/env python3
"""End-to-end benchmark: generate a synthetic province, evaluate it, render the JSON report, print figures.

    python benchmarks/run.py                                   # 100x10000 and 1000x100000
    python benchmarks/run.py --sizes 100x10000,1000x100000,1000x1000000,10000x1000000
    python benchmarks/run.py --data out/bench --sizes 1000x100000   # keep / reuse generated data
    python benchmarks/run.py --sizes 1000x100000 --profile           # cProfile, top functions

Each size (``ORGSxRECORDS``) is generated with ``benchmarks/synth.py`` (into a temporary directory, or
``--data DIR/ORGSxRECORDS`` where it is reused if present) and measured in a fresh Python process, so
the peak memory (``ru_maxrss``) is that run's alone. The child runs::

    report = rules_engine.evaluate(rules_engine.load_rules("rules"), roster, records,
                                   period="2024", as_of="2025-01-15")
    Path(out).write_bytes(rules_engine.render_json(report))

Stage timings come from the package's own tracer: the child passes a ``rules_engine.RecordingTracer``
to ``evaluate`` / ``evaluate_to`` (and times ``render_json`` as a ``render`` stage), then reads the
stages back from it. A version of the package without the tracer gives no stage table; ``--no-stages``
passes none (the null tracer).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATUSES = ("fulfilled", "violated", "pending", "not_applicable", "undeterminable")
RESULT = "BENCH-RESULT "


def mb(kilobytes: float) -> float:
    return kilobytes / 1024.0


def rss_now_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def peak_mb() -> float:
    return mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# ---------------------------------------------------------------- child: one measured run


def source_digest() -> str:
    """A short digest of the installed package's source, to tie figures to a version of the code."""
    import hashlib

    spec = importlib.util.find_spec("rules_engine")
    if spec is None or spec.origin is None:
        return "?"
    h = hashlib.sha256()
    for path in sorted(Path(spec.origin).parent.rglob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _parse_roster(path: Path, result: dict[str, Any]) -> Any:
    t = time.perf_counter()
    if path.suffix == ".json":
        import orjson

        data = orjson.loads(path.read_bytes())
    else:
        import yaml

        with path.open("rb") as fh:
            data = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    result["roster_preparse_s"] = time.perf_counter() - t
    result["roster_via"] = "dict"
    return data


def _rejections_in_header(path: Path) -> int | None:
    """The number of rejected rows, from the report's header (read up to the findings, not the whole file)."""
    import orjson

    marker = b',\n  "findings": ['
    head = b""
    with path.open("rb") as fh:
        while marker not in head:
            chunk = fh.read(1 << 20)
            if not chunk:
                return None
            head += chunk
    try:
        doc = orjson.loads(head[: head.index(marker)] + b"}")
        return len(doc["input"]["rejections"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


def _run_api(
    rules_engine: Any, args: argparse.Namespace, rules: Any, roster: Any, records: Path, out: Path, tracer: Any
) -> Any:
    traced: dict[str, Any] = {} if tracer is None else {"tracer": tracer}
    if args.workers is not None:  # (versions without workers take no such argument)
        traced["workers"] = int(args.workers)
    if args.api == "evaluate_to":
        fn = getattr(rules_engine, "evaluate_to", None) or importlib.import_module("rules_engine.evaluate").evaluate_to
        return fn(out, rules, roster, records, period=args.period, as_of=args.as_of, **traced)
    return rules_engine.evaluate(rules, roster, records, period=args.period, as_of=args.as_of, **traced)


def _new_tracer(rules_engine: Any, args: argparse.Namespace) -> Any:
    """A recording tracer, or None (--no-stages, or a version of the package without one)."""
    recording = getattr(rules_engine, "RecordingTracer", None)
    return None if args.no_stages or recording is None else recording()


def _stages(profile: dict[str, Any], evaluate_s: float) -> tuple[dict[str, float], float | None]:
    """Seconds per stage from the tracer's stages: paths under ``evaluate/`` without that prefix, ``render``,
    and ``other``: the call of evaluate (timed here) outside its stages, mostly the garbage collector's first
    pass over every object made while it was paused, on the way out; and the peak RSS (MB) after intake."""
    stages: dict[str, float] = {}
    inside = 0.0
    peak_after_intake = None
    for stage in profile["stages"]:
        path = stage["path"]
        if path == "evaluate":
            continue
        name = path.removeprefix("evaluate/")
        stages[name] = stages.get(name, 0.0) + stage["wall_s"]
        if path.startswith("evaluate/") and stage["depth"] == 1:
            inside += stage["wall_s"]
        if path == "evaluate/intake":
            peak_after_intake = stage["peak_rss_mb"]
    stages["other"] = max(0.0, evaluate_s - inside)
    return stages, peak_after_intake


def child(args: argparse.Namespace) -> int:
    t_start = time.perf_counter()
    import rules_engine

    tracer = _new_tracer(rules_engine, args)
    result: dict[str, Any] = {"import_s": time.perf_counter() - t_start, "rss_after_import_mb": rss_now_mb()}

    data = Path(args.child)
    roster_path = next((data / n for n in ("roster.yaml", "roster.json") if (data / n).exists()), None)
    if roster_path is None:
        print(f"no roster in {data}", file=sys.stderr)
        return 2
    records = data / "records.jsonl"

    t = time.perf_counter()
    rules = rules_engine.load_rules(args.rules)
    result["load_rules_s"] = time.perf_counter() - t

    roster: Any = roster_path
    result["roster_via"] = "path"
    if args.roster_mode == "dict":
        roster = _parse_roster(roster_path, result)

    digest = source_digest()
    out = Path(args.report)
    t0 = time.perf_counter()
    try:
        report = _run_api(rules_engine, args, rules, roster, records, out, tracer)
    except rules_engine.InputError as exc:
        if args.roster_mode != "auto" or "roster" not in str(exc).lower():
            raise
        # The package's roster reader refused the file (older versions had a 5 MB limit): parse it here
        # with a C parser, hand evaluate() a mapping, and say so in the results.
        result["roster_path_error"] = str(exc)[:300]
        roster = _parse_roster(roster_path, result)
        tracer = _new_tracer(rules_engine, args)
        t0 = time.perf_counter()
        report = _run_api(rules_engine, args, rules, roster, records, out, tracer)
    t1 = time.perf_counter()
    result["evaluate_s"] = t1 - t0
    result["peak_after_evaluate_mb"] = peak_mb()
    result["rss_after_evaluate_mb"] = rss_now_mb()
    result["api"] = args.api

    if args.api == "evaluate":
        t2 = time.perf_counter()
        with contextlib.nullcontext() if tracer is None else tracer.stage("render"):
            blob = rules_engine.render_json(report)
            out.write_bytes(blob)
        t3 = time.perf_counter()
        result["render_s"] = t3 - t2
        result["report_bytes"] = len(blob)
        del blob
        result["findings"] = len(report.findings)
        result["summary"] = dict(report.summary)
        result["rejections"] = len(report.input.rejections)
    else:  # evaluate_to wrote the report while evaluating and returned the summary
        result["render_s"] = 0.0
        result["report_bytes"] = out.stat().st_size
        result["summary"] = dict(report)
        result["findings"] = sum(report.values())
        result["rejections"] = _rejections_in_header(out)
    result["peak_rss_mb"] = peak_mb() if args.api == "evaluate" else result["peak_after_evaluate_mb"]
    # worker processes (workers > 1): the largest peak among them (the kernel's figure for reaped children), and
    # the sum of their peaks as they report it to the tracer's ``workers`` stage; parent + that sum is an upper
    # bound of the memory the run held at once
    result["workers"] = args.workers
    result["children_max_rss_mb"] = mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    workers_sum = 0.0
    result["source_digest"] = digest
    if source_digest() != digest:
        result["source_changed_during_run"] = True
    if tracer is not None:
        result["profile"] = tracer.to_dict()
        result["stages"], result["peak_after_intake_mb"] = _stages(result["profile"], result["evaluate_s"])
        result["profile_table"] = tracer.table()
        for stage in result["profile"]["stages"]:
            if stage["path"] == "evaluate/workers":
                workers_sum += stage["counts"].get("peak_rss_mb", 0)
    result["workers_peak_sum_mb"] = workers_sum
    result["peak_total_mb"] = result["peak_rss_mb"] + workers_sum
    print(RESULT + json.dumps(result), flush=True)
    return 0


# ---------------------------------------------------------------- parent


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        orgs, _, recs = part.partition("x")
        sizes.append((int(orgs), int(recs)))
    return sizes


def generate(orgs: int, records: int, where: Path, roster_format: str, seed: int) -> float | None:
    """Generate into `where` unless it already holds data; return the generation time (None if reused)."""
    if (where / "records.jsonl").exists() and any((where / n).exists() for n in ("roster.yaml", "roster.json")):
        return None
    t = time.perf_counter()
    cmd = [sys.executable, str(HERE / "synth.py"), "--orgs", str(orgs), "--records", str(records)]
    cmd += ["--out", str(where), "--roster-format", roster_format, "--seed", str(seed), "--quiet"]
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t


def measure(where: Path, report: Path, args: argparse.Namespace, profile: Path | None) -> dict[str, Any]:
    cmd = [sys.executable]
    if profile is not None:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += [str(Path(__file__).resolve()), "--child", str(where), "--report", str(report), "--rules", str(args.rules)]
    cmd += ["--period", args.period, "--as-of", args.as_of, "--roster-mode", args.roster_mode]
    cmd += ["--api", args.api]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    if args.no_stages or profile is not None:
        cmd.append("--no-stages")
    limit = int(args.mem_limit_gb * 2**30) if args.mem_limit_gb else None

    def cap() -> None:  # address-space limit: a MemoryError in the child instead of the OOM killer
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    began = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.timeout, cwd=ROOT, preexec_fn=cap if limit else None
    )
    wall = time.perf_counter() - began  # the whole process: interpreter, imports, rules, evaluation, workers
    line = next((x for x in proc.stdout.splitlines() if x.startswith(RESULT)), None)
    if proc.returncode != 0 or line is None:
        tail = f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        raise RuntimeError(f"benchmark child failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(line[len(RESULT) :])
    result["process_wall_s"] = wall
    return result


def print_profile(path: Path, top: int) -> None:
    import io
    import pstats

    for key, label in (("cumulative", "cumulative time"), ("tottime", "total (own) time")):
        buf = io.StringIO()
        pstats.Stats(str(path), stream=buf).strip_dirs().sort_stats(key).print_stats(top)
        text = buf.getvalue()
        start = text.find("   ncalls")
        print(f"\n-- top {top} by {label} ({path.name})")
        print(text[start:].rstrip() if start >= 0 else text.rstrip())


def table(rows: list[dict[str, Any]]) -> str:
    head = [
        "orgs", "records", "findings", "fulfilled", "violated", "pending", "n/a", "undet.", "rejected",
        "evaluate s", "render s", "records/s", "µs/record", "peak RSS MB", "roster via", "api",
        "workers", "process wall s (best)", "peak RSS MB parent + workers",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        s = r["summary"]
        ev = r["evaluate_s"]
        n = max(r["records"], 1)
        cells = [
            f"{r['orgs']:,}",
            f"{r['records']:,}",
            f"{r['findings']:,}",
            *(f"{s.get(k, 0):,}" for k in STATUSES),
            f"{r['rejections']:,}" if r.get("rejections") is not None else "-",
            f"{ev:.2f}",
            f"{r['render_s']:.2f}",
            f"{r['records'] / ev:,.0f}" if ev else "-",
            f"{ev / n * 1e6:.1f}",
            f"{r['peak_rss_mb']:.0f}",
            r["roster_via"] + (f" (+{r['roster_preparse_s']:.1f} s parse)" if "roster_preparse_s" in r else ""),
            r.get("api", "evaluate"),
            str(r.get("workers") or "-"),
            f"{r['process_wall_best_s']:.2f}" if "process_wall_best_s" in r else "-",
            f"{r['peak_total_mb']:.0f}" if "peak_total_mb" in r else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def stage_table(rows: list[dict[str, Any]]) -> str:
    """Seconds per stage (the tracer's stages, nested ones as ``intake/read``), one line per size."""
    rows = [r for r in rows if r.get("stages")]
    if not rows:
        return ""
    order: list[str] = []
    for r in rows:
        order += [k for k in r["stages"] if k not in order and k != "other"]
    order.append("other")
    head = ["size", "workers", *order, "peak RSS after intake MB", "peak RSS after evaluate MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        st = r["stages"]
        cells = [f"{r['orgs']}x{r['records']}", str(r.get("workers") or "-")]
        cells += [f"{st[k]:.2f}" if k in st else "-" for k in order]
        peak = r.get("peak_after_intake_mb")
        cells.append("-" if peak is None else f"{peak:.0f}")
        cells.append(f"{r['peak_after_evaluate_mb']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="rules_engine end-to-end benchmark")
    ap.add_argument("--sizes", default="100x10000,1000x100000", help="comma-separated ORGSxRECORDS")
    ap.add_argument("--data", type=Path, help="data directory (ORGSxRECORDS subdirectories, reused when present)")
    ap.add_argument("--rules", type=Path, default=ROOT / "rules")
    ap.add_argument("--period", default="2024")
    ap.add_argument("--as-of", default="2025-01-15")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--roster-format", choices=("yaml", "json"), default="yaml")
    ap.add_argument(
        "--roster-mode",
        choices=("auto", "path", "dict"),
        default="auto",
        help="hand evaluate() the roster file path, or a mapping parsed here with a C parser; auto: the path, "
        "falling back to a mapping if the package's reader refuses the file",
    )
    ap.add_argument(
        "--api",
        choices=("evaluate", "evaluate_to"),
        default="evaluate",
        help="evaluate() + render_json() (default), or the streaming evaluate_to() where the package has it",
    )
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per measured run")
    ap.add_argument("--mem-limit-gb", type=float, help="address-space limit for each measured run (RLIMIT_AS)")
    ap.add_argument("--repeat", type=int, default=1, help="measure each size N times, keep the fastest evaluate")
    ap.add_argument("--no-stages", action="store_true", help="no stage timings (evaluate without a tracer)")
    ap.add_argument("--profile", action="store_true", help="run under cProfile; print the top functions")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--json", type=Path, help="also write the raw results as JSON here")
    ap.add_argument(
        "--workers",
        help="worker processes passed to evaluate/evaluate_to (e.g. 2), or several to compare in turn in the same "
        "sitting (e.g. 1,2; each repeat runs them all); default: not passed (the API's default, one process)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--report", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        return child(args)

    sizes = parse_sizes(args.sizes)
    tmp = None
    base = args.data
    if base is None:
        tmp = tempfile.mkdtemp(prefix="rules-engine-bench-")
        base = Path(tmp)
    rows: list[dict[str, Any]] = []
    try:
        for orgs, records in sizes:
            where = base / f"{orgs}x{records}"
            gen = generate(orgs, records, where, args.roster_format, args.seed)
            note = f"generated in {gen:.1f} s" if gen is not None else "reused"
            print(f"{orgs}x{records}: data in {where} ({note})", file=sys.stderr, flush=True)
            counts = args.workers.split(",") if args.workers else [None]
            best: dict[str | None, dict[str, Any]] = {}
            walls: dict[str | None, list[float]] = {n: [] for n in counts}
            for i in range(max(1, args.repeat)):
                for n in counts:  # in turn, so that every count sees the same load
                    args.workers = n
                    profile = where / f"profile-{orgs}x{records}.pstats" if args.profile else None
                    r = measure(where, where / "report.json", args, profile)
                    walls[n].append(r["process_wall_s"])
                    print(
                        f"  run {i + 1}{'' if n is None else f' workers {n}'}: evaluate {r['evaluate_s']:.2f} s, "
                        f"render {r['render_s']:.2f} s, process {r['process_wall_s']:.2f} s, "
                        f"peak {r['peak_rss_mb']:.0f} MB (+ workers {r.get('workers_peak_sum_mb', 0):.0f} MB), "
                        f"load {os.getloadavg()[0]:.1f}",
                        file=sys.stderr,
                        flush=True,
                    )
                    if n not in best or r["evaluate_s"] < best[n]["evaluate_s"]:
                        best[n] = r
                    if profile is not None:
                        print_profile(profile, args.top)
            args.workers = ",".join(c for c in counts if c is not None) or None
            for n in counts:
                best[n].update(orgs=orgs, records=records, generate_s=gen, process_wall_best_s=min(walls[n]))
                best[n]["process_walls_s"] = walls[n]
                rows.append(best[n])
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    digests = sorted({r.get("source_digest", "?") for r in rows})
    changed = [f"{r['orgs']}x{r['records']}" for r in rows if r.get("source_changed_during_run")]
    print(f"rules_engine source digest: {', '.join(digests)}" + (f" (changed during {changed})" if changed else ""))
    print(table(rows))
    stages = stage_table(rows)
    if stages:
        print(
            "\nStages (s, from rules_engine.RecordingTracer; a/b: stage b inside a; findings: building the Finding "
            "models and Report, or writing the file with evaluate_to; render: render_json and writing; other: "
            "the call of evaluate outside its stages):\n"
        )
        print(stages)
        largest = max((r for r in rows if r.get("profile_table")), key=lambda r: (r["records"], r["orgs"]))
        print(f"\nThe tracer's table for {largest['orgs']}x{largest['records']}:\n")
        print(largest["profile_table"], end="")
    if len(rows) >= 2:
        small = min(rows, key=lambda r: (r["records"], r["orgs"]))
        large = max(rows, key=lambda r: (r["records"], r["orgs"]))
        us_small = small["evaluate_s"] / max(small["records"], 1) * 1e6
        us_large = large["evaluate_s"] / max(large["records"], 1) * 1e6
        e2e_small = (small["evaluate_s"] + small["render_s"]) / max(small["records"], 1) * 1e6
        e2e_large = (large["evaluate_s"] + large["render_s"]) / max(large["records"], 1) * 1e6
        print(
            f"\nflatness (µs/record, {large['orgs']}x{large['records']} / {small['orgs']}x{small['records']}): "
            f"evaluate {us_large / us_small:.2f}, evaluate+render {e2e_large / e2e_small:.2f} "
            "(target: within 1.30)"
        )
        for r in rows:
            if r is not small:
                us = r["evaluate_s"] / max(r["records"], 1) * 1e6
                print(f"  {r['orgs']}x{r['records']}: {us / us_small:.2f} x the µs/record of the smallest size")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
