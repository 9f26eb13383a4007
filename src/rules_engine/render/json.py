"""The JSON report: ``rules-engine/report/v1`` and ``/v2`` (see docs/report-format.md). Byte-identical for
identical inputs.

One writer per layout serves both the in-memory report (:func:`render_json`) and the streaming evaluation
(``evaluate_to``), so the two give the same bytes. The header is indented; each finding is one compact
line (a report of a province has millions: one line each keeps the file a third smaller, fast to write,
and easy to ``grep`` or split). In v2 each entry of the ``rules`` table is one line too, before the findings.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any, Protocol

import orjson

from ..errors import InputError
from ..model.findings import Report
from ..model.layout import RuleTable, finding_v2, header_v2, layout_format

if TYPE_CHECKING:
    from ..compile import CompiledRules

_CHUNK = 512  # findings joined per write call


class FileBlock(Protocol):
    """A block of findings held in a file (a worker's spool: :mod:`rules_engine.workers`), which copies itself
    to the output, by the operating system where it can."""

    def write_to(self, out: IO[bytes]) -> None: ...


def write_json(header: Mapping[str, Any], findings: Iterable[Any], out: IO[bytes]) -> None:
    """Write the v1 report: the header keys in order (two-space indent), then ``findings``, one per line
    (JSON-ready mappings, or ``orjson.Fragment`` lines)."""
    _write_head(header, out)
    _write_lines(b'"findings": [', b"]", ((None, f) for f in findings), out)
    out.write(b"\n}\n")


def write_json_v2(
    header: Mapping[str, Any], table: RuleTable, findings: Iterable[tuple[str, Mapping[str, Any]]], out: IO[bytes]
) -> None:
    """Write the v2 report: the v1 `header` as the v2 header (indented), the ``rules`` table of `table` (one
    entry per line), then ``findings``, one per line; `findings` gives each v1 finding with its rule's key."""
    write_json_v2_lines(header, table, (finding_v2(key, f) for key, f in findings), out)


def write_json_v2_lines(header: Mapping[str, Any], table: RuleTable, findings: Iterable[Any], out: IO[bytes]) -> None:
    """:func:`write_json_v2` of findings already in the v2 layout (mappings, or ``orjson.Fragment`` lines)."""
    _write_head(header_v2(header), out)
    entries = ((orjson.dumps(key), entry) for key, entry in table.entries.items())
    _write_lines(b'"rules": {', b"}", entries, out)
    out.write(b",\n  ")
    _write_lines(b'"findings": [', b"]", ((None, f) for f in findings), out)
    out.write(b"\n}\n")


def _write_head(header: Mapping[str, Any], out: IO[bytes]) -> None:
    head = orjson.dumps(dict(header), option=orjson.OPT_INDENT_2)
    out.write(head[:-2])  # drop the closing "\n}"
    out.write(b",\n  ")


def _write_lines(opening: bytes, closing: bytes, items: Iterable[tuple[bytes | None, Any]], out: IO[bytes]) -> None:
    """``"name": [`` (or ``{``), each item compact on its own line (after its key, for an object), the closing."""
    out.write(opening)
    dumps = orjson.dumps
    parts: list[bytes] = []
    first = True
    for key, value in items:
        parts.append(b"\n    " if first else b",\n    ")
        if key is not None:
            parts.append(key + b": ")
        parts.append(dumps(value))
        first = False
        if len(parts) >= _CHUNK:
            out.write(b"".join(parts))
            parts.clear()
    out.write(b"".join(parts))
    out.write(closing if first else b"\n  " + closing)


def render_json(
    report: Report,
    *,
    report_format: str = "v1",
    rules: CompiledRules | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """UTF-8 JSON bytes of the report, keys in model order, the header indented, one line per finding.

    `report_format`: ``v1`` (the findings whole) or ``v2`` (each rule's parts once, in a ``rules`` table). For
    v2, `rules` are the compiled rules the report was evaluated with: then the bytes are those of
    ``evaluate_to(..., report_format="v2")``, whose table lists every variant evaluated; without them the
    table lists the variants the findings use, in order of first use.

    Raises :class:`~rules_engine.errors.InputError` for a report built by hand with text JSON cannot
    carry (a lone surrogate), or for v2 with `rules` that did not make its findings; :func:`~rules_engine.evaluate`
    never makes one.

    `extra`: keys added to the header after ``summary`` (the command line's ``filter``)."""
    layout_format(report_format)
    data = report.model_dump(mode="json")
    findings = data.pop("findings")
    if extra:
        data = _inserted(data, "summary", extra)
    buffer = io.BytesIO()
    try:
        if report_format == "v1":
            write_json(data, findings, buffer)
        else:
            write_json_v2(data, *_keyed(findings, rules), buffer)
    except orjson.JSONEncodeError as exc:
        raise InputError.of("output.not_json", error=str(exc)) from None
    return buffer.getvalue()


def _inserted(data: dict[str, Any], after: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        out[key] = value
        if key == after:
            out.update(extra)
    return out


def _keyed(
    findings: list[dict[str, Any]], rules: CompiledRules | None
) -> tuple[RuleTable, list[tuple[str, dict[str, Any]]]]:
    if rules is None:
        table = RuleTable()
        return table, [(table.find(f) or table.add(f), f) for f in findings]
    from ..findings import rule_table  # (the findings stage: not needed for v1)

    table, _ = rule_table(rules.rules)
    keyed = []
    for f in findings:
        key = table.find(f)
        if key is None:
            raise InputError.of("output.foreign_finding", rule=f["rule_id"], org=f["organisation"]["id"])
        keyed.append((key, f))
    return table, keyed


def write_json_lines(
    header: Mapping[str, Any], blocks: Iterable[bytes | FileBlock], out: IO[bytes], table: RuleTable | None = None
) -> None:
    """What :func:`write_json` (`table` None) or :func:`write_json_v2` writes, from findings already serialised:
    `blocks` of compact JSON lines joined by ``,\\n    `` (see :mod:`rules_engine.finding_lines`), as bytes or
    as a :class:`FileBlock`."""
    if table is None:
        _write_head(header, out)
    else:
        _write_head(header_v2(header), out)
        entries = ((orjson.dumps(key), entry) for key, entry in table.entries.items())
        _write_lines(b'"rules": {', b"}", entries, out)
        out.write(b",\n  ")
    out.write(b'"findings": [')
    first = True
    for block in blocks:
        out.write(b"\n    " if first else b",\n    ")
        if isinstance(block, bytes):
            out.write(block)
        else:
            block.write_to(out)
        first = False
    out.write(b"]" if first else b"\n  ]")
    out.write(b"\n}\n")
