"""A finding's stable identity: the same duty (rule, subject, organisation, window) in any two runs, with any
version of the rules. The findings history keys its rows on it; ``impact`` pairs the findings of two rule
versions by it. Needs nothing beyond the core library."""

from __future__ import annotations

import hashlib
import json

from .model.findings import Finding

__all__ = ["detail", "identity", "series"]


def identity(f: Finding) -> str:
    """A finding's stable identity across runs: rule, subject, organisation, window (SHA-256, hex)."""
    return hashlib.sha256(
        json.dumps([*series(f), f.window.start.isoformat(), f.window.end.isoformat()]).encode()
    ).hexdigest()


def series(f: Finding) -> list[str]:
    """The duty without its window: rule, subject kind, subject id, detail, organisation."""
    return [f.rule_id, f.subject.kind, f.subject.id, detail(f), f.organisation.id]


def detail(f: Finding) -> str:
    """What tells apart the findings of one subject id: a portfolio area, a second person, a trigger record."""
    s = f.subject
    parts = [f"portfolio={s.portfolio}" if s.portfolio else "", f"second={s.second.id}" if s.second else ""]
    parts.append(f"record={s.record}" if s.record else "")
    return " ".join(p for p in parts if p)
