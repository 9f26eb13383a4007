"""Findings as JUnit XML, the test report every CI server reads (Jenkins, GitLab, Azure, GitHub actions).

One ``<testsuite>`` per organisation, one ``<testcase>`` per finding:

- ``violated``: a ``<failure>`` with the message, what was expected and what was found;
- ``undeterminable``: an ``<error>`` with the reason it cannot be decided;
- ``pending``, ``not_applicable``, ``waived``: ``<skipped>`` with the reason (and the waiver);
- ``fulfilled``: a passing test case.

Text is in Chinese, then English. The bytes depend only on the report: no clock, no host name; the
suites' ``timestamp`` is the evaluation date (``as_of``) and every ``time`` is ``0``. Characters XML 1.0
forbids (control characters, lone surrogates) are written as visible escapes such as ``\\x01``.

Suites are written as they complete: the writer holds one organisation's findings at a time (findings
come grouped by organisation, see ``evaluate_to``); a report whose findings are not grouped gets one
suite per run of findings of the same organisation.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from ..model.findings import Finding, Report, Status

# XML 1.0 allows #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_SKIPPED = (Status.pending, Status.not_applicable, Status.waived)


def xml_safe(text: str) -> str:
    """`text` with every character XML 1.0 cannot hold replaced by a visible escape (``\\x01``, ``\\ud800``)."""
    return _FORBIDDEN.sub(lambda m: f"\\x{ord(m.group()):02x}" if m.group() < " " else f"\\u{ord(m.group()):04x}", text)


def _attr(value: str) -> str:
    return quoteattr(xml_safe(value))


def _text(value: str) -> str:
    return escape(xml_safe(value), {"\r": "&#13;"})


def _tag(name: str, attrs: Iterable[tuple[str, str]], close: bool = False) -> str:
    inner = "".join(f" {key}={_attr(value)}" for key, value in attrs)
    return f"<{name}{inner}{'/' if close else ''}>"


def _both(zh: str, en: str) -> str:
    return f"{zh} / {en}" if en and en != zh else zh


def _subject(f: Finding) -> str:
    s = f.subject
    if s.kind == "organisation":
        return "组织 organisation"
    if s.kind == "record":
        return f"记录 record {s.record or s.id}"
    text = f"{s.name}（{s.id}）"
    if s.portfolio:
        text += f"［{s.portfolio}］"
    if s.second is not None:
        text += f"、{s.second.name}（{s.second.id}）"
    return text


def _case_name(f: Finding) -> str:
    window = f.window.label or f"{f.window.start}..{f.window.end}"
    return f"{f.rule_id} {f.rule_title.zh} / {f.rule_title.en} — {_subject(f)} — {window}"


def _details(f: Finding) -> str:
    lines = [
        f"{f.status.zh} {f.status.value}: {f.message.zh}",
        f.message.en,
        f"应为 expected: {_both(f.expected.zh, f.expected.en)}",
        f"实际 found: {_both(f.actual.zh, f.actual.en)}",
        f"理由 reason: {_both(f.reason.zh, f.reason.en)}",
        f"依据 clause: {f.clause.label}",
        f"判定区间 window: {f.window.start}..{f.window.end}",
        f"规则包 pack: {f.pack}@{f.pack_version}",
    ]
    if f.evidence:
        more = f"（共 {f.count} 条 of {f.count}）" if f.count > len(f.evidence) else ""
        lines.append(f"证据 evidence: {', '.join(f.evidence)}{more}")
    for r in f.rejected:
        lines.append(f"未采用 not counted: {r.record}: {_both(r.reason.zh, r.reason.en)}")
    w = f.waiver
    if w is not None:
        state = "已过期 expired" if w.expired else "有效 in force"
        lines.append(
            f"豁免 waiver {w.id}（{state}，至 until {w.expires}，批准 approved by {w.approved_by}，{w.source}）："
            f"{w.justification}"
        )
    return "\n".join(lines)


def _outcome(f: Finding) -> str:
    """The child element that gives the test case its result (empty for a passing case)."""
    status = f.status
    if status is Status.violated:
        message = _both(f.message.zh, f.message.en)
        return _tag("failure", [("type", status.value), ("message", message)]) + _text(_details(f)) + "</failure>"
    if status is Status.undeterminable:
        message = _both(f.reason.zh, f.reason.en)
        return _tag("error", [("type", status.value), ("message", message)]) + _text(_details(f)) + "</error>"
    if status in _SKIPPED:
        message = f"{status.zh} {status.value}: {_both(f.reason.zh, f.reason.en)}"
        if f.waiver is not None and status is Status.waived:
            message = f"{status.zh} {status.value}: 豁免 waiver {f.waiver.id}：{f.waiver.justification}"
        return _tag("skipped", [("type", status.value), ("message", message)]) + _text(_details(f)) + "</skipped>"
    return ""


def _suite(index: int, findings: list[Finding], timestamp: str) -> str:
    org = findings[0].organisation
    counts = {status: 0 for status in Status}
    for f in findings:
        counts[f.status] += 1
    head = _tag(
        "testsuite",
        [
            ("name", f"{org.name}（{org.id}）"),
            ("tests", str(len(findings))),
            ("failures", str(counts[Status.violated])),
            ("errors", str(counts[Status.undeterminable])),
            ("skipped", str(sum(counts[s] for s in _SKIPPED))),
            ("time", "0"),
            ("timestamp", timestamp),
            ("id", str(index)),
            ("package", org.id),
        ],
    )
    parts = [f"  {head}\n"]
    for f in findings:
        attrs = [("name", _case_name(f)), ("classname", f"{org.id}.{f.rule_id}"), ("time", "0")]
        outcome = _outcome(f)
        if outcome:
            parts.append(f"    {_tag('testcase', attrs)}\n      {outcome}\n    </testcase>\n")
        else:
            parts.append(f"    {_tag('testcase', attrs, close=True)}\n")
    parts.append("  </testsuite>\n")
    return "".join(parts)


def _input_suite(rejections: list[Mapping[str, Any]], timestamp: str) -> str:
    """A suite for the input rows that were rejected: each an ``<error>``, so a CI view of the run shows
    the damage that made it incomplete (exit 4) next to the findings, not an all-green page."""
    head = _tag(
        "testsuite",
        [
            ("name", "输入 input: 被拒收的行 rejected rows"),
            ("tests", str(len(rejections))),
            ("failures", "0"),
            ("errors", str(len(rejections))),
            ("skipped", "0"),
            ("time", "0"),
            ("timestamp", timestamp),
            ("id", "input"),
            ("package", "input"),
        ],
    )
    parts = [f"  {head}\n"]
    for row in rejections:
        where = f"{row['source']}:{row['line']}"
        reason = _both(row["reason"]["zh"], row["reason"]["en"])
        details = "\n".join(
            line
            for line in (
                f"位置 at: {where}",
                f"字段 field: {row['field']}" if row.get("field") else "",
                f"值 value: {row['value']}" if row.get("value") is not None else "",
                f"记录 record: {row['record_id']}" if row.get("record_id") else "",
                "此行可能是某项职责的证据，相关结论为无法判定"
                " the row may have evidenced a duty: those findings are undeterminable",
            )
            if line
        )
        attrs = [("name", where), ("classname", "input.rejected"), ("time", "0")]
        error = _tag("error", [("type", "rejected"), ("message", reason)]) + _text(details) + "</error>"
        parts.append(f"    {_tag('testcase', attrs)}\n      {error}\n    </testcase>\n")
    parts.append("  </testsuite>\n")
    return "".join(parts)


def write_junit(header: Mapping[str, Any], findings: Iterable[Finding], out: IO[bytes]) -> None:
    """Write the JUnit XML document: `header` is the report's header (``period``, ``as_of``, ``summary``,
    ``input``), `findings` come grouped by organisation; one suite is held and written at a time. Rejected
    input rows come first, as a suite of errors of their own."""
    summary: Mapping[str, int] = header["summary"]
    rejections: list[Mapping[str, Any]] = list(header.get("input", {}).get("rejections", []))
    period = header["period"]
    label = period["label"] if isinstance(period, Mapping) else period.label
    as_of = str(header["as_of"])
    root = _tag(
        "testsuites",
        [
            ("name", f"rules-engine 履责检查 duty check {label} 评价日期 as of {as_of}"),
            ("tests", str(sum(summary.values()) + len(rejections))),
            ("failures", str(summary.get(Status.violated.value, 0))),
            ("errors", str(summary.get(Status.undeterminable.value, 0) + len(rejections))),
            ("time", "0"),
        ],
    )
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n{root}\n'.encode())
    timestamp = f"{as_of}T00:00:00"
    if rejections:
        out.write(_input_suite(rejections, timestamp).encode())
    for index, (_, group) in enumerate(itertools.groupby(findings, key=lambda f: f.organisation.id)):
        out.write(_suite(index, list(group), timestamp).encode())
    out.write(b"</testsuites>\n")


def render_junit(report: Report) -> bytes:
    """The findings of `report` as JUnit XML bytes (UTF-8); identical to ``evaluate_to(..., format="junit")``."""
    buffer = io.BytesIO()
    header = {
        "summary": report.summary,
        "period": report.period,
        "as_of": report.as_of,
        "input": {"rejections": [r.model_dump(mode="json") for r in report.input.rejections]},
    }
    write_junit(header, report.findings, buffer)
    return buffer.getvalue()
