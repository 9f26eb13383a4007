"""Plan: which duty instances exist (rule x subject x window), before any record is read.

Planning expands each compiled rule over an organisation's roster: subjects (the organisation, each
holder of a role, each portfolio area of each holder, each pair), the rule's windows inside the
evaluation period, clipped to the part the subject held the post and the rule was in force.
The first stage of the pipeline (plan -> intake -> tally -> decide -> escalate -> findings -> render).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from .compile import CompiledRule, CompiledRules
from .load.inputs import BadRow
from .load.waivers import LoadedWaiver
from .model.roster import Organisation, Person, Post, Roster
from .model.rules import Role, SubjectKind
from .periods import Granularity, Period, month_day

Why = tuple[str, ...]  # a compact reason code and its details, formatted by texts.describe()


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
    rejected: tuple[list[str], list[Why]] | None = None  # record ids, and why each (as columns: no tuple each)
    taint: list[BadRow] | None = None
    waiver: LoadedWaiver | None = None  # the matching waiver, if any
    waiver_expired: bool = False
    row: int = -1  # its number in the tally's columns (tally.Tallied), -1: not tallied

    def rejections(self) -> Iterator[tuple[str, Why]]:
        """The rejected candidates kept: (record id, why; see describe()), in reading order."""
        if self.rejected is not None:
            yield from zip(*self.rejected, strict=True)

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


def plan(
    compiled: CompiledRules, index: RosterIndex, period: Period, orgs: Collection[str] | None = None
) -> list[Obligation]:
    """Every obligation of every organisation (or of those in `orgs`: a worker's share) for the windows that
    overlap `period` (trigger rules excluded: their obligations come from records)."""
    out: list[Obligation] = []
    planning = _Planning(period)
    for org in index.orgs.values():
        if orgs is not None and org.id not in orgs:
            continue
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
