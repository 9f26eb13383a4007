"""The rule file format (``rules-engine/v2``, and ``v1`` as before): pydantic models for pack manifests and rule
files.

A pack is a folder with ``pack.yaml`` (the manifest) and rule files (``*.yaml``, each with a
``rules:`` list). The JSON Schema published by ``rules-engine schema`` is generated from these
models, so editors validate and complete rule files with exactly what the loader accepts.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import typing
from enum import Enum
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from ..errors import did_you_mean
from ..periods import Granularity
from ..texts import message
from .refusal import refuse
from .terms import Condition as OrgCondition
from .terms import GroupTerm, KindTerm, RoleTerm, TermName, checked_terms

FORMAT: Literal["rules-engine/v1"] = "rules-engine/v1"
FORMAT_V2: Literal["rules-engine/v2"] = "rules-engine/v2"
Format = Literal["rules-engine/v1", "rules-engine/v2"]
_ID = r"^[A-Za-z][A-Za-z0-9_.\-]*$"
_FIELD_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
_MONTH_DAY = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Text(_Strict):
    """A text in Chinese (first) and English."""

    zh: Annotated[str, Field(min_length=1, description="中文")]
    en: Annotated[str, Field(min_length=1, description="English")]


class Severity(str, Enum):
    """How serious a breach of the rule is, ordered: ``low < medium < high < critical`` (comparisons and
    ``sorted`` follow that order, not the alphabet). Equal to its text (``Severity.high == "high"``),
    printed and serialised as it (``high``)."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        """0 for ``low`` up to 3 for ``critical``."""
        return _SEVERITY_RANK[self.value]

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __lt__(self, other: object) -> bool:
        return self.rank < _rank_of(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= _rank_of(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _rank_of(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _rank_of(other)

    __hash__ = str.__hash__  # (defining comparisons must not lose the hash: Severity.high == "high")


_SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def _rank_of(other: object) -> int:
    """The rank of a severity or of its text (``"high"``); anything else cannot be ordered against one."""
    rank = _SEVERITY_RANK.get(other) if isinstance(other, str) else None
    if rank is None:
        raise TypeError(message("arg.severity.compare", other=repr(other)))
    return rank


class Basis(str, Enum):
    """How sure we are of the text a rule enforces (see domain notes)."""

    verified_text = "verified_text"  # 核实的原文
    commentary = "commentary"  # 释义/解读中引用
    local_practice = "local_practice"  # 地方做法
    draft = "draft"  # 草稿：由 rules-engine draft 从条文起草，未经人工核对（lint --release 拒绝）


Confidence = Literal["high", "medium-high", "medium", "low"]
CONFIDENCE_RANK: dict[str, int] = {"low": 0, "medium": 1, "medium-high": 2, "high": 3}


class Grounds(str, Enum):
    """What one number or one condition of a rule rests on (provenance.numbers / provenance.conditions)."""

    verified_text = "verified_text"  # 规定原文，已核实（须有注明出处 seen_in 的 sources 条目）
    commentary = "commentary"  # 释义、解读中引用或转述
    local_practice = "local_practice"  # 地方做法：本规则包选定的常见做法
    inference = "inference"  # 本规则包的推断：由其他条文、其他文件或释义推出
    tolerance = "tolerance"  # 本规则包的容差（如在岗天数），不是任何文件的要求

    @property
    def zh(self) -> str:
        return GROUNDS_ZH[self.value]


GROUNDS_ZH = {
    "verified_text": "规定原文（已核实）",
    "commentary": "释义",
    "local_practice": "地方做法（本规则包的选择）",
    "inference": "本规则包的推断",
    "tolerance": "本规则包的容差",
}


class Wording(str, Enum):
    """What the quoted ``text`` is: the regulation's words, a summary, commentary, or the pack's own wording."""

    quoted = "quoted"  # 原文引文（逐字）
    summary = "summary"  # 摘要或转述
    commentary = "commentary"  # 释义的表述，不是规定原文
    reconstructed = "reconstructed"  # 本规则包据资料整理的表述，不是原文

    @property
    def zh(self) -> str:
        return {
            "quoted": "原文引文",
            "summary": "摘要或转述",
            "commentary": "释义的表述，非规定原文",
            "reconstructed": "本规则包整理的表述，非原文",
        }[self.value]


class Citation(_Strict):
    document: str = Field(description="文件名称 source document, e.g. 《党委（党组）落实全面从严治党主体责任规定》")
    chapter: StrictInt | None = Field(default=None, ge=1, description="章 chapter (where the article is not known)")
    article: StrictInt | None = Field(default=None, ge=1, description="条 article")
    article_verified: bool = Field(
        default=True,
        description="false：条文序号未核实，标签中注明 false: the article number is not verified; the label says so",
    )
    paragraph: StrictInt | None = Field(default=None, ge=1, description="款 paragraph")
    item: StrictInt | None = Field(default=None, ge=1, description="项 item")
    text: str | None = Field(default=None, description="引文或摘要 quoted or summarised text")
    wording: Wording | None = Field(
        default=None,
        description="text 是什么：quoted 原文引文 | summary 摘要或转述 | commentary 释义的表述 | reconstructed 本规则包"
        "整理的表述 what `text` is: the regulation's words, a summary, commentary's words, or the pack's own wording",
    )

    def label(self) -> str:
        parts = [self.document]
        if self.chapter:
            parts.append(f"第{self.chapter}章")
        if self.article:
            parts.append(f"第{self.article}条")
        if self.paragraph:
            parts.append(f"第{self.paragraph}款")
        if self.item:
            parts.append(f"第{self.item}项")
        if self.article and not self.article_verified:
            parts.append("（条文序号未核实）")
        if self.wording is Wording.commentary:
            parts.append("（释义）")
        return "".join(parts)


class Source(Citation):
    """One source a rule draws on, named so that ``numbers`` and ``conditions`` can point at it."""

    id: Annotated[str, Field(pattern=_ID, description="出处编号，供 numbers/conditions 引用 id to refer to it")]
    basis: Basis = Field(
        description="文本从何得知：verified_text 读过规定原文（须写 seen_in）| commentary 见于释义、解读"
        " | local_practice 地方文件或做法 how the text is known: read in the regulation itself (needs seen_in),"
        " quoted or paraphrased in commentary, or a local document or practice"
    )
    seen_in: str | None = Field(
        default=None,
        min_length=1,
        description="在何处见到该文本：出版物、版次与页码，或网址与查阅日期 where the text was seen: publication,"
        " edition and page, or address and date read (required for verified_text, so the claim can be checked)",
    )
    note: Text | None = None


NumberName = Literal[
    "period",
    "at_least",
    "at_most",
    "window",
    "within_days",
    "min_share",
    "min_days_in_post",
    "raise_at",
    "raise_share",
    "quorum",
]
NUMBER_NAMES: tuple[str, ...] = typing.get_args(NumberName)


class _Part(_Strict):
    basis: Grounds = Field(
        description="verified_text 规定原文 | commentary 释义 | local_practice 地方做法 | inference 本规则包的推断"
        " | tolerance 本规则包的容差"
    )
    confidence: Confidence | None = Field(
        default=None, description="可信度；容差不写 confidence; none for a tolerance (a choice, not a claim)"
    )
    sources: list[Annotated[str, Field(pattern=_ID)]] = Field(
        default_factory=list,
        description="依据的出处：provenance.sources 中的 id，或 citation the ids in provenance.sources, or 'citation'",
    )

    @model_validator(mode="after")
    def _confidence(self) -> _Part:
        if self.basis is Grounds.tolerance and self.confidence is not None:
            raise refuse("provenance.tolerance_confidence")
        if self.basis is not Grounds.tolerance and self.confidence is None:
            raise refuse("provenance.no_confidence", None, basis=self.basis.value)
        return self


class NumberProvenance(_Part):
    """Where one number the rule enforces comes from (期间、次数、时限、比例、在岗天数、升级阈值)."""

    param: NumberName = Field(
        description="参数名 the parameter: a key of params, or raise_at / raise_share of an escalation rule"
    )
    note: Text | None = None


class ConditionProvenance(_Part):
    """Where a condition that is not a number comes from: the duty itself, who bears it, which records count."""

    about: Literal["duty", "bearer", "evidence"] = Field(
        description="duty 职责本身 | bearer 承担者（对象、组织类型）| evidence 哪些记录算作证据"
    )
    note: Text


class Provenance(_Strict):
    basis: Basis = Field(
        description="职责本身的依据 verified_text | commentary | local_practice | draft（草稿，未经人工核对，"
        "lint --release 拒绝 a draft not yet reviewed by a person: lint --release refuses it）"
    )
    confidence: Confidence = Field(
        default="medium",
        description="整条规则的可信度，不高于 numbers/conditions 中任何一项 the rule's: at most each part's",
    )
    note: str | None = None
    sources: list[Source] = Field(
        default_factory=list,
        description="出处，每项注明条款与文本从何得知 the sources, each saying how its text is known",
    )
    numbers: list[NumberProvenance] = Field(
        default_factory=list,
        description="每个数字的依据：原文、释义或本规则包的选择 for each number: text, commentary or the pack's choice",
    )
    conditions: list[ConditionProvenance] = Field(
        default_factory=list, description="数字以外的条件的依据 where the conditions other than numbers come from"
    )


class Effective(_Strict):
    from_: dt.date = Field(alias="from", description="施行日期 in force from")
    to: dt.date | None = Field(default=None, description="废止日期 in force to (inclusive)")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _order(self) -> Effective:
        if self.to is not None and self.to < self.from_:
            raise refuse("rule.effective.ends_before_start", None, start=str(self.from_), end=str(self.to))
        return self


class SubjectKind(str, Enum):
    organisation = "organisation"  # each organisation of the covered kinds
    person = "person"  # each holder of one of `roles`
    portfolio = "portfolio"  # each portfolio area of each holder of `roles`
    pair = "pair"  # each (first, second) pair of distinct team members
    trigger = "trigger"  # each record of the trigger types (relative deadlines)


class PairGroup(_Strict):
    """The second people of a pair drawn from a group of the organisation (its members on the window)."""

    group: TermName = Field(description="小组 a group declared in the vocabulary")


class PairSpec(_Strict):
    first: list[TermName] = Field(min_length=1, description="第一方的职务 roles of the first person")
    second: list[TermName] | PairGroup = Field(
        description="第二方的职务，或 {group: 小组} roles of the second person, or {group: NAME}"
    )
    ordered: bool = Field(default=True, description="false: (a, b) and (b, a) are one pair")


PersonRef = Literal["subject", "first", "second", "secretary"]
PERSON_REFS: tuple[str, ...] = typing.get_args(PersonRef)

#: The fields every record has (or may have) without a declaration.
BUILTIN_FIELDS = ("id", "org", "type", "date", "chair", "participants", "portfolio", "tags", "text")
FieldType = Literal["person", "people", "text", "tag", "number", "date", "boolean"]
FIELD_TYPES: tuple[str, ...] = typing.get_args(FieldType)


class RecordField(_Strict):
    """A field records may carry beyond the built-in ones (``pack.yaml``'s ``record_fields``), with its type and
    the names a table's header may give it (zh, en and aliases, besides the key)."""

    type: FieldType = Field(
        description="person 一人（编号）| people 多人 | text 文字 | tag 词 | number 数 | date 日期 | boolean 是否"
    )
    zh: Annotated[str, Field(min_length=1, description="中文名（表头可用）")]
    en: Annotated[str, Field(min_length=1, description="English name (usable as a table header)")]
    aliases: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="表头的其他写法 other words a table header may use"
    )


Scalar = StrictBool | StrictInt | float | dt.date | str


class Condition(_Strict):
    """A condition on one field of a record (``match.where``); every key given must hold."""

    equals: Scalar | None = Field(default=None, description="等于 equals")
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1, description="属于其一 one of")
    contains: str | None = Field(default=None, min_length=1, description="文字包含 text contains")
    includes: list[PersonRef] | None = Field(
        default=None, min_length=1, description="多人字段包含这些人 a people field includes all of these"
    )
    at_least: StrictInt | float | dt.date | None = Field(default=None, description="不少于 at least")
    more_than: StrictInt | float | dt.date | None = Field(default=None, description="多于 more than")
    at_most: StrictInt | float | dt.date | None = Field(default=None, description="不多于 at most")
    less_than: StrictInt | float | dt.date | None = Field(default=None, description="少于 less than")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _some(self) -> Condition:
        if not self.model_dump(exclude_none=True):
            raise refuse("rule.where.empty")
        return self


WhereValue = StrictBool | StrictInt | float | dt.date | str | Condition


class Match(_Strict):
    """Which records count as evidence. References are resolved per subject."""

    types: list[str] = Field(min_length=1, description="记录类型 record types (declared in pack.yaml)")

    @field_validator("types")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        repeated = sorted({t for t in value if value.count(t) > 1})
        if repeated:
            raise refuse("rule.match.repeated_type", None, types=", ".join(repeated))
        return value

    tags_any: list[str] = Field(default_factory=list, description="至少含一个标签 at least one of these tags")
    tags_all: list[str] = Field(default_factory=list, description="含全部标签 all of these tags")
    chair: PersonRef | None = Field(default=None, description="主持人/组织者 is this person")
    participants: list[PersonRef] = Field(
        default_factory=list, description="这些人均在参加人员中（主持人视为参加） all of these took part"
    )
    portfolio: Literal["subject"] | None = Field(
        default=None, description="记录的分管领域等于对象的分管领域 record's portfolio area is the subject's"
    )
    where: dict[str, WhereValue] = Field(
        default_factory=dict,
        description="按字段筛选：键为 record_fields 中声明的字段（或 chair、portfolio、date），值为相等的值或条件；"
        "缺少该字段的记录不计入 filters on declared record fields (or chair, portfolio, date): a value to equal or a"
        " condition; a record lacking the field does not count",
    )


class Window(_Strict):
    """A deadline window inside each period, as month-day bounds (e.g. Q4: from 10-01)."""

    from_: Annotated[str, Field(pattern=_MONTH_DAY)] | None = Field(default=None, alias="from")
    to: Annotated[str, Field(pattern=_MONTH_DAY)] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("from_", "to")
    @classmethod
    def _real_day(cls, value: str | None) -> str | None:
        if value is not None:
            month, day = (int(part) for part in value.split("-"))
            try:
                dt.date(2024, month, day)  # a leap year: 02-29 is allowed (it means 02-28 in common years)
            except ValueError:
                raise refuse("rule.window.no_such_day", None, day=value) from None
        return value


def share_fraction(value: object) -> Fraction:
    """A share (``min_share``, ``raise_share``) as a fraction in (0, 1]; refused with its code otherwise."""
    if isinstance(value, bool):
        raise refuse("rule.share.invalid", None, value=repr(value))
    if isinstance(value, (int, float)):
        share = Fraction(value).limit_denominator(1000)
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*/\s*\d+\s*|\s*\d*\.?\d+\s*", value):
        try:
            share = Fraction(value.replace(" ", ""))
        except ZeroDivisionError:
            raise refuse("rule.share.divides_by_zero", None, value=repr(value)) from None
    else:
        raise refuse("rule.share.invalid", None, value=repr(value))
    if not 0 < share <= 1:
        raise refuse("rule.share.out_of_range", None, value=repr(value))
    return share


def exact_share(value: object) -> Fraction:
    """A quorum's share as an exact fraction: ``'1/2'``, ``'0.5'``, ``0.5`` (read as the decimal written, never
    approximated), ``1``; refused with its code when it is not a number between 0 and 1."""
    if isinstance(value, bool):
        raise refuse("rule.share.invalid", None, value=repr(value))
    if isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, str):
        text = value.replace(" ", "")
    else:
        raise refuse("rule.share.invalid", None, value=repr(value))
    if not re.fullmatch(r"\d+/\d+|\d*\.?\d+", text):
        raise refuse("rule.share.invalid", None, value=repr(value))
    try:
        share = Fraction(text)
    except ZeroDivisionError:
        raise refuse("rule.share.divides_by_zero", None, value=repr(value)) from None
    if not 0 <= share <= 1:
        raise refuse("rule.share.out_of_range", None, value=repr(value))
    return share


class QuorumGroup(_Strict):
    group: Annotated[str, Field(min_length=1, description="组织内的小组 a group within the organisation")]


class Quorum(_Strict):
    """A record counts only when enough of a body attended: ``more_than`` or ``at_least`` a share of it, exact for
    any size (attendees x q > p x n, or >=, in integers)."""

    more_than: str | StrictInt | float | None = Field(default=None, description="多于该比例，如 '1/2' more than")
    at_least: str | StrictInt | float | None = Field(default=None, description="不少于该比例，如 '2/3' at least")
    of: Literal["organisation", "team"] | QuorumGroup = Field(
        default="organisation",
        description="organisation 记录当日在该组织任职的全部人员 | team 班子成员 | {group: NAME} 该小组成员"
        " everyone holding a post on the record's date | the leading team | the group's members",
    )
    attendees: str = Field(
        default="participants",
        min_length=1,
        description="计到会的人员字段（默认 participants，含主持人）the people field counted (default participants,"
        " chair included)",
    )

    @model_validator(mode="after")
    def _one(self) -> Quorum:
        if (self.more_than is None) == (self.at_least is None):
            raise refuse("rule.quorum.one_share")
        share = exact_share(self.more_than if self.more_than is not None else self.at_least)
        if self.more_than is not None and share >= 1:
            raise refuse("rule.share.out_of_range", None, value=repr(self.more_than))
        if self.at_least is not None and share == 0:
            raise refuse("rule.share.out_of_range", None, value=repr(self.at_least))
        return self

    @property
    def strict(self) -> bool:
        """True: more than the share; False: at least."""
        return self.more_than is not None

    @property
    def share(self) -> Fraction:
        return exact_share(self.more_than if self.more_than is not None else self.at_least)

    @property
    def group(self) -> str:
        """The body counted: ``organisation``, ``team``, or a group's name."""
        return self.of.group if isinstance(self.of, QuorumGroup) else self.of


MAX_COUNT = 1_000_000_000  # counts and day numbers: far beyond any duty, and within what a report can hold
MAX_WITHIN_DAYS = 3660  # a follow-up deadline of up to ten years


class Params(_Strict):
    """Parameters with defaults; an overlay or the caller may override them per rule."""

    period: Granularity | None = Field(default=None, description="周期 year | half_year | quarter | month")
    at_least: StrictInt | None = Field(
        default=None, ge=0, le=MAX_COUNT, description="至少次数 at least N matching records"
    )
    at_most: StrictInt | None = Field(
        default=None, ge=0, le=MAX_COUNT, description="至多次数 at most N matching records"
    )
    window: Window | None = Field(default=None, description="期内时限 deadline window inside the period")
    within_days: StrictInt | None = Field(
        default=None, ge=0, le=MAX_WITHIN_DAYS, description="触发记录后N天内 within N days after trigger"
    )
    min_share: str | float | None = Field(
        default=None,
        description="到会比例：记录当日在该组织任职的全部人员（任何职务）中参加者（含主持人）的最低占比"
        " minimum attendance share: participants (chair included) among everyone holding a post in the"
        " organisation on the record's date, e.g. '2/3'",
    )
    min_days_in_post: StrictInt | None = Field(
        default=None, ge=0, le=MAX_COUNT, description="在岗不足N天不作评判 judge only subjects in post at least N days"
    )

    @field_validator("min_share")
    @classmethod
    def _share(cls, value: str | float | None) -> str | float | None:
        if value is not None:
            share_fraction(value)
        return value

    def share(self) -> Fraction | None:
        return None if self.min_share is None else share_fraction(self.min_share)

    def merged(self, override: Params) -> Params:
        data = self.model_dump(by_alias=True, exclude_none=True)
        data.update(override.model_dump(by_alias=True, exclude_none=True))
        return Params.model_validate(data)


PLACEHOLDERS = (
    "rule_id",
    "title",
    "subject",
    "organisation",
    "period",
    "window",
    "expected",
    "actual",
    "portfolio",
    "second",
    "clause",
)


class Messages(_Strict):
    """Finding messages by status; placeholders: {subject} {organisation} {period} {expected} ...

    ``violated`` is used when no matching record was found (or more than ``at_most``); ``short`` when some
    were found but fewer than ``at_least`` (without it, the default message, which reads right for any count)."""

    violated: Text | None = None
    short: Text | None = Field(
        default=None, description="violated with a short count: some matching records, fewer than at_least"
    )
    fulfilled: Text | None = None
    pending: Text | None = None

    @field_validator("violated", "short", "fulfilled", "pending")
    @classmethod
    def _placeholders(cls, value: Text | None) -> Text | None:
        if value is None:
            return value
        for text in (value.zh, value.en):
            check_template(text)
        return value


def check_template(text: str) -> None:
    """Refuse unknown placeholders and any attribute, index or format-spec access in a message."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise refuse("rule.message.bad_template", None, error=str(exc)) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise refuse(
                "rule.message.unknown_placeholder", did_you_mean(name, PLACEHOLDERS), placeholder=f"{{{name}}}"
            )
        if spec or conversion:
            raise refuse("rule.message.placeholder_format", None, placeholder=f"{{{name}}}")


LowerStatus = Literal["violated", "undeterminable", "pending", "waived"]


class Escalate(_Strict):
    """A rule that reads findings: raised when a subject's lower findings reach a threshold.

    Counted among the findings of ``rules`` (in the same organisation and evaluation period) whose
    status is in ``status``: ``findings`` (how many), ``portfolios`` (distinct portfolio areas),
    ``rules`` (distinct rule ids) or ``people`` (distinct people holding ``roles``)."""

    rules: list[Annotated[str, Field(pattern=_ID)]] = Field(min_length=1, description="被读取结论的规则编号")
    status: list[LowerStatus] = Field(default=["violated"], description="计入的下级结论状态 lower statuses counted")
    count: Literal["findings", "portfolios", "rules", "people"] = "findings"
    roles: list[TermName] = Field(
        default_factory=list, description="只计这些职务的人员 only findings about these roles"
    )
    with_secretary: bool = Field(
        default=False, description="还须有关于书记本人的结论 also needs one about the secretary"
    )
    raise_at: StrictInt | None = Field(default=None, ge=1, description="计数达到N即升级 raise when the count reaches N")
    raise_share: str | float | None = Field(
        default=None, description="按人数占班子比例升级 raise when people / team members in roles reach this share"
    )

    @model_validator(mode="after")
    def _threshold(self) -> Escalate:
        if (self.raise_at is None) == (self.raise_share is None):
            raise refuse("rule.escalation.threshold")
        if self.raise_share is not None:
            share_fraction(self.raise_share)
            if self.count != "people":
                raise refuse("rule.escalation.share_not_people")
        return self


class Rule(_Strict):
    id: Annotated[str, Field(pattern=_ID, description="稳定编号 stable rule id")]
    title: Text
    description: Text | None = None
    severity: Severity = Severity.medium
    citation: Citation
    provenance: Provenance
    effective: Effective | None = Field(default=None, description="defaults to the pack's effective dates")
    org_kinds: list[TermName] = Field(min_length=1, description="适用的组织类型 organisation kinds covered")
    applies_when: list[OrgCondition] = Field(
        default_factory=list,
        description="适用条件：组织属性或小组；不满足时不适用 conditions on the organisation (all must hold)",
    )
    subject: SubjectKind
    roles: list[TermName] = Field(default_factory=list, description="for subject person / portfolio")
    pair: PairSpec | None = None
    trigger: Match | None = Field(default=None, description="for subject trigger: which records start a deadline")
    match: Match | None = Field(default=None, description="哪些记录计数 which records count (all but escalation rules)")
    escalate: Escalate | None = Field(default=None, description="读取其他规则结论的升级规则 a rule over findings")
    attendance: bool = Field(
        default=False,
        description="true：参加者（含主持人）须达到 min_share true: a record counts only when its participants"
        " (chair included) are at least min_share of everyone holding a post in the organisation on its date",
    )
    quorum: Quorum | None = Field(
        default=None,
        description="到会人数要求：more_than / at_least 一个比例，of 计算的范围 a record counts only with this"
        " attendance",
    )
    params: Params
    messages: Messages = Field(default_factory=Messages)

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        kind = self.subject
        if self.escalate is not None:
            if self.match is not None or kind not in (SubjectKind.organisation, SubjectKind.person):
                raise refuse("rule.escalation.has_match")
            if self.applies_when:  # (it reads the findings of rules that have their own conditions)
                raise refuse("rule.applies_when.escalation")
            if kind is SubjectKind.person and not self.roles:
                raise refuse("rule.subject.no_roles", None, kind=kind.value)
            if self.id in self.escalate.rules:
                raise refuse("rule.escalation.reads_itself", None, rule=self.id)
            if self.params.model_dump(exclude_none=True):
                raise refuse("rule.escalation.params")
            return self
        if self.match is None:
            raise refuse("rule.match.missing")
        if kind in (SubjectKind.person, SubjectKind.portfolio) and not self.roles:
            raise refuse("rule.subject.no_roles", None, kind=kind.value)
        if kind is SubjectKind.pair and self.pair is None:
            raise refuse("rule.subject.no_pair")
        if kind is SubjectKind.trigger and (self.trigger is None or self.params.within_days is None):
            raise refuse("rule.trigger.incomplete")
        if kind is not SubjectKind.trigger and self.params.period is None:
            raise refuse("rule.params.no_period")
        if self.params.at_least is None and self.params.at_most is None:
            raise refuse("rule.params.no_bound")
        if self.attendance and self.params.min_share is None:
            raise refuse("rule.attendance.no_share")
        if self.params.min_share is not None and not self.attendance:
            raise refuse("rule.attendance.share_alone")
        if self.quorum is not None and self.attendance:
            raise refuse("rule.quorum.with_attendance")
        lo, hi = self.params.at_least, self.params.at_most
        if lo is not None and hi is not None and lo > hi:
            raise refuse("rule.params.bounds_reversed", None, at_least=lo, at_most=hi)
        if self.trigger is not None and kind is not SubjectKind.trigger:
            raise refuse("rule.trigger.not_trigger_subject")
        if kind is SubjectKind.trigger and self.params.period is not None:
            raise refuse("rule.trigger.period")
        if kind is not SubjectKind.trigger and self.params.within_days is not None:
            raise refuse("rule.params.within_days")
        allowed_refs = {
            SubjectKind.organisation: {"secretary"},
            SubjectKind.person: {"subject", "secretary"},
            SubjectKind.portfolio: {"subject", "secretary"},
            SubjectKind.pair: {"first", "second", "secretary"},
            SubjectKind.trigger: {"secretary"},
        }[kind]
        refs = [*self.match.participants, *([self.match.chair] if self.match.chair else [])]

        if self.trigger is not None:
            refs += [*self.trigger.participants, *([self.trigger.chair] if self.trigger.chair else [])]

            if self.trigger.portfolio:
                raise refuse("rule.trigger.portfolio")
        for ref in refs:
            if ref not in allowed_refs:
                allowed = ", ".join(sorted(allowed_refs))
                raise refuse("rule.match.ref_not_allowed", None, ref=ref, kind=kind.value, allowed=allowed)
        if self.match.portfolio and kind is not SubjectKind.portfolio:
            raise refuse("rule.match.portfolio")
        return self


class RuleFile(_Strict):
    """A rule file: a list of rules (and optionally a format marker)."""

    format: Format = FORMAT
    rules: list[Rule] = Field(min_length=1)


class Regulation(_Strict):
    id: str
    document: str
    issuer: str | None = None
    issued: dt.date | None = None


class PackInfo(_Strict):
    id: Annotated[str, Field(pattern=_ID)]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    title: Text
    regulation: Regulation
    effective: Effective


class Overlay(_Strict):
    """A local implementation pack: changes another pack's parameters, retires its rules, or adds rules,
    for its own organisations (the listed ones and everything under them)."""

    extends: Annotated[str, Field(pattern=_ID, description="被扩展的规则包 the pack id this overlay extends")]
    organisations: list[str] = Field(
        min_length=1, description="适用范围：这些组织及其下级 these organisations and below"
    )
    params: dict[str, Params] = Field(default_factory=dict, description="按规则编号调整参数 parameters by rule id")
    retire: list[str] = Field(default_factory=list, description="在本地停用的规则 rules not applied here")


class NotCheckable(_Strict):
    """A duty of the regulation that activity records cannot show, and why (listed in COVERAGE.md)."""

    duty: Text
    citation: str = Field(description="条款 where the duty is, e.g. 第六条")
    reason: Text


class Manifest(_Strict):
    """``pack.yaml``: the pack's identity, regulation, effective dates and record-type vocabulary."""

    format: Format = FORMAT
    pack: PackInfo
    imports: list[Annotated[str, Field(pattern=_ID)]] = Field(
        default_factory=list,
        description="导入其词表的规则包（v1 规则包隐含导入 cpc-basic）packs whose kinds, roles and groups this pack"
        " uses (a v1 pack imports cpc-basic implicitly)",
    )
    org_kinds: dict[str, KindTerm] = Field(default_factory=dict, description="本规则包声明的组织类型 kinds declared")
    roles: dict[str, RoleTerm] = Field(default_factory=dict, description="本规则包声明的职务 roles declared")
    groups: dict[str, GroupTerm] = Field(
        default_factory=dict, description="组织内的小组（如支委会）groups inside an organisation"
    )
    overlay: Overlay | None = Field(default=None, description="地方实施规则包 this pack is a local overlay")
    record_types: dict[str, Text] = Field(default_factory=dict, description="记录类型词表 record-type vocabulary")
    record_fields: dict[Annotated[str, Field(pattern=_FIELD_NAME)], RecordField] = Field(
        default_factory=dict,
        description="记录可带的字段（内置字段以外），含类型 typed fields records may carry beyond the built-in ones",
    )
    portfolio_areas: list[str] = Field(default_factory=list, description="分管领域参考词表 (informative)")
    not_checkable: list[NotCheckable] = Field(
        default_factory=list, description="记录无法反映的职责及原因 duties records cannot show, with the reason"
    )

    @field_validator("org_kinds", "roles", "groups")
    @classmethod
    def _term_keys(cls, value: dict[str, typing.Any]) -> dict[str, typing.Any]:
        return checked_terms(value)

    @model_validator(mode="after")
    def _vocabulary(self) -> Manifest:
        declares = self.org_kinds or self.roles or self.groups
        if not self.record_types and self.overlay is None and not declares:
            raise refuse("rule.record_types.missing")
        for name in self.record_fields:
            if name in BUILTIN_FIELDS:
                raise refuse("rule.record_fields.builtin", None, name=name)
        return self

    def imported(self) -> list[str]:
        """The packs whose terms this pack's names may mean: its imports (a v1 pack's: cpc-basic as well)."""
        if self.format == FORMAT and "cpc-basic" not in self.imports:
            return [*self.imports, "cpc-basic"]
        return list(self.imports)
