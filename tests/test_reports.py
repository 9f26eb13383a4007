"""The reports people open: the Excel workbook and the HTML page (rules_engine.render.xlsx / .html, the
``report`` command), checked against the JSON report of the same evaluation; formula and HTML injection
corpora come out inert."""

from __future__ import annotations

import gc
import importlib
import json
import re
import weakref
import zipfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from rules_engine import Report, evaluate, load_rules, load_scoring, score
from rules_engine.cli import main
from rules_engine.render import xlsx
from rules_engine.render.html import render_html
from rules_engine.render.xlsx import render_xlsx, safe_sheet_name

from .conftest import EXAMPLE, RULES

openpyxl = pytest.importorskip("openpyxl")
pytest.importorskip("xlsxwriter")
pytest.importorskip("jinja2")

ATTENTION = {"violated", "undeterminable", "pending", "waived"}
ARGS = [str(EXAMPLE), "--period", "2024", "--as-of", "2025-01-15", "--waivers", str(EXAMPLE / "waivers.yaml")]

#: names and texts a spreadsheet would run as formulas or a browser as markup
CORPUS = [
    "=cmd|' /C calc'!A0",
    "+1",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    ' =HYPERLINK("http://x")',
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</script><script>alert(1)</script>",
    "<!--",
    "&amp;<b>bold</b>",
    "'; [x]:*?/\\ sheet",
]


@pytest.fixture(scope="module")
def report() -> Report:
    return evaluate(
        load_rules(RULES),
        EXAMPLE / "roster.yaml",
        EXAMPLE / "records.jsonl",
        period="2024",
        as_of="2025-01-15",
        waivers=[EXAMPLE / "waivers.yaml"],
    )


@pytest.fixture(scope="module")
def workbook_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's workbook, made by the command."""
    out = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    code = main(["report", *ARGS, "--scoring", str(EXAMPLE / "scoring.yaml"), "-o", str(out)])
    assert code == 1  # violations found, as evaluate says
    return out


def _sheet_rows(ws) -> list[tuple]:  # type: ignore[no-untyped-def]
    """The rows of a sheet's table: below its frozen head (a note row when the sheet leaves something out,
    then the two header rows)."""
    first = int(ws.freeze_panes[1:]) if ws.freeze_panes else 3
    return [row for row in ws.iter_rows(min_row=first, values_only=True) if any(v is not None for v in row)]


def test_the_example_workbook_has_the_sheets_frozen_headers_filters_and_dates(workbook_file: Path, report: Report):
    wb = openpyxl.load_workbook(workbook_file)
    orgs = list(dict.fromkeys(f.organisation.name for f in report.findings))
    assert wb.sheetnames == ["摘要", "未履行", "规则", "评分", "评分明细", "三实三弱", "输入", *orgs]
    violations = wb["未履行"]
    assert violations.freeze_panes == "A3"
    assert violations["A1"].value == "组织编号" and violations["A2"].value == "organisation_id"
    rows = _sheet_rows(violations)
    assert violations.auto_filter.ref == f"A2:P{len(rows) + 2}"
    # one row per violated finding of the evaluation, with its organisation, rule and subject
    expected = Counter((f.organisation.id, f.rule_id, f.window.start) for f in report.violations)
    assert Counter((r[0], r[2], r[6].date()) for r in rows) == expected
    # dates are Excel dates, not text
    assert violations["G3"].is_date and violations["H3"].is_date
    summary = wb["摘要"]
    assert summary["B4"].is_date and summary["B4"].value.date().isoformat() == "2025-01-15"
    # each organisation's sheet lists every finding of the organisation
    per_org = Counter(f.organisation.name for f in report.findings)
    for name in orgs:
        ws = wb[name]
        assert ws.freeze_panes == "A3" and ws.auto_filter.ref.startswith("A2:")
        assert len(_sheet_rows(ws)) == per_org[name]
    # scores and the 三实三弱 diagnosis are there
    assert len(_sheet_rows(wb["评分"])) > len(orgs)
    pairs = [row[0] for row in wb["三实三弱"].iter_rows(min_row=6, max_row=8, values_only=True)]
    assert [p.split(" / ")[0] for p in pairs] == ["上面实、下面弱", "地方实、部门弱", "书记实、班子成员弱"]
    assert "R1179" in [row[7] for row in wb["输入"].iter_rows(values_only=True)]  # the rejected record row


def test_summary_counts_every_status_and_links_each_organisation_sheet(workbook_file: Path, report: Report) -> None:
    wb = openpyxl.load_workbook(workbook_file)
    ws = wb["摘要"]
    counts = {row[1]: row[2] for row in ws.iter_rows(min_row=9, max_row=14, values_only=True)}
    assert counts == {s: report.summary.get(s, 0) for s in counts} and len(counts) == 6
    links = {c.hyperlink.location for row in ws.iter_rows() for c in row if c.hyperlink is not None}
    assert links == {f"'{name}'!A1" for name in {f.organisation.name for f in report.findings}}


def test_a_large_report_lists_what_needs_attention_on_organisation_sheets(tmp_path: Path, report: Report) -> None:
    out = tmp_path / "large.xlsx"
    render_xlsx(report, out, every_finding=False)
    wb = openpyxl.load_workbook(out)
    for org in {f.organisation.name for f in report.findings}:
        expected = sum(1 for f in report.findings if f.organisation.name == org and f.status.value in ATTENTION)
        assert len(_sheet_rows(wb[org])) == expected
    notes = [row[0] for row in wb["摘要"].iter_rows(values_only=True) if row[0]]
    assert any(str(n).startswith("结论较多") and f"已履行 {report.summary['fulfilled']} 项" in n for n in notes)


def _head(ws) -> tuple[str | None, list[str]]:  # type: ignore[no-untyped-def]
    """A table sheet's note row (None when it has none) and its English header row."""
    first = int(ws.freeze_panes[1:])
    note = ws.cell(row=1, column=1).value if first == 4 else None
    return note, [c.value for c in ws[first - 1] if c.value is not None]


def test_above_the_large_report_threshold_the_finding_sheets_drop_columns_and_say_so_in_a_note_row(
    tmp_path: Path, report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = tmp_path / "small.xlsx", tmp_path / "large.xlsx"
    render_xlsx(report, small, EXAMPLE / "scoring.yaml")
    monkeypatch.setattr(xlsx, "LARGE_REPORT", len(report.findings) - 1)  # the example as if it were a province
    render_xlsx(report, large, EXAMPLE / "scoring.yaml")
    one, other = openpyxl.load_workbook(small), openpyxl.load_workbook(large)
    violated = [f for f in report.findings if f.status.value == "violated"]
    # below the threshold: no note row, every column
    note, heads = _head(one["未履行"])
    assert note is None and "message" in heads and len(_sheet_rows(one["未履行"])) == len(violated)
    assert _head(one["评分明细"])[0] is None
    # above: the message left out of the violations sheet, and the note row says so and where it is
    note, heads = _head(other["未履行"])
    assert note is not None and "说明" in note and "JSON" in note and "message column is left out" in note
    assert "count" in note and heads == [c[1] for c in xlsx.VIOLATION_COLUMNS if c[1] not in ("message", "count")]
    rows = _sheet_rows(other["未履行"])
    assert len(rows) == len(violated)  # every violated finding still listed, the other columns as they were
    assert Counter(rows) == Counter((*r[:10], *r[12:]) for r in _sheet_rows(one["未履行"]))
    # the organisation sheets: what needs attention, without the count, a violated finding's reason elsewhere
    for org in {f.organisation for f in report.findings}:
        ws = other[org.name]
        note, heads = _head(ws)
        mine = [f for f in report.findings if f.organisation.id == org.id]
        fulfilled = sum(1 for f in mine if f.status.value == "fulfilled")
        assert note is not None and f"已履行 {fulfilled} 项" in note and "未履行" in note, note
        assert "count" not in heads and heads[-1].startswith("reason")
        listed = _sheet_rows(ws)
        assert len(listed) == sum(1 for f in mine if f.status.value in ATTENTION)
        for row in listed:
            assert (row[-1] is None) == str(row[0]).endswith("violated"), row
    # the breakdown: the organisations', the note row saying where the people's are
    note, _ = _head(other["评分明细"])
    assert note is not None and "rules-engine score --format json" in note
    notes = [str(row[0]) for row in other["摘要"].iter_rows(values_only=True) if row[0]]
    assert any("略去“说明”列" in n for n in notes)


def test_a_large_report_breaks_down_the_organisations_scores_and_says_where_the_people_s_are(
    tmp_path: Path, report: Report
) -> None:
    result = score(report, EXAMPLE / "scoring.yaml")
    full, large = tmp_path / "full.xlsx", tmp_path / "large.xlsx"
    render_xlsx(report, full, result)
    render_xlsx(report, large, result, every_finding=False)
    every = _sheet_rows(openpyxl.load_workbook(full)["评分明细"])
    assert len(every) == sum(len(c.rules) for c in (*result.organisations, *result.people))
    wb = openpyxl.load_workbook(large)
    rows = _sheet_rows(wb["评分明细"])
    every_heads = _head(openpyxl.load_workbook(full)["评分明细"])[1]
    assert _head(wb["评分明细"])[1] == [k for k in every_heads if k not in ("kind", "organisation")]
    # kind and organisation: the row itself; the rules with something to fix (points lost, findings to deal with)
    heads = _head(wb["评分明细"])[1]
    fix = [(r[1], *r[3:]) for r in every if r[0] == "organisation"]
    fix = [r for r in fix if r[heads.index("lost")] or any(r[heads.index(s)] for s in ATTENTION)]
    clean = sum(len(c.rules) for c in result.organisations) - len(fix)
    assert rows == fix and fix and clean
    assert f"未失分的 {clean} 行" in str(_head(wb["评分明细"])[0])
    people = sum(len(c.rules) for c in result.people)
    assert people
    notes = [str(row[0]) for row in wb["摘要"].iter_rows(values_only=True) if row[0]]
    assert any(f"个人的 {people} 行明细" in n and "rules-engine score" in n for n in notes)
    assert len(_sheet_rows(wb["评分"])) == len(result.organisations) + len(result.people)  # every score kept


def test_both_reports_of_one_evaluation_score_and_diagnose_it_once(
    tmp_path: Path, report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorecard = importlib.import_module("rules_engine.scorecard")
    diagnosis = importlib.import_module("rules_engine.diagnose")  # the package exports a function of that name
    calls: Counter[str] = Counter()
    for module, name in ((scorecard, "score"), (diagnosis, "diagnose")):
        real = getattr(module, name)

        def counted(*args, _name=name, _real=real, **kwargs):  # type: ignore[no-untyped-def]
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    roster = tmp_path / "roster.yaml"
    roster.write_bytes((EXAMPLE / "roster.yaml").read_bytes())
    scoring = load_scoring(EXAMPLE / "scoring.yaml")
    render_xlsx(report, tmp_path / "r.xlsx", scoring, roster)
    page = render_html(report, scoring, roster)
    assert calls == {"score": 1, "diagnose": 1}
    # a roster file changed since: made again; a diagnosis and scores already made: used as they are
    roster.write_bytes(roster.read_bytes() + b"\n")
    render_html(report, scoring, roster)
    assert calls == {"score": 2, "diagnose": 2}
    made = diagnosis.diagnose(report, roster)
    scores = scorecard.score(report, scoring)
    assert render_html(report, scores, made) == page
    assert calls == {"score": 3, "diagnose": 3}  # the two calls just above, none in render_html


@pytest.mark.parametrize("layout", ["small", "large"])
@pytest.mark.slow
def test_a_workbook_too_large_for_memory_is_streamed_with_the_same_cells(
    tmp_path: Path, report: Report, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    if layout == "large":  # with the note rows above the headers
        monkeypatch.setattr(xlsx, "LARGE_REPORT", 10)
    held, streamed = tmp_path / "held.xlsx", tmp_path / "streamed.xlsx"
    render_xlsx(report, held, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml")
    monkeypatch.setattr(xlsx, "STREAM_ROWS", 10)  # the example as if it were a province
    render_xlsx(report, streamed, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml")
    with zipfile.ZipFile(held) as a, zipfile.ZipFile(streamed) as b:  # texts inline, row by row, when streamed
        assert b't="inlineStr"' not in a.read("xl/worksheets/sheet2.xml")
        assert b't="inlineStr"' in b.read("xl/worksheets/sheet2.xml")
    one, other = openpyxl.load_workbook(held), openpyxl.load_workbook(streamed)
    assert one.sheetnames == other.sheetnames
    for name in one.sheetnames:
        assert list(one[name].values) == list(other[name].values), name
        assert one[name].auto_filter.ref == other[name].auto_filter.ref


def test_a_written_workbook_is_freed_at_once_not_left_to_the_cycle_collector(
    tmp_path: Path, report: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A province's closed workbook holds a million cells: left in a reference cycle, the collector (paused
    while the report is written) would walk them all when turned back on."""
    real = xlsx.xlsxwriter_module()
    made: list[weakref.ref[object]] = []

    class Spy:
        def Workbook(self, *args: object, **kwargs: object) -> object:
            book = real.Workbook(*args, **kwargs)
            made.append(weakref.ref(book))
            return book

    monkeypatch.setattr(xlsx, "xlsxwriter_module", Spy)
    enabled = gc.isenabled()
    gc.disable()
    try:
        render_xlsx(report, tmp_path / "r.xlsx", EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml")
        assert len(made) == 1 and made[0]() is None
    finally:
        if enabled:
            gc.enable()
    assert openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "摘要"


def test_the_same_report_gives_the_same_bytes(tmp_path: Path, report: Report) -> None:
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    render_xlsx(report, a, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml")
    render_xlsx(report, b, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:  # dated by the evaluation date, not by the clock
        assert b'<dcterms:created xsi:type="dcterms:W3CDTF">2025-01-15T00:00:00Z' in z.read("docProps/core.xml")
    assert render_html(report, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml") == render_html(
        report, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml"
    )


def test_sheet_names_are_made_safe_and_unique() -> None:
    taken = {"摘要"}
    assert safe_sheet_name("a[b]c:d*e?f/g\\h", taken) == "a_b_c_d_e_f_g_h"
    assert safe_sheet_name("'quoted'", taken) == "quoted"
    long = "县" * 40
    first = safe_sheet_name(long, taken)
    second = safe_sheet_name(long, taken)
    assert first == "县" * 31 and second == "县" * 29 + "~2" and len(second) == 31
    assert safe_sheet_name("摘要", taken) == "摘要~2"
    assert safe_sheet_name("ABC", taken) == "ABC" and safe_sheet_name("abc", taken) == "abc~2"  # Excel ignores case
    assert safe_sheet_name("History", taken) == "History_"
    assert safe_sheet_name("[]", taken) == "__"
    assert safe_sheet_name("   ", taken, "org-1") == "org-1"


# -- injection


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Path]:
    """The example with organisation and people names, portfolios and record ids taken from the corpus."""
    folder = tmp_path_factory.mktemp("hostile")
    roster = yaml.safe_load((EXAMPLE / "roster.yaml").read_text(encoding="utf-8"))
    for i, org in enumerate(roster["organisations"]):
        org["name"] = CORPUS[i % len(CORPUS)]
    for i, person in enumerate(roster["people"]):
        person["name"] = CORPUS[(i + 3) % len(CORPUS)]
    (folder / "roster.yaml").write_text(yaml.safe_dump(roster, allow_unicode=True), encoding="utf-8")
    lines = (EXAMPLE / "records.jsonl").read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        record = json.loads(line)
        if i < 400:
            record["id"] = CORPUS[i % len(CORPUS)] + f"#{i}"
            record["text"] = CORPUS[i % len(CORPUS)]
        out.append(json.dumps(record, ensure_ascii=False))
    (folder / "records.jsonl").write_text("\n".join(out) + "\n", encoding="utf-8")
    report = evaluate(
        load_rules(RULES), folder / "roster.yaml", folder / "records.jsonl", period="2024", as_of="2025-01-15"
    )
    shown = {f.organisation.name for f in report.findings} | {f.subject.name for f in report.findings}
    assert set(CORPUS) <= shown  # every text of the corpus names an organisation or a person of the findings
    assert any(e.startswith("=cmd") for f in report.findings for e in [*f.evidence, *(r.record for r in f.rejected)])
    return report, folder / "roster.yaml"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@pytest.mark.parametrize("layout", ["small", "large"])
@pytest.mark.slow
def test_formula_injection_is_inert_in_the_workbook(
    tmp_path: Path, hostile: tuple[Report, Path], layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    report, roster = hostile
    if layout == "large":  # the note rows and the columns of a province's workbook
        monkeypatch.setattr(xlsx, "LARGE_REPORT", 10)
    out = tmp_path / "hostile.xlsx"
    render_xlsx(report, out, EXAMPLE / "scoring.yaml", roster)
    with zipfile.ZipFile(out) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name  # no formula anywhere
    wb = openpyxl.load_workbook(out)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.lstrip(" \u3000").startswith(FORMULA_START), (ws.title, cell.value)
                    texts.append(cell.value)
    # the names are all there, shown as text: the quote prefix, nothing dropped
    assert "'=cmd|' /C calc'!A0" in texts
    assert "'@SUM(1)" in texts and "'+1" in texts
    assert "<script>alert(1)</script>" in texts
    assert any("=cmd|' /C calc'!A0#" in t for t in texts)  # record ids in evidence or rejections


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []
        self.script: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        (self.script if self._in == "script" else self.data).append(data)


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "span", "dl", "dt", "dd",
    "main", "section", "ul", "li", "b", "figure", "figcaption", "svg", "g", "rect", "text", "line", "table",
    "thead", "tbody", "tr", "th", "td", "p", "div", "label", "input", "select", "option", "noscript", "button",
    "script",
}  # fmt: skip


def test_html_injection_is_inert_in_the_page(hostile: tuple[Report, Path]) -> None:
    report, roster = hostile
    page = render_html(report, EXAMPLE / "scoring.yaml", roster, statuses=None).decode("utf-8")
    parser = _Collect()
    parser.feed(page)
    parser.close()
    tags = [t for t, _ in parser.tags]
    assert set(tags) <= ALLOWED_TAGS, set(tags) - ALLOWED_TAGS
    assert tags.count("script") == 2 and "img" not in tags
    assert tags.count("b") == 6  # the six status totals; "<b>bold</b>" in a name stays text
    for tag, attrs in parser.tags:
        for name, _ in attrs:
            assert not name.startswith("on"), (tag, name)
    text = "".join(parser.data)
    # the data block holds no markup at all, and parses back to the very names
    data_block, code = parser.script
    assert "<" not in data_block and ">" not in data_block and "&" not in data_block
    data = json.loads(data_block)
    # every text of the corpus is shown whole, as text: organisation names in the page, people's in the data
    orgs = {f.organisation.name for f in report.findings}
    for item in CORPUS:
        if item in orgs:
            assert item.strip() in text, item
        else:
            assert any(s.startswith(item + "（") for s in data["strings"]), item
    assert len(data["rows"]) == len(report.findings)
    assert "innerHTML" not in code and "eval(" not in code and "document.write" not in code


def test_the_page_forbids_every_network_load(report: Report) -> None:
    page = render_html(report).decode("utf-8")
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = dict(part.strip().split(" ", 1) for part in csp.group(1).split(";"))
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'none'"
    assert policy["script-src"].startswith("'sha256-") and policy["style-src"].startswith("'sha256-")
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_the_html_table_lists_what_needs_attention_and_says_what_it_left_out(report: Report) -> None:
    page = render_html(report).decode("utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))
    listed = [data["statuses"][row[0]][0] for row in data["rows"]]
    assert Counter(listed) == Counter(f.status.value for f in report.findings if f.status.value in ATTENTION)
    assert f"已履行 {report.summary['fulfilled']} 项" in page
    capped = render_html(report, max_rows=5).decode("utf-8")
    over = sum(1 for f in report.findings if f.status.value in ATTENTION) - 5
    assert f"另有 {over} 项未列出" in capped


def test_each_listed_finding_carries_its_explanation(report: Report) -> None:
    page = render_html(report).decode("utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1))
    strings = data["strings"]
    rejected_seen = False
    for row in data["rows"]:
        rule_id = strings[data["rules"][row[2]][0]]
        f = next(
            f
            for f in report.findings
            if f.rule_id == rule_id
            and f.window.start.isoformat() == row[4]
            and f.window.end.isoformat() == row[5]
            and f.message.zh == row[9]
        )
        assert strings[row[6]] == f"{f.expected.zh} / {f.expected.en}"
        assert strings[row[7]] == f"{f.actual.zh} / {f.actual.en}"
        assert row[11] == f.evidence and row[10].startswith(f.reason.zh)
        assert [[r, strings[i]] for r, i in row[12]] == [
            [x.record, f"{x.reason.zh} / {x.reason.en}"] for x in f.rejected
        ]
        rejected_seen |= bool(row[12])
    assert rejected_seen


# -- the command


def test_report_command_writes_html_by_extension_and_exits_as_evaluate(tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.html"
    assert main(["report", *ARGS, "-o", str(out)]) == 1
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "三实三弱" in page  # the roster of the inputs is diagnosed
    assert main(["evaluate", *ARGS, "--format", "html", "-o", str(tmp_path / "e.html")]) == 1
    assert (tmp_path / "e.html").read_bytes() == out.read_bytes()


def test_report_command_refusals_write_nothing(tmp_path: Path, capsys) -> None:
    assert main(["report", *ARGS, "-o", str(tmp_path / "r.txt")]) == 2
    assert "--format" in capsys.readouterr().err
    bad = tmp_path / "scoring.yaml"
    bad.write_text("weights: {severity: {hgh: 3}}\n", encoding="utf-8")
    assert main(["report", *ARGS, "--scoring", str(bad), "-o", str(tmp_path / "r.xlsx")]) == 2
    assert "scoring" in capsys.readouterr().err
    roster = EXAMPLE / "roster.yaml"
    before = roster.read_bytes()
    assert main(["report", *ARGS, "--format", "xlsx", "-o", str(roster)]) == 2
    assert roster.read_bytes() == before
    assert main(["evaluate", *ARGS, "--format", "xlsx"]) == 2
    assert "-o" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scoring.yaml"]


# -- the roster read once


def test_a_roster_read_once_gives_the_reports_of_its_file_rejected_rows_and_all(tmp_path: Path) -> None:
    """A host passes what read_roster returned to evaluate and to the reports: the same bytes as from the
    file, read again; its rejected rows still make the diagnosis say it is incomplete."""
    from rules_engine import read_roster

    roster = tmp_path / "roster.yaml"
    text = (EXAMPLE / "roster.yaml").read_text(encoding="utf-8")
    roster.write_text(
        text.replace("organisations:\n", "organisations:\n  - {id: bad, kind: no-such-kind}\n", 1), encoding="utf-8"
    )
    the_roster = read_roster(roster)
    assert len(the_roster.rejected) == 1
    scoring = load_scoring(EXAMPLE / "scoring.yaml")
    runs = []
    for given in (the_roster, roster):
        report = evaluate(load_rules(RULES), given, EXAMPLE / "records.jsonl", period="2024", as_of="2025-01-15")
        out = tmp_path / f"{type(given).__name__}.xlsx"
        render_xlsx(report, out, scoring, given)
        runs.append((report.model_dump_json(), _xlsx_parts(out), render_html(report, scoring, given)))
    assert runs[0] == runs[1]
    assert "名册有 1 处被拒收" in runs[0][2].decode()


def _xlsx_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.mark.parametrize(
    "command",
    [
        ["report", "--scoring", str(EXAMPLE / "scoring.yaml"), "-o", "r.xlsx"],
        ["report", "--org", "county", "-o", "r.html"],
        ["evaluate", "--format", "xlsx", "-o", "r.xlsx"],
        ["evaluate", "-o", "r.xlsx", "-o", "r.html"],
    ],
)
def test_the_commands_read_the_roster_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The evaluation, the --org check and the 三实三弱 diagnosis share one reading of the roster (a
    province's takes a second)."""
    inputs = importlib.import_module("rules_engine.load.inputs")
    real = inputs.roster_from_data
    reads: list[str] = []

    def counted(data, name="<roster>", *args, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(name)
        return real(data, name, *args, **kwargs)

    monkeypatch.setattr(inputs, "roster_from_data", counted)
    monkeypatch.chdir(tmp_path)
    assert main([command[0], *ARGS, *command[1:]]) == 1
    assert reads == [str(EXAMPLE / "roster.yaml")]
    for name in [a for a in command if a.startswith("r.")]:
        assert (tmp_path / name).stat().st_size > 0


@pytest.mark.parametrize("layout", ["small", "large", "streamed"])
def test_the_shorter_cell_writer_gives_xlsxwriter_s_own_bytes(
    tmp_path: Path, report: Report, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """The workbook's cells (texts, numbers, dates, statuses with their formats) are written by a shorter
    path than XlsxWriter's own (a province has 1.2 million): the same file, byte for byte."""
    if layout == "large":
        monkeypatch.setattr(xlsx, "LARGE_REPORT", 10)
    if layout == "streamed":
        monkeypatch.setattr(xlsx, "STREAM_ROWS", 10)
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    render_xlsx(report, ours, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml")
    shorter = xlsx.sheet_class()
    assert shorter.__module__ == xlsx.__name__  # the shorter path is the one in use
    monkeypatch.setitem(xlsx._SHEET_CLASS, "worksheet", importlib.import_module("xlsxwriter.worksheet").Worksheet)
    render_xlsx(report, theirs, EXAMPLE / "scoring.yaml", EXAMPLE / "roster.yaml")
    assert ours.read_bytes() == theirs.read_bytes()
