"""Group commit for ``POST /records``: the posts of concurrent requests are queued, and one cycle serves all the
posts queued: each record checked in arrival order (the batch intake), every row written to the findings store in
one transaction, then each request answered (none before its rows are committed). The duties are counted after,
by a thread of their own (:meth:`rules_engine.monitor.Monitor.settle`: their changes written to the store and the
outbox in a transaction of their own, the tally run outside the monitor's lock so that posts keep being taken), or
in the cycle itself for a post that asks to wait for its changes (``wait``). A server stopped before the count
counts them when it starts again (the monitor rebuilds its state from the stored records).

Each post's token is read from the store in the cycle (once for all the posts of the cycle that bear it: a token
revoked before the cycle is refused), and each post's lines are read once there
(:func:`rules_engine.monitor.core.read_lines`: the batch reader's row check, its decoded object kept): its token's
scope is checked on the roster the cycle commits with, and a post without a valid write token, or with a record
of an organisation outside the scope, is refused whole (:class:`Refused`; nothing of it kept, the other posts of
the cycle go on). A request waits on an event (a thread) or on a future of its event loop.

**Posts first.** The count shares the process (and its interpreter lock) with the requests: while it ran, a post's
answer waited for it in turns, and the commit cycle for its store transaction. So the count pauses between its steps
(:attr:`rules_engine.monitor.Monitor.pause`: between its tallies, every few dozen organisations it puts in the
durable_rules session, before each of its store transactions, never holding the monitor's lock or the store's)
while a post is being answered (:meth:`Committer.answering`, from the request's start to its answer), unless one
of them waits for the count (``wait``), and never longer than :data:`PAUSE_AT_MOST` at a time: the records are
counted in the gaps between the posts, and under a load with no gap the count still goes on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..texts import message
from .core import Change, Monitor, Posted, Read, _go_on, read_lines
from .service import Service
from .tokens import Token

__all__ = ["PAUSE_AT_MOST", "Committer", "Outside", "Refused"]

log = logging.getLogger("rules_engine.serve")

Result = tuple[list[Posted], list[Change]]

PAUSE_AT_MOST = 0.1  # seconds the count waits at one pause for the posts being answered to be done


class Refused(Exception):
    """A post refused whole (nothing of it kept): the HTTP `status` and the reason (`why`, Chinese first), and the
    token it came with (None: no valid one)."""

    def __init__(self, status: int, why: str, token: Token | None) -> None:
        super().__init__(why)
        self.status, self.why, self.token = status, why, token


class Outside(Refused):
    """A record of an organisation of the roster (`org`) outside the token's scope."""

    def __init__(self, org: str, token: Token) -> None:
        super().__init__(403, message("arg.token.outside", what=org), token)
        self.org = org


@dataclass
class _Waiting:
    texts: Sequence[str]
    source: str
    lines: Sequence[int]
    wait: bool
    token: Token | None  # whose scope the records must be in (None: any organisation, or read from `bearer`)
    bearer: str | None  # the text of the request's token, read from the store in the cycle (None: `token`)
    tell: Callable[[_Waiting], None]  # called (in the commit thread) once `result` or `error` is set
    read: list[Read] = field(default_factory=list)  # the lines read (in the cycle, once)
    result: Result | None = None
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
        self._answering = 0  # posts being answered (see answering)
        self._awaiting = 0  # of those, posts that wait for the count (?wait)
        self._gap = threading.Event()  # set when the count may go on (no post being answered, or one waits for it)
        self._gap.set()
        service.pace = self.gap
        self._threads = [
            threading.Thread(target=self._commit_loop, name="rules-engine-commit", daemon=True),
            threading.Thread(target=self._count_loop, name="rules-engine-count", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def post(
        self,
        texts: Sequence[str],
        source: str,
        lines: Sequence[int],
        wait: bool = False,
        token: Token | None = None,
        bearer: str | None = None,
    ) -> Result:
        """Queue the lines (JSON Lines, as received) and return their answers once committed; with `wait`, once
        their duties are counted too (the answer's changes). With `token` (or `bearer`, a token's text, read from
        the store in the cycle: a token revoked before is refused), the post is refused whole (:class:`Refused`,
        nothing kept) without a valid write token, or with a record of an organisation of the roster outside the
        token's scope (:class:`Outside`)."""
        done = threading.Event()
        waiting = self._queued(texts, source, lines, wait, token, bearer, lambda _: done.set())
        done.wait()
        return _outcome(waiting)

    async def post_async(
        self,
        texts: Sequence[str],
        source: str,
        lines: Sequence[int],
        wait: bool = False,
        token: Token | None = None,
        bearer: str | None = None,
    ) -> Result:
        """:meth:`post` for an event loop: the loop is not held while the cycle runs, and no worker thread waits."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def tell(_: _Waiting) -> None:
            loop.call_soon_threadsafe(_resolve, future)

        waiting = self._queued(texts, source, lines, wait, token, bearer, tell)
        await future
        return _outcome(waiting)

    @contextlib.contextmanager
    def answering(self, wait: bool = False) -> Iterator[None]:
        """A post being answered (a request, from its start to its answer): the count pauses meanwhile (see the
        module's text), unless a post being answered waits for it (`wait`)."""
        with self._cond:
            self._answering += 1
            self._awaiting += wait
            self._pace()
        try:
            yield
        finally:
            with self._cond:
                self._answering -= 1
                self._awaiting -= wait
                self._pace()

    def _pace(self) -> None:  # (under `_cond`)
        if self._answering == 0 or self._awaiting > 0:
            self._gap.set()
        else:
            self._gap.clear()

    def gap(self) -> None:
        """The count's pause (:attr:`rules_engine.monitor.Monitor.pause`): until no post is being answered (or one
        waits for the count), :data:`PAUSE_AT_MOST` at most."""
        self._gap.wait(PAUSE_AT_MOST)

    def _queued(
        self,
        texts: Sequence[str],
        source: str,
        lines: Sequence[int],
        wait: bool,
        token: Token | None,
        bearer: str | None,
        tell: Callable[[_Waiting], None],
    ) -> _Waiting:
        waiting = _Waiting(texts, source, list(lines), wait, token, bearer, tell)
        with self._cond:
            if self._stopped:
                raise RuntimeError("the service is stopping")
            self._queue.append(waiting)
            self._cond.notify()
        return waiting

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
                    read: dict[str, Token | None] = {}  # (each token of the cycle read once)
                    taken = [w for w in batch if self._admit(m, w, read)]
                    posts = [(w.read, w.source, w.lines) for w in taken]
                    results = m.post_many(posts, settle=any(w.wait for w in taken)) if taken else []
                    pending = m.unsettled
            except BaseException as exc:  # (each request of the cycle is told: none of its rows may be kept)
                for w in batch:
                    w.error = w.error or exc
            else:
                for w, result in zip(taken, results, strict=True):
                    w.result = result
                if pending:
                    self._count.set()
            self.cycles += 1
            for w in batch:
                w.tell(w)

    def _admit(self, m: Monitor, w: _Waiting, tokens: dict[str, Token | None]) -> bool:
        """Whether the post `w` may be kept: its token (read from the store now, when given by its text) valid and
        allowed to write, every record of an organisation of the roster in its scope (else its error is a
        :class:`Refused`). Its lines are read here, once: the monitor takes them as read."""
        if w.bearer is not None:
            if w.bearer not in tokens:
                tokens[w.bearer] = self.service.token(w.bearer)
            w.token = tokens[w.bearer]
            if w.token is None:
                w.error = Refused(401, message("arg.token.missing"), None)
            elif w.token.revoked_at is not None:
                w.error = Refused(401, message("arg.token.revoked"), w.token)
            elif not w.token.can_write:
                w.error = Refused(403, message("arg.token.read_only"), w.token)
            if w.error is not None:
                return False
        lines = w.read = read_lines(w.texts, w.source, w.lines)
        if w.token is None:
            return True
        scope = self.service.scope(w.token)
        orgs = m.index.orgs
        for line in lines:
            org = line.org
            if org is not None and org in orgs and org not in scope:
                w.error = Outside(org, w.token)
                return False
        return True

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
            try:  # (the store's write-ahead log copied into its file here, not in a commit a request waits for)
                self.gap()
                self.service.journal.store.checkpoint()
            except Exception:
                log.exception("checkpointing the store failed")

    def stop(self) -> None:
        """Serve the posts queued, then stop both threads."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._count.set()
        for thread in self._threads:
            thread.join(timeout=60)
        if self.service.pace == self.gap:
            self.service.pace = _go_on


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # (a request given up meanwhile: nothing to tell)
        future.set_result(None)


def _outcome(waiting: _Waiting) -> Result:
    if waiting.error is not None:
        raise waiting.error
    assert waiting.result is not None
    return waiting.result
