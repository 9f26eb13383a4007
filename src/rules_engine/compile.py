"""Compile loaded rules: resolve parameters (defaults, then overrides) and effective dates, index rules by
record type, and lower each rule to a neutral decision table (:class:`Decision`) that an engine backend runs.

The decision table is the whole meaning of a status, and the only place in the product that states it:
for each obligation fact (count ``n``, the most it could be ``most`` with the records set aside for lacking a
field, window over ``due``, tainted by rejected input ``taint``, not applicable ``na``, roster gap ``unk``, valid
waiver ``wv``) exactly one decision matches; an escalation
rule's table reads one subject's summed-up lower findings instead (:data:`ESCALATION_FIELDS`). durable_rules
takes every decision (``engine/``); :func:`decide` interprets the same table in plain Python for the tests
that check the engine and the proof against it. Decisions marked ``after_close`` belong to the explicit
closed-world step: they are only taken once every obligation of a partition is known and the close trigger
has been asserted.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pydantic import ValidationError

from . import texts
from .errors import Location, Problem, RulesError, did_you_mean
from .fields import NO_FIELDS, DeclaredFields, Test, declared_fields, where_tests
from .load.rules import LoadedRule, RuleSet
from .model.findings import Status
from .model.refusal import exception_texts
from .model.rules import Effective, Match, Params, Rule

Condition = tuple[str, str, int]  # (fact field, operator, value); operator in == < <= > >=


@dataclass(frozen=True)
class Decision:
    name: str
    status: Status
    rule_index: int | None  # None: applies to every rule's obligations
    conditions: tuple[Condition, ...]
    after_close: bool = False
    waives: Status | None = None  # for a ``waived`` decision: the status the waiver replaced


@dataclass(frozen=True, eq=False)  # identity: compiled once, used as a cache key
class CompiledRule:
    index: int
    loaded: LoadedRule
    params: Params
    param_sources: dict[str, str]
    effective: Effective
    share: Fraction | None
    scope: tuple[str, ...] | None = None  # applies only to these organisations and below (overlays)
    excluded: tuple[str, ...] = ()  # ... and not to these and below (where an overlay replaces it)
    retired_by: str | None = None  # an overlay retired it for its scope
    where: tuple[Test, ...] = ()  # match.where as tests (rules_engine.fields)
    trigger_where: tuple[Test, ...] = ()  # trigger.where as tests

    @property
    def rule(self) -> Rule:
        return self.loaded.rule

    @property
    def match(self) -> Match:
        """The record filter of a record-counting rule (escalation rules count findings instead)."""
        match = self.loaded.rule.match
        assert match is not None, f"{self.loaded.rule.id} counts findings, not records"
        return match

    @functools.cached_property
    def uses_secretary(self) -> bool:
        match = self.loaded.rule.match
        if match is None:
            return False
        named = [test.operand for test in (*self.where, *self.trigger_where) if test.kind in ("person", "people")]
        refs = {ref for operand in named for ref in (operand if isinstance(operand, tuple) else (operand,))}
        return match.chair == "secretary" or "secretary" in match.participants or "secretary" in refs

    @property
    def at_least(self) -> int:
        return self.params.at_least or 0

    @property
    def at_most(self) -> int | None:
        return self.params.at_most

    @functools.cached_property
    def _params_dump(self) -> dict[str, Any]:
        values = self.params.model_dump(by_alias=True, exclude_none=True, mode="json")
        return {name: {"value": value, "set_by": self.param_sources.get(name, "")} for name, value in values.items()}

    def params_dump(self) -> dict[str, Any]:
        """Parameter values with the pack (or override) that set each; a fresh copy each call."""
        return {name: dict(info) for name, info in self._params_dump.items()}


@dataclass(frozen=True)
class CompiledRules:
    overrides: dict[str, dict[str, Any]]
    rules: tuple[CompiledRule, ...]
    decisions: tuple[Decision, ...]
    ruleset: RuleSet
    by_type: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)
    trigger_types: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)
    _by_id: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)
    fields: DeclaredFields = NO_FIELDS  # the record fields the packs declare

    def variants(self, rule_id: str) -> tuple[CompiledRule, ...]:
        """Every compiled variant of a rule id (versions, overlay versions)."""
        if not self._by_id:
            grouped: dict[str, list[CompiledRule]] = {}
            for rule in self.rules:
                grouped.setdefault(rule.rule.id, []).append(rule)
            self._by_id.update({k: tuple(v) for k, v in grouped.items()})
        return self._by_id.get(rule_id, ())


def compile_rules(ruleset: RuleSet, params: Mapping[str, Mapping[str, Any]] | None = None) -> CompiledRules:
    """Resolve parameters and lower every rule to decisions. `params` overrides per rule id:
    ``{"ZZ-08-01": {"at_least": 2}}``. Raises :class:`RulesError` on unknown rule ids or bad values."""
    problems: list[Problem] = []
    overrides: dict[str, dict[str, Any]] = {}
    for rule_id, values in (params or {}).items():
        if isinstance(values, Mapping):
            overrides[str(rule_id)] = dict(values)
        else:
            problems.append(
                Problem.of("param.not_a_mapping", Location("<params>", path=str(rule_id)), rule=str(rule_id))
            )
    for rule_id, values in overrides.items():
        for name, value in values.items():
            if value is None:
                where = Location("<params>", path=f"{rule_id}.{name}")
                problems.append(Problem.of("param.null", where, param=f"{rule_id}.{name}"))
    known = [r.rule.id for r in ruleset.rules]
    for rule_id in overrides:
        if rule_id not in known:
            hint = did_you_mean(rule_id, known)
            problems.append(Problem.of("param.unknown_rule", Location("<params>"), hint, rule=rule_id))
        else:
            problems += _override_problems(rule_id, overrides[rule_id])
    refused = {p.location.path.split(".", 1)[0] for p in problems}
    declared, conflicts = declared_fields(pack.manifest for pack in ruleset.packs)
    problems += conflicts
    compiled: list[CompiledRule] = []
    for index, (loaded, layers, scope, excluded, retired_by) in enumerate(_variants(ruleset)):
        rule = loaded.rule
        if rule.id in refused:  # its overrides were reported once above
            continue
        sources = {
            name: f"{loaded.pack.id}@{loaded.pack.version}"
            for name in rule.params.model_dump(by_alias=True, exclude_none=True)
        }
        resolved = rule.params
        try:
            if rule.id in overrides:
                layers = [*layers, (Params.model_validate(overrides[rule.id]), "override")]
            for layer, source in layers:  # precedence: the rule's own values, its overlay, the caller
                resolved = resolved.merged(layer)
                for name in layer.model_dump(by_alias=True, exclude_none=True):
                    sources[name] = source
            if layers:
                Rule.model_validate(rule.model_copy(update={"params": resolved}).model_dump(by_alias=True))
        except (ValidationError, ValueError) as exc:
            text = exception_texts(exc)
            problems.append(Problem.of("param.invalid", Location("<params>", path=rule.id), rule=rule.id, error=text))
            refused.add(rule.id)
            continue
        effective = rule.effective or loaded.pack.effective
        tests = tuple(where_tests(rule.match.where, declared.types)) if rule.match else ()
        trigger_tests = tuple(where_tests(rule.trigger.where, declared.types)) if rule.trigger else ()
        compiled.append(
            CompiledRule(
                index,
                loaded,
                resolved,
                sources,
                effective,
                resolved.share(),
                scope,
                excluded,
                retired_by,
                tests,
                trigger_tests,
            )
        )
    if problems:
        raise RulesError(problems, refused="params")
    decisions = [_with_waivers(_generic_decisions())]
    for item in compiled:
        decisions.append(_with_waivers(lower(item)))
    flat = tuple(d for group in decisions for d in group)
    problems = table_problems(compiled, flat)
    if problems:  # a fact that no decision (or two) matches must never reach the engine
        raise RulesError(problems)
    by_type: dict[str, list[CompiledRule]] = {}
    trigger_types: dict[str, list[CompiledRule]] = {}
    for item in compiled:
        for name in item.rule.match.types if item.rule.match else ():
            by_type.setdefault(name, []).append(item)
        if item.rule.trigger is not None:
            for name in item.rule.trigger.types:
                trigger_types.setdefault(name, []).append(item)
    return CompiledRules(
        overrides,
        tuple(compiled),
        flat,
        ruleset,
        {k: tuple(v) for k, v in by_type.items()},
        {k: tuple(v) for k, v in trigger_types.items()},
        fields=declared,
    )


def _override_problems(rule_id: str, values: Mapping[str, Any]) -> list[Problem]:
    """Unknown parameter names (with a did-you-mean) and values of the wrong type, as lint words them."""
    from .load.rules import validation_problems
    from .load.yamlpos import Document

    names = [info.alias or name for name, info in Params.model_fields.items()]
    out: list[Problem] = []
    for name in values:
        if name not in names:
            where = Location("<params>", path=f"{rule_id}.{name}")
            out.append(Problem.of("param.unknown_name", where, did_you_mean(str(name), names), rule=rule_id, name=name))
    known = {name: value for name, value in values.items() if name in names}
    try:
        Params.model_validate(known)
    except ValidationError as exc:
        for problem in validation_problems(exc, Document("<params>", known, {}), Params):
            param = f"{rule_id}.{problem.location.path.replace('/', '.')}"
            code = problem.code.replace("rule.", "param.", 1)  # the validator's code, under param.*
            out.append(problem.framed("frame.param", code, Location("<params>", path=param), param=param))
    return out


_LIVE: tuple[Condition, ...] = (("na", "==", 0), ("unk", "==", 0))


Variant = tuple[LoadedRule, list[tuple[Params, str]], "tuple[str, ...] | None", "tuple[str, ...]", "str | None"]


def _variants(ruleset: RuleSet) -> list[Variant]:
    """Each rule as it applies where: a base rule outside the overlays that change it, the overlay's
    version inside each (its parameters, or retired), and the overlays' own rules inside their scope."""
    overlays = [p for p in ruleset.packs if p.manifest.overlay is not None]
    out: list[Variant] = []
    for pack in ruleset.packs:
        overlay = pack.manifest.overlay
        if overlay is not None:
            out += [(loaded, [], tuple(overlay.organisations), (), None) for loaded in pack.rules]
            continue
        for loaded in pack.rules:
            rule_id = loaded.rule.id
            touching = [
                o
                for o in overlays
                if o.manifest.overlay is not None
                and o.manifest.overlay.extends == pack.id
                and (rule_id in o.manifest.overlay.params or rule_id in o.manifest.overlay.retire)
            ]
            roots = tuple(root for o in touching if o.manifest.overlay for root in o.manifest.overlay.organisations)
            out.append((loaded, [], None, roots, None))
            for o in touching:
                spec = o.manifest.overlay
                assert spec is not None
                label = f"{o.id}@{o.manifest.pack.version}"
                if rule_id in spec.retire:
                    out.append((loaded, [], tuple(spec.organisations), (), label))
                else:
                    out.append((loaded, [(spec.params[rule_id], label)], tuple(spec.organisations), (), None))
    order = {id(v): i for i, v in enumerate(out)}
    return sorted(out, key=lambda v: (v[0].rule.id, (v[0].rule.effective or v[0].pack.effective).from_, order[id(v)]))


def _generic_decisions() -> list[Decision]:
    return [
        Decision("not_applicable", Status.not_applicable, None, (("na", "==", 1),)),
        Decision("roster_gap", Status.undeterminable, None, (("na", "==", 0), ("unk", "==", 1))),
    ]


OBLIGATION_FIELDS = ("n", "most", "due", "taint", "na", "unk", "wv")
"""The fields of a record-counting rule's fact (after ``r``), in the order the decide stage takes them. ``most``:
the count and the candidates set aside for lacking a field a filter reads (what the count could be, had they
carried it): missing data never makes a duty ``violated``."""

ESCALATION_FIELDS = ("na", "unk", "wv", "k", "kp", "ku", "sec", "secp", "secu", "gap", "gapp", "gapu")
"""The fields of an escalation rule's fact: one subject's lower findings, summed up (durable_rules has no
aggregates). For each of three sets of counted statuses (the rule's ``status``; with ``pending`` too, suffix
``p``; with ``undeterminable`` too, suffix ``u``): ``k`` the count (findings, areas, rules or people), ``sec``
how many of those findings are about a secretary, ``gap`` how many more people a ``raise_share`` needs (the
share of the team, computed with the team's size; 0: reached)."""


def lower(rule: CompiledRule) -> list[Decision]:
    """The decision table of one rule; exactly one decision matches any obligation fact.

    Records set aside for lacking a field a filter reads might have counted: a count below ``at_least`` is
    ``violated`` only when it stays below with them (``most < at_least``), a count within ``at_most`` is
    ``fulfilled`` only when it stays within with them (``most <= at_most``); otherwise ``undeterminable``.
    A count over ``at_most`` is ``violated`` whatever they are."""
    if rule.rule.escalate is not None:
        return _lower_escalation(rule)
    r = rule.index
    lo, hi = rule.at_least, rule.at_most
    mine: tuple[Condition, ...] = (("r", "==", r), *_LIVE)
    below = (*mine, ("n", "<", lo))
    out: list[Decision] = []
    if hi is None:
        out.append(Decision(f"{r}:met", Status.fulfilled, r, (*mine, ("n", ">=", lo))))
    else:
        within = (*mine, ("n", ">=", lo), ("n", "<=", hi))
        clean = (*within, ("due", "==", 1), ("taint", "==", 0))
        out += [
            Decision(f"{r}:over", Status.violated, r, (*mine, ("n", ">", hi))),
            Decision(f"{r}:met", Status.fulfilled, r, (*clean, ("most", "<=", hi))),
            Decision(f"{r}:within_lacking", Status.undeterminable, r, (*clean, ("most", ">", hi)), after_close=True),
            Decision(
                f"{r}:within_tainted",
                Status.undeterminable,
                r,
                (*within, ("due", "==", 1), ("taint", "==", 1)),
                after_close=True,
            ),
            Decision(f"{r}:within_open", Status.pending, r, (*within, ("due", "==", 0)), after_close=True),
        ]
    if lo > 0:
        short = (*below, ("due", "==", 1), ("taint", "==", 0))
        out += [
            Decision(f"{r}:missing", Status.violated, r, (*short, ("most", "<", lo)), after_close=True),
            Decision(f"{r}:missing_lacking", Status.undeterminable, r, (*short, ("most", ">=", lo)), after_close=True),
            Decision(
                f"{r}:missing_tainted",
                Status.undeterminable,
                r,
                (*below, ("due", "==", 1), ("taint", "==", 1)),
                after_close=True,
            ),
            Decision(f"{r}:open", Status.pending, r, (*below, ("due", "==", 0)), after_close=True),
        ]
    return out


def _lower_escalation(rule: CompiledRule) -> list[Decision]:
    """The decision table of an escalation rule, over one subject's summed-up lower findings
    (:data:`ESCALATION_FIELDS`): ``violated`` when the counted findings raise it; otherwise ``pending`` when
    counting the pending ones too would, else ``undeterminable`` when counting the undeterminable ones too
    would, else ``fulfilled`` (not raised). "Not raised" is a disjunction when the secretary is needed too;
    it is written as exclusive alternatives, so that exactly one decision matches any fact."""
    esc = rule.rule.escalate
    assert esc is not None
    r = rule.index

    def level(suffix: str) -> tuple[tuple[Condition, ...], list[tuple[Condition, ...]]]:
        """(the conditions under which this level raises, the exclusive alternatives under which it does not)"""
        if esc.raise_share is not None:
            reached: Condition = (f"gap{suffix}", "==", 0)
            short: Condition = (f"gap{suffix}", ">", 0)
        else:
            reached, short = (f"k{suffix}", ">=", esc.raise_at or 1), (f"k{suffix}", "<", esc.raise_at or 1)
        if not esc.with_secretary:
            return (reached,), [(short,)]
        return (reached, (f"sec{suffix}", ">=", 1)), [(short,), (reached, (f"sec{suffix}", "==", 0))]

    mine: tuple[Condition, ...] = (("r", "==", r), *_LIVE)
    raised, quiet = level("")
    raised_p, quiet_p = level("p")
    raised_u, quiet_u = level("u")
    out = [Decision(f"{r}:raised", Status.violated, r, (*mine, *raised))]
    for i, q in enumerate(quiet):
        out.append(Decision(f"{r}:open{i}", Status.pending, r, (*mine, *q, *raised_p)))
        for j, qp in enumerate(quiet_p):
            out.append(Decision(f"{r}:doubt{i}{j}", Status.undeterminable, r, (*mine, *q, *qp, *raised_u)))
            out += [
                Decision(f"{r}:quiet{i}{j}{k}", Status.fulfilled, r, (*mine, *q, *qp, *qu))
                for k, qu in enumerate(quiet_u)
            ]
    return out


def _with_waivers(decisions: list[Decision]) -> list[Decision]:
    """A valid waiver (``wv == 1``) turns every outcome but fulfilled and not applicable into ``waived``."""
    out: list[Decision] = []
    for d in decisions:
        if d.status in (Status.fulfilled, Status.not_applicable):
            out.append(d)
            continue
        out.append(Decision(d.name, d.status, d.rule_index, (*d.conditions, ("wv", "==", 0)), d.after_close))
        out.append(
            Decision(
                f"{d.name}:waived",
                Status.waived,
                d.rule_index,
                (*d.conditions, ("wv", "==", 1)),
                d.after_close,
                waives=d.status,
            )
        )
    return out


_OPS = {
    "==": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def decide(decisions: tuple[Decision, ...], fact: Mapping[str, int]) -> list[Decision]:
    """The decisions whose conditions hold for `fact`: the table's plain interpreter. The product never
    evaluates with it (durable_rules decides); the tests check the engine, the proof and the lowering of
    escalation specs against it."""
    return [
        d
        for d in decisions
        if (d.rule_index is None or fact["r"] == d.rule_index)
        and all(_OPS[op](fact[name], value) for name, op, value in d.conditions)
    ]


FLAGS = frozenset({"due", "taint", "na", "unk", "wv"})
"""Fact fields that are 0 or 1; every other field but ``r`` (the rule index) is a count, 0 or more."""


@dataclass(frozen=True)
class TableFault:
    """Facts of one rule that match no decision (``gaps``) or more than one (``overlaps``, with the names)."""

    rule_index: int
    gaps: tuple[dict[str, int], ...]
    overlaps: tuple[tuple[dict[str, int], tuple[str, ...]], ...]


def prove_table(decisions: Sequence[Decision], rule_indices: Iterable[int]) -> list[TableFault]:
    """Check that exactly one decision matches every obligation fact of each rule (empty list: proven).

    Conditions compare integer fields with constants, so a decision's truth can only change at a constant:
    testing every flag at 0 and 1, and every count at 0 and at each constant it is compared with, one below
    and one above, covers every region of the fact space. The proof is exhaustive over those points."""
    generic = [d for d in decisions if d.rule_index is None]
    own: dict[int, list[Decision]] = {}
    for d in decisions:
        if d.rule_index is not None:
            own.setdefault(d.rule_index, []).append(d)
    faults: list[TableFault] = []
    for r in rule_indices:
        fault = _prove_rule(tuple(generic + own.get(r, [])), r)
        if fault is not None:
            faults.append(fault)
    return faults


@functools.lru_cache(maxsize=4096)
def _prove_rule(table: tuple[Decision, ...], r: int) -> TableFault | None:
    """The proof for one rule's table (the generic decisions and its own). Cached: the compiler proves each
    rule's table, and the engine proves the same tables again before it registers them (decisions are frozen
    values, so an equal table has the same proof)."""
    names = sorted({name for d in table for name, _op, _value in d.conditions} | {"r"})
    axes = [_test_values(name, r, table) for name in names]
    possible = _possible(names)
    hits: dict[tuple[int, ...], list[str]] = {point: [] for point in itertools.product(*axes) if possible(point)}
    for d in table:
        allowed = [[v for v in axis if _holds(d, name, v)] for name, axis in zip(names, axes, strict=True)]
        for point in itertools.product(*allowed):
            if point in hits:
                hits[point].append(d.name)
    gaps = tuple(dict(zip(names, p, strict=True)) for p, found in hits.items() if not found)
    overlaps = tuple((dict(zip(names, p, strict=True)), tuple(found)) for p, found in hits.items() if len(found) > 1)
    return TableFault(r, gaps, overlaps) if gaps or overlaps else None


def _possible(names: Sequence[str]) -> Callable[[tuple[int, ...]], bool]:
    """Whether a point of the proof is a fact that can occur: the count with the records set aside for lacking a
    field (``most``) is never below the count (``n``)."""
    if "n" not in names or "most" not in names:
        return lambda point: True
    n, most = names.index("n"), names.index("most")
    return lambda point: point[most] >= point[n]


def _test_values(name: str, r: int, table: Sequence[Decision]) -> list[int]:
    if name == "r":
        return [r]
    if name in FLAGS:
        return [0, 1]
    points = {0}
    for d in table:
        points.update(v + step for field_name, _op, v in d.conditions if field_name == name for step in (-1, 0, 1))
    return sorted(v for v in points if v >= 0)


def _holds(d: Decision, name: str, value: int) -> bool:
    return all(_OPS[op](value, bound) for field_name, op, bound in d.conditions if field_name == name)


def table_problems(rules: Sequence[CompiledRule], decisions: Sequence[Decision]) -> list[Problem]:
    """The proof of :func:`prove_table` as located problems: a rule whose table leaves a fact undecided
    (``rule.decisions_incomplete``) or decides it twice (``rule.decisions_overlap``)."""
    by_index = {rule.index: rule for rule in rules}
    out: list[Problem] = []
    for fault in prove_table(decisions, by_index):
        rule = by_index[fault.rule_index]
        scope = texts.text("frame.scope", orgs=", ".join(rule.scope)) if rule.scope else ""
        where = rule.loaded.location
        if fault.gaps:
            shown = "; ".join(_fact_text(f) for f in fault.gaps[:3])
            count = len(fault.gaps)
            out.append(
                Problem.of("rule.decisions_incomplete", where, rule=rule.rule.id, scope=scope, count=count, facts=shown)
            )
        if fault.overlaps:
            shown = "; ".join(f"{_fact_text(f)} -> {', '.join(names)}" for f, names in fault.overlaps[:3])
            count = len(fault.overlaps)
            out.append(
                Problem.of("rule.decisions_overlap", where, rule=rule.rule.id, scope=scope, count=count, facts=shown)
            )
    return out


def _fact_text(fact: Mapping[str, int]) -> str:
    return " ".join(f"{name}={value}" for name, value in fact.items() if name != "r")
