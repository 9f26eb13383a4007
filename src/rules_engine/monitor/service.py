"""The monitoring service without the web framework: what ``rules-engine serve`` runs (see
:mod:`rules_engine.monitor.app` for the HTTP side). It makes the :class:`Monitor` from files, on the journal
of the findings store, swaps it for a new one on reload, moves its clock, and tells each token's scope."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..load.rules import load_rules
from ..pipeline import roster_result
from .core import Monitor
from .journal import Journal
from .outbox import Webhook
from .tokens import Token, find_token

__all__ = ["Config", "Service"]

log = logging.getLogger("rules_engine.serve")


@dataclass(frozen=True)
class Config:
    roster: str
    rules: Sequence[str] = ()  # rule pack folders or ids; none: the installed packs
    db: str | None = None
    period: str | None = None  # default: the clock's year
    clock: str | None = None  # a fixed date (no clock of its own); default: today, moved on as days pass
    horizon: int = 30
    waivers: Sequence[str] = field(default_factory=tuple)
    webhook: str | None = None  # where the outbox is delivered (POST, signed with webhook_secret)
    webhook_secret: bytes = b""
    webhook_backoff: float = 1.0  # seconds before the first retry (doubled each time)


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.journal = Journal(config.db)
        self._lock = threading.RLock()
        self.monitor = self._build()
        self.webhook: Webhook | None = None
        if config.webhook:
            self.webhook = Webhook(
                self.journal.store, config.webhook, config.webhook_secret, backoff=config.webhook_backoff
            )
            self.journal.written.append(self.webhook.poke)
            self.webhook.start()

    def _today(self) -> dt.date:
        if self.config.clock is not None:
            return dt.date.fromisoformat(self.config.clock)
        return dt.date.today()  # (the service's clock: the only reading of the wall clock)

    def _build(self) -> Monitor:
        day = self._today()
        m = Monitor(
            load_rules(*self.config.rules),
            roster_result(self.config.roster),
            period=self.config.period or str(day.year),
            clock=day,
            horizon=self.config.horizon,
            waivers=list(self.config.waivers),
            journal=self.journal,
        )
        if m.changed_on_replay:
            log.warning(
                "%d stored records are decided otherwise by the roster and rules now (seq, then, now): %s",
                len(m.changed_on_replay),
                m.changed_on_replay[:20],
            )
        return m

    @contextlib.contextmanager
    def use(self) -> Iterator[Monitor]:
        """The monitor, for one request, its clock moved to today first (the clock event) when a day has passed.
        Requests take it one at a time (the monitor serialises its calls anyway), and a reload waits for them."""
        with self._lock:
            m = self.monitor
            if self.config.clock is None and self._today() > m.clock:
                m.tick(self._today())
            yield m

    def reload(self) -> Monitor:
        """Read the roster and the rule packs again and rebuild the state from the journal; the new monitor
        replaces the old one at once: no request is answered between, so none is lost or sees half of each.
        Raises if anything cannot be read (the old one stays)."""
        with self._lock:
            fresh = self._build()
            old, self.monitor = self.monitor, fresh
        old.close()
        return fresh

    def token(self, text: str) -> Token | None:
        with self.journal.store.begin() as conn:
            return find_token(conn, text)

    def scope(self, token: Token) -> frozenset[str]:
        """The organisations a token sees: its own and every one below it (by the roster's parent links)."""
        orgs = self.monitor.roster.roster.organisations
        children: dict[str, list[str]] = {}
        for o in orgs:
            if o.parent is not None:
                children.setdefault(o.parent, []).append(o.id)
        if token.organisation_id not in {o.id for o in orgs}:
            return frozenset()
        seen = {token.organisation_id}
        todo = [token.organisation_id]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return frozenset(seen)

    def everything(self) -> frozenset[str]:
        return frozenset(self.monitor.index.orgs)

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.stop()
        self.monitor.close()
        self.journal.close()
