"""A pack's vocabulary terms (``rules-engine/v2`` manifests): organisation kinds, roles and groups.

Each term is declared by one pack and named ``PACK:KEY`` (``cpc-basic:secretary``); a pack's rules and its own
declarations may write a bare key, resolved by :class:`rules_engine.model.vocab.Vocabulary`. Nothing in the code
names a kind or a role: what it needs to know of them is a flag of the term (``head``, ``team``, ``locality``,
``department``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from .refusal import refuse

#: a term's key (``village``), and a name of a term: its key, or ``PACK:KEY``
TERM_KEY = r"^[A-Za-z][A-Za-z0-9_]*$"
TERM_NAME = r"^([A-Za-z][A-Za-z0-9_.\-]*:)?[A-Za-z][A-Za-z0-9_]*$"
TermName = Annotated[str, Field(min_length=1, description="术语名 a term: KEY or PACK:KEY (checked by the loader)")]
AttributeType = Literal["number", "text", "boolean", "date"]
Scalar = StrictBool | StrictInt | float | dt.date | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_T = TypeVar("_T")


class _Named(_Strict):
    zh: Annotated[str, Field(min_length=1, description="中文名称")]
    en: Annotated[str, Field(min_length=1, description="English name")]
    aliases: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="名册中可写的其他称呼（中文在前）other words a roster may write"
    )


class Attribute(_Named):
    """An attribute a roster gives organisations of a kind (e.g. 正式党员人数 full members)."""

    type: AttributeType = Field(description="number | text | boolean | date")


class KindTerm(_Named):
    """An organisation kind."""

    attributes: dict[str, Attribute] = Field(
        default_factory=dict, description="名册为此类组织填写的属性 attributes the roster gives these organisations"
    )
    locality: bool = Field(default=False, description="三实三弱：计为地方 counted as a locality (scorecard)")
    department: bool = Field(default=False, description="三实三弱：计为部门 counted as a department (scorecard)")

    @field_validator("attributes")
    @classmethod
    def _keys(cls, value: dict[str, Attribute]) -> dict[str, Attribute]:
        return _checked_keys(value)

    @model_validator(mode="after")
    def _apart(self) -> KindTerm:
        if self.locality and self.department:
            raise refuse("rule.term.both_groups")
        return self


class RoleTerm(_Named):
    """A role a person holds in an organisation (a post)."""

    head: bool = Field(default=False, description="组织的负责人（如书记）the organisation's head (e.g. secretary)")
    team: bool = Field(default=False, description="领导班子成员 a member of the leading team")


class GroupTerm(_Named):
    """A group inside an organisation (a committee, the leading team)."""

    kinds: list[TermName] = Field(default_factory=list, description="可设此小组的组织类型 where it can exist")
    roles: list[TermName] = Field(
        default_factory=list,
        description="担任这些职务者即为成员（否则由名册登记成员）holders of these roles are its members"
        " (otherwise the roster lists the memberships)",
    )


def _checked_keys(value: dict[str, _T]) -> dict[str, _T]:
    for key in value:
        if not re.fullmatch(TERM_KEY, key):
            raise refuse("rule.term.bad_key", None, key=key)
    return value


def checked_terms(value: dict[str, _T]) -> dict[str, _T]:
    """A section's keys must be plain names (``village``: letters, digits, ``_``)."""
    return _checked_keys(value)


class Condition(_Strict):
    """One condition of ``applies_when``: on an attribute of the organisation, or on a group it has."""

    attribute: str | None = Field(default=None, min_length=1, description="组织属性 an attribute of the kind")
    has_group: TermName | None = Field(default=None, description="组织设有此小组 the organisation has this group")
    lacks_group: TermName | None = Field(default=None, description="组织未设此小组 it has no such group")
    at_least: float | dt.date | None = None
    more_than: float | dt.date | None = None
    at_most: float | dt.date | None = None
    less_than: float | dt.date | None = None
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one(self) -> Condition:
        subjects = [x for x in (self.attribute, self.has_group, self.lacks_group) if x is not None]
        tests = self.tests()
        if len(subjects) != 1:
            raise refuse("rule.applies_when.subject")
        if self.attribute is not None and len(tests) != 1:
            raise refuse("rule.applies_when.test")
        if self.attribute is None and tests:
            raise refuse("rule.applies_when.group_test")
        return self

    def tests(self) -> list[tuple[str, object]]:
        """The comparison (name, value) the condition makes; one for an attribute condition."""
        out: list[tuple[str, object]] = []
        for name in ("at_least", "more_than", "at_most", "less_than", "equals", "in_"):
            value = getattr(self, name)
            if value is not None:
                out.append((name.rstrip("_"), value))
        return out
