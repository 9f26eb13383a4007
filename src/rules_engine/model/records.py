"""Activity records: meetings, talks, reports, lectures, supervision visits, with dates and people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ActivityRecord(BaseModel):
    """One activity. ``chair`` is the organiser or chair; the chair counts as a participant.

    Fields the rule packs declare (``record_fields`` in ``pack.yaml``: ``speaker``, ``attendees``, ...) are given
    as further keyword arguments (``ActivityRecord(..., speaker="p1")``); the evaluation checks them against the
    loaded packs (an undeclared field, or a value of the wrong type, rejects the record as it would a file's
    row)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    org: str = Field(min_length=1)
    type: str = Field(min_length=1)
    date: dt.date
    chair: str | None = None
    participants: tuple[str, ...] = ()
    portfolio: str | None = None
    tags: tuple[str, ...] = ()
    text: str | None = None


@dataclass(frozen=True)
class RecordSource:
    """Records handed over in memory under a name of their own, beside record files: ``evaluate(...,
    [\"records.jsonl\", RecordSource(\"<store>\", [...])])``. The report's input list names the source and
    accounts for each of its records like a file's rows (used, rejected or excluded; listed even when
    empty). A name in angle brackets, such as ``<整改 rectifications: history.db>``, is never taken for a
    file. :func:`rules_engine.history.rectification_records` makes one from the findings store."""

    name: str
    records: Sequence[ActivityRecord | Mapping[str, Any]]
