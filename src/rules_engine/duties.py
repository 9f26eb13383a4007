"""Duty lists (责任清单): for each organisation and each person in post, every duty that applies in a period.

No records are needed. The list is the evaluation's own planning (:func:`rules_engine.plan.plan`)
run on the roster and the compiled rules, so it holds exactly the obligations :func:`rules_engine.evaluate`
would judge for the same period: each one with the rule, its clause, how often, the judged window (a
person's term of office clips it: a member who arrives in September gets only what applies from then on),
its last day (by when) and who shares it. Obligations that do not apply (not in force, too short in post,
retired by an overlay, a kind of organisation the rule does not cover) are counted, not listed. Rules that a
record starts (``trigger``) are listed once per organisation without a date: their windows come from
records. Escalation rules are consequences of other findings, not duties anyone fulfils: not listed.

Who shares a duty (``shared_with``): for an organisation's duty, the team members in post during its
window (the secretary first); for a portfolio duty, the other team members in charge of the same area
in the window; for a pair, the second person; for a person's own duty, nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import InputError, did_you_mean
from .findings import finding_dict
from .model.findings import Bilingual, Clause, DateRange, OrgRef, PersonRef, Rejection, Status, SubjectRef
from .model.roster import Roster
from .model.rules import SubjectKind
from .periods import Period, check_range, parse_period
from .pipeline import RosterInput, RulesInput, check_arguments, compiled_rules, roster_result
from .plan import Obligation, RosterIndex, plan
from .render.text import subject_label, table_lines
from .tally import MAX_EVIDENCE
from .texts import text

DUTIES_FORMAT = "rules-engine/duties/v1"


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Duty(_Out):
    """One duty of one subject: a rule applied to an organisation, a person, a portfolio area or a pair,
    for one window (a rule started by a record has no window: ``window`` and ``due`` are None)."""

    rule_id: str
    rule_title: Bilingual
    pack: str
    severity: str
    organisation: OrgRef
    subject: SubjectRef
    period: DateRange | None  # the rule's calendar window (e.g. 2024-H2)
    window: DateRange | None  # the part that applies to this subject (term of office, rule in force, deadline)
    due: str | None  # by when: the window's last day
    frequency: Bilingual  # how often, e.g. 每半年至少1次
    clause: Clause
    shared_with: list[PersonRef]
    note: Bilingual | None = None  # why the roster cannot say who bears it (no holder, no portfolio)


class DutyList(_Out):
    """The duty list of a roster for a period (what ``rules-engine duties --format json`` prints)."""

    format: str = DUTIES_FORMAT
    period: DateRange
    duties: list[Duty]
    not_applicable: int  # planned obligations that do not apply in the period (not listed)
    rejections: list[Rejection]  # roster rows that could not be used: the list may miss their duties

    def for_person(self, person: str) -> list[Duty]:
        """The duties a person bears: their own, their portfolio areas, and the pairs they are part of."""
        return [d for d in self.duties if _bears(d, person)]

    def for_organisation(self, org: str) -> list[Duty]:
        return [d for d in self.duties if d.organisation.id == org]


def duties(
    rules: RulesInput,
    roster: RosterInput,
    *,
    period: str | Period,
    org: str | None = None,
    person: str | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> DutyList:
    """Every duty that applies in `period`, for each organisation and each person in post.

    - `rules`, `roster`, `period`, `params`: as for :func:`rules_engine.evaluate` (no records).
    - `org`: only this organisation's duties (its own, and those of the people in post there).
    - `person`: only the duties this person bears (their own, their portfolio areas, their pairs).

    Unknown `org` or `person` ids raise :class:`InputError` with a did-you-mean.
    """
    check_arguments(roster, [], params, MAX_EVIDENCE, ())
    compiled = compiled_rules(rules, params)
    if not isinstance(period, (str, Period)):
        raise InputError.of("arg.period.type", type=type(period).__name__)
    the_period = parse_period(period) if isinstance(period, str) else check_range(period)
    result = roster_result(roster, compiled.ruleset.vocabulary)
    index = RosterIndex(result.roster, compiled.ruleset.vocabulary)
    _check_ids(result.roster, org, person)

    obligations = plan(compiled, index, the_period)
    listed: list[Duty] = []
    not_applicable = 0
    for ob in obligations:
        if ob.na or ob.window is None:
            not_applicable += 1
            continue
        listed.append(_duty(ob, index))
    listed.extend(_triggered(compiled, index, the_period))
    if org is not None:
        listed = [d for d in listed if d.organisation.id == org]
    if person is not None:
        listed = [d for d in listed if _bears(d, person)]
    listed.sort(key=_order)
    rejections = [Rejection.model_validate(r.to_rejection()) for r in result.rejected]
    return DutyList(
        period=DateRange(**the_period.to_dict()),
        duties=listed,
        not_applicable=not_applicable,
        rejections=rejections,
    )


def _check_ids(roster: Roster, org: str | None, person: str | None) -> None:
    if org is not None:
        orgs = [o.id for o in roster.organisations]
        if org not in orgs:
            raise InputError.of("arg.org.unknown", org=org, hint=did_you_mean(org, orgs))
    if person is not None:
        people = [p.id for p in roster.people]
        if person not in people:
            raise InputError.of("arg.person.unknown", person=person, hint=did_you_mean(person, people))


def _bears(duty: Duty, person: str) -> bool:
    s = duty.subject
    if s.kind in ("person", "portfolio", "pair") and s.id == person:
        return True
    return s.second is not None and s.second.id == person


def _duty(ob: Obligation, index: RosterIndex) -> Duty:
    """The duty of a planned obligation, with the very fields its finding would carry."""
    data = finding_dict(ob, Status.pending)
    assert ob.window is not None
    note = None
    if ob.unk:
        zh, en = text(f"duty.{ob.unk}")
        note = Bilingual(zh=zh, en=en)
    return Duty(
        rule_id=data["rule_id"],
        rule_title=data["rule_title"],
        pack=data["pack"],
        severity=data["severity"],
        organisation=data["organisation"],
        subject=data["subject"],
        period=data["period"],
        window=data["window"],
        due=ob.window.end.isoformat(),
        frequency=data["expected"],
        clause=data["clause"],
        shared_with=_shared(ob, index),
        note=note,
    )


def _shared(ob: Obligation, index: RosterIndex) -> list[PersonRef]:
    window = ob.window
    assert window is not None
    if ob.subject_kind == "pair":
        return [PersonRef(id=ob.second or "", name=ob.second_name or "", role=ob.second_role)]
    if ob.subject_kind not in ("organisation", "portfolio"):
        return []
    out: dict[str, PersonRef] = {}
    holders = [h for h in index.holders.get(ob.org.id, []) if h.post.overlaps(window.start, window.end)]
    holders.sort(key=lambda h: (h.post.role not in index.heads, h.post.start, h.person.id))
    for h in holders:
        if ob.subject_kind == "portfolio" and (h.person.id == ob.subject_id or ob.portfolio not in h.post.portfolios):
            continue
        out.setdefault(h.person.id, PersonRef(id=h.person.id, name=h.person.name, role=h.post.role))
    return list(out.values())


def _triggered(compiled: Any, index: RosterIndex, period: Period) -> list[Duty]:
    """Rules a record starts: one entry per organisation they govern, without a window."""
    out: list[Duty] = []
    for org in index.orgs.values():
        for rule in compiled.rules:
            spec = rule.rule
            if spec.subject is not SubjectKind.trigger or spec.escalate is not None or rule.retired_by is not None:
                continue
            if org.kind not in spec.org_kinds or not index.applies(rule, org.id, compiled.variants(spec.id)):
                continue
            eff = rule.effective
            if eff.from_ > period.end or (eff.to is not None and eff.to < period.start):
                continue
            ob = Obligation(rule, org, "record", "", "", period, period)
            data = finding_dict(ob, Status.pending)
            trigger = spec.trigger
            what = "、".join(trigger.types) if trigger is not None else ""
            out.append(
                Duty(
                    rule_id=data["rule_id"],
                    rule_title=data["rule_title"],
                    pack=data["pack"],
                    severity=data["severity"],
                    organisation=data["organisation"],
                    subject=SubjectRef(kind="record", id="", name=""),
                    period=None,
                    window=None,
                    due=None,
                    frequency=data["expected"],
                    clause=data["clause"],
                    shared_with=[],
                    note=Bilingual.of("note.duty.triggered", what=what),
                )
            )
    return out


_KIND_RANK = {"organisation": 0, "person": 1, "portfolio": 1, "pair": 1, "role": 1, "record": 2}


def _order(d: Duty) -> tuple[str, int, str, str, str, str, str, str]:
    s = d.subject
    return (
        d.organisation.id,
        _KIND_RANK.get(s.kind, 3),
        s.id,
        d.due or "9999",
        d.rule_id,
        s.second.id if s.second else "",
        s.portfolio or "",
        d.window.start.isoformat() if d.window else "",
    )


def render_duties_table(result: DutyList) -> str:
    """The duty list as a terminal table, one block per organisation (Chinese first; wide characters
    aligned)."""
    p = result.period
    lines = [f"责任清单 duty list: 期间 period {p.label} ({p.start}..{p.end})"]
    header = [
        "责任主体 subject",
        "规则 rule",
        "条款 clause",
        "频次 how often",
        "期间 window",
        "截止 due",
        "共同责任人 shared with",
    ]
    by_org: dict[str, list[Duty]] = {}
    names: dict[str, str] = {}
    for d in result.duties:
        by_org.setdefault(d.organisation.id, []).append(d)
        names[d.organisation.id] = d.organisation.name
    for org_id, listed in by_org.items():
        lines += ["", f"== {names[org_id]}（{org_id}）"]
        rows = [header]
        for d in listed:
            s = d.subject
            window = "-" if d.window is None else f"{d.window.start}..{d.window.end}"
            when = d.due or (d.note.zh if d.note else "-")
            shared = "、".join(f"{x.name}（{x.id}）" for x in d.shared_with) or "-"
            if d.note is not None and d.due is not None:
                shared = f"{shared}（{d.note.zh}）"
            rows.append(
                [
                    subject_label(s.kind, s.name, s.id, s.portfolio, s.second),
                    f"{d.rule_id} {d.rule_title.zh}",
                    d.clause.label,
                    d.frequency.zh,
                    window,
                    when,
                    shared,
                ]
            )
        lines += ["  " + line for line in table_lines(rows)]
    lines.append("")
    lines.append(
        f"合计 total: {len(result.duties)} 项责任 duties；"
        f"{result.not_applicable} 项不适用未列出 not applicable, not listed"
    )
    for r in result.rejections:
        lines.append(f"  名册拒收 roster row rejected {r.as_problem()}")
    return "\n".join(lines) + "\n"
