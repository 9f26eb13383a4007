"""Periods and windows: immutable date ranges, a parser for period labels, and rule granularities."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

from .errors import PeriodError


class Granularity(str, Enum):
    """How often a duty recurs."""

    year = "year"
    half_year = "half_year"
    quarter = "quarter"
    month = "month"

    @property
    def months(self) -> int:
        return {"year": 12, "half_year": 6, "quarter": 3, "month": 1}[self.value]

    @property
    def zh(self) -> str:
        return {"year": "每年", "half_year": "每半年", "quarter": "每季度", "month": "每月"}[self.value]

    @property
    def en(self) -> str:
        return {"year": "per year", "half_year": "per half-year", "quarter": "per quarter", "month": "per month"}[
            self.value
        ]


@dataclass(frozen=True, order=True)
class Period:
    """A closed date range [start, end] with a label such as ``2024``, ``2024-H1``, ``2024-Q3``."""

    start: dt.date
    end: dt.date
    label: str = ""

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def intersect(self, other: Period) -> Period | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        if start > end:
            return None
        return Period(start, end, self.label)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}

    def windows(self, granularity: Granularity) -> list[Period]:
        """The calendar windows of `granularity` that overlap this period, in order."""
        out: list[Period] = []
        step = granularity.months
        year, month = self.start.year, ((self.start.month - 1) // step) * step + 1
        while True:
            start = dt.date(year, month, 1)
            if start > self.end:
                break
            end_month = month + step
            end_year = year + (end_month - 1) // 12
            end_month = (end_month - 1) % 12 + 1
            end = dt.date(end_year, end_month, 1) - dt.timedelta(days=1)
            out.append(Period(start, end, _label(start, granularity)))
            year, month = end_year, end_month
        return out


def _label(start: dt.date, granularity: Granularity) -> str:
    if granularity is Granularity.year:
        return f"{start.year}"
    if granularity is Granularity.half_year:
        return f"{start.year}-H{1 if start.month <= 6 else 2}"
    if granularity is Granularity.quarter:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}-{start.month:02d}"


_PERIOD_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?:H(?P<h>[12])|Q(?P<q>[1-4])|(?P<m>0[1-9]|1[0-2])))?$"
    r"|^(?P<a>\d{4}-\d{2}-\d{2})\.\.(?P<b>\d{4}-\d{2}-\d{2})$"
)


def parse_period(text: str) -> Period:
    """Parse ``2024``, ``2024-H1``, ``2024-Q3``, ``2024-05`` or ``2024-01-01..2024-06-30``.

    Raises :class:`~rules_engine.errors.PeriodError` (an ``InputError`` and a ``ValueError``) with the
    accepted forms.
    """
    try:
        return check_range(_parse_period(text))
    except PeriodError:
        raise
    except (ValueError, OverflowError):  # e.g. 2024-02-30..2024-03-01, or year 0000
        raise PeriodError.of("period.bad_date", text=_shown(text)) from None


FIRST_DAY = dt.date(1000, 1, 1)
LAST_DAY = dt.date(9899, 12, 31)  # windows, follow-up deadlines and spans beyond it stay within the calendar


def check_range(period: Period) -> Period:
    """Refuse a period outside the years 1000 to 9899 (a :class:`PeriodError`)."""
    if not (FIRST_DAY <= period.start <= period.end <= LAST_DAY):
        raise PeriodError.of(
            "period.out_of_range",
            first=FIRST_DAY.year,
            last=LAST_DAY.year,
            start=str(period.start),
            end=str(period.end),
        )
    return period


def _shown(text: object) -> str:
    shown = text if isinstance(text, str) else repr(text)
    return shown[:80].encode("utf-8", "backslashreplace").decode("utf-8")


def _parse_period(text: str) -> Period:
    match = _PERIOD_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise PeriodError.of("period.unrecognised", text=_shown(text))
    if match.group("a"):
        start, end = dt.date.fromisoformat(match.group("a")), dt.date.fromisoformat(match.group("b"))
        if end < start:
            raise PeriodError.of("period.ends_before_start", text=text)
        return Period(start, end, text.strip())
    year = int(match.group("y"))
    if match.group("h"):
        half = int(match.group("h"))
        start = dt.date(year, 1 if half == 1 else 7, 1)
        return Period(start, Period(start, start).windows(Granularity.half_year)[0].end, f"{year}-H{half}")
    if match.group("q"):
        quarter = int(match.group("q"))
        start = dt.date(year, 3 * quarter - 2, 1)
        return Period(start, Period(start, start).windows(Granularity.quarter)[0].end, f"{year}-Q{quarter}")
    if match.group("m"):
        month = int(match.group("m"))
        start = dt.date(year, month, 1)
        return Period(start, Period(start, start).windows(Granularity.month)[0].end, f"{year}-{month:02d}")
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), str(year))


def month_day(year: int, text: str) -> dt.date:
    """``MM-DD`` in `year` (Feb 29 falls back to Feb 28 in common years)."""
    month, day = (int(part) for part in text.split("-"))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return dt.date(year, month, 28)
