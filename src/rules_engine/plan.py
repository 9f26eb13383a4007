"""Plan: which duty instances exist (rule x subject x window), before any record is read.

Planning expands each compiled rule over an organisation's roster: subjects (the organisation, each
holder of a role, each portfolio area of each holder, each pair), the rule's windows inside the
evaluation period, clipped to the part the subject held the post and the rule was in force.
The first stage of the pipeline (plan -> intake -> tally -> decide -> escalate -> findings -> render).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from .applies import applicability
from .compile import CompiledRule, CompiledRules
from .load.inputs import BadRow
from .load.waivers import LoadedWaiver
from .model.roster import Membership, Organisation, Person, Post, Roster
from .model.rules import SubjectKind
from .model.vocab import Vocabulary, standard
from .periods import Period, month_day

Why = tuple[str, ...]  # a compact reason code and its details, formatted by texts.describe()


@dataclass(frozen=True, slots=True)
class Holder:
    person: Person
    post: Post


@dataclass(slots=True)
class Obligation:
    """One obligation as an object, for the code that takes them one at a time (a finding made by
    :func:`rules_engine.findings.finding_dict`, an escalation's lower findings): a row of the run's
    :class:`rules_engine.ledger.Ledger` with its tally and verdict, made by the ledger (which owns them)."""

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
    lacking: tuple[int, str] | None = None  # candidates set aside for lacking a field a filter reads, and the fields

    def rejections(self) -> Iterator[tuple[str, Why]]:
        """The rejected candidates kept: (record id, why; see describe()), in reading order."""
        if self.rejected is not None:
            yield from zip(*self.rejected, strict=True)


class RosterIndex:
    """The roster by organisation: its posts (holders), its groups' memberships, and what the vocabulary says of
    roles (`vocabulary`: the loaded packs'; by default the standard one)."""

    def __init__(self, roster: Roster, vocabulary: Vocabulary | None = None) -> None:
        self.vocabulary = vocabulary or standard()
        self.heads = self.vocabulary.heads
        self.orgs = {o.id: o for o in roster.organisations}
        self.people = {p.id: p for p in roster.people}
        self.holders: dict[str, list[Holder]] = defaultdict(list)
        self.members: dict[tuple[str, str], list[tuple[Person, Membership]]] = defaultdict(list)
        for person in roster.people:
            for post in person.posts:
                self.holders[post.org].append(Holder(person, post))
            for member in person.groups:
                self.members[(member.org, member.group)].append((person, member))
        for holders in self.holders.values():
            holders.sort(key=lambda h: (h.post.start, h.person.id))
        for members in self.members.values():
            members.sort(key=lambda m: (m[1].start, m[0].id))

    def group_terms(self, org: str, group: str) -> list[tuple[Person, dt.date, dt.date | None, str]]:
        """The members of `group` in `org` (person, term start and end, role or ""), in term order: the holders
        of the group's roles when it is declared with ``roles:``, else the roster's memberships."""
        term = self.vocabulary.term("group", group)
        if term is not None and term.roles:
            return [
                (h.person, h.post.start, h.post.end, h.post.role)
                for h in self.holders.get(org, ())
                if h.post.role in term.roles
            ]
        return [(p, m.start, m.end, "") for p, m in self.members.get((org, group), ())]

    def applicable(self, rule: CompiledRule, org: Organisation, period: Period) -> bool:
        """Whether every condition of the rule's ``applies_when`` holds for `org` (the plan says why not; a trigger
        rule starts no duty where it does not)."""
        return not rule.rule.applies_when or not any(applicability(rule.rule, org, self, period))

    def has_group(self, org: str, group: str, period: Period) -> bool:
        """Whether `org` has `group` in `period`: someone is a member for part of it."""
        return any(
            start <= period.end and (end is None or end >= period.start)
            for _p, start, end, _r in self.group_terms(org, group)
        )

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
        return {h.person.id for h in self.holders.get(org, ()) if h.post.role in self.heads and h.post.holds_on(day)}


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


def holders_by_person(holders: list[Holder], roles: list[str], window: Period) -> dict[str, list[Holder]]:
    """Posts in one of `roles` overlapping `window`, grouped by person (in roster order of first post)."""
    out: dict[str, list[Holder]] = {}
    for h in holders:
        if h.post.role in roles and h.post.overlaps(window.start, window.end):
            out.setdefault(h.person.id, []).append(h)
    return out


_MAX = dt.date.max
_EXPAND = 8192  # (organisation, rule) pairs expanded at a time: their joins' intermediates are bounded by it


@dataclass
class Planned:
    """The plan as a table: one row per obligation (rule x subject x window), in no particular order (each
    obligation's sort key is unique). Columns: ``org`` (position in `orgs`), ``rule`` (the compiled rule's
    index), ``kind``, ``sid``, ``name``, ``role``, ``portfolio``, ``first``, ``second``, ``second_name``,
    ``second_role`` (the subject, as :class:`Obligation` names them), ``period`` and ``window`` (positions in
    `periods`; ``window`` null when not applicable), ``na`` and ``unk`` (reason codes, "" for none)."""

    table: pl.DataFrame
    orgs: list[Organisation]
    periods: list[Period]
    rules: dict[int, CompiledRule]

    def __len__(self) -> int:
        return self.table.height

    def obligations(self) -> list[Obligation]:
        """The rows as :class:`Obligation` objects (sharing the organisation, rule and period objects)."""
        t = self.table
        columns = [t.get_column(name).to_list() for name in PLAN_SCHEMA]
        nothing = [None] * t.height  # (no trigger: the plan has none)
        return [obligation_of(self.rules, self.orgs, self.periods, row) for row in zip(*columns, nothing, strict=True)]


def obligation_of(
    rules: Mapping[int, CompiledRule], orgs: Sequence[Organisation], periods: Sequence[Period], row: Sequence[Any]
) -> Obligation:
    """The obligation of a row of the plan's columns (:data:`PLAN_SCHEMA`, in that order, then the trigger), its
    rule, organisation and periods given by number."""
    org, rule, kind, sid, name, role, area, first, second, s_name, s_role, period, window, na, unk, trigger = row
    judged = None if window is None else periods[window]
    return Obligation(
        rules[rule],
        orgs[org],
        kind,
        sid,
        name,
        periods[period],
        judged,
        role,
        area,
        first,
        second,
        s_name,
        s_role,
        trigger,
        na,
        unk,
    )


PLAN_SCHEMA: dict[str, pl.DataType] = {
    "org": pl.UInt32(),
    "rule": pl.UInt32(),
    "kind": pl.String(),
    "sid": pl.String(),
    "name": pl.String(),
    "role": pl.String(),
    "portfolio": pl.String(),
    "first": pl.String(),
    "second": pl.String(),
    "second_name": pl.String(),
    "second_role": pl.String(),
    "period": pl.UInt32(),
    "window": pl.UInt32(),
    "na": pl.String(),
    "unk": pl.String(),
}


def plan(
    compiled: CompiledRules, index: RosterIndex, period: Period, orgs: Collection[str] | None = None
) -> list[Obligation]:
    """Every obligation of every organisation (or of those in `orgs`: a worker's share) for the windows that
    overlap `period` (trigger rules excluded: their obligations come from records), as objects
    (:meth:`Planned.obligations` of :func:`plan_table`)."""
    return plan_table(compiled, index, period, orgs).obligations()


class PeriodCodes:
    """The periods of a plan, numbered: equal periods (start, end and label) share a number and an object."""

    def __init__(self, items: Sequence[Period] = ()) -> None:
        self.items: list[Period] = list(items)
        self.codes: dict[Period, int] = {p: i for i, p in enumerate(self.items)}

    def code(self, period: Period) -> int:
        found = self.codes.get(period)
        if found is None:
            found = self.codes[period] = len(self.items)
            self.items.append(period)
        return found


def plan_table(
    compiled: CompiledRules, index: RosterIndex, period: Period, orgs: Collection[str] | None = None
) -> Planned:
    """:func:`plan` as a table (:class:`Planned`). Decided per organisation and rule in Python (which variant
    governs it, retired, kinds covered); per rule and window in Python (the window clipped to the rule's force
    and deadline window); per holder of a post, as columns: the posts of the rule's roles overlapping each
    window, grouped by person (their merged term), clipped to the term, portfolio areas and pairs."""
    periods = PeriodCodes()
    run_period = periods.code(period)
    org_list = [o for o in index.orgs.values() if orgs is None or o.id in orgs]
    rules = {rule.index: rule for rule in compiled.rules}
    variants = {rule.rule.id: compiled.variants(rule.rule.id) for rule in compiled.rules}
    # (org, rule, na, unk): one obligation of the organisation, not applicable, or undeterminable (unk: a condition
    # of applies_when on an attribute the roster does not give)
    fixed: list[tuple[int, int, str, str]] = []
    expand: list[tuple[int, int]] = []  # (org, rule): expanded over windows and subjects
    for code, org in enumerate(org_list):
        for rule in compiled.rules:
            spec = rule.rule
            if spec.escalate is not None or not index.applies(rule, org.id, variants[spec.id]):
                continue  # (escalation rules: planned from decided findings, escalation.py)
            if org.kind not in spec.org_kinds and index.vocabulary.outside(org.kind, spec.org_kinds):
                continue  # (a kind of another pack's vocabulary: the rule is silent on it)
            if rule.retired_by is not None:
                fixed.append((code, rule.index, "retired", ""))
            elif org.kind not in spec.org_kinds:
                fixed.append((code, rule.index, "kind_not_covered", ""))
            elif spec.applies_when and any(why := applicability(spec, org, index, period)):
                fixed.append((code, rule.index, *why))
            elif spec.subject is not SubjectKind.trigger:
                expand.append((code, rule.index))
    parts = [
        pl.DataFrame(
            {
                "org": [f[0] for f in fixed],
                "rule": [f[1] for f in fixed],
                "kind": "organisation",
                "sid": [org_list[f[0]].id for f in fixed],
                "name": [org_list[f[0]].name for f in fixed],
                "period": run_period,
                "window": [None if f[3] == "" else run_period for f in fixed],
                "na": [f[2] for f in fixed],
                "unk": [f[3] for f in fixed],
            },
            schema_overrides={"org": pl.UInt32, "rule": pl.UInt32, "period": pl.UInt32, "window": pl.UInt32},
        )
    ]
    for start in range(0, len(expand), _EXPAND):  # (a few hundred organisations at a time: bounded intermediates)
        parts += _expanded(expand[start : start + _EXPAND], org_list, rules, index, period, periods)
    table = pl.concat([part.select(_columns(part)) for part in parts], how="vertical")
    return Planned(table, org_list, periods.items, rules)


def _columns(frame: pl.DataFrame) -> list[pl.Expr]:
    return [
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in PLAN_SCHEMA.items()
    ]


def _expanded(
    expand: list[tuple[int, int]],
    org_list: list[Organisation],
    rules: dict[int, CompiledRule],
    index: RosterIndex,
    period: Period,
    periods: PeriodCodes,
) -> list[pl.DataFrame]:
    used = sorted({r for _, r in expand})
    # per rule and window: the window clipped to the rule's force and deadline window (the base of every subject)
    windows: list[tuple[Any, ...]] = []
    cache: dict[Any, list[Period]] = {}
    for r in used:
        rule = rules[r]
        granularity = rule.params.period
        assert granularity is not None  # the resolved value: defaults, then overrides
        found = cache.get(granularity)
        if found is None:
            found = cache[granularity] = period.windows(granularity)
        for window in found:
            base, why = clip_window(rule, window, None)
            windows.append(
                (
                    r,
                    periods.code(window),
                    window.start,
                    window.end,
                    None if base is None else base.start,
                    None if base is None else base.end,
                    None if base is None else periods.code(base),
                    why,
                    rule.params.min_days_in_post or 0,
                )
            )
    by_window = pl.DataFrame(
        windows,
        schema={
            "rule": pl.UInt32,
            "win": pl.UInt32,
            "w_start": pl.Date,
            "w_end": pl.Date,
            "b_start": pl.Date,
            "b_end": pl.Date,
            "base": pl.UInt32,
            "why": pl.String,
            "min_days": pl.Int64,
        },
        orient="row",
    )
    kinds = pl.DataFrame(
        {"rule": used, "subject": [rules[r].rule.subject.value for r in used]},
        schema={"rule": pl.UInt32, "subject": pl.String},
    )
    cells = (
        pl.DataFrame(expand, schema={"org": pl.UInt32, "rule": pl.UInt32}, orient="row")
        .join(kinds, on="rule")
        .join(by_window, on="rule")
    )
    out = [
        cells.filter(pl.col("subject") == "organisation").select(
            "org",
            "rule",
            kind=pl.lit("organisation"),
            sid=_org_field(org_list, "id"),
            name=_org_field(org_list, "name"),
            period="win",
            window="base",
            na="why",
            unk=pl.lit(""),
        )
    ]
    cells = cells.filter(pl.col("subject") != "organisation")
    if cells.height == 0:
        return out
    holders, holder_areas = _holders(org_list, index, sorted({code for code, _ in expand}))
    first_roles = pl.DataFrame(
        [(r, role) for r in used for role in _roles(rules[r])],
        schema={"rule": pl.UInt32, "role": pl.String},
        orient="row",
    )
    people = _people(cells, holders, first_roles)
    # nobody on the roster to judge: say so (unless the rule does not apply anyway)
    labels = pl.DataFrame(
        {
            "rule": used,
            "label": ["/".join(_roles(rules[r])) for r in used],
        },
        schema={"rule": pl.UInt32, "label": pl.String},
    )
    out.append(
        cells.join(people.select("org", "rule", "win").unique(), on=["org", "rule", "win"], how="anti")
        .join(labels, on="rule")
        .select(
            "org",
            "rule",
            kind=pl.lit("role"),
            sid="label",
            name="label",
            role="label",
            period="win",
            window="base",
            na="why",
            unk=pl.lit("no_holder"),
        )
    )
    singles = people.filter(pl.col("subject") != "pair")
    judged = _clipped(singles, "t_start", "t_end", periods).filter(pl.col("na") != "not_in_post")
    out.append(
        judged.filter(pl.col("subject") == "person").select(
            "org",
            "rule",
            kind=pl.lit("person"),
            sid="person",
            name="pname",
            role="last_role",
            period="win",
            window="judged",
            na="na",
            unk=pl.lit(""),
        )
    )
    portfolio = judged.filter(pl.col("subject") == "portfolio")
    if portfolio.height:
        out += _portfolios(portfolio, holders, holder_areas, periods)
    pairs = people.filter(pl.col("subject") == "pair")
    if pairs.height:
        specs = {r: pair for r in used if (pair := rules[r].rule.pair) is not None}
        seconds_of = [
            (r, role if isinstance(pair.second, list) else _GROUP + pair.second.group)
            for r, pair in specs.items()
            for role in (pair.second if isinstance(pair.second, list) else [""])
        ]
        second_roles = pl.DataFrame(seconds_of, schema={"rule": pl.UInt32, "role": pl.String}, orient="row")
        groups = sorted({role[len(_GROUP) :] for _, role in seconds_of if role.startswith(_GROUP)})
        if groups:  # the members of the groups pairs draw from, as posts named by the group
            codes = sorted({code for code, _ in expand})
            holders = pl.concat([holders, _group_members(org_list, index, codes, groups)])
        unordered = [r for r, pair in specs.items() if not pair.ordered]
        seconds = _people(cells.filter(pl.col("subject") == "pair"), holders, second_roles)
        if groups:
            seconds = seconds.with_columns(pl.col("last_role").str.strip_prefix(_GROUP))
        out.append(_pairs(pairs, seconds, unordered, periods))
    return out


_GROUP = "\x1fgroup:"  # (a group's members among the posts: a role no vocabulary can declare)
# The posts frame: each post of an organisation (``org`` its number, ``h`` its place in holder order).
_POSTS: dict[str, pl.DataType] = {
    "org": pl.UInt32(),
    "h": pl.UInt32(),
    "person": pl.String(),
    "pname": pl.String(),
    "role": pl.String(),
    "start": pl.Date(),
    "end": pl.Date(),
}


def _group_members(
    org_list: list[Organisation], index: RosterIndex, codes: Sequence[int], groups: list[str]
) -> pl.DataFrame:
    """The members of `groups` in the organisations numbered `codes`, as posts whose role is the group (after the
    posts in holder order: ``h`` from 2**30)."""
    rows = []
    for code in codes:
        org = org_list[code].id
        for group in groups:
            for k, (person, start, end, _role) in enumerate(index.group_terms(org, group)):
                rows.append((code, (1 << 30) + k, person.id, person.name, _GROUP + group, start, end))
    return pl.DataFrame(
        rows,
        schema=_POSTS,
        orient="row",
    )


def _roles(rule: CompiledRule) -> list[str]:
    """The roles whose holders a rule's subjects are (a pair rule: its first person's)."""
    pair = rule.rule.pair
    return rule.rule.roles if pair is None else pair.first


def _org_field(org_list: list[Organisation], name: str) -> pl.Expr:
    """The organisations' `name` field (id or name) of the ``org`` column's numbers."""
    return pl.col("org").replace_strict(
        range(len(org_list)), [getattr(o, name) for o in org_list], return_dtype=pl.String
    )


def _holders(
    org_list: list[Organisation], index: RosterIndex, codes: Sequence[int]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every post of the organisations numbered `codes`, in each one's holder order (``h``: post start, then
    person), and the portfolio areas of each (``pos``: its place in the post's list)."""
    columns: dict[str, list[Any]] = {name: [] for name in _POSTS}
    areas: dict[str, list[Any]] = {"org": [], "h": [], "pos": [], "area": []}
    for code in codes:
        for h, holder in enumerate(index.holders.get(org_list[code].id, ())):
            post = holder.post
            for name, value in zip(
                columns.values(),
                (code, h, holder.person.id, holder.person.name, post.role, post.start, post.end),
                strict=True,
            ):
                name.append(value)
            for pos, area in enumerate(post.portfolios):
                areas["org"].append(code)
                areas["h"].append(h)
                areas["pos"].append(pos)
                areas["area"].append(area)
    posts = pl.DataFrame(
        columns,
        schema=_POSTS,
    )
    return posts, pl.DataFrame(areas, schema={"org": pl.UInt32, "h": pl.UInt32, "pos": pl.UInt32, "area": pl.String})


def _people(cells: pl.DataFrame, holders: pl.DataFrame, roles: pl.DataFrame) -> pl.DataFrame:
    """Per (organisation, rule, window) the people holding a post in one of the rule's `roles` that overlaps the
    window, one row each (ordered by their first such post, ``h``): their merged term (a promotion or a change
    of portfolio is not a gap), their role (of their last such post) and those posts (``hs``)."""
    overlaps = (pl.col("start") <= pl.col("w_end")) & (pl.col("end").is_null() | (pl.col("end") >= pl.col("w_start")))
    posts = cells.join(roles, on="rule").join(holders, on=["org", "role"]).filter(overlaps)
    return (
        posts.sort("h")
        .group_by("org", "rule", "win", "person", maintain_order=True)
        .agg(
            pl.col("subject", "w_start", "w_end", "b_start", "b_end", "base", "why", "min_days", "pname").first(),
            first_h=pl.col("h").first(),
            last_role=pl.col("role").last(),
            t_start=pl.col("start").min(),
            t_end=pl.when(pl.col("end").is_null().any()).then(None).otherwise(pl.col("end").max()),
            hs=pl.col("h"),
        )
    )


def _clipped(frame: pl.DataFrame, start: str, end: str, periods: PeriodCodes) -> pl.DataFrame:
    """`frame` (a window's base, ``b_start``..``b_end`` or its reason ``why``) clipped to a term (`start`, `end`;
    an open end is null): ``judged`` (the period's number, null when none) and ``na`` (its reason, or "";
    ``not_in_post`` for a term outside the window), as :func:`clip_window` decides."""
    lo = pl.max_horizontal(pl.col("b_start"), pl.col(start))
    hi = pl.min_horizontal(pl.col("b_end"), pl.col(end).fill_null(_MAX))
    days = (hi - lo).dt.total_days() + 1
    available = (pl.col("b_end") - pl.col("b_start")).dt.total_days() + 1
    na = (
        pl.when(pl.col("why") != "")
        .then(pl.col("why"))
        .when(lo > hi)
        .then(pl.lit("not_in_post"))
        .when((days < pl.col("min_days")) & (days < available))
        .then(pl.lit("too_short_in_post"))
        .otherwise(pl.lit(""))
    )
    frame = frame.with_columns(na.alias("na"), lo.alias("j_start"), hi.alias("j_end"))
    whole = (pl.col("j_start") == pl.col("w_start")) & (pl.col("j_end") == pl.col("w_end"))
    # the judged windows that are not the whole window: new periods (the window's label), numbered
    clipped = frame.filter((pl.col("na") == "") & ~whole).select("j_start", "j_end", "win").unique()
    labels = periods.items
    codes = [periods.code(Period(s, e, labels[w].label)) for s, e, w in clipped.iter_rows()]
    numbered = clipped.with_columns(pl.Series("clip", codes, dtype=pl.UInt32))
    return (
        frame.join(numbered, on=["j_start", "j_end", "win"], how="left")
        .with_columns(
            judged=pl.when(pl.col("na") != "").then(None).when(whole).then(pl.col("win")).otherwise(pl.col("clip"))
        )
        .drop("clip", "j_start", "j_end")
    )


def _portfolios(
    people: pl.DataFrame, posts: pl.DataFrame, post_areas: pl.DataFrame, periods: PeriodCodes
) -> list[pl.DataFrame]:
    """A portfolio rule's obligations of `people` (clipped to their terms, ``judged`` and ``na``): one per
    portfolio area of their posts (in the order the posts name them; each clipped to the term of the posts with
    that area), or one without an area (a roster gap) when their posts name none."""
    areas = (
        people.select("org", "hs")
        .with_row_index("i")
        .explode("hs")
        .rename({"hs": "h"})
        .join(post_areas, on=["org", "h"])
        .join(posts.select("org", "h", "start", "end"), on=["org", "h"])
        .sort("i", "h", "pos")
        .group_by("i", "area", maintain_order=True)
        .agg(
            a_start=pl.col("start").min(),
            a_end=pl.when(pl.col("end").is_null().any()).then(None).otherwise(pl.col("end").max()),
        )
    )
    indexed = people.drop("na", "judged").with_row_index("i")
    none = people.with_row_index("i").join(areas.select("i").unique(), on="i", how="anti")
    out = [
        none.select(
            "org",
            "rule",
            kind=pl.lit("portfolio"),
            sid="person",
            name="pname",
            role="last_role",
            period="win",
            window="judged",
            na="na",
            unk=pl.when(pl.col("na") == "").then(pl.lit("no_portfolio")).otherwise(pl.lit("")),
        )
    ]
    if areas.height:
        each = _clipped(indexed.join(areas, on="i"), "a_start", "a_end", periods)
        out.append(
            each.filter(pl.col("na") != "not_in_post").select(
                "org",
                "rule",
                kind=pl.lit("portfolio"),
                sid="person",
                name="pname",
                role="last_role",
                portfolio="area",
                period="win",
                window="judged",
                na="na",
                unk=pl.lit(""),
            )
        )
    return out


def _pairs(firsts: pl.DataFrame, seconds: pl.DataFrame, unordered: list[int], periods: PeriodCodes) -> pl.DataFrame:
    """A pair rule's obligations: each (first, second) of two different people holding the rule's first and second
    roles in a window (in the order of their first posts; an unordered pair once, with the lower id first),
    clipped to the part of the window both held their posts."""
    other = seconds.select(
        "org",
        "rule",
        "win",
        o_person="person",
        o_name="pname",
        o_h="first_h",
        o_role="last_role",
        o_start="t_start",
        o_end="t_end",
    )
    a, b = pl.col("person"), pl.col("o_person")
    loose = pl.col("rule").is_in(unordered)
    pairs = (
        firsts.join(other, on=["org", "rule", "win"])
        .filter(a != b)
        .with_columns(
            k1=pl.when(loose & (b < a)).then(b).otherwise(a),
            k2=pl.when(loose & (b < a)).then(a).otherwise(b),
        )
        .sort("org", "rule", "win", "first_h", "o_h")
        .unique(subset=["org", "rule", "win", "k1", "k2"], keep="first", maintain_order=True)
        .with_columns(
            p_start=pl.max_horizontal("t_start", "o_start"),
            p_end=pl.min_horizontal("t_end", "o_end"),  # (null: both still in post)
        )
        .filter(pl.col("p_end").is_null() | (pl.col("p_end") >= pl.col("p_start")))
    )
    judged = _clipped(pairs, "p_start", "p_end", periods).filter(pl.col("na") != "not_in_post")
    swap = loose & (b < a)

    def side(mine: str, theirs: str) -> pl.Expr:
        return pl.when(swap).then(pl.col(theirs)).otherwise(pl.col(mine))

    return judged.select(
        "org",
        "rule",
        kind=pl.lit("pair"),
        sid=side("person", "o_person"),
        name=side("pname", "o_name"),
        role=side("last_role", "o_role"),
        first=side("person", "o_person"),
        second=side("o_person", "person"),
        second_name=side("o_name", "pname"),
        second_role=side("o_role", "last_role"),
        period="win",
        window="judged",
        na="na",
        unk=pl.lit(""),
    )
