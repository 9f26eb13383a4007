"""Escalation: rules over findings. A team member who violated duties in two portfolio areas, or a
committee whose secretary and half of its team violated theirs, raises a higher-severity finding with
the lower findings as evidence.

Counting the lower findings (durable_rules has no aggregates) happens here; the decision is taken by
the same decision table and engine as every other rule: an escalation rule lowers to ``at_most``
(``raise_at - 1``), so ``violated`` means "raised". Escalation rules may read other escalation rules;
they are evaluated layer by layer, and cycles are refused when the rules are loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from .compile import CompiledRule, CompiledRules, Decision
from .model.findings import Status
from .model.rules import Escalate, Role, SubjectKind, share_fraction
from .periods import Period
from .plan import Obligation, RosterIndex, clip_window, holders_by_person

Decided = tuple[Obligation, Decision]


def layers(compiled: CompiledRules) -> list[list[CompiledRule]]:
    """Escalation rules in dependency order: each layer reads only base rules and earlier layers."""
    pending = [r for r in compiled.rules if r.rule.escalate is not None]
    ids = {r.rule.id for r in pending}
    done: set[str] = set()
    out: list[list[CompiledRule]] = []
    while pending:
        ready = [r for r in pending if all(dep not in ids or dep in done for dep in _reads(r))]
        if not ready:  # a cycle: refused at load time, so this is a bug if it happens
            raise ValueError("escalation rules form a cycle: " + ", ".join(sorted(r.rule.id for r in pending)))
        out.append(ready)
        done |= {r.rule.id for r in ready}
        pending = [r for r in pending if r.rule.id not in done]
    return out


def _reads(rule: CompiledRule) -> list[str]:
    return rule.rule.escalate.rules if rule.rule.escalate is not None else []


def plan_escalations(
    rules: Sequence[CompiledRule],
    org_id: str,
    index: RosterIndex,
    period: Period,
    lower: Sequence[Decided],
    compiled: CompiledRules,
    max_evidence: int = 20,
) -> list[Obligation]:
    """The escalation obligations of one organisation, counted from its decided lower findings."""
    org = index.orgs[org_id]
    out: list[Obligation] = []
    for rule in rules:
        spec = rule.rule
        esc = spec.escalate
        assert esc is not None
        if not index.applies(rule, org.id, compiled.variants(spec.id)):
            continue
        if rule.retired_by is not None:
            out.append(Obligation(rule, org, "organisation", org.id, org.name, period, None, na="retired"))
            continue
        if org.kind not in spec.org_kinds:
            out.append(Obligation(rule, org, "organisation", org.id, org.name, period, None, na="kind_not_covered"))
            continue
        judged, why = clip_window(rule, period, None)
        read = [(ob, d) for ob, d in lower if ob.rule.rule.id in esc.rules]
        if spec.subject is SubjectKind.organisation:
            ob = Obligation(rule, org, "organisation", org.id, org.name, period, judged, na=why)
            _count(ob, esc, read, index, org.id, period, max_evidence)
            out.append(ob)
            continue
        by_subject: dict[str, list[Decided]] = {}
        for o, d in read:
            by_subject.setdefault(o.subject_id, []).append((o, d))
        for posts in holders_by_person(index.holders.get(org.id, []), spec.roles, period).values():
            person = posts[0].person
            ob = Obligation(
                rule, org, "person", person.id, person.name, period, judged, na=why, role=posts[-1].post.role.value
            )
            _count(ob, esc, by_subject.get(person.id, []), index, org.id, period, max_evidence)
            out.append(ob)
    return out


def _count(
    ob: Obligation,
    esc: Escalate,
    read: Sequence[Decided],
    index: RosterIndex,
    org: str,
    period: Period,
    max_evidence: int,
) -> None:
    wanted = {Status(s) for s in esc.status}
    ob.count, raised, hits = _raised(esc, read, wanted, index, org, period)
    ob.fact_n = 1 if raised else 0
    shown = list(hits)
    if esc.with_secretary:  # the secretary's own findings are part of why it was raised
        shown += [(o, d) for o, d in read if d.status in wanted and _role(o) == Role.secretary and (o, d) not in shown]
    ob.evidence = [_label(o) for o, _ in shown][:max_evidence] or None
    if not raised:
        # would an undeterminable lower finding, or a pending one, have raised it? then say so
        ob.doubt = _raised(esc, read, wanted | {Status.undeterminable}, index, org, period)[1]
        ob.open = _raised(esc, read, wanted | {Status.pending}, index, org, period)[1]


def _raised(
    esc: Escalate, read: Sequence[Decided], wanted: set[Status], index: RosterIndex, org: str, period: Period
) -> tuple[int, bool, list[Decided]]:
    """(count, raised, the lower findings counted) when findings with a status in `wanted` count."""
    roles = set(esc.roles)
    hits = [(o, d) for o, d in read if d.status in wanted and (not roles or _role(o) in roles)]
    keys: set[str]
    if esc.count == "portfolios":
        keys = {o.portfolio for o, _ in hits if o.portfolio}
    elif esc.count == "rules":
        keys = {o.rule.rule.id for o, _ in hits}
    elif esc.count == "people":
        keys = {o.subject_id for o, _ in hits if o.subject_kind in ("person", "portfolio", "pair")}
    else:
        keys = {str(i) for i in range(len(hits))}
    raised = len(keys) >= (esc.raise_at or 1)
    if esc.raise_share is not None:
        team = holders_by_person(index.holders.get(org, []), [Role(r) for r in roles] or list(Role), period)
        raised = bool(team) and Fraction(len(keys), len(team)) >= share_fraction(esc.raise_share)
    if esc.with_secretary:
        raised = raised and any(_role(o) == Role.secretary for o, d in read if d.status in wanted)
    return len(keys), raised, hits


_ROLES = {r.value: r for r in Role}


def _role(ob: Obligation) -> Role | None:
    return _ROLES.get(ob.role) if ob.role is not None else None


def _label(ob: Obligation) -> str:
    """How a lower finding is named in an escalation's evidence: rule, subject and period."""
    parts = [ob.rule.rule.id, ob.subject_id]
    if ob.second:
        parts.append(ob.second)
    if ob.portfolio:
        parts.append(ob.portfolio)
    parts.append(ob.period.label)
    return "/".join(parts)
