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
from collections.abc import Iterable
from typing import IO, TextIO

from ..model.findings import Finding, Report

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


def _subject(f: Finding) -> str:
    s = f.subject
    if s.kind == "record":
        return f"记录 record {s.record or s.id}"
    text = s.name
    if s.portfolio:
        text += f"（{s.portfolio}）"
    if s.second is not None:
        text += f"、{s.second.name}"
    return text


def _waiver(f: Finding) -> str:
    w = f.waiver
    if w is None:
        return ""
    state = "已过期 expired" if w.expired else "有效 in force"
    return f"{w.id}（{state}，{w.expires}）：{w.justification}"


def finding_cells(f: Finding) -> list[str | int]:
    """One finding's cells under :data:`COLUMNS`, as they are (the Parquet file and the data frames use
    these; a spreadsheet needs :func:`finding_row`)."""
    return [
        f.rule_id,
        f.status.zh,
        f.status.value,
        f.organisation.id,
        f.organisation.name,
        f.subject.id,
        _subject(f),
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
        _waiver(f),
        "; ".join(sorted({f"{name}={info['value']} ({info['set_by']})" for name, info in f.params.items()})),
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


def render_csv(report: Report) -> bytes:
    """The findings of `report` as CSV bytes (see :func:`write_csv_bytes`)."""
    buffer = io.BytesIO()
    write_csv_bytes(report.findings, buffer)
    return buffer.getvalue()
