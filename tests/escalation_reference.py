"""The escalation stage as it was before it became columns (rules_engine.escalation.plan_layer): each lower finding
an escalation rule reads made into an Obligation object, and each subject's findings summed up in Python, one
organisation and one person at a time. Kept as the reference the columnar counts are compared with
(tests/test_escalation_columns.py)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from rules_engine.compile import ESCALATION_FIELDS, CompiledRule, CompiledRules
from rules_engine.ledger import Ledger
from rules_engine.model.findings import Status
from rules_engine.model.roster import Organisation
from rules_engine.model.rules import SubjectKind, share_fraction
from rules_engine.periods import Period
from rules_engine.plan import Obligation, RosterIndex, clip_window, holders_by_person

Counts = tuple[int, ...]  # the values of compile.ESCALATION_FIELDS[3:] (k ... gapu), in that order
Planned = list[tuple[Obligation, Counts]]
_NOTHING: Counts = (0,) * (len(ESCALATION_FIELDS) - 3)
_SECRETARY = "secretary"
_TEAM = ["secretary", "deputy_secretary", "member"]  # the team roles of the standard vocabulary (cpc-basic)
_PEOPLE_KINDS = frozenset({"person", "portfolio", "pair"})  # the subject kinds counted as people


def reference_layer(
    rules: Sequence[CompiledRule],
    ledger: Ledger,
    index: RosterIndex,
    period: Period,
    compiled: CompiledRules,
    max_evidence: int = 20,
) -> tuple[list[Obligation], list[Counts]]:
    """The escalation obligations of one layer of rules over the decided rows of `ledger` (in report order), each
    with its lower findings summed up (the counts of its fact): for each organisation that has rows, in order
    of organisation id, in the order of `rules` (not sorted).

    Only the lower findings some rule of the layer reads, with a status one of them counts, are made into
    objects (few: most findings are fulfilled), and each rule then sums up its own among those."""
    specs = [_Spec(rule, compiled, period) for rule in rules]
    read = [r for spec in specs for r in spec.reads]
    counted = frozenset(name for spec in specs for name in spec.categories)
    names = [d.name for d in ledger.decisions]
    codes = [i for i, name in enumerate(names) if name in counted]
    table = ledger.table
    lower = ledger.ordered(table.filter(pl.col("decision").is_in(codes) & pl.col("rule").is_in(read)))
    kept: dict[int, list[Kept]] = {}
    made = ledger.obligations(lower, keep=False)  # (read here only: not kept)
    for ob, code in zip(made, lower.get_column("decision").to_list(), strict=True):
        kept.setdefault(ledger.org_code(ob.org.id), []).append((ob, ob.rule.index, names[code], _label(ob)))
    obligations: list[Obligation] = []
    counts: list[Counts] = []
    orgs = ledger.orgs
    for code in sorted(table.get_column("org").unique().to_list(), key=lambda c: orgs[c].id):
        org = index.orgs[orgs[code].id]
        planned: Planned = []
        mine = kept.get(code, [])
        for spec in specs:
            spec.plan(org, mine, index, period, compiled, max_evidence, planned)
        for ob, found in planned:
            obligations.append(ob)
            counts.append(found)
    return obligations, counts


Kept = tuple[Obligation, int, str, str]  # a lower finding: its obligation, rule index, decision name, label
Read = tuple[Obligation, int, str]  # a lower finding a rule reads: its obligation, category (see _Spec), label


class _Spec:
    """What one escalation rule needs to sum up lower findings, worked out once per layer."""

    def __init__(self, rule: CompiledRule, compiled: CompiledRules, period: Period) -> None:
        esc = rule.rule.escalate
        assert esc is not None
        self.rule, self.esc = rule, esc
        self.reads = frozenset(r.index for r in compiled.rules if r.rule.id in esc.rules)
        wanted = {Status(s) for s in esc.status}
        # each decision whose status counts, by how: one of the rule's statuses (0), else pending (1), else
        # undeterminable (2); the three levels of compile.ESCALATION_FIELDS count 0, 0 and 1, 0 and 2
        self.categories: dict[str, int] = {}
        for d in compiled.decisions:
            category = _category(d.status, wanted)
            if category is not None:
                if self.categories.get(d.name, category) != category:
                    raise ValueError(f"two decisions named {d.name!r} with different statuses")
                self.categories[d.name] = category
        self.roles = frozenset(esc.roles)
        # the secretary's own findings are part of why it was raised; when the secretary's role is counted
        # (or every role is), they are among the findings counted already
        self.secretary_too = esc.with_secretary and bool(self.roles) and _SECRETARY not in self.roles
        self.team_roles = list(self.roles) or _TEAM
        self.share = share_fraction(esc.raise_share) if esc.raise_share is not None else None
        self.judged, self.why = clip_window(rule, period, None)

    def plan(
        self,
        org: Organisation,
        kept: Sequence[Kept],
        index: RosterIndex,
        period: Period,
        compiled: CompiledRules,
        max_evidence: int,
        out: Planned,
    ) -> None:
        """The rule's obligations in `org`, each with its counts, appended to `out`."""
        rule, spec = self.rule, self.rule.rule
        if not index.applies(rule, org.id, compiled.variants(spec.id)):
            return
        if rule.retired_by is not None:
            out.append((Obligation(rule, org, "organisation", org.id, org.name, period, None, na="retired"), _NOTHING))
            return
        if org.kind not in spec.org_kinds:
            own = index.vocabulary.kind(org.kind)
            if own is not None and own.pack not in {t.pack for t in map(index.vocabulary.kind, spec.org_kinds) if t}:
                return  # a kind another pack declares: the rule says nothing of it
            ob = Obligation(rule, org, "organisation", org.id, org.name, period, None, na="kind_not_covered")
            out.append((ob, _NOTHING))
            return
        reads, categories = self.reads, self.categories
        mine = [
            (ob, category, label)
            for ob, r, name, label in kept
            if r in reads and (category := categories.get(name, -1)) >= 0
        ]
        need: int | None = None  # the fewest people that reach the share of the team (None: no team)
        if self.share is not None:
            team = len(holders_by_person(index.holders.get(org.id, []), self.team_roles, period))
            need = -(-self.share.numerator * team // self.share.denominator) if team else None  # ceil(share * team)
        if spec.subject is SubjectKind.organisation:
            ob = Obligation(rule, org, "organisation", org.id, org.name, period, self.judged, na=self.why)
            out.append((ob, self.count(ob, mine, need, max_evidence)))
            return
        by_subject: dict[str, list[Read]] = {}
        for item in mine:
            by_subject.setdefault(item[0].subject_id, []).append(item)
        for posts in holders_by_person(index.holders.get(org.id, []), spec.roles, period).values():
            person = posts[0].person
            role = posts[-1].post.role
            ob = Obligation(rule, org, "person", person.id, person.name, period, self.judged, na=self.why, role=role)
            out.append((ob, self.count(ob, by_subject.get(person.id, ()), need, max_evidence)))

    def count(
        self,
        ob: Obligation,
        read: Sequence[Read],
        need: int | None,
        max_evidence: int,
    ) -> Counts:
        """Sum up the lower findings `read` (in report order; the finding's count and evidence are set on `ob`,
        the fact's fields returned). For each level: the count (findings, or distinct portfolio areas, rules
        or people, among the findings with a counted status about one of the roles), how many findings with a
        counted status are about a secretary, and how many more people the share of the team needs (`need`
        people; 0: reached; 1 when there is no team: never reached; 0 without a share)."""
        roles, counting, secretary_too = self.roles, self.esc.count, self.secretary_too
        keys: tuple[set[str], set[str], set[str]] = (set(), set(), set())
        found = [0, 0, 0]  # per category
        secretary = [0, 0, 0]
        hits: list[str] = []  # the labels of the findings counted (category 0), in report order
        extra: list[str] = []  # the secretary's, when not counted
        for lower, category, label in read:
            role = lower.role
            if role == _SECRETARY:
                secretary[category] += 1
                if secretary_too and not category:
                    extra.append(label)
            if roles and role not in roles:
                continue
            if not category:
                hits.append(label)
            if counting == "findings":
                found[category] += 1
            elif counting == "portfolios":
                if lower.portfolio:
                    keys[category].add(lower.portfolio)
            elif counting == "rules":
                keys[category].add(lower.rule.rule.id)
            elif lower.subject_kind in _PEOPLE_KINDS:  # people
                keys[category].add(lower.subject_id)
        if counting == "findings":
            k = (found[0], found[0] + found[1], found[0] + found[2])
        else:
            mine, pending, doubt = keys
            k = (len(mine), len(mine | pending) if pending else len(mine), len(mine | doubt) if doubt else len(mine))
        gaps = (0, 0, 0) if self.share is None else tuple(max(0, need - n) if need is not None else 1 for n in k)
        ob.count = k[0]
        ob.evidence = (hits + extra)[:max_evidence] or None
        return (*k, secretary[0], secretary[0] + secretary[1], secretary[0] + secretary[2], *gaps)


def _category(status: Status, wanted: set[Status]) -> int | None:
    """How a lower finding's status counts (see _Spec.categories), or None: not at all."""
    if status in wanted:
        return 0
    if status is Status.pending:
        return 1
    if status is Status.undeterminable:
        return 2
    return None


def _label(ob: Obligation) -> str:
    """How a lower finding is named in an escalation's evidence: rule, subject and period (rule/subject/
    [second/][portfolio/]period)."""
    head = f"{ob.rule.loaded.rule.id}/{ob.subject_id}/"
    if ob.second:
        head += f"{ob.second}/"
    if ob.portfolio:
        head += f"{ob.portfolio}/"
    return head + ob.period.label
