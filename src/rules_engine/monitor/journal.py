"""The monitor's journal in the findings store (tables of revisions 0005 and 0006): every posted record, every
change of a duty's state and every clock event, written in one transaction before the monitor answers; read back
whole when a monitor starts on the same store. Each row belongs to a period (its label): a journal reads and
writes the rows of its own (:meth:`Journal.at` gives the journal of another period on the same store), and the
periods the service has monitored are listed in ``monitor_periods``. Needs the ``history`` extra (SQLAlchemy and
Alembic)."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..history import store
from ..history.store import Connection, sa
from ..periods import Period
from .core import Change, Row
from .outbox import outbox_rows

__all__ = ["CHECKPOINT_PAGES", "LEGACY", "Journal", "StoredPeriod", "open_store"]

LEGACY = ""  # the period of rows written before revision 0006, claimed by the first period opened


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class _Store:
    """A store kept open (one engine, its schema brought up to date once): a transaction per call."""

    def __init__(self, db: str | Path | None) -> None:
        self.url = store.resolve_db(db)
        with store.connect(db, create=True):  # (creates the file, checks it is a store, migrates it)
            pass
        # the writers of this process queue here, not in SQLite's busy handler: that one sleeps between tries (1, 2,
        # 5, 10 ... 100 ms), so a writer that finds the file locked by another of our threads waited well past its
        # release (a commit cycle behind the count's write: up to 150 ms). Re-entrant: a thread that opens a second
        # transaction inside its first fails on SQLite's lock as before, not here
        self._writing = threading.RLock()
        # on SQLite its connections are kept open (pooled) and used by one transaction at a time: a transaction
        # no longer opens the file, sets its pragmas and reads its schema first (a third of a small write's CPU)
        self.engine = store._engine(self.url, sa.engine.make_url(self.url), pooled=True)
        # a connection kept open, never used: a transaction's connection that is closed (beyond the pool's size)
        # then closes without checkpointing and removing SQLite's write-ahead log (half the time of a small
        # transaction); committed transactions are synced to disk as before
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _late_checkpoints)
        self._keeper = self.engine.connect() if self.engine.dialect.name == "sqlite" else None
        # reads that need no lock (a token looked up at each request): on SQLite a connection of its own in
        # autocommit (each statement a read transaction of its own: with write-ahead logging it neither waits for a
        # writer nor holds one up), not the write lock every transaction of `engine` takes as it begins
        self._reader = (
            sa.create_engine(
                self.url,
                connect_args={"timeout": store.BUSY_SECONDS, "check_same_thread": False},
                isolation_level="AUTOCOMMIT",
            )
            if self.engine.dialect.name == "sqlite"
            else None
        )

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (SQLite: the process's writers one at a time, see `_writing`)."""
        try:
            with self._writing if self._keeper is not None else contextlib.nullcontext(), self.engine.begin() as conn:
                store._lock(conn)
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise store.HistoryError.of("history.db.error", url=store._shown(self.url), reason=reason) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading what is committed, without the store's write lock (PostgreSQL: a transaction
        without the advisory lock)."""
        try:
            if self._reader is not None:
                with self._reader.connect() as conn:
                    yield conn
            else:
                with self.engine.begin() as conn:
                    yield conn
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise store.HistoryError.of("history.db.error", url=store._shown(self.url), reason=reason) from exc

    def checkpoint(self) -> tuple[int, int, int] | None:
        """Copy what SQLite's write-ahead log holds into the database file (a passive checkpoint: it waits for no
        writer or reader and holds none up): (busy, frames in the log, frames copied); None on PostgreSQL. The
        store's own connections checkpoint only past :data:`CHECKPOINT_PAGES` (SQLite's default: 1,000 pages, in the
        commit that passes them, the writer waiting for it), so that a long-lived writer (the service) does it from
        a thread that no request waits for."""
        if self._keeper is None:
            return None
        with self.read() as conn:
            found = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return int(found[0]), int(found[1]), int(found[2])

    def reader_connection(self) -> Any:
        """A connection of the lock-free reader of SQLite (see `read`), checked out for its caller to keep (and
        close)."""
        assert self._reader is not None
        return self._reader.raw_connection()

    def close(self) -> None:
        if self._keeper is not None:
            self._keeper.close()
        if self._reader is not None:
            self._reader.dispose()
        self.engine.dispose()


CHECKPOINT_PAGES = 16_384
"""The write-ahead log's pages (of 4 KB) past which a transaction of the store's writers checkpoints it as it
commits (SQLite's default: 1,000): a service checkpoints from its count thread (:meth:`_Store.checkpoint`), and this
bounds the log if that thread does not."""


def _late_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")


def open_store(db: str | Path | None) -> _Store:
    """The findings store at `db` (a file path or URL; default ``$RULES_ENGINE_DB``, else ``./rules-engine.db``),
    created and migrated if needed, kept open."""
    return _Store(db)


@dataclass(frozen=True)
class StoredPeriod:
    """A period the service has monitored (``monitor_periods``)."""

    period: Period
    opened_at: str
    closed_at: str | None


class Journal:
    """What a :class:`rules_engine.monitor.Monitor` writes and reads back (see the module's text): the rows of
    the period `period` (default: the rows of no named period, as a monitor used without the service keeps)."""

    def __init__(self, db: str | Path | None = None, period: str = LEGACY) -> None:
        self.store = open_store(db)
        self.period = period
        self.written: list[Any] = []  # called after each write (the webhook's wake-up)

    def at(self, period: str) -> Journal:
        """The journal of the period `period` on the same store (sharing its connection pool and listeners)."""
        other = copy.copy(self)
        other.period = period
        return other

    def write(self, rows: Sequence[Row], changes: Sequence[Change], clock: str | None) -> None:
        now = _now()
        # (the rows to insert made before the transaction: the store's write lock is held for the inserts alone)
        posted = [
            {
                "period": self.period,
                "seq": r.seq,
                "received_at": now,
                "source": r.source,
                "line": r.line,
                "body": r.text,
                "status": r.status,
                "record_id": r.record_id,
                "organisation_id": r.org,
            }
            for r in rows
        ]
        changed = [{**c.model_dump(), "period": self.period} for c in changes]
        told = outbox_rows(changes, now)
        with self.store.begin() as conn:
            if posted:
                conn.execute(store.monitor_rows.insert(), posted)
            if changed:
                conn.execute(store.monitor_changes.insert(), changed)
            if told:
                conn.execute(store.outbox.insert(), told)
            if clock is not None:
                conn.execute(store.monitor_clock.insert(), [{"day": clock, "at": now, "period": self.period}])
        if changes:
            for call in self.written:
                call()

    def rows(self) -> list[Row]:
        t = store.monitor_rows
        with self.store.begin() as conn:
            found = conn.execute(
                sa.select(t.c.seq, t.c.source, t.c.line, t.c.body, t.c.status)
                .where(t.c.period == self.period)
                .order_by(t.c.seq)
            )
            return [Row(seq, source, line, body, status) for seq, source, line, body, status in found]

    def clock(self) -> str | None:
        t = store.monitor_clock
        with self.store.begin() as conn:
            day: Any = conn.execute(sa.select(sa.func.max(t.c.day)).where(t.c.period == self.period)).scalar()
            return str(day) if day is not None else None

    def states(self) -> dict[str, str]:
        """Each duty's last state."""
        t = store.monitor_changes
        with self.store.begin() as conn:
            found = conn.execute(sa.select(t.c.duty, t.c.after).where(t.c.period == self.period).order_by(t.c.id))
            return {duty: after for duty, after in found}

    def changes(self) -> list[Change]:
        t = store.monitor_changes
        with self.store.begin() as conn:
            found = conn.execute(sa.select(t).where(t.c.period == self.period).order_by(t.c.id)).mappings()
            return [Change.model_validate({k: v for k, v in r.items() if k not in ("id", "period")}) for r in found]

    # ------------------------------------------------------------------ periods (rules_engine.monitor.service)

    def periods(self) -> list[StoredPeriod]:
        """The periods monitored on this store, by start."""
        t = store.monitor_periods
        with self.store.begin() as conn:
            found = conn.execute(sa.select(t).order_by(t.c.start)).mappings()
            return [
                StoredPeriod(
                    Period(dt.date.fromisoformat(r["start"]), dt.date.fromisoformat(r["end"]), r["label"]),
                    r["opened_at"],
                    r["closed_at"],
                )
                for r in found
            ]

    def open_period(self, period: Period, day: dt.date, closing: str | None = None) -> None:
        """Open `period` (its clock at `day`), closing the period labelled `closing` in the same transaction.
        The first period opened on a store claims the rows written before revision 0006 (those of no period)."""
        with self.store.begin() as conn:
            now = _now()
            first = conn.execute(sa.select(sa.func.count()).select_from(store.monitor_periods)).scalar() == 0
            if closing is not None:
                t = store.monitor_periods
                conn.execute(t.update().where(t.c.label == closing).values(closed_at=now))
            conn.execute(
                store.monitor_periods.insert().values(
                    label=period.label,
                    start=period.start.isoformat(),
                    end=period.end.isoformat(),
                    opened_at=now,
                    closed_at=None,
                )
            )
            if first:
                for table in (store.monitor_rows, store.monitor_changes, store.monitor_clock):
                    conn.execute(table.update().where(table.c.period == LEGACY).values(period=period.label))
            conn.execute(store.monitor_clock.insert(), [{"day": day.isoformat(), "at": now, "period": period.label}])

    def close(self) -> None:
        self.store.close()
