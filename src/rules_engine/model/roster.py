"""The roster: organisations (with the attributes their kind declares), people, the posts they hold (role,
portfolio areas, term of office) and their memberships of groups.

Kinds, roles and groups are the loaded packs' vocabulary (:class:`rules_engine.model.vocab.Vocabulary`, given
as the validation context ``{"vocabulary": ...}``; without one, the standard vocabulary cpc-basic), written
as any of their words (``书记`` or ``secretary``); an unknown word is refused with a "did you mean".
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..errors import did_you_mean
from ..texts import hint
from .refusal import refuse
from .terms import Attribute, KindTerm
from .vocab import Miss, Vocabulary, miss_error, standard

#: what an attribute's value may be, once read
AttributeValue = bool | int | float | dt.date | str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def vocabulary_of(info: ValidationInfo) -> Vocabulary:
    """The vocabulary a roster is validated with: the one in the validation context (``{"vocabulary": ...}``,
    the loaded packs'), else the standard one (cpc-basic)."""
    context = info.context
    if isinstance(context, dict):
        found = context.get("vocabulary")
        if isinstance(found, Vocabulary):
            return found
    return standard()


def _term(value: Any, section: str, info: ValidationInfo, key: str, ambiguous: str) -> Any:
    """A word of the vocabulary (any of its words: key, zh, en, alias) as the term's name; an unknown word is
    refused with its did-you-mean, an ambiguous one with the qualified candidates (non-strings go on to
    pydantic's own check)."""
    if not isinstance(value, str):
        return value
    found = vocabulary_of(info).lookup(section, value)
    if isinstance(found, Miss):
        raise miss_error(ambiguous if found.code == "vocab.ambiguous" else key, found)
    return found


_TRUE = {"true", "yes", "是", "有", "1"}
_FALSE = {"false", "no", "否", "无", "0"}
_TYPE_ZH = {"number": "数值", "text": "文本", "boolean": "是/否", "date": "日期（YYYY-MM-DD）"}
_TYPE_EN = {"number": "a number", "text": "a text", "boolean": "true or false", "date": "a date (YYYY-MM-DD)"}


def attribute_value(name: str, spec: Attribute, value: Any) -> AttributeValue:
    """`value` as the attribute's type (a table's text converted: ``12``, ``是``, ``2024-01-01``), or refused."""
    kind = spec.type
    out: Any = None
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out = value
        elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            out = int(value)
        elif isinstance(value, str) and re.fullmatch(r"\s*-?\d*\.\d+\s*", value):
            out = float(value)
    elif kind == "text":
        if isinstance(value, str):
            out = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out = str(value)
    elif kind == "boolean":
        if isinstance(value, bool):
            out = value
        elif isinstance(value, str) and value.strip().casefold() in _TRUE | _FALSE:
            out = value.strip().casefold() in _TRUE
    elif isinstance(value, dt.datetime):
        out = None
    elif isinstance(value, dt.date):
        out = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value):
        try:
            out = dt.date.fromisoformat(value.strip())
        except ValueError:
            out = None
    if out is None:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise refuse("row.attribute.type", None, name=name, type=(_TYPE_ZH[kind], _TYPE_EN[kind]), value=shown)
    return out  # type: ignore[no-any-return]


class Organisation(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: str = Field(min_length=1, description="组织类型：规则包词表中的类型 a kind of the packs' vocabulary")
    level: str | None = Field(default=None, description="层级 e.g. county, township")
    parent: str | None = None
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, description="组织属性（由组织类型声明）attributes its kind declares, e.g. full_members"
    )

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_word(cls, value: Any, info: ValidationInfo) -> Any:
        return _term(value, "kind", info, "row.kind.unknown", "row.kind.unknown#ambiguous")

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict) or not value:
            return value
        kind = info.data.get("kind")
        term = vocabulary_of(info).kind(kind) if isinstance(kind, str) else None
        if term is None or not isinstance(term.spec, KindTerm):
            return value  # (the kind's own refusal says what is wrong)
        declared = term.spec.attributes
        words = {w.strip().casefold(): key for key, a in declared.items() for w in (key, a.zh, a.en, *a.aliases)}
        out: dict[str, Any] = {}
        for raw, item in value.items():
            key = words.get(str(raw).strip().casefold())
            if key is None:
                choices = [w for key, a in declared.items() for w in (key, a.zh, *a.aliases)]
                found = hint(did_you_mean(str(raw), choices, "zh"), did_you_mean(str(raw), choices, "en"), "；", "; ")
                if not declared:
                    found = ("；该类型未声明属性", "; the kind declares no attributes")
                raise refuse("row.attribute.unknown", None, kind=term.name, name=str(raw), hint=found)
            if item is None or (isinstance(item, str) and not item.strip()):
                continue  # an empty cell: no value given
            out[key] = attribute_value(key, declared[key], item)
        return out


class Membership(_Model):
    """One term as a member of a group inside an organisation (a committee), when the group is not made of
    role holders (a group declared with ``roles:`` takes its members from the posts)."""

    org: str = Field(min_length=1)
    group: str = Field(min_length=1, description="小组：规则包词表中的小组 a group of the packs' vocabulary")
    start: dt.date
    end: dt.date | None = None

    @field_validator("group", mode="before")
    @classmethod
    def _group_word(cls, value: Any, info: ValidationInfo) -> Any:
        return _term(value, "group", info, "row.group.unknown", "row.group.unknown#ambiguous")

    @model_validator(mode="after")
    def _order(self) -> Membership:
        if self.end is not None and self.end < self.start:
            raise refuse("row.post.ends_before_start", None, start=str(self.start), end=str(self.end))
        return self

    def overlaps(self, start: dt.date, end: dt.date) -> bool:
        return self.start <= end and (self.end is None or self.end >= start)


class Post(_Model):
    """One term in one post: who, where, which role, which portfolio areas, from when to when."""

    org: str = Field(min_length=1)
    role: str = Field(min_length=1, description="职务：规则包词表中的职务 a role of the packs' vocabulary")
    portfolios: list[str] = Field(default_factory=list, description="分管领域 portfolio areas")
    start: dt.date
    end: dt.date | None = None

    @field_validator("role", mode="before")
    @classmethod
    def _role_word(cls, value: Any, info: ValidationInfo) -> Any:
        return _term(value, "role", info, "row.role.unknown", "row.role.unknown#ambiguous")

    @model_validator(mode="after")
    def _order(self) -> Post:
        if self.end is not None and self.end < self.start:
            raise refuse("row.post.ends_before_start", None, start=str(self.start), end=str(self.end))
        return self

    def overlaps(self, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
        lo = max(self.start, start)
        hi = end if self.end is None else min(self.end, end)
        return (lo, hi) if lo <= hi else None

    def holds_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


class Person(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    posts: list[Post] = Field(default_factory=list)
    groups: list[Membership] = Field(
        default_factory=list, description="小组成员身份及任期 memberships of groups, with their terms"
    )


class Roster(_Model):
    organisations: list[Organisation]
    people: list[Person] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Roster:
        orgs = {o.id for o in self.organisations}
        if len(orgs) != len(self.organisations):
            raise refuse("row.org.duplicate_id")
        ids = [p.id for p in self.people]
        if len(set(ids)) != len(ids):
            raise refuse("row.person.duplicate_id")
        for person in self.people:
            for post in person.posts:
                if post.org not in orgs:
                    raise refuse("row.post.unknown_org", None, org_id=post.org, person=person.id)
            for member in person.groups:
                if member.org not in orgs:
                    raise refuse("row.group.unknown_org", None, org_id=member.org, person=person.id)
        return self
