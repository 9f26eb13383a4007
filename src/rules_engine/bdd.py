"""pytest-bdd steps for rule scenarios, in Chinese (``# language: zh-CN``) and English.

Loaded by the ``rules_engine`` pytest plugin when pytest-bdd is installed. A feature file sets up
organisations, people and activity records, evaluates a period, and asserts findings; failures list
the expected finding beside the findings produced, in the language of the feature file.

Step text is matched after NFKC normalisation, so full-width digits and punctuation (``：１２``)
match their half-width forms.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from . import Finding, Report, RulesError, RuleSet, Status, evaluate, load_rules, load_waivers
from .fields import declared_fields
from .load.rules import find_pack
from .model.vocab import ORG_COLUMNS, ORG_FIELDS, PEOPLE_COLUMNS, RECORD_COLUMNS, RECORD_FIELDS

STATUS_WORDS = {
    "已履行": Status.fulfilled,
    "未履行": Status.violated,
    "期限未到": Status.pending,
    "不适用": Status.not_applicable,
    "无法判定": Status.undeterminable,
    "已豁免": Status.waived,
    **{s.value: s for s in Status},
}
# the column names and the role and kind words are the ones every input reader accepts
ORG_HEADERS = ORG_COLUMNS
PEOPLE_HEADERS = PEOPLE_COLUMNS
RECORD_HEADERS = RECORD_COLUMNS
_LIST_SPLIT = re.compile(r"\s*[,，、;；]\s*")
_PACK_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")


class nfkc(parsers.re):
    """A regex step parser that compares NFKC-normalised text (full-width and half-width alike)."""

    def __init__(self, pattern: str) -> None:
        super().__init__(unicodedata.normalize("NFKC", pattern))

    def parse_arguments(self, name: str) -> dict[str, str] | None:
        return super().parse_arguments(unicodedata.normalize("NFKC", name))

    def is_matching(self, name: str) -> bool:
        return super().is_matching(unicodedata.normalize("NFKC", name))


@dataclass
class RuleScenario:
    """What the steps of one scenario have set up, and the report once evaluated."""

    rules_paths: list[Path | str]  # pack folders, or ids of installed packs (none: every installed pack)
    search: list[Path] = field(default_factory=list)  # where a pack named by id is looked for first
    lang: str = "en"
    organisations: list[dict[str, Any]] = field(default_factory=list)
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[Any] = field(default_factory=list)
    as_of: dt.date | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    waivers: list[dict[str, str]] = field(default_factory=list)
    table_records: list[dict[str, Any]] = field(default_factory=list)  # the records given as tables
    report: Report | None = None

    def require_report(self) -> Report:
        if self.report is None:
            pytest.fail(self.say("还没有执行评价步骤（当评价期间 …）", "no evaluation step has run yet"), pytrace=False)
        return self.report

    def say(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en


_RULESETS: dict[tuple[str, ...], RuleSet] = {}


def _ruleset(paths: list[Path | str]) -> RuleSet:
    key = tuple(str(p.resolve()) if isinstance(p, Path) else p for p in paths)
    if key not in _RULESETS:
        try:
            _RULESETS[key] = load_rules(*paths)
        except RulesError as exc:
            pytest.fail(
                "规则包无法加载 the rule packs cannot be loaded:\n" + "\n".join(f"  {p}" for p in exc.problems),
                pytrace=False,
            )
    return _RULESETS[key]


@pytest.fixture
def rule_scenario(request: pytest.FixtureRequest) -> RuleScenario:
    """The state of one rule scenario (the rule packs come from the ini option ``rules_engine_rules``;
    unset: ``rules`` under the rootdir when it exists, else the installed packs)."""
    root = Path(str(request.config.rootpath))
    configured = request.config.getini("rules_engine_rules")
    if configured:
        paths: list[Path | str] = [root / p for p in configured]
    else:
        paths = [root / "rules"] if (root / "rules").is_dir() else []
    return RuleScenario(paths, search=[p for p in paths if isinstance(p, Path)])


# ------------------------------------------------------------------ helpers


def _rows(datatable: list[list[str]], headers: dict[str, str]) -> list[dict[str, str]]:
    head = [headers.get(h.strip(), h.strip().lower()) for h in datatable[0]]
    return [{k: v.strip() for k, v in zip(head, row, strict=True) if v.strip() != ""} for row in datatable[1:]]


def _split(text: str | None) -> list[str]:
    if not text or text in ("无", "none", "-"):
        return []
    return [part for part in _LIST_SPLIT.split(text.strip()) if part]


def _status(ctx: RuleScenario, word: str) -> Status:
    status = STATUS_WORDS.get(word.strip())
    if status is None:
        choices = "、".join(k for k in STATUS_WORDS if not k.isascii())
        pytest.fail(
            ctx.say(
                f"未知的结论 '{word}'，可选：{choices}", f"unknown status '{word}'; use one of: {', '.join(Status)}"
            ),
            pytrace=False,
        )
    return status


_SUBJECT_RE = re.compile(r"^(?P<a>\S+?)(?:\s*(?:with|与)\s*(?P<b>\S+)|\s*(?:in|分管)\s*(?P<area>\S+))?$")


def _subject_matches(spec: str, f: Finding) -> bool:
    """``p001`` (a person, an organisation or a record), ``p001 with p007`` / ``p001 与 p007`` (a pair),
    ``p014 in 财务审计`` / ``p014 分管 财务审计`` (a portfolio area)."""
    match = _SUBJECT_RE.match(unicodedata.normalize("NFKC", spec.strip()))
    if match is None:
        return False
    a, b, area = match.group("a"), match.group("b"), match.group("area")
    if b is not None:
        return f.subject.id == a and f.subject.second is not None and f.subject.second.id == b
    if area is not None:
        return f.subject.id == a and f.subject.portfolio == area
    return a in (f.subject.id, f.subject.record) and f.subject.second is None and f.subject.portfolio is None


def _describe(ctx: RuleScenario, f: Finding) -> str:
    subject = f.subject.id
    if f.subject.second:
        subject += ctx.say(f" 与 {f.subject.second.id}", f" with {f.subject.second.id}")
    if f.subject.portfolio:
        subject += ctx.say(f" 分管 {f.subject.portfolio}", f" in {f.subject.portfolio}")
    status = f.status.zh if ctx.lang == "zh" else f.status.value
    actual = f.actual.zh if ctx.lang == "zh" else f.actual.en
    expected = f.expected.zh if ctx.lang == "zh" else f.expected.en
    return f"  {f.rule_id:<10} {subject:<24} {f.period.label:<16} {status:<14} ({actual} / {expected})"


def _select(
    ctx: RuleScenario, rule: str, subject: str, period: str | None = None
) -> tuple[list[Finding], list[Finding]]:
    report = ctx.require_report()
    of_rule = [f for f in report.findings if f.rule_id == rule]
    if not of_rule and report.findings and all(f.rule_id != rule for f in report.findings):
        known = sorted({f.rule_id for f in report.findings})
        if rule not in {r.rule.id for r in _ruleset(ctx.rules_paths).rules}:
            pytest.fail(
                ctx.say(
                    f"未知规则 {rule}；已有：{'、'.join(known)}", f"unknown rule {rule}; known: {', '.join(known)}"
                ),
                pytrace=False,
            )
    chosen = [
        f
        for f in of_rule
        if _subject_matches(subject, f) and (period is None or period in (f.period.label, f.window.label))
    ]
    return chosen, of_rule


def _one(ctx: RuleScenario, rule: str, subject: str, period: str) -> Finding:
    chosen, of_rule = _select(ctx, rule, subject, period)
    if len(chosen) == 1:
        return chosen[0]
    produced = "\n".join(_describe(ctx, f) for f in of_rule) or ctx.say("  （无）", "  (none)")
    if not chosen:
        head = ctx.say(
            f"没有找到规则 {rule} 对 {subject} 在 {period} 的结论。", f"no finding of {rule} for {subject} in {period}."
        )
    else:
        head = ctx.say(
            f"规则 {rule} 对 {subject} 在 {period} 有 {len(chosen)} 条结论，请写明对象。",
            f"{len(chosen)} findings of {rule} for {subject} in {period}; name the subject more precisely.",
        )
    pytest.fail(
        f"{head}\n{ctx.say('该规则产生的结论：', 'findings produced by this rule:')}\n{produced}", pytrace=False
    )


# ------------------------------------------------------------------ given


def _set_rules(ctx: RuleScenario, lang: str, paths: str, request: pytest.FixtureRequest) -> None:
    """Each name is a path (relative to the rootdir) or a pack id: a pack with that id under the
    configured ``rules_engine_rules`` folders, else an installed one (bundled or by entry point)."""
    ctx.lang = lang
    root = Path(str(request.config.rootpath))
    chosen: list[Path | str] = []
    for name in _split(paths):
        if (root / name).exists() or not _PACK_ID.fullmatch(name):
            chosen.append(root / name)
        else:
            chosen.append(find_pack(name, ctx.search) or name)
    ctx.rules_paths = chosen


@given(nfkc(r'规则包\s*"(?P<paths>[^"]+)"'))
def given_rules_zh(rule_scenario: RuleScenario, paths: str, request: pytest.FixtureRequest) -> None:
    _set_rules(rule_scenario, "zh", paths, request)


@given(nfkc(r'the rule packs? "(?P<paths>[^"]+)"'))
def given_rules_en(rule_scenario: RuleScenario, paths: str, request: pytest.FixtureRequest) -> None:
    _set_rules(rule_scenario, "en", paths, request)


def _add_orgs(ctx: RuleScenario, lang: str, datatable: list[list[str]]) -> None:
    ctx.lang = lang
    for row in _rows(datatable, ORG_HEADERS):  # (kinds in any word of the packs' vocabulary: checked when read)
        # a column that is none of the organisation's own is an attribute its kind declares (正式党员人数)
        attributes = {k: v for k, v in row.items() if k not in ORG_FIELDS}
        org: dict[str, Any] = {k: v for k, v in row.items() if k in ORG_FIELDS}
        if attributes:
            org["attributes"] = attributes
        ctx.organisations.append(org)


@given(nfkc(r"组织[:：]?"))
def given_orgs_zh(rule_scenario: RuleScenario, datatable: list[list[str]]) -> None:
    _add_orgs(rule_scenario, "zh", datatable)


@given(nfkc(r"the organisations:?"))
def given_orgs_en(rule_scenario: RuleScenario, datatable: list[list[str]]) -> None:
    _add_orgs(rule_scenario, "en", datatable)


def _add_people(ctx: RuleScenario, lang: str, datatable: list[list[str]]) -> None:
    ctx.lang = lang
    for row in _rows(datatable, PEOPLE_HEADERS):
        person = ctx.people.setdefault(row["id"], {"id": row["id"], "name": row.get("name", row["id"]), "posts": []})
        if "org" in row and "group" in row:  # a membership of a group inside the organisation (小组: 支部委员会)
            member = {"org": row["org"], "group": row["group"], "start": row.get("start", "2000-01-01")}
            person.setdefault("groups", []).append({**member, "end": row.get("end")})
        if "org" in row and ("role" in row or "group" not in row):
            person["posts"].append(
                {
                    "org": row["org"],
                    "role": row.get("role", ""),
                    "portfolios": _split(row.get("portfolios")),
                    "start": row.get("start", "2000-01-01"),
                    "end": row.get("end"),
                }
            )


@given(nfkc(r"人员[:：]?"))
def given_people_zh(rule_scenario: RuleScenario, datatable: list[list[str]]) -> None:
    _add_people(rule_scenario, "zh", datatable)


@given(nfkc(r"the people:?"))
def given_people_en(rule_scenario: RuleScenario, datatable: list[list[str]]) -> None:
    _add_people(rule_scenario, "en", datatable)


def _add_records(ctx: RuleScenario, lang: str, datatable: list[list[str]]) -> None:
    ctx.lang = lang
    for row in _rows(datatable, RECORD_HEADERS):
        record: dict[str, Any] = dict(row)
        record["participants"] = _split(row.get("participants"))
        record["tags"] = _split(row.get("tags"))
        ctx.records.append(record)
        ctx.table_records.append(record)  # (its other columns name declared fields by any of their words)


@given(nfkc(r"活动记录[:：]?"))
def given_records_zh(rule_scenario: RuleScenario, datatable: list[list[str]]) -> None:
    _add_records(rule_scenario, "zh", datatable)


@given(nfkc(r"the activity records:?"))
def given_records_en(rule_scenario: RuleScenario, datatable: list[list[str]]) -> None:
    _add_records(rule_scenario, "en", datatable)


def _add_jsonl(ctx: RuleScenario, lang: str, docstring: str) -> None:
    ctx.lang = lang
    for line in docstring.splitlines():
        if not line.strip():
            continue
        try:
            ctx.records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            ctx.records.append(line)  # kept: the evaluation rejects it as malformed, with its position


@given(nfkc(r"活动记录\s*[(（]JSON Lines[)）][:：]?"))
def given_jsonl_zh(rule_scenario: RuleScenario, docstring: str) -> None:
    _add_jsonl(rule_scenario, "zh", docstring)


@given(nfkc(r"the activity records in JSON Lines:?"))
def given_jsonl_en(rule_scenario: RuleScenario, docstring: str) -> None:
    _add_jsonl(rule_scenario, "en", docstring)


@given(nfkc(r"评价日期为\s*(?P<day>\d{4}-\d{2}-\d{2})"))
def given_as_of_zh(rule_scenario: RuleScenario, day: str) -> None:
    rule_scenario.lang = "zh"
    rule_scenario.as_of = dt.date.fromisoformat(day)


@given(nfkc(r"the evaluation date is (?P<day>\d{4}-\d{2}-\d{2})"))
def given_as_of_en(rule_scenario: RuleScenario, day: str) -> None:
    rule_scenario.lang = "en"
    rule_scenario.as_of = dt.date.fromisoformat(day)


def _set_param(ctx: RuleScenario, lang: str, rule: str, name: str, value: str) -> None:
    ctx.lang = lang
    ctx.params.setdefault(rule, {})[name] = yaml.safe_load(value)


@given(nfkc(r"参数\s*(?P<rule>[^\s.]+(?:\.[^\s.]+)*?)\.(?P<name>[a-z_]+)\s*为\s*(?P<value>.+)"))
def given_param_zh(rule_scenario: RuleScenario, rule: str, name: str, value: str) -> None:
    _set_param(rule_scenario, "zh", rule, name, value)


@given(nfkc(r"the parameter (?P<rule>\S+?)\.(?P<name>[a-z_]+) is (?P<value>.+)"))
def given_param_en(rule_scenario: RuleScenario, rule: str, name: str, value: str) -> None:
    _set_param(rule_scenario, "en", rule, name, value)


WAIVER_HEADERS = {
    "编号": "id",
    "规则": "rule",
    "组织": "org",
    "对象": "subject",
    "分管领域": "portfolio",
    "开始": "from",
    "结束": "to",
    "理由": "justification",
    "批准": "approved_by",
    "失效日期": "expires",
}


def _add_waivers(ctx: RuleScenario, lang: str, datatable: list[list[str]]) -> None:
    ctx.lang = lang
    ctx.waivers.extend(_rows(datatable, WAIVER_HEADERS))


@given(nfkc(r"豁免[:：]?"))
def given_waivers_zh(rule_scenario: RuleScenario, datatable: list[list[str]]) -> None:
    _add_waivers(rule_scenario, "zh", datatable)


@given(nfkc(r"the waivers:?"))
def given_waivers_en(rule_scenario: RuleScenario, datatable: list[list[str]]) -> None:
    _add_waivers(rule_scenario, "en", datatable)


# ------------------------------------------------------------------ when


def _evaluate(ctx: RuleScenario, lang: str, period: str) -> None:
    ctx.lang = lang
    roster = {"organisations": ctx.organisations, "people": list(ctx.people.values())}
    if ctx.as_of is None:
        pytest.fail(ctx.say("请先给出评价日期（假如评价日期为 …）", "give the evaluation date first"), pytrace=False)
    ruleset = _ruleset(ctx.rules_paths)
    declared, _ = declared_fields(pack.manifest for pack in ruleset.packs)
    for record in ctx.table_records:  # a table's header names a declared field by its key, zh, en or an alias
        for header in [k for k in record if k not in RECORD_FIELDS]:
            name = declared.headers.get(header.strip().casefold())
            if name is not None and name not in record:
                record[name] = record.pop(header)
    waivers = []
    if ctx.waivers:
        with tempfile.TemporaryDirectory() as folder:  # waivers go through the same loader as waiver files
            path = Path(folder) / "waivers.yaml"
            path.write_text(yaml.safe_dump({"waivers": ctx.waivers}, allow_unicode=True), encoding="utf-8")
            try:
                waivers = load_waivers([path], [r.rule.id for r in ruleset.rules])
            except RulesError as exc:
                pytest.fail("豁免无效 invalid waivers:\n" + "\n".join(f"  {p}" for p in exc.problems), pytrace=False)
    ctx.report = evaluate(
        ruleset, roster, ctx.records, period=period, as_of=ctx.as_of, params=ctx.params, waivers=waivers
    )


@when(nfkc(r"评价期间\s*(?P<period>\S+)"))
def when_evaluate_zh(rule_scenario: RuleScenario, period: str) -> None:
    _evaluate(rule_scenario, "zh", period)


@when(nfkc(r"the period (?P<period>\S+) is evaluated"))
def when_evaluate_en(rule_scenario: RuleScenario, period: str) -> None:
    _evaluate(rule_scenario, "en", period)


# ------------------------------------------------------------------ then


def _check_status(ctx: RuleScenario, rule: str, subject: str, period: str, word: str) -> None:
    wanted = _status(ctx, word)
    finding = _one(ctx, rule, subject, period)
    if finding.status is not wanted:
        _, of_rule = _select(ctx, rule, subject)
        shown = wanted.zh if ctx.lang == "zh" else wanted.value
        got = finding.status.zh if ctx.lang == "zh" else finding.status.value
        reason = finding.reason.zh if ctx.lang == "zh" else finding.reason.en
        pytest.fail(
            ctx.say(
                f"规则 {rule} 对 {subject} 在 {period} 的结论应为「{shown}」，实际为「{got}」。\n理由：{reason}\n",
                f"expected the finding of {rule} for {subject} in {period} to be '{shown}', got '{got}'.\n"
                f"why: {reason}\n",
            )
            + ctx.say("该规则产生的结论：\n", "findings produced by this rule:\n")
            + "\n".join(_describe(ctx, f) for f in of_rule),
            pytrace=False,
        )


@then(nfkc(r"规则\s*(?P<rule>\S+)\s*对\s*(?P<subject>.+?)\s*在\s*(?P<period>\S+)\s*的结论为\s*(?P<status>\S+)"))
def then_status_zh(rule_scenario: RuleScenario, rule: str, subject: str, period: str, status: str) -> None:
    rule_scenario.lang = "zh"
    _check_status(rule_scenario, rule, subject, period, status)


@then(nfkc(r"the finding of (?P<rule>\S+) for (?P<subject>.+?) in (?P<period>\S+) is (?P<status>\S+)"))
def then_status_en(rule_scenario: RuleScenario, rule: str, subject: str, period: str, status: str) -> None:
    rule_scenario.lang = "en"
    _check_status(rule_scenario, rule, subject, period, status)


def _check_absent(ctx: RuleScenario, rule: str, subject: str) -> None:
    """No finding at all about `subject` under `rule`: a bare id also covers its portfolio and pair findings."""
    chosen, of_rule = _select(ctx, rule, subject)
    bare = unicodedata.normalize("NFKC", subject.strip())
    chosen += [f for f in of_rule if f not in chosen and bare in (f.subject.id, f.subject.record)]
    if chosen:
        pytest.fail(
            ctx.say(
                f"规则 {rule} 对 {subject} 不应有结论，但产生了：\n",
                f"expected no finding of {rule} for {subject}, got:\n",
            )
            + "\n".join(_describe(ctx, f) for f in chosen),
            pytrace=False,
        )


@then(nfkc(r"规则\s*(?P<rule>\S+)\s*对\s*(?P<subject>.+?)\s*没有结论"))
def then_absent_zh(rule_scenario: RuleScenario, rule: str, subject: str) -> None:
    rule_scenario.lang = "zh"
    _check_absent(rule_scenario, rule, subject)


@then(nfkc(r"there is no finding of (?P<rule>\S+) for (?P<subject>.+)"))
def then_absent_en(rule_scenario: RuleScenario, rule: str, subject: str) -> None:
    rule_scenario.lang = "en"
    _check_absent(rule_scenario, rule, subject)


def _check_count(ctx: RuleScenario, count: str, word: str, rule: str | None) -> None:
    wanted = _status(ctx, word)
    report = ctx.require_report()
    chosen = [f for f in report.findings if f.status is wanted and (rule is None or f.rule_id == rule)]
    if len(chosen) != int(count):
        shown = wanted.zh if ctx.lang == "zh" else wanted.value
        pytest.fail(
            ctx.say(
                f"结论为「{shown}」的应有 {count} 条，实有 {len(chosen)} 条：\n",
                f"expected {count} findings '{shown}', got {len(chosen)}:\n",
            )
            + ("\n".join(_describe(ctx, f) for f in chosen) or ctx.say("  （无）", "  (none)")),
            pytrace=False,
        )


@then(nfkc(r"(?:规则\s*(?P<rule>\S+)\s*)?结论为\s*(?P<status>\S+?)\s*的共\s*(?P<count>\d+)\s*条"))
def then_count_zh(rule_scenario: RuleScenario, count: str, status: str, rule: str | None) -> None:
    rule_scenario.lang = "zh"
    _check_count(rule_scenario, count, status, rule)


@then(nfkc(r"(?P<count>\d+) findings?(?: of (?P<rule>\S+))? (?:is|are) (?P<status>\S+)"))
def then_count_en(rule_scenario: RuleScenario, count: str, status: str, rule: str | None) -> None:
    rule_scenario.lang = "en"
    _check_count(rule_scenario, count, status, rule)


def _check_values(ctx: RuleScenario, rule: str, subject: str, period: str, expected: str, actual: str) -> None:
    finding = _one(ctx, rule, subject, period)

    def norm(text: str) -> str:
        return unicodedata.normalize("NFKC", text).strip()

    want = (norm(expected), norm(actual))
    options = [(finding.expected.zh, finding.actual.zh), (finding.expected.en, finding.actual.en)]
    if want not in [(norm(a), norm(b)) for a, b in options]:
        got = options[0] if ctx.lang == "zh" else options[1]
        pytest.fail(
            ctx.say(
                f"规则 {rule} 对 {subject} 在 {period}：\n  应为  要求“{want[0]}”，实际“{want[1]}”\n"
                f"  产生  要求“{got[0]}”，实际“{got[1]}”",
                f'{rule} for {subject} in {period}:\n  expected  "{want[0]}" / "{want[1]}"\n'
                f'  produced  "{got[0]}" / "{got[1]}"',
            ),
            pytrace=False,
        )


@then(
    nfkc(
        r"规则\s*(?P<rule>\S+)\s*对\s*(?P<subject>.+?)\s*在\s*(?P<period>\S+)\s*的要求为[\"“](?P<expected>[^\"”]+)[\"”]\s*[,，]\s*实际为[\"“](?P<actual>[^\"”]+)[\"”]"
    )
)
def then_values_zh(
    rule_scenario: RuleScenario, rule: str, subject: str, period: str, expected: str, actual: str
) -> None:
    rule_scenario.lang = "zh"
    _check_values(rule_scenario, rule, subject, period, expected, actual)


@then(
    nfkc(
        r"the finding of (?P<rule>\S+) for (?P<subject>.+?) in (?P<period>\S+) "
        r'expects "(?P<expected>[^"]+)" and found "(?P<actual>[^"]+)"'
    )
)
def then_values_en(
    rule_scenario: RuleScenario, rule: str, subject: str, period: str, expected: str, actual: str
) -> None:
    rule_scenario.lang = "en"
    _check_values(rule_scenario, rule, subject, period, expected, actual)


def _check_evidence(ctx: RuleScenario, rule: str, subject: str, period: str, ids: str) -> None:
    finding = _one(ctx, rule, subject, period)
    want = sorted(_split(ids))
    got = sorted(finding.evidence)
    if want != got:
        rejected = "\n".join(
            f"  {r.record}: {r.reason.zh if ctx.lang == 'zh' else r.reason.en}" for r in finding.rejected
        )
        pytest.fail(
            ctx.say(
                f"规则 {rule} 对 {subject} 在 {period} 的证据\n  应为  {'、'.join(want) or '无'}\n"
                f"  实为  {'、'.join(got) or '无'}\n"
                f"未采用的记录：\n{rejected or '  （无）'}",
                f"evidence of {rule} for {subject} in {period}\n  expected  {', '.join(want) or 'none'}\n"
                f"  produced  {', '.join(got) or 'none'}\nrecords looked at and rejected:\n{rejected or '  (none)'}",
            ),
            pytrace=False,
        )


@then(nfkc(r"规则\s*(?P<rule>\S+)\s*对\s*(?P<subject>.+?)\s*在\s*(?P<period>\S+)\s*的证据为\s*(?P<ids>.+)"))
def then_evidence_zh(rule_scenario: RuleScenario, rule: str, subject: str, period: str, ids: str) -> None:
    rule_scenario.lang = "zh"
    _check_evidence(rule_scenario, rule, subject, period, ids)


@then(nfkc(r"the evidence of (?P<rule>\S+) for (?P<subject>.+?) in (?P<period>\S+) is (?P<ids>.+)"))
def then_evidence_en(rule_scenario: RuleScenario, rule: str, subject: str, period: str, ids: str) -> None:
    rule_scenario.lang = "en"
    _check_evidence(rule_scenario, rule, subject, period, ids)


def _check_rejected_row(ctx: RuleScenario, record: str, text: str) -> None:
    report = ctx.require_report()
    rows = [r for r in report.input.rejections if r.record_id == record]
    if not any(text in r.reason.zh or text in r.reason.en for r in rows):
        listed = "\n".join(f"  {r.record_id}: {r.reason.zh} / {r.reason.en}" for r in report.input.rejections)
        pytest.fail(
            ctx.say(
                f"记录 {record} 应因“{text}”被拒收。被拒收的记录：\n",
                f"expected record {record} rejected for '{text}'. Rejected:\n",
            )
            + (listed or ctx.say("  （无）", "  (none)")),
            pytrace=False,
        )


def _check_excluded_row(ctx: RuleScenario, record: str, text: str) -> None:
    report = ctx.require_report()
    rows = [r for r in report.input.excluded if r.record_id == record]
    if not any(text in r.reason.zh or text in r.reason.en for r in rows):
        listed = "\n".join(f"  {r.record_id}: {r.reason.zh} / {r.reason.en}" for r in report.input.excluded)
        pytest.fail(
            ctx.say(
                f"记录 {record} 应因“{text}”被排除（不作为证据，也不是数据问题）。被排除的记录：\n",
                f"expected record {record} excluded for '{text}' (not evidence, not a data problem). Excluded:\n",
            )
            + (listed or ctx.say("  （无）", "  (none)")),
            pytrace=False,
        )


@then(nfkc(r"记录\s*(?P<record>\S+)\s*被排除[,，]\s*原因包含[\"“](?P<text>[^\"”]+)[\"”]"))
def then_excluded_zh(rule_scenario: RuleScenario, record: str, text: str) -> None:
    rule_scenario.lang = "zh"
    _check_excluded_row(rule_scenario, record, text)


@then(nfkc(r'the record (?P<record>\S+) is excluded because "(?P<text>[^"]+)"'))
def then_excluded_en(rule_scenario: RuleScenario, record: str, text: str) -> None:
    rule_scenario.lang = "en"
    _check_excluded_row(rule_scenario, record, text)


@then(nfkc(r"记录\s*(?P<record>\S+)\s*被拒收[,，]\s*原因包含[\"“](?P<text>[^\"”]+)[\"”]"))
def then_rejected_zh(rule_scenario: RuleScenario, record: str, text: str) -> None:
    rule_scenario.lang = "zh"
    _check_rejected_row(rule_scenario, record, text)


@then(nfkc(r'the record (?P<record>\S+) is rejected because "(?P<text>[^"]+)"'))
def then_rejected_en(rule_scenario: RuleScenario, record: str, text: str) -> None:
    rule_scenario.lang = "en"
    _check_rejected_row(rule_scenario, record, text)
