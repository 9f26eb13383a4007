"""``applies_when``: whether a rule applies to an organisation, from its attributes and groups.

Each condition that does not hold makes the organisation's obligation ``not_applicable``, its reason naming the
condition and the organisation's value (Chinese first, then English); a condition on an attribute the roster
does not give makes it ``undeterminable`` (never not applicable, never violated). The reasons travel as the
plan's ``na`` / ``unk`` codes with their texts inside (:func:`rules_engine.texts.reason_text`).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import TYPE_CHECKING

from .model.roster import Organisation
from .model.rules import Rule
from .model.terms import Condition, KindTerm
from .periods import Period
from .texts import REASON_SEP, text

if TYPE_CHECKING:
    from .plan import RosterIndex

_TESTS_ZH = {
    "at_least": "不少于",
    "more_than": "多于",
    "at_most": "不多于",
    "less_than": "少于",
    "equals": "为",
    "in": "为以下之一：",
}
_TESTS_EN = {
    "at_least": "at least",
    "more_than": "more than",
    "at_most": "at most",
    "less_than": "less than",
    "equals": "is",
    "in": "is one of",
}


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "是 true" if value else "否 false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _number(value: object) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return Fraction(value)


def holds(test: str, expected: object, actual: object) -> bool:
    """Whether `actual` passes the test (numbers compared exactly, dates as dates, anything else by equality)."""
    if test == "equals":
        return _same(actual, expected)
    if test == "in":
        return isinstance(expected, list) and any(_same(actual, e) for e in expected)
    a, e = _number(actual), _number(expected)
    left: object
    right: object
    if a is not None and e is not None:
        left, right = a, e
    elif isinstance(actual, dt.date) and isinstance(expected, dt.date):
        left, right = actual, expected
    else:
        return False
    if test == "at_least":
        return left >= right  # type: ignore[operator]
    if test == "more_than":
        return left > right  # type: ignore[operator]
    if test == "at_most":
        return left <= right  # type: ignore[operator]
    return left < right  # type: ignore[operator]


def _same(actual: object, expected: object) -> bool:
    a, e = _number(actual), _number(expected)
    if a is not None and e is not None:
        return a == e
    return type(actual) is type(expected) and actual == expected


def applicability(rule: Rule, org: Organisation, index: RosterIndex, period: Period) -> tuple[str, str]:
    """The plan's (na, unk) of `rule` for `org`: ``("", "")`` when every condition holds; else the first
    condition that fails (not applicable), or that needs an attribute the roster does not give (undeterminable)."""
    vocabulary = index.vocabulary
    for condition in rule.applies_when:
        if condition.attribute is not None:
            found = _attribute(condition, org, index)
            if found is not None:
                return found
            continue
        group = condition.has_group or condition.lacks_group or ""
        term = vocabulary.term("group", group)
        zh_name, en_name = (term.zh, term.en) if term is not None else (group, group)
        has = index.has_group(org.id, group, period)
        if condition.has_group is not None and not has:
            return _reason(
                "na.applies_when", f"设有{zh_name}", f"it has a {en_name}", f"未设{zh_name}", f"it has no {en_name}"
            ), ""
        if condition.lacks_group is not None and has:
            return _reason(
                "na.applies_when", f"未设{zh_name}", f"it has no {en_name}", f"设有{zh_name}", f"it has a {en_name}"
            ), ""
    return "", ""


def _attribute(condition: Condition, org: Organisation, index: RosterIndex) -> tuple[str, str] | None:
    name = condition.attribute or ""
    term = index.vocabulary.kind(org.kind)
    spec = term.spec.attributes.get(name) if term is not None and isinstance(term.spec, KindTerm) else None
    zh_name, en_name = (spec.zh, spec.en) if spec is not None else (name, name)
    ((test, expected),) = condition.tests()
    wanted_zh = f"{zh_name}{_TESTS_ZH[test]}{_shown(expected)}"
    wanted_en = f"{en_name} {_TESTS_EN[test]} {_shown(expected)}"
    if name not in org.attributes:
        zh, en = text("unk.attribute_missing", name=(zh_name, en_name))
        return "", REASON_SEP.join(("attribute_missing", zh, en))
    actual = org.attributes[name]
    if holds(test, expected, actual):
        return None
    shown = _shown(actual)
    return _reason("na.applies_when", wanted_zh, wanted_en, f"{zh_name}为{shown}", f"{en_name} is {shown}"), ""


def _reason(code: str, wanted_zh: str, wanted_en: str, actual_zh: str, actual_en: str) -> str:
    zh, en = text(code, condition=(wanted_zh, wanted_en), actual=(actual_zh, actual_en))
    return REASON_SEP.join(("applies_when", zh, en))


def condition_text(condition: Condition) -> str:
    """One ``applies_when`` condition as the rule file writes it (``full_members at_least 7``,
    ``has_group branch_committee``), for ``rules-engine explain``."""
    if condition.has_group is not None:
        return f"has_group {condition.has_group}"
    if condition.lacks_group is not None:
        return f"lacks_group {condition.lacks_group}"
    return " ".join(f"{condition.attribute} {name} {_shown(value)}" for name, value in condition.tests())
