"""The columnar intake of CSV record files (rules_engine.load.csvcolumns): a CSV, TSV or TXT table read by
columns gives the same report, byte for byte, as the per-row reader, for messy files too (Chinese and English
headers, quoted cells, list cells, empty cells, broken rows, duplicate ids within and across files of both
kinds): the same input account, rejected and excluded rows (file, line, field, value, reason), warnings, first
of two equal ids, and findings. A file the columnar reader cannot map with certainty is read row by row whole."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules_engine.load.csvcolumns as csvcolumns
from rules_engine import compile_rules, load_rules
from rules_engine.errors import InputError
from rules_engine.load.csvcolumns import PLAIN_REFUSED, csv_blocks
from rules_engine.load.inputs import Rec
from rules_engine.tally import Counter

from .conftest import RULES
from .test_columnar import LINES, MESSES, _codes, _compact, _report

RECORDS = [json.loads(line) for line in LINES]
FIELDS = ("id", "org", "type", "date", "chair", "participants", "portfolio", "tags", "text")
#: Headers the per-row reader maps to the record fields: English, Chinese, another case, other Chinese names.
HEADERS = {
    "english": dict(zip(FIELDS, FIELDS, strict=True)),
    "chinese": dict(
        zip(FIELDS, ("编号", "组织", "类型", "日期", "主持人", "参加人员", "分管领域", "标签", "内容"), strict=True)
    ),
    "mixed": dict(
        zip(
            FIELDS,
            ("ID", "Organisation", "活动类型", "Date", "组织者", "出席人员", "Portfolio", "TAGS", "备注"),
            strict=True,
        )
    ),
}


@pytest.fixture(scope="module")
def rules():  # type: ignore[no-untyped-def]
    return compile_rules(load_rules(RULES))


def _cell(record: dict[str, Any], name: str, sep: str = ";") -> str:
    value = record.get(name)
    if name in ("participants", "tags"):
        return sep.join(value or [])
    return "" if value is None else str(value)


def _line(cells: list[str], delimiter: str) -> str:
    """One row as Python's csv module writes it (quoted where a cell needs it)."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(cells)
    return out.getvalue()


# Ways to write a record as table lines; each takes the record, a second record, the columns and the delimiter.
def _row(r: dict[str, Any], columns: list[str], d: str, **cells: str) -> str:
    return _line([cells.get(c, _cell(r, c)) for c in columns], d)


ROWS: dict[str, Any] = {
    "clean": lambda r, o, c, d: [_row(r, c, d)],
    "spaces around cells": lambda r, o, c, d: [d.join(f"  {_cell(r, n)}\t" for n in c)],
    "participants with other separators": lambda r, o, c, d: [
        _row(r, c, d, participants=" ， ".join(r["participants"]) + "、|p001 | ；")
    ],
    "participants quoted with commas": lambda r, o, c, d: [_row(r, c, d, participants=", ".join(r["participants"]))],
    "participants with a blank part": lambda r, o, c, d: [_row(r, c, d, participants=";;".join(r["participants"]))],
    "participant repeated": lambda r, o, c, d: [_row(r, c, d, participants=";".join(r["participants"] * 2))],
    "tags": lambda r, o, c, d: [_row(r, c, d, tags="a; b ;a")],
    "text with commas, quoted": lambda r, o, c, d: [_row(r, c, d, text='say "yes", then, no')],
    "a quote inside a cell": lambda r, o, c, d: [_row(r, c, d).replace(r["id"], r["id"] + 'x"y', 1)],
    "empty cells": lambda r, o, c, d: [_row(r, c, d, chair="", portfolio="", tags="", text="")],
    "chair only spaces": lambda r, o, c, d: [_row(r, c, d, chair="   ")],
    "same id, other content": lambda r, o, c, d: [_row({**o, "id": r["id"]}, c, d)],
    "identical duplicate": lambda r, o, c, d: [_row(r, c, d), _row(r, c, d)],
    "duplicate of another record's id": lambda r, o, c, d: [_row({**r, "id": o["id"]}, c, d)],
    "copy of another record": lambda r, o, c, d: [_row(o, c, d)],
    "unknown org": lambda r, o, c, d: [_row({**r, "org": r["org"] + "x"}, c, d)],
    "unknown type": lambda r, o, c, d: [_row({**r, "type": "no_such_type"}, c, d)],
    "unknown participant": lambda r, o, c, d: [_row({**r, "participants": [*r["participants"], "p999"]}, c, d)],
    "unknown chair": lambda r, o, c, d: [_row({**r, "chair": "p0x"}, c, d)],
    "no such day": lambda r, o, c, d: [_row({**r, "date": "2024-02-30"}, c, d)],
    "day badly written": lambda r, o, c, d: [_row({**r, "date": "2024-2-3"}, c, d)],
    "day in full-width digits": lambda r, o, c, d: [_row({**r, "date": "２０２４-０３-０１"}, c, d)],
    "day with a time": lambda r, o, c, d: [_row({**r, "date": "2024-03-01T10:00"}, c, d)],
    "after the evaluation date": lambda r, o, c, d: [_row({**r, "date": "2025-03-01"}, c, d)],
    "after the evaluation date, inside the span": lambda r, o, c, d: [_row({**r, "date": "2025-01-20"}, c, d)],
    "outside every window": lambda r, o, c, d: [_row({**r, "date": "2019-05-01"}, c, d)],
    "id empty": lambda r, o, c, d: [_row(r, c, d, id="")],
    "org empty": lambda r, o, c, d: [_row(r, c, d, org=" ")],
    "too few cells": lambda r, o, c, d: [d.join(_cell(r, n) for n in c[:-2])],
    "too many cells": lambda r, o, c, d: [_row(r, c, d) + d + "extra"],
    "blank cells after the last": lambda r, o, c, d: [_row(r, c, d) + d + " " + d],
    "blank line": lambda r, o, c, d: ["", _row(r, c, d)],
    "line of delimiters": lambda r, o, c, d: [d * (len(c) - 1), _row(r, c, d)],
    "line of spaces": lambda r, o, c, d: ["   ", _row(r, c, d)],
    "ideographic space around a cell": lambda r, o, c, d: [_row(r, c, d, chair=f"\u3000{r['chair'] or ''}\u3000")],
    "unit separator around a cell": lambda r, o, c, d: [_row(r, c, d, org=f"\x1c{r['org']}\x1f")],
    "no-break space in the id": lambda r, o, c, d: [_row(r, c, d, id=r["id"] + "\xa0")],
    "a \\x01 byte": lambda r, o, c, d: [_row(r, c, d, text="a\x01b")],
    "a long id": lambda r, o, c, d: [_row(r, c, d, id="R" * 10_001)],
}
#: Messes of a whole file (any of them sends the whole file row by row, or makes both paths refuse it alike).
FILE_MESSES: dict[str, Any] = {
    "none": lambda lines: lines,
    "a quoted cell spanning lines": lambda lines: [*lines[:2], '"a\nb",x', *lines[2:]],
    "a quote left open": lambda lines: [*lines[:2], lines[2].replace(",", ',"', 1) if len(lines) > 2 else '"'],
    "a title line above the header": lambda lines: ["考核记录 records", *lines],
    "an unknown column": lambda lines: [lines[0] + ",room", *lines[1:]],
    "a column without a name": lambda lines: [lines[0] + ",", *lines[1:]],
    "a column named twice": lambda lines: [lines[0] + ",id", *lines[1:]],
    "a lone carriage return in a cell": lambda lines: [*lines[:-1], lines[-1] + "a\rb"],
    "a NUL byte": lambda lines: [*lines[:-1], lines[-1] + "\x00"],
}


@st.composite
def messy_tables(draw: st.DrawFn) -> tuple[str, str, list[str], list[list[str]], str, str, bool]:
    """A header (its names, columns, delimiter) and the rows of up to 40 example records, each written in one
    of the ROWS ways; the file's own mess, the line end and whether it starts with a UTF-8 byte-order mark."""
    names = draw(st.sampled_from(sorted(HEADERS)))
    columns = draw(st.permutations(FIELDS))
    columns = [c for c in columns if c in ("id", "org", "type", "date") or draw(st.booleans())]
    delimiter = draw(st.sampled_from([",", ",", "\t", ";"]))
    picks = draw(st.lists(st.integers(0, len(RECORDS) - 1), min_size=1, max_size=40))
    messes = draw(st.lists(st.sampled_from(sorted(ROWS)), min_size=len(picks), max_size=len(picks)))
    rows = [
        ROWS[mess](RECORDS[i], RECORDS[(i * 7 + 3) % len(RECORDS)], columns, delimiter)
        for i, mess in zip(picks, messes, strict=True)
    ]
    whole = draw(st.sampled_from(["none"] * 12 + sorted(FILE_MESSES)))  # (mostly files read by columns)
    end = draw(st.sampled_from(["\n"] * 4 + ["\r\n"]))
    return names, delimiter, columns, rows, whole, end, draw(st.booleans())


def _table(names: str, delimiter: str, columns: list[str], rows: list[list[str]], whole: str) -> list[str]:
    header = delimiter.join(HEADERS[names][c] for c in columns)
    return FILE_MESSES[whole]([header, *(line for group in rows for line in group)])


def _write(path: Path, lines: list[str], end: str = "\n", bom: bool = False, final: bool = True) -> Path:
    data = end.join(lines) + (end if final else "")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8", "surrogateescape"))
    return path


def _outcome(rules, paths: list[Path], columnar: bool, **sizes: int) -> bytes | str:  # type: ignore[no-untyped-def]
    """The report, or the error both paths must give alike."""
    try:
        return _report(rules, paths, columnar=columnar, **sizes)
    except InputError as exc:
        return f"{exc.code}: {exc}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    case=messy_tables(),
    final=st.booleans(),
    block=st.sampled_from([1, 2, 3, 7, 0]),
    piece=st.sampled_from([1, 150, 400, 0]),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
@pytest.mark.slow
def test_columns_and_rows_give_the_same_report_for_messy_tables(  # type: ignore[no-untyped-def]
    rules, tmp_path: Path, case, final: bool, block: int, piece: int, suffix: str
) -> None:
    """Whatever falls at the edge of a block or a piece (a duplicate of a line of an earlier block, a bad line, a
    piece read line by line for a \\x01 byte), whatever the header's language, order, columns and delimiter."""
    names, delimiter, columns, rows, whole, end, bom = case
    path = _write(tmp_path / f"records{suffix}", _table(names, delimiter, columns, rows, whole), end, bom, final)
    by_rows = _outcome(rules, [path], columnar=False)
    assert _outcome(rules, [path], columnar=True, block=block, piece=piece) == by_rows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tables=st.lists(messy_tables(), min_size=1, max_size=3),
    jsonl=st.lists(st.tuples(st.integers(0, len(LINES) - 1), st.sampled_from(sorted(MESSES))), max_size=30),
    where=st.integers(0, 3),
    block=st.sampled_from([2, 0]),
)
@pytest.mark.slow
def test_tables_and_json_lines_files_in_any_order_give_the_same_report(  # type: ignore[no-untyped-def]
    rules, tmp_path: Path, tables, jsonl, where: int, block: int
) -> None:
    """Tables and a JSON Lines file in any order, repeating each other's records (the first occurrence wins, in
    whichever file and however it was read)."""
    paths = []
    for k, (names, delimiter, columns, rows, whole, end, bom) in enumerate(tables):
        paths.append(_write(tmp_path / f"t{k}.csv", _table(names, delimiter, columns, rows, whole), end, bom))
    lines = [line for i, mess in jsonl for line in MESSES[mess](RECORDS[i], RECORDS[(i * 7 + 3) % len(RECORDS)])]
    paths.insert(min(where, len(paths)), _write(tmp_path / "r.jsonl", lines))
    by_rows = _outcome(rules, paths, columnar=False)
    assert _outcome(rules, paths, columnar=True, block=block) == by_rows


SEPARATORS = (";", "；", "、", "|", " ， ")  # the list cells' separators (a comma would be quoted)


def _clean(names: str = "english", delimiter: str = ",", records: list[dict[str, Any]] = RECORDS) -> list[str]:
    """A table of `records`, their list cells joined with each separator in turn."""
    header = delimiter.join(HEADERS[names][c] for c in FIELDS)
    rows = (
        _line([_cell(r, c, SEPARATORS[i % len(SEPARATORS)]) for c in FIELDS], delimiter) for i, r in enumerate(records)
    )
    return [header, *rows]


@pytest.mark.parametrize("names", sorted(HEADERS))
def test_clean_rows_go_to_the_tally_as_columns_and_messy_ones_row_by_row(
    rules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: str
) -> None:  # type: ignore[no-untyped-def]
    """The example's records as a table with a Chinese, English or mixed header (with a byte-order mark, with CRLF
    line ends and tabs, as Excel writes them): every row but those with a quoted cell (a text with an ASCII
    comma) is split by polars, and every used one is vouched for (none needs the per-row checks) and reaches the
    tally as columns; the report is the per-row one."""
    blocks: list[int] = []
    rows: list[Rec] = []
    checked: list[int] = []
    add_frame, add, check = Counter.add_frame, Counter.add, csvcolumns.checked_rows
    monkeypatch.setattr(Counter, "add_frame", lambda self, frame: (blocks.append(frame.height), add_frame(self, frame)))
    monkeypatch.setattr(Counter, "add", lambda self, rec: (rows.append(rec), add(self, rec)))
    monkeypatch.setattr(csvcolumns, "checked_rows", lambda r, *a, **k: (checked.append(r.height), check(r, *a, **k))[1])
    table = _clean(names, "\t" if names == "mixed" else ",")  # (a .csv of tabs: the delimiter is the header's)
    path = _write(tmp_path / "records.csv", table, "\r\n" if names == "mixed" else "\n", bom=names == "chinese")
    report = _report(rules, [path], columnar=True)
    account = json.loads(report)["input"]["sources"][1]
    used = account["used"]
    quoted = sum(1 for line in table[1:] if '"' in line)
    assert used > 1000 and sum(blocks) == used and not rows
    assert sum(checked) == account["rejected"] == 1  # (the example rejects one row: only it takes the per-row checks)
    read = [block for block in csv_blocks(path, str(path), ",") or []]
    assert sum(block.rows.height for block in read) == len(RECORDS) - quoted
    assert len([line for block in read for line, _ in block.others]) == quoted
    blocks.clear()
    assert _report(rules, [path], columnar=False) == report
    assert not blocks and len(rows) == used


def test_what_makes_a_whole_table_be_read_row_by_row(tmp_path: Path) -> None:
    lines = _clean(records=RECORDS[:5])
    many = _clean(records=RECORDS[:30])  # (a doubt after the first lines, which are read on their own)
    doubtful = {
        "gb18030 after the first lines": ("\n".join(many) + "\n").encode() + "记录\n".encode("gb18030"),
        "a long line after the first lines": ("\n".join([*many, "x" * (csv.field_size_limit() + 1)]) + "\n").encode(),
        "a quote left open after the first lines": ("\n".join([*many, '"a,b']) + "\n").encode(),
        "utf-16": ("\n".join(lines) + "\n").encode("utf-16"),
        "gb18030": ("\n".join(lines) + "\n").encode("gb18030"),
        "a lone carriage return": ("\n".join(lines) + "\ra\n").encode(),
        "cr at the end": ("\n".join(lines) + "\r").encode(),
        "a NUL byte": ("\n".join(lines) + "\x00\n").encode(),
        "a quoted cell spanning lines": ("\n".join([*lines, '"a\nb",x']) + "\n").encode(),
        "a title line": ("\n".join(["考核记录", *lines]) + "\n").encode(),
        "an unknown column": ("\n".join([lines[0] + ",room", *lines[1:]]) + "\n").encode(),
        "a column without a name": ("\n".join([lines[0] + ",", *lines[1:]]) + "\n").encode(),
        "a column named twice": ("\n".join([lines[0] + ",编号", *lines[1:]]) + "\n").encode(),
        "a line beyond the field limit": ("\n".join([*lines, "x" * (csv.field_size_limit() + 1)]) + "\n").encode(),
        "empty": b"",
    }
    for name, data in doubtful.items():
        path = tmp_path / "records.csv"
        path.write_bytes(data)
        assert csv_blocks(path, str(path), ",") is None, name
    for name, data in {
        "utf-8 with a byte-order mark": b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode(),
        "no final line end": "\n".join(lines).encode(),
        "crlf line ends": ("\r\n".join(lines) + "\r\n").encode(),
        "crlf line ends and quotes": ("\r\n".join([*lines, '"a,b",x']) + "\r\n").encode(),
        "quotes closed on their line": ("\n".join([*lines, '"a,b",x']) + "\n").encode(),
    }.items():
        path = tmp_path / "records.csv"
        path.write_bytes(data)
        blocks = csv_blocks(path, str(path), ",")
        assert blocks is not None, name
        read = list(blocks)
        assert [line for block in read for line in block.rows.get_column("line")] == [2, 3, 4, 5, 6], name


def test_lines_with_whitespace_python_and_polars_trim_differently_are_read_row_by_row() -> None:
    """PLAIN_REFUSED holds every character Python's str.strip takes for whitespace but space and tab, and the
    quote: cells of other lines are trimmed by polars as Python would."""
    spaces = {chr(c) for c in range(0x110000) if chr(c).isspace()}
    assert set(PLAIN_REFUSED) == (spaces - {" ", "\t"}) | {'"'}
    kept = [f"{s}x{s}" for s in sorted(spaces)]
    trimmed = pl.Series(kept).str.strip_chars().to_list()
    assert [k.strip() for k, t in zip(kept, trimmed, strict=True) if k.strip() != t] == ["x"] * 4  # \x1c-\x1f


def test_a_line_beyond_the_field_limit_is_the_same_error_both_ways(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    limit = csv.field_size_limit()
    lines = _clean(records=RECORDS[:30])
    path = _write(tmp_path / "records.csv", [*lines[:25], lines[25].replace(",", "," + "x" * limit, 1), *lines[26:]])
    by_rows = _outcome(rules, [path], columnar=False)
    assert isinstance(by_rows, str) and by_rows.startswith("input.table.unparsable")
    assert _outcome(rules, [path], columnar=True) == by_rows


@pytest.mark.parametrize("order", ["csv first", "jsonl first"])
def test_duplicate_ids_across_a_table_and_a_json_lines_file(rules, tmp_path: Path, order: str) -> None:  # type: ignore[no-untyped-def]
    """A table and a JSON Lines file, both read by columns, each repeating a record of the other (identical) and
    reusing another's id with other content: the later ones are duplicates located at the first, in either
    order, within a file too."""
    table = _write(tmp_path / "a.csv", _clean(records=[*RECORDS[:30], RECORDS[3]]))
    other = [RECORDS[5], {**RECORDS[6], "date": "2024-03-03"}, *RECORDS[40:60], RECORDS[41]]
    jsonl = _write(tmp_path / "b.jsonl", [_compact(r) for r in other])
    paths = [table, jsonl] if order == "csv first" else [jsonl, table]
    by_rows = _report(rules, paths, columnar=False)
    assert _report(rules, paths, columnar=True, block=7) == by_rows
    if order == "csv first":
        expected = [
            ("a.csv", 32, "row.duplicate.identical", "a.csv:5"),
            ("b.jsonl", 1, "row.duplicate.identical", "a.csv:7"),
            ("b.jsonl", 2, "row.duplicate.conflict", "a.csv:8"),
            ("b.jsonl", 23, "row.duplicate.identical", "b.jsonl:4"),
        ]
    else:
        expected = [
            ("a.csv", 7, "row.duplicate.identical", "b.jsonl:1"),
            ("a.csv", 8, "row.duplicate.conflict", "b.jsonl:2"),
            ("a.csv", 32, "row.duplicate.identical", "a.csv:5"),
            ("b.jsonl", 23, "row.duplicate.identical", "b.jsonl:4"),
        ]
    assert _codes(by_rows) == expected


def test_the_example_as_a_table_and_every_kind_of_row_with_workers_too(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    columns = list(FIELDS)
    lines = _clean()
    for k, (name, mess) in enumerate(ROWS.items()):  # every kind of row once, spread over the file
        at = 1 + (len(name) * 37) % (len(lines) - 1)
        lines[at:at] = mess({**RECORDS[0], "id": f"M{k}"}, RECORDS[5], columns, ",")
    paths = [_write(tmp_path / "a.csv", lines[:600]), _write(tmp_path / "b.tsv", [_clean(delimiter="\t")[0]])]
    second = [_line(line, "\t") for line in csv.reader(lines[600:])]
    paths[1] = _write(paths[1], [_clean(delimiter="\t")[0], *second])
    by_rows = _report(rules, paths, columnar=False)
    report = json.loads(by_rows)
    assert all(report["input"][key] for key in ("rejections", "excluded", "warnings"))
    codes = {row["code"] for key in ("rejections", "excluded") for row in report["input"][key]}
    assert {"row.duplicate.identical", "row.duplicate.conflict", "row.columns.count", "row.date.invalid"} <= codes
    assert _report(rules, paths, columnar=True) == by_rows
    assert _report(rules, paths, columnar=True, workers=2) == by_rows
    assert _report(rules, paths, columnar=True, block=64, piece=4096) == by_rows
