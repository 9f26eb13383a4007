"""What a host application writes: load the rule packs, read its own records, evaluate with its
waivers, act on violations.

Run from the repository root:  python examples/county-2024/host_app.py
"""

from __future__ import annotations

import json
from pathlib import Path

import rules_engine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def my_records() -> list[dict[str, object]]:
    """The host's own storage; here, the example's JSON Lines file read line by line."""
    lines = (HERE / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def main() -> int:
    # All packs under rules/, including the county's overlay (mouxian-shishi-2024), which changes
    # parameters and retires a rule for the townships only.
    rules = rules_engine.load_rules(ROOT / "rules")
    report = rules_engine.evaluate(
        rules,
        HERE / "roster.yaml",
        my_records(),
        period="2024",
        as_of="2025-01-15",
        waivers=[HERE / "waivers.yaml"],  # approved exemptions; an expired one has no effect
    )

    # Act on the violations: here, one work item per finding, most severe first.
    # (severity is an ordered enum: its rank runs from 0 for low to 3 for critical)
    for finding in sorted(report.violations, key=lambda f: (-f.severity.rank, f.organisation.id, f.rule_id)):
        print(f"[{finding.severity}] {finding.organisation.name}: {finding.message.zh}")
        print(f"        依据 {finding.clause.label}；证据 {', '.join(finding.evidence) or '无'}")
        at_least = finding.params.get("at_least")
        if at_least and at_least["set_by"].split("@")[0] != finding.pack:
            print(f"        要求由 {at_least['set_by']} 设定：至少 {at_least['value']} 次")
        waiver = finding.waiver
        if waiver is not None and waiver.expired:
            print(f"        [豁免已失效] {waiver.id}（{waiver.expires} 失效）：{waiver.justification}")
    for finding in report.by_status("waived"):
        print(f"[已豁免] {finding.organisation.name}: {finding.reason.zh}")
    for finding in report.by_status("undeterminable"):
        print(f"[数据待核] {finding.organisation.name}: {finding.reason.zh}")
    for rejection in report.input.rejections:
        print(f"[退回记录] 第 {rejection.line} 条 {rejection.field}: {rejection.reason.zh}")
    return report.exit_code()  # as the command line: 1 violations, 4 none but incomplete, 0 all decided


if __name__ == "__main__":
    raise SystemExit(main())
