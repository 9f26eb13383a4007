"""Early warning (预警): duties whose window ends within a horizon and that are not yet fulfilled.

Built on a report's findings only (the public API): a finding is listed when its status is ``pending``
(its window is not over and its minimum is not yet met), its rule counts towards a minimum
(``params.at_least``: escalation findings are consequences, not duties, and are not listed), and the last
day of its window is at most `within` days after the evaluation date. Each item says what is still
missing and how many days are left ("已有 1 次，应 2 次，还差 1 次；剩 23 天 / 1 of 2 held, 1 to go;
23 days left"); the list is sorted by days left, then organisation, rule and subject.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict

from .errors import InputError
from .guard import shown
from .model.findings import Bilingual, Finding, Report, Status
from .render.text import subject_label, table_lines

UPCOMING_FORMAT = "rules-engine/upcoming/v1"
_WITHIN = re.compile(r"^\s*(\d{1,5})\s*([dw]?)\s*$", re.IGNORECASE)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Upcoming(_Out):
    """One duty still open near its deadline."""

    due: str  # the window's last day
    days_left: int  # days from the evaluation date to the last day (0: today is the last day)
    held: int  # matching records counted so far (the finding's count)
    required: int  # the rule's minimum (params.at_least)
    missing: Bilingual  # e.g. 已开 1 次，应 2 次；剩 23 天 / 1 of 2 held; 23 days left
    finding: Finding


class UpcomingList(_Out):
    """What ``rules-engine upcoming --format json`` prints."""

    format: str = UPCOMING_FORMAT
    as_of: str
    within_days: int
    until: str  # the horizon's last day: as_of + within_days
    items: list[Upcoming]


def parse_within(text: str | int | dt.timedelta) -> int:
    """A horizon in days: an int, a timedelta, or text such as ``30d``, ``30`` or ``4w``."""
    if isinstance(text, dt.timedelta):
        days = text.days
    elif isinstance(text, int) and not isinstance(text, bool):
        days = text
    elif isinstance(text, str) and (m := _WITHIN.match(text)):
        days = int(m.group(1)) * (7 if m.group(2).lower() == "w" else 1)
    else:
        raise InputError.of("arg.horizon.invalid", value=shown(str(text)))
    if days < 0:
        raise InputError.of("arg.horizon.negative", days=days)
    return days


def upcoming(
    report: Report, *, within: str | int | dt.timedelta = 30, as_of: dt.date | str | None = None
) -> UpcomingList:
    """The pending duties of `report` whose window ends within `within` days of `as_of` (default: the
    report's evaluation date; a later date is refused, since the report cannot know records after its
    own date). Sorted by days left."""
    days = parse_within(within)
    report_day = report.as_of
    if as_of is None:
        day = report_day
    else:
        try:
            day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(as_of)
        except (TypeError, ValueError):
            raise InputError.of("arg.as_of.invalid", value=shown(str(as_of))) from None
        if day > report_day:
            raise InputError.of("arg.as_of.after_report", day=str(day), report_day=str(report_day))
    until = day + dt.timedelta(days=days)
    items: list[Upcoming] = []
    for f in report.findings:
        if f.status is not Status.pending:
            continue
        required = _at_least(f)
        if required is None:
            continue
        end = f.window.end
        if not day <= end <= until:
            continue
        left = (end - day).days
        plural = "s" if left != 1 else ""
        items.append(
            Upcoming(
                due=f.window.end.isoformat(),
                days_left=left,
                held=f.count,
                required=required,
                missing=Bilingual.of(
                    "note.upcoming.missing",
                    held=f.count,
                    required=required,
                    short=required - f.count,
                    left=(str(left), f"{left} day{plural}"),
                ),
                finding=f,
            )
        )
    items.sort(key=_order)
    return UpcomingList(as_of=day.isoformat(), within_days=days, until=until.isoformat(), items=items)


def _at_least(f: Finding) -> int | None:
    entry = f.params.get("at_least")
    value = entry.get("value") if isinstance(entry, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _order(u: Upcoming) -> tuple[int, str, str, str, str, str, str]:
    f = u.finding
    s = f.subject
    return (
        u.days_left,
        f.organisation.id,
        f.rule_id,
        s.id,
        s.second.id if s.second else "",
        s.portfolio or "",
        s.record or "",
    )


def render_upcoming_table(result: UpcomingList) -> str:
    """The warnings as a terminal table, soonest first (Chinese first; wide characters aligned)."""
    lines = [
        f"预警 upcoming: 评价日期 as of {result.as_of}，{result.within_days} 天内到期 due within "
        f"{result.within_days} days (至 until {result.until})",
        "",
    ]
    header = ["剩余天数 days", "截止 due", "组织 organisation", "责任主体 subject", "规则 rule", "缺口 missing"]
    rows = [header]
    for u in result.items:
        f = u.finding
        rows.append(
            [
                str(u.days_left),
                u.due,
                f.organisation.name,
                subject_label(f.subject.kind, f.subject.name, f.subject.id, f.subject.portfolio, f.subject.second),
                f"{f.rule_id} {f.rule_title.zh}",
                u.missing.zh,
            ]
        )
    lines += table_lines(rows)
    lines.append("")
    lines.append(f"合计 total: {len(result.items)} 项未完成 open duties")
    return "\n".join(lines) + "\n"
