"""Checks that a rule's ``provenance`` says no more than it can show.

A rule that claims the regulation's verified text must name where that text was seen; the numbers it
lists must be numbers the rule enforces, each once, and all of them once any is listed; every source
they point at must exist; and the rule's own confidence may not exceed that of any part it rests on.
"""

from __future__ import annotations

from ..errors import Problem, did_you_mean
from ..model.rules import CONFIDENCE_RANK, Basis, Grounds, Rule
from .yamlpos import Document

CITATION = "citation"  # a part may point at the rule's own citation by this name

_SOURCE_HINT = (
    "在 provenance.sources 中加一项并写明在何处见到原文，或把依据改为 commentary / add a source entry saying where the"
    " text was seen, or lower the basis to commentary: sources: [{id: art8, document: 《…》, article: 8, basis:"
    " verified_text, seen_in: 出版物与页码或网址与查阅日期 publication and page, or address and date read}]"
)


def enforced_numbers(rule: Rule) -> list[str]:
    """The numbers a rule sets: its params, or an escalation's threshold."""
    if rule.escalate is not None:
        return ["raise_at" if rule.escalate.raise_at is not None else "raise_share"]
    return list(rule.params.model_dump(exclude_none=True))


def provenance_problems(rule: Rule, index: int, doc: Document) -> list[Problem]:
    """Every overstatement or dangling reference in one rule's provenance, located in its file."""
    prov = rule.provenance
    base: tuple[str | int, ...] = ("rules", index, "provenance")
    problems: list[Problem] = []

    def add(code: str, zh: str, en: str, path: tuple[str | int, ...], hint: str = "") -> None:
        problems.append(Problem(code, f"规则 {rule.id}：{zh}", f"rule {rule.id}: {en}", doc.locate(base + path), hint))

    ids: dict[str, int] = {}
    for i, source in enumerate(prov.sources):
        if source.id in ids or source.id == CITATION:
            add(
                "provenance.duplicate_source",
                f"出处编号 '{source.id}' 重复或与保留名 citation 相同",
                f"source id '{source.id}' is used twice or is the reserved name 'citation'",
                ("sources", i, "id"),
            )
        ids.setdefault(source.id, i)
        if source.basis is Basis.verified_text and not source.seen_in:
            add(
                "provenance.verified_text_unsourced",
                f"出处 '{source.id}' 称已核实原文，但未写明在何处见到原文（seen_in）",
                f"source '{source.id}' claims verified text but does not say where the text was seen (seen_in)",
                ("sources", i, "basis"),
                _SOURCE_HINT,
            )
    verified = {s.id for s in prov.sources if s.basis is Basis.verified_text and s.seen_in}
    if prov.basis is Basis.verified_text and not verified:
        add(
            "provenance.verified_text_unsourced",
            "称依据已核实的原文（verified_text），但没有写明在何处见到原文的出处",
            "claims verified text, but no source entry says where the text was seen",
            ("basis",),
            _SOURCE_HINT,
        )

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
                add(
                    "provenance.unknown_source",
                    f"{name} 引用了不存在的出处 '{ref}'",
                    f"{name} names the unknown source '{ref}'",
                    (*path, "sources", j),
                    did_you_mean(ref, [*ids, CITATION]),
                )
        if basis is Grounds.verified_text and not verified.intersection(refs):
            add(
                "provenance.verified_text_unsourced",
                f"{name} 称依据已核实的原文，但未引用写明在何处见到原文的出处",
                f"{name} claims verified text but names no source that says where the text was seen",
                (*path, "basis"),
                _SOURCE_HINT,
            )

    enforced = enforced_numbers(rule)
    listed: set[str] = set()
    for i, number in enumerate(prov.numbers):
        if number.param in listed:
            add(
                "provenance.duplicate_number",
                f"数字 '{number.param}' 的依据写了两次",
                f"the number '{number.param}' is stated twice",
                ("numbers", i, "param"),
            )
        listed.add(number.param)
        if number.param not in enforced:
            add(
                "provenance.unknown_number",
                f"规则没有设定数字 '{number.param}'",
                f"the rule sets no number '{number.param}'",
                ("numbers", i, "param"),
                "本规则设定的数字 numbers this rule sets: " + ", ".join(enforced),
            )
    missing = [name for name in enforced if name not in listed]
    if prov.numbers and missing:
        add(
            "provenance.number_not_stated",
            f"未说明数字 {', '.join(missing)} 的依据（写了 numbers 就须逐项写全）",
            f"no basis stated for {', '.join(missing)} (once numbers are listed, every number needs one)",
            ("numbers",),
            "为每个数字加一项 add one entry per number, e.g. {param: "
            + missing[0]
            + ", basis: tolerance, note: {zh: …, en: …}}",
        )

    rated = [(name, path, c) for name, path, basis, c, _refs in parts if c is not None]
    if rated:
        weakest = min(rated, key=lambda item: CONFIDENCE_RANK[item[2]])
        if CONFIDENCE_RANK[prov.confidence] > CONFIDENCE_RANK[weakest[2]]:
            add(
                "provenance.overstated_confidence",
                f"整条规则的可信度 {prov.confidence} 高于 {weakest[0]} 的 {weakest[2]}",
                f"the rule's confidence {prov.confidence} is above that of {weakest[0]} ({weakest[2]})",
                ("confidence",),
                f"改为 confidence: {weakest[2]} set confidence: {weakest[2]}",
            )
    if prov.basis is Basis.verified_text:
        for name, _path, basis, _c, _refs in parts:
            if basis is not Grounds.verified_text and basis is not Grounds.tolerance:
                add(
                    "provenance.overstated_basis",
                    f"整条规则称依据已核实的原文，但 {name} 的依据是 {basis.value}",
                    f"the rule claims verified text, but {name} rests on {basis.value}",
                    ("basis",),
                    "把 provenance.basis 改为 commentary 或 local_practice lower provenance.basis",
                )
                break
    return problems
