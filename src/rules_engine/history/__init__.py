"""The findings history: record each evaluation in a database and compare runs.

Needs the ``history`` extra (SQLAlchemy 2 and Alembic): ``pip install 'duty-rules-engine[history]'``.
Importing this package without it raises :class:`MissingExtra` (an ``ImportError`` and an
:class:`rules_engine.Error`), saying so.

    from rules_engine import evaluate, history
    run = history.record(evaluate(...), db="history.db", recorded_by="督查室")
    d = history.diff("history.db", "latest~1", "latest")
    for change in d.new:
        print(change.organisation_id, change.rule_id, change.after)

See ``docs/history.md``.
"""

from __future__ import annotations

from .core import (
    Change,
    Diff,
    Entry,
    PackInfo,
    Run,
    State,
    SubjectRecord,
    diff,
    format_diff,
    format_record,
    format_runs,
    identity,
    record,
    runs,
    show,
)
from .store import HistoryError, MissingExtra, resolve_db, shown_db

__all__ = [
    "Change",
    "Diff",
    "Entry",
    "HistoryError",
    "MissingExtra",
    "PackInfo",
    "Run",
    "State",
    "SubjectRecord",
    "diff",
    "format_diff",
    "format_record",
    "format_runs",
    "identity",
    "record",
    "resolve_db",
    "runs",
    "show",
    "shown_db",
]
