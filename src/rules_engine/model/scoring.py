"""The scoring file (考核评分): weights per rule or severity, what each status earns, caps per rule, and the
table that maps organisation kinds to localities and departments (三实三弱 diagnostics).

A finding of weight *w* can earn ``w × credit`` of ``w`` possible points, the credit being the value its
status has in ``statuses``. ``waived`` and ``not_applicable`` are always neutral (neither earned nor
possible); ``undeterminable`` is always counted apart (shown, never scored: not as fulfilled, not as
violated); ``pending`` is neutral unless the file gives it a credit. See ``docs/closed-loop.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .findings import Bilingual
from .refusal import refuse
from .rules import Severity
from .vocab import Miss, miss_error, standard

SCORING_FORMAT: Literal["rules-engine/scoring/v1"] = "rules-engine/scoring/v1"

Group = Literal["locality", "department"]


def default_groups() -> dict[str, Group]:
    """The declared table: which organisation kinds are localities (地方) and which departments (部门), as the
    standard vocabulary flags them (``locality: true``, ``department: true``); a kind flagged neither (grassroots
    organisations) belongs to neither group (its findings are counted apart)."""
    vocabulary = standard()
    out: dict[str, Group] = {kind: "locality" for kind in vocabulary.localities}
    out.update({kind: "department" for kind in vocabulary.departments})
    return out


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(_Model):
    """The weight of one finding: its rule's (``rules``), else its severity's (``severity``), else ``default``."""

    default: float = Field(
        default=1, ge=0, description="默认权重 weight of a finding whose rule and severity are not listed"
    )
    severity: dict[Severity, float] = Field(
        default_factory=dict, description="按严重程度的权重 weight per severity (low, medium, high, critical)"
    )
    rules: dict[str, float] = Field(default_factory=dict, description="按规则的权重 weight per rule id (0: not scored)")

    @field_validator("severity", "rules")
    @classmethod
    def _non_negative(cls, value: dict[Any, float]) -> dict[Any, float]:
        for key, weight in value.items():
            if weight < 0:
                shown = key.value if isinstance(key, Severity) else key
                raise refuse("scoring.weight.negative", None, key=str(shown), weight=str(weight))
        return value


class Statuses(_Model):
    """What each status earns, as a share of the finding's weight (a credit from 0 to 1)."""

    fulfilled: float = Field(default=1, ge=0, le=1, description="已履行 credit of a fulfilled finding (default 1)")
    violated: float = Field(default=0, ge=0, le=1, description="未履行 credit of a violated finding (default 0)")
    pending: float | Literal["neutral"] = Field(
        default="neutral",
        description="期限未到 neutral (default: the window is not over, so neither earned nor possible) or a credit "
        "from 0 to 1",
    )
    waived: Literal["neutral"] = Field(default="neutral", description="已豁免 always neutral")
    not_applicable: Literal["neutral"] = Field(default="neutral", description="不适用 always neutral")
    undeterminable: Literal["apart"] = Field(
        default="apart", description="无法判定 always counted apart: shown, never scored as fulfilled or violated"
    )

    @field_validator("pending")
    @classmethod
    def _pending_range(cls, value: float | str) -> float | str:
        if not isinstance(value, str) and not 0 <= value <= 1:
            raise refuse("scoring.pending.out_of_range", None, value=str(value))
        return value

    @model_validator(mode="after")
    def _order(self) -> Statuses:
        if self.fulfilled <= self.violated:
            raise refuse("scoring.credits.order", None, fulfilled=str(self.fulfilled), violated=str(self.violated))
        return self


class Groups(_Model):
    """Organisation kinds counted as localities (地方) and as departments (部门) in the 三实三弱 diagnostics."""

    locality: list[str] = Field(default_factory=list, description="地方 kinds counted as localities")
    department: list[str] = Field(default_factory=list, description="部门 kinds counted as departments")

    @field_validator("locality", "department", mode="before")
    @classmethod
    def _kind_words(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            if isinstance(item, str):
                found = standard().lookup("kind", item)
                if isinstance(found, Miss):
                    raise miss_error("scoring.groups.unknown_kind", found)
                item = found
            out.append(item)
        return out

    @model_validator(mode="after")
    def _apart(self) -> Groups:
        both = sorted(set(self.locality) & set(self.department))
        if both:
            raise refuse("scoring.groups.overlap", None, kinds=", ".join(both))
        return self

    def table(self) -> dict[str, Group]:
        """The groups as a kind → group table."""
        out: dict[str, Group] = {k: "locality" for k in self.locality}
        out.update({k: "department" for k in self.department})
        return out


class Scoring(_Model):
    """A scoring file (``scoring.yaml``); every key is optional."""

    format: Literal["rules-engine/scoring/v1"] = SCORING_FORMAT
    title: Bilingual | None = Field(default=None, description="名称 the weighting's name")
    example: bool = Field(
        default=False, description="示例 true for a sample weighting that is not an official one (shown in the output)"
    )
    weights: Weights = Field(default_factory=Weights)
    statuses: Statuses = Field(default_factory=Statuses)
    caps: dict[str, float] = Field(
        default_factory=dict,
        description="单项上限 per rule id: the most weight the rule's findings add to one score (possible points "
        "above it are scaled down, with what they earned)",
    )
    groups: Groups | None = Field(
        default=None, description="地方与部门 organisation kinds per group (default: the declared table)"
    )

    @field_validator("caps")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for key, cap in value.items():
            if cap <= 0:
                raise refuse("scoring.cap.not_positive", None, key=key, cap=str(cap))
        return value

    def weight(self, rule_id: str, severity: str) -> float:
        """The weight of one finding of `rule_id` with `severity`."""
        if rule_id in self.weights.rules:
            return self.weights.rules[rule_id]
        for sev, value in self.weights.severity.items():
            if sev.value == severity:
                return value
        return self.weights.default

    def credit(self, status: str) -> float | None:
        """The share of its weight a finding of `status` earns; None when the status is not scored."""
        if status == "fulfilled":
            return self.statuses.fulfilled
        if status == "violated":
            return self.statuses.violated
        if status == "pending" and not isinstance(self.statuses.pending, str):
            return self.statuses.pending
        return None

    def group_table(self) -> dict[str, Group]:
        """Organisation kinds to localities and departments: the file's ``groups``, else the declared table."""
        return default_groups() if self.groups is None else self.groups.table()
