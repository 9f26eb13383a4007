"""Rendering a report: JSON (stable, documented), a terminal table, JUnit XML for CI, files; lint problems
as SARIF or GitHub annotations."""

from __future__ import annotations

from .csv import render_csv
from .json import render_json
from .junit import render_junit
from .lint import render_annotations, render_sarif
from .table import render_table

__all__ = ["render_annotations", "render_csv", "render_json", "render_junit", "render_sarif", "render_table"]
