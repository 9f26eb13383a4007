"""Plain text tables for the terminal: columns padded by display width (a Chinese character takes two)."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (the models are not needed to pad a table: the --profile table imports this module)
    from ..model.findings import PersonRef


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table_lines(rows: list[list[str]]) -> list[str]:
    """Rows of cells as aligned lines (two spaces between columns, the first row a header underlined)."""
    if not rows:
        return []
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def subject_label(kind: str, name: str, id_: str, portfolio: str | None, second: PersonRef | None) -> str:
    """Who bears a duty, in a few words: 组织, a person (with portfolio area or pair partner), or a record."""
    if kind == "organisation":
        return "组织 organisation"
    if kind == "record":
        return "记录触发 on record"
    label = f"{name}（{id_}）"
    if portfolio:
        label += f" 分管 {portfolio}"
    if second is not None:
        label += f" 与 with {second.name}（{second.id}）"
    return label
