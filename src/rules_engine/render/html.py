"""The report as one self-contained HTML page (``--format html``) that works offline: Jinja2 (the ``reports``
extra) with autoescape on, charts drawn here as inline SVG, a small embedded script for the table.

The page holds: the summary (period, evaluation date, packs, input account, count per status, notes on
anything incomplete or left out), the charts (status by organisation, the 三实三弱 gaps when the roster is
given, scores when a scoring file is given), a table per organisation, and a filterable table of the
findings that need attention (violated, undeterminable, pending, waived by default), each with its
explanation on a click: expected vs found, the reason, the evidence, the candidate records rejected and
why, the waiver, the clause.

Safety: every value from the input is escaped by the template engine; the findings reach the script as
JSON inside ``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as ``\\u003c``,
``\\u003e`` and ``\\u0026`` (no ``</script>`` can close the block), and the script builds rows with
``textContent`` only. A Content-Security-Policy meta tag allows nothing from any address: only the
page's own script and style (by their SHA-256) and ``data:`` images; no fonts, no connections.

Size: a province's 150,000 findings would make a page of several hundred megabytes. The table lists the
statuses chosen (`statuses`), at most `max_rows` of them, as compact JSON (names and texts that repeat
are stored once); the summary per organisation counts every finding; the page says what it left out
and where to find it (the Excel or JSON report). The same report gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import OutputError
from ..gcpause import paused_gc
from ..model.findings import Finding, Report, Status
from .sections import ATTENTION, STATUS_ORDER, ClosedLoop, OrgCount, closed_loop, org_counts

if TYPE_CHECKING:
    from ..diagnose import Diagnosis
    from ..load.inputs import RosterResult
    from ..model.roster import Roster
    from ..model.scoring import Scoring
    from ..scorecard import ScoreResult

#: findings the table lists at most (each costs about 300 bytes of the page)
MAX_ROWS = 100_000
#: organisations drawn in the status chart and the score chart at most (the tables list every one)
CHART_ORGS = 40

STATUS_COLOUR = {
    Status.violated: "#c62828",
    Status.undeterminable: "#8250df",
    Status.pending: "#d29922",
    Status.waived: "#0969da",
    Status.fulfilled: "#2e7d32",
    Status.not_applicable: "#9ea7b3",
}


def render_html(
    report: Report,
    scoring: Scoring | ScoreResult | str | Path | None = None,
    roster: Roster | RosterResult | Diagnosis | str | Path | None = None,
    *,
    statuses: Collection[Status | str] | None = ATTENTION,
    max_rows: int = MAX_ROWS,
) -> bytes:
    """The report as one HTML page (UTF-8 bytes). With `scoring` the page shows scores and ranks; with
    `roster` (the roster the report was made from: its file or, read once, what :func:`~rules_engine.read_roster`
    returned; or a :class:`~rules_engine.Diagnosis`) the 三实三弱 gaps;
    both computed once per report for this and :func:`render_xlsx`. `statuses`: the statuses the findings
    table lists (None: every finding); at most `max_rows` findings are listed, the rest counted. Needs the
    ``reports`` extra (Jinja2)."""
    jinja2 = jinja2_module()
    listed = None if statuses is None else {Status(s) for s in statuses}
    with paused_gc():  # short-lived rows and no cycles: the collector would only rescan the report
        return _render(jinja2, report, scoring, roster, listed, max_rows)


def _render(
    jinja2: Any,
    report: Report,
    scoring: Scoring | ScoreResult | str | Path | None,
    roster: Roster | RosterResult | Diagnosis | str | Path | None,
    listed: set[Status] | None,
    max_rows: int,
) -> bytes:
    extra = closed_loop(report, scoring, roster)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(_resource("report.html.j2"))
    script, style = _resource("report.js"), _resource("report.css")
    data, shown, over = _table_data(report, listed, max_rows)
    orgs = org_counts(report)
    page = template.render(
        r=report,
        statuses=STATUS_ORDER,
        colour={s.value: c for s, c in STATUS_COLOUR.items()},
        orgs=orgs,
        scores={c.organisation: c for c in extra.scores.organisations} if extra.scores else {},
        extra=extra,
        notes=_notes(report, extra, listed, shown, over),
        listed=[s for s in STATUS_ORDER if listed is None or s in listed],
        status_chart=_status_chart(orgs),
        gap_chart=_gap_chart(extra.diagnosis) if extra.diagnosis else None,
        score_chart=_score_chart(extra.scores) if extra.scores else None,
        records=_records(report),
        data=jinja2.utils.markupsafe.Markup(_script_json(data)),
        script=jinja2.utils.markupsafe.Markup(script),
        style=jinja2.utils.markupsafe.Markup(style),
        csp=jinja2.utils.markupsafe.Markup(_csp(script, style)),  # our own text: hashes and keywords
    )
    return str(page).encode("utf-8")


def jinja2_module() -> Any:
    try:
        import jinja2
    except ModuleNotFoundError as exc:
        raise OutputError.of("extra.missing#html") from exc
    return jinja2


def _resource(name: str) -> str:
    return resources.files(__package__).joinpath("templates").joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _csp(script: str, style: str) -> str:
    """Nothing from any address: the page's own script and style by hash, data: images, no connections."""
    return (
        f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; img-src data:; "
        "connect-src 'none'; font-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _script_json(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>``, ``&`` escaped, so that no
    ``</script>`` or ``<!--`` in a value can end or change the block."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _Strings:
    """Texts stored once in the page, referred to by number."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.items: list[str] = []

    def __call__(self, text: str) -> int:
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.items)
            self.items.append(text)
        return i


def _subject(f: Finding) -> str:
    s = f.subject
    if s.kind == "organisation":
        return "（组织 organisation）"
    if s.kind == "record":
        return f"记录 record {s.record or s.id}"
    text = f"{s.name}（{s.id}）"
    if s.role:
        text += f" {s.role}"
    if s.portfolio:
        text += f" [{s.portfolio}]"
    if s.second is not None:
        text += f" 与 with {s.second.name}（{s.second.id}）"
    return text


def _table_data(report: Report, listed: set[Status] | None, max_rows: int) -> tuple[dict[str, Any], int, int]:
    """The findings the table lists, as compact JSON: a row is ``[status, organisation, rule, subject,
    start, end, expected, found, count, message, reason, evidence, rejected, waiver]`` with texts that
    repeat as numbers into ``strings``. Returns the data, the rows listed and the rows over `max_rows`."""
    s = _Strings()
    rules: dict[str, int] = {}
    rule_rows: list[list[int]] = []
    org_index: dict[str, int] = {}
    org_rows: list[list[int]] = []
    rows: list[list[Any]] = []
    over = 0
    status_index = {status: i for i, status in enumerate(STATUS_ORDER)}
    for f in report.findings:
        if listed is not None and f.status not in listed:
            continue
        if len(rows) >= max_rows:
            over += 1
            continue
        rule = rules.get(f.rule_id)
        if rule is None:
            rule = rules[f.rule_id] = len(rule_rows)
            clause = f.clause.label + (f"：{f.clause.text}" if f.clause.text else "")
            rule_rows.append(
                [s(f.rule_id), s(f.rule_title.zh), s(f.rule_title.en), s(f.severity), s(clause), s(f.pack)]
            )
        org = org_index.get(f.organisation.id)
        if org is None:
            org = org_index[f.organisation.id] = len(org_rows)
            org_rows.append([s(f.organisation.id), s(f.organisation.name)])
        waiver = None
        if f.waiver is not None:
            w = f.waiver
            state = "已过期 expired" if w.expired else "有效 in force"
            waiver = s(f"{w.id}（{state}，至 until {w.expires}，{w.approved_by}）：{w.justification}")
        rows.append(
            [
                status_index[f.status],
                org,
                rule,
                s(_subject(f)),
                f.window.start.isoformat(),
                f.window.end.isoformat(),
                s(f"{f.expected.zh} / {f.expected.en}"),
                s(f"{f.actual.zh} / {f.actual.en}"),
                f.count,
                f.message.zh,
                f"{f.reason.zh} / {f.reason.en}",
                f.evidence,
                [[r.record, s(f"{r.reason.zh} / {r.reason.en}")] for r in f.rejected],
                waiver,
            ]
        )
    data = {
        "statuses": [[st.value, st.zh] for st in STATUS_ORDER],
        "strings": s.items,
        "rules": rule_rows,
        "orgs": org_rows,
        "rows": rows,
    }
    return data, len(rows), over


def _notes(
    report: Report, extra: ClosedLoop, listed: set[Status] | None, shown: int, over: int
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if listed is not None:
        hidden = [(s, report.summary.get(s.value, 0)) for s in STATUS_ORDER if s not in listed]
        hidden = [(s, n) for s, n in hidden if n]
        if hidden:
            zh = "、".join(f"{s.zh} {n} 项" for s, n in hidden)
            en = ", ".join(f"{n} {s.value}" for s, n in hidden)
            out.append(
                (
                    f"结论表只列需关注的结论；{zh}只在各组织的合计中计数，"
                    "逐项见 Excel 报告（各组织工作表）或 JSON 报告。",
                    f"The findings table lists those that need attention; {en} are counted in each "
                    "organisation's totals and listed in the Excel report (organisation sheets) or the JSON report.",
                )
            )
    if over:
        out.append(
            (
                f"结论表最多列 {shown} 项，另有 {over} 项未列出（见 Excel 或 JSON 报告）。",
                f"The findings table lists at most {shown}; {over} more are not listed (see the Excel or JSON report).",
            )
        )
    if report.input.rejections:
        n = len(report.input.rejections)
        out.append(
            (f"{n} 行输入被拒收，结论可能不完整（见下文“输入”）。", f"{n} input rows rejected: see Input below.")
        )
    if report.summary.get("undeterminable"):
        n = report.summary["undeterminable"]
        out.append((f"{n} 项无法判定。", f"{n} findings undeterminable."))
    for label, part in (("评分 scores", extra.scores), ("三实三弱 diagnostics", extra.diagnosis)):
        for note in part.incomplete if part is not None else ():
            out.append((f"{label}：{note.zh}", note.en))
    if extra.scores is not None:
        out += [(n.zh, n.en) for n in extra.scores.scoring.notes]
    return out


def _records(report: Report) -> dict[str, int]:
    records = [s for s in report.input.sources if s.kind == "records"]
    return {
        "read": sum(s.read for s in records),
        "used": sum(s.used for s in records),
        "rejected": sum(s.rejected for s in records),
        "excluded": sum(s.excluded for s in records),
    }


# -- charts: geometry computed here, drawn by the template as SVG


@dataclass
class Bar:
    label: str
    y: float
    segments: list[tuple[str, float, float, int]]  # status, x, width, count
    title: str


@dataclass
class StatusChart:
    bars: list[Bar]
    height: float
    shown: int
    total: int


LABEL_W, CHART_W, ROW_H = 220.0, 440.0, 22.0


def _status_chart(orgs: list[OrgCount]) -> StatusChart:
    """Each organisation's findings by status as a bar of 100 %: the organisations with the most violations
    first, at most :data:`CHART_ORGS`."""
    order = sorted(orgs, key=lambda o: (-o.counts.get("violated", 0), -o.counts.get("undeterminable", 0)))
    bars = []
    for i, org in enumerate(order[:CHART_ORGS]):
        total = org.total or 1
        x, segments = LABEL_W, []
        for status in STATUS_ORDER:
            n = org.counts.get(status.value, 0)
            if n:
                width = CHART_W * n / total
                segments.append((status.value, round(x, 2), round(width, 2), n))
                x += width
        counts = "，".join(f"{s.zh} {org.counts.get(s.value, 0)}" for s in STATUS_ORDER if org.counts.get(s.value))
        bars.append(Bar(_cut(org.name, 16), 24 + i * ROW_H, segments, f"{org.name}（{org.id}）：{counts}"))
    return StatusChart(bars, 34 + len(bars) * ROW_H, len(bars), len(orgs))


@dataclass
class GapBar:
    label: str
    y: float
    width: float
    low: float | None
    high: float | None
    text: str


@dataclass
class GapGroup:
    title: str
    y: float
    bars: list[GapBar]
    gap: str


def _gap_chart(d: Diagnosis) -> dict[str, Any]:
    """Per pair, the two fulfilment rates with their Wilson intervals (whiskers) and the gap."""
    groups = []
    y = 10.0
    for g in d.gaps:
        bars = []
        for i, (label, rate) in enumerate(((g.first_label, g.first), (g.second_label, g.second))):
            text = "-" if rate.rate is None else f"{rate.rate:.1%}（{rate.fulfilled}/{rate.n}）"
            bars.append(
                GapBar(
                    f"{label.zh} {label.en}",
                    y + 22 + i * 22,
                    0.0 if rate.rate is None else round(CHART_W * rate.rate, 2),
                    None if rate.low is None else round(LABEL_W + CHART_W * rate.low, 2),
                    None if rate.high is None else round(LABEL_W + CHART_W * rate.high, 2),
                    text,
                )
            )
        gap = "差距 gap -" if g.gap is None else f"差距 gap {g.gap * 100:+.1f} 个百分点 points"
        if g.low is not None and g.high is not None:
            gap += f"（{g.low * 100:+.1f} .. {g.high * 100:+.1f}）"
        if g.widest is not None:
            gap += f"；最大处 widest: {g.widest.name}"
        if g.change is not None:
            gap += f"；变化 change {g.change * 100:+.1f}"
        groups.append(GapGroup(f"{g.title.zh} / {g.title.en}", y + 12, bars, gap))
        y += 92
    return {"groups": groups, "height": y + 4}


def _score_chart(result: ScoreResult) -> dict[str, Any]:
    """The organisations' scores, lowest first, at most :data:`CHART_ORGS`."""
    cards = sorted((c for c in result.organisations if c.score is not None), key=lambda c: (c.score, c.id))
    bars = []
    for i, c in enumerate(cards[:CHART_ORGS]):
        score = c.score or 0.0
        bars.append(
            {
                "label": _cut(c.name, 16),
                "y": 24 + i * ROW_H,
                "width": round(CHART_W * score / 100, 2),
                "text": f"{score:.2f}（{c.group} {c.rank}/{c.ranked}）",
                "title": f"{c.name}（{c.id}）",
            }
        )
    return {"bars": bars, "height": 34 + len(bars) * ROW_H, "shown": len(bars), "total": len(cards)}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["MAX_ROWS", "render_html"]
