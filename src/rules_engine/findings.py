"""Findings: turn a decided obligation into the finding users read — expected against actual, the
evidence, the candidates rejected and why, the clause, and the message in Chinese and English.

Findings are produced as JSON-ready dicts in the documented field order (see
``model/findings.py:Finding``), so the streaming writer and the in-memory report share one shape.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

import orjson

from .compile import CompiledRule
from .model.findings import Status
from .model.layout import RuleTable
from .periods import Period
from .plan import Obligation, Why
from .texts import describe, reason_text, text


def _expected_text(rule: CompiledRule, kind: str) -> dict[str, str]:
    esc = rule.rule.escalate
    if esc is not None:
        what = {
            "findings": ("条", "findings"),
            "portfolios": ("个领域", "portfolio areas"),
            "rules": ("项规则", "rules"),
            "people": ("名人员", "people"),
        }[esc.count]
        if esc.raise_share is not None:
            zh, en = f"达到班子人数的{esc.raise_share}即升级", f"raised at {esc.raise_share} of the team"
        else:
            zh, en = f"达到{esc.raise_at}{what[0]}即升级", f"raised at {esc.raise_at} {what[1]}"
        if esc.with_secretary:
            zh, en = f"{zh}（且含书记本人）", f"{en} (the secretary among them)"
        return {"zh": f"不升级：{zh}", "en": f"not raised: {en}"}
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
        share = str(params.min_share).strip()  # as the rule author wrote it: 2/3, 0.667
        zh += f"，到会不少于{share}"
        en += f", attendance at least {share}"
    return {"zh": zh, "en": en}


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
    Status.waived: ("{who}已豁免：{title}（{window}）", "{who} waived: {title} ({window})"),
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


_LACKING = "lacking"  # the note of a reason when records were set aside for lacking a field (reason.lacking)
_UNDECIDED = "lacking_undecided"  # the reason when they could change the outcome (reason.lacking_undecided)


def _reason(ob: Obligation, status: Status, expected: dict[str, str]) -> dict[str, str]:
    if ob.lacking is not None and status is Status.undeterminable and not ob.taint and not ob.unk:
        # (undecided because of them: had they carried the field, they might have changed the outcome)
        n, names = ob.lacking
        assert ob.window is not None
        w = f"{ob.window.start.isoformat()}..{ob.window.end.isoformat()}"
        zh, en = text(f"reason.{_UNDECIDED}", n=n, fields=names)
        return {
            "zh": f"在 {w} 内找到 {ob.count} 条符合条件的记录；{zh}",
            "en": f"found {ob.count} matching record(s) in {w}; {en}",
        }
    reason = _reason_of(ob, status, expected)
    if ob.lacking is not None and status is not Status.not_applicable and not ob.unk:
        n, names = ob.lacking
        zh, en = text(f"reason.{_LACKING}", n=n, fields=names)
        reason = {"zh": f"{reason['zh']}；{zh}", "en": f"{reason['en']}; {en}"}
    return reason


def _reason_of(ob: Obligation, status: Status, expected: dict[str, str]) -> dict[str, str]:
    if status is Status.not_applicable:
        zh, en = reason_text("na", ob.na or "not_in_force")
        if ob.na == "retired":
            zh, en = f"{zh}（{ob.rule.retired_by}）", f"{en} ({ob.rule.retired_by})"
        return {"zh": zh, "en": en}
    if ob.rule.rule.escalate is not None:
        return _escalation_reason(ob, status)
    if status is Status.waived and ob.waiver is not None:
        wv = ob.waiver.waiver
        return {
            "zh": f"经 {wv.approved_by} 批准豁免（{wv.id}，{wv.expires} 前有效）：{wv.justification}",
            "en": f"waived by {wv.approved_by} ({wv.id}, valid until {wv.expires}): {wv.justification}",
        }
    if ob.unk:
        zh, en = reason_text("unk", ob.unk)
        return {"zh": zh, "en": en}
    assert ob.window is not None
    w = f"{ob.window.start.isoformat()}..{ob.window.end.isoformat()}"
    found_zh = f"在 {w} 内找到 {ob.count} 条符合条件的记录"
    found_en = f"found {ob.count} matching record(s) in {w}"
    if status is Status.undeterminable:
        taint = ob.taint or []
        rows = "、".join(f"{r.source}:{r.line}（{r.zh}）" for r in taint[:5])
        rows_en = "; ".join(f"{r.source}:{r.line} ({r.en})" for r in taint[:5])
        return {
            "zh": f"{found_zh}；可能相关的记录有数据问题：{rows}，无法判定",
            "en": f"{found_en}; possibly relevant rows have data problems: {rows_en}; so this cannot be decided",
        }
    if status is Status.pending:
        return {
            "zh": f"{found_zh}；时限 {ob.window.end.isoformat()} 未到",
            "en": f"{found_en}; the window ends {ob.window.end.isoformat()}",
        }
    if status is Status.violated:
        return {"zh": f"{found_zh}，要求{expected['zh']}", "en": f"{found_en}; required {expected['en']}"}
    return {"zh": f"{found_zh}，满足{expected['zh']}", "en": f"{found_en}; meets {expected['en']}"}


@functools.lru_cache(maxsize=4096)
def _static(rule: CompiledRule) -> dict[str, Any]:
    """The parts of a finding that depend on the rule only, built once per rule (shared, never mutated)."""
    spec = rule.rule
    citation = spec.citation
    return {
        "rule_title": {"zh": spec.title.zh, "en": spec.title.en},
        "clause": {
            "document": citation.document,
            "article": citation.article,
            "paragraph": citation.paragraph,
            "item": citation.item,
            "text": citation.text,
            "label": citation.label(),
            "provenance": spec.provenance.basis.value,
            "confidence": spec.provenance.confidence,
        },
        "params": rule.params_dump(),
        "severity": spec.severity.value,
    }


@functools.lru_cache(maxsize=4096)
def _static_raw(rule: CompiledRule) -> dict[str, Any]:
    """:func:`_static` serialised once per rule (``orjson.Fragment``: the writer copies the bytes)."""
    return {key: orjson.Fragment(orjson.dumps(value)) for key, value in _static(rule).items()}


def _range(period: Period) -> dict[str, str]:
    """A period as JSON (start, end, label): the same few windows for most findings, made once each."""
    return _range_of(period.start, period.end, period.label)


def _range_raw(period: Period) -> orjson.Fragment:
    return _range_raw_of(period.start, period.end, period.label)


# Keyed by value and bounded: trigger windows are all different (a cache on each period grew without end).
@functools.lru_cache(maxsize=4096)
def _range_of(start: dt.date, end: dt.date, label: str) -> dict[str, str]:
    return Period(start, end, label).to_dict()


@functools.lru_cache(maxsize=4096)
def _range_raw_of(start: dt.date, end: dt.date, label: str) -> orjson.Fragment:
    return orjson.Fragment(orjson.dumps(_range_of(start, end, label)))


@functools.lru_cache(maxsize=4096)
def _expected_for(rule: CompiledRule, kind: str) -> dict[str, str]:
    return _expected_text(rule, kind)


def rule_parts(rule: CompiledRule) -> dict[str, Any]:
    """What every finding of `rule` (one variant: a version, or an overlay's parameters) repeats: a v2 report's
    ``rules`` entry, the keys of :data:`rules_engine.model.layout.RULE_KEYS` with the values of its findings."""
    spec = rule.rule
    static = _static(rule)
    return {
        "rule_id": spec.id,
        "rule_title": static["rule_title"],
        "pack": rule.loaded.pack.id,
        "pack_version": rule.loaded.pack.version,
        "clause": static["clause"],
        "expected": _expected_for(rule, ""),  # (the text depends on the rule only, whatever the subject)
        "severity": static["severity"],
        "params": static["params"],
    }


def rule_table(rules: Iterable[CompiledRule]) -> tuple[RuleTable, dict[int, str]]:
    """The ``rules`` table of a v2 report of these compiled rules (in their order), and the key of each rule
    by ``id(rule)``."""
    table = RuleTable()
    return table, {id(rule): table.add(rule_parts(rule)) for rule in rules}


def finding_dict(ob: Obligation, status: Status, waives: Status | None = None, *, raw: bool = False) -> dict[str, Any]:
    """The finding for one decided obligation, as a JSON-ready dict in :class:`Finding` field order.
    Parts that depend only on the rule are shared between findings: treat the result as read-only.
    With `raw`, those parts (and the periods) are pre-serialised ``orjson.Fragment`` values, for the JSON
    writer only: the bytes it writes are the same, without serialising the same clause a million times."""
    rule = ob.rule
    spec = rule.rule
    static = _static(rule)
    expected = _expected_for(rule, ob.subject_kind)
    unit = "次" if rule.rule.escalate is None else ""
    actual = {"zh": f"{ob.count}{unit}", "en": str(ob.count)}
    window = ob.window or ob.period
    org_name = ob.org.name
    window_text = (
        window.label if window.days == ob.period.days else f"{window.start.isoformat()}..{window.end.isoformat()}"
    )
    values = {
        "rule_id": spec.id,
        "subject": ob.subject_name,
        "organisation": org_name,
        "period": ob.period.label,
        "window": window_text,
        "portfolio": ob.portfolio or "",
        "second": ob.second_name or "",
        "clause": static["clause"]["label"],
    }
    status_value = status.value
    kind = status_value
    if status is Status.violated and spec.escalate is None and 0 < ob.count < rule.at_least:
        kind = "short"  # some found, too few: a "held no ..." message would be wrong (the default reads right)
    custom = getattr(spec.messages, kind) if kind in ("violated", "short", "fulfilled", "pending") else None
    zh_t, en_t = (custom.zh, custom.en) if custom else _DEFAULT_MESSAGES[status]
    who_zh, who_en = _who(ob)
    zh_values = {**values, "who": who_zh, "title": spec.title.zh, "expected": expected["zh"], "actual": actual["zh"]}
    en_values = {**values, "who": who_en, "title": spec.title.en, "expected": expected["en"], "actual": actual["en"]}
    message = {"zh": zh_t.format_map(zh_values), "en": en_t.format_map(en_values)}
    window_json: Any = _range(window)
    period_json: Any = _range(ob.period)
    if raw:
        static = _static_raw(rule)
        window_json, period_json = _range_raw(window), _range_raw(ob.period)
    second = None
    if ob.second:
        second = {"id": ob.second, "name": ob.second_name or ob.second, "role": ob.second_role}
    return {
        "rule_id": spec.id,
        "rule_title": static["rule_title"],
        "pack": rule.loaded.pack.id,
        "pack_version": rule.loaded.pack.version,
        "status": status_value,
        "subject": {
            "kind": ob.subject_kind,
            "id": ob.subject_id,
            "name": ob.subject_name,
            "role": ob.role,
            "portfolio": ob.portfolio,
            "second": second,
            "record": ob.trigger,
        },
        "organisation": {"id": ob.org.id, "name": org_name, "kind": ob.org.kind},
        "period": period_json,
        "window": window_json,
        "clause": static["clause"],
        "expected": expected,
        "actual": actual,
        "count": ob.count,
        "evidence": list(ob.evidence or ()),
        "rejected": [_rejected(ob, rid, why) for rid, why in ob.rejections()],
        "severity": static["severity"],
        "message": message,
        "reason": _reason(ob, status, expected),
        "params": static["params"],
        "waiver": _waiver(ob, waives),
    }


def _escalation_reason(ob: Obligation, status: Status) -> dict[str, str]:
    return escalation_reason(ob.rule, ob.count, status)


@functools.lru_cache(maxsize=4096)
def escalation_reason(rule: CompiledRule, count: int, status: Status) -> dict[str, str]:
    """The reason of an escalation finding of `rule` with `count` and `status` (shared, read-only)."""
    esc = rule.rule.escalate
    assert esc is not None
    lower = "、".join(esc.rules)
    counted = {
        "findings": ("条结论", "finding(s)"),
        "portfolios": ("个分管领域", "portfolio area(s)"),
        "rules": ("项规则", "rule(s)"),
        "people": ("名人员", "person(s)"),
    }[esc.count]
    head_zh = f"下级规则（{lower}）中有 {count} {counted[0]}为{'/'.join(esc.status)}"
    head_en = f"{count} {counted[1]} with {'/'.join(esc.status)} findings under {', '.join(esc.rules)}"
    if status is Status.violated:
        return {"zh": f"{head_zh}，达到升级条件", "en": f"{head_en}: escalation raised"}
    if status is Status.undeterminable:
        return {
            "zh": f"{head_zh}；部分下级结论无法判定，不能确定是否应升级",
            "en": f"{head_en}; some lower findings are undeterminable, so escalation cannot be decided",
        }
    if status is Status.pending:
        return {"zh": f"{head_zh}；部分下级结论期限未到", "en": f"{head_en}; some lower findings are still pending"}
    if status is Status.waived:
        return {"zh": f"{head_zh}；已豁免", "en": f"{head_en}; waived"}
    return {"zh": f"{head_zh}，未达到升级条件", "en": f"{head_en}: not raised"}


def _waiver(ob: Obligation, waives: Status | None) -> dict[str, Any] | None:
    if ob.waiver is None:
        return None
    w = ob.waiver.waiver
    return {
        "id": w.id,
        "justification": w.justification,
        "approved_by": w.approved_by,
        "expires": w.expires.isoformat(),
        "source": ob.waiver.source,
        "expired": ob.waiver_expired,
        "status_without_waiver": waives.value if waives is not None else None,
    }


def _rejected(ob: Obligation, record: str, why: Why) -> dict[str, Any]:
    code = why[0]  # only the part of the obligation a reason reads goes into the cache key
    window = ob.window if code == "outside" else None
    portfolio = ob.portfolio if code == "portfolio" else None
    return {"record": record, "reason": _reason_text(ob.rule, why, window, portfolio)}


@functools.lru_cache(maxsize=4096)
def _reason_text(rule: CompiledRule, why: Why, window: Period | None, portfolio: str | None) -> dict[str, str]:
    """The same few reasons per rule, millions of times: each text is made once (shared, read-only)."""
    zh, en = describe(rule, why, window, portfolio)
    return {"zh": zh, "en": en}
