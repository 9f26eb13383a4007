"""The pipeline behind :func:`rules_engine.evaluate`: plan -> intake -> tally -> waive -> decide -> escalate,
and the run's header (summary, input account, receipt) that every report format writes.

Each stage lives in its own module (plan.py, intake.py, tally.py, waive.py, engine/, escalation.py,
findings.py, render/); this module only wires them and owns the run's arguments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from . import __version__, escalation
from .atomic import files_under
from .compile import ESCALATION_FIELDS, OBLIGATION_FIELDS, CompiledRules, Decision, compile_rules
from .engine.decide import Decider, tables
from .errors import InputError
from .finding_lines import SEPARATOR, LineMaker
from .findings import finding_dict
from .guard import check_data, check_max_evidence, check_path, shown
from .intake import Intake, RecordsInput, record_paths, record_span
from .ledger import Ledger, decide_rows, fact_frame
from .load.inputs import BadRow, RosterResult, file_digest, read_roster, roster_from_data
from .load.rules import RulePack, RuleSet, load_rules
from .load.waivers import LoadedWaiver, load_waivers
from .model.findings import Finding, FindingModels, Status
from .model.roster import Roster
from .model.vocab import Vocabulary
from .periods import Period, check_range, parse_period
from .plan import Obligation, RosterIndex, plan_table
from .tally import Counter, Tallied
from .trace import NullTracer, Tracer

if TYPE_CHECKING:
    from .render.json import FileBlock

RulesInput = CompiledRules | RuleSet | str | Path
RosterInput = Roster | RosterResult | Mapping[str, Any] | str | Path
NULL_TRACER = NullTracer()


@dataclass
class Run:
    compiled: CompiledRules
    period: Period
    as_of: dt.date
    roster: RosterResult
    accounts: dict[str, list[int]]
    rejections: list[BadRow]
    excluded: list[BadRow]
    ledger: Ledger | None  # the obligations and their decisions (None: a run of workers, see workers.ShardedRun)
    max_evidence: int
    waivers: list[LoadedWaiver]
    warnings: list[BadRow]
    tallied: Tallied | None = None  # the tally's evidence and rejected candidates, as columns

    def input_files(self) -> list[str]:
        """Every file this run read: roster, records, waivers, and the files of its rule packs."""
        waivers = {w.source.rsplit(":", 1)[0] for w in self.waivers}
        packs = files_under(p.root for p in self.compiled.ruleset.packs)
        return [self.roster.source, *self.accounts, *sorted(waivers), *packs]

    def decided(self, filled: bool = True) -> Iterator[tuple[Obligation, Decision]]:
        """Each obligation with its decision, in report order. `filled`: with the evidence ids and the rejected
        candidates on the obligations (the JSON writers read them as columns instead: ``self.tallied``)."""
        if filled and self.tallied is not None:
            self.tallied.fill()
        if self.ledger is not None:
            yield from self.ledger.decided()

    def summary(self) -> dict[str, int]:
        """The number of findings per status (every status, in the order of :class:`Status`)."""
        summary = {status.value: 0 for status in Status}
        if self.ledger is not None:
            for status, n in self.ledger.summary().items():
                summary[status] += n
        return summary

    def finding_models(self, keep: Collection[Status] | None = None) -> Iterator[Finding]:
        """The findings as models, in report order (only those with a status in `keep`, when given)."""
        made = FindingModels()
        for ob, d in self.decided():
            if keep is None or d.status in keep:
                yield made(finding_dict(ob, d.status, d.waives))

    def json_findings(
        self, report_format: str, keys: Mapping[int, str], sep: str = SEPARATOR
    ) -> Iterator[bytes | FileBlock]:
        """The findings as the JSON writer takes them (:func:`rules_engine.render.json.write_json_lines`): compact
        JSON lines in report order, a block at a time, each block's lines joined by `sep` (by default the
        separator between findings in a report), in the v1 layout or (`report_format` ``v2``) the v2 layout,
        whose rule entries are named by `keys` (``id(rule)`` -> key, from
        :func:`rules_engine.findings.rule_table`). Made from columns (:class:`rules_engine.finding_lines.LineMaker`),
        the tally's evidence and rejected candidates read as columns (``self.tallied``) unless already on the
        obligations; the bytes ``orjson.dumps(finding_dict(...))`` gives."""
        return LineMaker(keys if report_format == "v2" else None, self.tallied).ledger_blocks(self._ledger(), sep)

    def cell_frames(self) -> Iterator[pl.DataFrame]:
        """The findings' CSV and Parquet cells (:data:`rules_engine.render.csv.COLUMNS`, not neutralised), in
        report order, a frame per chunk of findings: the cells ``finding_cells`` gives for their models, made from
        columns (:meth:`rules_engine.finding_lines.LineMaker.ledger_cells`)."""
        return LineMaker(None, self.tallied).ledger_cells(self._ledger())

    def _ledger(self) -> Ledger:
        if self.ledger is None:  # (a run of workers reads its spool files instead: see workers.ShardedRun)
            raise RuntimeError("a run of workers holds no ledger")
        return self.ledger

    def close(self) -> None:
        """Release what the run holds outside memory (nothing here; a run of workers has spool files)."""

    def header(self) -> dict[str, Any]:
        summary = self.summary()
        roster = self.roster
        sources = [
            {
                "source": roster.source,
                "kind": "roster",
                "read": roster.read,
                "used": roster.used,
                "rejected": roster.rejected_units,
                "excluded": 0,
            }
        ]
        sources += [
            {"source": s, "kind": "records", "read": a[0], "used": a[1], "rejected": a[2], "excluded": a[3]}
            for s, a in self.accounts.items()
        ]
        return {
            "format": "rules-engine/report/v1",
            "period": self.period.to_dict(),
            "as_of": self.as_of.isoformat(),
            "summary": summary,
            "rules": [
                {
                    "id": p.id,
                    "version": p.manifest.pack.version,
                    "sha256": p.sha256,
                    "rules": [r.rule.id for r in p.rules],
                }
                for p in self.compiled.ruleset.packs
            ],
            "input": {
                "sources": sources,
                "rejections": [_rejection(r) for r in self.rejections],
                "excluded": [_rejection(r) for r in self.excluded],
                "warnings": [_rejection(r) for r in self.warnings],
            },
            "receipt": {
                "library": "duty-rules-engine",
                "version": __version__,
                "period": self.period.label,
                "as_of": self.as_of.isoformat(),
                "packs": [pack_receipt(p) for p in self.compiled.ruleset.packs],
                "params": self.compiled.overrides,
                "max_evidence": self.max_evidence,
                "waivers": [
                    {"source": source, "sha256": sha}
                    for source, sha in sorted({w.source.rsplit(":", 1)[0]: w.sha256 for w in self.waivers}.items())
                ],
                "inputs": [file_digest(self.roster.source, "roster")]
                + [file_digest(source, "records") for source in self.accounts],
            },
        }


def pack_receipt(pack: RulePack) -> dict[str, str]:
    """A pack as the receipt names it: id, version and content hash (what ``verify`` must find again), and
    where it came from, for information only. A folder's path is not recorded: it depends on the working
    folder (and on the machine), and ``verify`` finds packs by id and hash."""
    origin = getattr(pack, "origin", "") or ""
    if not origin or origin == pack.root:  # a folder named by path
        origin = "folder"
    return {"id": pack.id, "version": pack.manifest.pack.version, "sha256": pack.sha256, "origin": origin}


def prepare(
    rules: RulesInput,
    roster: RosterInput,
    records: RecordsInput,
    period: str | Period,
    as_of: dt.date | str | None,
    params: Mapping[str, Mapping[str, Any]] | None,
    max_evidence: int,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver] = (),
    tracer: Tracer = NULL_TRACER,
    workers: int | None = 1,
    shape: str = "v1",
    cluster: object | None = None,
    dataset: str | None = None,
) -> Run:
    """Load, plan, count in one streaming pass, then decide on durable_rules (each distinct decision fact
    once), then escalate layer by layer (decided on durable_rules too). Each stage is reported to `tracer`
    (see :mod:`rules_engine.trace`). With more than one worker (`workers`; None: chosen by
    :func:`rules_engine.workers.worker_count`), the organisations are split over worker processes after the
    roster is read; `shape` is the layout their findings are written in: JSON ``v1`` or ``v2``, or ``cells`` (the
    CSV and Parquet cells). With a `cluster` (see :mod:`rules_engine.cluster`), the organisations are split into
    partitions evaluated on it instead (`workers` is not used); `dataset`: a folder the workers (local or the
    cluster's) write the parts of a Parquet dataset to (:mod:`rules_engine.dataset`; the run's ``parts`` then lists
    them; in one process the caller writes them)."""
    check_arguments(roster, records, params, max_evidence, waivers)
    if cluster is not None:
        from .cluster import check_cluster

        check_cluster(cluster)
    with tracer.stage("rules") as stage:
        compiled = compiled_rules(rules, params)
        stage.count(packs=len(compiled.ruleset.packs), rules=len({r.rule.id for r in compiled.rules}))
    if not isinstance(period, (str, Period)):
        raise InputError.of("arg.period.type", type=type(period).__name__)
    the_period = parse_period(period) if isinstance(period, str) else check_range(period)
    day = as_of_date(as_of)
    from .workers import prepare_sharded, start_early, worker_count  # (it imports this module)

    # (local workers, when they will most likely be used: started while it reads the roster)
    pool = None if cluster is not None else start_early(workers, roster, tracer)
    try:
        with tracer.stage("roster") as stage:
            vocabulary = compiled.ruleset.vocabulary
            the_roster = roster_result(roster, vocabulary)
            index = RosterIndex(the_roster.roster, vocabulary)
            stage.count(read=the_roster.read, used=the_roster.used, rejected=the_roster.rejected_units)
        if cluster is not None:  # the organisations split into partitions evaluated on a Dask cluster
            from .cluster import prepare_on_cluster

            return prepare_on_cluster(
                cluster,
                compiled,
                the_roster,
                index,
                records,
                the_period,
                day,
                waivers,
                max_evidence,
                shape,
                tracer,
                dataset,
            )
        count = worker_count(workers, len(index.orgs))
        if dataset:  # (a dataset's parts are written by a worker each, at most)
            from .dataset import part_count

            count = min(count, part_count(len(index.orgs)))
        if count > 1:  # the organisations split over worker processes
            return prepare_sharded(
                compiled,
                the_roster,
                index,
                records,
                the_period,
                day,
                waivers,
                max_evidence,
                count,
                shape,
                tracer,
                pool,
                dataset,
            )
    except BaseException:
        if pool is not None:
            pool.stop()
        raise
    if pool is not None:  # (not needed after all)
        pool.stop()
    with tracer.stage("plan") as stage:
        ledger = Ledger(plan_table(compiled, index, the_period))
        stage.count(obligations=len(ledger))
    with tracer.stage("intake") as stage:  # the tally is counted while the records are read
        with tracer.stage("index"):
            counter = Counter(compiled, index, the_period, ledger, max_evidence)
            intake = Intake(compiled, index, counter, record_span(compiled, the_period), day)
        with tracer.stage("read"):
            intake.read(records)
        accounts, warnings = intake.accounts, intake.warnings
        stage.count(**_account_counts(accounts))
    rejections: list[BadRow] = list(the_roster.rejected) + intake.rejections
    loaded_waivers = conclude(compiled, index, the_period, day, ledger, counter, waivers, max_evidence, tracer)
    warnings += unused_waivers(loaded_waivers, ledger.used_waivers())
    return Run(
        compiled,
        the_period,
        day,
        the_roster,
        accounts,
        rejections,
        intake.excluded,
        ledger,
        max_evidence,
        loaded_waivers,
        warnings,
        counter.tallied,
    )


def conclude(
    compiled: CompiledRules,
    index: RosterIndex,
    period: Period,
    day: dt.date,
    ledger: Ledger,
    counter: Counter,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver],
    max_evidence: int,
    tracer: Tracer,
) -> list[LoadedWaiver]:
    """After the records are counted: trigger follow-ups and taints, waivers, report order, the decisions
    (durable_rules) and the escalations, layer by layer, all on the rows of `ledger`. Returns the waivers loaded.
    The same for a whole run and for a worker's share of the organisations (see :mod:`rules_engine.workers`); a
    spilled one's a group of organisation ranges at a time (:mod:`rules_engine.rangewise`)."""
    tally(counter, tracer)
    loaded_waivers = load_all_waivers(compiled, waivers)
    with Deciders(compiled) as deciders:
        settle(compiled, index, period, day, ledger, loaded_waivers, max_evidence, tracer, deciders)
    return loaded_waivers


def tally(counter: Counter, tracer: Tracer, ranges: Collection[int] | None = None) -> None:
    """The ``triggers`` stage: the records counted for the obligations of `counter`'s ledger (of the spilled
    `ranges` only, when given), the follow-ups their trigger records start, and the taints of the rejected rows."""
    with tracer.stage("triggers") as stage:
        stage.count(obligations=counter.finish() if ranges is None else counter.finish(ranges))
        counter.attach_taints()


def load_all_waivers(
    compiled: CompiledRules, waivers: Sequence[str | Path] | Sequence[LoadedWaiver]
) -> list[LoadedWaiver]:
    """The waivers given, those named by file loaded (checked against the rules' ids)."""
    loaded_waivers = [w for w in waivers if isinstance(w, LoadedWaiver)]
    files = [w for w in waivers if not isinstance(w, LoadedWaiver)]
    if files:
        loaded_waivers += load_waivers(files, [r.rule.id for r in compiled.rules])
    return loaded_waivers


class Deciders:
    """The decide stage's and the escalate stage's deciders of a run (durable_rules rulesets), opened once and
    used for every part of it (:func:`settle`); the escalation's only if asked for. A context manager."""

    def __init__(self, compiled: CompiledRules) -> None:
        self.base_table, self.escalation_table = tables(compiled)
        self.base = Decider(self.base_table, OBLIGATION_FIELDS)
        self._escalation: Decider | None = None

    @property
    def escalation(self) -> Decider:
        if self._escalation is None:
            self._escalation = Decider(self.escalation_table, ESCALATION_FIELDS)
        return self._escalation

    def __enter__(self) -> Deciders:
        return self

    def __exit__(self, *_: object) -> None:
        self.base.close()
        if self._escalation is not None:
            self._escalation.close()


def settle(
    compiled: CompiledRules,
    index: RosterIndex,
    period: Period,
    day: dt.date,
    ledger: Ledger,
    loaded_waivers: Sequence[LoadedWaiver],
    max_evidence: int,
    tracer: Tracer,
    deciders: Deciders,
) -> None:
    """After the tally of the rows of `ledger`: waivers, report order, the decisions and the escalations, layer by
    layer (escalation reads the findings of one organisation only: a part of a run's organisations is settled
    alone as the whole would settle it)."""
    with tracer.stage("waivers") as stage:
        ledger.apply_waivers(loaded_waivers, day)
        stage.count(waivers=len(loaded_waivers))
    escalation_layers = escalation.layers(compiled)
    with tracer.stage("group") as stage:
        if not escalation_layers:  # (else once their rows are added, below)
            ledger.order()
        stage.count(organisations=ledger.table.get_column("org").n_unique())
    with tracer.stage("decide") as stage:
        decide = deciders.base.decide
        ledger.set_decisions(decide_rows(fact_frame(ledger.table, day, ledger.periods.items), decide))
        if escalation_layers:
            with tracer.stage("escalate") as raising:
                decide = deciders.escalation.decide
                for number, layer in enumerate(escalation_layers, 1):  # findings are facts for the rules that read them
                    raised = escalation.plan_layer(layer, ledger, index, period, compiled, max_evidence)
                    start = len(ledger)
                    ledger.add_rows(raised, number)
                    ledger.apply_waivers(loaded_waivers, day, number)
                    facts = escalation.fact_frame(raised, ledger.table.slice(start))
                    ledger.set_decisions(decide_rows(facts, decide), start)
                    raising.count(escalations=raised.height)
            ledger.order()
        stage.count(facts=len(ledger))


def unused_waivers(loaded_waivers: Sequence[LoadedWaiver], used: Collection[str]) -> list[BadRow]:
    """A warning for each waiver (of `loaded_waivers`, in their order) whose id is not in `used`: a waiver that
    covers nothing is most likely mistyped."""
    warnings = []
    for loaded in loaded_waivers:
        if loaded.waiver.id not in used:
            source, _, line = loaded.source.rpartition(":")
            w = loaded.waiver
            warnings.append(
                BadRow.at(
                    "row.waiver.unmatched",
                    source,
                    int(line or 0),
                    "rule",
                    w.rule,
                    {"waiver": w.id},
                    record_id=w.id,
                    org=w.org,
                    taints=False,
                )
            )
    return warnings


def compiled_rules(rules: RulesInput, params: Mapping[str, Mapping[str, Any]] | None) -> CompiledRules:
    if isinstance(rules, CompiledRules):
        if params:  # on top of the overrides it was compiled with
            merged = {k: dict(v) for k, v in rules.overrides.items()}
            for rule_id, values in params.items():
                merged.setdefault(rule_id, {}).update(values)
            return compile_rules(rules.ruleset, merged)
        return rules
    if isinstance(rules, RuleSet):
        return compile_rules(rules, params)
    return compile_rules(load_rules(rules), params)


def check_arguments(
    roster: RosterInput,
    records: RecordsInput,
    params: Mapping[str, Mapping[str, Any]] | None,
    max_evidence: int,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver],
) -> None:
    """What can be refused before anything is read: argument types and ranges, unencodable names, data
    nested too deep (see :mod:`rules_engine.guard`)."""
    check_max_evidence(max_evidence)
    if params is not None:
        if not isinstance(params, Mapping) or not all(isinstance(v, Mapping) for v in params.values()):
            raise InputError.of("arg.params.shape")
        check_data(params, "参数")
    if isinstance(roster, (str, Path)):
        check_path(roster, "名册")
    elif isinstance(roster, Mapping):
        check_data(roster, "名册")
    elif not isinstance(roster, (Roster, RosterResult)):
        raise InputError.of("arg.roster.type", type=type(roster).__name__)
    if isinstance(records, bytes) or not isinstance(records, (str, Path, Iterable)):
        raise InputError.of("arg.records.type", type=type(records).__name__)
    for path in record_paths(records):
        check_path(path, "记录")
    if isinstance(waivers, (str, Path)):
        raise InputError.of("arg.waivers.type")
    for waiver in waivers:
        if isinstance(waiver, (str, Path)):
            check_path(waiver, "豁免")


def as_of_date(value: dt.date | str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (ValueError, TypeError):
        raise InputError.of("arg.as_of.invalid", value=shown(value)) from None


def roster_result(roster: RosterInput, vocabulary: Vocabulary | None = None) -> RosterResult:
    """The roster given as a result, a model, a dict or a file; a dict or a file read with `vocabulary` (the
    loaded packs'; by default the standard one)."""
    if isinstance(roster, RosterResult):
        return roster
    if isinstance(roster, Roster):
        units = len(roster.organisations) + sum(max(1, len(p.posts)) for p in roster.people)
        return RosterResult(roster, [], units, "<roster>")
    if isinstance(roster, Mapping):
        return roster_from_data(roster, vocabulary=vocabulary)
    return read_roster(roster, vocabulary)


def _account_counts(accounts: Mapping[str, list[int]]) -> dict[str, int]:
    """The records' input account summed over the sources, as a stage's counts."""
    names = ("records_read", "records_used", "records_rejected", "records_excluded")
    return {name: sum(a[i] for a in accounts.values()) for i, name in enumerate(names)}


def _rejection(row: BadRow) -> dict[str, Any]:
    return row.to_rejection()
