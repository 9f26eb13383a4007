"""The summary view (``evaluate --format summary``): the findings counted by organisation and by rule, one line
each, instead of one line per finding (a province's full table has tens of thousands of lines).

Columns are padded by display width (a Chinese character takes two), so names line up in a terminal. Every
finding of the report is counted, whatever the table would list; the input account closes the view as it
closes the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.findings import Report, Status
from .sections import STATUS_ORDER
from .table import _account
from .text import table_lines


@dataclass
class Totals:
    """One organisation's or one rule's findings counted per status."""

    id: str
    name: str
    counts: dict[Status, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def totals(report: Report) -> tuple[list[Totals], list[Totals]]:
    """The counts per organisation and per rule, each list with the most violations first, then by id."""
    orgs: dict[str, Totals] = {}
    rules: dict[str, Totals] = {}
    for f in report.findings:
        org = orgs.get(f.organisation.id)
        if org is None:
            org = orgs[f.organisation.id] = Totals(f.organisation.id, f.organisation.name)
        rule = rules.get(f.rule_id)
        if rule is None:
            rule = rules[f.rule_id] = Totals(f.rule_id, f.rule_title.zh)
        for row in (org, rule):
            row.counts[f.status] = row.counts.get(f.status, 0) + 1

    def order(t: Totals) -> tuple[int, str]:
        return (-t.counts.get(Status.violated, 0), t.id)

    return sorted(orgs.values(), key=order), sorted(rules.values(), key=order)


def _rows(title: list[str], items: list[Totals]) -> list[str]:
    header = [*title, *(f"{s.zh} {s.value}" for s in STATUS_ORDER), "合计 total"]
    rows = [header]
    for t in items:
        rows.append([t.id, t.name, *(str(t.counts.get(s, 0)) for s in STATUS_ORDER), str(t.total)])
    return table_lines(rows)


def render_summary(report: Report, *, notes: list[str] | None = None) -> str:
    """The summary view of `report` as text: the period and packs, `notes` (e.g. a filter), a table of the
    counts per organisation, one per rule, the totals and the input account."""
    lines = [
        f"评价期间 period {report.period.label} ({report.period.start}..{report.period.end})  "
        f"评价日期 as of {report.as_of}",
        f"规则包 rules: {', '.join(f'{p.id}@{p.version}' for p in report.rules)}",
        *(notes or []),
    ]
    orgs, rules = totals(report)
    lines += ["", f"== 按组织 by organisation（{len(orgs)}）", *_rows(["组织 id", "名称 name"], orgs)]
    lines += ["", f"== 按规则 by rule（{len(rules)}）", *_rows(["规则 rule", "标题 title"], rules)]
    lines.append("")
    counts = "  ".join(f"{Status(k).zh} {k}: {v}" for k, v in report.summary.items())
    lines.append(f"合计 summary: {counts}")
    lines.append(_account(report))
    if report.input.rejections:
        lines.append(f"  拒收的行见 rejected rows: --format json 或 csv（{len(report.input.rejections)} 条 rows）")
    return "\n".join(lines) + "\n"
