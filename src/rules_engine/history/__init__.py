"""The findings history: record each evaluation in a database and compare runs.

Needs the ``history`` extra (SQLAlchemy 2 and Alembic): ``pip install 'duty-rules-engine[history]'``.
Importing this package without it raises :class:`MissingExtra` (an ``ImportError`` and an
:class:`rules_engine.Error`), saying so.

    from rules_engine import evaluate, history
    run = history.record(evaluate(...), db="history.db", recorded_by="督查室")
    d = history.diff("history.db", "latest~1", "latest")
    for change in d.new:
        print(change.organisation_id, change.rule_id, change.after)
    r = history.open_rectification("history.db", d.new[0].identity, deadline="2025-03-31", owner="李四")
    history.close_rectification("history.db", r.id, note="已补开", records=["rec-0815"])
    history.overdue("history.db", as_of="2025-04-01")  # overdue rectifications, as ZG-YQ-01 sees them
    # judged by the pack's rules ZG-YQ-01 and its escalation ZG-YQ-02, like any other rule:
    overdue = history.rectification_records("history.db", as_of="2025-04-01", period="2025")
    evaluate(load_rules("rules/", history.PACK), "roster.yaml", ["records.jsonl", overdue], period="2025", ...)

See ``docs/history.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core import (
    Change,
    Diff,
    Entry,
    OrganisationCount,
    PackInfo,
    Run,
    State,
    SubjectRecord,
    diff,
    format_diff,
    format_record,
    format_runs,
    record,
    runs,
    show,
)
from .rectify import (
    OVERDUE_RULE,
    OVERDUE_TYPE,
    PACK,
    Event,
    Overdue,
    Rectification,
    close_rectification,
    format_overdue,
    format_rectifications,
    open_rectification,
    overdue,
    rectification_records,
    rectifications,
    update_rectification,
)
from .store import HistoryError, MissingExtra, resolve_db, shown_db

if TYPE_CHECKING:
    from ..identity import identity


def __getattr__(name: str) -> Any:
    """``identity``, imported on first use: it needs the pydantic models, which reading the history does not."""
    if name == "identity":
        from ..identity import identity

        return identity
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "OVERDUE_RULE",
    "OVERDUE_TYPE",
    "PACK",
    "Change",
    "Diff",
    "Entry",
    "Event",
    "HistoryError",
    "MissingExtra",
    "OrganisationCount",
    "Overdue",
    "PackInfo",
    "Rectification",
    "Run",
    "State",
    "SubjectRecord",
    "close_rectification",
    "diff",
    "format_diff",
    "format_overdue",
    "format_record",
    "format_rectifications",
    "format_runs",
    "identity",
    "open_rectification",
    "overdue",
    "record",
    "rectification_records",
    "rectifications",
    "resolve_db",
    "runs",
    "show",
    "shown_db",
    "update_rectification",
]
