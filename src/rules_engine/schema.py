"""JSON Schemas generated from the pydantic models: of rule files, pack manifests and scoring files (what the
loaders read), and of the JSON report in its two layouts (what ``evaluate --format json`` writes).

The schemas of the files an author edits (:data:`SHIPPED`: rule files, ``pack.yaml``, scoring files) also ship in
the package as files, ``rules_engine/schemas/*.schema.json``, so that a YAML editor reads them from disk: the
``# yaml-language-server: $schema=...`` line (:func:`modeline`) at the top of a rule file points at one by its
path. Their ``$id`` is stable and never fetched (the ``.invalid`` domain does not resolve). The files are the
generated schemas, byte for byte (a test compares them); after a change to the models, regenerate them with
``python -m rules_engine.schema``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
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


#: The schemas that ship as files in the package, by kind: ``rules_engine/schemas/<kind>.schema.json``.
SHIPPED = ("rules", "pack", "scoring")
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"


def schema_text(kind: str = "rules") -> str:
    """The schema of `kind` as ``rules-engine schema`` prints it and the shipped file holds it."""
    return json.dumps(rule_schema(kind), ensure_ascii=False, indent=2) + "\n"


def shipped_schema(kind: str = "rules") -> Path:
    """The path of the schema file of `kind` (one of :data:`SHIPPED`) installed with the package."""
    if kind not in SHIPPED:
        raise ValueError(f"no shipped schema of kind {kind!r} (one of {', '.join(SHIPPED)})")
    return SCHEMAS_DIR / f"{kind}.schema.json"


def modeline(yaml_file: str | Path, kind: str = "rules") -> str:
    """The line that tells a YAML language server (VS Code's YAML extension and other editors using
    yaml-language-server) the schema of `yaml_file`: the shipped schema file's path relative to the file's
    folder (the absolute file URI where there is none, e.g. another drive)."""
    schema = shipped_schema(kind)
    folder = Path(os.path.abspath(yaml_file)).parent
    try:
        where = Path(os.path.relpath(schema, folder)).as_posix()
    except ValueError:  # Windows: another drive
        where = schema.as_uri()
    return f"# yaml-language-server: $schema={where}"


def write_shipped(folder: Path = SCHEMAS_DIR) -> list[Path]:
    """Write the shipped schema files from the models (what ``python -m rules_engine.schema`` does)."""
    from .atomic import write_bytes

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in SHIPPED:
        path = folder / f"{kind}.schema.json"
        write_bytes(path, schema_text(kind).encode("utf-8"))
        written.append(path)
    return written


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


if __name__ == "__main__":  # python -m rules_engine.schema: regenerate the shipped schema files
    for written in write_shipped():
        print(f"已写入 wrote {written}", file=sys.stderr)
