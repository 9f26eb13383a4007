"""Lint rule packs: every problem :func:`rules_engine.load_rules` would refuse, and, for packs that load
cleanly, every problem compiling them would raise (incomplete or overlapping decision tables, bad
escalations). Above both the loader and the compiler, so neither imports the other back."""

from __future__ import annotations

from pathlib import Path

from .compile import compile_rules
from .errors import Problem, RulesError
from .load.rules import RuleSet, load_problems


def lint(*paths: str | Path) -> list[Problem]:
    """All problems in the given rule files or packs (as :func:`load_rules` reads them; none: the
    installed packs), sorted by location (empty when clean). Packs that load cleanly are also compiled:
    each rule's decision table must be complete and exclusive (see :func:`rules_engine.compile.prove_table`)."""
    packs, problems = load_problems(paths)
    if not problems and packs:
        try:
            compile_rules(RuleSet(tuple(packs)))
        except RulesError as exc:
            problems = list(exc.problems)
    return sorted(problems, key=Problem.sort_key)
