"""The ``rules_engine`` pytest plugin (registered through the ``pytest11`` entry point).

- Loads the Chinese and English rule-scenario steps (:mod:`rules_engine.bdd`) when pytest-bdd is
  installed; without pytest-bdd it does nothing, so installing the library never breaks anyone's pytest.
- ``rules_engine_rules`` (ini, lines): the rule pack folders the steps use, relative to the rootdir
  (default: ``rules`` when the rootdir has that folder, else the installed packs: those bundled with the
  library and those of the ``rules_engine.packs`` entry points). A scenario's ``假如规则包 "…"`` /
  ``Given the rule packs "…"`` names folders or pack ids; an id is looked for in these folders first,
  then among the installed packs.
- ``rules_engine_features = true`` (ini): collect ``*.feature`` files directly, with no Python test
  module; each file becomes a module holding its scenarios (outlines, tags and ``file.feature::test_x``
  selection work as with ``scenarios()``). Do not also call ``scenarios()`` on the same files.
"""

from __future__ import annotations

import importlib.util
import re
import types
from pathlib import Path
from typing import Any

import pytest

from .texts import message

HAVE_BDD = importlib.util.find_spec("pytest_bdd") is not None

if HAVE_BDD:
    pytest_plugins = ["rules_engine.bdd"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "rules_engine_rules",
        "rule pack folders for rule scenarios (relative to rootdir; default: rules/, else the installed packs)",
        type="linelist",
    )
    parser.addini(
        "rules_engine_features",
        "collect .feature files without a test module (rules_engine)",
        type="bool",
        default=False,
    )


class FeatureModule(pytest.Module):
    """A ``.feature`` file collected as a test module whose tests are its scenarios."""

    def _getobj(self) -> Any:
        from pytest_bdd import scenarios

        _refuse_duplicate_scenarios(self.path)
        module = types.ModuleType(f"feature_{self.path.stem}")
        module.__file__ = str(self.path)
        namespace: dict[str, Any] = module.__dict__
        namespace["_scenarios"], namespace["_feature"] = scenarios, str(self.path)
        # scenarios() writes the test functions into its caller's namespace: run it with the module's
        # namespace as the frame's locals (a fixed statement; nothing from the file is executed)
        exec("_scenarios(_feature)", namespace)
        del namespace["_scenarios"], namespace["_feature"]
        return module


_SCENARIO = re.compile(
    r"^\s*(场景大纲|场景|剧本大纲|剧本|Scenario Outline|Scenario Template|Scenario|Example)\s*[:：]\s*(.+?)\s*$"
)


def _refuse_duplicate_scenarios(path: Path) -> None:
    """pytest-bdd silently drops the earlier of two scenarios with the same name: refuse the file instead."""
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _SCENARIO.match(line)
        if not match:
            continue
        name = match.group(2)
        if name in seen:
            raise pytest.Collector.CollectError(
                message("feature.duplicate_scenario", path=str(path), line=number, first=seen[name], name=repr(name))
            )
        seen[name] = number


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".feature" or not HAVE_BDD:
        return None
    if not parent.config.getini("rules_engine_features"):
        return None
    return FeatureModule.from_parent(parent, path=file_path)
