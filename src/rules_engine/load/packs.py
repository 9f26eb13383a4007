"""Where rule packs come from when the caller names no folder: the packs bundled with the library, and
the packs other installed distributions publish through the ``rules_engine.packs`` entry point group.

**Bundled packs.** The repository's top-level ``rules/`` folder is the one source of truth. The build
step in ``setup.py`` copies it into the built package as ``rules_engine/_packs`` (so a wheel, and a wheel
built from the sdist, which carries ``rules/``, hold the packs as package data). A source checkout or an
editable install has no ``_packs`` folder: there the bundled packs are the checkout's own ``rules/``
(``src/rules_engine`` -> ``../../rules``), so an edited rule is used at once and nothing is copied into
the source tree to go stale. See :func:`bundled_root`.

**Third-party packs.** A distribution (a province's overlay pack, say) declares in its ``pyproject.toml``::

    [project.entry-points."rules_engine.packs"]
    henan-2024 = "henan_rule_packs"

and ships its pack folders (each with ``pack.yaml``) inside the package ``henan_rule_packs`` as package
data. The entry point's value names an importable package; its folder holds pack folders (or is itself
one). The package is located without importing it (a dotted name imports its parent packages), so no
code of the distribution runs when packs are listed or loaded.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from ..errors import Location, Problem
from ..texts import hint

ENTRY_POINT_GROUP = "rules_engine.packs"
BUNDLED = "bundled"


@dataclass(frozen=True)
class PackSource:
    """A folder of installed packs and where it came from (``bundled`` or the entry point's name)."""

    origin: str
    root: Path


def bundled_root() -> Path | None:
    """The folder of the packs that ship with the library (None when this installation has none)."""
    package = Path(__file__).resolve().parent.parent  # .../rules_engine
    built = package / "_packs"  # a wheel's copy of rules/ (see setup.py)
    if built.is_dir():
        return built
    checkout = package.parent.parent  # src/rules_engine -> the repository
    if package.parent.name == "src" and (checkout / "pyproject.toml").is_file() and (checkout / "rules").is_dir():
        return checkout / "rules"
    return None


def entry_point_origin(name: str, distribution: str, version: str) -> str:
    return f"entry point {name} ({distribution} {version})"


def installed_sources() -> tuple[list[PackSource], list[Problem]]:
    """The bundled packs' folder, then each ``rules_engine.packs`` entry point's folder (by name).

    An entry point whose package cannot be found is a problem (never skipped without a word).
    """
    sources: list[PackSource] = []
    problems: list[Problem] = []
    bundled = bundled_root()
    if bundled is not None:
        sources.append(PackSource(BUNDLED, bundled))
    found = metadata.entry_points(group=ENTRY_POINT_GROUP)
    for ep in sorted(found, key=lambda e: (e.name, e.value)):
        dist = getattr(ep, "dist", None)
        origin = entry_point_origin(
            ep.name, dist.metadata["Name"] if dist is not None else "?", dist.version if dist is not None else "?"
        )
        where = Location(origin)
        if ep.attr:
            problems.append(Problem.of("pack.entry_point", where, None, attr=ep.attr, name=ep.name, module=ep.module))
            continue
        try:
            spec = importlib.util.find_spec(ep.module)
        except (ImportError, ValueError) as exc:
            spec, error = None, str(exc)
        else:
            error = ""
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if not folders:
            detail = hint(error, error, "：", ": ")  # the reason, after each language's colon, if any
            problems.append(Problem.of("pack.entry_point#missing", where, None, module=ep.module, error=detail))
            continue
        sources.extend(PackSource(origin, Path(folder)) for folder in folders)
    return sources, problems
