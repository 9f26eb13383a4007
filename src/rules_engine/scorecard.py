"""Scorecards (考核评分): a score per organisation and per person from a report's findings and a scoring
file, with the breakdown that produced it and a ranking within each organisation kind.

Built on a report only (the public :class:`~rules_engine.Report`). The score of an organisation counts
every finding of the organisation (its own duties and its members'); the score of a person counts the
findings they bear in that organisation (person, portfolio area, and pairs they lead), so a person who
served in two organisations has a score in each. For each rule, the findings' weights add up to the
points possible (at most the rule's cap, earned points scaled alike); the score is
``100 × earned / possible``, or none when nothing is scored. ``undeterminable`` findings are counted apart
and make the score incomplete; ``waived`` and ``not_applicable`` are neutral; ``pending`` is neutral
unless the scoring file gives it a credit. Organisations are ranked within their kind, people within
their organisation kind and role; equal scores share a rank (1, 2, 2, 4).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from .errors import InputError, Location, Problem, RulesError, did_you_mean
from .model.findings import Bilingual, Finding, Report, Status
from .model.scoring import Scoring
from .model.vocab import standard
from .render.text import table_lines

SCORE_FORMAT = "rules-engine/score/v1"
PERSON_KINDS = ("person", "portfolio", "pair")
STATUS_ORDER = [s.value for s in Status]


class LoadedScoring(Scoring):
    """A scoring file as loaded from disk: the model, plus where each key was (for located errors)."""

    _source: str = PrivateAttr(default="")
    _sha256: str = PrivateAttr(default="")
    _positions: dict[tuple[str | int, ...], tuple[int, int]] = PrivateAttr(default_factory=dict)

    def locate(self, *path: str | int) -> Location:
        probe = tuple(path)
        while probe not in self._positions and probe:
            probe = probe[:-1]
        line, col = self._positions.get(probe, (1, 1) if self._source else (0, 0))
        return Location(self._source, line, col, "/".join(str(p) for p in path))


def load_scoring(path: str | Path) -> LoadedScoring:
    """Read a scoring file (YAML). Raises :class:`RulesError` (``refused="scoring"``) with every problem
    located by file, line and column, with a hint."""
    from .load.rules import validation_problems
    from .load.yamlpos import load_yaml

    p = Path(path)
    doc, problems = load_yaml(p)
    if doc is None or problems:
        raise RulesError(_scoring_codes(problems), refused="scoring")
    data = {} if doc.data is None else doc.data
    try:
        parsed = LoadedScoring.model_validate(data)
    except ValidationError as exc:
        raise RulesError(_scoring_codes(validation_problems(exc, doc, Scoring)), refused="scoring") from None
    parsed._source = str(path)
    parsed._sha256 = hashlib.sha256(p.read_bytes()).hexdigest()
    parsed._positions = dict(doc.positions)
    return parsed


def _scoring_codes(problems: Iterable[Problem]) -> list[Problem]:
    """Problems of a scoring file under ``scoring.*`` codes (the shared validator names them ``rule.*``)."""
    return [
        dataclasses.replace(p, code="scoring." + p.code.removeprefix("rule.")) if p.code.startswith("rule.") else p
        for p in problems
    ]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class RuleScore(_Out):
    """What one rule's findings added to one score."""

    rule_id: str
    title: Bilingual
    severity: str
    weight: float  # of one finding
    counts: dict[str, int]  # findings per status
    possible: float  # points possible (after the cap)
    earned: float
    lost: float  # possible - earned
    capped: bool  # the cap scaled this rule's points down


class Scorecard(_Out):
    """The score of one organisation, or of one person in one organisation."""

    kind: str  # organisation | person
    id: str
    name: str
    role: str | None  # a person's role (the latest in the organisation)
    organisation: str  # organisation id
    organisation_name: str
    organisation_kind: str
    group: str  # the ranking group: the organisation kind (and a person's role)
    score: float | None  # 0-100, two decimals; None when nothing was scored
    rank: int | None  # within the group; None without a score
    ranked: int  # how many in the group have a score
    possible: float
    earned: float
    counts: dict[str, int]  # findings per status
    undeterminable: int  # counted apart
    complete: bool  # no undeterminable finding
    rules: list[RuleScore]

    def row(self) -> dict[str, Any]:
        """One flat row (for tables and spreadsheets)."""
        return {
            "kind": self.kind,
            "group": self.group,
            "rank": self.rank,
            "ranked": self.ranked,
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "organisation": self.organisation,
            "organisation_name": self.organisation_name,
            "score": self.score,
            "earned": self.earned,
            "possible": self.possible,
            **{s: self.counts.get(s, 0) for s in STATUS_ORDER},
            "complete": self.complete,
        }


class ScoringInfo(_Out):
    title: Bilingual | None
    example: bool
    source: str
    sha256: str
    pending: str  # neutral, or the credit
    notes: list[Bilingual]


class ScoreResult(_Out):
    """What ``rules-engine score --format json`` prints."""

    format: str = SCORE_FORMAT
    period: str
    as_of: str
    scoring: ScoringInfo
    organisations: list[Scorecard]
    people: list[Scorecard]
    incomplete: list[Bilingual]  # why some scores may be incomplete (empty: complete)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def rows(self) -> list[dict[str, Any]]:
        """Every scorecard as a flat row: organisations, then people."""
        return [c.row() for c in (*self.organisations, *self.people)]

    def breakdown_rows(self, people: bool = True) -> list[dict[str, Any]]:
        """One row per scorecard and rule: the breakdown behind each score (the organisations' only, without
        `people`)."""
        out = []
        for card in (*self.organisations, *(self.people if people else ())):
            for r in card.rules:
                out.append(
                    {
                        "kind": card.kind,
                        "id": card.id,
                        "organisation": card.organisation,
                        "rule_id": r.rule_id,
                        "weight": r.weight,
                        **{s: r.counts.get(s, 0) for s in STATUS_ORDER},
                        "possible": r.possible,
                        "earned": r.earned,
                        "lost": r.lost,
                        "capped": r.capped,
                    }
                )
        return out


def score(report: Report, scoring: Scoring | str | Path) -> ScoreResult:
    """Score `report` with `scoring` (a :class:`Scoring`, or the path of a scoring file). Rule ids the
    scoring file names that no pack of the report has are refused (a typo would silently drop a weight)."""
    if not isinstance(scoring, Scoring):
        scoring = load_scoring(scoring)
    _check_rules(report, scoring)
    org_findings: dict[str, _Findings] = {}
    person_findings: dict[tuple[str, str], _Findings] = {}
    for f in report.findings:  # one pass: each organisation's and each person's findings counted per rule
        org_id = f.organisation.id
        group = org_findings.get(org_id)
        if group is None:
            group = org_findings[org_id] = _Findings(f, latest=False)  # an organisation's card: its first
        group.add(f)
        if f.subject.kind in PERSON_KINDS:
            key = (f.subject.id, org_id)
            group = person_findings.get(key)
            if group is None:
                group = person_findings[key] = _Findings(f)
            group.add(f)
    credits = {s: None if (c := scoring.credit(s.value)) is None else Fraction(c) for s in Status}
    memo: dict[tuple[Any, ...], tuple[RuleScore, Fraction, Fraction]] = {}
    orgs = [
        _card("organisation", g.first.organisation.id, g.first.organisation.name, None, g, scoring, credits, memo)
        for g in org_findings.values()
    ]
    people = [
        _card("person", pid, g.latest.subject.name, g.latest.subject.role, g, scoring, credits, memo)
        for (pid, _org), g in person_findings.items()
    ]
    incomplete = []
    undeterminable = report.summary.get("undeterminable", 0)
    if undeterminable:
        incomplete.append(Bilingual.of("note.scores.undeterminable", count=undeterminable))
    if report.input.rejections:
        n = len(report.input.rejections)
        incomplete.append(Bilingual.of("note.scores.rejected_rows", count=n))
    return ScoreResult(
        period=report.period.label or f"{report.period.start}..{report.period.end}",
        as_of=report.as_of.isoformat(),
        scoring=_info(scoring),
        organisations=_ranked(orgs),
        people=_ranked(people),
        incomplete=incomplete,
    )


def _info(scoring: Scoring) -> ScoringInfo:
    notes = []
    if scoring.example:
        notes.append(Bilingual.of("note.scoring.example"))
    pending = scoring.statuses.pending
    return ScoringInfo(
        title=scoring.title,
        example=scoring.example,
        source=getattr(scoring, "_source", ""),
        sha256=getattr(scoring, "_sha256", ""),
        pending=pending if isinstance(pending, str) else str(pending),
        notes=notes,
    )


def _check_rules(report: Report, scoring: Scoring) -> None:
    known = {rule for pack in report.rules for rule in pack.rules} | {f.rule_id for f in report.findings}
    problems = []
    for section, names in (("weights", scoring.weights.rules), ("caps", scoring.caps)):
        for rule_id in names:
            if rule_id in known:
                continue
            path: tuple[str, ...] = ("weights", "rules", rule_id) if section == "weights" else ("caps", rule_id)
            where = scoring.locate(*path) if isinstance(scoring, LoadedScoring) else Location(path="/".join(path))
            problems.append(Problem.of("scoring.unknown_rule", where, did_you_mean(rule_id, known), rule=rule_id))
    if problems:
        raise RulesError(problems, refused="scoring")


class _Findings:
    """One scorecard's findings, counted: per rule, its first finding and the count per status; the first
    finding overall and the latest (by window end, then start; the first of equals)."""

    __slots__ = ("first", "latest", "rules", "track")

    def __init__(self, first: Finding, latest: bool = True) -> None:
        self.first = first
        self.latest = first
        self.track = latest  # whether the latest is kept (a person's card: their name and role then)
        self.rules: dict[str, tuple[Finding, dict[Status, int]]] = {}

    def add(self, f: Finding) -> None:
        if self.track and (f.window.end, f.window.start) > (self.latest.window.end, self.latest.window.start):
            self.latest = f
        rule = self.rules.get(f.rule_id)
        if rule is None:
            rule = self.rules[f.rule_id] = (f, {})
        counts = rule[1]
        counts[f.status] = counts.get(f.status, 0) + 1


def _card(
    kind: str,
    id_: str,
    name: str,
    role: str | None,
    findings: _Findings,
    scoring: Scoring,
    credits: dict[Status, Fraction | None],
    memo: dict[tuple[Any, ...], tuple[RuleScore, Fraction, Fraction]],
) -> tuple[Scorecard, Fraction | None]:
    """One scorecard, and its exact score (ties are decided on exact values, not on the rounded ones). A
    rule's points are its weight times the findings scored, earned points its weight times their credits:
    the same exact sums as finding by finding."""
    org = findings.first.organisation
    possibles, earneds = [], []
    rules = []
    total: dict[Status, int] = {}
    for rule_id in sorted(findings.rules):
        first, by_status = findings.rules[rule_id]
        for status, n in by_status.items():
            total[status] = total.get(status, 0) + n
        key = (rule_id, first.severity, first.rule_title.zh, first.rule_title.en, frozenset(by_status.items()))
        part = memo.get(key)
        if part is None:  # many cards share a rule's counts: each distinct one computed once
            part = memo[key] = _rule_part(rule_id, first, by_status, scoring, credits)
        rule, possible, earned = part
        possibles.append(possible)
        earneds.append(earned)
        rules.append(rule)
    possible_total, earned_total = _exact_sum(possibles), _exact_sum(earneds)
    counts = _counts(total)
    exact = 100 * earned_total / possible_total if possible_total else None
    card = Scorecard(
        kind=kind,
        id=id_,
        name=name,
        role=role,
        organisation=org.id,
        organisation_name=org.name,
        organisation_kind=org.kind,
        group=org.kind if kind == "organisation" else f"{org.kind}/{role or '-'}",
        score=None if exact is None else round(float(exact), 2),
        rank=None,
        ranked=0,
        possible=_num(possible_total),
        earned=_num(earned_total),
        counts=counts,
        undeterminable=counts.get("undeterminable", 0),
        complete=counts.get("undeterminable", 0) == 0,
        rules=rules,
    )
    return card, exact


def _exact_sum(values: list[Fraction]) -> Fraction:
    """The exact sum of `values`, over their least common denominator: the same value as adding them one by
    one, without a greatest common divisor at each step."""
    if not values:
        return Fraction(0)
    den = math.lcm(*(v.denominator for v in values))
    return Fraction(sum(v.numerator * (den // v.denominator) for v in values), den)


def _rule_part(
    rule_id: str, first: Finding, by_status: dict[Status, int], scoring: Scoring, credits: dict[Status, Fraction | None]
) -> tuple[RuleScore, Fraction, Fraction]:
    """What one rule's findings (counted per status) add to a score: the breakdown row, the exact points
    possible and earned (after the cap)."""
    weight = Fraction(scoring.weight(rule_id, first.severity))
    scored = 0
    credit_sum = Fraction(0)
    for status, n in by_status.items():
        credit = credits[status]
        if credit is not None:
            scored += n
            credit_sum += credit * n
    possible = weight * scored
    earned = weight * credit_sum
    cap = scoring.caps.get(rule_id)
    capped = cap is not None and possible > Fraction(cap)
    if capped and cap is not None:
        earned = earned * Fraction(cap) / possible
        possible = Fraction(cap)
    rule = RuleScore(
        rule_id=rule_id,
        title=first.rule_title,
        severity=first.severity,
        weight=float(weight),
        counts=_counts(by_status),
        possible=_num(possible),
        earned=_num(earned),
        lost=_num(possible - earned),
        capped=capped,
    )
    return rule, possible, earned


def _counts(by_status: dict[Status, int]) -> dict[str, int]:
    return {s.value: by_status[s] for s in Status if by_status.get(s)}


def _num(value: Fraction) -> float:
    return round(float(value), 4)


def _kind_order(kind: str) -> int:
    """Kinds in the order the standard vocabulary declares them (any other after them)."""
    kinds = list(standard().terms["kind"])
    return kinds.index(kind) if kind in kinds else len(kinds)


def _role_order(role: str | None) -> int:
    """Roles in the order the standard vocabulary declares them (any other after them)."""
    roles = list(standard().terms["role"])
    return roles.index(role) if role in roles else len(roles)


def _ranked(cards: list[tuple[Scorecard, Fraction | None]]) -> list[Scorecard]:
    """Cards ranked within their group (equal exact scores share a rank), ordered by kind, group and rank."""
    groups: dict[str, list[tuple[Scorecard, Fraction | None]]] = {}
    for card, exact in cards:
        groups.setdefault(card.group, []).append((card, exact))
    out = []
    for members in groups.values():
        scored = sorted(
            ((c, e) for c, e in members if e is not None), key=lambda ce: (-(ce[1] or 0), ce[0].id, ce[0].organisation)
        )
        rank = 0
        previous: Fraction | None = None
        for n, (card, exact) in enumerate(scored, 1):
            if exact != previous:
                rank, previous = n, exact
            out.append(card.model_copy(update={"rank": rank, "ranked": len(scored)}))
        unscored = sorted((c for c, e in members if e is None), key=lambda c: (c.id, c.organisation))
        out += [c.model_copy(update={"ranked": len(scored)}) for c in unscored]
    return sorted(
        out,
        key=lambda c: (
            _kind_order(c.organisation_kind),
            _role_order(c.role),
            c.group,
            c.rank if c.rank is not None else 1 << 30,
            c.id,
            c.organisation,
        ),
    )


def _fmt(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _losses(card: Scorecard, limit: int = 3) -> str:
    lost = sorted((r for r in card.rules if r.lost > 0), key=lambda r: (-r.lost, r.rule_id))
    text = ", ".join(f"{r.rule_id} -{_fmt(r.lost)}" for r in lost[:limit])
    return text + (f" 等 +{len(lost) - limit}" if len(lost) > limit else "")


def render_score_table(result: ScoreResult) -> str:
    """The scorecards as terminal tables: organisations by kind, then people by kind and role, with the
    statuses counted and where the points were lost."""
    title = result.scoring.title
    lines = [
        f"考核评分 scorecard: 期间 period {result.period}，评价日期 as of {result.as_of}"
        + (f"；{title.zh} / {title.en}" if title else ""),
    ]
    for note in result.scoring.notes:
        lines.append(f"注意 note: {note.zh} / {note.en}")
    pending = result.scoring.pending
    lines.append(
        "计分 scoring: 得分 = 100 × 实得 / 应得；豁免、不适用不计；无法判定单列不计分；期限未到"
        + ("不计" if pending == "neutral" else f"按 {pending} 计")
        + " / score = 100 × earned / possible; waived and not applicable neutral; undeterminable shown apart;"
        + (" pending neutral" if pending == "neutral" else f" pending earns {pending}")
    )
    for note in result.incomplete:
        lines.append(f"不完整 incomplete: {note.zh} / {note.en}")
    header = [
        "名次 rank",
        "名称 name",
        "得分 score",
        "实得/应得 earned/possible",
        "履行 ok",
        "未履行 violated",
        "未到期 pending",
        "无法判定 undet.",
        "豁免/不适用 neutral",
        "主要失分 main losses",
    ]
    for label, cards in (("组织 organisations", result.organisations), ("个人 people", result.people)):
        groups: dict[str, list[Scorecard]] = {}
        for card in cards:
            groups.setdefault(card.group, []).append(card)
        for members in groups.values():
            kind = members[0].organisation_kind
            vocabulary = standard()
            term = vocabulary.kind(kind)
            zh = term.zh if term is not None else kind
            role = members[0].role
            known = role is not None and vocabulary.term("role", role) is not None
            who = f"{zh} {kind}" + (f" / {vocabulary.role_zh(role)} {role}" if known and role else "")
            lines += ["", f"{label}: {who}"]
            rows = [header]
            for c in members:
                name = c.name if c.kind == "organisation" else f"{c.name}（{c.id}）{c.organisation_name}"
                rows.append(
                    [
                        f"{c.rank}/{c.ranked}" if c.rank is not None else "-",
                        name,
                        _fmt(c.score) if c.score is not None else "-",
                        f"{_fmt(c.earned)}/{_fmt(c.possible)}",
                        str(c.counts.get("fulfilled", 0)),
                        str(c.counts.get("violated", 0)),
                        str(c.counts.get("pending", 0)),
                        str(c.undeterminable),
                        str(c.counts.get("waived", 0) + c.counts.get("not_applicable", 0)),
                        _losses(c),
                    ]
                )
            lines += table_lines(rows)
    return "\n".join(lines) + "\n"


__all__ = [
    "InputError",
    "LoadedScoring",
    "RuleScore",
    "ScoreResult",
    "Scorecard",
    "ScoringInfo",
    "load_scoring",
    "render_score_table",
    "score",
]
