"""The JSON report: ``rules-engine/report/v1`` (see docs/report-format.md). Byte-identical for identical inputs.

One writer serves both the in-memory report (:func:`render_json`) and the streaming evaluation
(``evaluate_to``), so the two give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import IO, Any

import orjson

from ..model.findings import Report

_OPT = orjson.OPT_INDENT_2


def write_json(header: Mapping[str, Any], findings: Iterable[Mapping[str, Any]], out: IO[bytes]) -> None:
    """Write the report: the header keys in order, then ``findings`` one by one (two-space indent)."""
    head = orjson.dumps(dict(header), option=_OPT)
    out.write(head[:-2])  # drop the closing "\n}"
    out.write(b',\n  "findings": [')
    first = True
    for finding in findings:
        out.write(b"\n    " if first else b",\n    ")
        out.write(orjson.dumps(finding, option=_OPT).replace(b"\n", b"\n    "))
        first = False
    out.write(b"]\n}\n" if first else b"\n  ]\n}\n")


def render_json(report: Report) -> bytes:
    """UTF-8 JSON bytes of the report, keys in model order, two-space indent, trailing newline."""
    data = report.model_dump(mode="json")
    findings = data.pop("findings")
    buffer = io.BytesIO()
    write_json(data, findings, buffer)
    return buffer.getvalue()
