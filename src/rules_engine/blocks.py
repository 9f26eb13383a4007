"""Records read in parts by several intakes, the account of one intake that read them all.

A cluster (:mod:`rules_engine.cluster`) reads a run's records in parts, each on a worker, with the same code as
one process (:meth:`rules_engine.intake.Intake.read_part`), then merges what the parts found:

- A JSON Lines file of at least :data:`MIN_BLOCK_BYTES` (without a byte-order mark) is cut into blocks of about
  :func:`block_bytes` bytes at line ends, each block knowing the number of its first line (:func:`parts`). Any
  other record file (CSV, spreadsheets, JSON, a small or marked JSON Lines file) is one part, read whole by the
  process that started the run, with the same code.
- Each part is read by an intake of its own (:func:`read_part`): every row checked and accounted for, the used
  rows and the rejected ones filed under their partitions of organisations by the same router as local workers
  (:class:`rules_engine.workers._Router`), as the bytes a partition is handed. The part's input account,
  rejections, exclusions and warnings are in reading order; one after another, in the order of the parts, they
  are the whole run's (:class:`Merged`).
- Except for duplicate ids, the one rule that reads across rows: the first record with an id in reading order is
  used, later ones are excluded (identical) or rejected (conflicting). Each part lists the ids first seen in it
  (with the record's digest and line), split into :data:`BUCKETS` buckets by the id's hash; a bucket's lists
  from every part show the ids first seen in more than one part (:func:`cross_duplicates`); no process holds
  every id. A part with such ids (rare) is read again, its intake told of each earlier first
  (:meth:`rules_engine.intake.Intake.seed`): it then finds what one intake reading everything would have found.

So the input account, the rejections, the exclusions and the warnings are those of one process, in the same
order, and each partition is handed the same rows in the same order.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import pickle
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .compile import CompiledRules
from .intake import Intake, known_columns, record_sources
from .load.columnar import COLUMNAR_SUFFIXES, Known
from .load.csvcolumns import CSV_SUFFIXES, Layout, csv_layout
from .load.dedup import SPILL_AT, Info, SeenIds
from .load.inputs import BadRow
from .workers import _FRAME, _Router

__all__ = ["BLOCK_BYTES", "BUCKETS", "MIN_BLOCK_BYTES", "Merged", "Part", "PartRead", "block_bytes", "parts"]

BLOCK_BYTES = 1 << 25
"""The largest block of a JSON Lines file a worker reads (32 MB, about 130,000 records)."""

MIN_BLOCK_BYTES = 1 << 20
"""The smallest block; a JSON Lines file smaller than this is read whole where the run starts."""

BUCKETS = 16
"""How many buckets the ids first seen in each part are split into (by hash) to find those seen in two parts."""

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ID_SEED = 0x1D5  # (the buckets' hash)
_FIRSTS = pl.Schema({"id": pl.String(), "digest": pl.Int64(), "line": pl.Int64()})


@dataclass(frozen=True)
class Part:
    """A part of the run's records, read by one intake: `length` bytes of the JSON Lines file `source` from
    `offset`, whole lines, the first of them line `first_line`; or (`length` None) the record file `source`
    whole. `number`: its place in reading order."""

    number: int
    source: str
    offset: int = 0
    length: int | None = None
    first_line: int = 1
    layout: Layout | None = None  # (a text table's, found by the scan of the whole file)

    @property
    def whole(self) -> bool:
        return self.length is None

    def data(self) -> bytes:
        """The part's bytes, read from its file again."""
        assert self.length is not None
        with open(self.source, "rb") as handle:
            handle.seek(self.offset)
            return handle.read(self.length)


def cuttable(source: str | Path) -> bool:
    """Whether a record file may be cut into blocks: JSON Lines or a text table of at least
    :data:`MIN_BLOCK_BYTES`; a JSON Lines file without a byte-order mark (such a file is read row by row whole: see
    :func:`rules_engine.load.columnar.jsonl_blocks`). (A text table is then scanned whole: see :func:`parts`.)"""
    path = Path(source)
    suffix = path.suffix.lower()
    if (suffix not in COLUMNAR_SUFFIXES and suffix not in CSV_SUFFIXES) or not path.is_file():
        return False
    with path.open("rb") as handle:
        if suffix in COLUMNAR_SUFFIXES and handle.read(4).startswith(_BOMS):
            return False
        handle.seek(0, io.SEEK_END)
        return handle.tell() >= MIN_BLOCK_BYTES


def block_bytes(total: int, workers: int) -> int:
    """The size of the blocks a run's JSON Lines files of `total` bytes are cut into for `workers` workers: about
    four blocks a worker, between :data:`MIN_BLOCK_BYTES` and :data:`BLOCK_BYTES`."""
    return max(MIN_BLOCK_BYTES, min(BLOCK_BYTES, -(-total // (4 * max(1, workers)))))


def parts(sources: Sequence[str | Path], size: int) -> Iterator[tuple[Part, bytes | None]]:
    """The parts of the record files `sources`, in reading order, each block with its bytes (None: a file read
    whole). Each file is read once, a block at a time, its lines counted."""
    number = 0
    for item in sources:
        source = str(item)
        layout = None
        if cuttable(source) and Path(source).suffix.lower() in CSV_SUFFIXES:
            layout = csv_layout(Path(source), source)  # (None: it is read row by row whole)
            if layout is None:
                yield Part(number, source), None
                number += 1
                continue
        elif not cuttable(source):
            yield Part(number, source), None
            number += 1
            continue
        offset, line = 0, 1
        with open(source, "rb") as handle:
            while data := handle.read(size):
                if not data.endswith(b"\n"):
                    data += handle.readline()  # (to the line's end, or the file's)
                yield Part(number, source, offset, len(data), line, layout), data
                number += 1
                offset += len(data)
                line += data.count(b"\n")


@dataclass(frozen=True)
class Directory:
    """The roster's ids the intake reads (:class:`rules_engine.intake.Directory`): organisations in roster order."""

    orgs: dict[str, None]
    people: frozenset[str]


@dataclass
class Reading:
    """What every part's intake needs, the same for the whole run: sent to each worker once."""

    compiled: CompiledRules
    orgs: list[str]  # in roster order
    people: list[str]
    shares: list[list[str]]  # the partitions' organisations
    span: tuple[dt.date, dt.date]
    as_of: dt.date
    polars: str = pl.__version__  # (the ids' buckets and the rows' digests are polars hashes: the same version)


@dataclass
class PartRead:
    """What a part's intake found: its input account, rejections, exclusions and warnings (in reading order), what
    each partition is handed (the router's ``(kind, bytes)``, in reading order), and the ids first seen in it, by
    bucket (Arrow IPC of ``id``, ``digest``, ``line``)."""

    number: int
    accounts: dict[str, list[int]]
    rejections: list[BadRow]
    excluded: list[BadRow]
    warnings: list[BadRow]
    inputs: list[list[tuple[str, bytes]]]
    firsts: list[bytes] = field(default_factory=list)


class _Inbox:
    """The router's mailbox of a part: each partition's blocks of columns (Arrow IPC, lz4) and batches of rows
    (pickled), kept as bytes."""

    def __init__(self, count: int) -> None:
        self.inputs: list[list[tuple[str, bytes]]] = [[] for _ in range(count)]

    def post(self, i: int, kind: str, payload: Any) -> None:
        if kind == _FRAME:
            buffer = io.BytesIO()
            payload.write_ipc(buffer, compression="lz4")
            self.inputs[i].append((kind, buffer.getvalue()))
        else:
            self.inputs[i].append((kind, pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)))

    def send(self, i: int, message: tuple[str, str | None]) -> None:
        """(The end of a partition's rows: nothing to do.)"""


class _Recording(SeenIds):
    """The intake's index of ids, which also keeps the ids first seen (with their digest and place)."""

    def __init__(self) -> None:
        super().__init__(SPILL_AT)
        self.first_rows: list[tuple[str, Info]] = []
        self.first_frames: list[pl.DataFrame] = []
        self._depth = 0

    def check(self, items: Sequence[tuple[str, Info]]) -> list[Info | None]:
        self._depth += 1  # (it calls itself for the ids not seen as columns)
        try:
            found = super().check(items)
        finally:
            self._depth -= 1
        if not self._depth:
            self.first_rows.extend(item for item, earlier in zip(items, found, strict=True) if earlier is None)
        return found

    def add_columns(self, ids: pl.Series, digests: pl.Series, places: pl.Series) -> None:
        super().add_columns(ids, digests, places)
        self.first_frames.append(pl.DataFrame({"id": ids, "digest": digests, "place": places}))

    def firsts(self) -> pl.DataFrame:
        """The ids first seen, with their digest and line (in no particular order)."""
        rows = pl.DataFrame(
            {
                "id": [rid for rid, _ in self.first_rows],
                "digest": [digest for _, (digest, _) in self.first_rows],
                "place": [place for _, (_, place) in self.first_rows],
            },
            schema={"id": pl.String(), "digest": pl.Int64(), "place": pl.Int64()},
        )
        frames = [f.cast({"digest": pl.Int64(), "place": pl.Int64()}) for f in self.first_frames]
        every = pl.concat([rows, *frames])
        return every.select("id", "digest", (pl.col("place") & 0xFFFFFFFF).alias("line")).cast(_FIRSTS)


_MADE: dict[int, tuple[Reading, Directory, Known]] = {}  # the run's ids as sets and columns, made once a process


def _made(reading: Reading) -> tuple[Directory, Known]:
    made = _MADE.get(id(reading))
    if made is None or made[0] is not reading:
        _MADE.clear()
        directory = Directory(dict.fromkeys(reading.orgs), frozenset(reading.people))
        types = reading.compiled.ruleset.record_types()
        made = _MADE[id(reading)] = (reading, directory, known_columns(directory, types, reading.span, reading.as_of))
    return made[1], made[2]


def read_part(
    reading: Reading, part: Part, data: bytes | None, earlier: Mapping[str, tuple[int, str, int]] | None = None
) -> PartRead:
    """A part read by an intake of its own (see the module's text): `data`, the part's bytes (None: its file read
    whole); `earlier`, the ids first seen in earlier parts that it shows (:func:`cross_duplicates`), when known
    (then its first ids are not listed)."""
    directory, known = _made(reading)
    inbox = _Inbox(len(reading.shares))
    router = _Router(reading.shares, inbox)
    intake = Intake(reading.compiled, directory, router, reading.span, reading.as_of, known)
    seen = intake.seen = _Recording()
    intake.keep_ids = True
    if earlier:
        intake.seed(earlier)
    if data is None:
        intake.read([part.source])
    else:
        intake.read_part(part.source, data, part.first_line, part.layout)
    router.finish()
    read = PartRead(part.number, intake.accounts, intake.rejections, intake.excluded, intake.warnings, inbox.inputs)
    if earlier is None:
        firsts = seen.firsts()
        bucket = (firsts.get_column("id").hash(seed=_ID_SEED) % BUCKETS).alias("bucket")
        split = firsts.with_columns(bucket).partition_by("bucket", as_dict=True, include_key=False)
        for b in range(BUCKETS):
            buffer = io.BytesIO()
            split.get((b,), _FIRSTS.to_frame()).write_ipc(buffer, compression="lz4")
            read.firsts.append(buffer.getvalue())
    return read


def cross_duplicates(firsts: Sequence[tuple[int, bytes]]) -> pl.DataFrame:
    """Of one bucket's ids first seen in each part (``(part, IPC bytes)``), those seen in more than one: for each
    later part, the id and its first part, digest and line (``part``, ``id``, ``first``, ``digest``, ``line``)."""
    frames = [pl.read_ipc(io.BytesIO(blob)).with_columns(part=pl.lit(number, pl.Int64)) for number, blob in firsts]
    every = pl.concat(frames) if frames else _FIRSTS.to_frame().with_columns(part=pl.lit(0, pl.Int64))
    again = every.filter(pl.col("id").is_duplicated())
    first = again.sort("part").group_by("id", maintain_order=True).first().rename({"part": "first"})
    later = again.select("id", "part").join(first, on="id").filter(pl.col("part") != pl.col("first"))
    return later.select("part", "id", "first", "digest", "line").sort("part", "first", "line")


class Merged:
    """The whole run's input account, rejections, exclusions and warnings from its parts' (added in the order of
    the parts): what one :class:`rules_engine.intake.Intake` reading every record would hold."""

    def __init__(self, records: Any) -> None:
        self.accounts: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in record_sources(records)}
        self.rejections: list[BadRow] = []
        self.excluded: list[BadRow] = []
        self.warnings: list[BadRow] = []

    def add(self, read: PartRead) -> None:
        for name, counts in read.accounts.items():
            mine = self.accounts.setdefault(name, [0, 0, 0, 0])
            for k, n in enumerate(counts):
                mine[k] += n
        self.rejections += read.rejections
        self.excluded += read.excluded
        self.warnings += read.warnings
