"""The pipeline in one call: records -> obligations and counts -> decisions on durable_rules -> findings.

``evaluate(rules, roster, records, period=..., as_of=...)`` returns a :class:`Report`;
``evaluate_to(out, ...)`` streams the same JSON document to a file without holding the findings.
The evaluation date (``as_of``) decides which windows are over; nothing reads the wall clock except
the default ``as_of`` (today), which the report records.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import gc
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import __version__, escalation
from .atomic import atomic_write, files_under
from .compile import CompiledRules, Decision, compile_rules
from .engine import Fact
from .engine._durable import DurableBackend
from .errors import InputError, did_you_mean
from .findings import finding_dict
from .guard import check_data, check_max_evidence, check_path, shown
from .load.dedup import SPILL_AT, SeenIds
from .load.inputs import (
    BadRow,
    Rec,
    RosterResult,
    file_digest,
    read_records,
    read_roster,
    records_from_objects,
    roster_from_data,
)
from .load.rules import RulePack, RuleSet, load_rules
from .load.waivers import LoadedWaiver, load_waivers
from .model.findings import Finding, Report, Status
from .model.records import ActivityRecord
from .model.roster import Roster
from .obligations import MAX_EVIDENCE, Counter, Obligation, RosterIndex, apply_waivers, plan
from .outcome import Summary
from .periods import Period, check_range, parse_period
from .render.csv import write_csv_bytes
from .render.json import write_json
from .render.junit import write_junit

RulesInput = CompiledRules | RuleSet | str | Path
RosterInput = Roster | RosterResult | Mapping[str, Any] | str | Path
RecordsInput = str | Path | Sequence[str | Path] | Iterable[ActivityRecord | Mapping[str, Any]]


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
) -> Report:
    """Evaluate every rule for every subject and window of `period` and return the report.

    - `rules`: from :func:`load_rules` (or a path to load), or already compiled.
    - `roster`: a :class:`Roster`, a dict of the same shape, or a YAML/JSON file.
    - `records`: record files (``.jsonl``, ``.csv``, ``.json``) or an iterable of records / dicts.
    - `period`: ``2024``, ``2024-H1``, ``2024-Q3``, ``2024-05`` or ``2024-01-01..2024-06-30``.
    - `as_of`: the evaluation date; a window is over when `as_of` is after its last day, and
      ``pending`` until then. Defaults to today.
    - `params`: parameter overrides per rule id, e.g. ``{"ZZ-DW-01": {"at_least": 2}}``.
    - `max_evidence`: how many evidence ids a finding lists (its ``count`` has them all).
    - `waivers`: waiver files (YAML): a matching, unexpired waiver turns a finding into ``waived``.
    - `statuses`: keep only the findings with these statuses in ``report.findings`` (e.g. ``{"violated"}``
      for a host that acts on violations); ``report.summary`` still counts every finding. A finding model
      costs about 13 KB: for a province, keep what you need, or stream with :func:`evaluate_to`.
    """
    keep = None if statuses is None else _statuses(statuses)
    with _paused_gc():
        run = _prepare(rules, roster, records, period, as_of, params, max_evidence, waivers)
        findings = [
            Finding.model_validate(finding_dict(ob, d.status, d.waives))
            for ob, d in run.decided()
            if keep is None or d.status in keep
        ]
        return Report.model_validate({**run.header(), "findings": findings})


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
) -> Summary:
    """Like :func:`evaluate`, but write the report to `out` finding by finding (for large inputs:
    memory does not hold the findings). Returns the summary: a dict of the count per status, with the
    number of rejected and excluded input rows, and ``summary.exit_code()`` for a CI gate. `format`:
    ``json`` (bytes identical to ``render_json(evaluate(...))``), ``csv`` (identical to
    ``render_csv(evaluate(...))``) or ``junit`` (identical to ``render_junit(evaluate(...))``; one
    organisation's findings are held at a time)."""
    if format not in ("json", "csv", "junit"):
        raise InputError(f"未知输出格式 unknown report format '{format}' (json, csv, junit)")
    with _paused_gc():  # writing too: millions of short-lived dicts would trigger full collections
        run = _prepare(rules, roster, records, period, as_of, params, max_evidence, waivers)
        header = run.header()
        if isinstance(out, (str, Path)):  # whole or not at all; never over an input (OutputError)
            with atomic_write(out, run.input_files()) as handle:
                _write(run, header, handle, format)
        else:
            _write(run, header, out, format)
    return Summary(header["summary"], len(header["input"]["rejections"]), len(header["input"]["excluded"]))


def _write(run: _Run, header: dict[str, Any], out: IO[bytes], format: str) -> None:
    if format == "json":
        write_json(header, (finding_dict(ob, d.status, d.waives, raw=True) for ob, d in run.decided()), out)
        return
    models = (Finding.model_validate(finding_dict(ob, d.status, d.waives)) for ob, d in run.decided())
    if format == "junit":
        write_junit(header, models, out)
        return
    write_csv_bytes(models, out)


@contextlib.contextmanager
def _paused_gc() -> Iterator[None]:
    """The evaluation allocates millions of small objects and no reference cycles: the cyclic garbage
    collector would rescan them again and again (superlinear time). Pause it, and restore its state."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Run:
    compiled: CompiledRules
    period: Period
    as_of: dt.date
    roster: RosterResult
    accounts: dict[str, list[int]]
    rejections: list[BadRow]
    excluded: list[BadRow]
    groups: list[list[Obligation]]
    statuses: list[list[Decision]]
    max_evidence: int
    waivers: list[LoadedWaiver]
    warnings: list[BadRow]

    def input_files(self) -> list[str]:
        """Every file this run read: roster, records, waivers, and the files of its rule packs."""
        waivers = {w.source.rsplit(":", 1)[0] for w in self.waivers}
        packs = files_under(p.root for p in self.compiled.ruleset.packs)
        return [self.roster.source, *self.accounts, *sorted(waivers), *packs]

    def decided(self) -> Iterator[tuple[Obligation, Decision]]:
        for group, statuses in zip(self.groups, self.statuses, strict=True):
            yield from zip(group, statuses, strict=True)

    def header(self) -> dict[str, Any]:
        summary = {status.value: 0 for status in Status}
        for statuses in self.statuses:
            for decision in statuses:
                summary[decision.status.value] += 1
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


def _prepare(
    rules: RulesInput,
    roster: RosterInput,
    records: RecordsInput,
    period: str | Period,
    as_of: dt.date | str | None,
    params: Mapping[str, Mapping[str, Any]] | None,
    max_evidence: int,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver] = (),
) -> _Run:
    """Load, plan, count in one streaming pass, then decide every partition on durable_rules."""
    _check_arguments(roster, records, params, max_evidence, waivers)
    compiled = _compiled(rules, params)
    if not isinstance(period, (str, Period)):
        raise InputError(f"期间应为文字或 Period period must be text or a Period, got {type(period).__name__}")
    the_period = parse_period(period) if isinstance(period, str) else check_range(period)
    day = _as_of(as_of)
    roster_result = _roster(roster)
    index = RosterIndex(roster_result.roster)

    obligations = plan(compiled, index, the_period)
    counter = Counter(compiled, index, the_period, obligations, max_evidence)
    intake = _Intake(compiled, index, counter, _span(compiled, the_period), day)
    for path in _paths(records):  # empty files are listed too
        intake.accounts[str(path)] = [0, 0, 0, 0]
    try:
        batch: list[tuple[str, Rec | BadRow]] = []
        for item in _rows(records):
            batch.append(item)
            if len(batch) >= _BATCH:
                intake.take(batch)
                batch = []
        intake.take(batch)
        intake.seen.finish()
    finally:
        intake.seen.close()
    accounts, warnings = intake.accounts, intake.warnings
    rejections: list[BadRow] = list(roster_result.rejected) + intake.rejections
    obligations.extend(counter.finish())
    counter.attach_taints(obligations)
    loaded_waivers = [w for w in waivers if isinstance(w, LoadedWaiver)]
    files = [w for w in waivers if not isinstance(w, LoadedWaiver)]
    if files:
        loaded_waivers += load_waivers(files, [r.rule.id for r in compiled.rules])
    apply_waivers(obligations, loaded_waivers, day)

    by_org: dict[str, list[Obligation]] = defaultdict(list)
    for ob in obligations:
        by_org[ob.org.id].append(ob)
    groups = [sorted(by_org[org_id], key=Obligation.sort_key) for org_id in sorted(by_org)]
    status_of = {d.name: d for d in compiled.decisions}
    backend = DurableBackend(compiled.decisions)
    statuses: list[list[Decision]] = []
    escalation_layers = escalation.layers(compiled)
    try:
        for group in groups:
            decided = backend.run([_fact(i, ob, day) for i, ob in enumerate(group)])
            decisions = [status_of[decided[f"o{i}"]] for i in range(len(group))]
            for layer in escalation_layers:  # findings are facts for the rules that read them
                raised = escalation.plan_escalations(
                    layer,
                    group[0].org.id,
                    index,
                    the_period,
                    list(zip(group, decisions, strict=True)),
                    compiled,
                    max_evidence,
                )
                raised.sort(key=Obligation.sort_key)
                apply_waivers(raised, loaded_waivers, day)
                decided = backend.run([_fact(i, ob, day) for i, ob in enumerate(raised)])
                group.extend(raised)
                decisions.extend(status_of[decided[f"o{i}"]] for i in range(len(raised)))
            statuses.append(decisions)
    finally:
        backend.close()
    used = {ob.waiver.waiver.id for group in groups for ob in group if ob.waiver is not None}
    for loaded in loaded_waivers:  # a waiver that covers nothing is most likely mistyped
        if loaded.waiver.id not in used:
            source, _, line = loaded.source.rpartition(":")
            w = loaded.waiver
            warnings.append(
                BadRow(
                    source,
                    int(line or 0),
                    "rule",
                    w.rule,
                    f"豁免 {w.id} 未匹配任何结论（请核对规则、组织、对象与期间）",
                    f"waiver {w.id} matched no finding (check its rule, organisation, subject and dates)",
                    w.id,
                    w.org,
                    None,
                    None,
                    taints=False,
                )
            )
    return _Run(
        compiled,
        the_period,
        day,
        roster_result,
        accounts,
        rejections,
        intake.excluded,
        groups,
        statuses,
        max_evidence,
        loaded_waivers,
        warnings,
    )


_DUPLICATE = "重复记录"

# Records are checked one by one in input order (duplicates, rejections and warnings keep that order), then
# counted in batches grouped by organisation: an organisation's obligations stay in the CPU caches while its
# records are counted (records usually come in date order, spread over every organisation: counted one by
# one, each touches a different organisation's data, which took twice as long at 10,000 organisations).
# Grouping keeps each organisation's records in input order, so every obligation sees its records in the
# same order as without batching.
_BATCH = 32768
_SPILL_AT = SPILL_AT  # record ids held in memory before the index of ids moves to disk


def _count(counter: Counter, batch: list[Rec]) -> None:
    by_org: dict[str, list[Rec]] = {}
    for rec in batch:
        group = by_org.get(rec.org)
        if group is None:
            by_org[rec.org] = [rec]
        else:
            group.append(rec)
    add = counter.add
    for group in by_org.values():
        for rec in group:
            add(rec)


def _compiled(rules: RulesInput, params: Mapping[str, Mapping[str, Any]] | None) -> CompiledRules:
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


def _check_arguments(
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
            raise InputError("params 应为 {规则编号: {参数: 值}} params must map rule ids to {name: value} mappings")
        check_data(params, "参数")
    if isinstance(roster, (str, Path)):
        check_path(roster, "名册")
    elif isinstance(roster, Mapping):
        check_data(roster, "名册")
    elif not isinstance(roster, (Roster, RosterResult)):
        raise InputError(
            f"名册应为文件、映射或 Roster roster must be a file, a mapping or a Roster, got {type(roster).__name__}"
        )
    if isinstance(records, bytes) or not isinstance(records, (str, Path, Iterable)):
        raise InputError(
            f"记录应为文件或记录列表 records must be files or an iterable of records, got {type(records).__name__}"
        )
    for path in _paths(records):
        check_path(path, "记录")
    if isinstance(waivers, (str, Path)):
        raise InputError('waivers 应为文件列表 waivers must be a list of files, e.g. ["waivers.yaml"]')
    for waiver in waivers:
        if isinstance(waiver, (str, Path)):
            check_path(waiver, "豁免")


def _statuses(statuses: Collection[Status | str]) -> set[Status]:
    try:
        return {Status(s) for s in statuses}
    except (ValueError, TypeError):
        choices = ", ".join(s.value for s in Status)
        raise InputError(f"未知状态 unknown status in statuses (choose from {choices})") from None


def _as_of(value: dt.date | str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (ValueError, TypeError):
        raise InputError(f"评价日期无效 invalid as-of date '{shown(value)}' (expected YYYY-MM-DD)") from None


def _roster(roster: RosterInput) -> RosterResult:
    if isinstance(roster, RosterResult):
        return roster
    if isinstance(roster, Roster):
        units = len(roster.organisations) + sum(max(1, len(p.posts)) for p in roster.people)
        return RosterResult(roster, [], units, "<roster>")
    if isinstance(roster, Mapping):
        return roster_from_data(roster)
    return read_roster(roster)


def _paths(records: RecordsInput) -> list[str | Path]:
    if isinstance(records, (str, Path)):
        return [records]
    if isinstance(records, Sequence) and records and all(isinstance(x, (str, Path)) for x in records):
        return [x for x in records if isinstance(x, (str, Path))]
    return []


def _rows(records: RecordsInput) -> Iterator[tuple[str, Rec | BadRow]]:
    if isinstance(records, (str, Path)):
        records = [records]
    items = list(records) if isinstance(records, Sequence) else None
    if items is not None and all(isinstance(x, (str, Path)) for x in items):
        for path in items:
            for row in read_records(path):
                yield str(path), row
        return
    for row in records_from_objects(items if items is not None else records):
        yield "<records>", row


def _span(compiled: CompiledRules, period: Period) -> tuple[dt.date, dt.date]:
    """The days any record can count for: every rule window that overlaps the period, and the follow-up
    days of triggers inside it. A record dated outside cannot evidence anything."""
    start, end = period.start, period.end
    for rule in compiled.rules:
        granularity = rule.params.period
        if granularity is not None:
            windows = period.windows(granularity)
            if windows:
                start, end = min(start, windows[0].start), max(end, windows[-1].end)
        if rule.params.within_days is not None:
            end = max(end, period.end + dt.timedelta(days=rule.params.within_days))
    return start, end


class _Intake:
    """Checks rows in input order (unknown organisation or type, dated after the evaluation date, duplicate id,
    date outside every window), accounts for each (read, used, rejected, excluded), then counts the used ones
    in a batch grouped by organisation.

    Rejected: rows with a data problem; they may have evidenced a duty, which then cannot be decided.
    Excluded: rows set aside without a data problem, which cannot change any finding (dated after the
    evaluation date, so not knowable then; an identical duplicate; dated outside every window)."""

    def __init__(
        self,
        compiled: CompiledRules,
        index: RosterIndex,
        counter: Counter,
        span: tuple[dt.date, dt.date],
        as_of: dt.date,
    ):
        self.index = index
        self.counter = counter
        self.known_types = compiled.ruleset.record_types()
        self.span = span
        self.as_of = as_of
        self.seen = SeenIds(_SPILL_AT)
        self.sources: dict[str, int] = {}  # source -> index, for the compact place of a first occurrence
        self.source_names: list[str] = []
        self.accounts: dict[str, list[int]] = {}
        self.rejections: list[BadRow] = []
        self.excluded: list[BadRow] = []
        self.warnings: list[BadRow] = []

    def take(self, batch: list[tuple[str, Rec | BadRow]]) -> None:
        rows: list[Rec | BadRow] = []
        keys: list[tuple[str, tuple[int, int]]] = []
        for _, row in batch:
            if isinstance(row, Rec):
                row = self._check_known(row)
                if isinstance(row, Rec) and row.date > self.as_of:
                    row = _later(row, self.as_of)  # before the duplicate check: it did not exist yet
                if isinstance(row, Rec):
                    keys.append((row.id, (_digest(row), self._place(row))))
            rows.append(row)
        earlier = iter(self.seen.check(keys))
        used: list[Rec] = []
        accounts = self.accounts
        for (source, _), row in zip(batch, rows, strict=True):
            account = accounts.get(source)
            if account is None:
                account = accounts[source] = [0, 0, 0, 0]
            account[0] += 1
            if isinstance(row, Rec):
                row = self._check_again(row, next(earlier))
            if isinstance(row, BadRow):
                if not row.taints:
                    account[3] += 1
                    self.excluded.append(row)
                    continue
                account[2] += 1
                self.rejections.append(row)
                if row.date is None or row.date <= self.as_of:  # a later row was not there to evidence anything
                    self.counter.add_bad(row)
                continue
            account[1] += 1
            people = self.index.people
            unknown = [p for p in row.participants if p not in people]  # (a set difference copies the keys)
            if unknown:  # used, but a misspelt id must not turn into a violation: see Counter._consider
                row.unknown = frozenset(unknown)
                self.warnings.append(_unknown_people(row, unknown))
            used.append(row)
        _count(self.counter, used)

    def _place(self, rec: Rec) -> int:
        number = self.sources.get(rec.source)
        if number is None:
            number = self.sources[rec.source] = len(self.source_names)
            self.source_names.append(rec.source)
        return (number << 32) | (rec.line & 0xFFFFFFFF)

    def _check_known(self, rec: Rec) -> Rec | BadRow:
        """Reject a record whose organisation or type is unknown (with a did-you-mean)."""
        orgs, known_types = self.index.orgs, self.known_types
        if rec.org not in orgs:
            zh, en = did_you_mean(rec.org, orgs, "zh"), did_you_mean(rec.org, orgs, "en")
            zh_text = f"未知组织 '{rec.org}'（名册中没有）{zh}"
            row = _bad(rec, "org", rec.org, zh_text, f"unknown organisation '{rec.org}' {en}".strip())
            # a close match names the organisation the row was probably meant for; otherwise it could be any
            close = difflib.get_close_matches(rec.org, list(orgs), n=1, cutoff=0.6)
            row.org = close[0] if close else None
            return row
        if rec.type not in known_types:
            zh, en = did_you_mean(rec.type, known_types, "zh"), did_you_mean(rec.type, known_types, "en")
            return _bad(
                rec,
                "type",
                rec.type,
                f"未知记录类型 '{rec.type}' {zh}".strip(),
                f"unknown record type '{rec.type}' {en}".strip(),
            )
        return rec

    def _check_again(self, rec: Rec, earlier: tuple[int, int] | None) -> Rec | BadRow:
        """Reject a duplicate id (`earlier`: the first occurrence), then a date outside every window."""
        if earlier is not None:
            digest, place = earlier
            line = f"{self.source_names[place >> 32]}:{place & 0xFFFFFFFF}"
            if digest == _digest(rec):
                zh, en = f"{_DUPLICATE}（与 {line} 相同，只计一次）", f"duplicate of {line} (identical, counted once)"
                duplicate = _bad(rec, "id", rec.id, zh, en)
                duplicate.taints = False
                return duplicate
            return _bad(
                rec,
                "id",
                rec.id,
                f"记录编号重复但内容不同（见 {line}），本行未采用",
                f"record id already used at {line} with different content; this row is not used",
            )
        start, end = self.span
        if not start <= rec.date <= end:
            row = _bad(
                rec,
                "date",
                rec.date.isoformat(),
                f"日期不在任何评价期间内（{start}..{end}）",
                f"date outside every period evaluated ({start}..{end})",
            )
            row.taints = False
            return row
        return rec


def _later(rec: Rec, as_of: dt.date) -> BadRow:
    row = _bad(
        rec,
        "date",
        rec.date.isoformat(),
        f"日期晚于评价日期 {as_of.isoformat()}，不作为证据",
        f"dated after the evaluation date {as_of.isoformat()}: not evidence",
    )
    row.taints = False
    return row


def _bad(rec: Rec, field: str, value: str, zh: str, en: str) -> BadRow:
    return BadRow(rec.source, rec.line, field, value, zh, en, rec.id, rec.org, rec.type, rec.date)


def _digest(rec: Rec) -> int:
    """A CRC of the record's content (not its id, source or line): tells an identical duplicate."""
    content = "\x1f".join(
        [
            rec.org,
            rec.type,
            rec.date.isoformat(),
            rec.chair or "",
            *sorted(rec.participants),
            "\x1e",
            rec.portfolio or "",
            *sorted(rec.tags),
        ]
    )
    return zlib.crc32(content.encode())


def _unknown_people(rec: Rec, unknown: list[str]) -> BadRow:
    names = ", ".join(sorted(unknown))
    return BadRow(
        rec.source,
        rec.line,
        "participants",
        names,
        f"人员不在名册中：{names}（可能是编号写错）",
        f"people not on the roster: {names} (possibly a mistyped id)",
        rec.id,
        rec.org,
        rec.type,
        rec.date,
        taints=False,
    )


def _fact(i: int, ob: Obligation, day: dt.date) -> Fact:
    if ob.fact_n is not None:  # an escalation: over when its lower findings are
        due, n = (0 if ob.open else 1), ob.fact_n
    else:
        due, n = (1 if ob.window is not None and day > ob.window.end else 0), ob.count
    return {
        "id": f"o{i}",
        "r": ob.rule.index,
        "n": n,
        "due": due,
        "taint": 1 if ob.taint or ob.doubt else 0,
        "na": 1 if (ob.na or ob.window is None) else 0,
        "unk": 1 if ob.unk else 0,
        "wv": 1 if ob.waiver is not None and not ob.waiver_expired else 0,
    }


def _rejection(row: BadRow) -> dict[str, Any]:
    return {
        "source": row.source,
        "line": row.line,
        "field": row.field,
        "value": row.value,
        "reason": {"zh": row.zh, "en": row.en},
        "record_id": row.record_id,
    }
