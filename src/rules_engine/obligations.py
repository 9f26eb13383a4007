"""Obligations: which duty instances exist (rule x subject x window), and what the records show for each.

Planning expands each compiled rule over an organisation's roster: subjects (the organisation, each
holder of a role, each portfolio area of each holder, each pair), the rule's windows inside the
evaluation period, clipped to the part the subject held the post and the rule was in force. Counting
streams the records once and keeps only per-obligation counters, capped evidence and capped rejected
candidates, so memory depends on the number of obligations, not records.
"""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from .compile import CompiledRule, CompiledRules
from .load.inputs import BadRow, Rec
from .load.waivers import LoadedWaiver
from .model.roster import Organisation, Person, Post, Roster
from .model.rules import Match, Role, SubjectKind
from .periods import Granularity, Period, month_day

Why = tuple[str, ...]  # a compact reason code and its details, formatted by describe()
Refs = dict[str, "tuple[str, ...] | set[str]"]  # the people a record filter names: subject, first, second, secretary

MAX_EVIDENCE = 20  # evidence ids kept per finding (``count`` has them all); evaluate(max_evidence=...)
MAX_REJECTED = 20  # rejected candidates kept per finding
ONE_DAY = dt.timedelta(days=1)
_NO_REFS: Refs = {}  # never written to


@dataclass(frozen=True, slots=True)
class Holder:
    person: Person
    post: Post


@dataclass(slots=True)
class Obligation:
    rule: CompiledRule
    org: Organisation
    subject_kind: str
    subject_id: str
    subject_name: str
    period: Period  # the rule's calendar window (or trigger window)
    window: Period | None  # the part judged; None when not applicable
    role: str | None = None
    portfolio: str | None = None
    first: str | None = None
    second: str | None = None
    second_name: str | None = None
    second_role: str | None = None
    trigger: str | None = None  # the id of the record that started a trigger rule's duty
    na: str = ""  # reason code when not applicable
    unk: str = ""  # reason code when the roster cannot say
    count: int = 0
    # Created on first use: most obligations never need all three (memory per obligation matters).
    evidence: list[str] | None = None
    rejected: list[str | Why] | None = None  # record id, why, record id, why, ... (flat: no tuple each)
    taint: list[BadRow] | None = None
    waiver: LoadedWaiver | None = None  # the matching waiver, if any
    waiver_expired: bool = False
    # escalation rules (see escalation.py): the decided value, and whether lower findings leave doubt
    fact_n: int | None = None
    doubt: bool = False
    open: bool = False

    def rejections(self) -> Iterator[tuple[str, Why]]:
        """The rejected candidates kept: (record id, why; see describe()), in reading order."""
        flat = self.rejected or []
        for i in range(0, len(flat), 2):
            rid, why = flat[i], flat[i + 1]
            assert isinstance(rid, str) and isinstance(why, tuple)
            yield rid, why

    def sort_key(self) -> tuple[str, str, str, str, str, str, dt.date]:
        return (
            self.org.id,
            self.rule.rule.id,
            self.subject_id,
            self.second or "",
            self.portfolio or "",
            self.trigger or "",
            self.period.start,
        )


class RosterIndex:
    def __init__(self, roster: Roster) -> None:
        self.orgs = {o.id: o for o in roster.organisations}
        self.people = {p.id: p for p in roster.people}
        self.holders: dict[str, list[Holder]] = defaultdict(list)
        for person in roster.people:
            for post in person.posts:
                self.holders[post.org].append(Holder(person, post))
        for holders in self.holders.values():
            holders.sort(key=lambda h: (h.post.start, h.person.id))

    def within(self, org: str, roots: tuple[str, ...]) -> bool:
        """Whether `org` is one of `roots` or below one of them (following parents; cycles are cut)."""
        return self.distance(org, roots) is not None

    def distance(self, org: str, roots: tuple[str, ...]) -> int | None:
        """How many steps up from `org` the nearest of `roots` is (0: itself), or None."""
        seen: set[str] = set()
        current: str | None = org
        steps = 0
        while current is not None and current not in seen:
            if current in roots:
                return steps
            seen.add(current)
            parent = self.orgs.get(current)
            current = parent.parent if parent is not None else None
            steps += 1
        return None

    def applies(self, rule: CompiledRule, org: str, siblings: tuple[CompiledRule, ...]) -> bool:
        """Whether this variant of a rule governs `org`: the base version outside the overlays that
        change it; inside, the overlay whose organisation is nearest (when overlays nest)."""
        if rule.scope is None:
            return not (rule.excluded and self.within(org, rule.excluded))
        mine = self.distance(org, rule.scope)
        if mine is None:
            return False
        for other in siblings:
            if other is rule or other.scope is None:
                continue
            theirs = self.distance(org, other.scope)
            if theirs is not None and (theirs < mine or (theirs == mine and other.index < rule.index)):
                return False
        return True

    def team_on(self, org: str, day: dt.date) -> set[str]:
        return {h.person.id for h in self.holders.get(org, ()) if h.post.holds_on(day)}

    def secretary_on(self, org: str, day: dt.date) -> set[str]:
        return {
            h.person.id for h in self.holders.get(org, ()) if h.post.role is Role.secretary and h.post.holds_on(day)
        }


Term = tuple[dt.date, dt.date | None]


def clip_window(rule: CompiledRule, window: Period, term: Term | None) -> tuple[Period | None, str]:
    """The judged part of `window`, or None with the reason code."""
    eff = rule.effective
    judged = window.intersect(Period(eff.from_, eff.to or dt.date.max))
    if judged is None:
        return None, "not_in_force"
    deadline = rule.params.window
    if deadline is not None:
        start = month_day(window.start.year, deadline.from_) if deadline.from_ else judged.start
        end = month_day(window.start.year, deadline.to) if deadline.to else judged.end
        judged = judged.intersect(Period(start, end))
        if judged is None:
            return None, "outside_deadline_window"
    if term is not None:
        available = judged
        judged = judged.intersect(Period(term[0], term[1] or dt.date.max))
        if judged is None:
            return None, "not_in_post"
        minimum = rule.params.min_days_in_post or 0
        if judged.days < minimum and judged.days < available.days:
            return None, "too_short_in_post"
    if (judged.start, judged.end) == (window.start, window.end):
        return window, ""  # shared: most obligations are judged on the whole window
    return Period(judged.start, judged.end, window.label), ""


def merged_term(posts: list[Post]) -> Term:
    """One span for a person's qualifying posts (a promotion or a change of portfolio is not a gap)."""
    start = min(p.start for p in posts)
    end = None if any(p.end is None for p in posts) else max(p.end for p in posts if p.end is not None)
    return start, end


def holders_by_person(holders: list[Holder], roles: list[Role], window: Period) -> dict[str, list[Holder]]:
    """Posts in one of `roles` overlapping `window`, grouped by person (in roster order of first post)."""
    out: dict[str, list[Holder]] = {}
    for h in holders:
        if h.post.role in roles and h.post.overlaps(window.start, window.end):
            out.setdefault(h.person.id, []).append(h)
    return out


class _Planning:
    """What planning computes again and again for every organisation, computed once: the calendar windows
    (shared by all obligations: also less memory), judged windows per (rule, window, term of office), and
    terms per set of posts. Keys use object identity: every key object lives as long as the planning."""

    def __init__(self, period: Period) -> None:
        self.period = period
        self._windows: dict[Granularity, list[Period]] = {}
        self._clips: dict[tuple[int, int, Term | None], tuple[Period | None, str]] = {}
        self._terms: dict[tuple[int, ...], Term] = {}

    def windows(self, granularity: Granularity) -> list[Period]:
        found = self._windows.get(granularity)
        if found is None:
            found = self._windows[granularity] = self.period.windows(granularity)
        return found

    def clip(self, rule: CompiledRule, window: Period, term: Term | None) -> tuple[Period | None, str]:
        key = (id(rule), id(window), term)
        found = self._clips.get(key)
        if found is None:
            found = self._clips[key] = clip_window(rule, window, term)
        return found

    def term(self, holders: list[Holder]) -> Term:
        key = tuple(map(id, holders))
        found = self._terms.get(key)
        if found is None:
            found = self._terms[key] = merged_term([h.post for h in holders])
        return found


def plan(compiled: CompiledRules, index: RosterIndex, period: Period) -> list[Obligation]:
    """Every obligation of every organisation for the windows that overlap `period` (trigger rules excluded:
    their obligations come from records)."""
    out: list[Obligation] = []
    planning = _Planning(period)
    for org in index.orgs.values():
        for rule in compiled.rules:
            if index.applies(rule, org.id, compiled.variants(rule.rule.id)):
                out.extend(_plan_rule(rule, org, index, planning))
    return out


def _plan_rule(rule: CompiledRule, org: Organisation, index: RosterIndex, planning: _Planning) -> list[Obligation]:
    period = planning.period
    spec = rule.rule
    if spec.escalate is not None:
        return []  # planned from decided findings (escalation.py)
    if rule.retired_by is not None:
        return [Obligation(rule, org, "organisation", org.id, org.name, period, None, na="retired")]
    if org.kind not in spec.org_kinds:
        return [Obligation(rule, org, "organisation", org.id, org.name, period, None, na="kind_not_covered")]
    if spec.subject is SubjectKind.trigger:
        return []
    assert rule.params.period is not None  # the resolved value: defaults, then overrides
    out: list[Obligation] = []
    holders = index.holders.get(org.id, [])
    for window in planning.windows(rule.params.period):
        base, why = planning.clip(rule, window, None)
        if spec.subject is SubjectKind.organisation:
            out.append(Obligation(rule, org, "organisation", org.id, org.name, window, base, na=why))
            continue
        roles = spec.roles if spec.pair is None else spec.pair.first
        people = holders_by_person(holders, roles, window)
        if not people:  # nobody on the roster to judge: say so, unless the rule does not apply anyway
            label = "/".join(r.value for r in roles)
            out.append(Obligation(rule, org, "role", label, label, window, base, role=label, na=why, unk="no_holder"))
            continue
        if spec.pair is not None:
            seconds = holders_by_person(holders, spec.pair.second, window)
            out.extend(_plan_pairs(rule, org, window, people, seconds, planning))
            continue
        for posts in people.values():
            person, role = posts[0].person, posts[-1].post.role.value
            judged, why = planning.clip(rule, window, planning.term(posts))
            if why == "not_in_post":
                continue
            if spec.subject is SubjectKind.person:
                out.append(Obligation(rule, org, "person", person.id, person.name, window, judged, na=why, role=role))
                continue
            areas = list(dict.fromkeys(area for h in posts for area in h.post.portfolios))
            if not areas:
                unk = "" if why else "no_portfolio"
                out.append(
                    Obligation(
                        rule, org, "portfolio", person.id, person.name, window, judged, na=why, unk=unk, role=role
                    )
                )
            for area in areas:
                term = planning.term([h for h in posts if area in h.post.portfolios])
                judged, why = planning.clip(rule, window, term)
                if why == "not_in_post":
                    continue
                out.append(
                    Obligation(
                        rule,
                        org,
                        "portfolio",
                        person.id,
                        person.name,
                        window,
                        judged,
                        portfolio=area,
                        na=why,
                        role=role,
                    )
                )
    return out


def _plan_pairs(
    rule: CompiledRule,
    org: Organisation,
    window: Period,
    firsts: dict[str, list[Holder]],
    seconds: dict[str, list[Holder]],
    planning: _Planning,
) -> list[Obligation]:
    assert rule.rule.pair is not None
    out: list[Obligation] = []
    seen: set[tuple[str, str]] = set()
    for a_id, a_posts in firsts.items():
        for b_id, b_posts in seconds.items():
            key = (a_id, b_id) if rule.rule.pair.ordered else (min(a_id, b_id), max(a_id, b_id))
            if a_id == b_id or key in seen:
                continue
            seen.add(key)
            (a_start, a_end), (b_start, b_end) = planning.term(a_posts), planning.term(b_posts)
            start = max(a_start, b_start)
            ends = [e for e in (a_end, b_end) if e is not None]
            end = min(ends) if ends else None
            if end is not None and end < start:
                continue
            judged, why = planning.clip(rule, window, (start, end))
            if why == "not_in_post":
                continue
            one, other = (a_posts, b_posts)
            if not rule.rule.pair.ordered and b_id < a_id:  # one orientation for an unordered pair
                one, other = b_posts, a_posts  # (new names: the loop variables stay untouched)
            a, b = one[0].person, other[0].person
            out.append(
                Obligation(
                    rule,
                    org,
                    "pair",
                    a.id,
                    a.name,
                    window,
                    judged,
                    role=one[-1].post.role.value,
                    first=a.id,
                    second=b.id,
                    second_name=b.name,
                    second_role=other[-1].post.role.value,
                    na=why,
                )
            )
    return out


# ---------------------------------------------------------------- counting


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
                ob.taint.append(
                    BadRow(
                        rec.source,
                        rec.line,
                        "participants",
                        ", ".join(sorted(rec.unknown)),
                        "记录中有不在名册中的人员，其编号与责任人相近（可能写错）",
                        "the record names people not on the roster whose id is close to the subject's (a mistyped id?)",
                        rec.id,
                        rec.org,
                        rec.type,
                        rec.date,
                    )
                )
        if why[0] == "no_team":  # the roster cannot say whether this record counts: not a "no"
            ob.taint = ob.taint or []
            ob.taint.append(
                BadRow(
                    rec.source,
                    rec.line,
                    "date",
                    rec.date.isoformat(),
                    "记录日期名册中无班子成员，无法计算到会比例",
                    "no team members on the roster on the record's date: attendance cannot be computed",
                    rec.id,
                    rec.org,
                    rec.type,
                    rec.date,
                )
            )
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


_REF_ZH = {"subject": "责任人本人", "first": "第一方", "second": "第二方", "secretary": "书记"}


def describe(rule: CompiledRule, why: Why, window: Period | None, portfolio: str | None) -> tuple[str, str]:
    """The Chinese and English text of a rejection reason under `rule` (`window`: the obligation's judged
    window, read for ``outside``; `portfolio`: its portfolio area, read for ``portfolio``)."""
    code = why[0]
    match = rule.match
    if code == "outside":
        assert window is not None
        w = f"{window.start.isoformat()}..{window.end.isoformat()}"
        return (
            f"日期不在评判区间 {w} 内（任职、施行或时限）",
            f"date outside the judged window {w} (post, in force or deadline)",
        )
    if code == "tags_any":
        return (
            f"缺少标签（需含其一：{'、'.join(match.tags_any)}）",
            f"missing tag (needs one of: {', '.join(match.tags_any)})",
        )
    if code == "tags_all":
        return (
            f"缺少标签（需全部含有：{'、'.join(match.tags_all)}）",
            f"missing tags (needs all of: {', '.join(match.tags_all)})",
        )
    if code == "chair":
        who, ref = why[1] or "无 none", why[2]
        return (f"主持人为 {who}，不是{_REF_ZH[ref]}", f"chaired by {who}, not the {ref}")
    if code == "participant":
        return (f"{_REF_ZH[why[1]]}不在参加人员中", f"the {why[1]} is not among the participants")
    if code == "portfolio":
        return (
            f"分管领域为 {why[1] or '空'}，不是 {portfolio}",
            f"portfolio is {why[1] or 'empty'}, not {portfolio}",
        )
    if code == "attendance":
        return (f"到会 {why[1]}，低于 {why[2]}", f"attendance {why[1]} is below {why[2]}")
    return ("记录日期名册中无班子成员，无法计算到会比例", "no team members on the roster on that date")


def apply_waivers(obligations: Iterable[Obligation], waivers: list[LoadedWaiver], as_of: dt.date) -> None:
    """Attach to each obligation the waiver that covers it: an unexpired one if any, else an expired one
    (which has no effect but is reported)."""
    by_rule: dict[str, list[LoadedWaiver]] = defaultdict(list)
    for loaded in waivers:
        by_rule[loaded.waiver.rule].append(loaded)
    if not by_rule:
        return
    for ob in obligations:
        candidates = by_rule.get(ob.rule.rule.id)
        if not candidates or ob.window is None:
            continue
        for loaded in candidates:
            w = loaded.waiver
            if w.org not in (None, ob.org.id) or w.subject not in (None, ob.subject_id):
                continue
            if w.second not in (None, ob.second) or w.portfolio not in (None, ob.portfolio):
                continue
            if w.to < ob.window.start or w.from_ > ob.window.end:
                continue
            expired = as_of > w.expires
            if ob.waiver is None or (ob.waiver_expired and not expired):
                ob.waiver, ob.waiver_expired = loaded, expired
