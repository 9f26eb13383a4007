"""Findings and the report: what an evaluation returns (and what ``--format json`` prints)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import Location, Problem
from ..outcome import DEFAULT_FAIL_ON, exit_code
from ..texts import Arg, text
from .rules import Severity

if TYPE_CHECKING:  # the data-frame libraries are optional extras, imported when asked for
    import pandas
    import polars
    import pyarrow

REPORT_FORMAT = "rules-engine/report/v1"


class Status(str, Enum):
    fulfilled = "fulfilled"  # 已履行
    violated = "violated"  # 未履行
    pending = "pending"  # 期限未到
    not_applicable = "not_applicable"  # 不适用
    undeterminable = "undeterminable"  # 无法判定
    waived = "waived"  # 已豁免

    @property
    def zh(self) -> str:
        return {
            "fulfilled": "已履行",
            "violated": "未履行",
            "pending": "期限未到",
            "not_applicable": "不适用",
            "undeterminable": "无法判定",
            "waived": "已豁免",
        }[self.value]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Bilingual(_Out):
    zh: str
    en: str

    @classmethod
    def of(cls, key: str, /, **values: Arg) -> Bilingual:
        """The texts of `key` in :mod:`rules_engine.texts` (a ``note.*`` or ``label.*``), filled from `values`."""
        zh, en = text(key, **values)
        return cls(zh=zh, en=en)


class PersonRef(_Out):
    id: str
    name: str
    role: str | None = None


class SubjectRef(_Out):
    """Who bears the duty: an organisation, a person, a person's portfolio area, a pair, or a trigger record."""

    kind: str
    id: str
    name: str
    role: str | None = None
    portfolio: str | None = None
    second: PersonRef | None = None
    record: str | None = None


class OrgRef(_Out):
    id: str
    name: str
    kind: str


class DateRange(_Out):
    """Days from `start` to `end`, both included (``datetime.date``; ``YYYY-MM-DD`` in JSON)."""

    start: dt.date
    end: dt.date
    label: str = ""


class Clause(_Out):
    document: str
    article: int | None = None
    paragraph: int | None = None
    item: int | None = None
    text: str | None = None
    label: str
    provenance: str
    confidence: str


class Rejected(_Out):
    record: str
    reason: Bilingual


class WaiverRef(_Out):
    """The waiver that matched a finding: applied (status ``waived``) or expired (no effect)."""

    id: str
    justification: str
    approved_by: str
    expires: dt.date
    source: str
    expired: bool
    status_without_waiver: Status | None = Field(description="what the finding would be without the waiver")


class Finding(_Out):
    rule_id: str
    rule_title: Bilingual
    pack: str
    pack_version: str
    status: Status
    subject: SubjectRef
    organisation: OrgRef
    period: DateRange = Field(description="the duty's period (e.g. 2024-H1)")
    window: DateRange = Field(description="the part of the period judged (post held, rule in force, deadline)")
    clause: Clause
    expected: Bilingual
    actual: Bilingual
    count: int
    evidence: list[str]
    rejected: list[Rejected]
    severity: Severity
    message: Bilingual
    reason: Bilingual
    params: dict[str, Any] = Field(description="parameter values used, with the pack that set each")
    waiver: WaiverRef | None = None


class FindingModels:
    """Makes the :class:`Finding` models of one evaluation from their JSON-ready dicts (as
    :func:`rules_engine.findings.finding_dict` gives them, or a parsed v1 line), validated as
    ``Finding.model_validate`` validates them, to the same values. The parts that many findings share (a rule's
    title, clause and expected text, an organisation, a period or window, a count's text, a reason, a subject's
    several duties) are made once and shared between the findings (models are frozen): 154,733 findings took
    1.46 GB instead of 2.28. A part that does not validate is validated again with its finding, so that the
    error names the finding's field."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: dict[tuple[Any, ...], Any] = {}

    def __call__(self, found: dict[str, Any]) -> Finding:
        made = dict(found)  # (finding_dict's dict is read-only: its rule's parts are shared)
        try:
            for name in _BILINGUAL_PARTS:
                made[name] = self._part(Bilingual, found[name])
            for name in _RANGE_PARTS:
                made[name] = self._part(DateRange, found[name])
            made["organisation"] = self._part(OrgRef, found["organisation"])
            made["clause"] = self._part(Clause, found["clause"])
            made["subject"] = self._subject(found["subject"])
        except (AttributeError, KeyError, TypeError, ValidationError):  # (not a finding: validated whole, located)
            return Finding.model_validate(found)
        return Finding.model_validate(made)

    def _part(self, model: type[_Out], value: Any) -> Any:
        key = (model, *value.items())
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = model.model_validate(value)
        return part

    def _subject(self, value: Any) -> Any:
        second = value.get("second")
        key = (SubjectRef, *value.items())
        if second is not None:  # (a pair: the second person's dict in the key by its items)
            key = (SubjectRef, *((k, v) for k, v in value.items() if k != "second"), *second.items())
        part = self._parts.get(key)
        if part is None:
            part = self._parts[key] = SubjectRef.model_validate(value)
        return part


_BILINGUAL_PARTS = ("rule_title", "expected", "actual", "reason")
_RANGE_PARTS = ("period", "window")


class Rejection(_Out):
    """An input row that was not used, with where it was and why: a row
    :class:`~rules_engine.errors.Problem` as the report writes it."""

    source: str
    line: int
    field: str | None
    value: str | None
    reason: Bilingual
    record_id: str | None = None
    code: str | None = Field(
        default=None,
        description="the reason code, e.g. row.date.invalid (texts in rules_engine.texts); "
        "null in reports written before codes were added",
    )

    def as_problem(self) -> Problem:
        """The row as a :class:`~rules_engine.errors.Problem`: ``str()`` of it prints
        ``file:line: code: message (English)``, as rule problems are printed."""
        return Problem(
            self.code or "row", self.reason.zh, self.reason.en, Location(self.source, self.line, 0, self.field or "")
        )


class SourceAccount(_Out):
    """Rows (roster: units) of one source: ``read == used + rejected + excluded``."""

    source: str
    kind: str
    read: int
    used: int
    rejected: int = Field(description="rows with a data problem, listed in input.rejections")
    excluded: int = Field(
        default=0, description="rows set aside without a data problem (e.g. dated after as_of), in input.excluded"
    )


class InputAccount(_Out):
    sources: list[SourceAccount]
    rejections: list[Rejection]
    excluded: list[Rejection] = Field(
        default_factory=list,
        description="rows set aside that cannot change any finding: dated after the evaluation date (not "
        "knowable then), identical duplicates, dated outside every period evaluated",
    )
    warnings: list[Rejection] = Field(
        default_factory=list, description="rows used, with something to check (e.g. people not on the roster)"
    )


class PackRef(_Out):
    id: str
    version: str
    sha256: str
    rules: list[str]


class InputHash(_Out):
    source: str
    kind: str
    sha256: str | None = Field(description="null for records handed over as Python objects")
    bytes: int | None = None


class Receipt(_Out):
    """What produced this report, so that it can be re-checked (``rules-engine verify``)."""

    library: str
    version: str
    period: str
    as_of: dt.date
    packs: list[dict[str, str]]
    params: dict[str, dict[str, Any]]
    max_evidence: int
    waivers: list[dict[str, str]]
    inputs: list[InputHash]


class Report(_Out):
    """The result of one evaluation. Iterating over it gives its findings (``for f in report``), and
    ``len(report)`` is their number; a report is true even with no findings (it still has a summary).

    The data-frame methods (:meth:`to_arrow`, :meth:`to_polars`, :meth:`to_pandas`) give one row per finding
    with the columns of the CSV output (``rules_engine.render.csv.COLUMNS``); each needs its library
    (``pip install 'duty-rules-engine[dataframes]'``) and says so when it is missing."""

    format: str = REPORT_FORMAT
    period: DateRange
    as_of: dt.date
    summary: dict[str, int]
    rules: list[PackRef]
    input: InputAccount
    receipt: Receipt
    findings: list[Finding]

    def __iter__(self) -> Iterator[Finding]:  # type: ignore[override]  # pydantic iterates over (field, value)
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __bool__(self) -> bool:
        return True

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.violated]

    def by_status(self, status: Status | str) -> list[Finding]:
        return [f for f in self.findings if f.status == Status(status)]

    def by_org(self) -> dict[str, list[Finding]]:
        """The findings per organisation id: keys sorted, each list in report order."""
        return _grouped(self.findings, lambda f: f.organisation.id)

    def by_rule(self) -> dict[str, list[Finding]]:
        """The findings per rule id: keys sorted, each list in report order."""
        return _grouped(self.findings, lambda f: f.rule_id)

    def by_person(self) -> dict[str, list[Finding]]:
        """The findings whose duty-bearer is a person (subject kind ``person``, ``portfolio`` or ``pair``), per
        person id: keys sorted, each list in report order. The second person of a pair is not its duty-bearer
        and is not a key for that finding; findings of organisations and trigger records are left out."""
        return _grouped((f for f in self.findings if f.subject.kind in PERSON_KINDS), lambda f: f.subject.id)

    def to_arrow(self) -> pyarrow.Table:
        """The findings as a ``pyarrow.Table`` with the CSV columns (the ``parquet`` or ``dataframes`` extra)."""
        from ..render.frames import findings_arrow

        return findings_arrow(self.findings)

    def to_polars(self) -> polars.DataFrame:
        """The findings as a ``polars.DataFrame`` with the CSV columns (the ``dataframes`` extra)."""
        from ..render.frames import findings_polars

        return findings_polars(self.findings)

    def to_pandas(self) -> pandas.DataFrame:
        """The findings as a ``pandas.DataFrame`` with the CSV columns (needs pandas installed)."""
        from ..render.frames import findings_pandas

        return findings_pandas(self.findings)

    def exit_code(self, fail_on: str | Iterable[str] = DEFAULT_FAIL_ON) -> int:
        """What this report means for a CI gate (the command line's exit code): 1 violations, 4 no violation
        but incomplete (undeterminable findings or rejected input rows), 0 otherwise; `fail_on` chooses
        the conditions (see :mod:`rules_engine.outcome`)."""
        return exit_code(self.summary, len(self.input.rejections), fail_on)


#: Subject kinds whose duty-bearer is a person (:meth:`Report.by_person`).
PERSON_KINDS = frozenset({"person", "portfolio", "pair"})


def _grouped(findings: Iterable[Finding], key: Any) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(key(f), []).append(f)
    return {k: groups[k] for k in sorted(groups)}
