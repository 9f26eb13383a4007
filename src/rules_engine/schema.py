"""JSON Schema for rule files and pack manifests, generated from the pydantic models the loader uses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .model.rules import Manifest, RuleFile

SCHEMA_ID = "https://duty-rules-engine.invalid/schema/rules-engine-v1.json"


def rule_schema(kind: str = "rules") -> dict[str, Any]:
    """The JSON Schema of a rule file (``kind="rules"``) or a ``pack.yaml`` manifest (``kind="pack"``)."""
    model: type[BaseModel] = RuleFile if kind == "rules" else Manifest
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID.replace("v1", f"v1-{kind}")
    schema["title"] = {"rules": "rules-engine rule file (规则文件)", "pack": "rules-engine pack manifest (规则包清单)"}[
        kind
    ]
    return schema
