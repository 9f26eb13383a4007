"""The pipeline in one call: records -> obligations and counts -> decisions on durable_rules -> findings.

``evaluate(rules, roster, records, period=..., as_of=...)`` returns a :class:`Report`;
``evaluate_to(out, ...)`` streams the same JSON document to a file without holding the findings.
The evaluation date (``as_of``) decides which windows are over; nothing reads the wall clock except
the default ``as_of`` (today), which the report records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .atomic import atomic_write
from .errors import InputError
from .findings import rule_table
from .gcpause import paused_gc
from .intake import RecordsInput
from .load.waivers import LoadedWaiver
from .model.findings import Report, Status
from .model.layout import layout_format
from .outcome import Summary
from .periods import Period
from .pipeline import NULL_TRACER, RosterInput, RulesInput, Run, prepare
from .render.csv import write_csv_frames
from .render.frames import require_parquet, write_parquet_frames
from .render.json import write_json_lines
from .tally import MAX_EVIDENCE
from .trace import Tracer

__all__ = ["RecordsInput", "RosterInput", "RulesInput", "evaluate", "evaluate_to"]


def evaluate(
    rules: RulesInput,
    roster: RosterInput,
    records: RecordsInput,
    *,
    period: str | Period,
    as_of: dt.date | str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    max_evidence: int = MAX_EVIDENCE,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver] = (),
    statuses: Collection[Status | str] | None = None,
    tracer: Tracer = NULL_TRACER,
    workers: int | None = 1,
    cluster: object | None = None,
) -> Report:
    """Evaluate every rule for every subject and window of `period` and return the report.

    - `rules`: from :func:`load_rules` (or a path to load), or already compiled.
    - `roster`: a :class:`Roster`, a dict of the same shape, or a YAML/JSON file.
    - `records`: record files (``.jsonl``, ``.csv``, ``.json``) or an iterable of records / dicts; files and
      :class:`RecordSource` (records in memory under a name, e.g. the findings store's) may be mixed.
    - `period`: ``2024``, ``2024-H1``, ``2024-Q3``, ``2024-05`` or ``2024-01-01..2024-06-30``.
    - `as_of`: the evaluation date; a window is over when `as_of` is after its last day, and
      ``pending`` until then. Defaults to today.
    - `params`: parameter overrides per rule id, e.g. ``{"ZZ-DW-01": {"at_least": 2}}``.
    - `max_evidence`: how many evidence ids a finding lists (its ``count`` has them all).
    - `waivers`: waiver files (YAML): a matching, unexpired waiver turns a finding into ``waived``.
    - `statuses`: keep only the findings with these statuses in ``report.findings`` (e.g. ``{"violated"}``
      for a host that acts on violations); ``report.summary`` still counts every finding. A finding model
      costs about 9 KB (the parts findings share, counted once): for a province, keep what you need, or stream
      with :func:`evaluate_to`.
    - `tracer`: told of each stage's start and end, with counts (a :class:`RecordingTracer` keeps them, with
      times and memory, for a table or JSON); by default nothing is recorded. See :mod:`rules_engine.trace`.
    - `workers`: worker processes the organisations are split over (the same report for any number); 1 (the
      default) evaluates in this process, ``None`` chooses: the machine's cores, but 1 for a small roster (see
      :mod:`rules_engine.workers`). Workers are started with ``spawn``: a script that evaluates with more than
      one must do so under ``if __name__ == "__main__":``.
    - `cluster`: evaluate on a Dask cluster instead (the same report): ``"local:N"`` (N worker processes on this
      machine), ``"dask://HOST:PORT"`` (a running scheduler) or a ``distributed.Client``; needs the ``dask`` extra.
      See :mod:`rules_engine.cluster` and docs/cluster.md.
    """
    keep = None if statuses is None else _statuses(statuses)
    with paused_gc(), tracer.stage("evaluate"):
        run = prepare(
            rules, roster, records, period, as_of, params, max_evidence, waivers, tracer, workers, cluster=cluster
        )
        try:
            with tracer.stage("receipt"):
                header = run.header()
            with tracer.stage("findings") as stage:
                findings = list(run.finding_models(keep))
                report = Report.model_validate({**header, "findings": findings})
                stage.count(findings=len(findings))
        finally:
            run.close()
        return report


def evaluate_to(
    out: str | Path | IO[bytes],
    rules: RulesInput,
    roster: RosterInput,
    records: RecordsInput,
    *,
    period: str | Period,
    as_of: dt.date | str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    max_evidence: int = MAX_EVIDENCE,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver] = (),
    format: str = "json",
    report_format: str = "v1",
    tracer: Tracer = NULL_TRACER,
    workers: int | None = 1,
    cluster: object | None = None,
    dataset: bool = False,
) -> Summary:
    """Like :func:`evaluate`, but write the report to `out` finding by finding (for large inputs:
    memory does not hold the findings). Returns the summary: a dict of the count per status, with the
    number of rejected and excluded input rows, and ``summary.exit_code()`` for a CI gate. `format`:
    ``json`` (bytes identical to ``render_json(evaluate(...))``), ``csv`` (identical to
    ``render_csv(evaluate(...))``), ``junit`` (identical to ``render_junit(evaluate(...))``; one
    organisation's findings are held at a time) or ``parquet`` (the CSV columns, in row groups; needs the
    ``parquet`` extra). `report_format`: the JSON layout, ``v1`` (each finding whole) or ``v2`` (each rule's
    parts once, in a ``rules`` table: for large runs; see docs/report-format.md). `tracer`: as for
    :func:`evaluate`; its ``findings`` stage includes the writing. `workers`: as for :func:`evaluate` (the
    bytes written are the same for any number); `cluster`: as for :func:`evaluate` (the same bytes too).
    `dataset` (with ``format="parquet"``): `out` is a folder, written as a Parquet dataset, one file per part of
    the organisations and a manifest, by the cluster's workers in parallel with a `cluster`
    (see :mod:`rules_engine.dataset`); the same files whatever the workers."""
    if format not in ("json", "csv", "junit", "parquet"):
        raise InputError.of("arg.format.unknown", format=format)
    layout_format(report_format)
    if format == "parquet":
        require_parquet()  # before anything is evaluated or written
    if dataset:
        if format != "parquet":
            raise InputError.of("arg.dataset.format", format=repr(format))
        if not isinstance(out, (str, Path)):
            raise InputError.of("arg.dataset.out", out=type(out).__name__)
        return _evaluate_dataset(
            out, rules, roster, records, period, as_of, params, max_evidence, waivers, tracer, workers, cluster
        )
    # writing too: millions of short-lived dicts would trigger full collections
    with paused_gc(), tracer.stage("evaluate"):
        shape = report_format if format == "json" else "cells" if format in ("csv", "parquet") else "v1"
        run = prepare(
            rules, roster, records, period, as_of, params, max_evidence, waivers, tracer, workers, shape, cluster
        )
        try:
            with tracer.stage("receipt"):
                header = run.header()
            with tracer.stage("findings") as stage:
                if isinstance(out, (str, Path)):  # whole or not at all; never over an input (OutputError)
                    with atomic_write(out, run.input_files()) as handle:
                        written = _written(run, header, handle, format, report_format)
                else:
                    written = _written(run, header, out, format, report_format)
                stage.count(findings=sum(header["summary"].values()), **written)
        finally:
            run.close()
    return Summary(header["summary"], len(header["input"]["rejections"]), len(header["input"]["excluded"]))


def _evaluate_dataset(
    out: str | Path,
    rules: RulesInput,
    roster: RosterInput,
    records: RecordsInput,
    period: str | Period,
    as_of: dt.date | str | None,
    params: Mapping[str, Mapping[str, Any]] | None,
    max_evidence: int,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver],
    tracer: Tracer,
    workers: int | None,
    cluster: object | None,
) -> Summary:
    """:func:`evaluate_to` of a Parquet dataset: the parts written by the cluster's workers (with a `cluster`) or
    here from the findings' cells, then the manifest, then the folder put in place."""
    from .dataset import DatasetFolder, part_count, write_parts
    from .plan import RosterIndex
    from .workers import split

    target = DatasetFolder(out)  # (an existing folder that is not a dataset: refused before anything is read)
    try:
        with paused_gc(), tracer.stage("evaluate"):
            run = prepare(
                rules,
                roster,
                records,
                period,
                as_of,
                params,
                max_evidence,
                waivers,
                tracer,
                workers,
                "cells",
                cluster,
                dataset=str(target.temp),
            )
            try:
                with tracer.stage("receipt"):
                    header = run.header()
                with tracer.stage("findings") as stage:
                    parts = getattr(run, "parts", None)
                    if parts is None:  # (one process, local workers: cut here, as the findings stream past)
                        index = RosterIndex(run.roster.roster, run.compiled.ruleset.vocabulary)
                        shares = split(index, part_count(len(index.orgs)))
                        parts = write_parts(target.temp, shares, run.cell_frames())
                    target.commit(parts, header, run.input_files())
                    stage.count(findings=sum(header["summary"].values()), parts=len(parts))
                    stage.count(bytes=sum(p.bytes for p in parts))
            finally:
                run.close()
    except BaseException:
        target.abandon()
        raise
    return Summary(header["summary"], len(header["input"]["rejections"]), len(header["input"]["excluded"]))


def _written(run: Run, header: dict[str, Any], out: IO[bytes], format: str, report_format: str) -> dict[str, int]:
    """Write the report; the bytes written as a stage count (none for a pipe or a terminal: they do not tell)."""
    start = _position(out)
    _write(run, header, out, format, report_format)
    end = _position(out) if start >= 0 else -1
    return {"bytes": end - start} if end >= start >= 0 else {}


def _position(out: IO[bytes]) -> int:
    try:
        return out.tell()
    except (OSError, ValueError, AttributeError):
        return -1


def _write(run: Run, header: dict[str, Any], out: IO[bytes], format: str, report_format: str) -> None:
    if format == "json" and report_format == "v2":
        table, keys = rule_table(run.compiled.rules)
        write_json_lines(header, run.json_findings("v2", keys), out, table)
        return
    if format == "json":
        write_json_lines(header, run.json_findings("v1", {}), out)
        return
    if format == "junit":
        from .render.junit import write_junit  # (its XML escaping imports urllib and ssl: only when asked for)

        write_junit(header, run.finding_models(), out)
    elif format == "parquet":
        write_parquet_frames(run.cell_frames(), out)
    else:
        write_csv_frames(run.cell_frames(), out)


def _statuses(statuses: Collection[Status | str]) -> set[Status]:
    try:
        return {Status(s) for s in statuses}
    except (ValueError, TypeError):
        choices = ", ".join(s.value for s in Status)
        raise InputError.of("arg.statuses.unknown", choices=choices) from None
