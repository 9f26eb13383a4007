"""Load and lint rule packs: YAML with positions -> pydantic models -> cross-file checks.

Every problem is located (file:line:column) and carries a hint where one helps. Nothing in a rule
file is executed: YAML is read with safe constructors only, and message templates are checked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Location, Problem, RulesError, did_you_mean
from ..fields import where_problems
from ..model.refusal import exception_texts, keyed
from ..model.rules import Manifest, PackInfo, Rule, RuleFile
from ..model.vocab import Vocabulary
from ..texts import TEXTS, Arg, fixed_hint, text
from .packs import PackSource, installed_sources
from .provenance import provenance_problems
from .vocabulary import build_vocabulary, resolve_rule, standard_vocabulary
from .yamlpos import Document, load_yaml

MANIFEST = "pack.yaml"
MANIFESTS = (MANIFEST, "pack.yml")  # a pack's manifest: pack.yml is read as well, never passed over
YAML_SUFFIXES = (".yaml", ".yml")
_PACK_ID = r"[A-Za-z][A-Za-z0-9_.\-]*"


@dataclass(frozen=True)
class LoadedRule:
    """A validated rule with the pack it belongs to and where it was written."""

    rule: Rule
    pack: PackInfo
    location: Location


@dataclass(frozen=True)
class RulePack:
    manifest: Manifest
    rules: tuple[LoadedRule, ...]
    root: str
    sha256: str
    origin: str = ""
    """Where the pack came from, for information: ``bundled`` (shipped with the library), ``entry point
    NAME (DISTRIBUTION VERSION)`` (published by another installed distribution), or the pack folder's
    path as given (relative to the working folder when inside it)."""

    @property
    def id(self) -> str:
        return self.manifest.pack.id


@dataclass(frozen=True)
class RuleSet:
    """The rule packs an evaluation uses. Build it with :func:`load_rules`."""

    packs: tuple[RulePack, ...]
    _by_id: dict[str, LoadedRule] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for pack in self.packs:
            for loaded in pack.rules:
                self._by_id[loaded.rule.id] = loaded

    @property
    def rules(self) -> list[LoadedRule]:
        return [loaded for pack in self.packs for loaded in pack.rules]

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The organisation kinds, roles and groups the packs declare or import (the standard vocabulary,
        cpc-basic, when there are no packs)."""
        if not self.packs:
            from .vocabulary import standard_vocabulary

            return standard_vocabulary()
        vocabulary, _problems = build_vocabulary([(pack.manifest, None) for pack in self.packs])
        return vocabulary

    def get(self, rule_id: str) -> LoadedRule | None:
        return self._by_id.get(rule_id)

    def record_types(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for pack in self.packs:
            out.update(pack.manifest.record_types)
        return out


def load_rules(*paths: str | Path) -> RuleSet:
    """Load rule packs from pack folders, a folder of packs, single rule files, or installed packs by id.

    With no path: every installed pack (those bundled with the library, then those published through
    the ``rules_engine.packs`` entry point group). A string that is no file or folder but a pack id
    names an installed pack. A folder holding no pack is an error, as is any YAML under it that belongs
    to no pack, or a folder or file that cannot be read.

    Raises :class:`RulesError` with every located problem when anything is wrong.
    """
    packs, problems = load_problems(paths)
    if problems:
        raise RulesError(problems)
    return RuleSet(tuple(packs))


@dataclass
class _Root:
    """One pack folder to load: its manifest, the rule files to read, where it came from."""

    folder: Path
    manifest: Path
    origin: str
    files: list[Path]
    whole: bool  # all the pack's own files (False: only the files asked for)
    order: int = 0  # explicit paths first, then the installed sources in their order


@dataclass
class _Unloaded:
    """What failed to load, so that checks across files report the cause once, not its echoes."""

    rule_ids: set[str] = field(default_factory=set)
    pack_ids: set[str] = field(default_factory=set)
    unknown: bool = False  # a file could not be parsed at all: the rules it holds are unknown


_Written = tuple[Rule, int, Document]  # a rule, its place in its file and the file (for located problems)


def _is_yaml(name: str) -> bool:
    return name.lower().endswith(YAML_SUFFIXES)


def _unreadable(path: str | Path, exc: OSError) -> Problem:
    what = ("目录", "folder") if Path(path).is_dir() else ("文件", "file")
    return Problem.of("file.unreadable", Location(_display(Path(path))), what=what, error=str(exc.strerror))


def _scan(top: Path) -> tuple[list[tuple[Path, Path, list[Path]]], list[Problem]]:
    """Every pack under `top` as (folder, manifest, its own YAML files); nothing found is left unsaid.

    A folder with YAML but no manifest above it (within `top`), a misnamed manifest, a folder or file
    that cannot be read: each is a located problem. Names beginning with '.' (.git, .github) are not read.
    """
    packs: dict[str, tuple[Path, Path, list[Path]]] = {}
    owner: dict[str, str | None] = {}
    problems: list[Problem] = []
    visited: set[str] = set()

    def failed(exc: OSError) -> None:
        problems.append(_unreadable(exc.filename or top, exc))

    for dirpath, dirnames, filenames in os.walk(top, onerror=failed, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in visited:  # a link back up the tree
            dirnames[:] = []
            continue
        visited.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        names = sorted(f for f in filenames if not f.startswith("."))
        here = Path(dirpath)
        manifests = [n for n in MANIFESTS if n in names]
        current = owner.get(os.path.dirname(dirpath)) if dirpath != str(top) else None
        if manifests:
            if len(manifests) > 1:
                shown = (" 和 ".join(manifests), ", ".join(manifests))
                problems.append(Problem.of("pack.two_manifests", Location(_display(here / manifests[1])), names=shown))
            current = dirpath
            packs[dirpath] = (here, here / manifests[0], [])
        rule_files = [here / n for n in names if _is_yaml(n) and n not in MANIFESTS]
        if current is not None:
            packs[current][2].extend(rule_files)
        else:
            misnamed = [n for n in names if n.lower().startswith("pack.") or n.lower() in MANIFESTS]
            if misnamed:
                where = Location(_display(here / misnamed[0]))
                problems.append(Problem.of("pack.manifest_name", where, name=misnamed[0]))
            elif rule_files:
                problems.append(Problem.of("pack.no_manifest", Location(_display(rule_files[0]), 1, 1)))
        owner[dirpath] = current
    if not packs and not problems:
        problems.append(Problem.of("pack.none", Location(_display(top))))
    return list(packs.values()), problems


def _manifest_id(manifest: Path) -> str | None:
    doc, problems = load_yaml(manifest, kept=True)
    data = doc.data if doc is not None and not problems else None
    pack = data.get("pack") if isinstance(data, dict) else None
    pack_id = pack.get("id") if isinstance(pack, dict) else None
    return pack_id if isinstance(pack_id, str) else None


def find_pack(pack_id: str, folders: Iterable[Path]) -> Path | None:
    """The folder of the pack with this id under the given folders (the first found), or None."""
    for top in folders:
        if not top.is_dir():
            continue
        found, _problems = _scan(top)  # problems are reported when the packs are loaded
        for folder, manifest, _files in found:
            if _manifest_id(manifest) == pack_id:
                return folder
    return None


def installed_packs() -> tuple[list[tuple[str | None, Path, PackSource]], list[Problem]]:
    """Each installed pack (bundled, then by entry point) as (id, folder, source), and the problems met."""
    sources, problems = installed_sources()
    out: list[tuple[str | None, Path, PackSource]] = []
    for source in sources:
        found, scan_problems = _scan(source.root)
        problems.extend(scan_problems)
        out.extend((_manifest_id(manifest), folder, source) for folder, manifest, _files in found)
    return out, problems


def _pack_roots(paths: Sequence[str | Path]) -> tuple[dict[Path, _Root], list[Problem]]:
    """Each pack folder to load, with the rule files to read (all its own, or those asked for)."""
    roots: dict[Path, _Root] = {}
    problems: list[Problem] = []

    def add_folder(top: Path, origin: str | None, order: int) -> None:
        found, scan_problems = _scan(top)
        problems.extend(scan_problems)
        for folder, manifest, files in found:
            roots[folder.resolve()] = _Root(folder, manifest, origin or _display(folder), files, True, order)

    if not paths:  # the installed packs: bundled, then those of the rules_engine.packs entry points
        sources, found = installed_sources()
        problems.extend(found)
        for order, source in enumerate(sources, start=1):
            add_folder(source.root, source.origin, order)
        if not sources and not found:
            problems.append(Problem.of("pack.none_installed", Location("<installed packs>")))
        return roots, problems
    installed: list[tuple[str | None, Path, PackSource]] | None = None
    installed_problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            add_folder(path, None, 0)
        elif path.is_file():
            owner = next((p for p in path.parents if any((p / m).is_file() for m in MANIFESTS)), None)
            if owner is None:
                problems.append(Problem.of("pack.no_manifest#file", Location(_display(path), 1, 1)))
                continue
            manifest = next(owner / m for m in MANIFESTS if (owner / m).is_file())
            key = owner.resolve()
            if path.name in MANIFESTS:
                add_folder(owner, None, 0)
            elif key not in roots:
                roots[key] = _Root(owner, manifest, _display(owner), [path], False)
            elif not roots[key].whole:
                roots[key].files.append(path)
        elif isinstance(raw, str) and re.fullmatch(_PACK_ID, raw):  # a pack named by id: an installed one
            if installed is None:
                installed, installed_problems = installed_packs()
            matches = [(folder, source) for pack_id, folder, source in installed if pack_id == raw]
            if not matches:
                problems.extend(installed_problems)
                hint = did_you_mean(raw, [i for i, _f, _s in installed if i])
                problems.append(Problem.of("pack.unknown", Location(raw), hint))
            for order, (folder, source) in enumerate(matches, start=1):
                in_folder, scan_problems = _scan(folder)
                problems.extend(scan_problems)
                for sub, manifest, files in in_folder:
                    if sub == folder:
                        roots[folder.resolve()] = _Root(folder, manifest, source.origin, files, True, order)
        else:
            problems.append(Problem.of("file.not_found", Location(str(path))))
    return roots, problems


def load_problems(paths: Sequence[str | Path]) -> tuple[list[RulePack], list[Problem]]:
    """The packs under the paths that load, and every located problem of the others (sorted by the caller)."""
    roots, problems = _pack_roots(paths)
    packs: list[RulePack] = []
    seen_ids: dict[str, Location] = {}
    unloaded = _Unloaded()
    manifests: dict[int, str] = {}  # id(pack) -> its manifest as displayed
    overlay_rules: dict[int, list[_Written]] = {}  # id(pack) -> an overlay's rules, checked against its base's fields
    first_of: dict[str, RulePack] = {}
    docs = _Docs()
    for root, info in sorted(roots.items(), key=lambda item: (item[1].order, item[0])):
        written: list[_Written] = []
        pack, pack_problems = _load_pack(root, info, seen_ids, unloaded, docs, written)
        if pack is not None and pack.id in first_of:
            # the cause, once: a second pack of the same id (e.g. an installed copy of a bundled pack) is
            # not loaded, so its rules do not echo as duplicate rule ids and overlays see one base
            first = first_of[pack.id]
            problems.append(
                Problem.of(
                    "pack.duplicate_id",
                    Location(_display(info.manifest), 1, 1),
                    pack=pack.id,
                    origin=pack.origin,
                    first=first.origin,
                    root=first.root,
                )
            )
            problems.extend(p for p in pack_problems if p.code != "rule.duplicate_id")
            continue
        problems.extend(pack_problems)
        if pack is not None:
            packs.append(pack)
            first_of[pack.id] = pack
            manifests[id(pack)] = _display(info.manifest)
            overlay_rules[id(pack)] = written
    resolved = _resolve_names(packs, docs, problems)
    manifests = {id(new): manifests[id(old)] for old, new in zip(packs, resolved, strict=True)}
    overlay_rules = {id(new): overlay_rules.get(id(old), []) for old, new in zip(packs, resolved, strict=True)}
    packs = resolved
    problems.extend(_check_overlays(packs, unloaded, manifests, overlay_rules))
    problems.extend(_check_escalations(packs, unloaded))
    return packs, problems


@dataclass
class _Docs:
    """The documents the packs were read from, kept while they load: names are resolved once all are read."""

    manifests: dict[str, Document] = field(default_factory=dict)  # pack id -> its manifest
    rules: dict[int, tuple[Document, int]] = field(default_factory=dict)  # id(LoadedRule) -> its file, index


def _resolve_names(packs: list[RulePack], docs: _Docs, problems: list[Problem]) -> list[RulePack]:
    """The packs with every kind, role and group their rules name as the run names it (bare where no two loaded
    packs declare the key, else ``PACK:KEY``); each name that does not resolve, and each import that names no
    pack, is a located problem."""
    vocabulary, found = build_vocabulary([(p.manifest, docs.manifests.get(p.id)) for p in packs])
    problems.extend(found)
    out = []
    for pack in packs:
        rules = []
        for loaded in pack.rules:
            doc, index = docs.rules[id(loaded)]
            rule, missed = resolve_rule(
                loaded.rule, pack.id, vocabulary, lambda path, d=doc, i=index: d.locate(("rules", i, *path))
            )
            problems.extend(missed)
            rules.append(replace(loaded, rule=rule) if rule != loaded.rule else loaded)
        out.append(replace(pack, rules=tuple(rules)))
    return out


def _another_version(rule: Rule, earlier: list[Rule]) -> bool:
    """A rule id may repeat inside a pack as a new version: each version states its effective dates and
    the ranges do not overlap (each part of a period is judged under the version then in force)."""
    if not earlier or rule.effective is None or any(r.effective is None for r in earlier):
        return False
    start, end = rule.effective.from_, rule.effective.to or dt.date.max
    return all(
        end < r.effective.from_ or start > (r.effective.to or dt.date.max) for r in earlier if r.effective is not None
    )


def _check_escalations(packs: list[RulePack], unloaded: _Unloaded) -> list[Problem]:
    """Escalation rules read existing rules, and never (through others) themselves.

    A rule that failed to load has its own problem already: reading it is not reported again."""
    problems: list[Problem] = []
    rules = {loaded.rule.id: loaded for pack in packs for loaded in pack.rules}
    reads = {rid: (r.rule.escalate.rules if r.rule.escalate else []) for rid, r in rules.items()}
    for rid, loaded in rules.items():
        for dep in reads[rid]:
            if dep not in rules and dep not in unloaded.rule_ids and not unloaded.unknown:
                problems.append(Problem.of("rule.unknown_rule", loaded.location, did_you_mean(dep, rules), rule=dep))
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(rid: str, path: list[str]) -> None:
        state[rid] = 1
        for dep in reads.get(rid, []):
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep] if dep in path else [rid, dep]
                shown = (" → ".join(cycle), " -> ".join(cycle))
                problems.append(Problem.of("rule.escalation_cycle", rules[rid].location, cycle=shown))
            elif dep in reads and state.get(dep) is None:
                visit(dep, [*path, dep])
        state[rid] = 2

    for rid in sorted(reads):
        if reads[rid] and state.get(rid) is None:
            visit(rid, [rid])
    return problems


def _check_overlays(
    packs: list[RulePack], unloaded: _Unloaded, manifests: dict[int, str], written: dict[int, list[_Written]]
) -> list[Problem]:
    """An overlay names an existing base pack and existing rules of it; its rules use known record types, and
    their ``where`` filters and quorums the record fields the base pack and the overlay declare (`written`: the
    overlays' rules as written, by ``id`` of the pack).

    A base pack or rule that failed to load has its own problem already: it is not reported again."""
    problems: list[Problem] = []
    by_id = {p.id: p for p in packs}
    for pack in packs:
        overlay = pack.manifest.overlay
        if overlay is None:
            continue
        where = Location(manifests[id(pack)], 1, 1, "overlay")
        base = by_id.get(overlay.extends)
        if base is None and overlay.extends in unloaded.pack_ids:
            continue
        if base is None or base.manifest.overlay is not None:
            hint = did_you_mean(overlay.extends, [p.id for p in packs if p.manifest.overlay is None])
            problems.append(Problem.of("overlay.unknown_base", where, hint, base=overlay.extends))
            continue
        base_ids = {r.rule.id for r in base.rules}
        for rule_id, layer in overlay.params.items():  # the rule as the overlay changes it must still be valid
            for loaded in (r for r in base.rules if r.rule.id == rule_id):
                try:
                    changed = loaded.rule.model_copy(update={"params": loaded.rule.params.merged(layer)})
                    Rule.model_validate(changed.model_dump(by_alias=True))
                except (ValidationError, ValueError) as exc:
                    detail = exception_texts(exc, first=True)
                    at = Location(where.file, 1, 1, f"overlay/params/{rule_id}")
                    problems.append(Problem.of("overlay.invalid_params", at, rule=rule_id, error=detail))
        for rule_id in [*overlay.params, *overlay.retire]:
            if rule_id not in base_ids and rule_id not in unloaded.rule_ids and not unloaded.unknown:
                hint = did_you_mean(rule_id, base_ids)
                problems.append(Problem.of("overlay.unknown_rule", where, hint, rule=rule_id, base=base.id))
        vocabulary = {**base.manifest.record_types, **pack.manifest.record_types}
        for loaded in pack.rules:
            spec = loaded.rule
            for name in [*(spec.match.types if spec.match else []), *(spec.trigger.types if spec.trigger else [])]:
                if name not in vocabulary:
                    hint = did_you_mean(name, vocabulary)
                    problems.append(Problem.of("rule.unknown_record_type#overlay", loaded.location, hint, name=name))
        fields = {**base.manifest.record_fields, **pack.manifest.record_fields}
        declared = {name: spec.type for name, spec in fields.items()}
        for rule, index, doc in written.get(id(pack), []):
            problems.extend(where_problems(rule, index, doc, declared))
    return problems


def _display(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _load_pack(
    root: Path,
    info: _Root,
    seen_ids: dict[str, Location],
    unloaded: _Unloaded,
    docs: _Docs,
    overlay_rules: list[_Written],
) -> tuple[RulePack | None, list[Problem]]:
    """A pack and its problems; an overlay's rules as written go to `overlay_rules` (checked against the base pack's
    vocabulary once every pack is loaded)."""
    problems: list[Problem] = []
    versions: dict[str, list[Rule]] = {}
    manifest_doc, found = load_yaml(info.manifest, _display(info.manifest), kept=True)
    problems.extend(found)
    manifest = _validate(Manifest, manifest_doc, problems) if manifest_doc is not None else None
    if manifest is not None and manifest_doc is not None and manifest.pack.id not in docs.manifests:
        docs.manifests[manifest.pack.id] = manifest_doc
    if manifest is None:
        raw_id = _manifest_id(info.manifest)
        if raw_id:
            unloaded.pack_ids.add(raw_id)
    files = sorted(set(info.files))
    digest = hashlib.sha256()
    digest.update(_read_or_empty(info.manifest))
    loaded: list[LoadedRule] = []
    for path in files:
        digest.update(path.relative_to(info.folder).as_posix().encode() + b"\0" + _read_or_empty(path))
        doc, found = load_yaml(path, _display(path), kept=True)
        problems.extend(found)
        if doc is None:
            unloaded.unknown = True
            continue
        rule_file = _validate(RuleFile, doc, problems)
        if rule_file is None and manifest is not None:
            problems.extend(_check_raw_types(doc, manifest))
        if rule_file is None or manifest is None:
            unloaded.rule_ids.update(_raw_rule_ids(doc))
            continue
        for index, rule in enumerate(rule_file.rules):
            where = doc.locate(("rules", index))
            problems.extend(provenance_problems(rule, index, doc))
            if rule.id in seen_ids and _another_version(rule, versions.get(rule.id, [])):
                versions[rule.id].append(rule)
                if manifest.overlay is None:
                    problems.extend(_check_vocabulary(rule, index, doc, manifest))
                else:
                    overlay_rules.append((rule, index, doc))
                loaded.append(LoadedRule(rule, manifest.pack, where))
                docs.rules[id(loaded[-1])] = (doc, index)
                continue
            if rule.id in seen_ids:
                at = doc.locate(("rules", index, "id"))
                problems.append(Problem.of("rule.duplicate_id", at, rule=rule.id, first=str(seen_ids[rule.id])))
                continue
            seen_ids[rule.id] = where
            versions[rule.id] = [rule]
            if manifest.overlay is None:  # an overlay's rules are checked against its base pack's vocabulary
                problems.extend(_check_vocabulary(rule, index, doc, manifest))
            else:
                overlay_rules.append((rule, index, doc))
            loaded.append(LoadedRule(rule, manifest.pack, where))
            docs.rules[id(loaded[-1])] = (doc, index)
    if manifest is None:
        return None, problems
    return RulePack(manifest, tuple(loaded), _display(info.folder), digest.hexdigest(), info.origin), problems


def _read_or_empty(path: Path) -> bytes:
    """A file's bytes for the pack's hash; a file that cannot be read has its problem from load_yaml."""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _raw_rule_ids(doc: Document) -> list[str]:
    """The ids a rule file that failed validation meant to define."""
    rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
    items = rules if isinstance(rules, list) else []
    return [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _check_raw_types(doc: Document, manifest: Manifest) -> list[Problem]:
    """Record types in a file that failed validation: still worth reporting in the same lint run."""
    problems: list[Problem] = []
    rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
    for index, item in enumerate(rules if isinstance(rules, list) else []):
        for section in ("match", "trigger"):
            block = item.get(section) if isinstance(item, dict) else None
            types = block.get("types") if isinstance(block, dict) else None
            for i, name in enumerate(types if isinstance(types, list) else []):
                if isinstance(name, str) and name not in manifest.record_types:
                    where = doc.locate(("rules", index, section, "types", i))
                    problems.append(_unknown_type(name, where, manifest.record_types))
    return problems


def _unknown_type(name: str, where: Location, known: Iterable[str]) -> Problem:
    return Problem.of("rule.unknown_record_type", where, did_you_mean(name, known), name=name)


def _check_vocabulary(rule: Rule, index: int, doc: Document, manifest: Manifest) -> list[Problem]:
    problems = []
    known = manifest.record_types
    for section, match in (("match", rule.match), ("trigger", rule.trigger)):
        if match is None:
            continue
        for i, name in enumerate(match.types):
            if name not in known:
                problems.append(_unknown_type(name, doc.locate(("rules", index, section, "types", i)), known))
    declared = {name: spec.type for name, spec in manifest.record_fields.items()}
    problems.extend(where_problems(rule, index, doc, declared))  # (record fields: rules_engine.fields)
    window = rule.params.window
    if window and window.from_ and window.to and window.from_ > window.to:
        problems.append(Problem.of("rule.impossible_window", doc.locate(("rules", index, "params", "window"))))
    return problems


def _validate(model: type[BaseModel], doc: Document, problems: list[Problem]) -> Any:
    if not isinstance(doc.data, dict):
        start = "format: rules-engine/v1\npack: ..." if model is Manifest else "rules:\n  - id: ..."
        if doc.data is None:
            key = "rule.not_a_mapping"
        elif isinstance(doc.data, list):
            key = "rule.not_a_mapping#list"
        else:
            key = "rule.not_a_mapping#scalar"
        where = doc.locate(()) if doc.data is not None else Location(doc.file, 1, 1)
        problems.append(Problem.of(key, where, None, start=repr(start)))
        return None
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, doc, model))
        return None


def validation_problems(exc: ValidationError, doc: Document, model: type[BaseModel]) -> list[Problem]:
    """Turn pydantic errors into located problems; unknown keys get a "did you mean"."""
    out: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        # pydantic adds tagged-union / function names to loc; keep the ones that are document keys
        path = _document_path(doc.data, loc)
        where = doc.locate(path)
        if kind == "extra_forbidden":
            key = str(path[-1]) if path else ""
            fields = _fields_at(model, path[:-1], doc.data)
            out.append(Problem.of("rule.unknown_key", where, did_you_mean(key, fields), key=key))
        elif kind == "missing":
            out.append(Problem.of("rule.missing_key", where, key=str(loc[-1])))  # at the mapping that lacks it
        else:
            problem = _invalid(error, kind, path, where, _fields_at(model, path, doc.data))
            rule_id = _rule_id(doc.data, path)
            if rule_id and len(path) == 2:
                problem = problem.framed("frame.rule", rule=rule_id)
            out.append(problem)
    return out


def _rule_id(data: Any, path: tuple[str | int, ...]) -> str | None:
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and path[1] < len(rules) and isinstance(rules[path[1]], dict):
            rid = rules[path[1]].get("id")
            return str(rid) if rid is not None else None
    return None


# A pattern a field must match: the text saying what it must look like (rules_engine.texts), by field.
_PATTERNS = {
    "id": "rule.invalid.string_pattern_mismatch#id",
    "version": "rule.invalid.string_pattern_mismatch#version",
    "from": "rule.invalid.string_pattern_mismatch#from",
    "to": "rule.invalid.string_pattern_mismatch#to",
}
# What a list may hold, by field: added to the hint of rule.invalid.list_type.
_LIST_OPTIONS = {
    "types": fixed_hint("rule.invalid.list_type#types"),
}
# Lists of vocabulary terms, by field: the section whose names the hint of rule.invalid.list_type offers.
_TERM_LISTS = {"org_kinds": "kind", "roles": "role", "first": "role", "second": "role"}


def _invalid(error: Any, kind: str, path: tuple[str | int, ...], where: Location, keys: list[str]) -> Problem:
    """A value pydantic refused, as ``rule.invalid.<kind>``: the kinds rules_engine.texts lists have their
    own text and hint, any other the family's ``rule.invalid.*`` text with pydantic's message."""
    value = error.get("input")
    shown = ("", "") if isinstance(value, (dict, list)) else text("frame.value", value=repr(value))
    field = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
    if path and isinstance(path[-1], int) and field in ("rules", "waivers"):
        field = f"{field}[{path[-1] + 1}]"  # a whole rule: name it by its position (and id below)
    if not field:
        field = "文件 file"
    ctx = error.get("ctx") or {}
    refused = keyed(error)
    if refused is not None:  # a check of the models' own (rules_engine.model.refusal): its code and texts
        return Problem.of(refused[0], where, refused[2], **refused[1])
    if kind == "value_error":  # a ValueError no check of ours raises on purpose: pydantic's message
        message = str(error["msg"]).removeprefix("Value error, ")
        return Problem.of("rule.invalid.value_error", where, "", field=field, error=message)
    if kind == "string_pattern_mismatch":
        return Problem.of(
            _PATTERNS.get(field, "rule.invalid.string_pattern_mismatch"), where, None, field=field, value=shown
        )
    code = f"rule.invalid.{kind}"
    hint = fixed_hint(code)
    if kind == "list_type" and field in _LIST_OPTIONS:
        hint = f"{hint}；{_LIST_OPTIONS[field]}"
    elif kind == "list_type" and field in _TERM_LISTS:  # the standard vocabulary's names (a pack may add its own)
        names = standard_vocabulary().terms[_TERM_LISTS[field]]
        hint = f"{hint}；可选 choose from: {', '.join(names)}"
    if kind in ("model_type", "dict_type") and keys:
        hint = f"{hint}；可用的键 keys: {', '.join(keys)}"
    if kind in ("enum", "literal_error"):
        options = [e.strip(" '") for e in str(ctx.get("expected", "")).replace(" or ", ",").split(",") if e.strip()]
        hint = (
            did_you_mean(str(value), options)
            if isinstance(value, str)
            else "可选 expected one of: " + ", ".join(options)
        )
    values: dict[str, Arg] = {"field": field, "value": shown}
    if kind == "greater_than_equal":
        values["ge"] = str(ctx.get("ge"))
    elif kind == "less_than_equal":
        values["le"] = str(ctx.get("le"))
    elif code not in TEXTS:  # a kind without its own text: the family's, with pydantic's message
        values["error"] = str(error["msg"])
    return Problem.of(code, where, hint, **values)


def _document_path(data: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part.endswith("_") and part[:-1] in node:
            path.append(part[:-1])
            node = node[part[:-1]]
    return tuple(path)


def _fields_at(model: type[BaseModel], path: Iterable[str | int], data: Any) -> list[str]:
    """The keys a model accepts at `path` (aliases included), for did-you-mean hints."""
    current: Any = model
    for part in path:
        current = _descend(current, part)
        if current is None:
            return []
    models = [m for m in _models_in(current)]
    names: list[str] = []
    for m in models:
        for name, info in m.model_fields.items():
            names.append(info.alias or name)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(_models_in(arg))
    return out


def _descend(annotation: Any, part: str | int) -> Any:
    for model in _models_in(annotation):
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, dict) or origin is types.UnionType or origin is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin is dict and len(args) == 2:
            return args[1]
        if origin in (list, tuple) and args:
            return args[0]
        for arg in args:
            found = _descend(arg, part)
            if found is not None:
                return found
    return None
