"""The roster: organisations, people, and the posts they hold (role, portfolio areas, term of office).

Roles and organisation kinds may be written in Chinese or English (``书记`` or ``secretary``; the
words are in :mod:`rules_engine.model.vocab`); an unknown word is refused with a "did you mean".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .refusal import refuse
from .rules import OrgKind, Role
from .vocab import kind_problem, kind_value, role_problem, role_value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _word(value: Any, enum: type, lookup: Callable[[str], Any], problem: Callable[[str], PydanticCustomError]) -> Any:
    """A Chinese or English word of the shared vocabulary as its code; an unknown word refused with its
    did-you-mean (values already of `enum`, and non-strings, go on to pydantic's own check)."""
    if isinstance(value, str) and not isinstance(value, enum):
        code = lookup(value)
        if code is None:
            raise problem(value)
        return code
    return value


class Organisation(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: OrgKind
    level: str | None = Field(default=None, description="层级 e.g. county, township")
    parent: str | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_word(cls, value: Any) -> Any:
        return _word(value, OrgKind, kind_value, kind_problem)


class Post(_Model):
    """One term in one post: who, where, which role, which portfolio areas, from when to when."""

    org: str = Field(min_length=1)
    role: Role
    portfolios: list[str] = Field(default_factory=list, description="分管领域 portfolio areas")
    start: dt.date
    end: dt.date | None = None

    @field_validator("role", mode="before")
    @classmethod
    def _role_word(cls, value: Any) -> Any:
        return _word(value, Role, role_value, role_problem)

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
        return self
