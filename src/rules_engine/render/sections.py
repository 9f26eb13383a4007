"""What the Excel and HTML reports show, shared by both: the statuses, a finding's subject and explanation in
words, the count per organisation, and the scorecards and 三实三弱 diagnosis they add when given a scoring
file or a roster (computed with the public :func:`rules_engine.score` and :func:`rules_engine.diagnose`).

Everything is computed before an output file is opened: a scoring file that is refused or a roster that
cannot be read stops the run with nothing written.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model.findings import Finding, Report, Status

if TYPE_CHECKING:
    from ..diagnose import Diagnosis
    from ..model.roster import Roster
    from ..model.scoring import Scoring
    from ..scorecard import ScoreResult

#: the statuses that need someone's attention, listed finding by finding (as ``evaluate --show``'s default)
ATTENTION: tuple[Status, ...] = (Status.violated, Status.undeterminable, Status.pending, Status.waived)
#: summary columns: the statuses in the order people read them (problems first)
STATUS_ORDER: tuple[Status, ...] = (*ATTENTION, Status.fulfilled, Status.not_applicable)


def subject_text(f: Finding) -> str:
    """Who bears the duty, in words: the organisation, a person (with the portfolio area or the other person
    of a pair), or the record that triggered it."""
    s = f.subject
    if s.kind == "organisation":
        return f"{s.name}（组织 organisation）"
    if s.kind == "record":
        return f"记录 record {s.record or s.id}"
    text = f"{s.name}（{s.id}）"
    if s.portfolio:
        text += f" [{s.portfolio}]"
    if s.second is not None:
        text += f" 与 with {s.second.name}（{s.second.id}）"
    return text


def rejected_text(f: Finding) -> str:
    """The candidate records not counted, and why: ``R1072：责任人本人不在参加人员中 / the subject is not ...``."""
    return "\n".join(f"{r.record}：{r.reason.zh} / {r.reason.en}" for r in f.rejected)


def waiver_text(f: Finding) -> str:
    w = f.waiver
    if w is None:
        return ""
    state = "已过期 expired" if w.expired else "有效 in force"
    return f"{w.id}（{state}，至 until {w.expires}，{w.approved_by}）：{w.justification}"


def params_text(f: Finding) -> str:
    return "; ".join(f"{name}={info.get('value')} ({info.get('set_by')})" for name, info in sorted(f.params.items()))


def iso_date(text: str | dt.date | None) -> dt.date | None:
    """A report date (a date, or ``YYYY-MM-DD`` text) as a date, or None when it is empty or not a date."""
    if isinstance(text, dt.date):
        return text
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


@dataclass
class OrgCount:
    """One organisation's findings counted per status."""

    id: str
    name: str
    kind: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def org_counts(report: Report) -> list[OrgCount]:
    """Every organisation of the report's findings, in the order they first appear, with its counts."""
    out: dict[str, OrgCount] = {}
    for f in report.findings:
        row = out.get(f.organisation.id)
        if row is None:
            row = out[f.organisation.id] = OrgCount(f.organisation.id, f.organisation.name, f.organisation.kind)
        row.counts[f.status.value] = row.counts.get(f.status.value, 0) + 1
    return list(out.values())


@dataclass
class ClosedLoop:
    """The scorecards (with a scoring file) and the 三实三弱 diagnosis (with the roster) of a report."""

    scores: ScoreResult | None = None
    diagnosis: Diagnosis | None = None


def closed_loop(
    report: Report,
    scoring: Scoring | ScoreResult | str | Path | None = None,
    roster: Roster | Diagnosis | str | Path | None = None,
) -> ClosedLoop:
    """Score `report` when `scoring` is given (a scoring file, a :class:`Scoring`, or a :class:`ScoreResult`
    already made) and diagnose it when `roster` is given (the roster or its file: the diagnosis needs the
    organisation tree; or a :class:`Diagnosis` already made).

    The last result for each report is kept while the report lives, so that the Excel and the HTML report of
    one evaluation score and diagnose it once: asked again with the same scoring and roster (the same
    objects, or the same files unchanged: path, size and modification time), the same result is returned."""
    key = (_key(scoring), _key(roster), len(report.findings))
    cached = _LAST.get(id(report))
    if cached is not None and cached[0]() is report and cached[1] == key:
        return cached[2]
    result = _closed_loop(report, scoring, roster)
    ident = id(report)
    ref = weakref.ref(report, lambda gone: _forget(ident, gone))
    _LAST[ident] = (ref, key, result, (scoring, roster))  # the objects kept alive: their ids stay theirs
    return result


#: per report (by identity, while it lives): the last scoring and roster asked for, the result, the objects
_LAST: dict[int, tuple[weakref.ref[Report], tuple[Any, ...], ClosedLoop, tuple[Any, Any]]] = {}


def _forget(ident: int, gone: weakref.ref[Report]) -> None:
    """A report is gone: its entry too (unless a newer report already has its id)."""
    if ident in _LAST and _LAST[ident][0] is gone:
        del _LAST[ident]


def _key(source: object) -> tuple[Any, ...]:
    if source is None:
        return ("none",)
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            stat = path.stat()
        except OSError:
            return ("path", str(path), None)  # reading it will say what is wrong
        return ("path", str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return ("object", id(source))


def _closed_loop(
    report: Report,
    scoring: Scoring | ScoreResult | str | Path | None,
    roster: Roster | Diagnosis | str | Path | None,
) -> ClosedLoop:
    from ..diagnose import Diagnosis
    from ..model.scoring import Scoring
    from ..scorecard import ScoreResult, load_scoring, score

    result = ClosedLoop()
    if isinstance(scoring, (str, Path)):
        scoring = load_scoring(scoring)
    if isinstance(scoring, ScoreResult):
        result.scores = scoring
    elif scoring is not None:
        result.scores = score(report, scoring)
    if isinstance(roster, Diagnosis):
        result.diagnosis = roster
    elif roster is not None:
        from ..diagnose import diagnose

        result.diagnosis = diagnose(report, roster, scoring=scoring if isinstance(scoring, Scoring) else None)
    return result
