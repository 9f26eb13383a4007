"""Escalation: rules over findings. A team member who violated duties in two portfolio areas, or a
committee whose secretary and half of its team violated theirs, raises a higher-severity finding with
the lower findings as evidence.

The escalation is decided on durable_rules, by the rule's own decision table (``compile._lower_escalation``,
lowered from its ``escalate`` spec): each subject (the organisation, or a person) is one fact that carries
its lower findings summed up (:data:`rules_engine.compile.ESCALATION_FIELDS`): durable_rules has no
aggregates, and a fact may only be compared with constants (never with another fact, trap 1), so what is
counted is counted here: distinct findings, areas, rules or people with a counted status (and with pending
or undeterminable ones counted too), the secretary's findings among them, and for a ``raise_share`` how many
more people the share of the team needs. The engine compares these with the rule's thresholds and takes the
status (raised, pending, undeterminable, not raised; waived). Escalation rules may read other escalation
rules; they are evaluated layer by layer, and cycles are refused when the rules are loaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .compile import ESCALATION_FIELDS, CompiledRule, CompiledRules, Decision
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


Counts = tuple[int, ...]  # the values of compile.ESCALATION_FIELDS[3:] (k ... gapu), in that order
_NOTHING: Counts = (0,) * (len(ESCALATION_FIELDS) - 3)


def plan_escalations(
    rules: Sequence[CompiledRule],
    org_id: str,
    index: RosterIndex,
    period: Period,
    lower: Sequence[Decided],
    compiled: CompiledRules,
    max_evidence: int = 20,
) -> list[tuple[Obligation, Counts]]:
    """The escalation obligations of one organisation, each with its lower findings summed up."""
    org = index.orgs[org_id]
    out: list[tuple[Obligation, Counts]] = []
    for rule in rules:
        spec = rule.rule
        esc = spec.escalate
        assert esc is not None
        if not index.applies(rule, org.id, compiled.variants(spec.id)):
            continue
        if rule.retired_by is not None:
            out.append((Obligation(rule, org, "organisation", org.id, org.name, period, None, na="retired"), _NOTHING))
            continue
        if org.kind not in spec.org_kinds:
            ob = Obligation(rule, org, "organisation", org.id, org.name, period, None, na="kind_not_covered")
            out.append((ob, _NOTHING))
            continue
        judged, why = clip_window(rule, period, None)
        read = [(ob, d) for ob, d in lower if ob.rule.rule.id in esc.rules]
        if spec.subject is SubjectKind.organisation:
            ob = Obligation(rule, org, "organisation", org.id, org.name, period, judged, na=why)
            out.append((ob, _count(ob, esc, read, index, org.id, period, max_evidence)))
            continue
        by_subject: dict[str, list[Decided]] = {}
        for o, d in read:
            by_subject.setdefault(o.subject_id, []).append((o, d))
        for posts in holders_by_person(index.holders.get(org.id, []), spec.roles, period).values():
            person = posts[0].person
            ob = Obligation(
                rule, org, "person", person.id, person.name, period, judged, na=why, role=posts[-1].post.role.value
            )
            out.append((ob, _count(ob, esc, by_subject.get(person.id, []), index, org.id, period, max_evidence)))
    return out


def fact_row(ob: Obligation, counts: Counts) -> tuple[int, ...]:
    """The escalation's fact for the decide stage: (rule index, *compile.ESCALATION_FIELDS)."""
    return (
        ob.rule.index,
        1 if ob.na or ob.window is None else 0,
        1 if ob.unk else 0,
        1 if ob.waiver is not None and not ob.waiver_expired else 0,
        *counts,
    )


def _count(
    ob: Obligation,
    esc: Escalate,
    read: Sequence[Decided],
    index: RosterIndex,
    org: str,
    period: Period,
    max_evidence: int,
) -> Counts:
    """Sum up the lower findings (the finding's count and evidence on `ob`; the fact's fields returned)."""
    wanted = {Status(s) for s in esc.status}
    levels = [_tally(esc, read, statuses, index, org, period) for statuses in (wanted, wanted | {Status.pending})]
    levels.append(_tally(esc, read, wanted | {Status.undeterminable}, index, org, period))
    ob.count, hits = levels[0][0], levels[0][3]
    shown = list(hits)
    if esc.with_secretary:  # the secretary's own findings are part of why it was raised
        shown += [(o, d) for o, d in read if d.status in wanted and _role(o) == Role.secretary and (o, d) not in shown]
    ob.evidence = [_label(o) for o, _ in shown][:max_evidence] or None
    return (*(lv[0] for lv in levels), *(lv[1] for lv in levels), *(lv[2] for lv in levels))


def _tally(
    esc: Escalate, read: Sequence[Decided], wanted: set[Status], index: RosterIndex, org: str, period: Period
) -> tuple[int, int, int, list[Decided]]:
    """When findings with a status in `wanted` count: (the count, how many of the findings read are about a
    secretary, how many more people the share of the team needs (0: reached; 0 without a share), the
    lower findings counted)."""
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
    gap = 0
    if esc.raise_share is not None:
        team = len(holders_by_person(index.holders.get(org, []), [Role(r) for r in roles] or list(Role), period))
        # the fewest people that reach the share of the team: len(keys) / team >= share; never without a team
        need = math.ceil(share_fraction(esc.raise_share) * team) if team else len(keys) + 1
        gap = max(0, need - len(keys))
    secretary = sum(1 for o, d in read if d.status in wanted and _role(o) == Role.secretary)
    return len(keys), secretary, gap, hits


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
