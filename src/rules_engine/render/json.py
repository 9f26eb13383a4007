"""The JSON report: ``rules-engine/report/v1`` (see docs/report-format.md). Byte-identical for identical inputs.

One writer serves both the in-memory report (:func:`render_json`) and the streaming evaluation
(``evaluate_to``), so the two give the same bytes. The header is indented; each finding is one compact
line (a report of a province has millions: one line each keeps the file a third smaller, fast to write,
and easy to ``grep`` or split).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import IO, Any

import orjson

from ..errors import InputError
from ..model.findings import Report

_CHUNK = 512  # findings joined per write call


def write_json(header: Mapping[str, Any], findings: Iterable[Mapping[str, Any]], out: IO[bytes]) -> None:
    """Write the report: the header keys in order (two-space indent), then ``findings``, one per line."""
    head = orjson.dumps(dict(header), option=orjson.OPT_INDENT_2)
    out.write(head[:-2])  # drop the closing "\n}"
    out.write(b',\n  "findings": [')
    dumps = orjson.dumps
    parts: list[bytes] = []
    first = True
    for finding in findings:
        parts.append(b"\n    " if first else b",\n    ")
        parts.append(dumps(finding))
        first = False
        if len(parts) >= _CHUNK:
            out.write(b"".join(parts))
            parts.clear()
    out.write(b"".join(parts))
    out.write(b"]\n}\n" if first else b"\n  ]\n}\n")


def render_json(report: Report) -> bytes:
    """UTF-8 JSON bytes of the report, keys in model order, the header indented, one line per finding.

    Raises :class:`~rules_engine.errors.InputError` for a report built by hand with text JSON cannot
    carry (a lone surrogate); :func:`~rules_engine.evaluate` never makes one."""
    data = report.model_dump(mode="json")
    findings = data.pop("findings")
    buffer = io.BytesIO()
    try:
        write_json(data, findings, buffer)
    except orjson.JSONEncodeError as exc:
        raise InputError(f"报告含有无法写成 JSON 的内容 the report holds something JSON cannot carry: {exc}") from None
    return buffer.getvalue()
