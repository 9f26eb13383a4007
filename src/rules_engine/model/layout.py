"""The two JSON layouts of a report, and reading either back into a :class:`Report`.

``rules-engine/report/v1`` writes every finding whole: the rule's title, clause, expected count, severity and
parameters again in each of its findings. ``rules-engine/report/v2`` (for large runs) writes those once per
rule variant, in a ``rules`` table keyed by rule id (``ZZ-DW-01``; a second variant of the same id, e.g. the
same rule with an overlay's parameters, ``ZZ-DW-01#2``), and each finding names its variant (``"rule"``)
and carries only what varies. The v1 list of rule packs is called ``packs`` in v2. Everything else is the
same. See docs/report-format.md.

:func:`read_report` reads either layout into the same :class:`Report`; :func:`to_v1` and :func:`to_v2` turn one
parsed document into the other.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from .findings import (
    REPORT_FORMAT,
    Bilingual,
    Clause,
    DateRange,
    Finding,
    InputAccount,
    OrgRef,
    PackRef,
    Receipt,
    Rejected,
    Report,
    Status,
    SubjectRef,
    WaiverRef,
)
from .rules import Severity

REPORT_FORMAT_V2 = "rules-engine/report/v2"
LAYOUTS = {"v1": REPORT_FORMAT, "v2": REPORT_FORMAT_V2}

#: The parts of a v1 finding that depend on its rule (variant) only: a v2 ``rules`` entry, in this order.
RULE_KEYS = ("rule_id", "rule_title", "pack", "pack_version", "clause", "expected", "severity", "params")
#: The keys of a v1 finding, in order.
FINDING_KEYS = tuple(Finding.model_fields)
#: The keys of a v2 finding, in order: the key of its rule, then what is not in the rule's entry.
FINDING_KEYS_V2 = ("rule", *(k for k in FINDING_KEYS if k not in RULE_KEYS))
_VARYING = FINDING_KEYS_V2[1:]


class RuleTable:
    """The ``rules`` table of a v2 report: one entry per distinct rule variant, keyed ``ID``, ``ID#2``, ...
    in the order added. Two variants with the same parts share an entry."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self._by_content: dict[bytes, str] = {}
        self._per_id: dict[str, int] = {}

    def add(self, parts: Mapping[str, Any]) -> str:
        """The key of a rule variant's parts (a mapping with :data:`RULE_KEYS`), added if new."""
        entry = {k: parts[k] for k in RULE_KEYS}
        content = orjson.dumps(entry)
        key = self._by_content.get(content)
        if key is None:
            rule_id = str(entry["rule_id"])
            n = self._per_id.get(rule_id, 0) + 1
            self._per_id[rule_id] = n
            key = rule_id if n == 1 else f"{rule_id}#{n}"
            while key in self.entries:  # a rule id that itself ends in "#2": never two variants under one key
                key += "#"
            self.entries[key] = entry
            self._by_content[content] = key
        return key

    def find(self, finding: Mapping[str, Any]) -> str | None:
        """The key of the entry whose parts a v1 finding has, or None."""
        return self._by_content.get(orjson.dumps({k: finding[k] for k in RULE_KEYS}))


def finding_v2(key: str, finding: Mapping[str, Any]) -> dict[str, Any]:
    """A v1 finding (JSON-ready dict) in the v2 layout, naming its rule entry by `key`."""
    out = {"rule": key}
    for k in _VARYING:
        out[k] = finding[k]
    return out


def header_v2(header: Mapping[str, Any]) -> dict[str, Any]:
    """A v1 report header (everything but ``findings``) as the v2 header, without its ``rules`` table."""
    out: dict[str, Any] = {}
    for k, v in header.items():
        if k == "format":
            out[k] = REPORT_FORMAT_V2
        elif k == "rules":
            out["packs"] = v
        elif k != "findings":
            out[k] = v
    return out


def to_v2(document: Mapping[str, Any], table: RuleTable | None = None) -> dict[str, Any]:
    """A parsed v1 document in the v2 layout. The ``rules`` table is `table` (every finding's parts must be in
    it), or else made of the variants the findings use, in order of first use."""
    table = table if table is not None else RuleTable()
    findings = []
    for f in document["findings"]:
        key = table.find(f)
        findings.append(finding_v2(key if key is not None else table.add(f), f))
    return {**header_v2(document), "rules": table.entries, "findings": findings}


def to_v1(document: Mapping[str, Any], where: str = "<report>") -> dict[str, Any]:
    """A parsed v2 document in the v1 layout. Raises :class:`InputError` for a finding whose rule is not in the
    ``rules`` table or a document without the v2 parts."""
    missing = [k for k in ("packs", "rules", "findings") if k not in document]
    if missing:
        raise InputError.of("report.v2.missing", where=where, missing=", ".join(missing))
    rules, findings = document["rules"], document["findings"]
    if not isinstance(rules, Mapping) or not isinstance(findings, list):
        raise InputError.of("report.v2.shape", where=where)
    out: dict[str, Any] = {}
    for k, v in document.items():
        if k == "format":
            out[k] = REPORT_FORMAT
        elif k == "packs":
            out["rules"] = v
        elif k not in ("rules", "findings"):
            out[k] = v
    v1 = []
    for i, f in enumerate(findings):
        name = f.get("rule") if isinstance(f, Mapping) else None
        entry = rules.get(name) if isinstance(name, str) else None
        if not isinstance(entry, Mapping):
            raise InputError.of("report.v2.unknown_rule", where=where, index=i, rule=repr(name))
        merged = {**entry, **f}
        v1.append({k: merged[k] for k in FINDING_KEYS if k in merged})
    out["findings"] = v1
    return out


def read_report(source: str | os.PathLike[str] | bytes) -> Report:
    """A JSON report file (a path) or its bytes, in either layout (``rules-engine/report/v1`` or ``/v2``), as a
    :class:`Report`: a v2 report gives the same :class:`Report` as the v1 report of the same run.
    Raises :class:`InputError` (naming the file) for anything that is not a whole report."""
    if isinstance(source, bytes):
        where, raw = "<report>", source
    else:
        where = os.fspath(source)
        raw = Path(source).read_bytes()
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError.of("report.not_json", where=where, error=str(exc)) from None
    if not isinstance(document, dict) or document.get("format") not in LAYOUTS.values():
        found = document.get("format") if isinstance(document, dict) else None
        raise InputError.of(
            "report.not_a_report", where=where, found=repr(found), expected=" or ".join(LAYOUTS.values())
        )
    if document["format"] == REPORT_FORMAT_V2:
        document = to_v1(document, where)
    try:
        return Report.model_validate(document)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)[:3])
        raise InputError.of("report.invalid", where=where, detail=detail) from None


def layout_format(name: str) -> str:
    """The ``format`` text of a layout name (``v1``, ``v2``); :class:`InputError` for another name."""
    try:
        return LAYOUTS[name]
    except (KeyError, TypeError):
        raise InputError.of("arg.report_format.unknown", name=name) from None


# -- the v2 layout as models: its JSON Schema (``rules-engine schema --kind report-v2``) --------------------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class RuleEntry(_Out):
    """A rule variant's parts, once for all its findings (the same keys and values as in a v1 finding)."""

    rule_id: str
    rule_title: Bilingual
    pack: str
    pack_version: str
    clause: Clause
    expected: Bilingual
    severity: Severity
    params: dict[str, Any] = Field(description="parameter values used, with the pack that set each")


class FindingV2(_Out):
    """A finding of a v2 report: the key of its entry in ``rules``, then what varies."""

    rule: str = Field(description="the key of this finding's rule variant in the report's rules table")
    status: Status
    subject: SubjectRef
    organisation: OrgRef
    period: DateRange
    window: DateRange
    actual: Bilingual
    count: int
    evidence: list[str]
    rejected: list[Rejected]
    message: Bilingual
    reason: Bilingual
    waiver: WaiverRef | None = None


class ReportV2(_Out):
    """A report in the ``rules-engine/report/v2`` layout."""

    format: str = REPORT_FORMAT_V2
    period: DateRange
    as_of: dt.date
    summary: dict[str, int]
    packs: list[PackRef]
    input: InputAccount
    receipt: Receipt
    rules: dict[str, RuleEntry]
    findings: list[FindingV2]
