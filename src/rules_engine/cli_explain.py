"""``rules-engine explain RULE_ID --subject ID --period P INPUTS ...``: one finding explained like a trace.

For each finding of the rule about the subject (and organisation, if given): the records counted (id, date,
file:line), the candidate records not counted and why, and the decision in words: what was expected, what
was found, the status and why (the waiver that changed it, or what is still open), not the engine's field
codes. ``explain RULE_ID`` without inputs still explains the rule itself (cli._explain).

The evaluation is the same as ``evaluate`` (same inputs, rules, parameters and waivers), with every piece of
evidence kept (not the first 20), so that the trace lists every record counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable
from typing import Any

from . import Error, Finding, Report, Status, compile_rules, evaluate, load_rules
from .cli_common import UsageError, parse_params, rules_paths, split_inputs
from .errors import did_you_mean
from .guard import shown

#: every piece of evidence kept (the largest --max-evidence evaluate accepts)
ALL_EVIDENCE = 1_000_000

#: why a finding has its status, in words (the reason of the finding follows)
WHY: dict[Status, tuple[str, str]] = {
    Status.fulfilled: ("找到的记录达到要求", "the records found meet what is expected"),
    Status.violated: ("判定区间已结束，找到的记录未达到要求", "the window is over and the records found fall short"),
    Status.pending: (
        "评价日期时判定区间尚未结束，尚未达到要求（还可补上）",
        "the window is not over on the evaluation date and the minimum is not met yet (it can still be)",
    ),
    Status.not_applicable: ("该义务在此区间不适用", "the duty does not apply in this window"),
    Status.undeterminable: (
        "数据缺失或被拒收，无法判定（不作为未履行）",
        "data is missing or was rejected: it cannot be decided (never counted as violated)",
    ),
    Status.waived: ("有有效的豁免", "a waiver in force applies"),
}


def add_finding_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``explain`` that explain one finding instead of the rule."""
    parser.add_argument(
        "inputs",
        nargs="*",
        help="with --subject: a folder with roster.yaml and record files, or the files (as evaluate)",
    )
    parser.add_argument(
        "--subject",
        metavar="ID",
        help="说明该对象的结论 explain the finding(s) about this person, "
        "organisation or trigger record (needs --period and the inputs)",
    )
    parser.add_argument("--org", metavar="ID", help="只看此组织 only the findings in this organisation")
    parser.add_argument("--period", help="with --subject: 2024, 2024-H1, 2024-Q3, 2024-05 or a date range")
    parser.add_argument("--as-of", help="评价日期 evaluation date YYYY-MM-DD (default: today)")
    parser.add_argument("--waivers", action="append", default=[], metavar="FILE", help="豁免文件 waiver file")


def wants_finding(args: argparse.Namespace) -> bool:
    return bool(args.subject or args.org or args.inputs or args.period)


def explain_finding(args: argparse.Namespace) -> int:
    """Evaluate the inputs and explain each finding of the rule about the subject. Exit 0; 2 when the inputs
    cannot be read or no finding matches (the message lists the subjects the rule has)."""

    if not (args.subject or args.org) or not args.period or not args.inputs:
        raise UsageError.of("usage.explain.needs")
    roster, records = split_inputs(args.inputs, args.waivers)
    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError.of("usage.as_of.invalid", value=shown(args.as_of)) from None
    compiled = compile_rules(load_rules(*rules_paths(args.rules)), parse_params(args.param))
    ids = sorted({r.rule.id for r in compiled.rules})
    if args.rule_id not in ids:
        raise UsageError.of("usage.rule.unknown", rule=shown(args.rule_id), hint=did_you_mean(args.rule_id, ids))
    files = [str(p) for p in records]
    report = evaluate(
        compiled,
        roster,
        files,
        period=args.period,
        as_of=as_of,
        waivers=list(args.waivers),
        max_evidence=ALL_EVIDENCE,
    )
    found = matching(report, args.rule_id, args.subject, args.org)
    if not found:
        subjects = {f.subject.id for f in report.findings if f.rule_id == args.rule_id}
        who = args.subject or args.org
        raise UsageError.of(
            "usage.explain.no_finding",
            rule=args.rule_id,
            period=args.period,
            who=shown(who),
            hint=did_you_mean(who, subjects) if subjects else "",
        )
    places = record_places(files, (r for f in found for r in [*f.evidence, *(x.record for x in f.rejected)]))
    traces = [trace(f, places, report) for f in found]
    if args.format == "json":
        data = {"format": "rules-engine/explain/v1", "as_of": str(report.as_of), "findings": traces}
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write("\n\n".join(trace_text(t) for t in traces) + "\n")
    return 0


def matching(report: Report, rule_id: str, subject: str | None, org: str | None) -> list[Finding]:
    """The findings of `rule_id` about `subject` (a person, organisation or trigger record id) in `org`."""
    return [
        f
        for f in report.findings
        if f.rule_id == rule_id
        and (subject is None or subject in (f.subject.id, f.subject.record))
        and (org is None or f.organisation.id == org)
    ]


def record_places(files: list[str], wanted: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The date, file and line of each record id in `wanted`, read again from the record files (the first
    row with that id; a row rejected for its data has no date)."""
    from .load.inputs import BadRow, read_records

    ids = set(wanted)
    places: dict[str, dict[str, Any]] = {}
    for path in files:
        if not ids - places.keys():
            break
        try:
            for row in read_records(path):
                rid = row.record_id if isinstance(row, BadRow) else row.id
                if rid in ids and rid not in places:
                    date = row.date
                    places[rid] = {"date": None if date is None else str(date), "source": row.source, "line": row.line}
        except (Error, OSError):  # it was read for the evaluation; a place is a help, never a failure
            continue
    return places


def _record(rid: str, places: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"id": rid, **places.get(rid, {"date": None, "source": None, "line": None})}


def trace(f: Finding, places: dict[str, dict[str, Any]], report: Report) -> dict[str, Any]:
    """One finding explained, as data (the JSON of ``explain --format json``)."""
    why_zh, why_en = WHY[f.status]
    out: dict[str, Any] = {
        "rule": {"id": f.rule_id, "title": f.rule_title.model_dump(), "clause": f.clause.label},
        "subject": {"kind": f.subject.kind, "id": f.subject.id, "name": f.subject.name, "role": f.subject.role},
        "organisation": f.organisation.model_dump(),
        "period": f.period.label or f"{f.period.start}..{f.period.end}",
        "window": f"{f.window.start}..{f.window.end}",
        "counted": [_record(r, places) for r in f.evidence],
        "rejected": [{**_record(r.record, places), "reason": r.reason.model_dump()} for r in f.rejected],
        "decision": {
            "expected": f.expected.model_dump(),
            "found": f.actual.model_dump(),
            "count": f.count,
            "status": f.status.value,
            "status_zh": f.status.zh,
            "why": {"zh": why_zh, "en": why_en},
            "reason": f.reason.model_dump(),
            "message": f.message.model_dump(),
            "waiver": None if f.waiver is None else f.waiver.model_dump(mode="json"),
            "parameters": {k: v.get("value") for k, v in sorted(f.params.items())},
        },
    }
    if f.status is Status.undeterminable:
        out["decision"]["input_rejections"] = len(report.input.rejections)
    return out


def _place(r: dict[str, Any]) -> str:
    where = f"{r['source']}:{r['line']}" if r.get("source") else "位置未知 place unknown"
    return f"{r['id']}  {r.get('date') or '-':<10}  {where}"


def trace_text(t: dict[str, Any]) -> str:
    """One finding explained, as text: the records counted, the candidates rejected, the decision."""
    d = t["decision"]
    s = t["subject"]
    who = f"{s['name']}（{s['id']}）" + (f" {s['role']}" if s.get("role") else "")
    lines = [
        f"{t['rule']['id']}  {t['rule']['title']['zh']}",
        f"          {t['rule']['title']['en']}",
        f"依据 clause: {t['rule']['clause']}",
        f"对象 subject: {who}  组织 organisation: {t['organisation']['name']}（{t['organisation']['id']}）",
        f"期间 period: {t['period']}  判定区间 window: {t['window']}",
        f"1. 计入的记录 records counted ({d['count']}):",
        *(f"   {_place(r)}" for r in t["counted"]),
    ]
    if not t["counted"]:
        lines.append("   （无 none）")
    lines.append(f"2. 未计入的候选记录 candidates not counted ({len(t['rejected'])}):")
    lines += [f"   {_place(r)}  — {r['reason']['zh']} / {r['reason']['en']}" for r in t["rejected"]]
    if not t["rejected"]:
        lines.append("   （无 none）")
    lines += [
        "3. 判定 decision:",
        f"   应为 expected: {d['expected']['zh']} / {d['expected']['en']}",
        f"   实际 found:    {d['found']['zh']} / {d['found']['en']}",
        f"   结论 status:   {d['status_zh']} {d['status']} — {d['why']['zh']} / {d['why']['en']}",
        f"   理由 reason:   {d['reason']['zh']} / {d['reason']['en']}",
    ]
    w = d["waiver"]
    if w is not None:
        state = "已过期，未生效 expired, no effect" if w["expired"] else "生效 applied"
        lines.append(
            f"   豁免 waiver:   {w['id']}（{state}; 至 until {w['expires']}; {w['approved_by']}）{w['justification']}"
        )
        if w.get("status_without_waiver"):
            lines.append(f"   无豁免时 without the waiver: {w['status_without_waiver']}")
    if "input_rejections" in d:
        lines.append(
            f"   输入中被拒收的行 input rows rejected: {d['input_rejections']}（见 see evaluate --format json）"
        )
    params = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in d["parameters"].items())
    lines.append(f"   参数 parameters: {params}")
    return "\n".join(lines)
