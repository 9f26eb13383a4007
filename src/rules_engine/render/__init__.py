"""Rendering a report: JSON (stable, documented), a terminal table, JUnit XML for CI, files; lint problems
as SARIF or GitHub annotations.

The renderers are imported on first use (PEP 562): a module that needs only a small helper of this package
(``render.text`` for the ``--profile`` table) does not pay for polars and every report model."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .csv import render_csv
    from .json import render_json
    from .junit import render_junit
    from .lint import render_annotations, render_sarif
    from .table import render_table

_EXPORTS = {
    "render_annotations": ".lint",
    "render_csv": ".csv",
    "render_json": ".json",
    "render_junit": ".junit",
    "render_sarif": ".lint",
    "render_table": ".table",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = ["render_annotations", "render_csv", "render_json", "render_junit", "render_sarif", "render_table"]
