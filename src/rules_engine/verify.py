"""Re-check a saved JSON report against its inputs: the receipt names the rule packs, input files,
period, evaluation date and parameters; the report is reproduced and compared byte for byte."""

from __future__ import annotations

import io
from pathlib import Path

import orjson

from .evaluate import evaluate_to
from .load.inputs import file_digest
from .load.rules import load_rules


def verify_report(report_path: str | Path) -> list[str]:
    """Problems found (empty: the inputs are unchanged and the report is reproduced exactly)."""
    raw = Path(report_path).read_bytes()
    try:
        receipt = orjson.loads(raw)["receipt"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ["报告中没有回执 the report has no receipt (not a rules-engine/report/v1 document?)"]
    problems: list[str] = []
    waivers = [{**w, "kind": "waivers"} for w in receipt.get("waivers", [])]
    for item in [*receipt["inputs"], *waivers]:
        if item["sha256"] is None:
            problems.append(f"{item['source']}: 输入不是文件，无法复核 input was not a file and cannot be re-checked")
            continue
        now = file_digest(item["source"], item["kind"])
        if now["sha256"] is None:
            problems.append(f"{item['source']}: 文件不存在 file is missing")
        elif now["sha256"] != item["sha256"]:
            problems.append(
                f"{item['source']}: 文件已改变 file has changed (sha256 {now['sha256'][:12]} != {item['sha256'][:12]})"
            )
    ruleset = load_rules(*[p["root"] for p in receipt["packs"]])
    packs = {p.id: p for p in ruleset.packs}
    for pack in receipt["packs"]:
        found = packs.get(pack["id"])
        if found is None or found.sha256 != pack["sha256"]:
            problems.append(f"规则包 pack {pack['id']}: 内容已改变或缺失 changed or missing")
    if problems:
        return problems
    roster = next(i["source"] for i in receipt["inputs"] if i["kind"] == "roster")
    records = [i["source"] for i in receipt["inputs"] if i["kind"] == "records"]
    out = io.BytesIO()
    evaluate_to(
        out,
        ruleset,
        roster,
        records,
        period=receipt["period"],
        as_of=receipt["as_of"],
        params=receipt["params"] or None,
        max_evidence=receipt["max_evidence"],
        waivers=[w["source"] for w in waivers],
    )
    if out.getvalue() != raw:
        mine, theirs = out.getvalue().splitlines(), raw.splitlines()
        line = next(
            (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), min(len(mine), len(theirs))
        )
        problems.append(
            f"重新评价的结果与报告不同（第 {line + 1} 行起） re-evaluation differs from the report from line {line + 1}"
        )
    return problems
