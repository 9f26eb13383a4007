"""Evaluation backends: run a compiled decision table over the obligation facts of one partition.

:class:`Backend` is the small interface the evaluator talks to. ``_durable`` (the only module that
imports durable_rules) is the production backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

Fact = dict[str, int | str]


class EngineError(RuntimeError):
    """The engine misbehaved (a fact left undecided, decided twice, or refused). Never swallowed."""


class Backend(Protocol):
    def run(self, facts: Sequence[Fact]) -> dict[str, str]:
        """Decide every fact of one partition: fact id -> decision name."""
        ...

    def close(self) -> None: ...
