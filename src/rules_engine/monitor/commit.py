"""Group commit for ``POST /records``: the posts of concurrent requests are queued, and one cycle serves all the
posts queued: each record checked in arrival order (the batch intake), every row written to the findings store in
one transaction, then each request answered (none before its rows are committed). The duties are counted after,
by a thread of their own (:meth:`rules_engine.monitor.Monitor.settle`: their changes written to the store and the
outbox in a transaction of their own, the tally run outside the monitor's lock so that posts keep being taken), or
in the cycle itself for a post that asks to wait for its changes (``wait``). A server stopped before the count
counts them when it starts again (the monitor rebuilds its state from the stored records)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .core import Change, Posted, lines_of
from .service import Service

__all__ = ["Committer"]

log = logging.getLogger("rules_engine.serve")


@dataclass
class _Waiting:
    post: tuple[Sequence[Any], str, Sequence[int] | None]
    wait: bool
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[list[Posted], list[Change]] | None = None
    error: BaseException | None = None


class Committer:
    """The queue of posts and the two threads (commit, count) of a service (see the module's text)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._cond = threading.Condition()
        self._queue: list[_Waiting] = []
        self._stopped = False
        self._count = threading.Event()
        self.cycles = 0  # cycles run (each one store transaction for the rows of all its posts)
        self._threads = [
            threading.Thread(target=self._commit_loop, name="rules-engine-commit", daemon=True),
            threading.Thread(target=self._count_loop, name="rules-engine-count", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def post(
        self, texts: Sequence[str], source: str, lines: Sequence[int], wait: bool = False
    ) -> tuple[list[Posted], list[Change]]:
        """Queue the lines (JSON Lines, as received) and return their answers once committed; with `wait`, once
        their duties are counted too (the answer's changes)."""
        waiting = _Waiting((lines_of(texts), source, list(lines)), wait)
        with self._cond:
            if self._stopped:
                raise RuntimeError("the service is stopping")
            self._queue.append(waiting)
            self._cond.notify()
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        assert waiting.result is not None
        return waiting.result

    def _commit_loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopped:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            try:
                with self.service.use() as m:
                    results = m.post_many([w.post for w in batch], settle=any(w.wait for w in batch))
                    pending = m.unsettled
            except BaseException as exc:  # (each request of the cycle is told: none of its rows may be kept)
                for w in batch:
                    w.error = exc
            else:
                for w, result in zip(batch, results, strict=True):
                    w.result = result
                if pending:
                    self._count.set()
            self.cycles += 1
            for w in batch:
                w.done.set()

    def _count_loop(self) -> None:
        while True:
            self._count.wait()
            self._count.clear()
            if self._stopped:
                return
            try:
                self.service.monitor.settle()
            except Exception:  # (a reload closed the monitor meanwhile: the new one counted everything)
                log.exception("counting the records posted failed; they are counted at the next clock event")

    def stop(self) -> None:
        """Serve the posts queued, then stop both threads."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._count.set()
        for thread in self._threads:
            thread.join(timeout=60)
