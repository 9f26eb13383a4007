"""``rules-engine new-rule``: write a template rule file into a pack and a skeleton feature file.

The template lints clean as written (it uses the pack's first record type) and its feature file runs:
for an organisation duty the two scenarios pass as they stand; for the other subjects they show the
shape to fill in.
"""

from __future__ import annotations

import re
from pathlib import Path

from .atomic import write_bytes
from .errors import InputError
from .load.rules import MANIFEST, MANIFESTS, load_rules
from .model.rules import SubjectKind
from .schema import modeline

_SUBJECT_BLOCK = {
    "organisation": "subject: organisation",
    "person": "subject: person\n    roles: [secretary]",
    "portfolio": "subject: portfolio\n    roles: [deputy_secretary, member]",
    "pair": "subject: pair\n    pair:\n      first: [secretary]\n      second: [deputy_secretary, member]",
    "trigger": "subject: trigger\n    trigger:\n      types: [{rtype}]",
}
_MATCH = {
    "organisation": "types: [{rtype}]",
    "person": "types: [{rtype}]\n      chair: subject",
    "portfolio": "types: [{rtype}]\n      chair: subject\n      portfolio: subject",
    "pair": "types: [{rtype}]\n      participants: [first, second]",
    "trigger": "types: [{follow}]",
}
_PARAMS = {
    "trigger": "{within_days: 30, at_least: 1}",
}
_SUBJECT_IN_FEATURE = {"organisation": "t1", "person": "s1", "portfolio": "m1 分管 宣传思想", "pair": "s1 与 m1"}

RULE_TEMPLATE = """\
# {rule_id}: TODO 一句话说明本规则检查什么 / what this rule checks
format: rules-engine/v1
rules:
  - id: {rule_id}
    title:
      zh: TODO 规则标题
      en: TODO rule title
    severity: medium
    citation:
      document: {document}
      # article: 8
      # text: 引文
    provenance:
      basis: local_practice   # verified_text | commentary | local_practice
      confidence: low
      note: TODO 依据与频次的出处
    org_kinds: [local_committee, party_group, department_committee, township]
    {subject_block}
    match:
      {match}
    params: {params}
"""

FEATURE_TEMPLATE = """\
# language: zh-CN
功能: {rule_id} TODO 规则标题
  由 rules-engine new-rule 生成的骨架：请按规则补全记录与预期。

  背景:
    假如规则包 "{pack}"
    并且组织：
      | 编号 | 名称     | 类型     |
      | t1   | 甲镇党委 | 乡镇党委 |
    并且人员：
      | 编号 | 姓名     | 组织 | 职务     | 分管领域 | 任职开始   |
      | s1   | 张书记   | t1   | 书记     |          | 2020-01-01 |
      | m1   | 王委员   | t1   | 班子成员 | 宣传思想 | 2020-01-01 |
    并且评价日期为 2025-01-15

  场景: {rule_id} 有符合条件的记录
    假如活动记录：
      | 编号 | 组织 | 类型    | 日期       | 主持人 | 参加人员 | 分管领域 |
{trigger_row}      | r1   | t1   | {follow} | 2024-03-10 | {chair}     | {participants}       | {portfolio} |
    当评价期间 {period}
    那么规则 {rule_id} 对 {subject} 在 {window} 的结论为 已履行

  场景: {rule_id} 没有记录
{trigger_only}    当评价期间 {period}
    那么规则 {rule_id} 对 {subject} 在 {window} 的结论为 未履行
"""


def new_rule(
    rule_id: str, pack: str | Path, subject: str = "organisation", features: str | Path | None = None
) -> list[Path]:
    """Write the template rule (and feature) files; returns their paths. Refuses to overwrite."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.\-]*", rule_id):
        raise InputError.of("arg.rule_id.invalid", rule=rule_id)
    if subject not in {k.value for k in SubjectKind}:
        raise InputError.of("arg.subject.unknown", subject=subject)
    root = Path(pack)
    if not any((root / name).is_file() for name in MANIFESTS):
        raise InputError.of("arg.pack.not_a_pack", root=str(root), manifest=MANIFEST)
    ruleset = load_rules(root)
    if ruleset.get(rule_id) is not None:
        raise InputError.of("arg.rule_id.exists", rule=rule_id, root=str(root))
    manifest = ruleset.packs[0].manifest
    types = list(manifest.record_types)
    rtype = types[0]
    follow = types[1] if subject == "trigger" and len(types) > 1 else rtype
    slug = rule_id.lower()
    rule_path = root / f"{slug}.yaml"
    feature_path = Path(features) / f"{slug}.feature" if features is not None else None
    for path in (rule_path, feature_path):
        if path is not None and path.exists():
            raise InputError.of("output.file.exists", path=str(path))
    period = {"pair": "2024", "trigger": "2024-03-01+30d"}.get(subject, "2024-H1")
    trigger_row = f"      | r0   | t1   | {rtype} | 2024-03-01 |  |  |  |\n" if subject == "trigger" else ""
    trigger_only = (
        f"    假如活动记录：\n      | 编号 | 组织 | 类型 | 日期 |\n      | r0   | t1   | {rtype} | 2024-03-01 |\n"
        if subject == "trigger"
        else ""
    )
    write_bytes(  # whole or not at all: a half-written rule file would break the pack
        rule_path,
        (modeline(rule_path, "rules") + "\n").encode("utf-8")
        + RULE_TEMPLATE.format(
            rule_id=rule_id,
            document=manifest.pack.regulation.document,
            subject_block=_SUBJECT_BLOCK[subject].format(rtype=rtype),
            match=_MATCH[subject].format(rtype=rtype, follow=follow),
            params=_PARAMS.get(subject, "{period: %s, at_least: 1}" % ("year" if subject == "pair" else "half_year")),
        ).encode("utf-8"),
    )
    written = [rule_path]
    if feature_path is not None:
        feature_path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(
            feature_path,
            FEATURE_TEMPLATE.format(
                rule_id=rule_id,
                pack=root.as_posix(),
                follow=follow,
                trigger_row=trigger_row,
                trigger_only=trigger_only,
                chair={"person": "s1", "pair": "s1", "portfolio": "m1"}.get(subject, ""),
                participants="m1" if subject == "pair" else "",
                portfolio="宣传思想" if subject == "portfolio" else "",
                period="2024" if subject == "trigger" else period,
                window=period,
                subject=_SUBJECT_IN_FEATURE.get(subject, "r0"),
            ).encode("utf-8"),
        )
        written.append(feature_path)
    return written
