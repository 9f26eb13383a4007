"""Rendering a report: JSON (stable, documented), a terminal table, files."""

from __future__ import annotations

from .json import render_json
from .table import render_table

__all__ = ["render_json", "render_table"]
