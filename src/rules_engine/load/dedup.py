"""Exact duplicate-id detection with bounded memory.

Every record id read so far must be remembered to tell a duplicate (the first occurrence counts, a later
one is rejected with the line of the first). Held in a dict, that is about 130 bytes per record: memory
would grow with the number of records. :class:`SeenIds` keeps up to ``limit`` ids in a dict; past that,
it moves them into a temporary SQLite file (in the system's temporary directory, deleted on close) and
looks ids up there a batch at a time. Exact: ids are compared as strings, never by hash alone.

On disk, a batch's new ids are inserted by a helper thread while the caller counts that batch: handed to
SQLite as one JSON array (one statement, during which SQLite does not hold the interpreter lock), so the
insert runs on the second core. The next lookup waits for it.

Ids the columnar intake vouched for (:meth:`SeenIds.add_columns`) are kept as columns instead, a block at a
time. In memory only sorted runs of (hash of the id, number of the id): 12 bytes an id, merged as they grow
(each run at least twice the next, so an id is merged about log2(blocks) times) and looked up by binary
search. The ids themselves, with their digest and place, go to a temporary file per block (Arrow IPC, in the
same temporary folder), read back only for an id whose hash was found, where the ids are compared as strings:
an equal hash alone never makes a duplicate. Ten million ids hold about 120 MB (48 bytes an id when the
blocks stayed in memory; about 130 in the dict). :meth:`SeenIds.check` and :meth:`SeenIds.seen` look in both
parts: it is one index.
"""

from __future__ import annotations

import bisect
import contextlib
import io
import os
import sqlite3
import tempfile
import threading
from collections.abc import Sequence

import orjson
import polars as pl

Info = tuple[int, int]  # (content digest, packed source index and line) of an id's first occurrence

SPILL_AT = 400_000  # ids held in memory before moving to disk (about 50 MB)
_SPILL_SLICE = 50_000  # ids moved to disk per statement when the memory is full
_PARAMS = 999  # host parameters per query (the oldest SQLite builds allow 999)
_LOOKUP_JSON = "SELECT id, digest, place FROM seen WHERE id IN (SELECT value FROM json_each(?))"
_FIND_JSON = "SELECT id FROM seen WHERE id IN (SELECT value FROM json_each(?))"
_INSERT_JSON = (
    "INSERT INTO seen SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')"
    " FROM json_each(?)"
)


def _key(rid: str) -> str:
    """How an id is stored on disk. SQLite's JSON functions end a string at NUL, and text that is not valid
    UTF-8 (a lone surrogate, possible through the Python API) cannot be bound: such ids, and any with
    \\x01, are stored as "\\x01" + the hex of their bytes. Plain ids never contain \\x01, so no two ids
    share a key."""
    if "\x00" not in rid and "\x01" not in rid:
        if rid.isascii():
            return rid
        try:
            rid.encode()
            return rid
        except UnicodeEncodeError:
            pass
    return "\x01" + rid.encode("utf-8", "surrogatepass").hex()


# an id's hash, and where the id is among those added as columns (the number of ids is bounded by _MAX_COLUMNS)
_RUN = {"h": pl.UInt64(), "at": pl.UInt32()}
_MAX_COLUMNS = 1 << 32


def _hashes(ids: pl.Series) -> pl.Series:
    return ids.hash(seed=0x5EED)


class SeenIds:
    def __init__(self, limit: int = SPILL_AT, *, use_json: bool = True) -> None:
        """`limit`: ids kept in memory; `use_json`: batch statements through JSON1 when SQLite has it."""
        self.limit = limit
        self.use_json = use_json
        self.memory: dict[str, Info] = {}
        self._db: sqlite3.Connection | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None
        self._json = False  # whether this SQLite has json_each (JSON1): one statement per batch
        self._runs: list[pl.DataFrame] = []  # ids added as columns: sorted runs of _RUN (see the module's text)
        self._added: list[str] = []  # and the files of the blocks they were added in (id, digest, place)
        self._starts: list[int] = []  # where each block starts among them
        self._count = 0  # ids added as columns

    @property
    def on_disk(self) -> bool:
        return self._db is not None

    def check(self, items: Sequence[tuple[str, Info]]) -> list[Info | None]:
        """For each (id, info) in input order: the info of an earlier occurrence of the id (in an earlier
        batch or earlier in this one), or None for a first occurrence, which is then remembered."""
        if self._runs:
            found = self._in_runs([rid for rid, _ in items])
            if found:  # first seen as columns: those answers are known, the rest are looked up as usual
                rest = [(rid, info) for rid, info in items if rid not in found]
                answers = iter(self.check(rest) if rest else [])
                return [found[rid] if rid in found else next(answers) for rid, _ in items]
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

    def seen(self, ids: pl.Series) -> pl.Series:
        """Whether each id of `ids` was remembered already (by :meth:`check` or :meth:`add_columns`); nothing
        is remembered."""
        known = pl.repeat(False, len(ids), dtype=pl.Boolean, eager=True)
        if self._runs:
            columns = self._columns_of(ids)
            if columns:
                known = known.scatter(sorted(columns), True)  # (polars 1.20 takes sorted indices only)
        if self.memory:
            memory = self.memory
            known |= pl.Series([rid in memory for rid in ids.to_list()], dtype=pl.Boolean)
        if self._db is not None:
            found = self._lookup(ids.to_list())
            known |= pl.Series([_key(rid) in found for rid in ids.to_list()], dtype=pl.Boolean)
        return known

    def add_columns(self, ids: pl.Series, digests: pl.Series, places: pl.Series) -> None:
        """Remember ids that are not remembered yet (see :meth:`seen`) and differ from each other, with the
        digest and place of each, as columns."""
        if not len(ids):
            return
        first = self._count
        if first + len(ids) > _MAX_COLUMNS:
            raise OverflowError(f"more than {_MAX_COLUMNS} record ids")
        path = os.path.join(self._folder(), f"ids-{len(self._added)}.arrow")
        pl.DataFrame({"id": ids, "digest": digests, "place": places}).write_ipc(path, compression="uncompressed")
        self._added.append(path)
        self._starts.append(first)
        self._count = first + len(ids)
        at = pl.int_range(first, first + len(ids), dtype=pl.UInt32, eager=True)
        runs = self._runs
        runs.append(pl.DataFrame({"h": _hashes(ids), "at": at}, schema=_RUN).sort("h"))
        while len(runs) > 1 and runs[-2].height <= 2 * runs[-1].height:
            last = runs.pop()
            runs[-1] = runs[-1].merge_sorted(last, key="h")

    def _columns_of(self, ids: pl.Series) -> dict[int, Info]:
        """The ids of `ids` (by index) that were added as columns, with their info. Each run is searched for the
        hashes at once; the entries of an equal hash (next to each other in a run) are then read back from their
        blocks' files, and an equal id told from an equal hash by comparing the ids themselves."""
        hashes = _hashes(ids)
        candidates: list[tuple[int, int]] = []  # (index in `ids`, number of an id added with the same hash)
        for run in self._runs:
            run_h = run.get_column("h")
            count = run.height
            at = run_h.search_sorted(hashes, side="left").cast(pl.Int64)
            equal = (at < count) & (run_h.gather(at.clip(0, count - 1)) == hashes)
            if not equal.any():
                continue
            numbers = run.get_column("at")
            hits = pl.DataFrame({"i": pl.int_range(0, len(ids), eager=True), "at": at, "h": hashes}).filter(equal)
            for i, j, h in hits.iter_rows():
                while j < count and run_h[j] == h:
                    candidates.append((i, numbers[j]))
                    j += 1
        if not candidates:
            return {}
        entries = self._entries(sorted({number for _, number in candidates}))
        found: dict[int, Info] = {}
        for i, number in candidates:
            rid_there, digest, place = entries[number]
            if i not in found and rid_there == ids[i]:
                found[i] = (digest, place)
        return found

    def _entries(self, numbers: list[int]) -> dict[int, tuple[str, int, int]]:
        """The (id, digest, place) of the ids added as columns with these numbers (ascending), each block's file
        read once."""
        out: dict[int, tuple[str, int, int]] = {}
        k = 0
        while k < len(numbers):
            block = bisect.bisect_right(self._starts, numbers[k]) - 1
            start = self._starts[block]
            end = self._starts[block + 1] if block + 1 < len(self._starts) else self._count
            stop = bisect.bisect_left(numbers, end, k)
            with open(self._added[block], "rb") as handle:  # (read, not mapped: a mapped file counts as resident)
                frame = pl.read_ipc(io.BytesIO(handle.read()))
            rows = pl.Series([n - start for n in numbers[k:stop]], dtype=pl.UInt32)
            for n, row in zip(numbers[k:stop], frame[rows].iter_rows(), strict=True):
                out[n] = row
            k = stop
        return out

    def _folder(self) -> str:
        """The temporary folder of the index's files (deleted on close)."""
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="rules-engine-")
        return self._dir.name

    def _in_runs(self, ids: list[str]) -> dict[str, Info]:
        """The ids of `ids` remembered as columns, with their info."""
        try:
            series = pl.Series(ids, dtype=pl.String)
        except (pl.exceptions.PolarsError, UnicodeEncodeError):  # a lone surrogate: never among the columns' ids
            kept = [rid for rid in ids if not _unencodable(rid)]
            return self._in_runs(kept) if len(kept) < len(ids) else {}
        return {ids[i]: info for i, info in self._columns_of(series).items()}

    def _lookup(self, ids: list[str]) -> set[str]:
        """The keys (:func:`_key`) of `ids` that are on disk."""
        self._wait()
        db = self._db
        assert db is not None
        wanted = sorted({_key(rid) for rid in ids})
        if self._json:
            return {key for (key,) in db.execute(_FIND_JSON, (orjson.dumps(wanted),))}
        found: set[str] = set()
        for start in range(0, len(wanted), _PARAMS):
            part = wanted[start : start + _PARAMS]
            query = f"SELECT id FROM seen WHERE id IN ({','.join('?' * len(part))})"  # only '?'s
            found.update(key for (key,) in db.execute(query, part))
        return found

    def _spill(self) -> None:
        db = sqlite3.connect(os.path.join(self._folder(), "ids.sqlite"), isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-16000", "locking_mode=EXCLUSIVE"):
            db.execute(f"PRAGMA {pragma}")
        db.execute("CREATE TABLE seen(id TEXT PRIMARY KEY, digest INTEGER, place INTEGER) WITHOUT ROWID")
        try:
            db.execute("SELECT value FROM json_each('[1]')").fetchall()
            self._json = self.use_json
        except sqlite3.OperationalError:  # built without JSON1: one row per call (slower, same answers)
            self._json = False
        self._db = db
        # in sorted slices, each written before the next is made: the ids held are not copied whole (copied at
        # once, as rows and as their JSON, they doubled the peak memory of the spill: about 100 MB more)
        memory, ids = self.memory, sorted(self.memory)
        for start in range(0, len(ids), _SPILL_SLICE):
            self._insert([(_key(k), *memory[k]) for k in ids[start : start + _SPILL_SLICE]])
            self._wait()
        self.memory = {}

    def _insert(self, rows: list[tuple[str, int, int]]) -> None:
        db = self._db
        assert db is not None

        def write() -> None:
            try:
                db.execute("BEGIN")
                if self._json:
                    db.execute(_INSERT_JSON, (orjson.dumps(rows),))
                else:
                    db.executemany("INSERT INTO seen VALUES (?, ?, ?)", rows)
                db.execute("COMMIT")
            except BaseException as exc:  # re-raised by the next call in the caller's thread
                self._error = exc

        self._writer = threading.Thread(target=write, name="rules-engine-ids", daemon=True)
        self._writer.start()

    def _wait(self) -> None:
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _check_db(self, items: Sequence[tuple[str, Info]]) -> list[Info | None]:
        self._wait()
        db = self._db
        assert db is not None
        keys = {rid: _key(rid) for rid, _ in items}
        wanted = sorted(set(keys.values()))  # in key order: the B-tree pages are visited in one sweep
        earlier: dict[str, Info] = {}  # by key
        if self._json:
            for key, digest, place in db.execute(_LOOKUP_JSON, (orjson.dumps(wanted),)):
                earlier[key] = (digest, place)
        else:
            for start in range(0, len(wanted), _PARAMS):
                part = wanted[start : start + _PARAMS]
                query = f"SELECT id, digest, place FROM seen WHERE id IN ({','.join('?' * len(part))})"  # only '?'s
                for key, digest, place in db.execute(query, part):
                    earlier[key] = (digest, place)
        out: list[Info | None] = []
        new: list[tuple[str, int, int]] = []
        for rid, info in items:
            key = keys[rid]
            previous = earlier.get(key)
            if previous is None:
                earlier[key] = info
                new.append((key, *info))
            out.append(previous)
        new.sort()
        self._insert(new)
        return out

    def finish(self) -> None:
        """Wait for the last insert and raise its error, if any (:meth:`close` does not raise)."""
        self._wait()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._dir is not None:
            with contextlib.suppress(OSError):
                self._dir.cleanup()
            self._dir = None
        self.memory = {}
        self._runs, self._added, self._starts, self._count = [], [], [], 0


def _unencodable(rid: str) -> bool:
    try:
        rid.encode()
    except UnicodeEncodeError:
        return True
    return False
