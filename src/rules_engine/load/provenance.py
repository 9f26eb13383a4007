"""Checks that a rule's ``provenance`` says no more than it can show.

A rule that claims the regulation's verified text must name where that text was seen; the numbers it
lists must be numbers the rule enforces, each once, and all of them once any is listed; every source
they point at must exist; and the rule's own confidence may not exceed that of any part it rests on.
"""

from __future__ import annotations

from ..errors import Problem, did_you_mean
from ..model.rules import CONFIDENCE_RANK, Basis, Grounds, Rule
from ..texts import Arg
from .yamlpos import Document

CITATION = "citation"  # a part may point at the rule's own citation by this name


def enforced_numbers(rule: Rule) -> list[str]:
    """The numbers a rule sets: its params and its quorum's share, or an escalation's threshold."""
    if rule.escalate is not None:
        return ["raise_at" if rule.escalate.raise_at is not None else "raise_share"]
    return [*rule.params.model_dump(exclude_none=True), *(["quorum"] if rule.quorum is not None else [])]


def provenance_problems(rule: Rule, index: int, doc: Document) -> list[Problem]:
    """Every overstatement or dangling reference in one rule's provenance, located in its file."""
    prov = rule.provenance
    base: tuple[str | int, ...] = ("rules", index, "provenance")
    problems: list[Problem] = []

    def add(key: str, path: tuple[str | int, ...], hint: str | None = None, /, **values: Arg) -> None:
        """The problem `key` (its texts in rules_engine.texts) at `path` of the provenance, naming the rule."""
        problem = Problem.of(key, doc.locate(base + path), hint, **values)
        problems.append(problem.framed("frame.rule", rule=rule.id))

    ids: dict[str, int] = {}
    for i, source in enumerate(prov.sources):
        if source.id in ids or source.id == CITATION:
            add("provenance.duplicate_source", ("sources", i, "id"), source=source.id)
        ids.setdefault(source.id, i)
        if source.basis is Basis.verified_text and not source.seen_in:
            add("provenance.verified_text_unsourced#source", ("sources", i, "basis"), source=source.id)
    verified = {s.id for s in prov.sources if s.basis is Basis.verified_text and s.seen_in}
    if prov.basis is Basis.verified_text and not verified:
        add("provenance.verified_text_unsourced", ("basis",))

    parts: list[tuple[str, tuple[str | int, ...], Grounds, str | None, list[str]]] = [
        (f"numbers[{n.param}]", ("numbers", i), n.basis, n.confidence, n.sources) for i, n in enumerate(prov.numbers)
    ]
    parts += [
        (f"conditions[{c.about}]", ("conditions", i), c.basis, c.confidence, c.sources)
        for i, c in enumerate(prov.conditions)
    ]
    for name, path, basis, _confidence, refs in parts:
        for j, ref in enumerate(refs):
            if ref != CITATION and ref not in ids:
                hint = did_you_mean(ref, [*ids, CITATION])
                add("provenance.unknown_source", (*path, "sources", j), hint, part=name, source=ref)
        if basis is Grounds.verified_text and not verified.intersection(refs):
            add("provenance.verified_text_unsourced#part", (*path, "basis"), part=name)

    enforced = enforced_numbers(rule)
    listed: set[str] = set()
    for i, number in enumerate(prov.numbers):
        if number.param in listed:
            add("provenance.duplicate_number", ("numbers", i, "param"), param=number.param)
        listed.add(number.param)
        if number.param not in enforced:
            add("provenance.unknown_number", ("numbers", i, "param"), param=number.param, numbers=", ".join(enforced))
    missing = [name for name in enforced if name not in listed]
    if prov.numbers and missing:
        add("provenance.number_not_stated", ("numbers",), missing=", ".join(missing), first=missing[0])

    rated = [(name, path, c) for name, path, basis, c, _refs in parts if c is not None]
    if rated:
        weakest = min(rated, key=lambda item: CONFIDENCE_RANK[item[2]])
        if CONFIDENCE_RANK[prov.confidence] > CONFIDENCE_RANK[weakest[2]]:
            add(
                "provenance.overstated_confidence",
                ("confidence",),
                confidence=str(prov.confidence),
                part=weakest[0],
                weakest=str(weakest[2]),
            )
    if prov.basis is Basis.verified_text:
        for name, _path, basis, _c, _refs in parts:
            if basis is not Grounds.verified_text and basis is not Grounds.tolerance:
                add("provenance.overstated_basis", ("basis",), part=name, basis=basis.value)
                break
    return problems
