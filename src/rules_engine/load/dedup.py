"""Exact duplicate-id detection with bounded memory.

Every record id read so far must be remembered to tell a duplicate (the first occurrence counts, a later
one is rejected with the line of the first). Held in a dict, that is about 130 bytes per record: memory
would grow with the number of records. :class:`SeenIds` keeps up to ``limit`` ids in a dict; past that,
it moves them into a temporary SQLite file (in the system's temporary directory, deleted on close) and
looks ids up there a batch at a time. Exact: ids are compared as strings, never by hash alone.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Sequence

Info = tuple[int, int]  # (content digest, packed source index and line) of an id's first occurrence

SPILL_AT = 250_000  # ids held in memory before moving to disk (about 35 MB)


class SeenIds:
    def __init__(self, limit: int = SPILL_AT) -> None:
        self.limit = limit
        self.memory: dict[str, Info] = {}
        self._db: sqlite3.Connection | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def on_disk(self) -> bool:
        return self._db is not None

    def check(self, items: Sequence[tuple[str, Info]]) -> list[Info | None]:
        """For each (id, info) in input order: the info of an earlier occurrence of the id (in an earlier
        batch or earlier in this one), or None for a first occurrence, which is then remembered."""
        if self._db is None:
            out: list[Info | None] = []
            memory = self.memory
            for rid, info in items:
                previous = memory.get(rid)
                if previous is None:
                    memory[rid] = info
                out.append(previous)
            if len(memory) > self.limit:
                self._spill()
            return out
        return self._check_db(items)

    def _spill(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="rules-engine-")
        db = sqlite3.connect(os.path.join(self._dir.name, "ids.sqlite"), isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-16000", "temp_store=MEMORY"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("CREATE TABLE seen(id TEXT PRIMARY KEY, digest INTEGER, place INTEGER) WITHOUT ROWID")
        db.execute("CREATE TEMP TABLE batch(id TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute("BEGIN")
        db.executemany("INSERT INTO seen VALUES (?, ?, ?)", ((k, d, p) for k, (d, p) in self.memory.items()))
        db.execute("COMMIT")
        self.memory = {}
        self._db = db

    def _check_db(self, items: Sequence[tuple[str, Info]]) -> list[Info | None]:
        db = self._db
        assert db is not None
        db.execute("BEGIN")
        db.execute("DELETE FROM batch")
        db.executemany("INSERT OR IGNORE INTO batch VALUES (?)", ((rid,) for rid, _ in items))
        earlier: dict[str, Info] = {
            rid: (digest, place)
            for rid, digest, place in db.execute("SELECT id, digest, place FROM batch JOIN seen USING (id)")
        }
        out: list[Info | None] = []
        new: list[tuple[str, int, int]] = []
        for rid, info in items:
            previous = earlier.get(rid)
            if previous is None:
                earlier[rid] = info
                new.append((rid, *info))
            out.append(previous)
        db.executemany("INSERT INTO seen VALUES (?, ?, ?)", new)
        db.execute("COMMIT")
        return out

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._dir is not None:
            with contextlib.suppress(OSError):
                self._dir.cleanup()
            self._dir = None
        self.memory = {}
