"""Rendering a report: JSON (stable, documented), a terminal table, JUnit XML for CI, files; lint problems
as SARIF or GitHub annotations.

The renderers are imported on first use (PEP 562): a module that needs only a small helper of this package
(``render.text`` for the ``--profile`` table) does not pay for polars and every report model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


__all__ = ["render_annotations", "render_csv", "render_json", "render_junit", "render_sarif", "render_table"]
