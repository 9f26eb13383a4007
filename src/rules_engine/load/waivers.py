"""Load waiver files (YAML): validated with located problems; unknown rule ids get a "did you mean"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..errors import Location, Problem, RulesError, did_you_mean
from ..model.waivers import Waiver, WaiverFile
from .rules import validation_problems
from .yamlpos import load_yaml


@dataclass(frozen=True)
class LoadedWaiver:
    waiver: Waiver
    source: str
    sha256: str


def load_waivers(paths: Iterable[str | Path], rule_ids: Iterable[str]) -> list[LoadedWaiver]:
    """All waivers of the given files; raises :class:`RulesError` with every located problem."""
    import hashlib

    known = set(rule_ids)
    problems: list[Problem] = []
    out: list[LoadedWaiver] = []
    seen: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        doc, found = load_yaml(path)
        problems.extend(found)
        if doc is None:
            continue
        try:
            parsed = WaiverFile.model_validate(doc.data)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, doc, WaiverFile))
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for i, waiver in enumerate(parsed.waivers):
            where = doc.locate(("waivers", i))
            if waiver.rule not in known:
                at = doc.locate(("waivers", i, "rule"))
                problems.append(
                    Problem.of("waiver.unknown_rule", at, did_you_mean(waiver.rule, known), rule=waiver.rule)
                )
            if waiver.id in seen:
                problems.append(Problem.of("waiver.duplicate_id", where, waiver=waiver.id, first=seen[waiver.id]))
            seen[waiver.id] = str(where)
            out.append(LoadedWaiver(waiver, f"{path}:{where.line}", digest))
    if problems:
        raise RulesError(problems, refused="waivers")
    return out


__all__ = ["LoadedWaiver", "Location", "load_waivers"]
