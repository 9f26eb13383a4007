"""Waivers: attach to each obligation the waiver that covers it (a stage between tally and decide)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from .load.waivers import LoadedWaiver
from .plan import Obligation


def apply_waivers(obligations: Iterable[Obligation], waivers: list[LoadedWaiver], as_of: dt.date) -> None:
    """Attach to each obligation the waiver that covers it: an unexpired one if any, else an expired one
    (which has no effect but is reported)."""
    by_rule: dict[str, list[LoadedWaiver]] = defaultdict(list)
    for loaded in waivers:
        by_rule[loaded.waiver.rule].append(loaded)
    if not by_rule:
        return
    for ob in obligations:
        candidates = by_rule.get(ob.rule.rule.id)
        if not candidates or ob.window is None:
            continue
        for loaded in candidates:
            w = loaded.waiver
            if w.org not in (None, ob.org.id) or w.subject not in (None, ob.subject_id):
                continue
            if w.second not in (None, ob.second) or w.portfolio not in (None, ob.portfolio):
                continue
            if w.to < ob.window.start or w.from_ > ob.window.end:
                continue
            expired = as_of > w.expires
            if ob.waiver is None or (ob.waiver_expired and not expired):
                ob.waiver, ob.waiver_expired = loaded, expired
