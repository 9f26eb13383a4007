"""What ``rules-engine explain`` shows of a rule's provenance: its sources, and for each number it enforces
whether that number is the regulation's text, commentary or the pack's own choice."""

from __future__ import annotations

import json
from typing import Any

from .model.rules import Grounds, NumberProvenance, Rule, Source

_ABOUT_ZH = {"duty": "职责本身", "bearer": "承担者", "evidence": "证据"}
_BASIS_ZH = {
    "verified_text": "规定原文（已核实）",
    "commentary": "释义",
    "local_practice": "地方文件或做法",
    "draft": "草稿，未经人工核对",
}


def number_view(spec: Rule, params: dict[str, dict[str, Any]], pack_ref: str) -> list[dict[str, Any]]:
    """One entry per number the rule enforces: its value, who set it, and what the pack says it rests on.

    ``basis`` is null when the pack does not state it. When the value was set by an overlay or the caller,
    ``pack_value`` is the pack's own value: what its stated basis is about."""
    if spec.escalate is not None:
        name = "raise_at" if spec.escalate.raise_at is not None else "raise_share"
        values = {name: {"value": getattr(spec.escalate, name), "set_by": pack_ref}}
    else:
        values = params
        if spec.quorum is not None:  # (its share is a number the rule enforces too)
            share = f"{'more_than' if spec.quorum.strict else 'at_least'} {spec.quorum.share}"
            values = {**values, "quorum": {"value": share, "set_by": pack_ref}}
    stated: dict[str, NumberProvenance] = {n.param: n for n in spec.provenance.numbers}
    own = spec.params.model_dump(mode="json", by_alias=True, exclude_none=True)
    out: list[dict[str, Any]] = []
    for name, info in values.items():
        number = stated.get(name)
        entry: dict[str, Any] = {"param": name, "value": info["value"], "set_by": info["set_by"]}
        if info["set_by"] != pack_ref:
            entry["pack_value"] = own.get(name)
        entry["basis"] = number.basis.value if number else None
        entry["basis_zh"] = number.basis.zh if number else "未说明"
        if number is not None:
            if number.confidence is not None:
                entry["confidence"] = number.confidence
            entry["sources"] = list(number.sources)
            if number.note is not None:
                entry["note"] = number.note.model_dump()
        out.append(entry)
    return out


def _source_line(source: Source) -> str:
    wording = f"；表述 wording: {source.wording.value}（{source.wording.zh}）" if source.wording else ""
    text = f"：“{source.text}”" if source.text else ""
    seen = source.seen_in or "未记录 not recorded"
    return (
        f"    [{source.id}] {source.label()} — {_BASIS_ZH[source.basis.value]} {source.basis.value}{wording}{text}"
        f"；见于 seen in: {seen}"
    )


def _part(basis: Grounds, confidence: str | None, sources: list[str], note: Any) -> str:
    text = f"{basis.zh} {basis.value}"
    if confidence is not None:
        text += f", confidence {confidence}"
    if sources:
        text += " [" + ", ".join(sources) + "]"
    if note is not None:
        text += f" — {note.zh} / {note.en}"
    return text


def provenance_lines(spec: Rule, numbers: list[dict[str, Any]]) -> list[str]:
    """The explain lines under "来源 provenance": sources, each number's basis, the other conditions' basis."""
    prov = spec.provenance
    lines: list[str] = []
    if spec.citation.wording is not None:
        lines.append(f"  引文性质 citation wording: {spec.citation.wording.value}（{spec.citation.wording.zh}）")
    if prov.sources:
        lines.append("  出处 sources:")
        for source in prov.sources:
            lines.append(_source_line(source))
            if source.note is not None:
                lines.append(f"      {source.note.zh} / {source.note.en}")
    stated: dict[str, NumberProvenance] = {n.param: n for n in prov.numbers}
    if numbers:
        lines.append("  各数字的依据 basis of each number:")
        for entry in numbers:
            shown = f"    {entry['param']} = {json.dumps(entry['value'], ensure_ascii=False)}"
            if "pack_value" in entry:
                shown += (
                    f"（由 {entry['set_by']} 设定；以下依据针对本规则包的取值 "
                    f"{json.dumps(entry['pack_value'], ensure_ascii=False)} / set by {entry['set_by']}; the basis"
                    " below is for the pack's own value)"
                )
            number = stated.get(entry["param"])
            if number is None:
                shown += ": 未说明 not stated (see the note)"
            else:
                shown += ": " + _part(number.basis, number.confidence, number.sources, number.note)
            lines.append(shown)
    for condition in prov.conditions:
        lines.append(
            f"  {_ABOUT_ZH[condition.about]} {condition.about}: "
            + _part(condition.basis, condition.confidence, condition.sources, condition.note)
        )
    return lines
