"""The JSON report: ``rules-engine/report/v1`` (see docs/report-format.md). Byte-identical for identical inputs."""

from __future__ import annotations

import orjson

from ..model.findings import Report


def render_json(report: Report, *, indent: bool = True) -> bytes:
    """UTF-8 JSON bytes of the report, keys in model order, two-space indent, trailing newline."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(report.model_dump(mode="json"), option=option) + b"\n"
