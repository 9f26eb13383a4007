"""Text as it stands between the quotes of a JSON string written by orjson, for one value or a column: shared by
the stages that make JSON text from columns (escalation's evidence labels, the findings' lines)."""

from __future__ import annotations

import orjson
import polars as pl

NEEDS_ESCAPE = r'["\\\x00-\x1f]'  # the characters JSON escapes


def escaped(text: str) -> str:
    """`text` as it stands between the quotes of a JSON string written by orjson."""
    return orjson.dumps(text).decode()[1:-1]


def escaped_column(values: pl.Series) -> pl.Series:
    """A text column JSON-escaped (nulls stay null): only the few values that need it go through orjson."""
    bad = values.str.contains(NEEDS_ESCAPE)
    if not bad.any():
        return values
    where = bad.fill_null(False).arg_true()
    fixed = pl.Series([escaped(v) for v in values.gather(where).to_list()], dtype=pl.String)
    return values.scatter(where, fixed)
