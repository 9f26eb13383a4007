"""The words users write in inputs, in one place: the vocabulary of the loaded packs (organisation kinds, roles
and groups, with their Chinese and English names and aliases) and the column names of record and roster tables.

Shared by the roster model (YAML, JSON, Python dicts), the spreadsheet and text-table readers and the
BDD steps, so that a word accepted in one input is accepted in all of them. Column names are compared
after trimming spaces and case-folding (:func:`column_name`); role and kind values likewise
(:meth:`Vocabulary.lookup`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import cached_property

from pydantic_core import PydanticCustomError

from ..errors import did_you_mean
from ..texts import hint
from .refusal import refuse
from .terms import GroupTerm, KindTerm, RoleTerm

SECTIONS = ("kind", "role", "group")
#: the manifest key of each section
SECTION_KEYS = {"kind": "org_kinds", "role": "roles", "group": "groups"}
#: the pack that holds the standard vocabulary, shipped with the library (imported by every v1 pack)
STANDARD = "cpc-basic"

Spec = KindTerm | RoleTerm | GroupTerm


@dataclasses.dataclass(frozen=True)
class Term:
    """A declared term: its section (kind, role, group), pack, key and declaration, and `name`: how the run
    names it (its key, or ``PACK:KEY`` when two loaded packs declare that key)."""

    section: str
    pack: str
    key: str
    name: str
    spec: Spec
    kinds: tuple[str, ...] = ()  # a group's: resolved names of the kinds where it can exist
    roles: tuple[str, ...] = ()  # a group's: resolved names of the roles whose holders are its members

    @property
    def qualified(self) -> str:
        return f"{self.pack}:{self.key}"

    @property
    def zh(self) -> str:
        return self.spec.zh

    @property
    def en(self) -> str:
        return self.spec.en


@dataclasses.dataclass(frozen=True)
class Miss:
    """Why a name did not resolve: a code of :mod:`rules_engine.texts` (``vocab.unknown``, ``vocab.ambiguous``,
    ``vocab.not_imported``), its values and a hint."""

    code: str
    values: dict[str, str]
    zh: str = ""  # the hint, in Chinese and in English ("" for none)
    en: str = ""
    both: str = ""  # the hint as one text in both languages, when it is worded so (a did-you-mean)

    @property
    def hint(self) -> str:
        """The hint in both languages, as a located problem shows it."""
        return self.both or " ".join(x for x in (self.zh, self.en) if x)


_WHAT = {"kind": ("组织类型", "organisation kind"), "role": ("职务", "role"), "group": ("小组", "group")}


class Vocabulary:
    """The kinds, roles and groups of the loaded packs, each named once for the run, and the words a roster may
    write for them. Built by :func:`rules_engine.load.vocabulary.build_vocabulary`; `scopes` gives, per pack, the
    packs whose terms its bare names may mean (itself first, then its imports)."""

    def __init__(self, declared: Sequence[tuple[str, dict[str, dict[str, Spec]]]], scopes: dict[str, tuple[str, ...]]):
        self.scopes = scopes
        self._by_qualified: dict[tuple[str, str], Term] = {}
        self.terms: dict[str, dict[str, Term]] = {s: {} for s in SECTIONS}
        for section in SECTIONS:
            counts: dict[str, int] = {}
            for _pack, sections in declared:
                for key in sections.get(section, {}):
                    counts[key] = counts.get(key, 0) + 1
            for pack, sections in declared:
                for key, spec in sections.get(section, {}).items():
                    name = key if counts[key] == 1 else f"{pack}:{key}"
                    term = Term(section, pack, key, name, spec)
                    self._by_qualified[(section, term.qualified)] = term
                    self.terms[section][name] = term
        self.problems: list[tuple[str, tuple[str | int, ...], Miss]] = []  # (pack, manifest path, why)
        for name, term in list(self.terms["group"].items()):
            spec = term.spec
            assert isinstance(spec, GroupTerm)
            kinds = self._names("kind", term.pack, spec.kinds, ("groups", term.key, "kinds"))
            roles = self._names("role", term.pack, spec.roles, ("groups", term.key, "roles"))
            resolved = dataclasses.replace(term, kinds=kinds, roles=roles)
            self.terms["group"][name] = self._by_qualified[("group", term.qualified)] = resolved

    def _names(self, section: str, pack: str, words: Iterable[str], path: tuple[str | int, ...]) -> tuple[str, ...]:
        out = []
        for i, word in enumerate(words):
            found = self.resolve(section, word, pack)
            if isinstance(found, Miss):
                self.problems.append((pack, (*path, i), found))
            else:
                out.append(found)
        return tuple(out)

    # ------------------------------------------------------------ names in a pack (rules, declarations)
    def resolve(self, section: str, word: str, pack: str) -> str | Miss:
        """The run's name of the term `word` means in `pack` (a key: the pack's own term, else exactly one of its
        imports'; ``PACK:KEY``: that pack's, which must be the pack itself or one it imports)."""
        scope = self.scopes.get(pack, (pack,))
        what = _WHAT[section]
        if ":" in word:
            owner = word.split(":", 1)[0]
            term = self._by_qualified.get((section, word))
            if term is not None and owner in scope:
                return term.name
            if term is not None:
                return self._not_imported(section, word, [owner])
            return self._unknown(section, word, scope)
        own = self._by_qualified.get((section, f"{pack}:{word}"))
        if own is not None:
            return own.name
        found = [t for p in scope[1:] if (t := self._by_qualified.get((section, f"{p}:{word}"))) is not None]
        if len(found) == 1:
            return found[0].name
        if len(found) > 1:
            names = sorted(t.qualified for t in found)
            return Miss(
                "vocab.ambiguous",
                {"name": word, "candidates": ", ".join(names), "what_zh": what[0], "what_en": what[1]},
                "请写明其一：" + "、".join(names),
                "write one of: " + ", ".join(names),
            )
        elsewhere = sorted(t.pack for t in self._by_qualified.values() if t.section == section and t.key == word)
        if elsewhere:
            return self._not_imported(section, word, elsewhere)
        return self._unknown(section, word, scope)

    def _unknown(self, section: str, word: str, scope: Sequence[str]) -> Miss:
        terms = [t for t in self._by_qualified.values() if t.section == section and t.pack in scope]
        keys = [t.key for t in terms]
        what = _WHAT[section]
        values = {"name": word, "what_zh": what[0], "what_en": what[1]}
        named = [
            t.key for t in terms if word.strip().casefold() in {w.casefold() for w in (t.zh, t.en, *t.spec.aliases)}
        ]
        if named:  # a roster's word (书记) where a rule names the term by its key (secretary)
            zh, en = f"规则中写键名 '{named[0]}'", f"in rules write the key '{named[0]}'"
            return Miss("vocab.unknown", values, zh, en, f"{zh} {en}")
        zh, en, both = (did_you_mean(word, keys, lang) for lang in ("zh", "en", "both"))
        return Miss("vocab.unknown", values, zh, en, both)

    @staticmethod
    def _not_imported(section: str, word: str, packs: Sequence[str]) -> Miss:
        listed = ", ".join(packs)
        what = _WHAT[section]
        return Miss(
            "vocab.not_imported",
            {"name": word, "owner": listed, "what_zh": what[0], "what_en": what[1]},
            f"由 {listed} 声明：在 pack.yaml 中写 imports: [{packs[0]}]",
            f"declared by {listed}: add imports: [{packs[0]}] to pack.yaml",
        )

    # ------------------------------------------------------------ words in a roster or a scoring file
    @cached_property
    def _words(self) -> dict[str, dict[str, set[str]]]:
        out: dict[str, dict[str, set[str]]] = {s: {} for s in SECTIONS}
        for section in SECTIONS:
            for name, term in self.terms[section].items():
                for word in (name, term.qualified, term.key, term.zh, term.en, *term.spec.aliases):
                    out[section].setdefault(word.strip().casefold(), set()).add(name)
        return out

    def word_table(self, section: str) -> dict[str, str]:
        """The words of a section that name one term, and the name each means (for did-you-mean)."""
        out: dict[str, str] = {}
        for name, term in self.terms[section].items():
            for word in (term.zh, *term.spec.aliases, term.key, name):
                out.setdefault(word, name)
        return out

    def lookup(self, section: str, word: str) -> str | Miss:
        """The name of the term a roster's `word` means: any of its words (key, ``PACK:KEY``, zh, en, alias),
        case and surrounding spaces aside; an unknown word or one meaning two terms is a :class:`Miss`."""
        found = self._words[section].get(word.strip().casefold())
        what = _WHAT[section]
        if found is not None and len(found) == 1:
            return next(iter(found))
        if found:
            names = sorted(self.terms[section][n].qualified for n in found)
            return Miss(
                "vocab.ambiguous",
                {"name": word, "candidates": ", ".join(names), "what_zh": what[0], "what_en": what[1]},
                "请写明其一：" + "、".join(names),
                "write one of: " + ", ".join(names),
            )
        table = self.word_table(section)
        zh, en = did_you_mean(word[:100], table, "zh"), did_you_mean(word[:100], table, "en")
        if "'" not in zh:
            common = [t.zh for t in self.terms[section].values()]
            listed = f"{'、'.join(common)} / {', '.join(self.terms[section])}"
            zh, en = f"可选：{listed}", f"expected one of: {listed}"
        return Miss("vocab.unknown", {"name": word, "what_zh": what[0], "what_en": what[1]}, zh, en)

    # ------------------------------------------------------------ what the code asks of terms
    def term(self, section: str, name: str) -> Term | None:
        return self.terms[section].get(name)

    def kind(self, name: str) -> Term | None:
        return self.terms["kind"].get(name)

    def outside(self, kind: str, kinds: Collection[str]) -> bool:
        """Whether organisations of `kind` are outside the vocabulary of a rule covering `kinds`: no kind of `kinds`
        is declared by the pack that declares `kind`. Such a rule says nothing of them (not even
        ``not_applicable``): a rule for the standard kinds is silent on a village organisation another pack
        declares, and a rule for villages on a township."""
        own = self.kind(kind)
        if own is None:
            return False
        return all((other := self.kind(k)) is None or other.pack != own.pack for k in kinds)

    def role_zh(self, name: str) -> str:
        term = self.terms["role"].get(name)
        return term.zh if term is not None else name

    @cached_property
    def heads(self) -> frozenset[str]:
        """The roles flagged ``head``: the organisation's head (a secretary)."""
        return frozenset(n for n, t in self.terms["role"].items() if isinstance(t.spec, RoleTerm) and t.spec.head)

    @cached_property
    def team(self) -> tuple[str, ...]:
        """The roles flagged ``team``: members of the leading team, in declaration order."""
        return tuple(n for n, t in self.terms["role"].items() if isinstance(t.spec, RoleTerm) and t.spec.team)

    @cached_property
    def localities(self) -> tuple[str, ...]:
        return tuple(n for n, t in self.terms["kind"].items() if isinstance(t.spec, KindTerm) and t.spec.locality)

    @cached_property
    def departments(self) -> tuple[str, ...]:
        return tuple(n for n, t in self.terms["kind"].items() if isinstance(t.spec, KindTerm) and t.spec.department)


def miss_error(key: str, miss: Miss) -> PydanticCustomError:
    """A roster's (or scoring file's) refusal `key` for a word that did not resolve."""
    shown = miss.values["name"]
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return refuse(key, "", word=shown, hint=hint(miss.zh, miss.en, "；", "; "))


def standard() -> Vocabulary:
    """The vocabulary of the standard pack alone (``cpc-basic``): what a roster is read with when no rule packs
    are given."""
    from ..load.vocabulary import standard_vocabulary

    return standard_vocabulary()


#: Column names of activity-record tables (CSV, tab-separated text, spreadsheets, BDD tables).
RECORD_COLUMNS: dict[str, str] = {
    "编号": "id",
    "记录编号": "id",
    "活动编号": "id",
    "组织": "org",
    "组织编号": "org",
    "organisation": "org",
    "organization": "org",
    "类型": "type",
    "记录类型": "type",
    "活动类型": "type",
    "日期": "date",
    "活动日期": "date",
    "主持人": "chair",
    "组织者": "chair",
    "参加人员": "participants",
    "参会人员": "participants",
    "出席人员": "participants",
    "分管领域": "portfolio",
    "标签": "tags",
    "内容": "text",
    "说明": "text",
    "备注": "text",
}
RECORD_FIELDS = ("id", "org", "type", "date", "chair", "participants", "portfolio", "tags", "text")

#: Column names of organisation tables (the 组织 sheet, the BDD organisations table).
ORG_COLUMNS: dict[str, str] = {
    "编号": "id",
    "组织编号": "id",
    "名称": "name",
    "组织名称": "name",
    "类型": "kind",
    "组织类型": "kind",
    "type": "kind",
    "层级": "level",
    "上级组织": "parent",
    "上级": "parent",
    "上级组织编号": "parent",
}
ORG_FIELDS = ("id", "name", "kind", "level", "parent")

#: Column names of people tables (the 人员 sheet, the BDD people table; one row per post).
PEOPLE_COLUMNS: dict[str, str] = {
    "编号": "id",
    "人员": "id",
    "人员编号": "id",
    "姓名": "name",
    "组织": "org",
    "组织编号": "org",
    "任职组织": "org",
    "organisation": "org",
    "organization": "org",
    "职务": "role",
    "小组": "group",
    "所在小组": "group",
    "分管领域": "portfolios",
    "分管": "portfolios",
    "portfolio": "portfolios",
    "任职开始": "start",
    "开始日期": "start",
    "任职结束": "end",
    "结束日期": "end",
}
PEOPLE_FIELDS = ("id", "name", "org", "role", "group", "portfolios", "start", "end")


def column_table(aliases: Mapping[str, str], fields: tuple[str, ...]) -> dict[str, str]:
    """Header lookup keyed by case-folded name: the aliases and the field names themselves."""
    return {a.casefold(): f for a, f in aliases.items()} | {f: f for f in fields}


def column_name(header: str, table: Mapping[str, str]) -> str:
    """The field a header cell names (`table` from :func:`column_table`), or the header case-folded."""
    key = header.strip().casefold()
    return table.get(key, key)
