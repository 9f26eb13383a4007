"""``rules-engine migrate DIR``: rewrite v1 packs into the v2 rule format.

A v1 pack used the standard vocabulary (cpc-basic) without saying so; its v2 form says it: ``format:
rules-engine/v2`` and ``imports: [cpc-basic]`` in ``pack.yaml``, and ``format: rules-engine/v2`` in each rule
file that names its format. Nothing else changes: the text is edited line by line, so comments, order and
layout stay as written, and the packs give the same findings. Every file is checked (it must load as v2) before
any is written; then each is replaced whole (written beside it and renamed), or nothing is written at all.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_write
from .errors import Location, Problem, RulesError
from .model.vocab import STANDARD

V1 = "rules-engine/v1"
V2 = "rules-engine/v2"
_FORMAT = re.compile(r"^format:[ \t]*(['\"]?)rules-engine/v1\1[ \t]*(#.*)?$", re.MULTILINE)
_ANY_FORMAT = re.compile(r"^format:", re.MULTILINE)
_IMPORTS_COMMENT = "# 本规则包使用的词表（组织类型、职务、小组）。The vocabulary this pack uses (kinds, roles, groups)."
_TOP_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*:", re.MULTILINE)


@dataclass
class Migration:
    """What migrating some packs changes: each file's new text (only the files that change), in order."""

    changes: dict[Path, tuple[str, str]] = field(default_factory=dict)  # path -> (old text, new text)
    packs: list[Path] = field(default_factory=list)  # the pack folders looked at

    @property
    def changed(self) -> list[Path]:
        return list(self.changes)

    def summary(self) -> list[str]:
        """One line per changed file, saying what changes (Chinese, then English)."""
        out = []
        for path, (old, new) in self.changes.items():
            old_lines, new_lines = old.splitlines(), new.splitlines()
            added = [line for line in new_lines if line not in old_lines and not line.lstrip().startswith("#")]
            shown = "; ".join(a.strip() for a in added)
            out.append(f"{path}: {shown}")
        return out


def _manifest_text(text: str, where: str) -> str | None:
    """The v2 text of a manifest, or None when it is v2 already."""
    if _ANY_FORMAT.search(text) and not _FORMAT.search(text):
        return None  # a format other than v1 (v2): nothing to do
    if _FORMAT.search(text):
        text = _FORMAT.sub(lambda m: f"format: {V2}" + (f" {m.group(2)}" if m.group(2) else ""), text, count=1)
    else:  # no format line (v1 by default): one at the top, after the leading comments
        lines = text.splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), len(lines))
        lines.insert(at, f"format: {V2}\n")
        text = "".join(lines)
    if re.search(r"^imports:", text, re.MULTILINE):  # (v1 had no imports: written by hand, left to the author)
        raise RulesError([Problem.of("pack.migrate.imports", Location(where, 1, 1))])
    # imports: after the pack: block (before the next top-level key, and before the comments that lead into it)
    keys = [m.start() for m in _TOP_KEY.finditer(text)]
    pack_at = next((m.start() for m in _TOP_KEY.finditer(text) if text.startswith("pack:", m.start())), None)
    following = [k for k in keys if pack_at is not None and k > pack_at]
    block = f"\n{_IMPORTS_COMMENT}\nimports: [{STANDARD}]\n"
    if not following:
        return text.rstrip("\n") + "\n" + block
    at = following[0]
    head = text[:at]
    # step back over the comment lines and blank lines that introduce the next key
    lines = head.splitlines(keepends=True)
    cut = len(lines)
    while cut and (not lines[cut - 1].strip() or lines[cut - 1].lstrip().startswith("#")):
        cut -= 1
    before, after = "".join(lines[:cut]), "".join(lines[cut:])
    return before + block + (after if after.startswith("\n") else "\n" + after) + text[at:]


def _rule_text(text: str) -> str | None:
    if not _FORMAT.search(text):
        return None
    return _FORMAT.sub(lambda m: f"format: {V2}" + (f" {m.group(2)}" if m.group(2) else ""), text, count=1)


def plan_migration(paths: Sequence[str | Path]) -> Migration:
    """What migrating the packs under `paths` (pack folders or folders of packs) to v2 would change. Raises
    :class:`RulesError` when a pack does not load (before or after), so that nothing is half migrated."""
    from .load.rules import _scan

    migration = Migration()
    problems: list[Problem] = []
    for raw in paths:
        top = Path(raw)
        if not top.is_dir():
            problems.append(Problem.of("file.not_found", Location(str(top))))
            continue
        found, scan_problems = _scan(top)
        problems.extend(scan_problems)
        for folder, manifest, files in found:
            migration.packs.append(folder)
            text = manifest.read_text(encoding="utf-8")
            new = _manifest_text(text, str(manifest))
            if new is not None:
                migration.changes[manifest] = (text, new)
            for path in sorted(files):
                text = path.read_text(encoding="utf-8")
                new = _rule_text(text)
                if new is not None:
                    migration.changes[path] = (text, new)
    if not problems:
        problems.extend(_verify(migration))
    if problems:
        raise RulesError(problems)
    return migration


def _verify(migration: Migration) -> list[Problem]:
    """The packs as migrated (copied to a temporary folder) must load, and their rules must be the same rules
    as before (the same kinds, roles and everything else): the same findings."""
    import shutil
    import tempfile

    from .load.rules import load_problems

    if not migration.changes:
        return []
    before, problems = load_problems(migration.packs)
    if problems:
        return problems
    with tempfile.TemporaryDirectory() as folder:
        copies = []
        for number, pack in enumerate(migration.packs):
            copy = Path(folder) / str(number) / pack.name
            shutil.copytree(pack, copy)
            copies.append(copy)
            for path, (_old, new) in migration.changes.items():
                if path.is_relative_to(pack) and not any(
                    path.is_relative_to(p) and p != pack and p.is_relative_to(pack) for p in migration.packs
                ):
                    (copy / path.relative_to(pack)).write_text(new, encoding="utf-8")
        after, found = load_problems(copies)
        for problem in found:  # located in the original files
            shown = str(problem.location.file)
            for copy, pack in zip(copies, migration.packs, strict=True):
                if shown.startswith(str(copy)):
                    shown = str(pack) + shown[len(str(copy)) :]
            problems.append(dataclasses.replace(problem, location=dataclasses.replace(problem.location, file=shown)))
    if problems:
        return problems
    rules_before = sorted((r.rule.id, r.rule.model_dump_json()) for p in before for r in p.rules)
    rules_after = sorted((r.rule.id, r.rule.model_dump_json()) for p in after for r in p.rules)
    if rules_before != rules_after:
        differ = {a[0] for a, b in zip(rules_before, rules_after, strict=False) if a != b}
        changed = sorted({a[0] for a in rules_before} ^ {b[0] for b in rules_after} | differ)
        where = Location(str(migration.packs[0]))
        return [Problem.of("pack.migrate.differs", where, None, rules=", ".join(changed))]
    return []


def migrate_packs(paths: Sequence[str | Path], check: bool = False) -> Migration:
    """Rewrite the v1 packs under `paths` into v2 (see the module's text); with `check`, write nothing and only
    say what would change. Either every changed file is written, or (on any problem) none is."""
    migration = plan_migration(paths)
    if not check:
        for path, (_old, new) in migration.changes.items():
            mode = os.stat(path).st_mode
            with atomic_write(path) as out:
                out.write(new.encode("utf-8"))
            os.chmod(path, mode & 0o7777)
    return migration
