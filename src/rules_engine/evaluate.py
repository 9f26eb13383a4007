"""The pipeline in one call: records -> obligations and counts -> decisions on durable_rules -> findings.

``evaluate(rules, roster, records, period=..., as_of=...)`` returns a :class:`Report`. The evaluation
date (``as_of``) decides which windows are over; nothing reads the wall clock except the default
``as_of`` (today), which the report records.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .compile import CompiledRules, compile_rules
from .engine import Backend, Fact
from .engine._durable import DurableBackend
from .errors import InputError, did_you_mean
from .load.inputs import (
    BadRow,
    Rec,
    RosterResult,
    read_records,
    read_roster,
    records_from_objects,
    roster_from_data,
)
from .load.rules import RuleSet, load_rules
from .model.findings import (
    Bilingual,
    Clause,
    DateRange,
    Finding,
    InputAccount,
    OrgRef,
    PackRef,
    PersonRef,
    Rejected,
    Rejection,
    Report,
    SourceAccount,
    Status,
    SubjectRef,
)
from .model.records import ActivityRecord
from .model.roster import Roster
from .obligations import Counter, Obligation, RosterIndex, plan
from .periods import Period, parse_period

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
) -> Report:
    """Evaluate every rule for every subject and window of `period` and return the report.

    - `rules`: from :func:`load_rules` (or a path to load), or already compiled.
    - `roster`: a :class:`Roster`, a dict of the same shape, or a YAML/JSON file.
    - `records`: record files (``.jsonl``, ``.csv``, ``.json``) or an iterable of records / dicts.
    - `period`: ``2024``, ``2024-H1``, ``2024-Q3``, ``2024-05`` or ``2024-01-01..2024-06-30``.
    - `as_of`: the evaluation date; windows ending on or after it are ``pending``. Defaults to today.
    - `params`: parameter overrides per rule id, e.g. ``{"ZZ-DW-01": {"at_least": 2}}``.
    """
    compiled = _compiled(rules, params)
    the_period = parse_period(period) if isinstance(period, str) else period
    day = _as_of(as_of)
    roster_result = _roster(roster)
    index = RosterIndex(roster_result.roster)

    obligations = plan(compiled, index, the_period)
    counter = Counter(compiled, index, the_period, obligations)
    accounts: dict[str, list[int]] = {}
    rejections: list[BadRow] = list(roster_result.rejected)
    roster_account = [roster_result.read, roster_result.read - len(roster_result.rejected), len(roster_result.rejected)]
    known_types = compiled.ruleset.record_types()
    seen: dict[str, tuple[Any, ...]] = {}

    for source, row in _rows(records):
        account = accounts.setdefault(source, [0, 0, 0])
        account[0] += 1
        if isinstance(row, Rec):
            row = _check_refs(row, index, known_types, seen)
        if isinstance(row, BadRow):
            account[2] += 1
            rejections.append(row)
            if not row.zh.startswith(_DUPLICATE):
                counter.add_bad(row)
            continue
        account[1] += 1
        counter.add(row)

    obligations.extend(counter.finish())
    counter.attach_taints(obligations)

    backend: Backend = DurableBackend(compiled.decisions)
    findings: list[Finding] = []
    try:
        by_org: dict[str, list[Obligation]] = defaultdict(list)
        for ob in obligations:
            by_org[ob.org.id].append(ob)
        for org_id in sorted(by_org):
            group = sorted(by_org[org_id], key=Obligation.sort_key)
            facts = [_fact(i, ob, day) for i, ob in enumerate(group)]
            decided = backend.run(facts)
            decisions = {d.name: d for d in compiled.decisions}
            for i, ob in enumerate(group):
                findings.append(_finding(ob, decisions[decided[f"o{i}"]].status, day))
    finally:
        backend.close()

    summary = {status.value: 0 for status in Status}
    for finding in findings:
        summary[finding.status.value] += 1
    sources = [
        SourceAccount(
            source=roster_result.source,
            kind="roster",
            read=roster_account[0],
            used=roster_account[1],
            rejected=roster_account[2],
        )
    ]
    sources += [
        SourceAccount(source=s, kind="records", read=a[0], used=a[1], rejected=a[2]) for s, a in accounts.items()
    ]
    return Report(
        period=DateRange(**the_period.to_dict()),
        as_of=day.isoformat(),
        summary=summary,
        rules=[
            PackRef(id=p.id, version=p.manifest.pack.version, sha256=p.sha256, rules=[r.rule.id for r in p.rules])
            for p in compiled.ruleset.packs
        ],
        input=InputAccount(sources=sources, rejections=[_rejection(r) for r in rejections]),
        findings=findings,
    )


_DUPLICATE = "重复记录"


def _compiled(rules: RulesInput, params: Mapping[str, Mapping[str, Any]] | None) -> CompiledRules:
    if isinstance(rules, CompiledRules):
        if params:
            return compile_rules(rules.ruleset, params)
        return rules
    if isinstance(rules, RuleSet):
        return compile_rules(rules, params)
    return compile_rules(load_rules(rules), params)


def _as_of(value: dt.date | str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"评价日期无效 invalid as-of date '{value}' (expected YYYY-MM-DD)") from None


def _roster(roster: RosterInput) -> RosterResult:
    if isinstance(roster, RosterResult):
        return roster
    if isinstance(roster, Roster):
        return RosterResult(roster, [], len(roster.organisations) + len(roster.people), "<roster>")
    if isinstance(roster, Mapping):
        return roster_from_data(roster)
    return read_roster(roster)


def _rows(records: RecordsInput) -> Iterator[tuple[str, Rec | BadRow]]:
    if isinstance(records, (str, Path)):
        records = [records]
    items = list(records) if isinstance(records, Sequence) else None
    if items is not None and all(isinstance(x, (str, Path)) for x in items):
        for path in items:
            for row in read_records(path):
                yield str(path), row
        return
    for row in records_from_objects(items if items is not None else records):  # type: ignore[arg-type]
        yield "<records>", row


def _check_refs(
    rec: Rec, index: RosterIndex, known_types: Mapping[str, Any], seen: dict[str, tuple[Any, ...]]
) -> Rec | BadRow:
    def bad(field: str, value: str, zh: str, en: str, *, keep_scope: bool = True) -> BadRow:
        return BadRow(
            rec.source, rec.line, field, value, zh, en, rec.id, rec.org if keep_scope else None, rec.type, rec.date
        )

    if rec.org not in index.orgs:
        zh, en = did_you_mean(rec.org, index.orgs, "zh"), did_you_mean(rec.org, index.orgs, "en")
        return bad(
            "org",
            rec.org,
            f"未知组织 '{rec.org}'（名册中没有）{zh}",
            f"unknown organisation '{rec.org}' {en}".strip(),
            keep_scope=False,
        )
    if rec.type not in known_types:
        zh, en = did_you_mean(rec.type, known_types, "zh"), did_you_mean(rec.type, known_types, "en")
        return bad(
            "type",
            rec.type,
            f"未知记录类型 '{rec.type}' {zh}".strip(),
            f"unknown record type '{rec.type}' {en}".strip(),
        )
    content = (rec.org, rec.type, rec.date, rec.chair, rec.participants, rec.portfolio, rec.tags)
    previous = seen.get(rec.id)
    if previous is not None:
        if previous[1:] == content:
            return bad(
                "id",
                rec.id,
                f"{_DUPLICATE}（与第 {previous[0]} 行相同，只计一次）",
                f"duplicate of line {previous[0]} (identical, counted once)",
            )
        return bad(
            "id",
            rec.id,
            f"记录编号重复但内容不同（第 {previous[0]} 行），本行未采用",
            f"record id already used on line {previous[0]} with different content; this row is not used",
        )
    seen[rec.id] = (rec.line, *content)
    return rec


def _fact(i: int, ob: Obligation, day: dt.date) -> Fact:
    due = 1 if ob.window is not None and day > ob.window.end else 0
    return {
        "id": f"o{i}",
        "r": ob.rule.index,
        "n": ob.count,
        "due": due,
        "taint": 1 if ob.taint else 0,
        "na": 1 if (ob.na or ob.window is None) else 0,
        "unk": 1 if ob.unk else 0,
    }


_NA = {
    "kind_not_covered": ("该规则不适用于此类组织", "the rule does not cover this kind of organisation"),
    "not_in_force": ("规则在该期间未施行", "the rule was not in force in this period"),
    "outside_deadline_window": ("该期间不含规则的时限区间", "the period has no part inside the rule's deadline window"),
    "too_short_in_post": ("在岗时间短于规则要求的最少天数", "held the post for fewer days than the rule's minimum"),
    "not_in_post": ("该期间未任职", "not in post in this period"),
}
_UNK = {
    "no_holder": ("名册中该期间无此职务的任职记录，无法判定", "the roster has nobody in this role for the period"),
    "no_portfolio": ("名册未登记其分管领域，无法判定", "the roster lists no portfolio area for this person"),
}


def _expected(ob: Obligation) -> Bilingual:
    rule = ob.rule
    lo, hi = rule.at_least, rule.at_most
    params = rule.params
    if params.period is None:  # a trigger rule: the window runs from the triggering record
        zh_when, en_when = f"触发记录后{params.within_days}日内", f"within {params.within_days} days after the trigger"
    else:
        assert params.period is not None
        zh_when, en_when = params.period.zh, params.period.en
    parts_zh, parts_en = [], []
    if lo:
        parts_zh.append(f"至少{lo}次")
        parts_en.append(f"at least {lo}")
    if hi is not None:
        parts_zh.append(f"至多{hi}次")
        parts_en.append(f"at most {hi}")
    zh = zh_when + "、".join(parts_zh)
    en = " and ".join(parts_en) + " " + en_when
    if params.window:
        zh += f"（{params.window.from_ or '期初'}至{params.window.to or '期末'}）"
        en += f" (between {params.window.from_ or 'period start'} and {params.window.to or 'period end'})"
    if rule.share is not None:
        zh += f"，到会不少于{rule.share}"
        en += f", attendance at least {rule.share}"
    return Bilingual(zh=zh, en=en)


_DEFAULT_MESSAGES = {
    Status.fulfilled: (
        "{who}已履行：{title}（{window}，应{expected}，实{actual}）",
        "{who} fulfilled: {title} ({window}; expected {expected}, found {actual})",
    ),
    Status.violated: (
        "{who}未履行：{title}（{window}，应{expected}，实{actual}）",
        "{who} did not fulfil: {title} ({window}; expected {expected}, found {actual})",
    ),
    Status.pending: (
        "{who}期限未到：{title}（{window}，应{expected}，目前{actual}）",
        "{who} pending: {title} ({window}; expected {expected}, so far {actual})",
    ),
    Status.not_applicable: ("{who}不适用：{title}（{period}）", "{who} not applicable: {title} ({period})"),
    Status.undeterminable: ("{who}无法判定：{title}（{window}）", "{who} undeterminable: {title} ({window})"),
}


def _who(ob: Obligation) -> tuple[str, str]:
    """How default messages name the duty-bearer (not a rule-file placeholder)."""
    if ob.subject_kind == "organisation":
        return ob.org.name, ob.org.name
    if ob.subject_kind == "record":
        return f"{ob.org.name}（记录 {ob.subject_id}）", f"{ob.org.name} (record {ob.subject_id})"
    who = f"{ob.org.name}{ob.subject_name}"
    if ob.second_name:
        return f"{who}与{ob.second_name}", f"{ob.subject_name} of {ob.org.name} with {ob.second_name}"
    if ob.portfolio:
        return f"{who}（分管{ob.portfolio}）", f"{ob.subject_name} of {ob.org.name} (portfolio {ob.portfolio})"
    return who, f"{ob.subject_name} of {ob.org.name}"


def _reason(ob: Obligation, status: Status, expected: Bilingual) -> Bilingual:
    if status is Status.not_applicable:
        zh, en = _NA.get(ob.na or "not_in_force", ("不适用", "not applicable"))
        return Bilingual(zh=zh, en=en)
    if ob.unk:
        zh, en = _UNK[ob.unk]
        return Bilingual(zh=zh, en=en)
    assert ob.window is not None
    w = f"{ob.window.start.isoformat()}..{ob.window.end.isoformat()}"
    found_zh = f"在 {w} 内找到 {ob.count} 条符合条件的记录"
    found_en = f"found {ob.count} matching record(s) in {w}"
    if status is Status.undeterminable:
        rows = "、".join(f"{r.source}:{r.line}" for r in ob.taint[:5])
        rows_en = ", ".join(f"{r.source}:{r.line}" for r in ob.taint[:5])
        return Bilingual(
            zh=f"{found_zh}；可能相关的记录因数据问题被拒收（{rows}），无法判定",
            en=f"{found_en}; possibly relevant rows were rejected as invalid ({rows_en}), so this cannot be decided",
        )
    if status is Status.pending:
        return Bilingual(
            zh=f"{found_zh}；时限 {ob.window.end.isoformat()} 未到",
            en=f"{found_en}; the window ends {ob.window.end.isoformat()}",
        )
    if status is Status.violated:
        return Bilingual(zh=f"{found_zh}，要求{expected.zh}", en=f"{found_en}; required {expected.en}")
    return Bilingual(zh=f"{found_zh}，满足{expected.zh}", en=f"{found_en}; meets {expected.en}")


def _finding(ob: Obligation, status: Status, day: dt.date) -> Finding:
    rule = ob.rule
    spec = rule.rule
    citation = spec.citation
    expected = _expected(ob)
    actual = Bilingual(zh=f"{ob.count}次", en=str(ob.count))
    window = ob.window or ob.period
    org_name = ob.org.name
    subject = SubjectRef(
        kind=ob.subject_kind,
        id=ob.subject_id,
        name=ob.subject_name,
        role=ob.role,
        portfolio=ob.portfolio,
        second=PersonRef(id=ob.second, name=ob.second_name or ob.second, role=ob.second_role) if ob.second else None,
        record=ob.trigger.id if ob.trigger else None,
    )
    values = {
        "rule_id": spec.id,
        "subject": ob.subject_name,
        "organisation": org_name,
        "period": ob.period.label,
        "window": window.label
        if window.days == ob.period.days
        else f"{window.start.isoformat()}..{window.end.isoformat()}",
        "portfolio": ob.portfolio or "",
        "second": ob.second_name or "",
        "clause": citation.label(),
    }
    custom = (
        getattr(spec.messages, status.value, None) if status.value in ("violated", "fulfilled", "pending") else None
    )
    zh_t, en_t = (custom.zh, custom.en) if custom else _DEFAULT_MESSAGES[status]
    who_zh, who_en = _who(ob)
    zh_values = {**values, "who": who_zh, "title": spec.title.zh, "expected": expected.zh, "actual": actual.zh}
    en_values = {**values, "who": who_en, "title": spec.title.en, "expected": expected.en, "actual": actual.en}
    message = Bilingual(zh=zh_t.format_map(zh_values), en=en_t.format_map(en_values))
    rejected = [Rejected(record=rid, reason=Bilingual(zh=zh, en=en)) for rid, zh, en in ob.rejected]
    return Finding(
        rule_id=spec.id,
        rule_title=Bilingual(zh=spec.title.zh, en=spec.title.en),
        pack=rule.loaded.pack.id,
        pack_version=rule.loaded.pack.version,
        status=status,
        subject=subject,
        organisation=OrgRef(id=ob.org.id, name=org_name, kind=ob.org.kind.value),
        period=DateRange(**ob.period.to_dict()),
        window=DateRange(start=window.start.isoformat(), end=window.end.isoformat(), label=window.label),
        clause=Clause(
            document=citation.document,
            article=citation.article,
            paragraph=citation.paragraph,
            item=citation.item,
            text=citation.text,
            label=citation.label(),
            provenance=spec.provenance.basis.value,
            confidence=spec.provenance.confidence,
        ),
        expected=expected,
        actual=actual,
        count=ob.count,
        evidence=list(ob.evidence),
        rejected=rejected,
        severity=spec.severity.value,
        message=message,
        reason=_reason(ob, status, expected),
        params=rule.params_dump(),
    )


def _rejection(row: BadRow) -> Rejection:
    return Rejection(
        source=row.source,
        line=row.line,
        field=row.field,
        value=row.value,
        reason=Bilingual(zh=row.zh, en=row.en),
        record_id=row.record_id,
    )
