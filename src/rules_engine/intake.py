"""Intake: records in, each one accounted for: used (handed to the tally), rejected (a data problem, with
file, line, field and reason) or excluded (set aside without a data problem).

Checks run in input order (unknown organisation or type, dated after the evaluation date, duplicate id,
date outside every window); used records then go to the tally in reading order, batch by batch.
"""

from __future__ import annotations

import datetime as dt
import difflib
import heapq
import zlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson
import polars as pl

from .compile import CompiledRules
from .errors import did_you_mean
from .fields import reading
from .load.columnar import (
    COLUMNAR_SUFFIXES,
    ColumnarBlock,
    Known,
    as_record_frame,
    checked,
    digests,
    jsonl_blocks,
    jsonl_part_blocks,
    recs_frame,
    vouched,
)
from .load.csvcolumns import CSV_SUFFIXES, Layout, csv_blocks, csv_part_blocks
from .load.dedup import SPILL_AT, SeenIds
from .load.inputs import BadRow, Rec, read_records, records_from_objects
from .model.records import ActivityRecord, RecordSource
from .periods import Period
from .texts import Arg, hint

RecordsInput = str | Path | Sequence[str | Path | RecordSource] | Iterable[ActivityRecord | Mapping[str, Any]]

# Records are checked one by one in input order (duplicates, rejections and warnings keep that order), in
# batches; the used records of each batch go to the tally in the same order (the reading order).
_BATCH = 32768
_SPILL_AT = SPILL_AT  # record ids held in memory before the index of ids moves to disk
# JSON Lines and CSV files are read by columns where that is exact (see rules_engine.load.columnar and
# rules_engine.load.csvcolumns); False: every file row by row (the differential tests compare the two)
_COLUMNAR = True


class Directory(Protocol):
    """What the intake reads of the roster: the ids of its organisations (in roster order) and of its people (a
    :class:`rules_engine.plan.RosterIndex`, or :class:`rules_engine.blocks.Directory` where the roster is not held)."""

    @property
    def orgs(self) -> Collection[str]: ...

    @property
    def people(self) -> Collection[str]: ...


class Sink(Protocol):
    """Where the intake hands the rows it checked: the tally's :class:`rules_engine.tally.Counter`, or the
    router that sends each organisation's rows to its worker (:mod:`rules_engine.workers`)."""

    def add(self, rec: Rec) -> None: ...  # a used record, in reading order

    def add_bad(self, row: BadRow) -> None: ...  # a rejected row, in reading order

    def add_frame(self, frame: pl.DataFrame) -> None: ...  # used records as a block of columns (RECORD_FRAME)


def _named(records: RecordsInput) -> list[str | Path | RecordSource] | None:
    """The items of `records` when it is files and named sources (None: records themselves)."""
    if isinstance(records, (str, Path, RecordSource)):
        return [records]
    if isinstance(records, Sequence) and records and all(isinstance(x, (str, Path, RecordSource)) for x in records):
        return [x for x in records if isinstance(x, (str, Path, RecordSource))]
    return None


def whole_files(records: RecordsInput) -> list[str] | None:
    """The record files of `records` as named, when it is files only (None: records themselves, or named sources)."""
    items = _named(records)
    if items is None or not all(isinstance(x, (str, Path)) for x in items):
        return None
    return [str(x) for x in items]


def record_paths(records: RecordsInput) -> list[str | Path]:
    return [x for x in _named(records) or [] if isinstance(x, (str, Path))]


def record_sources(records: RecordsInput) -> list[str]:
    """The names the report's input list gives: each file as given, each RecordSource by its name."""
    return [x.name if isinstance(x, RecordSource) else str(x) for x in _named(records) or []]


def _rows(records: RecordsInput) -> Iterator[tuple[str, Rec | BadRow]]:
    items = _named(records)
    if items is not None:
        for item in items:
            yield from _item_rows(item)
        return
    assert not isinstance(records, (str, Path, RecordSource))
    for row in records_from_objects(records):
        yield "<records>", row


def _item_rows(item: str | Path | RecordSource) -> Iterator[tuple[str, Rec | BadRow]]:
    if isinstance(item, RecordSource):
        for row in records_from_objects(item.records, item.name, item.lines):
            yield item.name, row
    else:
        for row in read_records(item):
            yield str(item), row


def _by_columns(item: str | Path | RecordSource) -> bool:
    if isinstance(item, RecordSource):
        return False
    suffix = Path(item).suffix.lower()
    return suffix in COLUMNAR_SUFFIXES or suffix in CSV_SUFFIXES


def known_columns(index: Directory, types: Collection[str], span: tuple[dt.date, dt.date], as_of: dt.date) -> Known:
    """The roster's ids and the known record types as columns, as the intake vouches for rows with them."""
    return Known(
        pl.Series(list(index.orgs), dtype=pl.String),
        pl.Series(list(types), dtype=pl.String),
        pl.Series(list(index.people), dtype=pl.String),
        span,
        as_of,
    )


def record_span(compiled: CompiledRules, period: Period) -> tuple[dt.date, dt.date]:
    """The days any record can count for: every rule window that overlaps the period, and the follow-up
    days of triggers inside it. A record dated outside cannot evidence anything."""
    start, end = period.start, period.end
    for rule in compiled.rules:
        granularity = rule.params.period
        if granularity is not None:
            windows = period.windows(granularity)
            if windows:
                start, end = min(start, windows[0].start), max(end, windows[-1].end)
        if rule.params.within_days is not None:
            end = max(end, period.end + dt.timedelta(days=rule.params.within_days))
    return start, end


class Intake:
    """Checks rows in input order (unknown organisation or type, dated after the evaluation date, duplicate id,
    date outside every window), accounts for each (read, used, rejected, excluded), then hands the used ones
    to the tally, batch by batch, in reading order.

    Rejected: rows with a data problem; they may have evidenced a duty, which then cannot be decided.
    Excluded: rows set aside without a data problem, which cannot change any finding (dated after the
    evaluation date, so not knowable then; an identical duplicate; dated outside every window)."""

    def __init__(
        self,
        compiled: CompiledRules,
        index: Directory,
        counter: Sink,
        span: tuple[dt.date, dt.date],
        as_of: dt.date,
        known: Known | None = None,
    ):
        """`known`: the roster's ids as columns, when made already (:meth:`known_columns`); else made when needed."""
        self.index = index
        self.counter = counter
        self.known_types = compiled.ruleset.record_types()
        self.fields = compiled.fields
        self.span = span
        self.as_of = as_of
        self.seen = SeenIds(_SPILL_AT)
        self.sources: dict[str, int] = {}  # source -> index, for the compact place of a first occurrence
        self.source_names: list[str] = []
        self.accounts: dict[str, list[int]] = {}
        self.rejections: list[BadRow] = []
        self.excluded: list[BadRow] = []
        self.warnings: list[BadRow] = []
        self._known_columns: Known | None = known
        self.keep_ids = False  # remember the ids of every file's last block (see _read_columns) even with none after

    def read(self, records: RecordsInput) -> None:
        """Check and count every row of `records` (files, or objects), in input order, in batches; JSON Lines
        and CSV files by columns where that is exact (:mod:`rules_engine.load.columnar`,
        :mod:`rules_engine.load.csvcolumns`)."""
        for name in record_sources(records):  # empty files and sources are listed too
            self.accounts[name] = [0, 0, 0, 0]
        with reading(self.fields):  # (the readers take the declared record fields)
            self._read(records)

    def _read(self, records: RecordsInput) -> None:
        try:
            items = _named(records)
            if items is None or not _COLUMNAR:
                self._read_rows(_rows(records))
            else:
                for i, item in enumerate(items):
                    # (the ids of rows vouched for by columns go to the id index whenever any item follows: a
                    # later file of any kind may repeat one)
                    follows = self.keep_ids or i < len(items) - 1
                    if _by_columns(item) and self._read_columns(str(item), follows):
                        continue
                    self._read_rows(_item_rows(item))
            self.seen.finish()
        finally:
            self.seen.close()

    def _read_rows(self, rows: Iterable[tuple[str, Rec | BadRow]]) -> None:
        batch: list[tuple[str, Rec | BadRow]] = []
        for item in rows:
            batch.append(item)
            if len(batch) >= _BATCH:
                self.take(batch)
                batch = []
        self.take(batch)

    def _read_columns(self, source: str, follows: bool) -> bool:
        """Read a JSON Lines or CSV file by columns, a block of lines at a time (False: it must be read row by
        row). Rows vouched for by column checks go to the tally as columns; every other row goes through the
        per-row checks, in line order, merged with the vouched rows so that the tally takes the used rows in
        reading order.
        Vouched ids go to the id index before the next block is checked (or, after the last block, when
        `follows`: another item comes after this file)."""
        path = Path(source)
        if not path.is_file():
            return False  # (the per-row reader says so)
        suffix = path.suffix.lower()
        blocks = (
            csv_blocks(path, source, CSV_SUFFIXES[suffix]) if suffix in CSV_SUFFIXES else jsonl_blocks(path, source)
        )
        if blocks is None:
            return False
        self._take_blocks(source, blocks, follows)
        return True

    def read_part(self, source: str, data: bytes, first_line: int, layout: Layout | None = None) -> None:
        """Check and count the rows of a part of the JSON Lines file `source` (or, with its `layout`, the text
        table): `data`, whole lines of it (the last one may lack its line end only at the file's end), the first
        of them line `first_line`; the same column and row code as a whole file (:meth:`read`). A JSON Lines file
        that starts with a byte-order mark, a table without a layout, are not read so (they are read row by row
        whole: see :func:`rules_engine.load.columnar.jsonl_blocks`, :func:`rules_engine.load.csvcolumns.csv_blocks`).
        The run's other parts are read by other intakes: :mod:`rules_engine.blocks` merges their accounts."""
        self.accounts.setdefault(source, [0, 0, 0, 0])
        blocks = (
            jsonl_part_blocks(data, source, first_line)
            if layout is None
            else csv_part_blocks(data, source, layout, first_line)
        )
        with reading(self.fields):
            try:
                self._take_blocks(source, blocks, True)
                self.seen.finish()
            finally:
                self.seen.close()

    def _take_blocks(self, source: str, blocks: Iterable[ColumnarBlock], follows: bool) -> None:
        known = self._known()
        account = self.accounts.setdefault(source, [0, 0, 0, 0])
        place = pl.lit(self._source_number(source) << 32, dtype=pl.Int64) | (pl.col("line") & 0xFFFFFFFF)
        pending: pl.DataFrame | None = None  # the last block's vouched rows, not yet in the id index
        for block in blocks:
            if pending is not None:
                self._remember(pending, place)
                pending = None
            rows, others, check = block.rows, block.others, block.check or checked
            del block
            if rows.height:
                ok = vouched(rows, known, others) & ~self.seen.seen(rows.get_column("id"))
                good = as_record_frame(rows.filter(ok), source)
                others = list(heapq.merge(others, check(rows.filter(~ok), source), key=lambda item: item[0]))
            else:
                good = as_record_frame(rows, source)
            del rows  # (the decoded text of the dates and the lists: no longer needed)
            used = self._check([(source, row) for _, row in others]) if others else []
            account[0] += good.height
            account[1] += good.height
            frame = pl.concat([good, recs_frame(used)]).sort("line") if used else good
            if frame.height:
                self.counter.add_frame(frame)
            pending = good if good.height else None
        if pending is not None and follows:
            self._remember(pending, place)

    def _remember(self, good: pl.DataFrame, place: pl.Expr) -> None:
        """Put the ids of vouched rows (a :data:`~rules_engine.load.columnar.RECORD_FRAME` block) in the id index,
        each with its content's digest and its place."""
        self.seen.add_columns(good.get_column("id"), digests(good), good.select(place).to_series())

    def _known(self) -> Known:
        if self._known_columns is None:
            self._known_columns = known_columns(self.index, self.known_types, self.span, self.as_of)
        return self._known_columns

    def seed(self, earlier: Mapping[str, tuple[int, str, int]]) -> None:
        """Ids the run's earlier parts showed first, read by other intakes (:mod:`rules_engine.blocks`): id ->
        (the digest of that first record, as its intake worked it out; its source; its line). A row of this
        intake with such an id is a duplicate of that record, as in one intake that read them all."""
        memory = self.seen.memory
        for rid, (digest, source, line) in earlier.items():
            memory[rid] = (digest, (self._source_number(source) << 32) | (line & 0xFFFFFFFF))

    def _source_number(self, source: str) -> int:
        number = self.sources.get(source)
        if number is None:
            number = self.sources[source] = len(self.source_names)
            self.source_names.append(source)
        return number

    def take(self, batch: list[tuple[str, Rec | BadRow]]) -> None:
        add = self.counter.add
        for rec in self._check(batch):
            add(rec)

    def _check(self, batch: list[tuple[str, Rec | BadRow]]) -> list[Rec]:
        """Check and account for the rows of `batch`, in order; returns the used ones (not yet handed on)."""
        rows: list[Rec | BadRow] = []
        keys: list[tuple[str, tuple[int, int]]] = []
        for _, row in batch:
            if isinstance(row, Rec):
                row = self._check_known(row)
                if isinstance(row, Rec) and row.date > self.as_of:
                    row = _later(row, self.as_of)  # before the duplicate check: it did not exist yet
                if isinstance(row, Rec):
                    keys.append((row.id, (_digest(row), self._place(row))))
            rows.append(row)
        found = self.seen.check(keys)
        earlier = iter(zip(found, keys, strict=True))
        # the digests of records whose id was first seen in a row taken by columns: worked out the same way
        recs = [row for row in rows if isinstance(row, Rec)]  # (those of `keys`, in order)
        again = [rec for rec, first in zip(recs, found, strict=True) if first and first[0] < 0]
        theirs = iter(_column_digests(again))
        used: list[Rec] = []
        accounts = self.accounts
        for (source, _), row in zip(batch, rows, strict=True):
            account = accounts.get(source)
            if account is None:
                account = accounts[source] = [0, 0, 0, 0]
            account[0] += 1
            if isinstance(row, Rec):
                first, (_, (mine, _)) = next(earlier)
                row = self._check_again(row, first, next(theirs) if first and first[0] < 0 else mine)
            if isinstance(row, BadRow):
                if not row.taints:
                    account[3] += 1
                    self.excluded.append(row)
                    continue
                account[2] += 1
                self.rejections.append(row)
                if row.date is None or row.date <= self.as_of:  # a later row was not there to evidence anything
                    self.counter.add_bad(row)
                continue
            account[1] += 1
            people = self.index.people
            unknown = [p for p in row.participants if p not in people]  # (a set difference copies the keys)
            if unknown:  # used, but a misspelt id must not turn into a violation: see tally._Tally._taints
                row.unknown = frozenset(unknown)
                self.warnings.append(_unknown_people(row, unknown))
            used.append(row)
        return used

    def _place(self, rec: Rec) -> int:
        return (self._source_number(rec.source) << 32) | (rec.line & 0xFFFFFFFF)

    def _check_known(self, rec: Rec) -> Rec | BadRow:
        """Reject a record whose organisation or type is unknown (with a did-you-mean)."""
        orgs, known_types = self.index.orgs, self.known_types
        if rec.org not in orgs:
            found = hint(did_you_mean(rec.org, orgs, "zh"), did_you_mean(rec.org, orgs, "en"))
            # a close match names the organisation the row was probably meant for; otherwise it could be any
            close = difflib.get_close_matches(rec.org, list(orgs), n=1, cutoff=0.6)
            return _bad(
                rec, "row.org.unknown", "org", rec.org, org=close[0] if close else None, org_id=rec.org, hint=found
            )
        if rec.type not in known_types:
            zh, en = did_you_mean(rec.type, known_types, "zh"), did_you_mean(rec.type, known_types, "en")
            return _bad(rec, "row.type.unknown", "type", rec.type, record_type=rec.type, hint=hint(zh, en, " "))
        return rec

    def _check_again(self, rec: Rec, earlier: tuple[int, int] | None, digest: int) -> Rec | BadRow:
        """Reject a duplicate id (`earlier`: the digest and place of the first occurrence; `digest`: this
        record's, worked out as the first's was), then a date outside every window."""
        if earlier is not None:
            first, place = earlier
            line = f"{self.source_names[place >> 32]}:{place & 0xFFFFFFFF}"
            if digest == first:
                return _bad(rec, "row.duplicate.identical", "id", rec.id, taints=False, first=line)
            return _bad(rec, "row.duplicate.conflict", "id", rec.id, first=line)
        start, end = self.span
        if not start <= rec.date <= end:
            return _bad(
                rec, "row.date.outside_span", "date", rec.date.isoformat(), taints=False, start=str(start), end=str(end)
            )
        return rec


def _later(rec: Rec, as_of: dt.date) -> BadRow:
    return _bad(rec, "row.date.after_as_of", "date", rec.date.isoformat(), taints=False, as_of=as_of.isoformat())


_SAME = object()  # _bad's default organisation: the record's own


def _bad(rec: Rec, code: str, field: str, value: str, *, org: Any = _SAME, taints: bool = True, **args: Arg) -> BadRow:
    """`rec` rejected (or excluded: ``taints=False``) for `code`, with all it holds salvaged."""
    return BadRow.at(
        code,
        rec.source,
        rec.line,
        field,
        value,
        args,
        record_id=rec.id,
        org=rec.org if org is _SAME else org,
        type=rec.type,
        date=rec.date,
        taints=taints,
    )


def _digest(rec: Rec) -> int:
    """A CRC of the record's content (not its id, source or line; its declared fields too): tells an identical
    duplicate."""
    content = "\x1f".join(
        [
            rec.org,
            rec.type,
            rec.date.isoformat(),
            rec.chair or "",
            *sorted(rec.participants),
            "\x1e",
            rec.portfolio or "",
            *sorted(rec.tags),
            *(["\x1e", orjson.dumps(rec.fields, option=orjson.OPT_SORT_KEYS).decode()] if rec.fields else []),
        ]
    )
    return zlib.crc32(content.encode())


def _column_digests(recs: list[Rec]) -> list[int]:
    """The digests of `recs` as :func:`rules_engine.load.columnar.digests` works them out for rows taken by
    columns (to compare with a first occurrence taken so)."""
    if not recs:
        return []
    try:
        return digests(recs_frame(recs)).to_list()
    except (pl.exceptions.PolarsError, UnicodeEncodeError):  # text polars cannot hold (a lone surrogate, through
        # the Python API): one by one; such a record differs from every row taken by columns (valid UTF-8)
        out: list[int] = []
        for rec in recs:
            try:
                out.append(digests(recs_frame([rec])).item())
            except (pl.exceptions.PolarsError, UnicodeEncodeError):
                out.append(0)  # (never a digest of columns, which are negative)
        return out


def _unknown_people(rec: Rec, unknown: list[str]) -> BadRow:
    names = ", ".join(sorted(unknown))
    return _bad(rec, "row.people.unknown", "participants", names, taints=False, names=names)
