"""三实三弱 diagnostics: fulfilment rates, with counts and Wilson intervals, for three pairs of groups, the gap
between each pair, where it is widest, and (against an earlier report) how each gap changed.

- 上面实、下面弱 **levels**: organisations by depth in the roster's tree (a root is depth 0); upper are
  those above `split_depth` (default 1: the roots), lower the rest. Per organisation: its own findings
  against those of every organisation below it.
- 地方实、部门弱 **localities vs departments**: organisation kinds mapped to the two groups by a small
  declared table (:func:`~rules_engine.model.scoring.default_groups`), which a scoring file's ``groups``
  or `groups` here override. Per organisation: the localities against the departments in its subtree.
- 书记实、班子成员弱 **secretaries vs other members**: the duties people bear (person, portfolio area,
  pairs they lead) by the bearer's role. Per organisation: its secretary against its other members.

A rate is ``fulfilled / (fulfilled + violated)``. ``pending`` (window not over), ``undeterminable``
(cannot be judged), ``waived`` and ``not_applicable`` are not in the denominator; their counts are shown
with each rate. Escalation findings (rules without a minimum count, ``params.at_least``) are consequences
of other findings, not duties, and are counted apart, as are findings that fall in neither group of a pair
(an organisation missing from the roster, a kind in neither group, an organisation's own duty for the
roles pair). The gap is ``first − second`` (positive: the 三实三弱 pattern holds), with Newcombe's hybrid
score interval for a difference of proportions (method 10 of Newcombe 1998, built on the Wilson
intervals).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from .errors import InputError, did_you_mean
from .guard import shown
from .model.findings import Bilingual, Finding, Report, Status
from .model.roster import Roster
from .model.scoring import Group, Scoring, default_groups
from .model.vocab import Miss, standard
from .render.text import table_lines

if TYPE_CHECKING:
    from .load.inputs import RosterResult

DIAGNOSE_FORMAT = "rules-engine/diagnose/v1"
PERSON_KINDS = ("person", "portfolio", "pair")
EXCLUDED = ("pending", "undeterminable", "waived", "not_applicable")


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion `successes`/`n` (None when `n` is 0)."""
    _check_counts(successes, n)
    if n == 0:
        return None
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(s1: int, n1: int, s2: int, n2: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval for ``s1/n1 − s2/n2`` (None when either `n` is 0)."""
    first, second = wilson(s1, n1, confidence), wilson(s2, n2, confidence)
    if first is None or second is None:
        return None
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = first
    l2, u2 = second
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _z(confidence: float) -> float:
    if not (isinstance(confidence, (int, float)) and not isinstance(confidence, bool) and 0 < confidence < 1):
        raise InputError.of("arg.confidence.out_of_range", value=shown(confidence))
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _check_counts(successes: int, n: int) -> None:
    if not (0 <= successes <= n):
        raise InputError.of("arg.counts.invalid", successes=successes, n=n)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Rate(_Out):
    """A fulfilment rate: fulfilled of fulfilled + violated, its Wilson interval, and what was left out."""

    fulfilled: int
    violated: int
    n: int  # fulfilled + violated: the denominator
    rate: float | None  # None when n is 0
    low: float | None
    high: float | None
    excluded: dict[str, int]  # pending, undeterminable, waived, not_applicable: not in the denominator


class OrgGap(_Out):
    """A pair's gap inside one organisation (or its subtree)."""

    organisation: str
    name: str
    kind: str
    first: Rate
    second: Rate
    gap: float | None


class Gap(_Out):
    """One pair of groups: both rates, the gap with its interval, where it is widest, and its change."""

    pair: str  # levels | localities | roles
    title: Bilingual
    first_label: Bilingual
    second_label: Bilingual
    first: Rate
    second: Rate
    gap: float | None  # first.rate - second.rate
    low: float | None  # Newcombe interval of the gap
    high: float | None
    widest: OrgGap | None  # the organisation where the gap is widest
    by_organisation: list[OrgGap]  # widest first
    previous: float | None = None  # the gap in the report compared against
    change: float | None = None  # gap - previous


class Level(_Out):
    depth: int
    organisations: list[str]
    rate: Rate


class Compared(_Out):
    period: str
    as_of: str


class Diagnosis(_Out):
    """What ``rules-engine diagnose --format json`` prints."""

    format: str = DIAGNOSE_FORMAT
    period: str
    as_of: str
    confidence: float
    split_depth: int
    groups: dict[str, str]  # organisation kind -> locality | department
    levels: list[Level]
    gaps: list[Gap]
    apart: dict[str, int]  # findings counted in no rate, by reason
    compared_with: Compared | None
    incomplete: list[Bilingual]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def gap(self, pair: str) -> Gap:
        return next(g for g in self.gaps if g.pair == pair)

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per pair (for tables and spreadsheets)."""
        out = []
        for g in self.gaps:
            row: dict[str, Any] = {"pair": g.pair, "title": g.title.zh}
            for side, rate in (("first", g.first), ("second", g.second)):
                row.update(
                    {
                        f"{side}": (g.first_label if side == "first" else g.second_label).zh,
                        f"{side}_fulfilled": rate.fulfilled,
                        f"{side}_n": rate.n,
                        f"{side}_rate": rate.rate,
                        f"{side}_low": rate.low,
                        f"{side}_high": rate.high,
                    }
                )
            row.update(
                {
                    "gap": g.gap,
                    "gap_low": g.low,
                    "gap_high": g.high,
                    "widest": g.widest.organisation if g.widest else None,
                    "widest_gap": g.widest.gap if g.widest else None,
                    "previous": g.previous,
                    "change": g.change,
                }
            )
            out.append(row)
        return out


@dataclass
class _Tally:
    fulfilled: int = 0
    violated: int = 0
    excluded: dict[str, int] = field(default_factory=dict)

    def add(self, f: Finding) -> None:
        if f.status is Status.fulfilled:
            self.fulfilled += 1
        elif f.status is Status.violated:
            self.violated += 1
        else:
            self.excluded[f.status.value] = self.excluded.get(f.status.value, 0) + 1

    @property
    def total(self) -> int:
        """Every finding counted (in a rate's denominator or not)."""
        return self.fulfilled + self.violated + sum(self.excluded.values())

    def exact(self) -> Fraction | None:
        n = self.fulfilled + self.violated
        return Fraction(self.fulfilled, n) if n else None

    def rate(self, confidence: float) -> Rate:
        n = self.fulfilled + self.violated
        interval = wilson(self.fulfilled, n, confidence)
        exact = self.exact()
        return Rate(
            fulfilled=self.fulfilled,
            violated=self.violated,
            n=n,
            rate=None if exact is None else _r(exact),
            low=None if interval is None else round(interval[0], 4),
            high=None if interval is None else round(interval[1], 4),
            excluded={s: self.excluded.get(s, 0) for s in EXCLUDED},
        )


def _r(value: Fraction | float) -> float:
    return round(float(value), 4)


def _sum(tallies: Iterable[_Tally]) -> _Tally:
    """The tallies added up."""
    out = _Tally()
    for t in tallies:
        out.fulfilled += t.fulfilled
        out.violated += t.violated
        for status, n in t.excluded.items():
            out.excluded[status] = out.excluded.get(status, 0) + n
    return out


def is_duty(f: Finding) -> bool:
    """Whether a finding judges a duty (its rule counts towards a minimum), not an escalation's consequence."""
    return "at_least" in f.params


PAIRS: dict[str, tuple[Bilingual, Bilingual, Bilingual]] = {
    "levels": (
        Bilingual.of("label.levels"),
        Bilingual.of("label.levels.upper"),
        Bilingual.of("label.levels.lower"),
    ),
    "localities": (
        Bilingual.of("label.localities"),
        Bilingual.of("label.localities.locality"),
        Bilingual.of("label.localities.department"),
    ),
    "roles": (
        Bilingual.of("label.roles"),
        Bilingual.of("label.roles.secretary"),
        Bilingual.of("label.roles.other"),
    ),
}


def group_table(groups: Mapping[str, str] | None = None, scoring: Scoring | None = None) -> dict[str, Group]:
    """Organisation kinds to localities and departments: the scoring file's table (else the declared one),
    then `groups` (kind → ``locality``, ``department`` or ``none``; Chinese or English kind words)."""
    table: dict[str, Group] = scoring.group_table() if scoring is not None else default_groups()
    for word, group in (groups or {}).items():
        vocabulary = standard()
        found = vocabulary.lookup("kind", word) if isinstance(word, str) else None
        if found is None or isinstance(found, Miss):
            known = list(vocabulary.terms["kind"])
            raise InputError.of("arg.groups.unknown_kind", word=shown(word), hint=did_you_mean(str(word), known))
        kind = found
        if group == "none":
            table.pop(kind, None)
        elif group in ("locality", "department"):
            table[kind] = "locality" if group == "locality" else "department"
        else:
            raise InputError.of("arg.groups.unknown_group", group=shown(group), kind=kind)
    return dict(sorted(table.items()))


def _roster(roster: Roster | RosterResult | str | Path) -> tuple[Roster, int]:
    """The roster, and how many of its rows were rejected."""
    if isinstance(roster, Roster):
        return roster, 0
    from .load.inputs import RosterResult, read_roster

    if isinstance(roster, RosterResult):
        return roster.roster, len(roster.rejected)
    result = read_roster(roster)
    return result.roster, len(result.rejected)


def _depths(roster: Roster) -> dict[str, int]:
    """Each organisation's depth in the tree (a root, or an organisation whose parent is not in the roster,
    is 0; a cycle of parents is cut where it closes)."""
    parent = {o.id: o.parent for o in roster.organisations}
    out = {}
    for org in parent:
        depth, seen, current = 0, {org}, parent[org]
        while current is not None and current in parent and current not in seen:
            seen.add(current)
            depth += 1
            current = parent[current]
        out[org] = depth
    return out


def _below(roster: Roster) -> dict[str, set[str]]:
    """Each organisation's descendants (itself not included)."""
    parent = {o.id: o.parent for o in roster.organisations}
    out: dict[str, set[str]] = {o: set() for o in parent}
    for org in parent:
        seen, current = {org}, parent[org]
        while current is not None and current in parent and current not in seen:
            out[current].add(org)
            seen.add(current)
            current = parent[current]
    return out


@dataclass
class _Exact:
    gaps: dict[str, Fraction | None]


def diagnose(
    report: Report,
    roster: Roster | RosterResult | str | Path,
    *,
    compare: Report | None = None,
    groups: Mapping[str, str] | None = None,
    scoring: Scoring | None = None,
    split_depth: int = 1,
    confidence: float = 0.95,
) -> Diagnosis:
    """三实三弱 diagnostics of `report` against `roster` (a :class:`Roster`, a roster file, or what
    :func:`~rules_engine.read_roster` returned: the roster and its rejected rows, read once for the evaluation
    and the diagnosis); with
    `compare` (an earlier report, diagnosed the same way), the change of each gap."""
    if type(split_depth) is not int or split_depth < 1:
        raise InputError.of("arg.split_depth.invalid", value=shown(split_depth))
    _z(confidence)
    tree, rejected = _roster(roster)
    table = group_table(groups, scoring)
    result, exact = _diagnose(report, tree, rejected, table, split_depth, confidence)
    if compare is None:
        return result
    old, old_exact = _diagnose(compare, tree, rejected, table, split_depth, confidence)
    gaps = []
    for g in result.gaps:
        new, before = exact.gaps[g.pair], old_exact.gaps[g.pair]
        change = None if new is None or before is None else _r(new - before)
        gaps.append(g.model_copy(update={"previous": old.gap(g.pair).gap, "change": change}))
    compared = Compared(period=old.period, as_of=old.as_of)
    return result.model_copy(update={"gaps": gaps, "compared_with": compared})


def _diagnose(
    report: Report, roster: Roster, rejected: int, table: Mapping[str, Group], split: int, confidence: float
) -> tuple[Diagnosis, _Exact]:
    orgs = {o.id: o for o in roster.organisations}
    depths = _depths(roster)
    below = _below(roster)
    apart: dict[str, int] = {"escalation": 0, "not_in_roster": 0, "kind_in_no_group": 0, "organisation_duty": 0}
    # one pass over the findings: the duties counted per organisation (and its kind on the finding), and
    # the duties people bear per organisation, secretaries apart; every rate below adds these counts up
    own: dict[str, dict[str, _Tally]] = {}  # organisation -> kind -> its duties
    secretary: dict[str, _Tally] = {}
    member: dict[str, _Tally] = {}
    heads = standard().heads  # (the secretary: the role the vocabulary flags head)
    for f in report.findings:
        if not is_duty(f):
            apart["escalation"] += 1
            continue
        org_id = f.organisation.id
        if org_id not in orgs:
            apart["not_in_roster"] += 1
            continue
        kinds = own.get(org_id)
        if kinds is None:
            kinds = own[org_id] = {}
        tally = kinds.get(f.organisation.kind)
        if tally is None:
            tally = kinds[f.organisation.kind] = _Tally()
        tally.add(f)
        if f.subject.kind in PERSON_KINDS:
            side = secretary if f.subject.role in heads else member
            tally = side.get(org_id)
            if tally is None:
                tally = side[org_id] = _Tally()
            tally.add(f)
        else:
            apart["organisation_duty"] += 1
    empty = _Tally()

    def duties_of(org_ids: Iterable[str], group: Group | None = None, any_group: bool = True) -> _Tally:
        """The duties of `org_ids` (of the organisations whose kind is in `group`, unless `any_group`)."""
        return _sum(t for o in org_ids for kind, t in own.get(o, {}).items() if any_group or table.get(kind) == group)

    # levels
    level_rows = []
    for depth in sorted(set(depths.values())):
        members = sorted(o for o, d in depths.items() if d == depth)
        level_rows.append(Level(depth=depth, organisations=members, rate=duties_of(members).rate(confidence)))
    upper = duties_of(o for o in own if depths[o] < split)
    lower = duties_of(o for o in own if depths[o] >= split)
    per_org_levels = []
    for org_id in sorted(orgs):
        if not below[org_id]:
            continue
        per_org_levels.append(_org_gap(orgs[org_id], duties_of([org_id]), duties_of(below[org_id]), confidence))

    # localities and departments
    apart["kind_in_no_group"] = sum(t.total for kinds in own.values() for k, t in kinds.items() if k not in table)
    local = duties_of(own, "locality", False)
    dept = duties_of(own, "department", False)
    per_org_groups = []
    for org_id in sorted(orgs):
        subtree = {org_id} | below[org_id]
        a = duties_of(subtree, "locality", False)
        b = duties_of(subtree, "department", False)
        if a.total and b.total:
            per_org_groups.append(_org_gap(orgs[org_id], a, b, confidence))

    # secretaries and other members
    secretaries, others = _sum(secretary.values()), _sum(member.values())
    per_org_roles = []
    for org_id in sorted(orgs):
        a, b = secretary.get(org_id, empty), member.get(org_id, empty)
        if a.total or b.total:
            per_org_roles.append(_org_gap(orgs[org_id], a, b, confidence))

    gaps = []
    exact: dict[str, Fraction | None] = {}
    for pair, first, second, per_org in (
        ("levels", upper, lower, per_org_levels),
        ("localities", local, dept, per_org_groups),
        ("roles", secretaries, others, per_org_roles),
    ):
        gap, exact[pair] = _gap(pair, first, second, per_org, confidence)
        gaps.append(gap)

    incomplete = []
    undeterminable = report.summary.get("undeterminable", 0)
    if undeterminable:
        incomplete.append(Bilingual.of("note.diagnosis.undeterminable", count=undeterminable))
    if report.input.rejections:
        n = len(report.input.rejections)
        incomplete.append(Bilingual.of("note.diagnosis.rejected_rows", count=n))
    if rejected:
        incomplete.append(Bilingual.of("note.diagnosis.rejected_roster_rows", count=rejected))
    if apart["not_in_roster"]:
        missing = sorted({f.organisation.id for f in report.findings if f.organisation.id not in orgs})
        incomplete.append(
            Bilingual.of("note.diagnosis.not_in_roster", count=apart["not_in_roster"], orgs=", ".join(missing))
        )
    period = report.period.label or f"{report.period.start}..{report.period.end}"
    result = Diagnosis(
        period=period,
        as_of=report.as_of.isoformat(),
        confidence=confidence,
        split_depth=split,
        groups=dict(table),
        levels=level_rows,
        gaps=gaps,
        apart=apart,
        compared_with=None,
        incomplete=incomplete,
    )
    return result, _Exact(exact)


def _org_gap(org: Any, a: _Tally, b: _Tally, confidence: float) -> OrgGap:
    ea, eb = a.exact(), b.exact()
    return OrgGap(
        organisation=org.id,
        name=org.name,
        kind=org.kind,
        first=a.rate(confidence),
        second=b.rate(confidence),
        gap=None if ea is None or eb is None else _r(ea - eb),
    )


def _gap(pair: str, a: _Tally, b: _Tally, per_org: list[OrgGap], confidence: float) -> tuple[Gap, Fraction | None]:
    ea, eb = a.exact(), b.exact()
    exact = None if ea is None or eb is None else ea - eb
    interval = newcombe(a.fulfilled, a.fulfilled + a.violated, b.fulfilled, b.fulfilled + b.violated, confidence)
    ordered = sorted(per_org, key=lambda g: (g.gap is None, -(g.gap or 0.0), g.organisation))
    title, first_label, second_label = PAIRS[pair]
    gap = Gap(
        pair=pair,
        title=title,
        first_label=first_label,
        second_label=second_label,
        first=a.rate(confidence),
        second=b.rate(confidence),
        gap=None if exact is None else _r(exact),
        low=None if interval is None else round(interval[0], 4),
        high=None if interval is None else round(interval[1], 4),
        widest=next((g for g in ordered if g.gap is not None), None),
        by_organisation=ordered,
    )
    return gap, exact


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _signed(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value * 100:+.1f}{unit}"


def _rate_cell(rate: Rate) -> str:
    if rate.rate is None:
        return "- (0/0)"
    return f"{_pct(rate.rate)} ({rate.fulfilled}/{rate.n}) [{_pct(rate.low)}, {_pct(rate.high)}]"


def _left_out(rate: Rate) -> str:
    zh = {"pending": "未到期", "undeterminable": "无法判定", "waived": "豁免", "not_applicable": "不适用"}
    parts = [f"{zh[s]} {s} {n}" for s, n in rate.excluded.items() if n]
    return ", ".join(parts) or "-"


def render_diagnosis_table(result: Diagnosis) -> str:
    """The diagnostics as terminal tables (Chinese first; wide characters aligned)."""
    level = round(result.confidence * 100)
    lines = [
        f"三实三弱诊断 diagnostics: 期间 period {result.period}，评价日期 as of {result.as_of}"
        + (
            f"；对比 compared with {result.compared_with.period}（{result.compared_with.as_of}）"
            if result.compared_with
            else ""
        ),
        f"履行率 = 已履行 / (已履行 + 未履行)，{level}% Wilson 区间；差距 = 前者 − 后者（百分点），Newcombe 区间"
        f" / rate = fulfilled / (fulfilled + violated), {level}% Wilson interval; gap = first − second"
        " (percentage points), Newcombe interval",
    ]
    for note in result.incomplete:
        lines.append(f"不完整 incomplete: {note.zh} / {note.en}")
    header = ["问题 pattern", "组 group", "履行率 rate (n) [interval]", "未计入 not counted"]
    rows = [header]
    for g in result.gaps:
        rows.append(
            [
                f"{g.title.zh} {g.pair}",
                f"{g.first_label.zh} {g.first_label.en}",
                _rate_cell(g.first),
                _left_out(g.first),
            ]
        )
        rows.append(["", f"{g.second_label.zh} {g.second_label.en}", _rate_cell(g.second), _left_out(g.second)])
    lines += ["", *table_lines(rows)]
    rows = [["问题 pattern", "差距 gap (pp)", "区间 interval", "最大处 widest in", "该处差距 there"]]
    if result.compared_with:
        rows[0] += ["上次 before", "变化 change"]
    for g in result.gaps:
        row = [
            g.title.zh,
            _signed(g.gap),
            "-" if g.low is None else f"[{_signed(g.low)}, {_signed(g.high)}]",
            f"{g.widest.name}（{g.widest.organisation}）" if g.widest else "-",
            _signed(g.widest.gap) if g.widest else "-",
        ]
        if result.compared_with:
            row += [_signed(g.previous), _signed(g.change)]
        rows.append(row)
    lines += ["", *table_lines(rows)]
    rows = [["层级 depth", "组织 organisations", "履行率 rate (n) [interval]", "未计入 not counted"]]
    for lv in result.levels:
        rows.append([str(lv.depth), str(len(lv.organisations)), _rate_cell(lv.rate), _left_out(lv.rate)])
    lines += ["", *table_lines(rows)]
    for g in result.gaps:
        if not g.by_organisation:
            continue
        lines += ["", f"{g.title.zh} / {g.title.en}：按组织 by organisation（差距大者在前 widest first）"]
        rows = [
            [
                "组织 organisation",
                f"{g.first_label.zh} {g.first_label.en}",
                f"{g.second_label.zh} {g.second_label.en}",
                "差距 gap",
            ]
        ]
        for o in g.by_organisation:
            rows.append([f"{o.name}（{o.organisation}）", _rate_cell(o.first), _rate_cell(o.second), _signed(o.gap)])
        lines += table_lines(rows)
    apart = {k: v for k, v in result.apart.items() if v}
    if apart:
        zh = {
            "escalation": "升级结论（不是责任）",
            "not_in_roster": "组织不在名册",
            "kind_in_no_group": "组织类型不属地方或部门（仅不计入地方/部门）",
            "organisation_duty": "组织自身的责任（仅不计入书记/成员）",
        }
        lines += ["", "另计 counted apart: " + "; ".join(f"{zh[k]} {k} {v}" for k, v in apart.items())]
    return "\n".join(lines) + "\n"
