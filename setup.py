"""Build step that ships the rule packs with the library (the project's metadata is in pyproject.toml).

The top-level ``rules/`` folder is the one source of truth for the packs. ``build_py`` copies it into the
built package as ``rules_engine/_packs``, so every wheel (including one built from the sdist, which
carries ``rules/`` through MANIFEST.in) holds the packs as package data.

Why a copy at build time rather than a ``package-dir`` mapping of ``rules/`` onto a sub-package: such a
mapping needs an ``__init__.py`` inside ``rules/`` and makes setuptools build editable installs with an
import hook instead of the plain ``src/`` path entry. An editable install (or a checkout on sys.path)
copies nothing: ``rules_engine.load.packs.bundled_root`` then finds the checkout's own ``rules/``, so an
edited rule is seen at once and no copy in the source tree can go stale.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKS = HERE / "rules"


class BuildWithPacks(build_py):
    """``build_py`` plus the copy of ``rules/`` into ``rules_engine/_packs``."""

    def _target(self) -> Path:
        return Path(self.build_lib) / "rules_engine" / "_packs"

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the editable install reads rules/ in place
        if not (PACKS.is_dir() and any(PACKS.glob("*/pack.y*ml"))):
            raise SystemExit(f"rules/ with its packs is missing beside setup.py ({PACKS}); the wheel would ship none")
        target = self._target()
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(PACKS, target, ignore=shutil.ignore_patterns(".*", "__pycache__", "*.pyc"))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        target = self._target()
        if not getattr(self, "editable_mode", False) and target.is_dir():
            outputs.extend(str(p) for p in sorted(target.rglob("*")) if p.is_file())
        return outputs


setup(cmdclass={"build_py": BuildWithPacks})
