"""JSON Schemas generated from the pydantic models: of rule files, pack manifests and scoring files (what the
loaders read), and of the JSON report in its two layouts (what ``evaluate --format json`` writes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

SCHEMA_ID = "https://duty-rules-engine.invalid/schema/rules-engine-v1.json"

#: ``rules-engine schema --kind``: what each schema describes.
KINDS = {
    "rules": "rules-engine rule file (规则文件)",
    "pack": "rules-engine pack manifest (规则包清单)",
    "scoring": "rules-engine scoring file (考核评分文件)",
    "report-v1": "rules-engine report, layout rules-engine/report/v1 (评价报告 v1)",
    "report-v2": "rules-engine report, layout rules-engine/report/v2 (评价报告 v2)",
}


def rule_schema(kind: str = "rules") -> dict[str, Any]:
    """The JSON Schema of a rule file (``kind="rules"``), a ``pack.yaml`` manifest (``kind="pack"``), a scoring
    file (``kind="scoring"``) or a JSON report (``kind="report-v1"`` or ``"report-v2"``)."""
    if kind.startswith("report-"):
        return report_schema(kind.removeprefix("report-"))
    from .model.rules import Manifest, RuleFile  # (the models on first use: the command line reads KINDS only)
    from .model.scoring import Scoring

    models: dict[str, type[BaseModel]] = {"rules": RuleFile, "pack": Manifest, "scoring": Scoring}
    model = models.get(kind, Manifest)
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID.replace("v1", f"v1-{kind}")
    schema["title"] = KINDS[kind if kind in models else "pack"]
    return schema


def report_schema(layout: str = "v2") -> dict[str, Any]:
    """The JSON Schema of a report in the ``v1`` or ``v2`` layout (``format`` fixed to that layout's name)."""
    from .model.findings import Report
    from .model.layout import ReportV2

    model: type[BaseModel] = ReportV2 if layout == "v2" else Report
    schema: dict[str, Any] = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID.replace("rules-engine-v1", f"report-{layout}")
    schema["title"] = KINDS[f"report-{layout}"]
    schema["properties"]["format"] = {"const": f"rules-engine/report/{layout}", "title": "Format"}
    schema["required"] = list(schema["properties"])  # every key is always written (null or [] when empty)
    return schema
