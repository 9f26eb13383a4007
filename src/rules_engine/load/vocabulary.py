"""The vocabulary of a run: the kinds, roles and groups the loaded packs declare or import, resolved once.

A pack's imports resolve against the loaded packs first, then the packs shipped inside the library
(``rules_engine/packs``: the standard vocabulary ``cpc-basic``). A v1 pack imports ``cpc-basic`` implicitly.
Names in rules are resolved here too (:func:`resolve_rule`), each miss located where it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import Location, Problem, RulesError, did_you_mean
from ..model.rules import Manifest, PairGroup, QuorumGroup, Rule
from ..model.terms import KindTerm
from ..model.vocab import Miss, Spec, Vocabulary
from .yamlpos import Document, load_yaml

#: the packs shipped inside the library (vocabulary packs such as cpc-basic)
SHIPPED = Path(__file__).resolve().parent.parent / "packs"


def shipped_ids() -> list[str]:
    """The ids of the packs shipped inside the library (their folder names)."""
    return sorted(p.name for p in SHIPPED.iterdir() if (p / "pack.yaml").is_file()) if SHIPPED.is_dir() else []


@cache
def shipped_manifest(pack_id: str) -> tuple[Manifest, Document] | None:
    """The manifest of a pack shipped inside the library, or None when there is no such pack."""
    path = SHIPPED / pack_id / "pack.yaml"
    if not path.is_file():
        return None
    doc, problems = load_yaml(path, f"rules_engine/packs/{pack_id}/pack.yaml")
    if doc is None or problems:
        raise RulesError(problems)
    try:
        return Manifest.model_validate(doc.data), doc
    except ValidationError as exc:  # a broken shipped pack is the library's fault: say where
        from .rules import validation_problems

        raise RulesError(validation_problems(exc, doc, Manifest)) from None


def _sections(manifest: Manifest) -> dict[str, dict[str, Spec]]:
    return {
        "kind": dict(manifest.org_kinds),
        "role": dict(manifest.roles),
        "group": dict(manifest.groups),
    }


def build_vocabulary(manifests: Sequence[tuple[Manifest, Document | None]]) -> tuple[Vocabulary, list[Problem]]:
    """The vocabulary of these packs (each manifest with the document it was read from, for locations) and the
    packs they import; the problems: an import that names no pack, a group's kind or role that does not
    resolve."""
    problems: list[Problem] = []
    order: list[tuple[Manifest, Document | None]] = []
    loaded = {m.pack.id: (m, d) for m, d in manifests}
    seen: set[str] = set()
    pending = list(manifests)
    while pending:
        manifest, doc = pending.pop(0)
        if manifest.pack.id in seen:
            continue
        seen.add(manifest.pack.id)
        order.append((manifest, doc))
        for i, name in enumerate(manifest.imported()):
            if name in loaded:
                pending.append(loaded[name])
                continue
            shipped = shipped_manifest(name)
            if shipped is not None:
                pending.append(shipped)
                loaded[name] = shipped
                continue
            where = _where(doc, ("imports", i) if i < len(manifest.imports) else ("format",))
            hint = did_you_mean(name, [*loaded, *shipped_ids()])
            problems.append(Problem.of("pack.import.unknown", where, hint, pack=name))
    scopes: dict[str, tuple[str, ...]] = {}
    for manifest, _doc in order:
        extra = [manifest.overlay.extends] if manifest.overlay is not None else []
        scopes[manifest.pack.id] = (manifest.pack.id, *manifest.imported(), *extra)
    vocabulary = Vocabulary([(m.pack.id, _sections(m)) for m, _d in order], scopes)
    docs = {m.pack.id: d for m, d in order}
    for pack, path, miss in vocabulary.problems:
        problems.append(miss_problem(miss, _where(docs.get(pack), path)))
    return vocabulary, problems


@lru_cache(maxsize=1)
def standard_vocabulary() -> Vocabulary:
    """The vocabulary of the standard pack (cpc-basic) alone."""
    shipped = shipped_manifest("cpc-basic")
    assert shipped is not None, "the standard vocabulary pack ships with the library"
    vocabulary, problems = build_vocabulary([shipped])
    if problems:
        raise RulesError(problems)
    return vocabulary


def _where(doc: Document | None, path: tuple[str | int, ...]) -> Location:
    if doc is None:
        return Location("<pack>")
    return doc.locate(path)


def miss_problem(miss: Miss, where: Location) -> Problem:
    """A name in a pack that did not resolve, as a located problem."""
    code = {
        "vocab.unknown": "rule.term.unknown",
        "vocab.ambiguous": "rule.term.ambiguous",
        "vocab.not_imported": "rule.term.not_imported",
    }[miss.code]
    values: dict[str, Any] = {k: v for k, v in miss.values.items() if k not in ("what_zh", "what_en")}
    values["what"] = (miss.values["what_zh"], miss.values["what_en"])
    return Problem.of(code, where, miss.hint, **values)


def resolve_rule(rule: Rule, pack: str, vocabulary: Vocabulary, locate: Any) -> tuple[Rule, list[Problem]]:
    """`rule` with each kind, role and group it names as the run names it (its key, or ``PACK:KEY``), and the
    problems of names that do not resolve (located by `locate(path)`, a path inside the rule)."""
    problems: list[Problem] = []

    def names(section: str, words: Sequence[str], path: tuple[str | int, ...]) -> list[str]:
        out = []
        for i, word in enumerate(words):
            found = vocabulary.resolve(section, word, pack)
            if isinstance(found, Miss):
                problems.append(miss_problem(found, locate((*path, i))))
                out.append(word)
            else:
                out.append(found)
        return out

    def one(section: str, word: str, path: tuple[str | int, ...]) -> str:
        found = vocabulary.resolve(section, word, pack)
        if isinstance(found, Miss):
            problems.append(miss_problem(found, locate(path)))
            return word
        return found

    update: dict[str, Any] = {
        "org_kinds": names("kind", rule.org_kinds, ("org_kinds",)),
        "roles": names("role", rule.roles, ("roles",)),
    }
    if rule.pair is not None:
        second = rule.pair.second
        if isinstance(second, PairGroup):
            group = one("group", second.group, ("pair", "second", "group"))
            resolved_second: Any = second.model_copy(update={"group": group})
        else:
            resolved_second = names("role", second, ("pair", "second"))
        first = names("role", rule.pair.first, ("pair", "first"))
        update["pair"] = rule.pair.model_copy(update={"first": first, "second": resolved_second})
    if rule.escalate is not None:
        roles = names("role", rule.escalate.roles, ("escalate", "roles"))
        update["escalate"] = rule.escalate.model_copy(update={"roles": roles})
    if rule.quorum is not None and isinstance(rule.quorum.of, QuorumGroup):
        group = one("group", rule.quorum.of.group, ("quorum", "of", "group"))
        update["quorum"] = rule.quorum.model_copy(update={"of": QuorumGroup(group=group)})
    conditions = []
    for i, condition in enumerate(rule.applies_when):
        if condition.has_group is not None:
            condition = condition.model_copy(
                update={"has_group": one("group", condition.has_group, ("applies_when", i, "has_group"))}
            )
        elif condition.lacks_group is not None:
            condition = condition.model_copy(
                update={"lacks_group": one("group", condition.lacks_group, ("applies_when", i, "lacks_group"))}
            )
        elif condition.attribute is not None:
            declared: set[str] = set()
            for kind in update["org_kinds"]:
                term = vocabulary.kind(kind)
                if term is not None and isinstance(term.spec, KindTerm):
                    declared.update(term.spec.attributes)
            if condition.attribute not in declared:
                where = locate(("applies_when", i, "attribute"))
                hint = did_you_mean(condition.attribute, declared)
                problems.append(
                    Problem.of("rule.applies_when.unknown_attribute", where, hint, name=condition.attribute)
                )
        conditions.append(condition)
    update["applies_when"] = conditions
    return rule.model_copy(update=update), problems
