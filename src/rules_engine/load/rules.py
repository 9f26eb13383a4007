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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import Location, Problem, RulesError, did_you_mean
from ..model.rules import PLACEHOLDERS, Manifest, OrgKind, PackInfo, Role, Rule, RuleFile
from .packs import PackSource, installed_sources
from .provenance import provenance_problems
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
    packs, problems = _load(paths)
    if problems:
        raise RulesError(problems)
    return RuleSet(tuple(packs))


def lint(*paths: str | Path) -> list[Problem]:
    """All problems in the given rule files or packs (as :func:`load_rules` reads them; none: the
    installed packs), sorted by location (empty when clean). Packs that load cleanly are also compiled:
    each rule's decision table must be complete and exclusive (see :func:`rules_engine.compile.prove_table`)."""
    packs, problems = _load(paths)
    if not problems and packs:
        from ..compile import compile_rules  # (compile imports this module)

        try:
            compile_rules(RuleSet(tuple(packs)))
        except RulesError as exc:
            problems = list(exc.problems)
    return sorted(problems, key=Problem.sort_key)


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


def _is_yaml(name: str) -> bool:
    return name.lower().endswith(YAML_SUFFIXES)


def _unreadable(path: str | Path, exc: OSError) -> Problem:
    return Problem(
        "file.unreadable",
        f"无法读取{'目录' if Path(path).is_dir() else '文件'}：{exc.strerror}",
        f"cannot read this {'folder' if Path(path).is_dir() else 'file'}: {exc.strerror}",
        Location(_display(Path(path))),
        "检查读取权限 check the read permission",
    )


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
                problems.append(
                    Problem(
                        "pack.two_manifests",
                        f"同一目录中有两个规则包清单 {' 和 '.join(manifests)}",
                        f"two pack manifests in one folder: {', '.join(manifests)}",
                        Location(_display(here / manifests[1])),
                        f"只保留 {MANIFEST} keep only {MANIFEST}",
                    )
                )
            current = dirpath
            packs[dirpath] = (here, here / manifests[0], [])
        rule_files = [here / n for n in names if _is_yaml(n) and n not in MANIFESTS]
        if current is not None:
            packs[current][2].extend(rule_files)
        else:
            misnamed = [n for n in names if n.lower().startswith("pack.") or n.lower() in MANIFESTS]
            if misnamed:
                problems.append(
                    Problem(
                        "pack.manifest_name",
                        f"规则包清单须命名为 {MANIFEST}（或 pack.yml），'{misnamed[0]}' 不被读取",
                        f"a pack manifest must be named {MANIFEST} (or pack.yml); '{misnamed[0]}' is not read",
                        Location(_display(here / misnamed[0])),
                        f"改名为 rename it to {MANIFEST}",
                    )
                )
            elif rule_files:
                problems.append(
                    Problem(
                        "pack.no_manifest",
                        f"目录中有规则文件，但它和上级目录都没有 {MANIFEST}，无法确定规则包",
                        f"YAML files in a folder with no {MANIFEST} in it or above it, so they belong to no pack",
                        Location(_display(rule_files[0]), 1, 1),
                        f"在规则包目录中新建 {MANIFEST}（见 docs/rule-format.md） create {MANIFEST} in the pack folder",
                    )
                )
        owner[dirpath] = current
    if not packs and not problems:
        problems.append(
            Problem(
                "pack.none",
                f"目录中没有规则包（没有 {MANIFEST}）",
                f"no rule pack in this folder (no {MANIFEST} in it or below it)",
                Location(_display(top)),
                "指定规则包所在目录，或省略路径以使用随库安装的规则包 "
                "name the folder that holds the packs, or none to use the installed packs",
            )
        )
    return list(packs.values()), problems


def _manifest_id(manifest: Path) -> str | None:
    doc, problems = load_yaml(manifest)
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
            problems.append(
                Problem(
                    "pack.none_installed",
                    "没有安装任何规则包",
                    "no rule packs are installed",
                    Location("<installed packs>"),
                    "指定规则包目录 name a pack folder (rules-engine --rules PATH)",
                )
            )
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
                problems.append(
                    Problem(
                        "pack.no_manifest",
                        f"规则文件不在规则包中（上级目录无 {MANIFEST}）",
                        f"rule file is not inside a pack (no {MANIFEST} above it)",
                        Location(_display(path), 1, 1),
                        f"在规则包目录中新建 {MANIFEST}（见 docs/rule-format.md） create {MANIFEST} in the pack folder",
                    )
                )
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
                problems.append(
                    Problem(
                        "pack.unknown",
                        "既不是文件或目录，也不是已安装规则包的编号",
                        "no such file or folder, and no installed pack has this id",
                        Location(raw),
                        did_you_mean(raw, [i for i, _f, _s in installed if i]),
                    )
                )
            for order, (folder, source) in enumerate(matches, start=1):
                in_folder, scan_problems = _scan(folder)
                problems.extend(scan_problems)
                for sub, manifest, files in in_folder:
                    if sub == folder:
                        roots[folder.resolve()] = _Root(folder, manifest, source.origin, files, True, order)
        else:
            problems.append(
                Problem("file.not_found", "文件或目录不存在", "no such file or folder", Location(str(path)))
            )
    return roots, problems


def _load(paths: Sequence[str | Path]) -> tuple[list[RulePack], list[Problem]]:
    roots, problems = _pack_roots(paths)
    packs: list[RulePack] = []
    seen_ids: dict[str, Location] = {}
    unloaded = _Unloaded()
    manifests: dict[int, str] = {}  # id(pack) -> its manifest as displayed
    first_of: dict[str, RulePack] = {}
    for root, info in sorted(roots.items(), key=lambda item: (item[1].order, item[0])):
        pack, pack_problems = _load_pack(root, info, seen_ids, unloaded)
        if pack is not None and pack.id in first_of:
            # the cause, once: a second pack of the same id (e.g. an installed copy of a bundled pack) is
            # not loaded, so its rules do not echo as duplicate rule ids and overlays see one base
            first = first_of[pack.id]
            problems.append(
                Problem(
                    "pack.duplicate_id",
                    f"规则包编号重复 '{pack.id}'：{pack.origin} 与 {first.origin}（{first.root}）都提供此规则包",
                    f"duplicate pack id '{pack.id}': provided by {pack.origin} and by {first.origin} ({first.root})",
                    Location(_display(info.manifest), 1, 1),
                    "同一编号只能加载一个规则包：卸载或移走其一，或用 --rules 指明要用的规则包"
                    " / only one pack of an id can be loaded: uninstall or move one, or name the packs with --rules",
                )
            )
            problems.extend(p for p in pack_problems if p.code != "rule.duplicate_id")
            continue
        problems.extend(pack_problems)
        if pack is not None:
            packs.append(pack)
            first_of[pack.id] = pack
            manifests[id(pack)] = _display(info.manifest)
    problems.extend(_check_overlays(packs, unloaded, manifests))
    problems.extend(_check_escalations(packs, unloaded))
    return packs, problems


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
                problems.append(
                    Problem(
                        "rule.unknown_rule",
                        f"升级规则引用了不存在的规则 '{dep}'",
                        f"escalation reads unknown rule '{dep}'",
                        loaded.location,
                        did_you_mean(dep, rules),
                    )
                )
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(rid: str, path: list[str]) -> None:
        state[rid] = 1
        for dep in reads.get(rid, []):
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep] if dep in path else [rid, dep]
                problems.append(
                    Problem(
                        "rule.escalation_cycle",
                        "升级规则循环引用：" + " → ".join(cycle),
                        "escalation rules form a cycle: " + " -> ".join(cycle),
                        rules[rid].location,
                        "升级规则只能读取下级规则的结论 an escalation may only read rules below it",
                    )
                )
            elif dep in reads and state.get(dep) is None:
                visit(dep, [*path, dep])
        state[rid] = 2

    for rid in sorted(reads):
        if reads[rid] and state.get(rid) is None:
            visit(rid, [rid])
    return problems


def _check_overlays(packs: list[RulePack], unloaded: _Unloaded, manifests: dict[int, str]) -> list[Problem]:
    """An overlay names an existing base pack and existing rules of it; its rules use known record types.

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
            problems.append(
                Problem(
                    "overlay.unknown_base",
                    f"覆盖包扩展的规则包 '{overlay.extends}' 未加载或本身是覆盖包",
                    f"overlay extends '{overlay.extends}', which is not loaded (or is itself an overlay)",
                    where,
                    did_you_mean(overlay.extends, [p.id for p in packs if p.manifest.overlay is None]),
                )
            )
            continue
        base_ids = {r.rule.id for r in base.rules}
        for rule_id, layer in overlay.params.items():  # the rule as the overlay changes it must still be valid
            for loaded in (r for r in base.rules if r.rule.id == rule_id):
                try:
                    changed = loaded.rule.model_copy(update={"params": loaded.rule.params.merged(layer)})
                    Rule.model_validate(changed.model_dump(by_alias=True))
                except (ValidationError, ValueError) as exc:
                    first = exc.errors(include_url=False)[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
                    detail = str(first).removeprefix("Value error, ")
                    problems.append(
                        Problem(
                            "overlay.invalid_params",
                            f"覆盖包对规则 {rule_id} 的参数无效：{detail}",
                            f"the overlay's parameters for {rule_id} are invalid: {detail}",
                            Location(where.file, 1, 1, f"overlay/params/{rule_id}"),
                        )
                    )
        for rule_id in [*overlay.params, *overlay.retire]:
            if rule_id not in base_ids and rule_id not in unloaded.rule_ids and not unloaded.unknown:
                problems.append(
                    Problem(
                        "overlay.unknown_rule",
                        f"覆盖包引用了基础包中不存在的规则 '{rule_id}'",
                        f"overlay refers to rule '{rule_id}', which {base.id} does not have",
                        where,
                        did_you_mean(rule_id, base_ids),
                    )
                )
        vocabulary = {**base.manifest.record_types, **pack.manifest.record_types}
        for loaded in pack.rules:
            spec = loaded.rule
            for name in [*(spec.match.types if spec.match else []), *(spec.trigger.types if spec.trigger else [])]:
                if name not in vocabulary:
                    problems.append(
                        Problem(
                            "rule.unknown_record_type",
                            f"未知的记录类型 '{name}'",
                            f"unknown record type '{name}' (not in this overlay or its base pack)",
                            loaded.location,
                            did_you_mean(name, vocabulary),
                        )
                    )
    return problems


def _display(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _load_pack(
    root: Path, info: _Root, seen_ids: dict[str, Location], unloaded: _Unloaded
) -> tuple[RulePack | None, list[Problem]]:
    problems: list[Problem] = []
    versions: dict[str, list[Rule]] = {}
    manifest_doc, found = load_yaml(info.manifest, _display(info.manifest))
    problems.extend(found)
    manifest = _validate(Manifest, manifest_doc, problems) if manifest_doc is not None else None
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
        doc, found = load_yaml(path, _display(path))
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
                loaded.append(LoadedRule(rule, manifest.pack, where))
                continue
            if rule.id in seen_ids:
                problems.append(
                    Problem(
                        "rule.duplicate_id",
                        f"规则编号重复 '{rule.id}'（首次定义于 {seen_ids[rule.id]}）",
                        f"duplicate rule id '{rule.id}' (first defined at {seen_ids[rule.id]})",
                        doc.locate(("rules", index, "id")),
                    )
                )
                continue
            seen_ids[rule.id] = where
            versions[rule.id] = [rule]
            if manifest.overlay is None:  # an overlay's rules are checked against its base pack's vocabulary
                problems.extend(_check_vocabulary(rule, index, doc, manifest))
            loaded.append(LoadedRule(rule, manifest.pack, where))
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
    return Problem(
        "rule.unknown_record_type",
        f"未知的记录类型 '{name}'（规则包 pack.yaml 的 record_types 中未声明）",
        f"unknown record type '{name}' (not declared in pack.yaml record_types)",
        where,
        did_you_mean(name, known),
    )


def _check_vocabulary(rule: Rule, index: int, doc: Document, manifest: Manifest) -> list[Problem]:
    problems = []
    known = manifest.record_types
    for section, match in (("match", rule.match), ("trigger", rule.trigger)):
        if match is None:
            continue
        for i, name in enumerate(match.types):
            if name not in known:
                problems.append(_unknown_type(name, doc.locate(("rules", index, section, "types", i)), known))
    window = rule.params.window
    if window and window.from_ and window.to and window.from_ > window.to:
        problems.append(
            Problem(
                "rule.impossible_window",
                "期内时限的开始晚于结束",
                "deadline window starts after it ends",
                doc.locate(("rules", index, "params", "window")),
            )
        )
    return problems


def _validate(model: type[BaseModel], doc: Document, problems: list[Problem]) -> Any:
    if not isinstance(doc.data, dict):
        start = "format: rules-engine/v1\npack: ..." if model is Manifest else "rules:\n  - id: ..."
        if doc.data is None:
            zh, en = "文件为空", "the file is empty"
        elif isinstance(doc.data, list):
            zh, en = "文件顶层是列表，应为键值映射", "the top level is a list; it must be a mapping"
        else:
            zh, en = "文件顶层应为键值映射", "the top level must be a mapping"
        hint = f"文件应以此开头 start the file with: {start!r}（可用 rules-engine new-rule 生成模板）"
        where = doc.locate(()) if doc.data is not None else Location(doc.file, 1, 1)
        problems.append(Problem("rule.not_a_mapping", zh, en, where, hint))
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
            out.append(
                Problem(
                    "rule.unknown_key",
                    f"未知的键 '{key}'",
                    f"unknown key '{key}'",
                    where,
                    did_you_mean(key, fields),
                )
            )
        elif kind == "missing":
            out.append(
                Problem(
                    "rule.missing_key",
                    f"缺少必填项 '{loc[-1]}'",
                    f"missing required key '{loc[-1]}'",
                    where,  # the mapping that lacks the key
                )
            )
        else:
            problem = _invalid(error, kind, path, where, _fields_at(model, path, doc.data))
            rule_id = _rule_id(doc.data, path)
            if rule_id and len(path) == 2:
                problem = Problem(
                    problem.code,
                    f"规则 {rule_id}：{problem.message}",
                    f"rule {rule_id}: {problem.message_en}",
                    problem.location,
                    problem.hint,
                )
            out.append(problem)
    return out


def _rule_id(data: Any, path: tuple[str | int, ...]) -> str | None:
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and path[1] < len(rules) and isinstance(rules[path[1]], dict):
            rid = rules[path[1]].get("id")
            return str(rid) if rid is not None else None
    return None


# Chinese first: what each kind of validation error means for a rule author, and what to write instead.
_KINDS: dict[str, tuple[str, str, str]] = {
    "int_parsing": ("应为整数", "must be a whole number", "写作数字，如 1 write a number, e.g. 1"),
    "int_type": ("应为整数", "must be a whole number", "写作数字，如 1 write a number, e.g. 1"),
    "int_from_float": ("应为整数", "must be a whole number", "去掉小数部分 drop the decimals"),
    "float_parsing": ("应为数字", "must be a number", "写作数字，如 1 或 0.5 write a number, e.g. 1 or 0.5"),
    "float_type": ("应为数字", "must be a number", "写作数字，如 1 或 0.5 write a number, e.g. 1 or 0.5"),
    "bool_parsing": ("应为 true 或 false", "must be true or false", "写作 true 或 false write true or false"),
    "bool_type": ("应为 true 或 false", "must be true or false", "写作 true 或 false write true or false"),
    "string_type": ("应为文字", "must be text", "加引号，如 '1.0.0' put it in quotes, e.g. '1.0.0'"),
    "list_type": ("应为列表", "must be a list", "写作 [甲, 乙] 或逐行以 - 开头 write [a, b] or one '- item' per line"),
    "model_type": ("应为键值映射", "must be a mapping of keys", "如 {zh: 中文, en: English} e.g. {zh: ..., en: ...}"),
    "dict_type": ("应为键值映射", "must be a mapping of keys", "如 {键: 值} e.g. {key: value}"),
    "date_parsing": ("日期无效", "not a valid date", "写作 YYYY-MM-DD，如 2024-03-09 write YYYY-MM-DD"),
    "date_from_datetime_parsing": ("日期无效", "not a valid date", "写作 YYYY-MM-DD，如 2024-03-09 write YYYY-MM-DD"),
    "date_type": ("日期无效", "not a valid date", "写作 YYYY-MM-DD，如 2024-03-09 write YYYY-MM-DD"),
    "greater_than_equal": ("数值过小", "too small", ""),
    "too_short": ("不能为空", "must not be empty", "至少写一项 give at least one"),
    "enum": ("不是可选的值", "is not one of the allowed values", ""),
    "literal_error": ("不是可选的值", "is not one of the allowed values", ""),
}
_PATTERNS = {
    "id": (
        "编号只能含字母、数字、_ . -，并以字母开头",
        "an id has letters, digits, _ . - and starts with a letter",
        "如 ZZ-08-01 e.g. ZZ-08-01",
    ),
    "version": ("版本号应为 主.次.修订", "a version is MAJOR.MINOR.PATCH", "如 1.0.0 e.g. 1.0.0"),
    "from": ("应为 月-日", "must be MM-DD", "写作 MM-DD，如 10-01 write MM-DD, e.g. 10-01"),
    "to": ("应为 月-日", "must be MM-DD", "写作 MM-DD，如 12-31 write MM-DD, e.g. 12-31"),
}


_LIST_OPTIONS = {
    "org_kinds": "可选 choose from: " + ", ".join(k.value for k in OrgKind),
    "roles": "可选 choose from: " + ", ".join(r.value for r in Role),
    "first": "可选 choose from: " + ", ".join(r.value for r in Role),
    "second": "可选 choose from: " + ", ".join(r.value for r in Role),
    "types": "写 pack.yaml 中 record_types 声明的类型 use record types declared in pack.yaml",
}


def _invalid(error: Any, kind: str, path: tuple[str | int, ...], where: Location, keys: list[str]) -> Problem:
    value = error.get("input")
    shown_zh = "" if isinstance(value, (dict, list)) else f"（当前值 {value!r}）"
    shown_en = "" if isinstance(value, (dict, list)) else f" (value {value!r})"
    field = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
    if path and isinstance(path[-1], int) and field in ("rules", "waivers"):
        field = f"{field}[{path[-1] + 1}]"  # a whole rule: name it by its position (and id below)
    if not field:
        field = "文件 file"
    ctx = error.get("ctx") or {}
    if kind == "value_error":  # our own validators: their text is already bilingual
        text = str(error["msg"]).removeprefix("Value error, ")
        hint = ""
        unknown = re.search(r"unknown placeholder \{([^}]*)\}", text)
        if unknown:
            hint = did_you_mean(unknown.group(1), PLACEHOLDERS)
        elif "bad message template" in text:
            hint = "花括号须成对；要写字面的花括号请写 {{ 或 }} braces come in pairs; write {{ or }} for a literal one"
        return Problem(
            "rule.invalid.value_error", f"'{field}' 无效：{text}", f"'{field}' is invalid: {text}", where, hint
        )
    if kind == "string_pattern_mismatch":
        zh, en, hint = _PATTERNS.get(field, ("格式不符", "has the wrong form", ""))
        return Problem(f"rule.invalid.{kind}", f"'{field}' {zh}{shown_zh}", f"'{field}' {en}{shown_en}", where, hint)
    zh, en, hint = _KINDS.get(kind, ("取值无效", "is invalid", ""))
    if kind == "list_type" and field in _LIST_OPTIONS:
        hint = f"{hint}；{_LIST_OPTIONS[field]}"
    if kind in ("model_type", "dict_type") and keys:
        hint = f"{hint}；可用的键 keys: {', '.join(keys)}"
    if kind in ("enum", "literal_error"):
        options = [e.strip(" '") for e in str(ctx.get("expected", "")).replace(" or ", ",").split(",") if e.strip()]
        hint = (
            did_you_mean(str(value), options)
            if isinstance(value, str)
            else "可选 expected one of: " + ", ".join(options)
        )
    if kind == "greater_than_equal":
        zh, en = f"不能小于 {ctx.get('ge')}", f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        zh, en = f"不能大于 {ctx.get('le')}", f"must be at most {ctx.get('le')}"
    if kind not in _KINDS and kind != "less_than_equal":
        en = f"is invalid: {error['msg']}"
    return Problem(f"rule.invalid.{kind}", f"'{field}' {zh}{shown_zh}", f"'{field}' {en}{shown_en}", where, hint)


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
