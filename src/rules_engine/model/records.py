"""Activity records: meetings, talks, reports, lectures, supervision visits, with dates and people."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class ActivityRecord(BaseModel):
    """One activity. ``chair`` is the organiser or chair; the chair counts as a participant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    org: str = Field(min_length=1)
    type: str = Field(min_length=1)
    date: dt.date
    chair: str | None = None
    participants: tuple[str, ...] = ()
    portfolio: str | None = None
    tags: tuple[str, ...] = ()
    text: str | None = None
