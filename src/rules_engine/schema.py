"""JSON Schema for rule files, pack manifests and scoring files, generated from the pydantic models the loaders use."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .model.rules import Manifest, RuleFile
from .model.scoring import Scoring

SCHEMA_ID = "https://duty-rules-engine.invalid/schema/rules-engine-v1.json"


def rule_schema(kind: str = "rules") -> dict[str, Any]:
    """The JSON Schema of a rule file (``kind="rules"``), a ``pack.yaml`` manifest (``kind="pack"``) or a
    scoring file (``kind="scoring"``)."""
    models: dict[str, type[BaseModel]] = {"rules": RuleFile, "pack": Manifest, "scoring": Scoring}
    model = models.get(kind, Manifest)
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID.replace("v1", f"v1-{kind}")
    schema["title"] = {
        "rules": "rules-engine rule file (规则文件)",
        "pack": "rules-engine pack manifest (规则包清单)",
        "scoring": "rules-engine scoring file (考核评分文件)",
    }[kind]
    return schema
