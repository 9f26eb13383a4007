"""A terminal table: findings grouped by organisation and subject, status coloured."""

from __future__ import annotations

import unicodedata
from collections import defaultdict

from ..model.findings import Finding, Report, Status

_COLOURS = {
    Status.fulfilled: "\x1b[32m",
    Status.violated: "\x1b[1;31m",
    Status.pending: "\x1b[33m",
    Status.not_applicable: "\x1b[2m",
    Status.undeterminable: "\x1b[35m",
    Status.waived: "\x1b[36m",
}
_RESET = "\x1b[0m"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _subject(f: Finding) -> str:
    s = f.subject
    if s.kind == "organisation":
        return "组织 organisation"
    if s.kind == "record":
        return f"记录 record {s.record}"
    label = f"{s.name}（{s.id}）"
    if s.role:
        label += f" {s.role}"
    return label


def render_table(report: Report, *, colour: bool = False, show: set[Status] | None = None) -> str:
    """Findings grouped by organisation, then subject. `show` limits the statuses listed (the summary
    always counts all of them)."""
    lines: list[str] = []
    lines.append(
        f"评价期间 period {report.period.label} ({report.period.start}..{report.period.end})  "
        f"评价日期 as of {report.as_of}"
    )
    packs = ", ".join(f"{p.id}@{p.version}" for p in report.rules)
    lines.append(f"规则包 rules: {packs}")
    groups: dict[tuple[str, str], dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in report.findings:
        if show is not None and f.status not in show:
            continue
        groups[(f.organisation.id, f.organisation.name)][_subject(f)].append(f)
    for (org_id, org_name), subjects in groups.items():
        lines.append("")
        lines.append(f"== {org_name}（{org_id}）")
        rank = {"组织 organisation": 0}
        for subject, findings in sorted(
            subjects.items(), key=lambda kv: rank.get(kv[0], 2 if kv[0].startswith("记录") else 1)
        ):
            lines.append(f"  {subject}")
            for f in findings:
                status = _pad(f"{f.status.zh} {f.status.value}", 26)
                if colour:
                    status = _COLOURS[f.status] + status + _RESET
                extra = []
                if f.subject.portfolio:
                    extra.append(f"[{f.subject.portfolio}]")
                if f.subject.second:
                    extra.append(f"与 with {f.subject.second.name}")
                if f.waiver is not None:
                    extra.append(
                        f"（豁免 {f.waiver.id} 已过期 expired）"
                        if f.waiver.expired
                        else f"（豁免 waiver {f.waiver.id}）"
                    )
                detail = " ".join(extra)
                lines.append(
                    f"    {status} {_pad(f.rule_id, 10)} {_pad(f.window.label or f.period.label, 22)} "
                    f"{_pad(f.actual.zh + '/' + f.expected.zh, 24)} {detail}".rstrip()
                )
    lines.append("")
    counts = "  ".join(f"{Status(k).zh} {k}: {v}" for k, v in report.summary.items())
    lines.append(f"合计 summary: {counts}")
    if show is not None:
        hidden = [f"{Status(k).zh} {k} {v}" for k, v in report.summary.items() if v and Status(k) not in show]
        if hidden:
            lines.append(f"未列出 not listed: {', '.join(hidden)}（--show all 列出全部 lists every finding）")
    lines.append(_account(report))
    for r in report.input.rejections[:20]:
        lines.append(f"  {r.as_problem()}")
    if len(report.input.rejections) > 20:
        lines.append(f"  ... 另有 {len(report.input.rejections) - 20} 条 more (see --format json)")
    return "\n".join(lines) + "\n"


def _account(report: Report) -> str:
    """The input account: record rows and roster units counted apart (a roster problem is not a record)."""
    records = [s for s in report.input.sources if s.kind == "records"]
    roster = [s for s in report.input.sources if s.kind == "roster"]
    read, rejected = sum(s.read for s in records), sum(s.rejected for s in records)
    excluded = sum(s.excluded for s in records)
    text = f"输入 input: 记录 records {read} 条读入 read, {rejected} 条拒收 rejected"
    if excluded:
        text += f", {excluded} 条排除 excluded（如晚于评价日期 e.g. dated after as_of）"
    roster_read, roster_rejected = sum(s.read for s in roster), sum(s.rejected for s in roster)
    return text + f"; 名册 roster {roster_read} 项读入 units read, {roster_rejected} 项拒收 rejected"
