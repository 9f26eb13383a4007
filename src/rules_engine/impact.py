"""The impact of a rule change: evaluate the old and the new rules (or parameters) on the same inputs, and
list the findings that flip, grouped by rule and organisation.

A finding flips when its status differs between the two sides, or when it is on one side only (a rule
added or removed, a window or subject that the change adds or drops). Findings are paired by their stable
identity (rule, subject, organisation, window: :mod:`rules_engine.identity`); a change of count or wording
alone is not a flip.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .evaluate import RecordsInput, RosterInput, RulesInput, evaluate
from .identity import detail, identity
from .load.waivers import LoadedWaiver
from .model.findings import Finding, Report

__all__ = ["Flip", "Impact", "Side", "impact", "render_impact_table"]


@dataclass(frozen=True)
class Side:
    """A finding on one side: its status and count."""

    status: str
    count: int
    message: str

    @classmethod
    def of(cls, f: Finding) -> Side:
        return cls(f.status.value, f.count, f.message.zh)


@dataclass(frozen=True)
class Flip:
    """A finding whose status differs between the old and new rules; ``None``: not on that side."""

    rule_id: str
    organisation_id: str
    organisation_name: str
    subject_kind: str
    subject_id: str
    subject_detail: str
    subject_name: str
    window: str
    window_start: str
    window_end: str
    old: Side | None
    new: Side | None
    identity: str

    @property
    def transition(self) -> str:
        return f"{self.old.status if self.old else 'absent'} -> {self.new.status if self.new else 'absent'}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "transition": self.transition}


@dataclass(frozen=True)
class Impact:
    """What a rule change does to the findings of one evaluation (period, as of, inputs)."""

    period: str
    as_of: str
    old_summary: dict[str, int]
    new_summary: dict[str, int]
    old_packs: list[str]
    new_packs: list[str]
    flips: list[Flip] = field(default_factory=list)

    def by_rule(self) -> dict[str, dict[str, int]]:
        """Flips per rule, then per organisation (rule and organisation ids in order)."""
        out: dict[str, dict[str, int]] = {}
        for f in self.flips:
            per_org = out.setdefault(f.rule_id, {})
            per_org[f.organisation_id] = per_org.get(f.organisation_id, 0) + 1
        return out

    def transitions(self) -> dict[str, int]:
        """How many flips of each kind, e.g. ``{"fulfilled -> violated": 5}``."""
        return dict(sorted(Counter(f.transition for f in self.flips).items()))

    def organisations(self) -> list[str]:
        """The organisations with at least one flip."""
        return sorted({f.organisation_id for f in self.flips})

    def exit_code(self, allow: bool = False) -> int:
        """1 when any finding flips (unless `allow`), else 0."""
        return 1 if self.flips and not allow else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "as_of": self.as_of,
            "old": {"packs": self.old_packs, "summary": self.old_summary},
            "new": {"packs": self.new_packs, "summary": self.new_summary},
            "total": len(self.flips),
            "transitions": self.transitions(),
            "by_rule": {
                rule: {"total": sum(orgs.values()), "organisations": orgs} for rule, orgs in self.by_rule().items()
            },
            "flips": [f.to_dict() for f in self.flips],
        }


def impact(
    old: RulesInput,
    new: RulesInput,
    roster: RosterInput,
    records: RecordsInput,
    *,
    period: str,
    as_of: dt.date | str | None = None,
    params_old: Mapping[str, Mapping[str, Any]] | None = None,
    params_new: Mapping[str, Mapping[str, Any]] | None = None,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver] = (),
) -> Impact:
    """Evaluate `old` and `new` rules (each as :func:`rules_engine.evaluate` takes them, with its own
    parameter overrides) on the same roster, records, waivers, period and evaluation date, and return the
    findings that flip. `as_of` defaults to today, taken once for both sides. Records given as an iterator
    are read once and kept for both sides."""
    day = as_of if as_of is not None else dt.date.today()
    if isinstance(records, Iterator):
        records = list(records)
    common: dict[str, Any] = {"period": period, "as_of": day, "waivers": waivers}
    before = evaluate(old, roster, records, params=params_old, **common)
    after = evaluate(new, roster, records, params=params_new, **common)
    return compare(before, after)


def compare(before: Report, after: Report) -> Impact:
    """The findings that flip from report `before` to report `after` (each holding every finding)."""
    old = {identity(f): f for f in before.findings}
    new = {identity(f): f for f in after.findings}
    flips: list[Flip] = []
    for key in old.keys() | new.keys():
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and a.status == b.status:
            continue
        one = b if b is not None else a
        assert one is not None
        flips.append(
            Flip(
                rule_id=one.rule_id,
                organisation_id=one.organisation.id,
                organisation_name=one.organisation.name,
                subject_kind=one.subject.kind,
                subject_id=one.subject.id,
                subject_detail=detail(one),
                subject_name=one.subject.name,
                window=one.window.label,
                window_start=one.window.start.isoformat(),
                window_end=one.window.end.isoformat(),
                old=None if a is None else Side.of(a),
                new=None if b is None else Side.of(b),
                identity=key,
            )
        )
    flips.sort(key=lambda f: (f.rule_id, f.organisation_id, f.subject_id, f.subject_detail, f.window_start))
    return Impact(
        period=after.receipt.period,
        as_of=after.as_of.isoformat(),
        old_summary=dict(before.summary),
        new_summary=dict(after.summary),
        old_packs=[f"{p['id']}@{p.get('version', '')}" for p in before.receipt.packs],
        new_packs=[f"{p['id']}@{p.get('version', '')}" for p in after.receipt.packs],
        flips=flips,
    )


def _side(s: Side | None) -> str:
    return "—" if s is None else f"{s.status}({s.count})"


def render_impact_table(result: Impact) -> str:
    """The flips as text: counts, then per rule and organisation each finding, old -> new."""
    lines = [
        f"规则变更影响 impact of the rule change: period {result.period}, as of {result.as_of}",
        f"  旧 old: {', '.join(result.old_packs)}",
        f"  新 new: {', '.join(result.new_packs)}",
        f"结论翻转 findings that flip: {len(result.flips)}"
        + (f"  ({', '.join(f'{k}: {v}' for k, v in result.transitions().items())})" if result.flips else ""),
    ]
    grouped: dict[tuple[str, str], list[Flip]] = {}
    for f in result.flips:
        grouped.setdefault((f.rule_id, f.organisation_id), []).append(f)
    for rule, orgs in result.by_rule().items():
        lines.append(f"{rule}: {sum(orgs.values())}")
        for org, n in orgs.items():
            items = grouped[(rule, org)]
            lines.append(f"  {items[0].organisation_name} [{org}]: {n}")
            for f in items:
                subject = f.subject_name + (f" ({f.subject_detail})" if f.subject_detail else "") + f" [{f.subject_id}]"
                lines.append(f"    {subject}  {f.window}  {_side(f.old)} -> {_side(f.new)}")
    if not result.flips:
        lines.append("（无 none）")
    return "\n".join(lines) + "\n"
