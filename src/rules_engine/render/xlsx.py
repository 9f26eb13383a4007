"""The report as an Excel workbook (``--format xlsx``), written with XlsxWriter (the ``reports`` extra).

Sheets, in order:

- ``摘要`` summary: the period, the evaluation date, the rule packs, the input account, the count per
  status, notes on anything incomplete, what each sheet holds, and one row per organisation (its counts,
  its score and rank when scored, a link to its sheet);
- ``未履行`` violations: one row per violated finding, with its explanation (expected, found, reason,
  evidence, candidate records rejected and why, waiver); autofilter, frozen header;
- ``规则`` the rules: title, severity, pack, clause;
- ``评分`` scorecard and ``评分明细`` its breakdown per rule (with a scoring file; above :data:`LARGE_REPORT`
  findings the organisations' rules with points lost or findings to deal with, a note row saying how many
  rows are left out and where the people's are);
- ``三实三弱`` the diagnosis: the three pairs of rates, their gaps, each level, and per organisation where
  each gap is widest (with the roster, whose organisation tree it needs);
- ``输入`` the input account: each source's rows read, used, rejected and excluded, then every rejected,
  excluded and warned row with file, line, field and reason;
- one sheet per organisation: all its findings (every status), autofilter, frozen header. Above
  :data:`LARGE_REPORT` findings, those that need attention (violated, undeterminable, pending, waived):
  the summary counts the rest and says so.

Above :data:`LARGE_REPORT` findings the finding sheets also have fewer columns (:data:`LARGE_VIOLATION_COLUMNS`,
:data:`LARGE_ORG_SHEET_COLUMNS`: no message on the violations sheet, no count and no reason of a violated finding on
an organisation's sheet; the breakdown as said above), so that a province's workbook (1.1 million cells;
XlsxWriter takes about 5 µs a cell)
is written in under 10 s. A sheet that leaves something out says what and where in a note row above its two
header rows (the table then starts on the fourth row; the frozen panes mark where).

Headers are in Chinese, with the English in a second header row (the filter buttons sit on that row).
Dates are Excel dates. Every text cell is written with ``write_string`` (never read as a formula) and, as
OWASP recommends for spreadsheets, a text that a spreadsheet could take for a formula once copied out
(starting with ``= + - @``, a tab or a line break, after any spaces) gets a leading apostrophe
(:func:`rules_engine.render.csv.neutralise`). Sheet names are made safe (at most 31 characters, none of
``[]:*?/\\``, no leading or trailing apostrophe) and unique (ignoring case, as Excel does).

Up to :data:`STREAM_ROWS` finding rows the cells are held in memory until the workbook is closed (about
100 MB for a province of 1,000 organisations), texts in the shared string table once each; above, the
workbook is streamed (XlsxWriter's ``constant_memory`` mode: each row to a temporary file as soon as the
next one starts, each text inline), so memory does not grow with the number of findings, a fifth slower.
The same report gives the same bytes (the workbook's creation date is the evaluation date).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..atomic import atomic_write
from ..errors import OutputError
from ..gcpause import paused_gc
from ..model.findings import Finding, Report, Status
from .csv import neutralise
from .sections import (
    ATTENTION,
    STATUS_ORDER,
    ClosedLoop,
    OrgCount,
    closed_loop,
    iso_date,
    org_counts,
    rejected_text,
    subject_text,
    waiver_text,
)

if TYPE_CHECKING:
    from ..diagnose import Diagnosis
    from ..load.inputs import RosterResult
    from ..model.roster import Roster
    from ..model.scoring import Scoring
    from ..scorecard import ScoreResult

MAX_CELL = 32_767  # characters Excel keeps in one cell
MAX_ROWS = 1_048_576  # rows of a worksheet
SHEET_NAME_MAX = 31
_EXCEL_EPOCH, _EXCEL_LEAP_BUG_END = dt.date(1899, 12, 30), dt.date(1900, 3, 1)
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")

SUMMARY, VIOLATIONS, RULES, SCORES, BREAKDOWN, DIAGNOSIS, INPUT = (
    "摘要",
    "未履行",
    "规则",
    "评分",
    "评分明细",
    "三实三弱",
    "输入",
)

_STATUS_COLOUR = {
    Status.fulfilled: "#1b7a2e",
    Status.violated: "#b3121d",
    Status.pending: "#9a6700",
    Status.not_applicable: "#6e7781",
    Status.undeterminable: "#8250df",
    Status.waived: "#0969da",
}

Cell = Callable[[Finding], Any]
#: what a column holds, so that its cells are written without asking each value its type
TEXT, NUMBER, DATE, STATUS = "text", "number", "date", "status"
Column = tuple[str, str, int, Cell, str]


def _window_start(f: Finding) -> Any:
    return iso_date(f.window.start) or f.window.start


def _window_end(f: Finding) -> Any:
    return iso_date(f.window.end) or f.window.end


#: (Chinese header, English header, width, value of a finding, kind of value)
VIOLATION_COLUMNS: tuple[Column, ...] = (
    ("组织编号", "organisation_id", 12, lambda f: f.organisation.id, TEXT),
    ("组织", "organisation", 18, lambda f: f.organisation.name, TEXT),
    ("规则编号", "rule_id", 11, lambda f: f.rule_id, TEXT),
    ("规则", "rule", 34, lambda f: f.rule_title.zh, TEXT),
    ("责任主体", "subject", 26, subject_text, TEXT),
    ("职务", "role", 10, lambda f: f.subject.role or "", TEXT),
    ("区间起", "window start", 11, _window_start, DATE),
    ("区间止", "window end", 11, _window_end, DATE),
    ("应为", "expected", 16, lambda f: f.expected.zh, TEXT),
    ("实际", "found", 12, lambda f: f.actual.zh, TEXT),
    ("次数", "count", 6, lambda f: f.count, NUMBER),
    ("说明", "message", 48, lambda f: f.message.zh, TEXT),
    ("理由", "reason", 48, lambda f: f"{f.reason.zh} / {f.reason.en}", TEXT),
    ("证据（计入的记录）", "evidence (records counted)", 24, lambda f: "、".join(f.evidence), TEXT),
    ("未计入的记录及原因", "records rejected and why", 40, rejected_text, TEXT),
    ("豁免", "waiver", 30, waiver_text, TEXT),
)
#: an organisation's sheet: a line per finding (the violations sheet and the rules sheet have the rest)
ORG_SHEET_COLUMNS: tuple[Column, ...] = (
    ("状态", "status", 12, lambda f: f.status, STATUS),
    ("规则编号", "rule_id", 11, lambda f: f.rule_id, TEXT),
    ("责任主体", "subject", 26, subject_text, TEXT),
    ("区间起", "window start", 11, _window_start, DATE),
    ("区间止", "window end", 11, _window_end, DATE),
    ("应为", "expected", 16, lambda f: f.expected.zh, TEXT),
    ("实际", "found", 12, lambda f: f.actual.zh, TEXT),
    ("次数", "count", 6, lambda f: f.count, NUMBER),
    ("理由", "reason", 60, lambda f: f.reason.zh, TEXT),
)
#: a large report's violations sheet: without the message, a sentence that restates the row (organisation,
#: subject, rule, period, expected, found; a province has 46,000 of them, each a different text), and without
#: the count (the found column says it)
LARGE_VIOLATION_COLUMNS: tuple[Column, ...] = tuple(c for c in VIOLATION_COLUMNS if c[1] not in ("message", "count"))
#: a large report's organisation sheet: without the count (the found column says it) and with the reason
#: of the findings that are not on the violations sheet (a violated finding's is there)
LARGE_ORG_SHEET_COLUMNS: tuple[Column, ...] = (
    *(c for c in ORG_SHEET_COLUMNS if c[1] not in ("count", "reason")),
    (
        "理由（未履行的见“未履行”）",
        "reason (violated: see 未履行)",
        60,
        lambda f: "" if f.status is Status.violated else f.reason.zh,
        TEXT,
    ),
)
#: above this many finding rows (the violations sheet's and the organisation sheets'), the workbook is
#: streamed (XlsxWriter's ``constant_memory``: each row to a temporary file as soon as the next starts);
#: below, held in memory, faster: about 100 MB for 93,000 rows (a province of 1,000 organisations)
STREAM_ROWS = 150_000
#: above this many findings, the organisation sheets list the findings that need attention (every status
#: but fulfilled and not applicable, which the summary counts): a province's 150,000 lines would take
#: XlsxWriter half a minute and make a workbook nobody scrolls; and the finding sheets have fewer columns
#: (:data:`LARGE_VIOLATION_COLUMNS`, :data:`LARGE_ORG_SHEET_COLUMNS`), each sheet saying so in a note row
#: above its header, so that a province's workbook is written in seconds
LARGE_REPORT = 20_000


def render_xlsx(
    report: Report,
    out: str | Path | IO[bytes],
    scoring: Scoring | ScoreResult | str | Path | None = None,
    roster: Roster | RosterResult | Diagnosis | str | Path | None = None,
    *,
    inputs: Iterable[str | Path] = (),
    every_finding: bool | None = None,
) -> None:
    """Write `report` as an Excel workbook to `out` (a path, written whole or not at all and never over one
    of `inputs`; or a binary file object, which must be seekable). With `scoring` (a scoring file, a
    :class:`~rules_engine.Scoring`, or a :class:`~rules_engine.ScoreResult`) the workbook has the scorecard
    sheets; with `roster` (the roster the report was made from: its file, or, not to read it again, what
    :func:`~rules_engine.read_roster` returned and :func:`~rules_engine.evaluate` was given; or a
    :class:`~rules_engine.Diagnosis`) the 三实三弱 sheet; both computed once per report for this and
    :func:`render_html` (see :func:`~rules_engine.render.sections.closed_loop`). `every_finding`: whether
    the organisation sheets list every finding (True) or those that need attention (False); by default
    every finding up to :data:`LARGE_REPORT` findings. Needs the ``reports`` extra (XlsxWriter)."""
    xlsxwriter = xlsxwriter_module()
    with paused_gc():  # a million short-lived cells and no cycles: the collector would only rescan the report
        extra = closed_loop(report, scoring, roster)  # errors before anything is written
        if isinstance(out, (str, Path)):
            with atomic_write(out, inputs) as handle:
                _Workbook(xlsxwriter, handle, report, extra, every_finding).write()
        else:
            _Workbook(xlsxwriter, out, report, extra, every_finding).write()


def xlsxwriter_module() -> Any:
    try:
        import xlsxwriter
    except ModuleNotFoundError as exc:
        raise OutputError.of("extra.missing#xlsx") from exc
    return xlsxwriter


def safe_sheet_name(name: str, taken: set[str], fallback: str = "sheet") -> str:
    """`name` as a worksheet name Excel accepts: forbidden characters ``[]:*?/\\`` (and control characters)
    replaced by ``_``, no leading or trailing apostrophe, at most 31 characters, not ``History`` (reserved),
    and unique among `taken` ignoring case (``~2``, ``~3`` ... appended). Adds the name to `taken`
    (lower-cased)."""
    base = _SHEET_FORBIDDEN.sub("_", name).strip().strip("'").strip() or fallback
    if base.lower() == "history":
        base += "_"
    base = base[:SHEET_NAME_MAX]
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f"~{n}"
        candidate = base[: SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix
    taken.add(candidate.lower())
    return candidate


def _text(value: str) -> str:
    """A text cell: neutralised against formula injection, cut to what a cell holds."""
    text = neutralise(value)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    return text


class _Workbook:
    def __init__(
        self, xlsxwriter: Any, handle: IO[bytes], report: Report, extra: ClosedLoop, every_finding: bool | None
    ) -> None:
        self.report = report
        self.extra = extra
        self.large = len(report.findings) > LARGE_REPORT
        self.every = not self.large if every_finding is None else every_finding
        listed = len(report.findings) if self.every else sum(report.summary.get(s.value, 0) for s in ATTENTION)
        self.streaming = report.summary.get("violated", 0) + listed > STREAM_ROWS
        as_of = iso_date(report.as_of) or dt.date(2000, 1, 1)
        self.book = xlsxwriter.Workbook(
            handle,
            {
                # held: each sheet's XML in memory, not in a temporary file (a province has a thousand sheets)
                "in_memory": False,
                "constant_memory": self.streaming,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        self.sheet_class = sheet_class()
        self.book.set_properties(
            {
                "title": f"履责情况报告 duty fulfilment report {report.period.label}",
                "created": dt.datetime(as_of.year, as_of.month, as_of.day),
            }
        )
        b = self.book
        self.f_title = b.add_format({"bold": True, "font_size": 14})
        self.f_bold = b.add_format({"bold": True})
        self.f_head = b.add_format({"bold": True, "bg_color": "#dfe7f1", "border": 1, "text_wrap": True})
        self.f_head_en = b.add_format({"italic": True, "font_color": "#57606a", "bg_color": "#eef2f7", "border": 1})
        self.f_date = b.add_format({"num_format": "yyyy-mm-dd"})
        self.f_pct = b.add_format({"num_format": "0.0%"})
        self.f_num = b.add_format({"num_format": "0.00"})
        self.f_wrap = b.add_format({"text_wrap": True, "valign": "top"})
        self.f_link = b.add_format({"font_color": "#0969da", "underline": 1})
        self.f_note = b.add_format({"bold": True, "font_color": "#9a6700"})
        self.f_status = {
            s: b.add_format({"font_color": c, "bold": s is Status.violated}) for s, c in _STATUS_COLOUR.items()
        }
        self.taken: set[str] = set()
        self.texts: dict[str, str] = {}
        self.days: dict[dt.date, int] = {}
        self._breakdown: tuple[list[dict[str, Any]], int] | None = None
        self.status_text = {status: f"{status.zh} {status.value}" for status in Status}

    # -- cells

    def cell(self, sheet: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
        kind = type(value)
        if kind is str:  # the commonest first; texts repeat (names, rules, reasons): each made safe once
            if value:
                text = self.texts.get(value)
                if text is None:
                    text = self.texts[value] = _text(value)
                sheet.write_string(row, col, text, fmt)
        elif value is None:
            return
        elif isinstance(value, Status):
            sheet.write_string(row, col, self.status_text[value], fmt or self.f_status[value])
        elif isinstance(value, bool):
            sheet.write_string(row, col, "是 yes" if value else "否 no", fmt)
        elif isinstance(value, (int, float)):
            sheet.write_number(row, col, value, fmt)
        elif isinstance(value, dt.date):
            if type(value) is dt.date and value >= _EXCEL_LEAP_BUG_END:  # days since 1899-12-30, date format
                sheet.write_number(row, col, (value - _EXCEL_EPOCH).days, fmt or self.f_date)
            else:  # before March 1900 Excel counts a 29 February 1900 that never was: XlsxWriter knows
                sheet.write_datetime(row, col, dt.datetime(value.year, value.month, value.day), fmt or self.f_date)
        elif value != "":
            self.cell(sheet, row, col, str(value), fmt)

    def header(self, sheet: Any, row: int, columns: Sequence[tuple[Any, ...]]) -> None:
        """Two header rows (Chinese, then English), column widths set: each column is (Chinese, English,
        width, ...)."""
        for col, column in enumerate(columns):
            sheet.set_column(col, col, column[2])
            sheet.write_string(row, col, column[0], self.f_head)
        for col, column in enumerate(columns):
            sheet.write_string(row + 1, col, column[1], self.f_head_en)

    def table(self, sheet: Any, row: int, items: Iterable[Any], columns: Sequence[tuple[Cell, str, Any]]) -> int:
        """A row from `row` on for each of `items`; `columns`: (value of an item, kind of value, format). The
        cells are written by their column's kind, not by asking each value its type: the workbook of a
        province has more than a million of them. An empty text and a missing value leave the cell empty.
        Returns the row after the last."""
        # the methods behind write_string and write_number, without the wrapper that reads "A1" cell names
        # (a fifth of the time of a cell); the public ones if a later XlsxWriter renames them
        write_string = getattr(sheet, "_write_string", sheet.write_string)
        write_number = getattr(sheet, "_write_number", sheet.write_number)
        texts, days, status_text, f_status = self.texts, self.days, self.status_text, self.f_status
        plan = [(col, get, kind, fmt) for col, (get, kind, fmt) in enumerate(columns)]
        for item in items:
            for col, get, kind, fmt in plan:
                value = get(item)
                if kind is TEXT:
                    if value:
                        text = texts.get(value)
                        if text is None:
                            text = texts[value] = _text(value)
                        write_string(row, col, text, fmt)
                elif kind is NUMBER:
                    if value is not None:
                        write_number(row, col, value, fmt)
                elif kind is DATE:
                    day = days.get(value) if type(value) is dt.date else None
                    if day is None and type(value) is dt.date and value >= _EXCEL_LEAP_BUG_END:
                        day = days[value] = (value - _EXCEL_EPOCH).days
                    if day is not None:  # days since 1899-12-30, with a date format
                        write_number(row, col, day, fmt or self.f_date)
                    else:
                        self.cell(sheet, row, col, value, fmt)
                elif kind is STATUS:
                    write_string(row, col, status_text[value], fmt or f_status[value])
                else:
                    self.cell(sheet, row, col, value, fmt)
            row += 1
        return row

    def add_sheet(self, name: str, fallback: str = "sheet") -> tuple[str, Any]:
        safe = safe_sheet_name(name, self.taken, fallback)
        return safe, self.book.add_worksheet(safe, worksheet_class=self.sheet_class)

    # -- the workbook

    def write(self) -> None:
        orgs = org_counts(self.report)
        for name in (SUMMARY, VIOLATIONS, RULES, SCORES, BREAKDOWN, DIAGNOSIS, INPUT):
            self.taken.add(name.lower())  # the fixed sheets' names are never given to an organisation
        self.taken.discard(SUMMARY.lower())
        _, summary = self.add_sheet(SUMMARY)
        self.taken.discard(VIOLATIONS.lower())
        _, violations = self.add_sheet(VIOLATIONS)
        self.taken.discard(RULES.lower())
        _, rules = self.add_sheet(RULES)
        scores = breakdown = diagnosis = None
        if self.extra.scores is not None:
            self.taken.discard(SCORES.lower())
            _, scores = self.add_sheet(SCORES)
            self.taken.discard(BREAKDOWN.lower())
            _, breakdown = self.add_sheet(BREAKDOWN)
        if self.extra.diagnosis is not None:
            self.taken.discard(DIAGNOSIS.lower())
            _, diagnosis = self.add_sheet(DIAGNOSIS)
        self.taken.discard(INPUT.lower())
        _, account = self.add_sheet(INPUT)
        org_sheets = {o.id: self.add_sheet(o.name, o.id) for o in orgs}

        left_out = self.write_findings_sheets(violations, org_sheets, orgs)
        self.write_summary(summary, orgs, {k: v[0] for k, v in org_sheets.items()}, left_out)
        self.write_rules(rules)
        if scores is not None and breakdown is not None:
            self.write_scores(scores, breakdown)
        if diagnosis is not None:
            self.write_diagnosis(diagnosis)
        self.write_input(account)
        self.book.close()
        _release(self.book)

    def write_findings_sheets(
        self, violations: Any, org_sheets: dict[str, tuple[str, Any]], orgs: list[OrgCount]
    ) -> int:
        """The violations sheet and each organisation's sheet, in one pass over the findings. Returns the
        number of rows left out because a sheet is full (more than a million)."""
        v_columns = LARGE_VIOLATION_COLUMNS if self.large else VIOLATION_COLUMNS
        o_columns = LARGE_ORG_SHEET_COLUMNS if self.large else ORG_SHEET_COLUMNS
        left_out = 0
        by_org: dict[str, list[Finding]] = {org_id: [] for org_id in org_sheets}
        listed = None if self.every else set(ATTENTION)
        for f in self.report.findings:
            if listed is None or f.status in listed:
                by_org[f.organisation.id].append(f)
        o_plan = [(get, kind, None) for _, _, _, get, kind in o_columns]
        counts = {o.id: o.counts for o in orgs}
        for org_id, (_, sheet) in org_sheets.items():
            first = self.table_head(sheet, o_columns, self.org_sheet_note(counts.get(org_id, {})))
            findings = by_org.pop(org_id)
            left_out += max(0, len(findings) - (MAX_ROWS - first))
            findings = findings[: MAX_ROWS - first]
            self.table(sheet, first, findings, o_plan)
            sheet.autofilter(first - 1, 0, max(first - 1 + len(findings), first - 1), len(o_columns) - 1)
            _close_rows(sheet)
        first = self.table_head(violations, v_columns, self.violations_note())
        violated = [f for f in self.report.findings if f.status is Status.violated]
        left_out += max(0, len(violated) - (MAX_ROWS - first))
        v_plan = [(get, kind, None) for _, _, _, get, kind in v_columns]
        end = self.table(violations, first, violated[: MAX_ROWS - first], v_plan)
        violations.autofilter(first - 1, 0, max(end - 1, first - 1), len(v_columns) - 1)
        return left_out

    def table_head(self, sheet: Any, columns: Sequence[tuple[Any, ...]], note: str | None) -> int:
        """The head of a sheet that is one table: a note row when the sheet leaves something out (what, and
        where it is), then the two header rows, frozen. Returns the first row of the table's data."""
        row = 0
        if note:
            self.cell(sheet, 0, 0, note, self.f_note)
            row = 1
        self.header(sheet, row, columns)
        sheet.freeze_panes(row + 2, 0)
        return row + 2

    def violations_note(self) -> str | None:
        if not self.large:
            return None
        return (
            f"结论较多（{len(self.report.findings)} 项，超过 {LARGE_REPORT}）：本表略去“说明”列（它复述本行各列，"
            "见 JSON 或 CSV 报告的 message）和“次数”列（见“实际”）/ a large report: the message column is left out "
            "(it restates the row; in the JSON and CSV reports), and the count (in the found column)"
        )

    def org_sheet_note(self, counts: dict[str, int]) -> str | None:
        parts_zh, parts_en = [], []
        if not self.every:
            fulfilled, na = counts.get("fulfilled", 0), counts.get("not_applicable", 0)
            parts_zh.append(
                f"只列需关注的结论；已履行 {fulfilled} 项、不适用 {na} 项未逐项列出"
                f"（计数见“{SUMMARY}”，逐项见 JSON 或 CSV 报告）"
            )
            parts_en.append(
                f"the findings that need attention; {fulfilled} fulfilled and {na} not applicable are not listed "
                f"(counted on {SUMMARY}, listed in the JSON or CSV report)"
            )
        if self.large:
            parts_zh.append(f"未履行结论的理由、证据和说明见“{VIOLATIONS}”，次数见“实际”列")
            parts_en.append(
                f"a violated finding's reason, evidence and explanation are on {VIOLATIONS}; the count is in the "
                "found column"
            )
        if not parts_zh:
            return None
        return (
            f"结论较多（{len(self.report.findings)} 项）："
            + "；".join(parts_zh)
            + " / a large report: "
            + "; ".join(parts_en)
        )

    def write_summary(self, sheet: Any, orgs: list[OrgCount], names: dict[str, str], left_out: int) -> None:
        r = self.report
        period_start, period_end = iso_date(r.period.start), iso_date(r.period.end)
        self.cell(sheet, 0, 0, "履责情况报告 Duty fulfilment report", self.f_title)
        self.cell(sheet, 2, 0, "评价期间 period", self.f_bold)
        self.cell(sheet, 2, 1, r.period.label)
        self.cell(sheet, 2, 2, period_start or r.period.start)
        self.cell(sheet, 2, 3, period_end or r.period.end)
        self.cell(sheet, 3, 0, "评价日期 as of", self.f_bold)
        self.cell(sheet, 3, 1, iso_date(r.as_of) or r.as_of)
        self.cell(sheet, 4, 0, "规则包 rules", self.f_bold)
        self.cell(sheet, 4, 1, ", ".join(f"{p.id}@{p.version}" for p in r.rules))
        records = [s for s in r.input.sources if s.kind == "records"]
        self.cell(sheet, 5, 0, "输入 input", self.f_bold)
        self.cell(
            sheet,
            5,
            1,
            f"记录 {sum(s.read for s in records)} 条读入，{sum(s.rejected for s in records)} 条拒收，"
            f"{sum(s.excluded for s in records)} 条排除 / records read, rejected, excluded (见 see “{INPUT}”)",
        )
        row = 7
        self.cell(sheet, row, 0, "状态 status", self.f_head)
        self.cell(sheet, row, 1, "英文 English", self.f_head)
        self.cell(sheet, row, 2, "结论数 findings", self.f_head)
        for status in STATUS_ORDER:
            row += 1
            self.cell(sheet, row, 0, status.zh, self.f_status[status])
            self.cell(sheet, row, 1, status.value)
            self.cell(sheet, row, 2, r.summary.get(status.value, 0))
        row += 1
        self.cell(sheet, row, 0, "合计 total", self.f_bold)
        self.cell(sheet, row, 2, sum(r.summary.values()))
        notes = self.notes(left_out)
        if notes:
            row += 2
            self.cell(sheet, row, 0, "注意 notes", self.f_bold)
            for note in notes:
                row += 1
                self.cell(sheet, row, 0, note)
        row += 2
        self.cell(sheet, row, 0, "工作表 sheets", self.f_bold)
        for name, what in self.guide():
            row += 1
            self.cell(sheet, row, 0, name)
            self.cell(sheet, row, 1, what)
        row += 2
        scores = {c.organisation: c for c in self.extra.scores.organisations} if self.extra.scores else {}
        columns: list[tuple[str, str, int, Any]] = [
            ("组织编号", "organisation_id", 14, None),
            ("组织", "organisation", 28, None),
            ("类型", "kind", 14, None),
            ("工作表", "sheet", 14, None),
            *((s.zh, s.value, 11, None) for s in STATUS_ORDER),
            ("合计", "total", 11, None),
        ]
        if scores:
            columns += [("得分", "score", 11, None), ("名次", "rank", 11, None)]
        self.header(sheet, row, columns)
        row += 1
        for org in orgs:
            row += 1
            self.cell(sheet, row, 0, org.id)
            self.cell(sheet, row, 1, org.name)
            self.cell(sheet, row, 2, org.kind)
            name = names[org.id]
            sheet.write_url(row, 3, "internal:'" + name.replace("'", "''") + "'!A1", self.f_link, _text(name))
            for col, status in enumerate(STATUS_ORDER, start=4):
                self.cell(sheet, row, col, org.counts.get(status.value, 0))
            self.cell(sheet, row, 4 + len(STATUS_ORDER), org.total)
            card = scores.get(org.id)
            if card is not None:
                self.cell(sheet, row, 5 + len(STATUS_ORDER), card.score, self.f_num)
                self.cell(sheet, row, 6 + len(STATUS_ORDER), card.rank)

    def notes(self, left_out: int) -> list[str]:
        r = self.report
        out = []
        if not self.every:
            fulfilled, na = r.summary.get("fulfilled", 0), r.summary.get("not_applicable", 0)
            out.append(
                f"结论较多（{len(r.findings)} 项）：各组织工作表只列需关注的结论"
                "（未履行、无法判定、期限未到、已豁免）；"
                f"已履行 {fulfilled} 项、不适用 {na} 项只计数，逐项见 JSON 或 CSV 报告 / a large report: the "
                f"organisation sheets list the findings that need attention; {fulfilled} fulfilled and {na} not "
                "applicable are counted here, listed in the JSON or CSV report"
            )
        if self.large:
            out.append(
                f"结论较多（{len(r.findings)} 项，超过 {LARGE_REPORT}）：“{VIOLATIONS}”略去“说明”列（它复述本行各列，"
                f"见 JSON 或 CSV 报告）；“{VIOLATIONS}”和各组织工作表略去“次数”列（见“实际”），未履行结论的理由只在"
                f"“{VIOLATIONS}”；“{BREAKDOWN}”略去类别和组织编号两列（都是组织本身）"
                " / a large report: the violations sheet leaves out the message (it restates the row; in the JSON "
                "and CSV reports); the finding sheets leave out the count (in the found column); the organisation "
                "sheets give a violated finding's reason on the violations sheet only; the breakdown leaves out "
                "the kind and organisation columns (each row is the organisation itself)"
            )
        if left_out:
            out.append(
                f"超过 Excel 工作表行数上限，{left_out} 行结论未列出（见 JSON 报告）/ {left_out} finding rows did not "
                "fit in a worksheet's million rows (see the JSON report)"
            )
        if r.input.rejections:
            n = len(r.input.rejections)
            out.append(
                f"{n} 行输入被拒收，结论可能不完整（见“{INPUT}”）/ {n} input rows rejected: findings may be incomplete"
            )
        if r.summary.get("undeterminable"):
            n = r.summary["undeterminable"]
            out.append(f"{n} 项无法判定（见各组织工作表）/ {n} findings undeterminable (see the organisation sheets)")
        for label, part in (("评分 scores", self.extra.scores), ("三实三弱 diagnostics", self.extra.diagnosis)):
            for note in part.incomplete if part is not None else ():
                out.append(f"{label}: {note.zh} / {note.en}")
        if self.extra.scores is not None:
            if not self.every:
                out.append(self.people_breakdown_note(self.breakdown_rows()[1]))
            out += [f"{n.zh} / {n.en}" for n in self.extra.scores.scoring.notes]
        return out

    def breakdown_rows(self) -> tuple[list[dict[str, Any]], int]:
        """The breakdown's rows, and how many of the organisations' are left out. Every row in a small report;
        in a large one (a province), the organisations' rules with points lost or findings to deal with, not
        those with every finding fulfilled or not applicable (and the people's: `rules-engine score`)."""
        if self._breakdown is None:
            assert self.extra.scores is not None
            rows = self.extra.scores.breakdown_rows(people=self.every)
            fix = rows if self.every else [r for r in rows if r["lost"] or any(r[s.value] for s in ATTENTION)]
            self._breakdown = (fix, len(rows) - len(fix))
        return self._breakdown

    def people_breakdown_note(self, clean: int | None = None) -> str:
        """What a large report's breakdown leaves out; `clean`: the organisations' rows left out (every
        finding fulfilled or not applicable, no point lost), when known."""
        people = sum(len(c.rules) for c in self.extra.scores.people) if self.extra.scores else 0
        zh = f"“{BREAKDOWN}”只列各组织有失分或待处理结论的规则（编号即组织编号）"
        en = f"a large report: “{BREAKDOWN}” lists the organisations' rules with points lost or findings to deal with"
        if clean:
            zh += f"；全部已履行或不适用、未失分的 {clean} 行"
            en += f"; {clean} rows with every finding fulfilled or not applicable and no point lost"
        zh += f"；个人的 {people} 行明细"
        en += f" (the id is the organisation's); the people's {people} rows"
        return f"{zh}见 rules-engine score --format json / {en}: rules-engine score --format json"

    def guide(self) -> list[tuple[str, str]]:
        out = [
            (VIOLATIONS, "每项未履行的结论及其说明（可筛选）/ every violated finding, explained (filterable)"),
            (RULES, "规则、条款与严重程度 the rules, their clauses and severity"),
        ]
        if self.extra.scores is not None:
            out.append((SCORES, "组织与个人的得分和排名 scores and ranks of organisations and people"))
            out.append(
                (BREAKDOWN, "每个得分按规则的明细 the breakdown of each score per rule")
                if self.every
                else (BREAKDOWN, "各组织得分按规则的明细 the breakdown of each organisation's score per rule")
            )
        if self.extra.diagnosis is not None:
            out.append((DIAGNOSIS, "三实三弱：三组履行率、差距及最大处 the three gaps and where each is widest"))
        out.append((INPUT, "输入账目与被拒收的行 the input account and every row not used"))
        out.append(
            (
                "（组织名）",
                "每个组织的全部结论 each organisation's findings (every status)"
                if self.every
                else "每个组织需关注的结论 each organisation's findings that need attention",
            )
        )
        return out

    def write_rules(self, sheet: Any) -> None:
        """One row per rule of the findings: title, severity, pack, clause (the organisation sheets and the
        violations sheet name the rule by its id)."""
        seen: dict[str, Finding] = {}
        for f in self.report.findings:
            seen.setdefault(f.rule_id, f)
        columns = (
            ("规则编号", "rule_id", 11),
            ("规则", "title", 40),
            ("英文", "title (English)", 40),
            ("严重程度", "severity", 9),
            ("规则包", "pack", 28),
            ("条款", "clause", 30),
            ("条款原文", "clause text", 60),
            ("来源", "provenance", 12),
            ("可信度", "confidence", 9),
        )
        self.header(sheet, 0, [(zh, en, w, None) for zh, en, w in columns])
        sheet.freeze_panes(2, 0)
        for row, rule_id in enumerate(sorted(seen), start=2):
            f = seen[rule_id]
            values = (
                rule_id,
                f.rule_title.zh,
                f.rule_title.en,
                f.severity,
                f"{f.pack}@{f.pack_version}",
                f.clause.label,
                f.clause.text,
                f.clause.provenance,
                f.clause.confidence,
            )
            for col, value in enumerate(values):
                self.cell(sheet, row, col, value)
        sheet.autofilter(1, 0, max(len(seen) + 1, 1), len(columns) - 1)

    def write_scores(self, sheet: Any, breakdown: Any) -> None:
        result = self.extra.scores
        assert result is not None
        columns = (
            ("类别", "kind", 10),
            ("排名组", "group", 22),
            ("名次", "rank", 6),
            ("参与排名", "ranked", 8),
            ("编号", "id", 12),
            ("名称", "name", 16),
            ("职务", "role", 10),
            ("组织编号", "organisation", 12),
            ("组织", "organisation_name", 18),
            ("得分", "score", 8),
            ("实得", "earned", 8),
            ("应得", "possible", 8),
            *((s.zh, s.value, 8) for s in STATUS_ORDER),
            ("完整", "complete", 8),
        )
        self.header(sheet, 0, [(zh, en, w, None) for zh, en, w in columns])
        sheet.freeze_panes(2, 0)
        rows = result.rows()
        self.table(sheet, 2, rows, [_dict_column(key, self.f_num) for _, key, _ in columns])
        sheet.autofilter(1, 0, max(len(rows) + 1, 1), len(columns) - 1)
        b_columns = (
            ("类别", "kind", 10),
            ("编号", "id", 12),
            ("组织编号", "organisation", 12),
            ("规则编号", "rule_id", 11),
            ("权重", "weight", 7),
            *((s.zh, s.value, 8) for s in STATUS_ORDER),
            ("应得", "possible", 8),
            ("实得", "earned", 8),
            ("失分", "lost", 8),
            ("触及上限", "capped", 8),
        )
        b_rows, clean = self.breakdown_rows()
        note = None if self.every else self.people_breakdown_note(clean)
        if not self.every:  # every row an organisation's own: its kind and organisation are the row itself
            b_columns = tuple(c for c in b_columns if c[1] not in ("kind", "organisation"))
        first = self.table_head(breakdown, b_columns, note)
        self.table(breakdown, first, b_rows, [_dict_column(key) for _, key, _ in b_columns])
        breakdown.autofilter(first - 1, 0, first - 1 + len(b_rows), len(b_columns) - 1)

    def write_diagnosis(self, sheet: Any) -> None:
        d = self.extra.diagnosis
        assert d is not None
        self.cell(sheet, 0, 0, "三实三弱诊断 diagnostics", self.f_title)
        self.cell(
            sheet,
            1,
            0,
            f"履行率 = 已履行 /（已履行 + 未履行），{d.confidence:.0%} Wilson 区间；差距 = 前者 − 后者（Newcombe 区间）"
            " / rate = fulfilled / (fulfilled + violated); gap = first − second",
        )
        heads = [
            ("对比", "pair"),
            ("前者", "first"),
            ("履行率", "rate"),
            ("下限", "low"),
            ("上限", "high"),
            ("已履行/计数", "fulfilled/n"),
            ("后者", "second"),
            ("履行率", "rate"),
            ("下限", "low"),
            ("上限", "high"),
            ("已履行/计数", "fulfilled/n"),
            ("差距", "gap"),
            ("差距下限", "gap low"),
            ("差距上限", "gap high"),
            ("差距最大的组织", "widest at"),
            ("该处差距", "widest gap"),
            ("此前差距", "previous"),
            ("变化", "change"),
        ]
        row = 3
        self.header(sheet, row, [(zh, en, 24 if col == 0 else 12, None) for col, (zh, en) in enumerate(heads)])
        row += 1
        for g in d.gaps:
            row += 1
            values: list[tuple[Any, Any]] = [(f"{g.title.zh} / {g.title.en}", None)]
            for label, rate in ((g.first_label, g.first), (g.second_label, g.second)):
                values += [
                    (f"{label.zh} {label.en}", None),
                    (rate.rate, self.f_pct),
                    (rate.low, self.f_pct),
                    (rate.high, self.f_pct),
                    (f"{rate.fulfilled}/{rate.n}", None),
                ]
            values += [
                (g.gap, self.f_pct),
                (g.low, self.f_pct),
                (g.high, self.f_pct),
                (f"{g.widest.name}（{g.widest.organisation}）" if g.widest else "", None),
                (g.widest.gap if g.widest else None, self.f_pct),
                (g.previous, self.f_pct),
                (g.change, self.f_pct),
            ]
            for col, (value, fmt) in enumerate(values):
                self.cell(sheet, row, col, value, fmt)
        row += 2
        self.cell(sheet, row, 0, "各层级 levels (depth in the roster's tree)", self.f_bold)
        row += 1
        for col, text in enumerate(
            ("深度 depth", "组织数 organisations", "履行率 rate", "下限 low", "上限 high", "计数 n")
        ):
            self.cell(sheet, row, col, text, self.f_head)
        for level in d.levels:
            row += 1
            for col, (value, fmt) in enumerate(
                (
                    (level.depth, None),
                    (len(level.organisations), None),
                    (level.rate.rate, self.f_pct),
                    (level.rate.low, self.f_pct),
                    (level.rate.high, self.f_pct),
                    (level.rate.n, None),
                )
            ):
                self.cell(sheet, row, col, value, fmt)
        row += 2
        self.cell(sheet, row, 0, "各组织的差距（从大到小）per organisation, widest first", self.f_bold)
        row += 1
        for col, text in enumerate(
            (
                "对比 pair",
                "组织编号 id",
                "组织 organisation",
                "前者 first",
                "计数 n",
                "后者 second",
                "计数 n",
                "差距 gap",
            )
        ):
            self.cell(sheet, row, col, text, self.f_head)
        for g in d.gaps:
            for og in g.by_organisation:
                row += 1
                for col, (value, fmt) in enumerate(
                    (
                        (g.pair, None),
                        (og.organisation, None),
                        (og.name, None),
                        (og.first.rate, self.f_pct),
                        (og.first.n, None),
                        (og.second.rate, self.f_pct),
                        (og.second.n, None),
                        (og.gap, self.f_pct),
                    )
                ):
                    self.cell(sheet, row, col, value, fmt)

    def write_input(self, sheet: Any) -> None:
        account = self.report.input
        columns = (
            ("来源", "source", 40),
            ("类别", "kind", 10),
            ("读入", "read", 8),
            ("使用", "used", 8),
            ("拒收", "rejected", 8),
            ("排除", "excluded", 8),
        )
        self.header(sheet, 0, [(zh, en, w, None) for zh, en, w in columns])
        row = 1
        for s in account.sources:
            row += 1
            for col, value in enumerate((s.source, s.kind, s.read, s.used, s.rejected, s.excluded)):
                self.cell(sheet, row, col, value)
        row += 2
        heads = ("处理 handling", "来源 source", "行 line", "字段 field", "值 value", "原因", "reason", "记录 record")
        for col, text in enumerate(heads):
            self.cell(sheet, row, col, text, self.f_head)
        for label, rows in (
            ("拒收 rejected", account.rejections),
            ("排除 excluded", account.excluded),
            ("提醒 warning", account.warnings),
        ):
            for rej in rows:
                row += 1
                values = (
                    label,
                    rej.source,
                    rej.line,
                    rej.field,
                    rej.value,
                    rej.reason.zh,
                    rej.reason.en,
                    rej.record_id,
                )
                for col, value in enumerate(values):
                    self.cell(sheet, row, col, value)


#: the kind of each scorecard column (the others are texts); with `fmt` those with two decimals
_SCORE_NUMBERS = {"rank", "ranked", "weight", *(s.value for s in Status), "possible", "earned", "lost", "score"}
_TWO_DECIMALS = {"score", "earned", "possible"}


def _dict_column(key: str, fmt: Any = None) -> tuple[Cell, str, Any]:
    """A scorecard column for :meth:`_Workbook.table`: the value of `key` in each row (a dict)."""
    kind = NUMBER if key in _SCORE_NUMBERS else "any" if key in ("complete", "capped") else TEXT
    return (lambda row: row.get(key)), kind, fmt if key in _TWO_DECIMALS else None


def _release(book: Any) -> None:
    """Let a closed workbook be freed as soon as it is dropped: each XlsxWriter worksheet keeps its workbook's
    ``add_format`` (a reference cycle), so the workbook and its million cells would wait for the cyclic garbage
    collector, which, turned back on after the report, would first walk all of them (a second in a province)."""
    for sheet in book.worksheets():
        if hasattr(sheet, "workbook_add_format"):
            sheet.workbook_add_format = None


#: the worksheet class of the workbooks written (made on first use: XlsxWriter is an optional extra)
_SHEET_CLASS: dict[str, Any] = {}


def sheet_class() -> Any:
    """XlsxWriter's worksheet with its innermost loop, the XML of one cell, made shorter for the two kinds of
    cell a report is made of: a shared text and a number (a date is one). The same bytes as XlsxWriter's own
    ``_write_cell`` (``<c r="B7" s="3" t="s"><v>12</v></c>``: the cell's name, its format's index, the index of
    its text or the number as ``%.16G``); any other cell, a text written inline (``constant_memory``), or an
    XlsxWriter whose worksheet lacks what this relies on, goes to XlsxWriter's own. A province's workbook has
    1.2 million cells: a second less."""
    cls = _SHEET_CLASS.get("worksheet")
    if cls is not None:
        return cls
    import importlib

    Worksheet: Any = importlib.import_module("xlsxwriter.worksheet").Worksheet
    xl_rowcol_to_cell_fast = importlib.import_module("xlsxwriter.utility").xl_rowcol_to_cell_fast
    if not hasattr(Worksheet, "_write_cell"):  # (a later XlsxWriter: its own, as it is)
        cls = _SHEET_CLASS["worksheet"] = Worksheet
        return cls

    class _Sheet(Worksheet):  # type: ignore[misc]
        def _write_cell(self, row: int, col: int, cell: Any) -> None:
            name = cell.__class__.__name__
            if name == "String":
                if self.constant_memory:
                    super()._write_cell(row, col, cell)
                    return
                tail = f' t="s"><v>{cell.string}</v></c>'
            elif name == "Number" or name == "Datetime":
                tail = f"><v>{cell.number:.16G}</v></c>"
            else:
                super()._write_cell(row, col, cell)
                return
            fmt = cell.format
            if fmt:
                style = f' s="{fmt._get_xf_index()}"'
            elif row in self.row_info and self.row_info[row].row_format:
                style = f' s="{self.row_info[row].row_format._get_xf_index()}"'
            elif col in self.col_info and self.col_info[col].column_format is not None:
                style = f' s="{self.col_info[col].column_format._get_xf_index()}"'
            else:
                style = ""
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}"{style}{tail}')

    cls = _SHEET_CLASS["worksheet"] = _Sheet
    return cls


def _close_rows(sheet: Any) -> None:
    """When streaming, close an organisation sheet's temporary row file once its rows are written (XlsxWriter
    reopens it when the workbook is assembled): a province has thousands of sheets, more than a process may
    hold open."""
    close = getattr(sheet, "_opt_close", None)
    if close is not None and getattr(sheet, "row_data_fh", None) is not None:
        close()


__all__ = ["ATTENTION", "render_xlsx", "safe_sheet_name"]
