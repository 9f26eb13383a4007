"""Rendering a report: JSON (stable, documented), a terminal table, JUnit XML for CI, files."""

from __future__ import annotations

from .json import render_json
from .junit import render_junit
from .table import render_table

__all__ = ["render_json", "render_junit", "render_table"]
