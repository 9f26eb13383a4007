"""Tally: what the records show for each planned obligation.

Counting streams the records once and keeps only per-obligation counters, capped evidence and capped
rejected candidates, so memory depends on the number of obligations, not records. Trigger rules get
their obligations here, from the records that start them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from .compile import CompiledRule, CompiledRules
from .load.inputs import BadRow, Rec
from .model.rules import Match
from .periods import Period
from .plan import Obligation, RosterIndex, Why, clip_window

Refs = dict[str, "tuple[str, ...] | set[str]"]  # the people a record filter names: subject, first, second, secretary

MAX_EVIDENCE = 20  # evidence ids kept per finding (``count`` has them all); evaluate(max_evidence=...)
MAX_REJECTED = 20  # rejected candidates kept per finding
_NO_REFS: Refs = {}  # never written to


@dataclass(slots=True)
class _Candidates:
    """The obligations a record of one (organisation, type) may count for, indexed so that a record is
    only compared with the subjects it involves (avoids comparing every talk with every pair)."""

    always: list[Obligation] = field(default_factory=list)  # organisation and person subjects
    by_person: dict[str, list[Obligation]] = field(default_factory=dict)  # portfolio holder / pair's second
    by_area: dict[str, list[Obligation]] = field(default_factory=dict)  # portfolio area

    def add(self, ob: Obligation) -> None:
        if ob.subject_kind == "pair":
            self.by_person.setdefault(ob.second or "", []).append(ob)
        elif ob.subject_kind == "portfolio":
            self.by_person.setdefault(ob.subject_id, []).append(ob)
            self.by_area.setdefault(ob.portfolio or "", []).append(ob)
        else:
            self.always.append(ob)

    def for_record(self, rec: Rec) -> list[Obligation]:
        if not self.by_person:
            return self.always
        found = list(self.always)
        seen: set[int] = set()
        for person in rec.participants:  # the chair is among the participants
            for ob in self.by_person.get(person, ()):
                if id(ob) not in seen:
                    seen.add(id(ob))
                    found.append(ob)
        if rec.portfolio is not None:
            for ob in self.by_area.get(rec.portfolio, ()):
                if id(ob) not in seen:
                    seen.add(id(ob))
                    found.append(ob)
        return found


class Counter:
    """Streams records into the planned obligations; collects trigger obligations as their records arrive."""

    def __init__(
        self,
        compiled: CompiledRules,
        index: RosterIndex,
        period: Period,
        obligations: list[Obligation],
        max_evidence: int = MAX_EVIDENCE,
    ) -> None:
        self.compiled = compiled
        self.index = index
        self.period = period
        self.max_evidence = max_evidence
        self.by_key: dict[tuple[str, str], _Candidates] = defaultdict(_Candidates)
        for ob in obligations:
            if ob.window is None or ob.na or ob.unk:
                continue
            for name in set(ob.rule.match.types):
                self.by_key[(ob.org.id, name)].add(ob)
        self.trigger_obligations: list[Obligation] = []
        self.followups: dict[tuple[str, str], list[Rec]] = defaultdict(list)
        self.followup_types = {name for rule in compiled.rules if rule.rule.trigger for name in rule.match.types}
        self.taints: list[BadRow] = []
        self._bad_triggers: set[tuple[int, str, str]] = set()
        self._whys: dict[Why, Why] = {}

    def add(self, rec: Rec) -> None:
        candidates = self.by_key.get((rec.org, rec.type))
        if candidates is not None:
            day = rec.date
            for ob in candidates.for_record(rec):
                if ob.period.start <= day <= ob.period.end:
                    self._consider(ob, rec)
        if rec.type in self.followup_types:
            self.followups[(rec.org, rec.type)].append(rec)
        for rule in self.compiled.trigger_types.get(rec.type, ()):
            self._trigger(rule, rec)

    def add_bad(self, row: BadRow) -> None:
        self.taints.append(row)
        org = self.index.orgs.get(row.org or "")
        if org is None or row.type is None:
            return
        for rule in self.compiled.trigger_types.get(row.type, ()):
            in_period = row.date is None or self.period.contains(row.date)
            label = row.record_id or f"{row.source}:{row.line}"
            if org.kind in rule.rule.org_kinds and in_period and (rule.index, org.id, label) not in self._bad_triggers:
                # the duty this row would have started cannot be judged: say so instead of staying silent
                self._bad_triggers.add((rule.index, org.id, label))
                self.trigger_obligations.append(
                    Obligation(rule, org, "record", label, label, self.period, self.period, unk="bad_trigger")
                )

    def _trigger(self, rule: CompiledRule, rec: Rec) -> None:
        org = self.index.orgs.get(rec.org)
        spec = rule.rule
        if org is None or org.kind not in spec.org_kinds or not self.period.contains(rec.date):
            return
        assert spec.trigger is not None
        if _why_not(spec.trigger, rec, {"secretary": self.index.secretary_on(rec.org, rec.date)}) is not None:
            return
        days = rule.params.within_days or 0
        window = Period(rec.date, rec.date + dt.timedelta(days=days), f"{rec.date.isoformat()}+{days}d")
        judged, why = clip_window(rule, window, None)
        self.trigger_obligations.append(
            Obligation(rule, org, "record", rec.id, rec.id, window, judged, trigger=rec.id, na=why)
        )

    def finish(self) -> list[Obligation]:
        """Count follow-ups for trigger obligations; returns the trigger obligations."""
        by_date: dict[tuple[str, str], tuple[list[dt.date], list[int]]] = {}
        for ob in self.trigger_obligations:
            if ob.window is None or ob.trigger is None:
                continue
            for name in ob.rule.match.types:
                key = (ob.org.id, name)
                recs = self.followups.get(key)
                if not recs:
                    continue
                index = by_date.get(key)
                if index is None:  # the follow-ups by date, to find a window's without scanning them all
                    order = sorted(range(len(recs)), key=lambda i: recs[i].date)
                    index = by_date[key] = ([recs[i].date for i in order], order)
                dates, order = index
                inside = order[bisect.bisect_left(dates, ob.period.start) : bisect.bisect_right(dates, ob.period.end)]
                for i in sorted(inside):  # in reading order
                    rec = recs[i]
                    if rec.id != ob.trigger:
                        self._consider(ob, rec)
        return self.trigger_obligations

    def attach_taints(self, obligations: Iterable[Obligation]) -> None:
        """Mark obligations that a rejected row could have evidenced (same organisation or unknown, a
        type the rule counts or unknown, a date in the period or unknown)."""
        if not self.taints:
            return
        known_types = self.compiled.ruleset.record_types()
        by_org: dict[str | None, list[BadRow]] = defaultdict(list)
        for row in self.taints:
            by_org[row.org if row.org in self.index.orgs else None].append(row)
        for ob in obligations:
            rows = by_org.get(ob.org.id, []) + by_org.get(None, [])
            if not rows or ob.window is None:
                continue
            types = set(ob.rule.match.types)
            for row in rows:
                if row.type is not None and row.type in known_types and row.type not in types:
                    continue
                if row.date is not None and not ob.period.contains(row.date):
                    continue
                if ob.taint is None:
                    ob.taint = []
                ob.taint.append(row)

    def _consider(self, ob: Obligation, rec: Rec) -> None:
        assert ob.window is not None
        spec = ob.rule.rule
        why: Why | None
        if not ob.window.contains(rec.date):
            why = ("outside",)
        else:
            match = ob.rule.match
            refs = self._refs(ob, rec.date) if match.chair is not None or match.participants else _NO_REFS
            why = _why_not(match, rec, refs, ob.portfolio)
            if why is None and spec.attendance:
                why = self._attendance(ob, rec)
        if why is None:
            ob.count += 1
            if ob.evidence is None:
                if self.max_evidence:  # (max_evidence=0 lists none)
                    ob.evidence = [rec.id]
            elif len(ob.evidence) < self.max_evidence:
                ob.evidence.append(rec.id)
            return
        if why[0] in ("chair", "participant") and rec.unknown:
            # the record names someone not on the roster whose id looks like the one wanted: a mistyped id
            ref = why[2] if why[0] == "chair" else why[1]
            wanted = self._refs(ob, rec.date).get(ref, ())
            if looks_like(rec.unknown, wanted):
                ob.taint = ob.taint or []
                ob.taint.append(_taint(rec, "row.people.mistyped", "participants", ", ".join(sorted(rec.unknown))))
        if why[0] == "no_team":  # the roster cannot say whether this record counts: not a "no"
            ob.taint = ob.taint or []
            ob.taint.append(_taint(rec, "row.date.no_team", "date", rec.date.isoformat()))
        why = self._whys.setdefault(why, why)  # the same few reasons, millions of times: keep one of each
        rejected = ob.rejected
        if rejected is None:
            ob.rejected = [rec.id, why]
        elif len(rejected) < 2 * MAX_REJECTED:
            rejected += (rec.id, why)

    def _refs(self, ob: Obligation, day: dt.date) -> Refs:
        """The people a record filter can name for this obligation (built per call: kept per obligation,
        they cost more memory than everything else an obligation holds)."""
        refs: Refs = {}
        if ob.subject_kind == "person" or ob.subject_kind == "portfolio":
            refs["subject"] = (ob.subject_id,)
        if ob.first:
            refs["first"] = (ob.first,)
        if ob.second:
            refs["second"] = (ob.second,)
        if ob.rule.uses_secretary:
            refs["secretary"] = self.index.secretary_on(ob.org.id, day)
        return refs

    def _attendance(self, ob: Obligation, rec: Rec) -> Why | None:
        share = ob.rule.share
        assert share is not None
        team = self.index.team_on(ob.org.id, rec.date)
        if not team:
            return ("no_team",)
        present = len(team & rec.participants)
        if Fraction(present, len(team)) < share:
            return ("attendance", f"{present}/{len(team)}", str(share))
        return None


def looks_like(unknown: frozenset[str], wanted: Collection[str]) -> bool:
    """Whether an id not on the roster is close to one of the ids a filter wanted (a likely typo)."""
    return any(difflib.SequenceMatcher(None, u, w).ratio() >= 0.75 for u in unknown for w in wanted)


def _why_not(match: Match, rec: Rec, refs: Refs, portfolio: str | None = None) -> Why | None:
    """Why `rec` does not count under `match`, as a compact code (None: it counts)."""
    if match.tags_any and rec.tags.isdisjoint(match.tags_any):
        return ("tags_any",)
    if match.tags_all and not rec.tags.issuperset(match.tags_all):
        return ("tags_all",)
    if match.chair is not None and (rec.chair is None or rec.chair not in refs.get(match.chair, ())):
        return ("chair", rec.chair or "", match.chair)
    for ref in match.participants:
        if rec.participants.isdisjoint(refs.get(ref, ())):
            return ("participant", ref)
    if match.portfolio == "subject" and rec.portfolio != portfolio:
        return ("portfolio", rec.portfolio or "")
    return None


def _taint(rec: Rec, code: str, field: str, value: str) -> BadRow:
    """A used record that makes a duty undeterminable, as the row problem its finding's reason cites."""
    return BadRow.at(
        code, rec.source, rec.line, field, value, record_id=rec.id, org=rec.org, type=rec.type, date=rec.date
    )
