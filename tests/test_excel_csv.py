"""Excel workbooks in (roster and records, Chinese or English headers), GB18030 CSV in, findings CSV out."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from rules_engine import Report, Status, evaluate, load_rules
from rules_engine.cli import main
from rules_engine.errors import InputError
from rules_engine.load.inputs import BadRow, Rec, read_records, read_roster
from rules_engine.load.xlsx import cell_text, sheet_kinds
from rules_engine.render.csv import COLUMNS, neutralise, render_csv

from .conftest import RULES

openpyxl = pytest.importorskip("openpyxl")

DATA = Path(__file__).parent / "data"
H1 = {"period": "2024-H1", "as_of": "2024-07-15"}
INJECTION = "=cmd|' /C calc'!A0"


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules(RULES)


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


ORGS_ZH = [
    ["编号", "名称", "类型", "层级", "上级组织"],
    ["t1", "甲镇党委", "乡镇党委", "township", None],
    ["t2", "乙镇党委", "乡镇党委", "township", None],
    ["t3", "丙镇党委", "township", "township", None],
]
PEOPLE_ZH = [
    ["编号", "姓名", "组织", "职务", "分管领域", "任职开始", "任职结束"],
    [1001, "张书记", "t1", "书记", None, dt.datetime(2020, 1, 1), None],
    [1002, "李委员", "t1", "班子成员", "组织人事、宣传思想", dt.date(2021, 3, 1), None],
    [2001.0, "王书记", "t2", "书记", None, "2019-06-01", None],
    [3001, "赵书记", "t3", "书记", None, dt.datetime(2018, 1, 1), None],
]
RECORDS_ZH = [
    ["2024 年上半年活动记录"],  # a title row above the header: skipped, not counted
    [],
    ["编号", "组织", "类型", "日期", "主持人", "参加人员", "标签", "说明"],
    ["R1", "t1", "zhuanti_huiyi", dt.datetime(2024, 3, 5, 9, 30), 1001, "1001、1002", None, "专题会议"],
    [],  # a blank row: skipped, not counted
    ["R2", "t1", "qinzi_lvze", dt.date(2024, 4, 1), 1001, None, "亲自部署；亲自过问", None],
    ["R3", "t2", "zhuanti_huiyi", "2024-02-30", 2001, None, None, "日期无效"],
    ["R4", "t2x", "zhuanti_huiyi", "2024-05-01", 2001, None, None, None],  # unknown organisation, probably t2
]


def one(report: Report, rule_id: str, subject: str, period: str) -> Any:
    found = [f for f in report.findings if (f.rule_id, f.subject.id, f.period.label) == (rule_id, subject, period)]
    assert len(found) == 1, [(f.rule_id, f.subject.id, f.period.label) for f in report.findings]
    return found[0]


def account(report: Report, source: str) -> Any:
    return next(s for s in report.input.sources if s.source == source and s.kind == "records")


# ---------------------------------------------------------------- Excel in


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".ods"])
def test_one_workbook_with_roster_and_records_in_chinese(tmp_path: Path, rules: Any, suffix: str) -> None:
    # .xlsx written here; .xls and .ods are the same workbook converted by LibreOffice (tests/data/README.md)
    book = tmp_path / f"县{suffix}"
    if suffix == ".xlsx":
        workbook(book, {"组织": ORGS_ZH, "人员": PEOPLE_ZH, "活动记录": RECORDS_ZH})
    else:
        shutil.copyfile(DATA / f"county{suffix}", book)
    assert sheet_kinds(book) == {"roster", "records"}
    report = evaluate(rules, book, book, **H1)

    fulfilled = one(report, "ZZ-08-01", "1001", "2024-H1")  # a numeric id cell reads as "1001", not "1001.0"
    assert fulfilled.status is Status.fulfilled and fulfilled.evidence == ["R1"]
    deployed = one(report, "ZZ-08-02", "1001", "2024")  # tags split from one cell
    assert deployed.status is Status.fulfilled and deployed.evidence == ["R2"]
    assert one(report, "ZZ-08-05", "1001", "2024").status is Status.pending  # not yet, and the year is not over
    assert one(report, "ZZ-08-01", "3001", "2024-H1").status is Status.violated
    unsure = one(report, "ZZ-08-01", "2001", "2024-H1")  # its only meeting has an impossible date
    assert unsure.status is Status.undeterminable
    assert f"{book}#活动记录:7" in unsure.reason.en

    roster, rows = report.input.sources  # both accounts name the workbook file itself
    assert (roster.kind, roster.source, roster.read, roster.used, roster.rejected) == ("roster", str(book), 7, 7, 0)
    assert (rows.kind, rows.source, rows.read, rows.used, rows.rejected) == ("records", str(book), 4, 2, 2)
    bad = {(r.source, r.line): r for r in report.input.rejections}
    assert set(bad) == {(f"{book}#活动记录", 7), (f"{book}#活动记录", 8)}
    date = bad[(f"{book}#活动记录", 7)]
    assert (date.field, date.value, date.record_id) == ("date", "2024-02-30", "R3")
    assert bad[(f"{book}#活动记录", 8)].field == "org"
    # the roster read from the sheets: roles and portfolio lists from Chinese cells, Excel dates as dates
    member = next(p for p in read_roster(book).roster.people if p.id == "1002")
    assert member.posts[0].role == "member" and member.posts[0].portfolios == ["组织人事", "宣传思想"]
    assert member.posts[0].start == dt.date(2021, 3, 1)


def test_english_headers_and_sheet_names_in_separate_workbooks(tmp_path: Path, rules: Any) -> None:
    roster = workbook(
        tmp_path / "roster.xlsx",
        {
            "Organisations": [["ID", "Name", "Kind"], ["t1", "Town One", "township"]],
            "People": [
                ["ID", "Name", "Org", "Role", "Portfolios", "Start", "End"],
                ["s1", "Secretary", "t1", "secretary", None, "2020-01-01", None],
                ["m1", "Member", "t1", "member", "政法; 经济发展", "2020-01-01", None],
            ],
        },
    )
    records = workbook(
        tmp_path / "records.xlsx",
        {
            "Records": [
                ["Id", "Org", "Type", "Date", "Chair", "Participants", "Portfolio", "Tags", "Text"],
                ["a1", "t1", "dingqi_dudao", dt.date(2024, 2, 1), "m1", None, "政法", None, "visit"],
                ["a2", "t1", "zhuanti_huiyi", dt.date(2024, 6, 30), "s1", "s1, m1", None, None, None],
            ]
        },
    )
    assert sheet_kinds(roster) == {"roster"} and sheet_kinds(records) == {"records"}
    report = evaluate(rules, roster, [records], **H1)
    assert one(report, "ZZ-08-01", "s1", "2024-H1").status is Status.fulfilled
    visits = [f for f in report.findings if f.rule_id == "ZZ-YG-01" and f.subject.id == "m1"]
    assert {f.subject.portfolio: f.status for f in visits} == {"政法": Status.fulfilled, "经济发展": Status.violated}
    assert not report.input.rejections
    assert [(s.read, s.used, s.rejected) for s in report.input.sources] == [(3, 3, 0), (2, 2, 0)]


def test_every_roster_row_is_accounted_for_at_its_sheet_and_row(tmp_path: Path) -> None:
    book = workbook(
        tmp_path / "名册.xlsx",
        {
            "组织": [
                ["编号", "名称", "类型"],
                ["t1", "甲镇党委", "乡镇党委"],
                [None, "无编号党委", "乡镇党委"],  # row 3: no id
                ["t2", "乙镇党委", "村委会"],  # row 4: unknown kind
            ],
            "人员": [
                ["编号", "姓名", "组织", "职务", "分管领域", "任职开始", "任职结束"],
                ["p1", "甲", "t1", "书记", None, "2020-01-01", None],
                ["p2", "乙", "t9", "班子成员", None, "2020-01-01", None],  # row 3: unknown organisation
                ["p3", "丙", "t1", "班子成员", None, "2020/01/01", None],  # row 4: not an ISO date
                ["p1", "甲甲", "t1", "班子成员", None, "2021-01-01", None],  # row 5: another name for p1
                ["p4", "丁", "t1", "科员", None, "2020-01-01", None],  # row 6: unknown role
                ["p5", "戊"],  # row 7: a person without a post
                ["p1", "甲"],  # row 8: an empty post row of a person with posts
                [None, "无名"],  # row 9: no id
            ],
        },
    )
    result = read_roster(book)
    assert result.source == str(book)
    assert result.read == 3 + 8 and result.read == result.used + result.rejected_units
    assert result.rejected_units == 8
    located = [(r.source.rsplit("#", 1)[1], r.line, r.field) for r in result.rejected]
    assert located == [
        ("组织", 3, "id"),
        ("组织", 4, "kind"),
        ("人员", 3, "org"),
        ("人员", 4, "start"),
        ("人员", 5, "name"),
        ("人员", 6, "role"),
        ("人员", 8, "org"),
        ("人员", 9, "id"),
    ]
    people = {p.id: p for p in result.roster.people}
    assert sorted(people) == ["p1", "p2", "p4", "p5"]
    assert [post.org for post in people["p1"].posts] == ["t1"] and people["p5"].posts == []


def test_record_rows_title_blank_stray_and_numbers(tmp_path: Path) -> None:
    book = workbook(
        tmp_path / "r.xlsx",
        {
            "Sheet1": [  # the only sheet, not a roster sheet: read as records whatever its name
                ["活动记录导出"],
                ["记录编号", "组织编号", "记录类型", "日期", "主持人", "参加人员"],
                [17, "t1", "zhuanti_huiyi", dt.datetime(2024, 1, 2), 1001.0, None],
                [None, None, None, None, None, None],
                ["x2", "t1", "zhuanti_huiyi", 45357, None, None],  # a number without date format
                ["x3", "t1", "zhuanti_huiyi", "2024-01-03", None, None, "多余"],  # value without header
            ]
        },
    )
    rows = list(read_records(book))
    assert len(rows) == 3
    first, number, stray = rows
    assert isinstance(first, Rec) and (first.id, first.chair, first.date) == ("17", "1001", dt.date(2024, 1, 2))
    assert (first.source, first.line) == (f"{book}#Sheet1", 3)
    assert isinstance(number, BadRow) and (number.line, number.field, number.value) == (5, "date", "45357")
    assert isinstance(stray, BadRow) and (stray.line, stray.field, stray.record_id) == (6, "G", "x3")


def test_workbook_problems_are_input_errors(tmp_path: Path) -> None:
    duplicate = workbook(tmp_path / "d.xlsx", {"records": [["id", "编号", "org", "type", "date"]]})
    with pytest.raises(InputError, match="duplicate column 'id'"):
        list(read_records(duplicate))
    roster_only = workbook(tmp_path / "o.xlsx", {"组织": ORGS_ZH, "说明": [["见附件"]]})
    with pytest.raises(InputError, match="no records sheet"):
        list(read_records(roster_only))
    with pytest.raises(InputError, match="no organisations sheet"):
        read_roster(workbook(tmp_path / "n.xlsx", {"活动记录": RECORDS_ZH}))
    not_a_zip = tmp_path / "x.xlsx"
    not_a_zip.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(InputError, match="cannot open the spreadsheet"):
        list(read_records(not_a_zip))


def test_cell_text() -> None:
    assert cell_text(dt.datetime(2024, 3, 5, 23, 59)) == "2024-03-05"
    assert cell_text(dt.date(2024, 3, 5)) == "2024-03-05"
    assert (cell_text(1001.0), cell_text(1001), cell_text(1.5), cell_text(True)) == ("1001", "1001", "1.5", "TRUE")
    assert (cell_text("  "), cell_text(None), cell_text(" p1 ")) == (None, None, "p1")


# ---------------------------------------------------------------- GB18030 CSV in


def test_gb18030_csv_records(tmp_path: Path, rules: Any) -> None:
    roster = workbook(tmp_path / "roster.xlsx", {"组织": ORGS_ZH, "人员": PEOPLE_ZH})
    text = (
        "编号,组织,类型,日期,主持人,参加人员,标签,说明\r\n"
        "G1,t1,qinzi_lvze,2024-03-01,1001,,亲自部署、亲自督办,书记亲自部署党风廉政建设工作\r\n"
        "G2,t1,zhuanti_huiyi,2024-13-01,1001,,,日期无效\r\n"
    )
    path = tmp_path / "gbk.csv"
    path.write_bytes(text.encode("gb18030"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really not UTF-8
    rows = list(read_records(path))
    good, bad = rows
    assert isinstance(good, Rec) and good.tags == {"亲自部署", "亲自督办"} and good.line == 2
    assert isinstance(bad, BadRow) and (bad.line, bad.field) == (3, "date")
    report = evaluate(rules, roster, [path], period="2024", as_of="2025-01-15")
    assert one(report, "ZZ-08-02", "1001", "2024").status is Status.fulfilled
    assert one(report, "ZZ-08-05", "1001", "2024").evidence == ["G1"]
    assert one(report, "ZZ-08-03", "1001", "2024").status is Status.violated
    rows_account = account(report, str(path))
    assert (rows_account.read, rows_account.used, rows_account.rejected) == (2, 1, 1)


# ---------------------------------------------------------------- CSV out


def test_findings_csv_is_excel_friendly_and_neutralises_formulas(tmp_path: Path, rules: Any) -> None:
    roster = {
        "organisations": [{"id": "t1", "name": INJECTION, "kind": "township"}],
        "people": [
            {"id": "s1", "name": "@SUM(A1:A9)", "posts": [{"org": "t1", "role": "secretary", "start": "2020-01-01"}]}
        ],
    }
    records = [{"id": "-1+1", "org": "t1", "type": "zhuanti_huiyi", "date": "2024-03-01", "chair": "s1"}]
    report = evaluate(rules, roster, records, **H1)
    data = render_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == list(COLUMNS)
    assert len(table) == 1 + len(report.findings)
    for row in table:
        assert len(row) == len(COLUMNS)
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    body = [dict(zip(COLUMNS, row, strict=True)) for row in table[1:]]
    assert {row["组织 organisation"] for row in body} == {"'" + INJECTION}
    chaired = next(r for r in body if r["规则编号 rule_id"] == "ZZ-08-01")
    assert (chaired["状态"], chaired["status"]) == ("已履行", "fulfilled")
    assert chaired["对象 subject"] == "'@SUM(A1:A9)" and chaired["证据 evidence"] == "'-1+1"
    assert chaired["期间 period"] == "2024-H1" and chaired["判定区间 window"] == "2024-01-01..2024-06-30"
    assert chaired["次数 count"] == "1" and chaired["说明"] and chaired["message"]


def test_neutralise() -> None:
    for bad in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx", "\nx", "＝1+1", "＋1", "－1", "＠A1"):
        assert neutralise(bad) == "'" + bad
    # a formula sign after what a spreadsheet may trim first: spaces, line breaks, invisible characters
    for lead in (" ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "\u200b", "\ufeff", "\x0b", " \n\u3000"):
        for sign in "=+-@＝＋－＠":
            text = f'{lead}{sign}HYPERLINK("http://x")'
            assert neutralise(text) == "'" + text, repr(text)
    for fine in ("", "1", "甲镇党委", " 甲镇党委", "  ", "R-1", "a=b", "a =b", "2024-01-01..2024-06-30"):
        assert neutralise(fine) == fine


def test_csv_cells_with_a_formula_after_spaces_or_line_breaks_are_neutralised(rules: Any) -> None:
    roster = {
        "organisations": [{"id": "t1", "name": ' \n=HYPERLINK("http://x","y")', "kind": "township"}],
        "people": [
            {
                "id": "s1",
                "name": "\u3000＠SUM(A1)",
                "posts": [{"org": "t1", "role": "secretary", "start": "2020-01-01"}],
            }
        ],
    }
    records = [{"id": "\t-2+3", "org": "t1", "type": "zhuanti_huiyi", "date": "2024-03-01", "chair": "s1"}]
    report = evaluate(rules, roster, records, **H1)
    table = list(csv.reader(io.StringIO(render_csv(report).decode("utf-8-sig"), newline="")))
    body = [dict(zip(COLUMNS, row, strict=True)) for row in table[1:]]
    assert {row["组织 organisation"] for row in body} == {'\' \n=HYPERLINK("http://x","y")'}
    chaired = next(r for r in body if r["规则编号 rule_id"] == "ZZ-08-01")
    assert chaired["对象 subject"] == "'\u3000＠SUM(A1)" and chaired["证据 evidence"] == "'\t-2+3"
    assert chaired["次数 count"] == "1"  # a number stays a number
    for row in table:
        for cell in row:
            stripped = cell.lstrip(" \t\r\n\u3000\u00a0\u200b\ufeff")
            assert not stripped[:1] or stripped[0] not in "=+-@＝＋－＠" or cell.startswith("'"), cell


def test_cli_evaluates_a_workbook_to_csv(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    book = workbook(inputs / "county.xlsx", {"组织": ORGS_ZH, "人员": PEOPLE_ZH, "活动记录": RECORDS_ZH})
    out = tmp_path / "findings.csv"
    args = ["--rules", str(RULES), "--period", "2024-H1", "--as-of", "2024-07-15"]
    assert main(["evaluate", str(book), *args, "--format", "csv", "-o", str(out)]) == 1  # 3001 violated
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert "ZZ-08-01,未履行,violated,t3,丙镇党委,3001" in data.decode("utf-8-sig")
    # a folder: the workbook is the roster and the records; Excel's lock file is ignored
    (inputs / "~$county.xlsx").write_bytes(b"lock")
    folder_out = tmp_path / "folder.csv"
    assert main(["evaluate", str(inputs), *args, "--format", "csv", "-o", str(folder_out)]) == 1
    assert folder_out.read_bytes() == data


def test_cli_roster_yaml_with_records_workbook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        "organisations:\n  - {id: t1, name: 甲镇党委, kind: township}\n"
        "people:\n  - {id: '1001', name: 张书记, posts: [{org: t1, role: secretary, start: 2020-01-01}]}\n",
        encoding="utf-8",
    )
    records = workbook(tmp_path / "records.xlsx", {"活动记录": RECORDS_ZH[2:4]})
    args = ["--rules", str(RULES), "--period", "2024-H1", "--as-of", "2024-07-15", "--format", "json"]
    code = main(["evaluate", str(roster), str(records), *args])
    document = json.loads(capsys.readouterr().out)
    assert code == (1 if document["summary"]["violated"] else 0)
    assert [(s["source"], s["read"], s["used"]) for s in document["input"]["sources"]] == [
        (str(roster), 2, 2),
        (str(records), 1, 1),
    ]
    empty = workbook(tmp_path / "empty.xlsx", {"组织": [["id"]], "人员": [["id"]], "说明": [["x"]]})
    assert main(["evaluate", str(roster), str(empty), *args]) == 2  # organisations but no records sheet
    assert "no record files" in capsys.readouterr().err
    neither = workbook(tmp_path / "neither.xlsx", {"说明": [["x"]], "附件": [["y"]]})
    assert main(["evaluate", str(roster), str(neither), *args]) == 2
    assert "no records or organisations sheet" in capsys.readouterr().err
