#!/usr/bin/env python3
"""Prototype of a columnar tally (issue 10, item 2): the same work on polars and on DuckDB, measured.

    python benchmarks/columnar.py out/bench/200x20000 --check          # correctness against rules_engine.evaluate
    python benchmarks/columnar.py out/bench/10000x1000000 --repeat 3 --baseline

Given a folder made by ``benchmarks/synth.py`` (``roster.json`` or ``roster.yaml``, ``records.jsonl``), each
engine runs in its own child process (so its peak RSS is its own) and does, over the product's rules:

* **roster+plan** (product, Python; not an engine stage): rules loaded and compiled, roster read, and
  ``rules_engine.plan.plan`` (rule x subject x window, calendar and judged window);
* **plan->table**: those obligations, the posts and the organisations as engine tables;
* **read**: ``records.jsonl`` read with a schema, required fields and dates validated, unknown
  organisations and types rejected, rows dated after the evaluation date or outside every window and
  duplicate ids set aside (the input account: read, used, rejected, excluded);
* **join**: the records that count for each obligation, one equi-join per rule on its match keys
  (organisation + type; + chair for chaired rules, with ``secretary`` resolved by date against the posts;
  + portfolio area; participants exploded, and joined with themselves for pairs), then the range
  condition of the judged window; trigger rules (relative deadlines) create one obligation per trigger
  record and range-join the follow-ups within N days; the attendance rule keeps the records where the
  participants present among the team on the record's date make the share;
* **aggregate**: count per obligation and the first N evidence ids in input order (capped list
  aggregation), obligations without any matching record by an anti-join (count 0);
* **write**: the tallies as NDJSON (one line per obligation, sorted by obligation number).

It prints a stage table per engine, the ratio DuckDB / polars, and with ``--baseline`` the plain polars
script of issue 10 (read, validate dates, group per organisation / type / half-year and per participant,
write) and the ratio prototype / baseline. ``--check`` runs ``rules_engine.evaluate`` on the same data and
compares the count and the evidence of every obligation both engines cover (escalation rules read findings,
not records: not covered). Not covered either, and said so: rejected candidates with their reasons,
taints (rows rejected or unjudgeable that make an obligation undeterminable), mistyped participant ids.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULT = "COLUMNAR-RESULT "
EPOCH = dt.date(1970, 1, 1)
ENGINES = ("polars", "duckdb")
BAD_TRIGGER = 10**9  # obligation numbers of unjudgeable triggers (rejected rows): base + BAD_TRIGGER + row number
STAGES = ("roster+plan (product)", "plan->columns (python)", "plan->table", "read", "join", "aggregate", "write")
ENGINE_STAGES = STAGES[2:]  # the engine's own work; the first two are the same Python code in every child
INSTALL_HINT = {"polars": "pip install polars", "duckdb": "pip install duckdb"}
# reason codes of the intake; True: a data problem (rejected), False: set aside (excluded)
REASONS = {
    "missing_id": True,
    "missing_org": True,
    "missing_type": True,
    "missing_date": True,
    "bad_date": True,
    "unknown_org": True,
    "unknown_type": True,
    "later": False,
    "duplicate_same": False,
    "duplicate_other": True,
    "outside_span": False,
}


def days(day: dt.date) -> int:
    return (day - EPOCH).days


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_now_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


# ---------------------------------------------------------------- what the product plans, as columns


@dataclass
class Shape:
    """How one record-counting rule joins records to its obligations (from its ``match``)."""

    index: int
    rule_id: str
    types: list[str]
    tags_any: list[str]
    tags_all: list[str]
    chair_col: str | None = None  # obligation column the record's chair must equal
    chair_sec: bool = False  # the chair must be the organisation's secretary on the record's date
    part_cols: list[str] = field(default_factory=list)  # obligation columns that must be among participants
    part_sec: bool = False  # the secretary (on the record's date) must be among the participants
    portfolio: bool = False  # the record's portfolio area must be the obligation's
    share: Fraction | None = None  # attendance share (min_share)
    never: bool = False  # a reference the subject kind cannot resolve: nothing ever counts (as the product)


@dataclass
class TriggerShape:
    index: int
    rule_id: str
    trigger: Shape  # the trigger filter (types, tags, secretary)
    follow: Shape  # the follow-up filter
    org_kinds: list[str]
    within: int
    eff_from: int
    eff_to: int | None
    base: int = 0  # obligation numbers: base + record number


@dataclass
class Prepared:
    """The product's plan and roster as plain columns, plus the rule shapes (built once per child)."""

    obligations: dict[str, list[Any]]
    posts: dict[str, list[Any]]
    orgs: dict[str, list[Any]]
    shapes: list[Shape]
    triggers: list[TriggerShape]
    not_covered: list[str]
    known_types: list[str]
    period: tuple[int, int]
    span: tuple[int, int]
    as_of: int
    uses_secretary: bool


def _ref_col(ref: str, kind: str) -> str | None:
    """The obligation column a person reference resolves to (as ``Counter._refs``), or None."""
    if ref == "subject" and kind in ("person", "portfolio"):
        return "subject"
    if ref == "first" and kind == "pair":
        return "subject"  # a pair's subject is its first person
    if ref == "second" and kind == "pair":
        return "second"
    return None


def shape_of(rule: Any, match: Any, kind: str) -> Shape:
    shape = Shape(rule.index, rule.rule.id, list(match.types), list(match.tags_any), list(match.tags_all))
    if match.chair == "secretary":
        shape.chair_sec = True
    elif match.chair is not None:
        shape.chair_col = _ref_col(match.chair, kind)
        shape.never = shape.chair_col is None
    for ref in match.participants:
        if ref == "secretary":
            shape.part_sec = True
            continue
        col = _ref_col(ref, kind)
        if col is None:
            shape.never = True
        elif col != shape.chair_col and col not in shape.part_cols:  # the chair is among the participants
            shape.part_cols.append(col)
    assert len(shape.part_cols) <= 2  # subject, or a pair's first and second: at most two obligation columns
    shape.portfolio = match.portfolio == "subject"
    if shape.portfolio and kind != "portfolio":
        shape.never = True
    shape.share = rule.share
    return shape


def prepare(rules_dir: str, roster_path: Path, period_text: str, as_of_text: str) -> tuple[Prepared, dict[str, float]]:
    """Rules, roster and the product's plan; then the plan and the roster as columns (timed apart)."""
    from rules_engine import load_rules
    from rules_engine.compile import compile_rules
    from rules_engine.intake import record_span as _span
    from rules_engine.load.inputs import read_roster
    from rules_engine.model.rules import SubjectKind
    from rules_engine.periods import parse_period
    from rules_engine.plan import RosterIndex, plan

    times: dict[str, float] = {}
    t = time.perf_counter()
    compiled = compile_rules(load_rules(rules_dir))
    period = parse_period(period_text)
    roster = read_roster(roster_path).roster
    index = RosterIndex(roster)
    planned = plan(compiled, index, period)
    times["roster+plan (product)"] = time.perf_counter() - t

    t = time.perf_counter()
    shapes: list[Shape] = []
    triggers: list[TriggerShape] = []
    not_covered: list[str] = []
    kinds = {r.index: r.rule.subject.value for r in compiled.rules}
    for rule in compiled.rules:
        spec = rule.rule
        if spec.escalate is not None:
            not_covered.append(f"{spec.id}: reads findings, not records (escalation)")
            continue
        if spec.subject is SubjectKind.trigger:
            assert spec.trigger is not None
            trig = shape_of(rule, spec.trigger, "record")
            follow = shape_of(rule, rule.match, "record")
            if rule.params.window is not None or trig.never or follow.never or follow.share is not None:
                not_covered.append(f"{spec.id}: trigger rule with a deadline window, subject references or a share")
                continue
            eff = rule.effective
            triggers.append(
                TriggerShape(
                    rule.index,
                    spec.id,
                    trig,
                    follow,
                    [k.value for k in spec.org_kinds],
                    rule.params.within_days or 0,
                    days(eff.from_),
                    None if eff.to is None else days(eff.to),
                )
            )
            continue
        shapes.append(shape_of(rule, rule.match, kinds[rule.index]))

    # the obligations: windows are shared Period objects, converted once each
    cache: dict[int, tuple[int, int]] = {}

    def span_of(p: Any) -> tuple[int, int]:
        found = cache.get(id(p))
        if found is None:
            found = cache[id(p)] = (days(p.start), days(p.end))
        return found

    n = len(planned)
    cols: dict[str, list[Any]] = {
        name: [None] * n
        for name in ("rule", "rule_id", "org", "subject", "second", "portfolio", "cs", "ce", "js", "je", "live")
    }
    rule_c, rid_c, org_c, sub_c, sec_c, port_c = (
        cols["rule"],
        cols["rule_id"],
        cols["org"],
        cols["subject"],
        cols["second"],
        cols["portfolio"],
    )
    cs_c, ce_c, js_c, je_c, live_c = cols["cs"], cols["ce"], cols["js"], cols["je"], cols["live"]
    for i, ob in enumerate(planned):
        rule_c[i] = ob.rule.index
        rid_c[i] = ob.rule.rule.id
        org_c[i] = ob.org.id
        sub_c[i] = ob.subject_id
        sec_c[i] = ob.second
        port_c[i] = ob.portfolio
        cs_c[i], ce_c[i] = span_of(ob.period)
        if ob.window is not None:
            js_c[i], je_c[i] = span_of(ob.window)
        live_c[i] = ob.window is not None and not ob.na and not ob.unk
    cols["ob"] = list(range(n))
    for k, trig in enumerate(triggers):
        trig.base = n + k * 2 * BAD_TRIGGER  # trigger obligations: base + record number (after every planned one)
    posts: dict[str, list[Any]] = {"org": [], "person": [], "role": [], "start": [], "end": []}
    for person in roster.people:
        for post in person.posts:
            posts["org"].append(post.org)
            posts["person"].append(person.id)
            posts["role"].append(post.role.value)
            posts["start"].append(days(post.start))
            posts["end"].append(None if post.end is None else days(post.end))
    orgs = {"org": [o.id for o in roster.organisations], "kind": [o.kind.value for o in roster.organisations]}
    span = _span(compiled, period)
    uses_secretary = any(s.chair_sec or s.part_sec for s in shapes) or any(
        t.trigger.chair_sec or t.trigger.part_sec or t.follow.chair_sec or t.follow.part_sec for t in triggers
    )
    prepared = Prepared(
        cols,
        posts,
        orgs,
        shapes,
        triggers,
        not_covered,
        sorted(compiled.ruleset.record_types()),
        (days(period.start), days(period.end)),
        (days(span[0]), days(span[1])),
        days(dt.date.fromisoformat(as_of_text)),
        uses_secretary,
    )
    times["plan->table (python columns)"] = time.perf_counter() - t
    return prepared, times


# ---------------------------------------------------------------- polars


def run_polars(
    prep: Prepared, records: Path, out: Path, max_evidence: int, mark: Callable[[str], None]
) -> dict[str, Any]:
    import polars as pl

    info: dict[str, Any] = {"version": pl.__version__}
    # plan -> table
    o = prep.obligations
    obl = pl.DataFrame(
        {
            "ob": pl.Series(o["ob"], dtype=pl.Int64),
            "rule": pl.Series(o["rule"], dtype=pl.Int32),
            "rule_id": pl.Series(o["rule_id"], dtype=pl.String),
            "org": pl.Series(o["org"], dtype=pl.String),
            "subject": pl.Series(o["subject"], dtype=pl.String),
            "second": pl.Series(o["second"], dtype=pl.String),
            "portfolio": pl.Series(o["portfolio"], dtype=pl.String),
            "cs": pl.Series(o["cs"], dtype=pl.Int32).cast(pl.Date),
            "js": pl.Series(o["js"], dtype=pl.Int32).cast(pl.Date),
            "je": pl.Series(o["je"], dtype=pl.Int32).cast(pl.Date),
            "live": pl.Series(o["live"], dtype=pl.Boolean),
        }
    )
    posts = pl.DataFrame(
        {
            "org": pl.Series(prep.posts["org"], dtype=pl.String),
            "person": pl.Series(prep.posts["person"], dtype=pl.String),
            "role": pl.Series(prep.posts["role"], dtype=pl.String),
            "start": pl.Series(prep.posts["start"], dtype=pl.Int32).cast(pl.Date),
            "end": pl.Series(prep.posts["end"], dtype=pl.Int32).cast(pl.Date),
        }
    )
    orgs = pl.DataFrame(prep.orgs)
    mark("plan->table")

    # read: a schema, required fields, dates, known organisation and type, later, duplicates, span
    schema = {
        "id": pl.String,
        "org": pl.String,
        "type": pl.String,
        "date": pl.String,
        "chair": pl.String,
        "participants": pl.List(pl.String),
        "portfolio": pl.String,
        "tags": pl.List(pl.String),
    }
    raw = pl.read_ndjson(records, schema=schema).with_row_index("rec")
    as_of, (span_lo, span_hi) = pl.lit(prep.as_of).cast(pl.Date), prep.span
    day = (
        pl.when(pl.col("date").str.contains(r"^\d{4}-\d{2}-\d{2}$"))
        .then(pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False))
        .alias("day")
    )

    def missing(name: str) -> pl.Expr:
        return pl.col(name).is_null() | (pl.col(name) == "")

    checked = raw.with_columns(day).with_columns(
        reason=pl.when(missing("id"))
        .then(pl.lit("missing_id"))
        .when(missing("org"))
        .then(pl.lit("missing_org"))
        .when(missing("type"))
        .then(pl.lit("missing_type"))
        .when(missing("date"))
        .then(pl.lit("missing_date"))
        .when(pl.col("day").is_null())
        .then(pl.lit("bad_date"))
        .when(~pl.col("org").is_in(orgs["org"].implode()))
        .then(pl.lit("unknown_org"))
        .when(~pl.col("type").is_in(pl.Series(prep.known_types).implode()))
        .then(pl.lit("unknown_type"))
        .when(pl.col("day") > as_of)
        .then(pl.lit("later"))
    )
    # duplicate ids among the rows still in (the first one in reading order is kept)
    dup = pl.col("reason").is_null() & ~pl.struct("reason", "id").is_first_distinct()
    checked = checked.with_columns(dup=dup)
    if checked["dup"].any():
        content = pl.struct(
            "org", "type", "date", "chair", pl.col("participants").list.sort(), "portfolio", pl.col("tags").list.sort()
        ).hash()
        checked = checked.with_columns(h=content, h0=content.first().over("reason", "id")).with_columns(
            reason=pl.when(pl.col("dup") & (pl.col("h") == pl.col("h0")))
            .then(pl.lit("duplicate_same"))
            .when(pl.col("dup"))
            .then(pl.lit("duplicate_other"))
            .otherwise(pl.col("reason"))
        )
    checked = checked.with_columns(
        reason=pl.when(
            pl.col("reason").is_null()
            & ((pl.col("day") < pl.lit(span_lo).cast(pl.Date)) | (pl.col("day") > pl.lit(span_hi).cast(pl.Date)))
        )
        .then(pl.lit("outside_span"))
        .otherwise(pl.col("reason"))
    )
    counts = checked.group_by("reason").len()
    info["account"] = account({r: n for r, n in counts.iter_rows()}, raw.height)
    rec = checked.filter(pl.col("reason").is_null()).select(
        "rec", "id", "org", "type", "day", "chair", "participants", "portfolio", "tags"
    )
    # rejected rows that may have started a trigger rule's duty (see Counter.add_bad): kept for the join
    rejected = [r for r, taints in REASONS.items() if taints]
    bad = checked.filter(
        pl.col("reason").is_in(rejected) & (pl.col("day").is_null() | (pl.col("day") <= as_of))
    ).select("rec", "id", "org", "type", "day")
    del raw, checked
    mark("read")

    # join
    hold = (pl.col("start") <= pl.col("day")) & (pl.col("end").is_null() | (pl.col("day") <= pl.col("end")))
    explode_types = sorted(
        {t for s in prep.shapes if s.part_cols or s.part_sec or s.share for t in s.types}
        | {t for tr in prep.triggers for s in (tr.trigger, tr.follow) if s.part_sec for t in s.types}
    )
    pair_types = sorted({t for s in prep.shapes if len(s.part_cols) >= 2 for t in s.types})
    people = (
        rec.lazy()
        .filter(pl.col("type").is_in(explode_types))
        .select(
            "rec",
            "id",
            "org",
            "type",
            "day",
            "chair",
            "portfolio",
            person=pl.concat_list(pl.col("participants").fill_null([]), pl.col("chair")),
        )
        .explode("person")
        .filter(pl.col("person").is_not_null())
        .unique(["rec", "person"])
        .collect()
    )
    pairs = (
        people.lazy()
        .filter(pl.col("type").is_in(pair_types))
        .join(people.lazy().select("rec", person_b="person"), on="rec")
        .filter(pl.col("person") != pl.col("person_b"))
        .collect()
    )
    flags: dict[str, pl.DataFrame] = {}
    if prep.uses_secretary:
        sec = posts.filter(pl.col("role") == "secretary").select("org", "person", "start", "end")
        flags["chair_sec"] = (
            rec.join(sec, left_on=["org", "chair"], right_on=["org", "person"]).filter(hold).select("rec").unique()
        )
        flags["part_sec"] = people.join(sec, on=["org", "person"]).filter(hold).select("rec").unique()
    attendance: dict[Fraction, pl.DataFrame] = {}
    share_types = sorted({t for s in prep.shapes if s.share for t in s.types})
    if share_types:
        team = (
            rec.filter(pl.col("type").is_in(share_types))
            .select("rec", "org", "day")
            .join(posts.select("org", "person", "start", "end"), on="org")
            .filter(hold)
            .group_by("rec")
            .agg(team=pl.col("person").n_unique())
        )
        present = (
            people.filter(pl.col("type").is_in(share_types))
            .join(posts.select("org", "person", "start", "end"), on=["org", "person"])
            .filter(hold)
            .group_by("rec")
            .agg(present=pl.col("person").n_unique())
        )
        att = team.join(present, on="rec", how="left").with_columns(pl.col("present").fill_null(0))
        for share in {s.share for s in prep.shapes if s.share}:
            ok = pl.col("present").cast(pl.Int64) * share.denominator >= pl.col("team").cast(pl.Int64) * share.numerator
            attendance[share] = att.filter((pl.col("team") > 0) & ok).select("rec")

    def filtered(frame: pl.LazyFrame, shape: Shape) -> pl.LazyFrame:
        frame = frame.filter(pl.col("type").is_in(shape.types))
        if shape.tags_any or shape.tags_all:
            tags = rec.lazy().filter(pl.col("type").is_in(shape.types))
            if shape.tags_any:
                tags = tags.filter(pl.any_horizontal(pl.col("tags").list.contains(t) for t in shape.tags_any))
            for t in shape.tags_all:
                tags = tags.filter(pl.col("tags").list.contains(t))
            frame = frame.join(tags.select("rec"), on="rec", how="semi")
        if shape.chair_sec:
            frame = frame.join(flags["chair_sec"].lazy(), on="rec", how="semi")
        if shape.part_sec:
            frame = frame.join(flags["part_sec"].lazy(), on="rec", how="semi")
        return frame

    plans: list[pl.LazyFrame] = []
    live = obl.lazy().filter(pl.col("live"))
    for shape in prep.shapes:
        if shape.never:
            continue
        cols = shape.part_cols
        base = rec.lazy() if not cols else people.lazy() if len(cols) == 1 else pairs.lazy()
        base = filtered(base, shape)
        if shape.share is not None:
            base = base.join(attendance[shape.share].lazy(), on="rec", how="semi")
        left, right = ["org"], ["org"]
        if shape.chair_col:
            left.append("chair")
            right.append(shape.chair_col)
        for name, col in zip(("person", "person_b"), cols[:2], strict=False):
            left.append(name)
            right.append(col)
        if shape.portfolio:
            left.append("portfolio")
            right.append("portfolio")
        obs = live.filter(pl.col("rule") == shape.index).select("ob", "js", "je", *dict.fromkeys(right))
        joined = base.join(obs, left_on=left, right_on=right).filter(
            pl.col("day").is_between(pl.col("js"), pl.col("je"))
        )
        plans.append(joined.select("ob", "rec", "id"))
    trig_frames: list[pl.DataFrame] = []
    period_lo, period_hi = pl.lit(prep.period[0]).cast(pl.Date), pl.lit(prep.period[1]).cast(pl.Date)
    for tr in prep.triggers:
        kinds = orgs.filter(pl.col("kind").is_in(tr.org_kinds)).select("org").lazy()
        js = pl.max_horizontal(pl.col("cs"), pl.lit(tr.eff_from).cast(pl.Date))
        je = pl.col("ce") if tr.eff_to is None else pl.min_horizontal(pl.col("ce"), pl.lit(tr.eff_to).cast(pl.Date))
        tobs = (
            filtered(rec.lazy(), tr.trigger)
            .join(kinds, on="org", how="semi")
            .filter(pl.col("day").is_between(period_lo, period_hi))
            .select(
                ob=pl.col("rec").cast(pl.Int64) + tr.base,
                rule=pl.lit(tr.index, dtype=pl.Int32),
                rule_id=pl.lit(tr.rule_id),
                org="org",
                subject="id",
                trigger="id",
                cs="day",
                ce=pl.col("day") + pl.duration(days=tr.within),
            )
            .with_columns(js=js, je=je)
            .with_columns(live=pl.col("js") <= pl.col("je"))
            .collect()
        )
        trig_frames.append(tobs)
        # a rejected row of a trigger type: the duty it would have started cannot be judged (unk bad_trigger)
        label = pl.when(pl.col("id").is_null() | (pl.col("id") == "")).then(
            pl.lit(f"{records}:") + (pl.col("rec") + 1).cast(pl.String)
        )
        trig_frames.append(
            bad.lazy()
            .filter(pl.col("type").is_in(tr.trigger.types))
            .join(kinds, on="org", how="semi")
            .filter(pl.col("day").is_null() | pl.col("day").is_between(period_lo, period_hi))
            .with_columns(subject=label.otherwise(pl.col("id")))
            .unique(["org", "subject"], keep="first", maintain_order=True)
            .select(
                ob=pl.col("rec").cast(pl.Int64) + tr.base + BAD_TRIGGER,
                rule=pl.lit(tr.index, dtype=pl.Int32),
                rule_id=pl.lit(tr.rule_id),
                org="org",
                subject="subject",
                trigger=pl.lit(None, dtype=pl.String),
                cs=period_lo,
                live=pl.lit(False),
            )
            .collect()
        )
        follow = filtered(rec.lazy(), tr.follow).select("rec", "id", "org", "day")
        plans.append(
            tobs.lazy()
            .filter(pl.col("live"))
            .select("ob", "org", "js", "je", "trigger")
            .join(follow, on="org")
            .filter(pl.col("day").is_between(pl.col("js"), pl.col("je")) & (pl.col("id") != pl.col("trigger")))
            .select("ob", "rec", "id")
        )
    matches = (
        pl.concat(plans).collect()
        if plans
        else pl.DataFrame(schema={"ob": pl.Int64, "rec": pl.UInt32, "id": pl.String})
    )
    info["matches"] = matches.height
    info["trigger_obligations"] = sum(f.height for f in trig_frames)
    mark("join")

    # aggregate: count, the first N ids in input order; anti-join for the obligations without a record
    # (a group sees its rows in frame order: one sort by reading order, then head; sort_by per group is slower)
    agg = matches.sort("rec").group_by("ob").agg(count=pl.len(), evidence=pl.col("id").head(max_evidence))
    keys = ["ob", "rule_id", "org", "subject", "second", "portfolio", "trigger", "cs"]
    all_obs = pl.concat(
        [obl.with_columns(trigger=pl.lit(None, dtype=pl.String)).select(keys)]
        + [
            f.with_columns(second=pl.lit(None, dtype=pl.String), portfolio=pl.lit(None, dtype=pl.String)).select(keys)
            for f in trig_frames
        ],
        how="vertical_relaxed",
    )
    found = all_obs.join(agg, on="ob", how="inner")
    absent = all_obs.join(agg, on="ob", how="anti").with_columns(
        count=pl.lit(0, dtype=pl.UInt32), evidence=pl.lit([], dtype=pl.List(pl.String))
    )
    tallies = pl.concat([found, absent]).sort("ob").rename({"cs": "start"})
    info["obligations"] = tallies.height
    info["absent"] = absent.height
    mark("aggregate")

    tallies.write_ndjson(out)
    mark("write")
    return info


# ---------------------------------------------------------------- DuckDB


def scalar(con: Any, sql: str) -> Any:
    return con.execute(sql).fetchall()[0][0]


def _sql_list(values: Iterable[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _write_csv(path: Path, columns: dict[str, list[Any]], names: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(zip(*(columns[n] for n in names), strict=True))


def run_duckdb(
    prep: Prepared, records: Path, out: Path, max_evidence: int, mark: Callable[[str], None]
) -> dict[str, Any]:
    import duckdb

    info: dict[str, Any] = {"version": duckdb.__version__}
    con = duckdb.connect()
    info["threads"] = scalar(con, "SELECT current_setting('threads')")
    # plan -> table: Python columns through a temporary CSV file (DuckDB takes no Python lists in bulk
    # without pandas, numpy or pyarrow; a row-by-row insert is far slower)
    with tempfile.TemporaryDirectory() as tmp:
        ob_names = ["ob", "rule", "rule_id", "org", "subject", "second", "portfolio", "cs", "js", "je", "live"]
        _write_csv(Path(tmp, "obl.csv"), prep.obligations, ob_names)
        _write_csv(Path(tmp, "posts.csv"), prep.posts, ["org", "person", "role", "start", "end"])
        _write_csv(Path(tmp, "orgs.csv"), prep.orgs, ["org", "kind"])
        con.execute(
            "CREATE TABLE obl AS SELECT * FROM read_csv(?, header=false, nullstr='', columns={'ob': 'BIGINT', "
            "'rule': 'INTEGER', 'rule_id': 'VARCHAR', 'org': 'VARCHAR', 'subject': 'VARCHAR', 'second': 'VARCHAR', "
            "'portfolio': 'VARCHAR', 'cs': 'INTEGER', 'js': 'INTEGER', 'je': 'INTEGER', 'live': 'BOOLEAN'})",
            [str(Path(tmp, "obl.csv"))],
        )
        con.execute(
            "CREATE TABLE posts AS SELECT * FROM read_csv(?, header=false, nullstr='', columns={'org': 'VARCHAR', "
            "'person': 'VARCHAR', 'role': 'VARCHAR', 'start': 'INTEGER', 'end': 'INTEGER'})",
            [str(Path(tmp, "posts.csv"))],
        )
        con.execute(
            "CREATE TABLE orgs AS SELECT * FROM read_csv(?, header=false, "
            "columns={'org': 'VARCHAR', 'kind': 'VARCHAR'})",
            [str(Path(tmp, "orgs.csv"))],
        )
    con.execute("CREATE TABLE types AS SELECT unnest($t) AS type", {"t": prep.known_types})
    mark("plan->table")

    # read
    con.execute(
        "CREATE TABLE raw AS SELECT * FROM read_json(?, format='newline_delimited', columns={'id': 'VARCHAR', "
        "'org': 'VARCHAR', 'type': 'VARCHAR', 'date': 'VARCHAR', 'chair': 'VARCHAR', 'participants': 'VARCHAR[]', "
        "'portfolio': 'VARCHAR', 'tags': 'VARCHAR[]'})",
        [str(records)],
    )
    # rowid: the reading order (insertion order is kept); days since 1970 as integers on both sides
    con.execute(
        f"""
        CREATE TABLE checked AS
        WITH c AS (
            SELECT raw.rowid AS rec, raw.*,
                   CASE WHEN regexp_full_match(date, '\\d{{4}}-\\d{{2}}-\\d{{2}}')
                        THEN (try_cast(date AS DATE) - DATE '1970-01-01')::INTEGER END AS day
            FROM raw
        ), r0 AS (
            SELECT c.*, CASE
                WHEN id IS NULL OR id = '' THEN 'missing_id'
                WHEN c.org IS NULL OR c.org = '' THEN 'missing_org'
                WHEN c.type IS NULL OR c.type = '' THEN 'missing_type'
                WHEN date IS NULL OR date = '' THEN 'missing_date'
                WHEN day IS NULL THEN 'bad_date'
                WHEN o.org IS NULL THEN 'unknown_org'
                WHEN t.type IS NULL THEN 'unknown_type'
                WHEN day > {prep.as_of} THEN 'later'
            END AS reason
            FROM c LEFT JOIN orgs o ON o.org = c.org LEFT JOIN types t ON t.type = c.type
        ), r1 AS (
            SELECT *, reason IS NULL AND rec > min(rec) OVER (PARTITION BY reason IS NULL, id) AS dup FROM r0
        )
        SELECT * EXCLUDE (reason, dup), CASE
            WHEN reason IS NOT NULL THEN reason
            WHEN dup THEN 'duplicate'
            WHEN day < {prep.span[0]} OR day > {prep.span[1]} THEN 'outside_span'
        END AS reason FROM r1
        """
    )
    if scalar(con, "SELECT count(*) FROM checked WHERE reason = 'duplicate'"):
        con.execute(
            """
            CREATE OR REPLACE TABLE checked AS
            WITH h AS (SELECT *, hash(org, type, date, chair, list_sort(participants), portfolio, list_sort(tags)) AS h
                       FROM checked),
                 f AS (SELECT id, arg_min(h, rec) AS h0 FROM h WHERE reason IS NULL OR reason = 'duplicate'
                       GROUP BY id)
            SELECT h.* EXCLUDE (h, reason), CASE WHEN reason = 'duplicate' AND h.h = f.h0 THEN 'duplicate_same'
                                                 WHEN reason = 'duplicate' THEN 'duplicate_other'
                                                 ELSE reason END AS reason
            FROM h LEFT JOIN f USING (id)
            """
        )
    counts = dict(con.sql("SELECT reason, count(*) FROM checked GROUP BY reason").fetchall())
    info["account"] = account(counts, sum(counts.values()))
    con.execute(
        "CREATE TABLE recs AS SELECT rec, id, org, type, day, chair, participants, portfolio, tags FROM checked "
        "WHERE reason IS NULL ORDER BY rec"
    )
    rejected = ", ".join(f"'{r}'" for r, taints in REASONS.items() if taints)
    con.execute(
        f"CREATE TABLE bad AS SELECT rec, id, org, type, day FROM checked WHERE reason IN ({rejected}) "
        f"AND (day IS NULL OR day <= {prep.as_of})"
    )
    con.execute("DROP TABLE raw; DROP TABLE checked")
    mark("read")

    # join
    hold = 'p.start <= x.day AND (p."end" IS NULL OR x.day <= p."end")'
    explode_types = sorted(
        {t for s in prep.shapes if s.part_cols or s.part_sec or s.share for t in s.types}
        | {t for tr in prep.triggers for s in (tr.trigger, tr.follow) if s.part_sec for t in s.types}
    )
    pair_types = sorted({t for s in prep.shapes if len(s.part_cols) >= 2 for t in s.types})
    con.execute(
        f"""
        CREATE TABLE people AS SELECT DISTINCT rec, id, org, type, day, chair, portfolio, person FROM (
            SELECT rec, id, org, type, day, chair, portfolio,
                   unnest(list_append(coalesce(participants, []), chair)) AS person
            FROM recs WHERE list_contains({_sql_list(explode_types)}, type)
        ) WHERE person IS NOT NULL
        """
    )
    con.execute(
        f"""
        CREATE TABLE pairs AS SELECT a.*, b.person AS person_b FROM people a JOIN people b USING (rec)
        WHERE a.person <> b.person AND list_contains({_sql_list(pair_types)}, a.type)
        """
    )
    if prep.uses_secretary:
        con.execute(
            f"""CREATE TABLE chair_sec AS SELECT DISTINCT x.rec FROM recs x JOIN posts p
                ON p.org = x.org AND p.person = x.chair AND p.role = 'secretary' AND {hold}"""
        )
        con.execute(
            f"""CREATE TABLE part_sec AS SELECT DISTINCT x.rec FROM people x JOIN posts p
                ON p.org = x.org AND p.person = x.person AND p.role = 'secretary' AND {hold}"""
        )
    share_types = sorted({t for s in prep.shapes if s.share for t in s.types})
    if share_types:
        con.execute(
            f"""
            CREATE TABLE att AS
            WITH team AS (
                SELECT x.rec, count(DISTINCT p.person) AS team FROM recs x JOIN posts p ON p.org = x.org AND {hold}
                WHERE list_contains({_sql_list(share_types)}, x.type) GROUP BY x.rec
            ), present AS (
                SELECT x.rec, count(DISTINCT p.person) AS present FROM people x
                JOIN posts p ON p.org = x.org AND p.person = x.person AND {hold}
                WHERE list_contains({_sql_list(share_types)}, x.type) GROUP BY x.rec
            )
            SELECT rec, team, coalesce(present, 0) AS present FROM team LEFT JOIN present USING (rec)
            """
        )

    def conditions(shape: Shape, x: str) -> list[str]:
        out = [f"list_contains({_sql_list(shape.types)}, {x}.type)"]
        tags = []
        if shape.tags_any:
            tags.append(f"list_has_any(tags, {_sql_list(shape.tags_any)})")
        if shape.tags_all:
            tags.append(f"list_has_all(tags, {_sql_list(shape.tags_all)})")
        if tags:
            out.append(f"{x}.rec IN (SELECT rec FROM recs WHERE {' AND '.join(tags)})")
        if shape.chair_sec:
            out.append(f"{x}.rec IN (SELECT rec FROM chair_sec)")
        if shape.part_sec:
            out.append(f"{x}.rec IN (SELECT rec FROM part_sec)")
        return out

    selects: list[str] = []
    for shape in prep.shapes:
        if shape.never:
            continue
        cols = shape.part_cols
        source = "recs" if not cols else "people" if len(cols) == 1 else "pairs"
        on = ["x.org = o.org", "x.day BETWEEN o.js AND o.je"]
        if shape.chair_col:
            on.append(f"x.chair = o.{shape.chair_col}")
        for name, col in zip(("person", "person_b"), cols[:2], strict=False):
            on.append(f"x.{name} = o.{col}")
        if shape.portfolio:
            on.append("x.portfolio = o.portfolio")
        where = [f"o.rule = {shape.index}", "o.live", *conditions(shape, "x")]
        if shape.share is not None:
            num, den = shape.share.numerator, shape.share.denominator
            where.append(f"x.rec IN (SELECT rec FROM att WHERE team > 0 AND present * {den} >= team * {num})")
        selects.append(
            f"SELECT o.ob, x.rec, x.id FROM obl o JOIN {source} x ON {' AND '.join(on)} WHERE {' AND '.join(where)}"
        )
    trig_tables: list[str] = []
    for k, tr in enumerate(prep.triggers):
        name = f"trig{k}"
        trig_tables.append(name)
        trig_tables.append(f"bad{k}")
        source = str(records).replace("'", "''")
        label = f"CASE WHEN id IS NULL OR id = '' THEN '{source}:' || (rec + 1) ELSE id END"
        con.execute(
            f"""
            CREATE TABLE bad{k} AS
            SELECT {tr.base + BAD_TRIGGER} + min(rec) AS ob, {tr.index} AS rule, '{tr.rule_id}' AS rule_id, x.org,
                   {label} AS subject, NULL::VARCHAR AS trigger, {prep.period[0]} AS cs, false AS live
            FROM bad x JOIN orgs g ON g.org = x.org
            WHERE list_contains({_sql_list(tr.trigger.types)}, x.type)
              AND list_contains({_sql_list(tr.org_kinds)}, g.kind)
              AND (x.day IS NULL OR x.day BETWEEN {prep.period[0]} AND {prep.period[1]})
            GROUP BY x.org, subject
            """
        )
        je = "ce" if tr.eff_to is None else f"least(ce, {tr.eff_to})"
        con.execute(
            f"""
            CREATE TABLE {name} AS
            WITH t AS (
                SELECT {tr.base} + x.rec AS ob, {tr.index} AS rule, '{tr.rule_id}' AS rule_id, x.org,
                       x.id AS subject, x.id AS trigger, x.day AS cs, x.day + {tr.within} AS ce
                FROM recs x JOIN orgs g ON g.org = x.org
                WHERE list_contains({_sql_list(tr.org_kinds)}, g.kind)
                  AND x.day BETWEEN {prep.period[0]} AND {prep.period[1]}
                  AND {" AND ".join(conditions(tr.trigger, "x"))}
            )
            SELECT *, greatest(cs, {tr.eff_from}) AS js, {je} AS je FROM t
            """
        )
        selects.append(
            f"SELECT t.ob, x.rec, x.id FROM {name} t JOIN recs x ON x.org = t.org AND x.day BETWEEN t.js AND t.je "
            f"WHERE t.js <= t.je AND x.id <> t.trigger AND {' AND '.join(conditions(tr.follow, 'x'))}"
        )
    con.execute("CREATE TABLE matches AS " + "\nUNION ALL\n".join(selects))
    info["matches"] = scalar(con, "SELECT count(*) FROM matches")
    info["trigger_obligations"] = sum(scalar(con, f"SELECT count(*) FROM {t}") for t in trig_tables)
    mark("join")

    # aggregate: count, the first N ids by reading order (min_by with a cap), anti-join for the rest
    keys = "ob, rule_id, org, subject, second, portfolio, trigger, cs"
    union = " UNION ALL ".join(
        [f"SELECT {keys.replace('trigger', 'NULL::VARCHAR AS trigger')} FROM obl"]
        + [
            "SELECT "
            + keys.replace("second", "NULL::VARCHAR AS second").replace("portfolio", "NULL::VARCHAR AS portfolio")
            + f" FROM {t}"
            for t in trig_tables
        ]
    )
    con.execute(f"CREATE TABLE all_obs AS {union}")
    con.execute(
        f"CREATE TABLE agg AS SELECT ob, count(*) AS count, min_by(id, rec, {max_evidence}) AS evidence "
        "FROM matches GROUP BY ob"
    )
    con.execute(
        f"""
        CREATE TABLE tallies AS
        SELECT {keys}, count, evidence FROM all_obs JOIN agg USING (ob)
        UNION ALL
        SELECT {keys}, 0 AS count, []::VARCHAR[] AS evidence FROM all_obs ANTI JOIN agg USING (ob)
        """
    )
    info["obligations"] = scalar(con, "SELECT count(*) FROM tallies")
    info["absent"] = scalar(con, "SELECT count(*) FROM tallies WHERE count = 0")
    mark("aggregate")

    con.execute(
        f"""COPY (SELECT ob, rule_id, org, subject, second, portfolio, trigger,
                  DATE '1970-01-01' + cs::INTEGER AS start,
                  count, evidence FROM tallies ORDER BY ob) TO '{str(out).replace("'", "''")}' (FORMAT json)"""
    )
    mark("write")
    con.close()
    return info


def account(counts: dict[str | None, int], read: int) -> dict[str, int]:
    rejected = sum(n for r, n in counts.items() if r is not None and REASONS.get(r, True))
    excluded = sum(n for r, n in counts.items() if r is not None and not REASONS.get(r, True))
    return {
        "read": read,
        "used": counts.get(None, 0),
        "rejected": rejected,
        "excluded": excluded,
        **{f"reason:{r}": n for r, n in sorted(counts.items(), key=lambda kv: str(kv[0])) if r is not None},
    }


# ---------------------------------------------------------------- baseline (issue 10's plain polars script)


def run_baseline(records: Path, out: Path, max_evidence: int, mark: Callable[[str], None]) -> dict[str, Any]:
    """Read with a schema, validate dates, group per (org, type, half-year) and per (org, participant, type,
    half-year) with the first N ids, write the groups as NDJSON: the floor the product is compared with."""
    import polars as pl

    schema = {
        "id": pl.String,
        "org": pl.String,
        "type": pl.String,
        "date": pl.String,
        "chair": pl.String,
        "participants": pl.List(pl.String),
        "portfolio": pl.String,
        "tags": pl.List(pl.String),
    }
    df = pl.read_ndjson(records, schema=schema).with_row_index("rec")
    df = df.with_columns(day=pl.col("date").str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    good = df.filter(pl.col("day").is_not_null()).with_columns(half=(pl.col("day").dt.month() > 6).cast(pl.Int8))
    info: dict[str, Any] = {"version": pl.__version__, "rejected": df.height - good.height}
    mark("read")
    by_org = good.group_by("org", "type", "half", maintain_order=True).agg(
        n=pl.len(), evidence=pl.col("id").head(max_evidence)
    )
    by_person = (
        good.select("org", "type", "half", "id", person="participants")
        .explode("person")
        .group_by("org", "person", "type", "half", maintain_order=True)
        .agg(n=pl.len(), evidence=pl.col("id").head(max_evidence))
    )
    groups = pl.concat([by_org.with_columns(person=pl.lit(None, dtype=pl.String)), by_person], how="diagonal")
    info["groups"] = groups.height
    mark("aggregate")
    groups.write_ndjson(out)
    mark("write")
    return info


# ---------------------------------------------------------------- child process


def child(args: argparse.Namespace) -> int:
    data = Path(args.data)
    records = data / "records.jsonl"
    out = Path(args.out_file)
    stages: dict[str, float] = {}
    rss: dict[str, float] = {}  # RSS at the end of each stage
    marks = {"t": time.perf_counter()}

    def mark(name: str) -> None:
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - marks["t"]
        rss[name] = rss_now_mb()
        marks["t"] = now

    start = time.perf_counter()
    result: dict[str, Any] = {"engine": args.child}
    if args.child == "baseline":
        info = run_baseline(records, out, args.max_evidence, mark)
    else:
        prep, times = prepare(args.rules, roster_file(data), args.period, args.as_of)
        stages["roster+plan (product)"] = times["roster+plan (product)"]
        result["rss_after_plan_mb"] = rss_now_mb()
        runner = run_polars if args.child == "polars" else run_duckdb
        marks["t"] = time.perf_counter()
        info = runner(prep, records, out, args.max_evidence, mark)
        stages["plan->columns (python)"] = times["plan->table (python columns)"]
        info["not_covered"] = prep.not_covered
    result.update(info)
    result["stages"] = stages
    result["rss"] = rss
    result["wall"] = time.perf_counter() - start
    result["engine_wall"] = sum(v for k, v in stages.items() if k in ENGINE_STAGES)
    result["peak_mb"] = peak_mb()
    print(RESULT + json.dumps(result), flush=True)
    return 0


def roster_file(data: Path) -> Path:
    for name in ("roster.json", "roster.yaml", "roster.yml"):
        if (data / name).is_file():
            return data / name
    raise SystemExit(f"{data}: 没有名册 no roster.json / roster.yaml")


# ---------------------------------------------------------------- parent


def measure(engine: str, args: argparse.Namespace, out_file: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        str(args.data),
        "--child",
        engine,
        "--out-file",
        str(out_file),
        "--rules",
        args.rules,
        "--period",
        args.period,
        "--as-of",
        args.as_of,
        "--max-evidence",
        str(args.max_evidence),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT):
            return dict(json.loads(line[len(RESULT) :]))
    raise SystemExit(f"{engine} 子进程失败 child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def load_tallies(path: Path) -> dict[tuple[str, ...], tuple[int, list[str]]]:
    """Tallies keyed like the product's findings: org, rule, subject, second, portfolio, trigger, start."""
    out: dict[tuple[str, ...], tuple[int, list[str]]] = {}
    with path.open("rb") as fh:
        for line in fh:
            row = json.loads(line)
            key = tuple(row[k] or "" for k in ("org", "rule_id", "subject", "second", "portfolio", "trigger", "start"))
            out[key] = (int(row["count"]), list(row["evidence"] or []))
    return out


def product_tallies(
    args: argparse.Namespace,
) -> tuple[dict[tuple[str, ...], tuple[int, list[str]]], dict[str, int], int]:
    import rules_engine

    data = Path(args.data)
    report = rules_engine.evaluate(
        rules_engine.load_rules(args.rules),
        roster_file(data),
        data / "records.jsonl",
        period=args.period,
        as_of=args.as_of,
        max_evidence=args.max_evidence,
    )
    escalations = {r.rule.id for p in rules_engine.load_rules(args.rules).packs for r in p.rules if r.rule.escalate}
    out: dict[tuple[str, ...], tuple[int, list[str]]] = {}
    skipped = 0
    for f in report.findings:
        if f.rule_id in escalations:
            skipped += 1
            continue
        s = f.subject
        key = (
            f.organisation.id,
            f.rule_id,
            s.id,
            s.second.id if s.second else "",
            s.portfolio or "",
            s.record or "",
            f.period.start.isoformat(),
        )
        out[key] = (f.count, list(f.evidence))
    src = next(s for s in report.input.sources if s.kind == "records")
    acc = {"read": src.read, "used": src.used, "rejected": src.rejected, "excluded": src.excluded}
    return out, acc, skipped


def compare(
    name: str, mine: dict[tuple[str, ...], tuple[int, list[str]]], ref: dict[tuple[str, ...], tuple[int, list[str]]]
) -> list[str]:
    problems: list[str] = []
    matched = 0
    for key, (count, evidence) in ref.items():
        got = mine.get(key)
        if got is None:
            problems.append(f"  missing {key}: the product has count {count}")
        elif got[0] != count:
            problems.append(f"  {key}: count {got[0]}, product {count}")
        elif got[1] != evidence:
            problems.append(f"  {key}: evidence {got[1][:5]}..., product {evidence[:5]}...")
        else:
            matched += 1
    extra = [k for k in mine if k not in ref]
    for key in extra[:20]:
        problems.append(f"  extra {key}: not among the product's findings")
    print(
        f"{name}: {matched:,} of {len(ref):,} obligations match the product (count and evidence); "
        f"{len(problems)} mismatches, {len(extra)} extra"
    )
    for line in problems[:30]:
        print(line)
    return problems


def fmt(v: float) -> str:
    return f"{v:.2f}"


def report_table(best: dict[str, dict[str, Any]], runs: dict[str, list[dict[str, Any]]]) -> None:
    engines = [e for e in ENGINES if e in best]
    if engines:
        print(
            "\nstage (s, best run of each engine by engine wall)        "
            + "".join(f"{e:>12}" for e in engines)
            + ("   duckdb/polars" if len(engines) == 2 else "")
        )
        for stage in STAGES:
            vals = [best[e]["stages"].get(stage, float("nan")) for e in engines]
            ratio = f"{vals[1] / vals[0]:>16.2f}" if len(vals) == 2 and vals[0] else ""
            print(f"{stage:<56}" + "".join(f"{v:>12.2f}" for v in vals) + ratio)
        print(
            "RSS MB at the end of each engine stage: "
            + "; ".join(f"{e} " + ", ".join(f"{k} {v:.0f}" for k, v in best[e]["rss"].items()) for e in engines)
        )
        rows = [
            ("engine wall (plan->table .. write)", "engine_wall"),
            ("child wall (with roster+plan)", "wall"),
            ("peak RSS MB", "peak_mb"),
            ("RSS after roster+plan MB", "rss_after_plan_mb"),
        ]
        for label, key in rows:
            vals = [float(best[e][key]) for e in engines]
            ratio = f"{vals[1] / vals[0]:>16.2f}" if len(vals) == 2 and vals[0] else ""
            print(f"{label:<56}" + "".join(f"{v:>12.2f}" for v in vals) + ratio)
        for e in engines:
            walls = sorted(r["engine_wall"] for r in runs[e])
            peaks = sorted(r["peak_mb"] for r in runs[e])
            print(
                f"{e} {best[e]['version']}: engine wall over {len(walls)} runs {fmt(walls[0])}-{fmt(walls[-1])} s, "
                f"peak {peaks[0]:.0f}-{peaks[-1]:.0f} MB; {best[e]['obligations']:,} obligations "
                f"({best[e]['trigger_obligations']:,} from triggers), {best[e]['matches']:,} matches, "
                f"{best[e]['absent']:,} without any record; account {best[e]['account']}"
            )
    if "baseline" in best:
        b = best["baseline"]
        walls = sorted(r["wall"] for r in runs["baseline"])
        print(
            f"\nbaseline (plain polars: read, validate dates, group, write): read {fmt(b['stages']['read'])}, "
            f"group {fmt(b['stages']['aggregate'])}, write {fmt(b['stages']['write'])}, wall {fmt(b['wall'])} s "
            f"(runs {fmt(walls[0])}-{fmt(walls[-1])}), peak {b['peak_mb']:.0f} MB, {b['groups']:,} groups"
        )
        for e in engines:
            print(
                f"{e} / baseline: engine wall {best[e]['engine_wall'] / b['wall']:.2f}, "
                f"with roster+plan {best[e]['wall'] / b['wall']:.2f}, peak RSS {best[e]['peak_mb'] / b['peak_mb']:.2f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", help="folder made by benchmarks/synth.py (roster.json or roster.yaml, records.jsonl)")
    parser.add_argument("--engines", default="polars,duckdb", help="comma-separated: polars, duckdb (default both)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; the fastest is reported (default 1)")
    parser.add_argument(
        "--baseline", action="store_true", help="also run the plain polars read/validate/group/write script"
    )
    parser.add_argument("--check", action="store_true", help="compare with rules_engine.evaluate (use a small size)")
    parser.add_argument("--out", default=None, help="folder for the tallies (default out/columnar/<data folder name>)")
    parser.add_argument("--rules", default=str(ROOT / "rules"))
    parser.add_argument("--period", default="2024")
    parser.add_argument("--as-of", default="2025-01-15")
    parser.add_argument("--max-evidence", type=int, default=20)
    parser.add_argument("--json", default=None, help="write the raw results of every run to this file")
    parser.add_argument("--child", choices=[*ENGINES, "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--out-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    wanted = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in wanted:
        if e not in ENGINES:
            parser.error(f"unknown engine {e!r} (polars, duckdb)")
    engines = []
    for e in wanted:
        if importlib.util.find_spec(e) is None:
            print(f"{e} 未安装，跳过 is not installed: skipped ({INSTALL_HINT[e]})")
        else:
            engines.append(e)
    if args.baseline and importlib.util.find_spec("polars") is None:
        print(f"polars 未安装 is not installed: no baseline ({INSTALL_HINT['polars']})")
        args.baseline = False
    if not engines and not args.baseline:
        print("没有可用的引擎 no engine to run")
        return 2
    out_dir = Path(args.out) if args.out else ROOT / "out" / "columnar" / Path(args.data).name
    out_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"data {args.data}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
        f"each engine in its own child process, {args.repeat} run(s) each, in turn"
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    order = engines + (["baseline"] if args.baseline else [])
    for i in range(args.repeat):
        for e in order:
            r = measure(e, args, out_dir / f"{e}.ndjson")
            runs.setdefault(e, []).append(r)
            print(
                f"run {i + 1} {e}: wall {fmt(r['wall'])} s"
                + (f" (engine {fmt(r['engine_wall'])} s)" if e != "baseline" else "")
                + f", peak {r['peak_mb']:.0f} MB, load {os.getloadavg()[0]:.2f}"
            )
    best = {e: min(rs, key=lambda r: r["engine_wall"] if e != "baseline" else r["wall"]) for e, rs in runs.items()}
    report_table(best, runs)
    if engines:
        print("not covered: " + "; ".join(best[engines[0]]["not_covered"]))
    status = 0
    if len(engines) == 2:
        a, b = (load_tallies(out_dir / f"{e}.ndjson") for e in engines)
        same = a == b
        print(
            f"\npolars and DuckDB tallies identical: {'yes' if same else 'NO'} ({len(a):,} and {len(b):,} obligations)"
        )
        if not same:
            status = 1
    if args.check and engines:
        print("\nchecking against rules_engine.evaluate ...")
        ref, acc, skipped = product_tallies(args)
        print(
            f"product: {len(ref):,} record-counting findings ({skipped:,} escalation findings not covered); "
            f"account {acc}"
        )
        for e in engines:
            mine_acc = {k: best[e]["account"][k] for k in acc}
            print(f"{e} account {'matches' if mine_acc == acc else 'DIFFERS: ' + str(mine_acc)}")
            if compare(e, load_tallies(out_dir / f"{e}.ndjson"), ref) or mine_acc != acc:
                status = 1
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
