"""The planner as it was before the plan became a table (rules_engine.plan.plan_table): one Obligation object at a
time, in Python. Kept as the reference the table planner is compared with (tests/test_plan_table.py)."""

from __future__ import annotations

from collections.abc import Collection

from rules_engine.compile import CompiledRule, CompiledRules
from rules_engine.model.roster import Organisation
from rules_engine.model.rules import SubjectKind
from rules_engine.periods import Granularity, Period
from rules_engine.plan import Holder, Obligation, RosterIndex, Term, clip_window, holders_by_person, merged_term


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


def reference_plan(
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


def _other_vocabulary(index: RosterIndex, kind: str, kinds: list[str]) -> bool:
    """Whether the pack declaring `kind` declares none of `kinds`."""
    own = index.vocabulary.kind(kind)
    packs = {term.pack for term in map(index.vocabulary.kind, kinds) if term is not None}
    return own is not None and own.pack not in packs


def _plan_rule(rule: CompiledRule, org: Organisation, index: RosterIndex, planning: _Planning) -> list[Obligation]:
    period = planning.period
    spec = rule.rule
    if spec.escalate is not None:
        return []  # planned from decided findings (escalation.py)
    if rule.retired_by is not None:
        return [Obligation(rule, org, "organisation", org.id, org.name, period, None, na="retired")]
    if org.kind not in spec.org_kinds:
        if _other_vocabulary(index, org.kind, spec.org_kinds):
            return []  # a kind another pack declares: the rule says nothing of it
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
            label = "/".join(roles)
            out.append(Obligation(rule, org, "role", label, label, window, base, role=label, na=why, unk="no_holder"))
            continue
        if spec.pair is not None:
            seconds = holders_by_person(holders, spec.pair.second, window)
            out.extend(_plan_pairs(rule, org, window, people, seconds, planning))
            continue
        for posts in people.values():
            person, role = posts[0].person, posts[-1].post.role
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
                    role=one[-1].post.role,
                    first=a.id,
                    second=b.id,
                    second_name=b.name,
                    second_role=other[-1].post.role,
                    na=why,
                )
            )
    return out
