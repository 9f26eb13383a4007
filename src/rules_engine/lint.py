"""Lint rule packs: every problem :func:`rules_engine.load_rules` would refuse, and, for packs that load
cleanly, every problem compiling them would raise (incomplete or overlapping decision tables, bad
escalations). Above both the loader and the compiler, so neither imports the other back.

``release=True`` (``rules-engine lint --release``) also refuses draft rules (``provenance.basis: draft``,
as ``rules-engine draft`` writes them): a draft loads, evaluates and lints clean while it is being worked
on, but is not for a release until a person has reviewed it and set its basis."""

from __future__ import annotations

from pathlib import Path

from .compile import compile_rules
from .errors import Problem, RulesError
from .load.rules import LoadedRule, RuleSet, load_problems
from .model.rules import Basis


def lint(*paths: str | Path, release: bool = False) -> list[Problem]:
    """All problems in the given rule files or packs (as :func:`load_rules` reads them; none: the
    installed packs), sorted by location (empty when clean). Packs that load cleanly are also compiled:
    each rule's decision table must be complete and exclusive (see :func:`rules_engine.compile.prove_table`).
    `release`: draft rules (``provenance.basis: draft``) are problems too."""
    packs, problems = load_problems(paths)
    if not problems and packs:
        try:
            compile_rules(RuleSet(tuple(packs)))
        except RulesError as exc:
            problems = list(exc.problems)
    if release:
        problems += [draft_problem(loaded) for pack in packs for loaded in pack.rules if is_draft(loaded)]
    return sorted(problems, key=Problem.sort_key)


def is_draft(loaded: LoadedRule) -> bool:
    """A rule drafted from text and not yet reviewed: its provenance's basis is ``draft``."""
    return loaded.rule.provenance.basis is Basis.draft


def draft_problem(loaded: LoadedRule) -> Problem:
    """The release check's problem for a draft rule, at the rule."""
    return Problem.of("provenance.draft", loaded.location).framed("frame.rule", rule=loaded.rule.id)
