"""``rules-engine draft ARTICLE.txt --pack DIR``: rule skeletons from the frequency and deadline phrases of a
regulation's text (the phrases: :mod:`rules_engine.draft`).

Each phrase found becomes one rule in a new YAML file of the pack, with the citation (the document, the
article when the text has ``第X条``, else the chapter; the sentence as its text), the numbers the phrase gives
(``period`` and ``at_least`` / ``at_most``, a ``window``, or ``within_days`` for a deadline after an event)
and ``provenance.basis: draft``. A draft loads, evaluates and lints clean, so an author can run it at once;
``rules-engine lint --release`` refuses it until a person has reviewed it and set its basis. What a draft
cannot know is written as the pack's first choices and said so in the file's head: the organisation kinds
(those the pack's rules cover), the record types (the pack's first), the title in English.

Every sentence is accounted for: drafted, or listed in :attr:`Drafted.left` with the reason (no phrase
understood, or a phrase no rule can hold). The file is written whole or not at all, and never over an existing
file; nothing is written when no rule was drafted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .atomic import write_bytes
from .draft import Found, Phrase, Sentence, Unencodable, phrases, sentences
from .errors import InputError
from .load.inputs import decode_text
from .load.rules import MANIFEST, MANIFESTS, load_rules
from .model.rules import FORMAT, RuleFile
from .schema import modeline

#: The reason a sentence without any phrase is left out.
NO_PHRASE = ("没有识别出频次或时限", "no frequency or deadline phrase understood")


@dataclass(frozen=True)
class DraftedRule:
    """One rule drafted: its id, the sentence and the phrase it comes from."""

    id: str
    sentence: Sentence
    phrase: Phrase


@dataclass(frozen=True)
class LeftOut:
    """A sentence (or one phrase of it) not drafted, and why: ``reason`` is (zh, en); ``phrase`` the words of a
    phrase no rule can hold (empty when none was found)."""

    sentence: Sentence
    reason: tuple[str, str]
    phrase: str = ""


@dataclass(frozen=True)
class Drafted:
    """What :func:`draft_rules` did: the file written (``None`` when no rule was drafted), the rules in it, and
    every sentence or phrase left out."""

    path: Path | None
    rules: list[DraftedRule] = field(default_factory=list)
    left: list[LeftOut] = field(default_factory=list)
    text: str = ""  # the YAML written


def draft_rules(
    article: str | Path,
    pack: str | Path,
    *,
    prefix: str = "DRAFT",
    document: str | None = None,
    output: str | Path | None = None,
) -> Drafted:
    """Draft rules from the regulation text in `article` into a new file of the pack at `pack`:
    ``output`` (default ``PACK/draft-<article's name>.yaml``). `prefix` starts the rule ids
    (``PREFIX-<article>-<n>``); `document` names the regulation (default: the pack's). Refuses (an
    :class:`InputError`, nothing written) a folder that is not a pack, an unreadable text, an existing output."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.\-]*", prefix):
        raise InputError.of("arg.rule_id.invalid", rule=prefix)
    root = Path(pack)
    if not any((root / name).is_file() for name in MANIFESTS):
        raise InputError.of("arg.pack.not_a_pack", root=str(root), manifest=MANIFEST)
    source = Path(article)
    if not source.is_file():
        raise InputError.of("usage.file.not_found", path=str(article))
    text, _encoding = decode_text(source.read_bytes(), str(article))
    target = Path(output) if output is not None else root / f"draft-{_slug(source.stem)}.yaml"
    if target.suffix.lower() not in (".yaml", ".yml") or not target.resolve().is_relative_to(root.resolve()):
        raise InputError.of("arg.draft.output", path=str(target), root=str(root))  # else the pack would not read it
    if target.exists():
        raise InputError.of("output.file.exists", path=str(target))
    ruleset = load_rules(root)
    manifest = ruleset.packs[0].manifest
    record_types = list(manifest.record_types) or [t for p in ruleset.packs for t in p.manifest.record_types]
    kinds: list[str] = []
    for loaded in ruleset.packs[0].rules:  # the kinds the pack's rules cover; none yet: every kind
        kinds += [str(k) for k in loaded.rule.org_kinds if str(k) not in kinds]
    kinds = kinds or list(ruleset.vocabulary.terms["kind"])
    taken = {loaded.rule.id for loaded in ruleset.rules}
    drafted: list[DraftedRule] = []
    left: list[LeftOut] = []
    for sentence in sentences(text):
        found: list[Found] = phrases(sentence.text)
        if not found:
            left.append(LeftOut(sentence, NO_PHRASE))
        for item in found:
            if isinstance(item, Unencodable):
                left.append(LeftOut(sentence, item.reason, item.text))
                continue
            rule_id = _free_id(prefix, sentence.article, taken)
            taken.add(rule_id)
            drafted.append(DraftedRule(rule_id, sentence, item))
    if not drafted:
        return Drafted(None, [], left)
    doc = document or manifest.pack.regulation.document
    rules = [_rule(d, doc, source.name, kinds, record_types) for d in drafted]
    RuleFile.model_validate({"format": FORMAT, "rules": rules})  # a bug here must not reach the pack
    body = yaml.dump({"format": FORMAT, "rules": rules}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    head = [
        modeline(target, "rules"),
        f"# 规则草稿：由 rules-engine draft 从 {source.name} 起草，未经人工核对。",
        "# 逐条核对标题、引文、数字、适用组织（org_kinds）和计数的记录类型（match.types，现为本包的第一个记录类型），",
        "# 再把 provenance.basis 改为 verified_text、commentary 或 local_practice；",
        "# 在此之前 lint --release 拒绝这些规则。",
        f"# Draft rules written by rules-engine draft from {source.name}, not yet reviewed by a person.",
        "# Review each one's title, citation, numbers, organisation kinds (org_kinds) and the records it counts",
        "# (match.types, now the pack's first record type), then set provenance.basis to verified_text, commentary or",
        "# local_practice; until then lint --release refuses them.",
    ]
    data = ("\n".join(head) + "\n" + body).encode("utf-8")
    if target.exists():  # made while this ran: still never overwritten
        raise InputError.of("output.file.exists", path=str(target))
    write_bytes(target, data, [source])
    return Drafted(target, drafted, left, data.decode("utf-8"))


class _Dumper(yaml.SafeDumper):
    """Block mappings, lists of plain values on one line (``org_kinds: [a, b]``) as the shipped packs write
    them, and no anchors: every rule is whole where it stands."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, (str, int)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _list)


def _slug(stem: str) -> str:
    """A file name's stem kept as it is (Chinese included), but for spaces and characters file systems refuse."""
    return re.sub(r'[\s<>:"/\\|?*]+', "-", stem).strip("-.") or "article"


def _free_id(prefix: str, article: int | None, taken: set[str]) -> str:
    """``PREFIX-08-01`` (article 8, first rule) or ``PREFIX-01`` (no article): the first number not taken."""
    stem = f"{prefix}-{article:02d}" if article is not None else prefix
    n = 1
    while f"{stem}-{n:02d}" in taken:
        n += 1
    return f"{stem}-{n:02d}"


def _rule(drafted: DraftedRule, document: str, source: str, kinds: list[str], types: list[str]) -> dict[str, Any]:
    sentence, phrase = drafted.sentence, drafted.phrase
    citation: dict[str, Any] = {"document": document}
    if sentence.article is not None:
        citation["article"] = sentence.article
    elif sentence.chapter is not None:
        citation["chapter"] = sentence.chapter
    citation["text"] = sentence.text
    citation["wording"] = "quoted"
    numbers = _numbers(phrase)
    line = sentence.line
    note = f"rules-engine draft: {source} 第{line}行 line {line}，识别 found “{phrase.text}”: {numbers}"
    if phrase.assumed:
        note += f"；{phrase.assumed}"
    rule: dict[str, Any] = {
        "id": drafted.id,
        "title": {"zh": sentence.text, "en": f"TODO English title (draft of “{phrase.text}”)"},
        "severity": "medium",
        "citation": citation,
        "provenance": {"basis": "draft", "confidence": "low", "note": note},
        "org_kinds": kinds,
    }
    params: dict[str, Any] = {}
    if phrase.within_days is not None:  # a deadline after an event: the event's records start it
        rule["subject"] = "trigger"
        rule["trigger"] = {"types": [types[0]]}
        rule["match"] = {"types": [types[1] if len(types) > 1 else types[0]]}
        params = {"within_days": phrase.within_days, "at_least": 1}
    else:
        rule["subject"] = "organisation"
        rule["match"] = {"types": [types[0]]}
        params["period"] = phrase.period
        if phrase.at_least is not None:
            params["at_least"] = phrase.at_least
        if phrase.at_most is not None:
            params["at_most"] = phrase.at_most
        if phrase.window_to is not None:
            params["window"] = {"to": phrase.window_to}
    rule["params"] = params
    return rule


def _numbers(phrase: Phrase) -> str:
    parts = [
        f"{name} {value}"
        for name, value in (
            ("period", phrase.period),
            ("at_least", phrase.at_least),
            ("at_most", phrase.at_most),
            ("window.to", phrase.window_to),
            ("within_days", phrase.within_days),
        )
        if value is not None
    ]
    return ", ".join(parts)
