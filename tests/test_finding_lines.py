"""The JSON writers' findings made from columns (finding_lines.py) are the bytes finding_dict gives."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_engine import Finding, evaluate, evaluate_to, load_rules, render_csv, render_json
from rules_engine.compile import compile_rules
from rules_engine.finding_lines import LineMaker
from rules_engine.findings import finding_dict, rule_table
from rules_engine.model.findings import Status
from rules_engine.model.layout import finding_v2
from rules_engine.pipeline import prepare
from rules_engine.render.csv import COLUMNS, dict_cells, finding_cells, neutralise, write_csv_frames
from rules_engine.render.frames import write_parquet, write_parquet_frames

from .conftest import EXAMPLE, RULES, person, rec


def _example_run() -> Any:
    """The example's run (every status, waivers, escalations, triggers, pairs, portfolios), its records in every
    format the example has."""
    return prepare(
        RULES,
        EXAMPLE / "roster.yaml",
        sorted(EXAMPLE.glob("*.jsonl")) + sorted(EXAMPLE.glob("*.csv")),
        "2024",
        "2025-01-15",
        None,
        20,
        [EXAMPLE / "waivers.yaml"],
    )


def _python_lines(run: Any, keys: dict[int, str] | None) -> bytes:
    lines = []
    for ob, d in run.decided():
        found = finding_dict(ob, d.status, d.waives, raw=True)
        lines.append(orjson.dumps(found if keys is None else finding_v2(keys[id(ob.rule)], found)))
    return b",\n    ".join(lines)


@pytest.mark.parametrize("layout", ["v1", "v2"])
@pytest.mark.parametrize("lists", ["columns", "objects"])
def test_lines_from_columns_are_the_bytes_of_finding_dict(layout: str, lists: str, monkeypatch) -> None:
    """Every status, waivers, escalations, triggers, pairs, portfolios, custom and short messages (the example),
    in chunks smaller than the run (the tally's too), with the tally's lists as columns or already on the
    obligations: the ledger's rows read as columns, objects only for the findings made in Python."""
    monkeypatch.setattr("rules_engine.finding_lines.CHUNK", 97)
    monkeypatch.setattr("rules_engine.tally.CHUNK_RECORDS", 5)
    monkeypatch.setattr("rules_engine.finding_lines._REASON_TEXTS", 2)  # reasons made again, chunk after chunk
    monkeypatch.setattr("rules_engine.finding_lines._EVIDENCE_ROWS", 5)  # evidence lists made a few at a time
    monkeypatch.setattr("rules_engine.finding_lines._SEGMENT", 150)  # and for a few chunks of findings at a time
    run = _example_run()
    keys = rule_table(run.compiled.rules)[1] if layout == "v2" else None
    assert run.ledger is not None
    maker = LineMaker(keys, run.tallied)
    python = sum(len(maker._in_python(chunk)) for chunk, _ in maker._ledger_chunks(run.ledger))
    assert python < 0.1 * len(run.ledger)  # most findings take the column path
    if lists == "objects":
        assert run.tallied is not None
        run.tallied.fill()
    expected = _python_lines(run, keys)
    made = b",\n    ".join(LineMaker(keys, run.tallied).ledger_blocks(run.ledger))
    assert made.split(b",\n    ") == expected.split(b",\n    ")


def test_text_that_json_escapes_is_escaped_as_the_in_memory_report(make_pack, tmp_path: Path) -> None:
    """Quotes, backslashes, control characters and non-ASCII text in names, ids, areas and message templates."""
    roster = {
        "organisations": [{"id": "t1", "name": '甲镇"党委"\\北', "kind": "township"}],
        "people": [
            person("s1", "张\t书记\u0001", "t1", "secretary"),
            person("m1", 'O"Neil \\ 王😀', "t1", "member", portfolios=['宣传"思想\\', "政法"]),
            person("m2", "赵\n委员", "t1", "member"),
        ],
    }
    pack = make_pack(
        (
            "TALK-1",
            """
            subject: pair
            pair: {first: [secretary], second: [member]}
            match: {types: [talk], participants: [first, second]}
            params: {period: year, at_least: 2}
            messages:
              violated: {zh: '{subject}与{second}"未谈" \\ {window}', en: 'no "talk" \\ {organisation} {actual}'}
            """,
        ),
        (
            "YG-1",
            """
            subject: portfolio
            roles: [member]
            match: {types: [visit], chair: subject, portfolio: subject}
            params: {period: half_year, at_least: 1}
            """,
        ),
    )
    rules = compile_rules(load_rules(pack))
    records = [
        rec('k"1\\', "talk", "2024-03-01", "s1", ["s1", "m1"]),
        rec("k\t2", "talk", "2024-04-01", "s1", ["s1", "m2"]),
        rec("v1", "visit", "2024-02-01", "m1", portfolio='宣传"思想\\'),
        rec("v2", "visit", "2024-08-01", "m1", portfolio="经济"),
    ]
    report = evaluate(rules, roster, records, period="2024", as_of="2025-01-01")
    texts = orjson.dumps([f.model_dump(mode="json") for f in report.findings])
    assert b'\\"' in texts and b"\\\\" in texts and b"\\t" in texts and b"\\u0001" in texts  # the case is there
    for layout in ("v1", "v2"):
        out = tmp_path / f"report-{layout}.json"
        evaluate_to(out, rules, roster, records, period="2024", as_of="2025-01-01", report_format=layout)
        assert out.read_bytes() == render_json(report, report_format=layout, rules=rules if layout == "v2" else None)


@pytest.mark.parametrize("lists", ["columns", "objects"])
def test_cells_from_columns_are_the_cells_of_the_findings_models(lists: str, monkeypatch) -> None:
    """The CSV and Parquet cells made from columns (every kind of finding of the example, waivers and escalations
    among them, in chunks smaller than the run) are those of each finding's model; so are the cells made from a
    finding's dict (the path the others take)."""
    monkeypatch.setattr("rules_engine.finding_lines.CHUNK", 97)
    monkeypatch.setattr("rules_engine.tally.CHUNK_RECORDS", 5)
    monkeypatch.setattr("rules_engine.finding_lines._SEGMENT", 150)  # evidence lists made for a few chunks at a time
    run = _example_run()
    if lists == "objects":
        assert run.tallied is not None
        run.tallied.fill()
    assert run.ledger is not None
    frames = list(LineMaker(None, run.tallied).ledger_cells(run.ledger))
    assert len(frames) > 1 and all(list(f.columns) == list(COLUMNS) for f in frames)
    made = [list(row) for frame in frames for row in frame.iter_rows()]
    dicts = [finding_dict(ob, d.status, d.waives) for ob, d in run.decided()]
    expected = [finding_cells(Finding.model_validate(found)) for found in dicts]
    assert {row[1] for row in expected} >= {"已履行", "未履行", "已豁免", "不适用"}  # (the case is there)
    assert made == expected
    assert [dict_cells(found) for found in dicts] == expected


def test_cells_of_text_a_spreadsheet_would_run_are_neutralised_as_the_in_memory_report(
    make_pack, tmp_path: Path
) -> None:
    """Names, areas and ids that start with a formula sign (or with spaces and invisible characters before one),
    JSON escapes among them: the streamed CSV and Parquet files are those of the in-memory report."""
    roster = {
        "organisations": [{"id": "=t1", "name": '=HYPERLINK("x")镇', "kind": "township"}],
        "people": [
            person("s1", "\u3000+张书记", "=t1", "secretary"),
            person("m1", '@O"Neil \\ 王', "=t1", "member", portfolios=["-宣传", "\u200b=政法"]),
            person("m2", "\u3000+赵\n委员", "=t1", "member"),
            person("s2", "-1", "=t1", "secretary"),
        ],
    }
    pack = make_pack(
        (
            "YG-1",
            """
            subject: portfolio
            roles: [member]
            match: {types: [visit], chair: subject, portfolio: subject}
            params: {period: half_year, at_least: 1}
            messages:
              violated: {zh: '={subject}未履行', en: '+{subject} "did not"'}
            """,
        ),
    )
    rules = compile_rules(load_rules(pack))
    records = [
        rec("=v1", "visit", "2024-02-01", "m1", org="=t1", portfolio="-宣传"),
        rec("v2", "visit", "2024-08-01", "m1", org="=t1"),
    ]
    report = evaluate(rules, roster, records, period="2024", as_of="2025-01-01")
    expected_csv = render_csv(report)
    for shown in ("'=t1", "'=HYPERLINK", "'@O", "'=v1", "'\u3000+", "'=@O"):  # (the cases are there)
        assert shown.encode() in expected_csv, shown
    parquet = io.BytesIO()
    write_parquet(report.findings, parquet)
    for format, expected in (("csv", expected_csv), ("parquet", parquet.getvalue())):
        out = tmp_path / f"report.{format}"
        evaluate_to(out, rules, roster, records, period="2024", as_of="2025-01-01", format=format)
        assert out.read_bytes() == expected, format


def test_parquet_from_cells_keeps_the_row_groups(tmp_path: Path) -> None:
    """Cells in chunks of any size are written in the row groups the model path writes: the same bytes."""
    report = evaluate(RULES, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of="2025-01-15")
    expected = io.BytesIO()
    write_parquet(report.findings, expected, row_group=100)
    frame = pl.DataFrame([finding_cells(f) for f in report.findings], schema=list(COLUMNS), orient="row")
    assert frame.height > 250
    chunks = [frame.slice(0, 37), frame.slice(37, 163), frame.slice(200, 1), frame.slice(201)]
    out = io.BytesIO()
    write_parquet_frames(iter(chunks), out, row_group=100)
    assert out.getvalue() == expected.getvalue()


_CELL_SCHEMA = {name: pl.Int64 if name == "次数 count" else pl.String for name in COLUMNS}
# (a NUL only from Python 3.11: the csv module of 3.10 cannot write one, so the model path raises there)
_CELL_TEXT = st.text(
    st.sampled_from(list(",\"'\r\n\t =+-@＝\u3000\u200ba中😀" + ("\x00" if sys.version_info >= (3, 11) else ""))),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(_CELL_TEXT, min_size=18, max_size=18), st.integers(0, 10**6)), max_size=5))
def test_csv_rows_written_by_polars_are_those_of_the_csv_module(rows: list[tuple[list[str], int]]) -> None:
    """Quoting (commas, quotes, line breaks; empty cells unquoted), the apostrophe before formulas, CRLF, BOM."""
    at = COLUMNS.index("次数 count")
    cells = [[*texts[:at], count, *texts[at:]] for texts, count in rows]
    frame = pl.DataFrame(cells, schema=_CELL_SCHEMA, orient="row")
    out = io.BytesIO()
    write_csv_frames([frame, frame.clear()], out)
    expected = io.StringIO(newline="")
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in COLUMNS])
    writer.writerows([neutralise(c) if isinstance(c, str) else c for c in row] for row in cells)
    assert out.getvalue() == ("\ufeff" + expected.getvalue()).encode()


_EVERY = (
    "{rule_id}|{subject}|{organisation}|{period}|{window}|{portfolio}|{second}|{clause}|{title}|{expected}|{actual}"
)


@pytest.mark.parametrize("as_of", ["2025-01-01", "2024-08-15"])
def test_messages_of_every_placeholder_and_escape_are_those_of_the_in_memory_report(
    make_pack, tmp_path: Path, as_of: str
) -> None:
    """Templates naming every placeholder a rule may use, the subject's several times, with quotes, backslashes, a
    tab and braces in their literal text; names and ids that JSON escapes: every status's message (custom, short
    and default), in the JSON (v1, v2), CSV and Parquet files, is the in-memory report's."""
    roster = {
        "organisations": [{"id": 't"1', "name": '甲镇\\"党委"', "kind": "township"}],
        "people": [
            person("s1", '张"书记\\', 't"1', "secretary"),
            person("m1", "王\t委员", 't"1', "member", portfolios=['宣传"思想']),
            person("m2", "赵委员", 't"1', "member", portfolios=["政法"]),
        ],
    }
    pack = make_pack(
        (
            "ALL-1",
            f"""
            subject: person
            roles: [secretary, member]
            match: {{types: [talk], chair: subject}}
            params: {{period: half_year, at_least: 2}}
            messages:
              violated: {{zh: '未"履行"\\\\{_EVERY}', en: 'not {{{{done}}}}\t{_EVERY}'}}
              short:
                zh: '仅{{actual}}：{{subject}}{{subject}}{{organisation}}{{subject}}{{second}}"'
                en: 'only {{actual}} of {{expected}}'
              fulfilled: {{zh: '{_EVERY}', en: '"{{subject}}" \\\\ {{organisation}}'}}
              pending: {{zh: '待{{window}}"', en: '{{subject}} {{organisation}} pending'}}
            """,
        ),
        (
            "PAIR-1",
            """
            subject: pair
            pair: {first: [secretary], second: [member]}
            match: {types: [talk], participants: [first, second]}
            params: {period: year, at_least: 1}
            messages:
              violated: {zh: '{subject}{second}{organisation}{portfolio}{subject}"', en: '{second} of {subject}'}
            """,
        ),
        (
            "YG-1",
            """
            subject: portfolio
            roles: [member]
            match: {types: [visit], chair: subject, portfolio: subject}
            params: {period: half_year, at_least: 1}
            messages:
              violated: {zh: '{portfolio}"{organisation}"{subject}', en: '{portfolio} \\\\ {second} {actual}'}
            """,
        ),
    )
    rules = compile_rules(load_rules(pack))
    records = [
        rec("k1", "talk", "2024-02-01", "s1", ["s1", "m1"], org='t"1'),
        rec("k2", "talk", "2024-03-01", "s1", ["s1"], org='t"1'),
        rec("k3", "talk", "2024-04-01", "m1", ["m1", "s1"], org='t"1'),
        rec("v1", "visit", "2024-02-01", "m1", org='t"1', portfolio='宣传"思想'),
    ]
    report = evaluate(rules, roster, records, period="2024", as_of=as_of)
    messages = [(f.rule_id, f.status.value, f.message.zh, f.message.en) for f in report.findings]
    statuses = {(rule, status) for rule, status, *_ in messages}
    assert {("ALL-1", "violated"), ("ALL-1", "fulfilled")} <= statuses  # (the cases are there)
    assert ("PAIR-1", "violated" if as_of > "2025" else "pending") in statuses
    assert as_of > "2025" or ("ALL-1", "pending") in statuses
    assert any(m[2].count("王\t委员") == 3 for m in messages)  # (a short message names the subject 3 times)
    for layout in ("v1", "v2"):
        out = tmp_path / f"report-{layout}.json"
        evaluate_to(out, rules, roster, records, period="2024", as_of=as_of, report_format=layout)
        assert out.read_bytes() == render_json(report, report_format=layout, rules=rules if layout == "v2" else None)
    parquet = io.BytesIO()
    write_parquet(report.findings, parquet)
    for format, expected in (("csv", render_csv(report)), ("parquet", parquet.getvalue())):
        out = tmp_path / f"report.{format}"
        evaluate_to(out, rules, roster, records, period="2024", as_of=as_of, format=format)
        assert out.read_bytes() == expected, format


ESCALATION_WAIVERS = """\
waivers:
  - id: T-ESC-1
    rule: ZZ-ESC-01
    org: county
    subject: p002
    from: 2024-01-01
    to: 2024-12-31
    justification: 测试 test
    approved_by: 测试 test
    approved_on: 2024-06-01
    expires: 2025-06-30
  - id: T-ESC-2
    rule: ZZ-ESC-01
    org: edu-pg
    from: 2024-01-01
    to: 2024-12-31
    justification: 已失效 expired
    approved_by: 测试 test
    approved_on: 2024-06-01
    expires: 2024-12-31
"""


def test_escalations_of_every_status_written_from_the_ledger_are_those_of_finding_dict(
    tmp_path: Path, monkeypatch
) -> None:
    """Escalation findings are written from the ledger's columns, their evidence a column: of every status an
    escalation can take (the example's escalations given each decision of their rule's table in turn; some covered
    by a waiver, one expired), their JSON lines (v1, v2) and cells are those finding_dict gives; only the waived and
    those covered by a waiver are made in Python."""
    monkeypatch.setattr("rules_engine.finding_lines.CHUNK", 97)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(ESCALATION_WAIVERS, encoding="utf-8")
    run = prepare(RULES, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", "2024", "2025-01-15", None, 3, [waivers])
    ledger = run.ledger
    assert ledger is not None
    escalations = {r.index for r in run.compiled.rules if r.rule.escalate is not None}
    choices = {r: [d for d in run.compiled.decisions if d.rule_index in (None, r)] for r in escalations}
    decided = []
    for i, (rule, code) in enumerate(ledger.table.select("rule", "decision").iter_rows()):
        decided.append(choices[rule][i % len(choices[rule])] if rule in escalations else ledger.decisions[code])
    ledger.set_decisions(decided)
    raised = [(ob, d) for ob, d in run.decided() if ob.rule.index in escalations]
    assert {d.status.value for _, d in raised} == {s.value for s in Status}  # (the case is there)
    assert {ob.waiver_expired for ob, _ in raised if ob.waiver is not None} == {False, True}
    assert any(ob.evidence and len(ob.evidence) == 3 < ob.count for ob, _ in raised)
    made_in_python = []
    python = LineMaker._python

    def spy(self: LineMaker, ob: Any, d: Any, *lists: str) -> str:
        made_in_python.append((ob, d))
        return python(self, ob, d, *lists)

    monkeypatch.setattr(LineMaker, "_python", spy)
    for layout in ("v1", "v2"):
        keys = rule_table(run.compiled.rules)[1] if layout == "v2" else None
        made = b",\n    ".join(LineMaker(keys, run.tallied).ledger_blocks(ledger))
        assert made.split(b",\n    ") == _python_lines(run, keys).split(b",\n    ")
    in_python = [(ob, d) for ob, d in made_in_python if ob.rule.index in escalations]
    assert in_python and all(ob.waiver is not None or d.status is Status.waived for ob, d in in_python)
    cells = [list(row) for frame in LineMaker(None, run.tallied).ledger_cells(ledger) for row in frame.iter_rows()]
    assert cells == [dict_cells(finding_dict(ob, d.status, d.waives)) for ob, d in run.decided()]
