"""Findings as a CSV file for spreadsheets: one row per finding, UTF-8 with BOM, CRLF line ends.

Excel opens the file directly (the BOM tells it the encoding). Every text cell is neutralised against
formula injection (OWASP "CSV Injection"): a cell that starts with ``=``, ``+``, ``-``, ``@`` (or their
full-width forms ``＝＋－＠``), a tab, a carriage return or a line feed gets a leading apostrophe, and so
does a cell in which such a sign follows characters a spreadsheet may trim first (spaces, line breaks,
no-break and ideographic spaces, zero-width and other invisible characters). A name such as
``=cmd|' /C calc'!A0`` or `` \n=1+1`` is shown as text, never evaluated. Numbers (the ``count``
column) are written as numbers.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping
from typing import IO, Any, TextIO

import polars as pl

from ..model.findings import Finding, Report, Status

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
FORMULA_SIGNS = frozenset("=+-@＝＋－＠")

#: Column headers, in order: Chinese and English where one value is given, otherwise one column per language.
COLUMNS = (
    "规则编号 rule_id",
    "状态",
    "status",
    "组织编号 organisation_id",
    "组织 organisation",
    "对象编号 subject_id",
    "对象 subject",
    "期间 period",
    "判定区间 window",
    "应为 expected",
    "实际 actual",
    "次数 count",
    "证据 evidence",
    "严重程度 severity",
    "说明",
    "message",
    "理由 reason",
    "豁免 waiver",
    "参数来源 set_by",
)


def neutralise(text: str) -> str:
    """The cell text, prefixed with an apostrophe if a spreadsheet would read it as a formula."""
    if text.startswith(FORMULA_START):
        return "'" + text
    i = 0
    while i < len(text) and _trimmed(text[i]):
        i += 1
    return "'" + text if 0 < i < len(text) and text[i] in FORMULA_SIGNS else text


def _trimmed(char: str) -> bool:
    """A character a spreadsheet may drop before reading a formula: white space, controls, invisibles."""
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def subject_text(kind: str, id: str, name: str, portfolio: str | None, second: str | None, record: str | None) -> str:
    """The ``对象 subject`` cell: the duty-bearer's name, with the portfolio area and the second person of a pair
    (`second`: that person's name, None without one); a record's duty names the record."""
    if kind == "record":
        return f"记录 record {record or id}"
    text = name
    if portfolio:
        text += f"（{portfolio}）"
    if second is not None:
        text += f"、{second}"
    return text


def waiver_text(waiver: Mapping[str, Any] | None) -> str:
    """The ``豁免 waiver`` cell of a finding's waiver (as the JSON report holds it), empty without one."""
    if waiver is None:
        return ""
    state = "已过期 expired" if waiver["expired"] else "有效 in force"
    return f"{waiver['id']}（{state}，{waiver['expires']}）：{waiver['justification']}"


def set_by_text(params: Mapping[str, Mapping[str, Any]]) -> str:
    """The ``参数来源 set_by`` cell: each parameter's value and the pack (or override) that set it, sorted."""
    return "; ".join(sorted({f"{name}={info['value']} ({info['set_by']})" for name, info in params.items()}))


def finding_cells(f: Finding) -> list[str | int]:
    """One finding's cells under :data:`COLUMNS`, as they are (the Parquet file and the data frames use
    these; a spreadsheet needs :func:`finding_row`)."""
    s = f.subject
    w = f.waiver
    waiver = (
        None
        if w is None
        else {"id": w.id, "expired": w.expired, "expires": w.expires, "justification": w.justification}
    )
    return [
        f.rule_id,
        f.status.zh,
        f.status.value,
        f.organisation.id,
        f.organisation.name,
        s.id,
        subject_text(s.kind, s.id, s.name, s.portfolio, s.second.name if s.second is not None else None, s.record),
        f.period.label,
        f"{f.window.start}..{f.window.end}",
        f.expected.zh,
        f.actual.zh,
        f.count,
        "、".join(f.evidence),
        f.severity.value,
        f.message.zh,
        f.message.en,
        f.reason.zh,
        waiver_text(waiver),
        set_by_text(f.params),
    ]


def dict_cells(f: Mapping[str, Any]) -> list[str | int]:
    """:func:`finding_cells` of a finding as the JSON report holds it (a v1 finding, e.g. from
    :func:`rules_engine.findings.finding_dict`): the same cells without building the model."""
    s = f["subject"]
    second = s["second"]
    window = f["window"]
    return [
        f["rule_id"],
        Status(f["status"]).zh,
        f["status"],
        f["organisation"]["id"],
        f["organisation"]["name"],
        s["id"],
        subject_text(
            s["kind"], s["id"], s["name"], s["portfolio"], None if second is None else second["name"], s["record"]
        ),
        f["period"]["label"],
        f"{window['start']}..{window['end']}",
        f["expected"]["zh"],
        f["actual"]["zh"],
        f["count"],
        "、".join(f["evidence"]),
        f["severity"],
        f["message"]["zh"],
        f["message"]["en"],
        f["reason"]["zh"],
        waiver_text(f["waiver"]),
        set_by_text(f["params"]),
    ]


def finding_row(f: Finding) -> list[str | int]:
    """One finding as a CSV row (text cells neutralised)."""
    return [neutralise(c) if isinstance(c, str) else c for c in finding_cells(f)]


def write_csv(findings: Iterable[Finding], out: TextIO) -> None:
    """Write the header and one row per finding to a text stream (no BOM: see :func:`render_csv`)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in COLUMNS])
    for f in findings:
        writer.writerow(finding_row(f))


def write_csv_bytes(findings: Iterable[Finding], out: IO[bytes]) -> None:
    """The CSV file to a binary stream: UTF-8 with BOM, CRLF, one row per finding; `out` stays open."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        text.write(BOM)
        write_csv(findings, text)
        text.flush()
    finally:
        text.detach()


# a cell that may need the apostrophe starts with a formula sign or with a character a spreadsheet may trim (a
# superset: :func:`neutralise` decides each of them)
_MAYBE_FORMULA = r"^[=+\-@＝＋－＠\s\p{Cc}\p{Cf}\p{Z}]"


def write_csv_frames(frames: Iterable[pl.DataFrame], out: IO[bytes]) -> None:
    """The CSV file of findings given as cells (frames of :data:`COLUMNS`, e.g.
    :meth:`rules_engine.finding_lines.LineMaker.ledger_cells`) to a binary stream: the bytes
    :func:`write_csv_bytes` writes for the same findings; `out` stays open. The rows are written by polars,
    which quotes as the csv module does (a cell with a comma, a quote or a line break) but for an empty text,
    written here as a null so that it stays unquoted."""
    header = io.StringIO(newline="")
    csv.writer(header, lineterminator="\r\n").writerow([neutralise(c) for c in COLUMNS])
    out.write((BOM + header.getvalue()).encode())
    for frame in frames:
        cells = _neutralised(frame).with_columns(pl.col(pl.String).replace("", None))
        cells.write_csv(out, include_header=False, line_terminator="\r\n", quote_style="necessary", null_value="")


def _neutralised(frame: pl.DataFrame) -> pl.DataFrame:
    """The text cells a spreadsheet would read as a formula, with the apostrophe (the few that may need it go
    through :func:`neutralise`)."""
    out = []
    for column in frame.get_columns():
        if column.dtype == pl.String:
            maybe = column.str.contains(_MAYBE_FORMULA).fill_null(False)
            if maybe.any():
                where = maybe.arg_true()
                fixed = pl.Series([neutralise(v) for v in column.gather(where).to_list()], dtype=pl.String)
                column = column.scatter(where, fixed)
        out.append(column)
    return pl.DataFrame(out)


def render_csv(report: Report) -> bytes:
    """The findings of `report` as CSV bytes (see :func:`write_csv_bytes`)."""
    buffer = io.BytesIO()
    write_csv_bytes(report.findings, buffer)
    return buffer.getvalue()
