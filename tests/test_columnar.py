"""The columnar intake (rules_engine.load.columnar): JSON Lines files read by columns give the same report, byte
for byte, as the per-row reader, for messy files too: the same input account, rejected and excluded rows (file,
line, field, value, reason), warnings, first of two equal ids, trigger duties and findings."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules_engine.intake as intake_module
import rules_engine.load.columnar as columnar_module
from rules_engine import compile_rules, evaluate_to, load_rules
from rules_engine.load.columnar import jsonl_blocks
from rules_engine.load.inputs import Rec
from rules_engine.tally import Counter

from .conftest import EXAMPLE, RULES

AS_OF = "2025-01-15"
LINES = (EXAMPLE / "records.jsonl").read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def rules():  # type: ignore[no-untyped-def]
    return compile_rules(load_rules(RULES))


def _report(rules, records: list[Path], columnar: bool, workers: int = 1, block: int = 0, piece: int = 0) -> bytes:  # type: ignore[no-untyped-def]
    """The v1 report of the example's roster and `records`, read by columns or row by row; `block`, `piece`: the
    lines of a block and the bytes of a piece the columnar reader takes at a time (0: its own)."""
    saved = intake_module._COLUMNAR, columnar_module.BLOCK, columnar_module._PIECE
    intake_module._COLUMNAR = columnar
    columnar_module.BLOCK = block or saved[1]
    columnar_module._PIECE = piece or saved[2]
    try:
        out = io.BytesIO()
        evaluate_to(
            out,
            rules,
            EXAMPLE / "roster.yaml",
            [str(p) for p in records],
            period="2024",
            as_of=AS_OF,
            format="json",
            report_format="v1",
            workers=workers,
        )
        return out.getvalue()
    finally:
        intake_module._COLUMNAR, columnar_module.BLOCK, columnar_module._PIECE = saved


def _spaced(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False)


def _compact(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


# Ways to spoil a record line; each returns the new line(s) for a record (a dict) given a second record.
MESSES: dict[str, Any] = {
    "clean": lambda r, o: [_spaced(r)],
    "compact": lambda r, o: [_compact(r)],
    "tabs": lambda r, o: [_spaced(r).replace(", ", ",\t")],
    "same id, other content": lambda r, o: [_spaced({**o, "id": r["id"]})],
    "identical duplicate": lambda r, o: [_spaced(r), _spaced(r)],
    "duplicate of an earlier line": lambda r, o: [_spaced({**r, "id": o["id"]})],
    "copy of another record": lambda r, o: [_spaced(o)],
    "unknown org": lambda r, o: [_spaced({**r, "org": r["org"] + "x"})],
    "unknown type": lambda r, o: [_spaced({**r, "type": "no_such_type"})],
    "unknown participant": lambda r, o: [_spaced({**r, "participants": [*r["participants"], "p999"]})],
    "unknown chair": lambda r, o: [_spaced({**r, "chair": "p0x"})],
    "no such day": lambda r, o: [_spaced({**r, "date": "2024-02-30"})],
    "day badly written": lambda r, o: [_spaced({**r, "date": "2024-2-3"})],
    "after the evaluation date": lambda r, o: [_spaced({**r, "date": "2025-03-01"})],
    "after the evaluation date, inside the span": lambda r, o: [_spaced({**r, "date": "2025-01-20"})],
    "outside every window": lambda r, o: [_spaced({**r, "date": "2019-05-01"})],
    "id a number": lambda r, o: [_spaced({**r, "id": 17})],
    "id empty": lambda r, o: [_spaced({**r, "id": ""})],
    "id missing": lambda r, o: [_spaced({k: v for k, v in r.items() if k != "id"})],
    "org missing": lambda r, o: [_spaced({k: v for k, v in r.items() if k != "org"})],
    "unknown field": lambda r, o: [_spaced({**r, "room": "A1"})],
    "chair empty": lambda r, o: [_spaced({**r, "chair": ""})],
    "participants as text": lambda r, o: [_spaced({**r, "participants": ";".join(r["participants"])})],
    "participants with a blank": lambda r, o: [_spaced({**r, "participants": [*r["participants"], ""]})],
    "participant repeated": lambda r, o: [_spaced({**r, "participants": r["participants"] * 2})],
    "tags": lambda r, o: [_spaced({**r, "tags": ["a", "b", "a"]})],
    "tags a number": lambda r, o: [_spaced({**r, "tags": [1]})],
    "portfolio a list": lambda r, o: [_spaced({**r, "portfolio": ["x"]})],
    "text a number": lambda r, o: [_spaced({**r, "text": 5})],
    "keys in another order": lambda r, o: [_spaced(dict(reversed(list(r.items()))))],
    "key twice": lambda r, o: [_spaced(r)[:-1] + f', "id": "{o["id"]}"}}'],
    "escaped text": lambda r, o: [_spaced(r).replace('"id": "', '"id": "\\u0041')],
    "not JSON": lambda r, o: [_spaced(r)[:-3]],
    "a list": lambda r, o: [json.dumps([r["id"]])],
    "blank line": lambda r, o: ["", _spaced(r)],
    "blank with spaces": lambda r, o: ["   ", _spaced(r)],
    "leading space": lambda r, o: [" " + _spaced(r)],
    "trailing space": lambda r, o: [_spaced(r) + " "],
    "line of control characters": lambda r, o: ['{"id": "a\x02b"}'],
    "a carriage return at the end": lambda r, o: [_spaced(r) + "\r"],
    "a \\x01 byte": lambda r, o: [_spaced({**r, "text": "a\x01b"})],
    "a byte that is not UTF-8": lambda r, o: [_spaced(r).replace('"type"', '"ty\udce9pe"')],
}


@st.composite
def messy_files(draw: st.DrawFn) -> tuple[list[list[str]], str, bool]:
    """Up to three files of example records, each line spoiled in one of the MESSES ways (or not), the records
    spread over the files; the line end (LF or CRLF) and whether the first file starts with a byte-order mark."""
    picks = draw(st.lists(st.integers(0, len(LINES) - 1), min_size=1, max_size=40))
    names = list(MESSES)
    messes = draw(st.lists(st.sampled_from(names), min_size=len(picks), max_size=len(picks)))
    files = draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(0, len(picks)), min_size=files - 1, max_size=files - 1)))
    lines: list[list[str]] = []
    for i, mess in zip(picks, messes, strict=True):
        record, other = json.loads(LINES[i]), json.loads(LINES[(i * 7 + 3) % len(LINES)])
        lines.append(MESSES[mess](record, other))
    bounds = [0, *cuts, len(lines)]
    out = [[line for group in lines[a:b] for line in group] for a, b in itertools.pairwise(bounds)]
    return out, draw(st.sampled_from(["\n", "\n", "\n", "\r\n"])), draw(st.booleans())


def _write(tmp: Path, files: list[list[str]], end: str, bom: bool, final: bool = True) -> list[Path]:
    paths = []
    for i, lines in enumerate(files):
        path = tmp / f"records-{i}.jsonl"
        data = end.join(lines) + (end if final else "")
        path.write_bytes((b"\xef\xbb\xbf" if bom and i == 0 else b"") + data.encode("utf-8", "surrogateescape"))
        paths.append(path)
    return paths


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    case=messy_files(),
    final=st.booleans(),
    block=st.sampled_from([1, 2, 3, 7, 0]),
    piece=st.sampled_from([1, 150, 400, 0]),
)
@pytest.mark.slow
def test_columns_and_rows_give_the_same_report_for_messy_files(  # type: ignore[no-untyped-def]
    rules, tmp_path: Path, case, final: bool, block: int, piece: int
) -> None:
    """Whatever falls at the edge of a block (a duplicate of a line of an earlier block, a bad line) or of a
    piece (a piece read row by row for a carriage return, a \\x01 byte, a byte that is not UTF-8)."""
    files, end, bom = case
    paths = _write(tmp_path, files, end, bom, final)
    by_rows = _report(rules, paths, columnar=False)
    assert _report(rules, paths, columnar=True, block=block, piece=piece) == by_rows


def test_the_example_and_a_messy_file_give_the_same_bytes_with_workers_too(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = list(LINES)
    first, other = json.loads(lines[0]), json.loads(lines[5])
    for k, (name, mess) in enumerate(MESSES.items()):  # every kind of mess once, spread over the file
        at = (len(name) * 37) % len(lines)
        lines[at:at] = mess({**first, "id": f"M{k}"}, other)
    lines[10:10] = [_spaced(dict(reversed(list(other.items()))))]  # an earlier line's record, read row by row
    # in the second file: a copy of a first file's record, and a record with another first-file record's id
    second = [*lines[600:], LINES[20], _spaced({**json.loads(LINES[21]), "chair": None})]
    paths = _write(tmp_path, [lines[:600], second], "\n", False)
    by_rows = _report(rules, paths, columnar=False)
    report = json.loads(by_rows)
    assert all(report["input"][key] for key in ("rejections", "excluded", "warnings"))
    codes = {row["code"] for key in ("rejections", "excluded") for row in report["input"][key]}
    assert {"row.duplicate.identical", "row.duplicate.conflict"} <= codes
    assert _report(rules, paths, columnar=True) == by_rows
    assert _report(rules, paths, columnar=True, workers=2) == by_rows


@pytest.mark.parametrize("later", ["supplement.json", "supplement.csv"])
def test_an_id_of_a_file_read_by_columns_repeated_in_a_later_file_of_another_kind_is_a_duplicate(
    rules, tmp_path: Path, later: str
) -> None:  # type: ignore[no-untyped-def]
    """A JSON Lines file read by columns, then a file read row by row (a JSON list, a CSV table) that repeats one
    of its records and reuses another's id with other content: both are duplicates, as the per-row path says
    (were the later rows used, the second would count twice and the conflict would hide an undeterminable duty
    behind a violation)."""
    first = tmp_path / "records.jsonl"
    first.write_text("\n".join(LINES[:200]) + "\n", encoding="utf-8")
    copy, conflict = json.loads(LINES[0]), {**json.loads(LINES[1]), "date": "2024-03-03"}
    second = tmp_path / later
    if later.endswith(".json"):
        second.write_text(json.dumps([copy, conflict], ensure_ascii=False), encoding="utf-8")
    else:
        names = ["id", "org", "type", "date", "chair", "participants"]
        rows = [
            [str(r.get(n) or "") if n != "participants" else ";".join(r.get(n) or []) for n in names]
            for r in (copy, conflict)
        ]
        second.write_text("\n".join(",".join(row) for row in [names, *rows]) + "\n", encoding="utf-8")
    by_rows = _report(rules, [first, second], columnar=False)
    report = json.loads(by_rows)
    codes = [row["code"] for key in ("rejections", "excluded") for row in report["input"][key]]
    assert sorted(codes) == ["row.duplicate.conflict", "row.duplicate.identical"]
    assert _report(rules, [first, second], columnar=True) == by_rows


def test_clean_lines_go_to_the_tally_as_columns_and_messy_ones_row_by_row(
    rules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    blocks: list[int] = []
    rows: list[Rec] = []
    add_frame, add = Counter.add_frame, Counter.add
    monkeypatch.setattr(Counter, "add_frame", lambda self, frame: (blocks.append(frame.height), add_frame(self, frame)))
    monkeypatch.setattr(Counter, "add", lambda self, rec: (rows.append(rec), add(self, rec)))
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    report = json.loads(_report(rules, [path], columnar=True))
    used = report["input"]["sources"][1]["used"]
    assert used > 1000 and sum(blocks) == used and not rows  # (the example rejects one row)
    blocks.clear()
    _report(rules, [path], columnar=False)
    assert not blocks and len(rows) == used


def test_lines_that_cannot_be_mapped_with_certainty_are_read_row_by_row(tmp_path: Path) -> None:
    clean = "\n".join(LINES[:3]) + "\n"
    for name, data in {"bom": b"\xef\xbb\xbf" + clean.encode(), "utf-16": clean.encode("utf-16")}.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(data)
        assert jsonl_blocks(path, str(path)) is None, name  # the whole file row by row
    for name, data in {
        "crlf": clean.replace("\n", "\r\n").encode(),
        "not utf-8": clean.encode().replace(b"p0", b"\xe9"),
        "empty": b"",
    }.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(data)
        blocks = jsonl_blocks(path, str(path))
        assert blocks is not None, name
        read = list(blocks)
        assert all(not block.rows.height for block in read), name  # every line by the per-row reader
        assert [line for block in read for line, _ in block.others] == ([] if name == "empty" else [1, 2, 3])
    path = tmp_path / "ok.jsonl"
    path.write_text(clean + "\n\n" + LINES[3], encoding="utf-8")  # blank lines, no final line end
    blocks = jsonl_blocks(path, str(path))
    assert blocks is not None
    read = list(blocks)
    assert [line for block in read for line in block.rows.get_column("line")] == [1, 2, 3, 6]
    assert not any(block.others for block in read)


def _codes(report: bytes) -> list[tuple[str, int, str, str]]:
    """(file name, line, code, first occurrence) of each rejected or excluded row."""
    data = json.loads(report)
    out = []
    for key in ("rejections", "excluded"):
        for row in data["input"][key]:
            first = next((part for part in row["reason"]["en"].split() if ".jsonl:" in part or ".csv:" in part), "")
            out.append((Path(row["source"]).name, row["line"], row["code"], Path(first.strip("()，,;")).name))
    return sorted(out)


def test_a_duplicate_and_a_bad_line_across_block_edges(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Blocks of two lines: line 3 repeats line 1 (identical), line 5 reuses line 2's id with other content, line
    4 is not JSON; each is found as the per-row path finds it, the first occurrence in an earlier block."""
    one, two = json.loads(LINES[0]), json.loads(LINES[1])
    lines = [_compact(one), _compact(two), _compact(one), _compact(one)[:-2], _compact({**two, "date": "2024-03-03"})]
    (path,) = _write(tmp_path, [[*lines, *LINES[2:9]]], "\n", False)
    by_rows = _report(rules, [path], columnar=False)
    assert _report(rules, [path], columnar=True, block=2) == by_rows
    assert _codes(by_rows) == [
        ("records-0.jsonl", 3, "row.duplicate.identical", "records-0.jsonl:1"),
        ("records-0.jsonl", 4, "row.json.malformed", ""),
        ("records-0.jsonl", 5, "row.duplicate.conflict", "records-0.jsonl:2"),
    ]


def test_ids_across_many_small_files_first_wins(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Sixty small files (JSON Lines, and a CSV table every tenth): each repeats records of earlier files, some
    identical, some with other content, some of a file read row by row; the first occurrence wins and every later
    one is a duplicate located at it, as the per-row path says."""
    names = ["id", "org", "type", "date", "chair", "participants", "portfolio", "tags"]
    files: list[Path] = []
    expected: list[tuple[str, int, str, str]] = []
    first: dict[str, str] = {}  # id -> file:line of its first occurrence
    for k in range(60):
        rows = [json.loads(LINES[(k * 3 + j) % len(LINES)]) for j in range(3)]
        if k >= 2:
            rows.append(json.loads(LINES[((k - 2) * 3) % len(LINES)]))  # identical to a record two files back
            rows.append({**json.loads(LINES[((k - 1) * 3 + 1) % len(LINES)]), "date": "2024-03-03"})  # other content
        csv = k % 10 == 9
        path = tmp_path / f"f{k:02}.{'csv' if csv else 'jsonl'}"
        if csv:
            text = [",".join(names)] + [
                ",".join(
                    ";".join(r.get(n) or []) if n in ("participants", "tags") else str(r.get(n) or "") for n in names
                )
                for r in rows
            ]
            rows = [{n: r.get(n) for n in names} for r in rows]
            offset = 2
        else:
            text = [_compact(r) for r in rows]
            offset = 1
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
        for line, row in enumerate(rows, start=offset):
            rid = row["id"]
            if rid in first:
                code = "row.duplicate.identical" if line - offset == 3 else "row.duplicate.conflict"
                expected.append((path.name, line, code, first[rid]))
            else:
                first[rid] = f"{path.name}:{line}"
        files.append(path)
    by_rows = _report(rules, files, columnar=False)
    assert _report(rules, files, columnar=True) == by_rows
    assert _codes(by_rows) == sorted(expected)


def test_an_earlier_file_changed_meanwhile_is_not_read_again(
    rules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A later file repeats a record of an earlier JSON Lines file, which is emptied after it was read: the
    duplicate is still found, located at the first occurrence, as if nothing had changed (what the first
    occurrence holds was kept when it was read)."""
    first = tmp_path / "a.jsonl"
    first.write_text("\n".join(LINES[:50]) + "\n", encoding="utf-8")
    second = tmp_path / "b.jsonl"
    second.write_text("\n".join([LINES[7], _compact({**json.loads(LINES[8]), "date": "2024-03-03"})]) + "\n")
    expected = _report(rules, [first, second], columnar=False)
    blocks = columnar_module.jsonl_blocks

    def emptied_first(path: Path, source: str):  # type: ignore[no-untyped-def]
        if path == second:
            first.write_text("", encoding="utf-8")
        return blocks(path, source)

    monkeypatch.setattr(intake_module, "jsonl_blocks", emptied_first)
    got = _report(rules, [first, second], columnar=True)
    # the same report but for the receipt (which has the emptied file's digest)
    assert {**json.loads(got), "receipt": None} == {**json.loads(expected), "receipt": None}
    assert [code for _, _, code, _ in _codes(got)] == ["row.duplicate.identical", "row.duplicate.conflict"]
