"""Inputs as users export them: text in any common encoding (Excel's "Unicode text" is UTF-16 and
tab-separated), every file of an input folder read or accounted for, and Chinese role names in a YAML
or JSON roster."""

from __future__ import annotations

import codecs
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from rules_engine import InputError, read_roster
from rules_engine.cli import main
from rules_engine.load.inputs import BadRow, Rec, decode_text, read_records

from .conftest import RULES

DATA = Path(__file__).parent / "data"
ARGS = ["--rules", str(RULES), "--period", "2024-H1", "--as-of", "2024-07-15", "--format", "json"]

ROSTER_YAML = """\
organisations:
  - {id: t1, name: 甲镇党委, kind: 乡镇党委}
people:
  - id: s1
    name: 张书记
    posts: [{org: t1, role: 书记, start: 2020-01-01}]
  - id: d1
    name: 李副书记
    posts: [{org: t1, role: 副书记, portfolios: [组织人事], start: 2020-01-01}]
  - id: m1
    name: 王委员
    posts: [{org: t1, role: 委员, portfolios: [政法], start: 2020-01-01}]
  - id: m2
    name: 赵成员
    posts: [{org: t1, role: 班子成员, start: 2020-01-01}]
"""

# a title line, a header, a cell with a tab and a line break (quoted, as Excel writes it), a bad date
UNICODE_TEXT_ROWS = [
    ["2024 年上半年活动记录", "", "", "", "", ""],
    ["编号", "组织", "类型", "日期", "主持人", "说明"],
    ["R1", "t1", "zhuanti_huiyi", "2024-03-05", "s1", "专题会议\t第一次\n研究部署"],
    ["R2", "t1", "zhuanti_huiyi", "2024-02-30", "s1", "日期无效"],
]


def excel_unicode_text(rows: list[list[str]]) -> bytes:
    """What Excel's "Save as: Unicode text" writes: UTF-16 LE with a BOM, tabs, CRLF, quotes where needed."""

    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in '\t\n"') else text

    text = "".join("\t".join(cell(c) for c in row) + "\r\n" for row in rows)
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "roster.yaml").write_text(ROSTER_YAML, encoding="utf-8")
    return inputs


# ---------------------------------------------------------------- text encodings


def test_excel_unicode_text_is_read_with_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "records.txt"
    path.write_bytes(excel_unicode_text(UNICODE_TEXT_ROWS))
    good, bad = read_records(path)
    assert isinstance(good, Rec) and (good.id, good.org, good.chair, good.line) == ("R1", "t1", "s1", 4)
    # the quoted cell spans two physical lines: the next record ends on line 5
    assert isinstance(bad, BadRow) and (bad.line, bad.field, bad.value) == (5, "date", "2024-02-30")


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        pytest.param("utf-8", b"", id="utf-8"),
        pytest.param("utf-8", codecs.BOM_UTF8, id="utf-8-bom"),
        pytest.param("gb18030", b"", id="gb18030"),
        pytest.param("utf-16-le", codecs.BOM_UTF16_LE, id="utf-16le-bom"),
        pytest.param("utf-16-be", codecs.BOM_UTF16_BE, id="utf-16be-bom"),
        pytest.param("utf-32-le", codecs.BOM_UTF32_LE, id="utf-32le-bom"),
        pytest.param("utf-16-le", b"", id="utf-16le-detected"),
    ],
)
@pytest.mark.parametrize(
    ("suffix", "delimiter"),
    [
        pytest.param(".csv", ",", id="csv-comma"),
        pytest.param(".csv", ";", id="csv-semicolon"),
        pytest.param(".tsv", "\t", id="tsv"),
        pytest.param(".txt", "\t", id="txt-tab"),
        pytest.param(".txt", ",", id="txt-comma"),
    ],
)
def test_every_common_encoding_and_delimiter_gives_the_same_records(
    tmp_path: Path, encoding: str, bom: bytes, suffix: str, delimiter: str
) -> None:
    text = (
        f"编号{delimiter}组织{delimiter}类型{delimiter}日期{delimiter}参加人员{delimiter}说明\r\n"
        f"R1{delimiter}t1{delimiter}zhuanti_huiyi{delimiter}2024-03-05{delimiter}s1、m1{delimiter}党委会议\r\n"
        f"R2{delimiter}t1{delimiter}qinzi_lvze{delimiter}2024-04-01{delimiter}{delimiter}书记亲自部署\r\n"
    )
    path = tmp_path / f"records{suffix}"
    path.write_bytes(bom + text.encode(encoding))
    rows = list(read_records(path))
    assert [(r.id, r.type, r.participants, r.line) for r in rows if isinstance(r, Rec)] == [
        ("R1", "zhuanti_huiyi", {"s1", "m1"}, 2),
        ("R2", "qinzi_lvze", frozenset(), 3),
    ]
    assert decode_text(path.read_bytes(), str(path))[0] == text


def test_gb18030_is_still_taken_before_detection() -> None:
    # short GBK text, which charset-normalizer takes for Korean (cp949), is read as GB18030, exactly
    text = "编号,组织,类型,日期\r\nR1,t1,zhuanti_huiyi,2024-03-05\r\n"
    assert decode_text(text.encode("gb18030"), "x.csv") == (text, "gb18030")


def test_undecodable_bytes_are_a_located_error_not_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    noise = random.Random(9).randbytes(200_000)
    path = tmp_path / "records.csv"
    path.write_bytes(b"id,org,type,date\nR1,t1,zhuanti_huiyi,2024-03-05\n" + noise)
    with pytest.raises(InputError) as caught:
        list(read_records(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:3: ") and "cannot decode the text" in message
    # from the command line: exit 2, the message, and no report
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER_YAML, encoding="utf-8")
    code, out, err = run(["evaluate", str(roster), str(path), *ARGS], capsys)
    assert (code, out) == (2, "") and f"{path}:3:" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            "id,org\n" + "Р1,Отдел культуры и спорта\n" * 5 + "\x01\x02", id="control-characters"
        ),  # a detector reads it, but text tables hold no control characters
        pytest.param(b"id,org\nR1\x00,t\xe9\n", id="not-utf16"),  # guessed as UTF-16 by a detector, lines lost
    ],
)
def test_a_guess_that_gives_garbage_is_refused(raw: str | bytes) -> None:
    data = raw.encode("cp1251") if isinstance(raw, str) else raw
    with pytest.raises(InputError, match=r"^x\.csv:\d+: .*cannot decode the text"):
        decode_text(data, "x.csv")


def test_a_file_with_a_bom_that_lies_is_located(tmp_path: Path) -> None:
    path = tmp_path / "records.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "id\torg\r\nR1\tt1\r\n".encode("utf-16-le") + b"\x00\xd8")  # lone surrogate
    with pytest.raises(InputError, match=r"records\.txt:3: .*not valid utf-16"):
        list(read_records(path))


def test_json_lines_and_json_in_utf16_are_read(tmp_path: Path) -> None:
    record = {"id": "R1", "org": "t1", "type": "zhuanti_huiyi", "date": "2024-03-05"}
    lines = tmp_path / "r.jsonl"  # what Windows PowerShell's `>` writes: UTF-16 LE with a BOM
    lines.write_bytes(codecs.BOM_UTF16_LE + (json.dumps(record) + "\r\n\r\n" + "{broken\r\n").encode("utf-16-le"))
    good, bad = read_records(lines)
    assert isinstance(good, Rec) and good.line == 1
    assert isinstance(bad, BadRow) and bad.line == 3 and "malformed JSON" in bad.en
    listing = tmp_path / "r.json"
    listing.write_bytes(codecs.BOM_UTF16_BE + json.dumps([record]).encode("utf-16-be"))
    assert [r.id for r in read_records(listing) if isinstance(r, Rec)] == ["R1"]


# ---------------------------------------------------------------- text tables


def test_text_table_header_titles_padding_and_stray_values(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "活动记录导出,,,,,\n"  # a title line above the header: skipped
        "编号,组织,类型,日期,,\n"  # trailing columns without a name, as Excel pads them
        "R1,t1,zhuanti_huiyi,2024-03-05,,\n"
        "R2,t1,zhuanti_huiyi,2024-03-06,,见附件\n"  # a value in a column without a header
        "R3,t1,zhuanti_huiyi\n",  # too few cells
        encoding="utf-8",
    )
    good, stray, short = read_records(path)
    assert isinstance(good, Rec) and good.line == 3
    assert isinstance(stray, BadRow) and (stray.line, stray.field, stray.value, stray.record_id) == (
        4,
        "F",
        "见附件",
        "R2",
    )
    assert isinstance(short, BadRow) and short.line == 5 and "expected 6 columns, found 3" in short.en


def test_a_text_file_that_is_not_a_table_of_records_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "说明.txt"
    notes.write_text("本目录为 2024 年活动记录。\n请勿修改。\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"说明\.txt:1: .*no records header"):
        list(read_records(notes))
    twice = tmp_path / "twice.tsv"
    twice.write_text("编号\tid\t组织\n", encoding="utf-8")
    with pytest.raises(InputError, match="duplicate column 'id'"):
        list(read_records(twice))


# ---------------------------------------------------------------- input folders


def test_a_folder_reads_xls_ods_and_unicode_text_and_says_what_it_leaves_out(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(DATA / "county.xls", folder / "county.xls")  # was skipped without a word
    shutil.copyfile(DATA / "county.ods", folder / "county.ods")
    (folder / "records.txt").write_bytes(excel_unicode_text(UNICODE_TEXT_ROWS))
    (folder / "~$county.xls").write_bytes(b"lock")
    (folder / ".DS_Store").write_bytes(b"\x00")
    (folder / "README.md").write_text("# 说明\n", encoding="utf-8")
    (folder / "waivers.yaml").write_text("waivers: []\n", encoding="utf-8")
    (folder / "old").mkdir()
    code, out, err = run(["evaluate", str(folder), *ARGS], capsys)
    assert code in (0, 1), err
    report = json.loads(out)
    sources = {(s["source"], s["kind"]) for s in report["input"]["sources"]}
    assert sources == {
        (str(folder / "roster.yaml"), "roster"),
        (str(folder / "county.ods"), "records"),
        (str(folder / "county.xls"), "records"),
        (str(folder / "records.txt"), "records"),
    }
    # the workbooks hold a roster too: roster.yaml takes precedence, and that is said
    notes = {}  # one line per folder and reason: "rules-engine: 注意 note: FOLDER: NAME, NAME: reason"
    for line in err.splitlines():
        where, names, reason = line.split("note: ", 1)[1].split(": ", 2)
        notes.update({str(Path(where) / name): reason for name in names.split(", ")})
    names = ("~$county.xls", ".DS_Store", "README.md", "waivers.yaml", "old", "county.xls", "county.ods")
    assert set(notes) == {str(folder / name) for name in names}
    assert "Office lock file" in notes[str(folder / "~$county.xls")]
    assert "give it as an input of its own" in notes[str(folder / "old")]
    assert "--waivers" in notes[str(folder / "waivers.yaml")]
    assert f"not used as the roster, which is {folder / 'roster.yaml'}" in notes[str(folder / "county.xls")]


def test_a_waiver_file_given_with_waivers_is_not_reported_as_left_out(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "records.csv").write_text("编号,组织,类型,日期,主持人\nR1,t1,zhuanti_huiyi,2024-03-05,s1\n", "utf-8")
    waivers = folder / "waivers.yaml"
    waivers.write_text("waivers: []\n", encoding="utf-8")
    code, _, err = run(["evaluate", str(folder), *ARGS, "--waivers", str(waivers)], capsys)
    assert code in (0, 1) and "not read" not in err


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        pytest.param("活动记录.docx", b"PK\x03\x04", "not a format that is read", id="docx"),
        pytest.param("records.jsonl.bak", b"{}", "not a format that is read", id="backup"),
        pytest.param("notes", b"x", "not a format that is read", id="no-suffix"),
    ],
)
def test_a_file_of_unknown_format_in_a_folder_is_refused(
    folder: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, reason: str
) -> None:
    (folder / "records.csv").write_text("编号,组织,类型,日期\nR1,t1,zhuanti_huiyi,2024-03-05\n", encoding="utf-8")
    (folder / name).write_bytes(content)
    code, out, err = run(["evaluate", str(folder), *ARGS], capsys)
    assert (code, out) == (2, "")
    assert f"{folder / name}: " in err and reason in err


def test_a_workbook_without_known_sheets_in_a_folder_is_refused(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "签到表"
    book.create_sheet("附件")
    book.save(folder / "meeting.xlsx")
    (folder / "records.csv").write_text("编号,组织,类型,日期\nR1,t1,zhuanti_huiyi,2024-03-05\n", encoding="utf-8")
    code, out, err = run(["evaluate", str(folder), *ARGS], capsys)
    assert (code, out) == (2, "") and "meeting.xlsx" in err and "no records or organisations sheet" in err


# ---------------------------------------------------------------- roster words


def test_yaml_and_json_rosters_accept_the_chinese_role_and_kind_names(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(ROSTER_YAML, encoding="utf-8")
    result = read_roster(path)
    assert not result.rejected
    roles = {p.id: p.posts[0].role for p in result.roster.people}
    assert roles == {"s1": "secretary", "d1": "deputy_secretary", "m1": "member", "m2": "member"}
    assert result.roster.organisations[0].kind == "township"
    as_json = tmp_path / "roster.json"
    data: dict[str, Any] = {
        "organisations": [{"id": "t1", "name": "甲", "kind": "党组"}],
        "people": [{"id": "p", "name": "乙", "posts": [{"org": "t1", "role": "党组成员", "start": "2020-01-01"}]}],
    }
    as_json.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    roster = read_roster(as_json).roster
    assert roster.people[0].posts[0].role == "member" and roster.organisations[0].kind == "party_group"


def test_an_unknown_role_is_rejected_with_a_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(
        "organisations:\n  - {id: t1, name: 甲镇党委, kind: township}\n"
        "people:\n"
        "  - {id: a, name: 甲, posts: [{org: t1, role: 副书纪, start: 2020-01-01}]}\n"
        "  - {id: b, name: 乙, posts: [{org: t1, role: 科员, start: 2020-01-01}]}\n"
        "  - {id: c, name: 丙, posts: [{org: t1, role: secetary, start: 2020-01-01}]}\n",
        encoding="utf-8",
    )
    result = read_roster(path)
    reasons = {r.line: r.en for r in result.rejected}
    assert set(reasons) == {4, 5, 6} and all(r.field == "role" for r in result.rejected)
    assert "unknown role '副书纪'" in reasons[4] and "did you mean '副书记'" in reasons[4]
    assert "unknown role '科员'" in reasons[5] and "书记、副书记、班子成员" in reasons[5]
    assert "did you mean 'secretary'" in reasons[6]
    assert result.used == 1 and result.rejected_units == 3  # the organisation; the three posts


def test_a_workbook_roster_accepts_the_same_role_words(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "组织"
    book.active.append(["编号", "名称", "类型"])
    book.active.append(["t1", "甲镇党委", "乡镇党委"])
    people = book.create_sheet("人员")
    people.append(["编号", "姓名", "组织", "职务", "任职开始"])
    people.append(["m1", "王委员", "t1", "委员", "2020-01-01"])  # the guide's word, once known only to the BDD steps
    people.append(["g1", "刘成员", "t1", "党组成员", "2020-01-01"])
    book.save(tmp_path / "roster.xlsx")
    result = read_roster(tmp_path / "roster.xlsx")
    assert not result.rejected
    assert [p.posts[0].role for p in result.roster.people] == ["member", "member"]


def test_an_empty_records_sheet_gives_no_rows(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "活动记录"  # nothing in it (python-calamine before 0.9 panics if asked for its rows)
    book.save(tmp_path / "empty.xlsx")
    assert list(read_records(tmp_path / "empty.xlsx")) == []


def test_an_unclosed_quote_that_swallows_rows_is_rejected_not_read_as_one_record(tmp_path: Path) -> None:
    """A quote left open makes the csv module read the following rows into one text cell; the row then has
    the right number of cells and would be a valid record, and the rows it swallowed would vanish."""
    path = tmp_path / "records.csv"
    path.write_text(
        "id,org,type,date,text\n"
        'r1,t1,zhuanti_huiyi,2024-03-01,"note\n'
        "r2,t1,zhuanti_huiyi,2024-04-01,ok\n"
        'r3,t1,zhuanti_huiyi,2024-05-01,fine"\n'
        'r4,t1,zhuanti_huiyi,2024-06-01,"a note\non two lines"\n',
        encoding="utf-8",
    )
    rows = list(read_records(path))
    assert len(rows) == 2
    bad, good = rows
    assert isinstance(bad, BadRow)
    assert (bad.line, bad.field) == (2, "E")
    assert "2–4" in bad.zh and "unclosed quote" in bad.en
    assert bad.org is None  # could belong anywhere: taints every organisation's duties
    assert isinstance(good, Rec) and good.id == "r4" and good.line == 6  # a multi-line note is a legitimate cell


def test_an_unclosed_quote_at_the_start_of_a_row_is_located_where_it_opens(tmp_path: Path) -> None:
    """A quote opened at the start of a row swallows the rest of the file into one cell: the rejection is
    located at the line where the quote opens and says which lines were lost."""
    path = tmp_path / "records.csv"
    path.write_text(
        "id,org,type,date,text\n"
        "r1,t1,zhuanti_huiyi,2024-03-01,ok\n"
        '"r2,t1,zhuanti_huiyi,2024-04-01,ok\n'
        "r3,t1,zhuanti_huiyi,2024-05-01,ok\n"
        "r4,t1,zhuanti_huiyi,2024-06-01,ok\n",
        encoding="utf-8",
    )
    good, bad = list(read_records(path))
    assert isinstance(good, Rec) and good.id == "r1"
    assert isinstance(bad, BadRow) and bad.line == 3
    assert "3–5" in bad.zh and "lines 3-5" in bad.en and "unclosed quote" in bad.en


def test_a_misspelt_roster_key_is_named_with_a_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(
        "organisations:\n"
        "  - {id: t1, name: 甲镇党委, kind: 乡镇党委, parnt: c1}\n"
        "people:\n"
        "  - id: s1\n"
        "    name: 张书记\n"
        "    posts: [{org: t1, role: 书记, strat: 2020-01-01}]\n"
        "  - name: 无编号\n",
        encoding="utf-8",
    )
    rejected = read_roster(path).rejected
    reasons = [(row.line, row.zh, row.en) for row in rejected]
    assert reasons == [
        (2, "未知字段 'parnt'；是否应为 'parent'？", "unknown field 'parnt'; did you mean 'parent'?"),
        (6, "未知字段 'strat'；是否应为 'start'？", "unknown field 'strat'; did you mean 'start'?"),
        (7, "缺少必填字段 'id'", "missing required field 'id'"),
    ]


def test_a_jsonl_line_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"id": "r1", "org": "t1", "note": "' + "甲镇".encode("gb18030") + b'"}\n')
    (bad,) = list(read_records(path))
    assert isinstance(bad, BadRow)
    assert bad.zh.startswith("不是有效的 UTF-8 文本（第 36 字节起）") and "must be UTF-8" in bad.en
    assert bad.org == "t1"  # what the line still shows narrows the duties it can taint
