"""Declared record fields (``pack.yaml``'s ``record_fields``), the ``match.where`` filters on them, and quorums.

- :class:`DeclaredFields`: the fields the loaded packs declare, with their types and the names a table's header
  may give them. The record readers take a record's declared fields while :func:`reading` is in effect (the
  intake sets it for the run); a value of the wrong type is a located rejection (``row.field.wrong_type``), an
  undeclared field is refused as any unknown field is.
- :func:`where_tests`: a rule's ``where`` as plain tests, checked against the declared types when the pack is
  loaded (:func:`where_problems`); :func:`why_not_where` applies them to one record (the row path), and the tally
  builds the same tests as column expressions (:func:`rules_engine.tally._reasons`).
- :func:`quorum_of`: a rule's quorum (v1's ``attendance: true`` + ``min_share`` read as ``at_least`` of the
  organisation), and :func:`base_roles`: whose posts make the body it is a share of.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .errors import Location, Problem, did_you_mean
from .model.rules import (
    BUILTIN_FIELDS,
    PERSON_REFS,
    Condition,
    Manifest,
    Quorum,
    QuorumGroup,
    RecordField,
    Rule,
    SubjectKind,
)
from .model.vocab import RECORD_COLUMNS

if TYPE_CHECKING:
    from .compile import CompiledRule
    from .load.yamlpos import Document

#: The built-in fields a ``where`` may read, with the type each reads as.
BUILTIN_WHERE: dict[str, str] = {"chair": "person", "portfolio": "text", "date": "date"}

#: The type names in Chinese and English (for messages).
TYPE_TEXT: dict[str, tuple[str, str]] = {
    "person": ("一个人员编号", "one person's id"),
    "people": ("人员编号列表", "a list of person ids"),
    "text": ("文字", "text"),
    "tag": ("一个词", "one word"),
    "number": ("数字", "a number"),
    "date": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "boolean": ("是/否（true/false）", "true or false"),
}

#: The conditions each type takes (a bare value means ``equals``; for a person field, a reference).
CONDITIONS: dict[str, tuple[str, ...]] = {
    "person": ("equals", "in"),
    "people": ("includes",),
    "text": ("equals", "in", "contains"),
    "tag": ("equals", "in"),
    "number": ("equals", "in", "at_least", "more_than", "at_most", "less_than"),
    "date": ("equals", "in", "at_least", "more_than", "at_most", "less_than"),
    "boolean": ("equals",),
}
_SIGNS = {
    "equals": "=",
    "in": "∈",
    "contains": "⊇",
    "includes": "∋",
    "at_least": "≥",
    "more_than": ">",
    "at_most": "≤",
    "less_than": "<",
}
_SPLIT = re.compile(r"[;；,，、|]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "是", "对", "真"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "否", "错", "假"})


@dataclass(frozen=True)
class DeclaredFields:
    """The record fields the loaded packs declare: name -> type, and header word (case-folded) -> name."""

    types: Mapping[str, str]
    headers: Mapping[str, str]

    def __bool__(self) -> bool:
        return bool(self.types)


NO_FIELDS = DeclaredFields({}, {})


def declared_fields(manifests: Iterable[Manifest]) -> tuple[DeclaredFields, list[Problem]]:
    """The fields `manifests` declare (the same name declared alike by two packs is one field; declared
    differently, a problem), and the header words of each (key, zh, en, aliases; one never names two things)."""
    found: dict[str, tuple[RecordField, str]] = {}
    problems: list[Problem] = []
    headers: dict[str, str] = {}
    taken = {word.casefold(): name for word, name in RECORD_COLUMNS.items()} | {f: f for f in BUILTIN_FIELDS}
    for manifest in manifests:
        for name, spec in manifest.record_fields.items():
            earlier = found.get(name)
            if earlier is not None:
                if earlier[0] != spec:
                    problems.append(
                        Problem.of(
                            "rule.record_fields.conflict",
                            Location(manifest.pack.id),
                            name=name,
                            first=earlier[1],
                            second=manifest.pack.id,
                        )
                    )
                continue
            found[name] = (spec, manifest.pack.id)
            for word in (name, spec.zh, spec.en, *spec.aliases):
                key = word.strip().casefold()
                other = taken.get(key) or headers.get(key)
                if other is not None and other != name:
                    problems.append(
                        Problem.of("rule.record_fields.header", Location(manifest.pack.id), header=word, other=other)
                    )
                    continue
                headers[key] = name
    return DeclaredFields({name: spec.type for name, (spec, _) in found.items()}, headers), problems


_READING: contextvars.ContextVar[DeclaredFields] = contextvars.ContextVar("declared_record_fields", default=NO_FIELDS)


@contextlib.contextmanager
def reading(fields: DeclaredFields) -> Iterator[None]:
    """Record readers take the fields `fields` declares while in this block (see the module's text)."""
    token = _READING.set(fields)
    try:
        yield
    finally:
        _READING.reset(token)


def current() -> DeclaredFields:
    """The declared fields the record readers take now (none outside :func:`reading`)."""
    return _READING.get()


def parse_value(kind: str, value: Any) -> tuple[bool, Any]:
    """A record's value of a field of type `kind` (from JSON, a table cell or a Python object): (True, the value
    as the tally keeps it) or (False, None) when it is not of that type. An empty value is (True, None): the
    record lacks the field."""
    if value is None or value == "" or value == []:
        return True, None
    if kind in ("person", "tag"):
        if isinstance(value, str) and value.strip():
            return True, value.strip()
        return False, None
    if kind == "text":
        return (True, value) if isinstance(value, str) else (False, None)
    if kind == "people":
        if isinstance(value, str):
            return True, tuple(sorted({p.strip() for p in _SPLIT.split(value) if p.strip()})) or None
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return True, tuple(sorted({v.strip() for v in value if v.strip()})) or None
        return False, None
    if kind == "number":
        if isinstance(value, bool):
            return False, None
        if isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str) and _NUMBER.match(value.strip()):
            number = float(value.strip())
        else:
            return False, None
        return (True, number) if math.isfinite(number) else (False, None)
    if kind == "date":
        if isinstance(value, dt.datetime):
            return False, None
        if isinstance(value, dt.date):
            return True, value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return True, dt.date.fromisoformat(value.strip())
            except ValueError:
                return False, None
        return False, None
    if kind == "boolean":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, int) and value in (0, 1):
            return True, bool(value)
        if isinstance(value, str):
            word = value.strip().casefold()
            if word in _TRUE or word in _FALSE:
                return True, word in _TRUE
        return False, None
    raise AssertionError(kind)


# ---------------------------------------------------------------- where


@dataclass(frozen=True)
class Test:
    """One condition of a ``where``: `field` (of type `kind`) `op` `operand`; `shown`: the condition as text."""

    field: str
    kind: str
    op: str
    operand: Any
    shown: str


def field_kind(name: str, declared: Mapping[str, str]) -> str | None:
    """The type a ``where`` reads field `name` as (a declared field, or a built-in one), or None."""
    return declared.get(name) or BUILTIN_WHERE.get(name)


def _operand(kind: str, op: str, value: Any) -> tuple[bool, Any]:
    """The operand of a condition, checked against the field's type (False: it does not fit)."""
    if op == "in":
        if not isinstance(value, list):
            return False, None
        items = [_operand(kind, "equals", v) for v in value]
        return all(ok for ok, _ in items), tuple(v for _, v in items)
    if op == "includes":
        return isinstance(value, list) and all(v in PERSON_REFS for v in value), tuple(value or ())
    if kind == "person":
        return value in PERSON_REFS, value
    if kind in ("text", "tag"):
        return isinstance(value, str), value
    if kind == "boolean":
        return isinstance(value, bool), value
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else None
    if kind == "date":
        if isinstance(value, dt.date):
            return True, value
        ok, day = parse_value("date", value) if isinstance(value, str) else (False, None)
        return ok and day is not None, day
    return False, None


def _conditions(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, Condition):
        return [(op.rstrip("_"), v) for op, v in value.model_dump(exclude_none=True).items()]
    return [("equals", value)]


def _shown(op: str, operand: Any) -> str:
    text = "[" + ", ".join(_text(v) for v in operand) + "]" if isinstance(operand, tuple) else _text(operand)
    return f"{_SIGNS[op]} {text}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def where_tests(where: Mapping[str, Any], declared: Mapping[str, str]) -> list[Test]:
    """The tests of a ``where`` (fields as written; conditions of one field in the documentation's order).
    Assumes :func:`where_problems` found nothing."""
    tests = []
    for name, value in where.items():
        kind = field_kind(name, declared)
        assert kind is not None, name
        for op, raw in _conditions(value):
            _, operand = _operand(kind, op, raw)
            tests.append(Test(name, kind, op, operand, _shown(op, operand)))
    return tests


def where_problems(rule: Rule, index: int, doc: Document, declared: Mapping[str, str]) -> list[Problem]:
    """What is wrong with the ``where`` filters and the quorum of rule `index` of `doc`, against `declared`
    (field -> type): unknown fields (with a did-you-mean), conditions the type does not take, values that do
    not fit it, references the subject cannot name; the quorum's group and attendees field."""
    problems: list[Problem] = []
    known = [*declared, *BUILTIN_WHERE]
    allowed_refs = _allowed_refs(rule)
    for section, match in (("match", rule.match), ("trigger", rule.trigger)):
        if match is None:
            continue
        for name, value in match.where.items():
            at = doc.locate(("rules", index, section, "where", name))
            kind = field_kind(name, declared)
            if kind is None:
                problems.append(Problem.of("rule.where.unknown_field", at, did_you_mean(name, known), name=name))
                continue
            for op, raw in _conditions(value):
                if op not in CONDITIONS[kind]:
                    problems.append(
                        Problem.of(
                            "rule.where.bad_condition",
                            at,
                            name=name,
                            kind=kind,
                            condition=op,
                            allowed=", ".join(CONDITIONS[kind]),
                        )
                    )
                    continue
                ok, operand = _operand(kind, op, raw)
                if not ok:
                    problems.append(
                        Problem.of("rule.where.bad_value", at, name=name, kind=kind, condition=op, value=repr(raw))
                    )
                    continue
                refs = operand if op in ("includes", "in") and kind in ("person", "people") else (operand,)
                for ref in refs if kind in ("person", "people") else ():
                    if ref not in allowed_refs[section]:
                        allowed = ", ".join(sorted(allowed_refs[section]))
                        problems.append(
                            Problem.of(
                                "rule.match.ref_not_allowed", at, ref=ref, kind=rule.subject.value, allowed=allowed
                            )
                        )
    quorum = rule.quorum
    if quorum is not None:
        if rule.match is None:
            problems.append(Problem.of("rule.quorum.needs_match", doc.locate(("rules", index, "quorum"))))
        # (a group named by {group: NAME} is a term of the packs' vocabulary: resolved, or reported with did-you-mean,
        # with the rule's other names, in rules_engine.load.vocabulary.resolve_rule)
        people = ["participants", *(n for n, kind in declared.items() if kind == "people")]
        if quorum.attendees not in people:
            at = doc.locate(("rules", index, "quorum", "attendees"))
            problems.append(
                Problem.of("rule.quorum.attendees", at, did_you_mean(quorum.attendees, people), name=quorum.attendees)
            )
    return problems


def _allowed_refs(rule: Rule) -> dict[str, set[str]]:
    kind = rule.subject
    refs = {
        SubjectKind.organisation: {"secretary"},
        SubjectKind.person: {"subject", "secretary"},
        SubjectKind.portfolio: {"subject", "secretary"},
        SubjectKind.pair: {"first", "second", "secretary"},
        SubjectKind.trigger: {"secretary"},
    }[kind]
    return {"match": refs, "trigger": {"secretary"}}


def where_fields(rule: Rule) -> list[str]:
    """The fields a rule's record filter and quorum read (built-in ones included), in order."""
    names: list[str] = []
    if rule.match is not None:
        names += list(rule.match.where)
    if rule.quorum is not None and rule.quorum.attendees != "participants":
        names.append(rule.quorum.attendees)
    return list(dict.fromkeys(names))


def _value(rec: Any, name: str) -> Any:
    if name in BUILTIN_WHERE:
        return getattr(rec, name)
    fields = rec.fields
    return None if fields is None else fields.get(name)


def why_not_where(tests: list[Test], rec: Any, refs: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Why record `rec` fails `tests` (``("lacks", field)`` or ``("where", field, condition)``), None: it passes.
    `refs`: the people each reference names for the obligation on the record's date."""
    for test in tests:
        value = _value(rec, test.field)
        if value is None:
            return ("lacks", test.field)
        if not passes(test, value, refs):
            return ("where", test.field, test.shown)
    return None


def passes(test: Test, value: Any, refs: Mapping[str, Any]) -> bool:
    """Whether a record's `value` of the test's field (present) meets it."""
    op, operand, kind = test.op, test.operand, test.kind
    if kind == "date" and isinstance(value, str):
        value = dt.date.fromisoformat(value)
    if kind == "people":
        people = set(value)
        return all(not people.isdisjoint(refs.get(ref, ())) for ref in operand)
    if kind == "person":
        wanted = operand if op == "in" else (operand,)
        return any(value in refs.get(ref, ()) for ref in wanted)
    if op == "equals":
        return bool(value == operand)
    if op == "in":
        return value in operand
    if op == "contains":
        return operand in value
    if op == "at_least":
        return bool(value >= operand)
    if op == "more_than":
        return bool(value > operand)
    if op == "at_most":
        return bool(value <= operand)
    if op == "less_than":
        return bool(value < operand)
    raise AssertionError(op)


# ---------------------------------------------------------------- quorum


@dataclass(frozen=True)
class QuorumSpec:
    """A rule's quorum as the tally applies it: a record counts when attendees x q > p x n (`strict`) or
    attendees x q >= p x n, `n` the body's members on the record's date (holders of `roles`; None: any post
    in the organisation), `attendees` the people field counted. `v1`: read from ``attendance`` + ``min_share``
    (its reasons keep v1's texts)."""

    share: Fraction
    strict: bool
    roles: frozenset[str] | None
    attendees: str
    v1: bool
    group: str | None = None  # a group of the vocabulary: its members on the date (rules_engine.plan.group_terms)

    @property
    def shown(self) -> str:
        """The share as a rejected candidate's reason names it."""
        return str(self.share) if self.v1 else f"{'>' if self.strict else '>='} {self.share}"


#: The roles of the leading team (班子). After the vocabulary lands, the roles whose ``team`` flag is set.
_TEAM_ROLES = frozenset({"secretary", "deputy_secretary", "member"})


def team_roles() -> frozenset[str]:
    """The roles whose holders make an organisation's leading team."""
    return _TEAM_ROLES


#: Groups made of the holders of roles, by name. After the vocabulary lands, the packs' ``groups`` with ``roles:``
#: (groups with memberships listed in the roster need the roster's memberships instead: see the report).
_GROUPS: dict[str, frozenset[str]] = {"team": _TEAM_ROLES}


def group_roles(name: str) -> frozenset[str] | None:
    """The roles whose holders are the members of group `name` (None: no such group)."""
    return _GROUPS.get(name)


def known_groups() -> list[str]:
    return sorted(_GROUPS)


def base_roles(group: str) -> frozenset[str] | None:
    """Whose posts make the body a quorum of `group` counts: None for the organisation (any post)."""
    if group == "organisation":
        return None
    if group == "team":
        return team_roles()
    roles = group_roles(group)
    assert roles is not None, group
    return roles


def quorum_of(rule: CompiledRule) -> QuorumSpec | None:
    """The quorum of `rule`: its own, or v1's ``attendance: true`` with its (resolved) ``min_share`` read as
    ``at_least`` that share of the organisation; None without one."""
    spec = rule.rule
    if spec.attendance:
        assert rule.share is not None
        return QuorumSpec(rule.share, False, None, "participants", True)
    quorum: Quorum | None = spec.quorum
    if quorum is None:
        return None
    if isinstance(quorum.of, QuorumGroup):
        return QuorumSpec(quorum.share, quorum.strict, None, quorum.attendees, False, quorum.of.group)
    return QuorumSpec(quorum.share, quorum.strict, base_roles(quorum.group), quorum.attendees, False)


def quorum_met(spec: QuorumSpec, present: int, members: int) -> bool:
    """Whether `present` attendees of `members` meet the quorum, in integers."""
    p, q = spec.share.numerator, spec.share.denominator
    return present * q > p * members if spec.strict else present * q >= p * members
