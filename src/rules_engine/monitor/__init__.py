"""Daily monitoring (日常监测): records arrive one by one, duties are kept as state in durable_rules, and the
findings, warnings and input account are answered as of any date (see ``docs/monitoring.md``).

    from rules_engine.monitor import Monitor
    m = Monitor("rules/", "roster.yaml", period="2024", clock="2024-06-30")
    answers, changes = m.post([{"id": "R1", "org": "county", "type": "...", "date": "2024-06-01"}])
    m.tick("2024-07-01")                       # the clock event: windows over, warnings due
    m.findings("2025-01-15", status="violated")  # the batch report's findings of the records posted

The core needs nothing beyond the library; the findings store (``Journal``) needs the ``history`` extra and
the web service (``rules-engine serve``) the ``serve`` extra.
"""

from __future__ import annotations

from .core import POSTED, Change, Monitor, Posted, Row

__all__ = ["POSTED", "Change", "Monitor", "Posted", "Row"]
