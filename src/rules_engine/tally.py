"""Tally: what the records show for each obligation: how many records count, the first of them (evidence),
the first candidates that do not count and why (rejected), and the records that cast doubt on it (taints).

Intake hands the used records over in reading order (input order across files); they are kept as columns.
Once all are read, every obligation is joined to its candidate records on its match keys (organisation and
record type; a pair's second person or a portfolio holder among the participants, or the portfolio area),
never to every record; the rule's conditions are then expressions over those candidate rows, and the
secretary or the team on a record's date come from a join with the roster's terms of office.
Trigger rules get their obligations here, from the records that start them. The joins run a chunk of
organisations at a time (:data:`CHUNK_RECORDS`), so that their intermediates are bounded by a chunk.

What is held does not grow with the number of records: past :data:`SPILL_ROWS` records, the columns go to
files in a temporary folder, one per range of organisations (the organisations sorted by id, cut into
:data:`SPILL_RANGES` ranges), as they arrive; the tally then reads back a few ranges at a time (about
:data:`GROUP_RECORDS` records). An organisation's records are all in one range, in reading order, and nothing
reads across organisations, so the result is the same. The evidence and the rejected candidates keep the ids of
the records they name only (:attr:`Tallied.ids`), not every record's.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import tempfile
import weakref
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from .compile import CompiledRule, CompiledRules
from .fields import BUILTIN_WHERE, QuorumSpec, Test, quorum_of, where_fields, why_not_where
from .ledger import Ledger, Lists
from .load.columnar import RECORD_FRAME, among, frame_recs
from .load.inputs import BadRow, Rec
from .model.rules import Match, SubjectKind
from .periods import Period
from .plan import Obligation, RosterIndex, Why, clip_window

Refs = dict[str, "tuple[str, ...] | set[str]"]  # the people a record filter names: subject, first, second, secretary

MAX_EVIDENCE = 20  # evidence ids kept per finding (``count`` has them all); evaluate(max_evidence=...)
MAX_REJECTED = 20  # rejected candidates kept per finding
CHUNK_RECORDS = 32768  # records tallied at a time (whole organisations: bounds the memory of the joins)
_FLUSH = 65536  # used records held as objects before they become a block of columns
SPILL_ROWS = 1 << 20  # records held as columns in memory; past them, all go to files by organisation range
SPILL_RANGES = 64  # the ranges of organisations a spilled run's records are filed by
GROUP_RECORDS = 1 << 16  # records of a spilled run read back at a time (whole ranges)


@dataclass(frozen=True)
class SpillLimits:
    """When records go to disk and how they come back (see the module's text): past `rows` records held, filed
    by `ranges` ranges of organisations, read back about `group` records at a time."""

    rows: int
    ranges: int
    group: int

    @classmethod
    def current(cls) -> SpillLimits:
        """The module's limits as they are now (a worker is handed the parent's)."""
        return cls(SPILL_ROWS, SPILL_RANGES, GROUP_RECORDS)


# The record columns of the intake's blocks (load.columnar.RECORD_FRAME), the file as its number, without the
# lists (kept as long tables, below).
_RECORDS: dict[str, pl.DataType] = {
    **{name: RECORD_FRAME[name] for name in ("id", "org", "type", "date", "chair", "portfolio")},
    "source": pl.UInt32(),  # index into RecordColumns.sources
    "line": RECORD_FRAME["line"],
}
# The participants (the chair among them) and the tags as long tables (row, value): a column of lists is slow to
# build from Python objects, and the tally joins on single values anyway.
_PEOPLE: dict[str, pl.DataType] = {"row": pl.UInt32(), "person": pl.String()}
_TAGS: dict[str, pl.DataType] = {"row": pl.UInt32(), "tag": pl.String()}
# The declared record fields a rule reads (its where, its quorum's attendees) are kept as columns ``f:NAME`` of these
# types; no other declared field is kept.
_FIELD_DTYPES: dict[str, pl.DataType] = {
    "person": pl.String(),
    "people": pl.List(pl.String()),
    "text": pl.String(),
    "tag": pl.String(),
    "number": pl.Float64(),
    "date": pl.Date(),
    "boolean": pl.Boolean(),
}


def read_fields(compiled: CompiledRules) -> dict[str, str]:
    """The declared record fields some rule reads (name -> type), in rule order: the columns the tally keeps."""
    types = compiled.fields.types
    out: dict[str, str] = {}
    for rule in compiled.rules:
        for name in where_fields(rule.rule):
            if name in types:
                out[name] = types[name]
    return out


def _column(name: str) -> str:
    """The tally's column of a field a filter reads: a built-in one's own, a declared one's ``f:NAME``."""
    return name if name in BUILTIN_WHERE else f"f:{name}"


class RecordColumns:
    """The used records as columns, row number = reading order; their participants and tags as long tables.
    Records that name people not on the roster are also kept as objects (they are few, and a taint reports
    them with their file and line).

    With `ranges` (organisation id -> number of its range, ascending with the id), past `limits.rows` records
    (:data:`SPILL_ROWS`) the blocks go to a file per range in a temporary folder (under `folder`, or the
    system's), each record with its row number: memory no longer grows with the records. :meth:`groups` gives
    them back a few ranges at a time; :meth:`close` removes the files."""

    def __init__(
        self,
        ranges: dict[str, int] | None = None,
        folder: str | Path | None = None,
        limits: SpillLimits | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        # (`fields`: the declared record fields to keep, name -> type: see read_fields)
        self.fields = fields or {}
        self.schema: dict[str, pl.DataType] = {
            **_RECORDS,
            **{f"f:{name}": _FIELD_DTYPES[kind] for name, kind in self.fields.items()},
        }
        self.blocks: list[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] = []
        self.pending: list[Rec] = []
        self.sources: list[str] = []
        self._source_index: dict[str, int] = {}
        self.with_unknown: dict[int, Rec] = {}  # row -> record
        self.rows = 0
        self.ranges = ranges
        self.folder = folder
        self.limits = SpillLimits.current() if limits is None else limits
        self.held = 0  # rows in `blocks`
        self._spill: tempfile.TemporaryDirectory[str] | None = None
        self._files: dict[int, BinaryIO] = {}  # range -> its file (open while records arrive)
        self._range_rows: dict[int, int] = {}  # range -> its records

    @property
    def spilled(self) -> bool:
        return self._spill is not None

    def add(self, rec: Rec) -> None:
        if rec.unknown:
            self.with_unknown[self.rows] = rec
        self.rows += 1
        pending = self.pending
        pending.append(rec)
        if len(pending) >= _FLUSH:
            self._flush()

    def add_frame(self, frame: pl.DataFrame) -> None:
        """Take a block of used records as columns (the layout of
        :data:`rules_engine.load.columnar.RECORD_FRAME`), in reading order, after those taken so far."""
        self._flush()
        n = frame.height
        if not n:
            return
        first = self.rows
        index = self._source_index
        for name in frame.get_column("source").unique(maintain_order=True).to_list():
            if name not in index:
                index[name] = len(self.sources)
                self.sources.append(name)
        unknown = frame.with_row_index("_row", first).filter(pl.col("unknown").list.len() > 0)
        for row, rec in zip(unknown.get_column("_row").to_list(), frame_recs(unknown), strict=True):
            self.with_unknown[row] = rec
        rows = pl.int_range(first, first + n, dtype=pl.UInt32).alias("row")
        records = frame.select(
            *(name for name in _RECORDS if name != "source"),
            pl.col("source").replace_strict(index, return_dtype=pl.UInt32()),
            *self._field_columns(),
        ).select(*self.schema)
        people = frame.select(rows, pl.col("participants").alias("person")).explode("person").drop_nulls("person")
        tags = frame.select(rows, pl.col("tags").alias("tag")).explode("tag").drop_nulls("tag")
        self.rows += n
        self._keep(
            first, records.cast(pl.Schema(self.schema)), people.cast(pl.Schema(_PEOPLE)), tags.cast(pl.Schema(_TAGS))
        )

    def _field_columns(self) -> list[pl.Expr]:
        """The kept declared fields of a block's ``fields`` (JSON) as typed columns (null: the record lacks it)."""
        if not self.fields:
            return []
        as_json = {name: pl.String() if kind == "date" else _FIELD_DTYPES[kind] for name, kind in self.fields.items()}
        decoded = pl.col("fields").str.json_decode(pl.Struct(as_json))
        out = []
        for name, kind in self.fields.items():
            value = decoded.struct.field(name)
            if kind == "date":
                value = value.str.to_date("%Y-%m-%d")
            out.append(value.alias(f"f:{name}"))
        return out

    def _flush(self) -> None:
        recs, self.pending = self.pending, []
        if not recs:
            return
        first = self.rows - len(recs)
        index = self._source_index
        for rec in recs:
            if rec.source not in index:
                index[rec.source] = len(self.sources)
                self.sources.append(rec.source)
        columns = {
            "id": [r.id for r in recs],
            "org": [r.org for r in recs],
            "type": [r.type for r in recs],
            "date": [r.date for r in recs],
            "chair": [r.chair for r in recs],
            "portfolio": [r.portfolio for r in recs],
            "source": [index[r.source] for r in recs],
            "line": [r.line for r in recs],
        }
        for name, kind in self.fields.items():
            values = [None if r.fields is None else r.fields.get(name) for r in recs]
            columns[f"f:{name}"] = [None if v is None else list(v) for v in values] if kind == "people" else values
        people = {
            "row": [i for i, r in enumerate(recs, first) for _ in r.participants],
            "person": [p for r in recs for p in r.participants],
        }
        tags = {"row": [i for i, r in enumerate(recs, first) for _ in r.tags], "tag": [t for r in recs for t in r.tags]}
        self._keep(
            first,
            pl.DataFrame(columns, schema=self.schema),
            pl.DataFrame(people, schema=_PEOPLE),
            pl.DataFrame(tags, schema=_TAGS),
        )

    def _keep(self, first: int, records: pl.DataFrame, people: pl.DataFrame, tags: pl.DataFrame) -> None:
        """A block of rows from `first` on: held, or filed by range once the run holds too many."""
        if self._spill is None:
            self.blocks.append((records, people, tags))
            self.held += records.height
            if self.ranges is None or self.held <= self.limits.rows:
                return
            self._spill = tempfile.TemporaryDirectory(prefix="rules-engine-spill-", dir=self.folder)
            blocks, self.blocks, self.held = self.blocks, [], 0
            start = 0
            for block in blocks:  # (the blocks held so far: rows from 0 on, in order)
                self._file(start, *block)
                start += block[0].height
            return
        self._file(first, records, people, tags)

    def _file(self, first: int, records: pl.DataFrame, people: pl.DataFrame, tags: pl.DataFrame) -> None:
        """A block's rows appended to the files of their ranges: its records with their row numbers (``row``),
        their participants and tags, each an Arrow IPC stream after its length."""
        assert self.ranges is not None and self._spill is not None
        n = records.height
        codes = records.get_column("org").replace_strict(self.ranges, default=0, return_dtype=pl.UInt32)
        numbered = records.with_columns(
            pl.int_range(first, first + n, dtype=pl.UInt32, eager=True).alias("row"), codes.alias("_range")
        )
        people = people.with_columns(codes.gather(people.get_column("row") - first).alias("_range"))
        tags = tags.with_columns(codes.gather(tags.get_column("row") - first).alias("_range"))
        by_people = people.partition_by("_range", as_dict=True, include_key=False)
        by_tags = tags.partition_by("_range", as_dict=True, include_key=False)
        for key, part in numbered.partition_by("_range", as_dict=True, include_key=False).items():
            number = int(key[0])
            out = self._files.get(number)
            if out is None:
                out = self._files[number] = open(Path(self._spill.name) / f"{number}.arrows", "ab")  # noqa: SIM115
            self._range_rows[number] = self._range_rows.get(number, 0) + part.height
            empty_people, empty_tags = people.clear().drop("_range"), tags.clear().drop("_range")
            for frame in (part, by_people.get(key, empty_people), by_tags.get(key, empty_tags)):
                buffer = io.BytesIO()
                frame.write_ipc_stream(buffer, compression="uncompressed")
                out.write(len(buffer.getbuffer()).to_bytes(8, "little"))
                out.write(buffer.getbuffer())

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Every record taken so far (row number = reading order), their participants and their tags (held in
        memory: not for a spilled run)."""
        self._flush()
        assert self._spill is None, "a spilled run's records are read back by groups()"
        if not self.blocks:
            return pl.DataFrame(schema=self.schema), pl.DataFrame(schema=_PEOPLE), pl.DataFrame(schema=_TAGS)
        if len(self.blocks) > 1:
            records, people, tags = zip(*self.blocks, strict=True)
            self.blocks = [(pl.concat(records), pl.concat(people), pl.concat(tags))]
        return self.blocks[0]

    def groups(
        self, only: Collection[int] | None = None
    ) -> Iterator[tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.Series | None]]:
        """The records a group of whole organisations at a time: records (in reading order), participants and
        tags (``row``: the position in the group), and each record's row number in the run (None: the group is
        every record, row number = position). Held in memory: one group; spilled: consecutive ranges of about
        :data:`GROUP_RECORDS` records, read back from their files (with `only`, of those ranges only)."""
        self._flush()
        if self._spill is None:
            assert only is None, "ranges are read back from a spilled run only"
            yield (*self.frames(), None)
            return
        for out in self._files.values():
            out.close()
        self._files = {}
        folder = Path(self._spill.name)
        group: list[int] = []
        held = 0
        numbers = sorted(self._range_rows if only is None else set(self._range_rows).intersection(only))
        for i, number in enumerate(numbers):
            group.append(number)
            held += self._range_rows[number]
            if held >= self.limits.group or i == len(numbers) - 1:
                yield self._read_group(folder, group)
                group, held = [], 0

    def range_groups(self) -> list[list[int]] | None:
        """A spilled run's ranges (all of them, ascending: contiguous runs of organisations in id order) cut into
        groups of about `limits.rows` records each (at least one range a group), to be tallied, decided and
        written one group at a time; None when the records are held in memory (one group)."""
        self._flush()
        if self._spill is None or self.ranges is None:
            return None
        groups: list[list[int]] = [[]]
        held = 0
        for number in range(max(self.ranges.values(), default=0) + 1):
            if groups[-1] and held >= self.limits.rows:
                groups.append([])
                held = 0
            groups[-1].append(number)
            held += self._range_rows.get(number, 0)
        return groups

    @staticmethod
    def _read_group(
        folder: Path, numbers: list[int]
    ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.Series | None]:
        parts: tuple[list[pl.DataFrame], list[pl.DataFrame], list[pl.DataFrame]] = ([], [], [])
        for number in numbers:
            with open(folder / f"{number}.arrows", "rb") as handle:
                data = handle.read()
            at = 0
            kind = 0
            while at < len(data):
                size = int.from_bytes(data[at : at + 8], "little")
                parts[kind].append(pl.read_ipc_stream(io.BytesIO(data[at + 8 : at + 8 + size])))
                at += 8 + size
                kind = (kind + 1) % 3
            del data
        records = pl.concat(parts[0], rechunk=True).sort("row")  # (ranges interleave in reading order)
        rows = records.get_column("row")
        people, tags = (pl.concat(part, rechunk=True) for part in parts[1:])
        people, tags = (
            frame.with_columns(row=rows.search_sorted(frame.get_column("row")).cast(pl.UInt32))
            for frame in (people, tags)
        )
        return records.drop("row"), people, tags, rows

    def close(self) -> None:
        """The blocks dropped and any spilled files removed."""
        for out in self._files.values():
            out.close()
        self._files = {}
        self.blocks, self.held = [], 0
        if self._spill is not None:
            self._spill.cleanup()
            self._spill = None


def org_ranges(index: RosterIndex, orgs: Collection[str] | None, count: int) -> dict[str, int]:
    """The organisations (`orgs`, else all of the roster) sorted by id and cut into `count` contiguous ranges of
    about equal weight (an organisation weighs 1 + its posts): organisation id -> number of its range."""
    ids = sorted(index.orgs if orgs is None else orgs)
    weights = [1 + len(index.holders.get(org, ())) for org in ids]
    total = max(1, sum(weights))
    out: dict[str, int] = {}
    done = 0
    for org, weight in zip(ids, weights, strict=True):
        out[org] = min(count - 1, done * count // total)
        done += weight
    return out


class Counter:
    """Collects the used records as columns and starts the duties of trigger records as they arrive; `finish`
    tallies every obligation of the ledger (planned, and started by triggers) against the records, as columns."""

    def __init__(
        self,
        compiled: CompiledRules,
        index: RosterIndex,
        period: Period,
        ledger: Ledger,
        max_evidence: int = MAX_EVIDENCE,
        orgs: Collection[str] | None = None,
        folder: str | Path | None = None,
        limits: SpillLimits | None = None,
    ) -> None:
        self.compiled = compiled
        self.index = index
        self.period = period
        self.max_evidence = max_evidence
        self.ledger = ledger
        # (`orgs`: the organisations whose records it is handed, all by default; `folder`: where the records go
        # past the limits' rows, the system's temporary folder by default)
        limits = SpillLimits.current() if limits is None else limits
        self.records = RecordColumns(org_ranges(index, orgs, limits.ranges), folder, limits, read_fields(compiled))
        self.trigger_obligations: list[Obligation] = []
        self.taints: list[BadRow] = []
        self.tallied: Tallied | None = None  # the evidence and rejected candidates, as columns (after finish)
        self.triggers = compiled.trigger_types
        self._bad_triggers: set[tuple[int, str, str]] = set()

    def add(self, rec: Rec) -> None:
        """Take a used record, in reading order (input order across files)."""
        self.records.add(rec)
        rules = self.triggers.get(rec.type)
        if rules:
            for rule in rules:
                self._trigger(rule, rec)

    def add_frame(self, frame: pl.DataFrame) -> None:
        """Take a block of used records as columns (:data:`rules_engine.load.columnar.RECORD_FRAME`), in reading
        order; the few of a trigger type start their duties one by one, as :meth:`add` does."""
        self.records.add_frame(frame)
        triggers = self.triggers
        if triggers:
            started = frame.filter(pl.col("type").is_in(list(triggers)))
            for rec in frame_recs(started):
                for rule in triggers[rec.type]:
                    self._trigger(rule, rec)

    def add_bad(self, row: BadRow) -> None:
        self.taints.append(row)
        org = self.index.orgs.get(row.org or "")
        if org is None or row.type is None:
            return
        for rule in self.compiled.trigger_types.get(row.type, ()):
            in_period = row.date is None or self.period.contains(row.date)
            label = row.record_id or f"{row.source}:{row.line}"
            applies = org.kind in rule.rule.org_kinds and self.index.applicable(rule, org, self.period)
            if applies and in_period and (rule.index, org.id, label) not in self._bad_triggers:
                # the duty this row would have started cannot be judged: say so instead of staying silent
                self._bad_triggers.add((rule.index, org.id, label))
                self.trigger_obligations.append(
                    Obligation(rule, org, "record", label, label, self.period, self.period, unk="bad_trigger")
                )

    def _trigger(self, rule: CompiledRule, rec: Rec) -> None:
        org = self.index.orgs.get(rec.org)
        spec = rule.rule
        if org is None or org.kind not in spec.org_kinds or not self.period.contains(rec.date):
            return
        if not self.index.applicable(rule, org, self.period):  # (the plan has its not-applicable finding)
            return
        assert spec.trigger is not None
        refs: Refs = {"secretary": self.index.secretary_on(rec.org, rec.date)}
        if _why_not(spec.trigger, rec, refs, None, rule.trigger_where) is not None:
            return
        days = rule.params.within_days or 0
        window = Period(rec.date, rec.date + dt.timedelta(days=days), f"{rec.date.isoformat()}+{days}d")
        judged, why = clip_window(rule, window, None)
        self.trigger_obligations.append(
            Obligation(rule, org, "record", rec.id, rec.id, window, judged, trigger=rec.id, na=why)
        )

    def finish(self, ranges: Collection[int] | None = None) -> int:
        """Add the obligations started by trigger records to the ledger, then tally every row that can be judged,
        planned or started by a trigger record (a trigger's own record is not its follow-up); returns the number
        of obligations triggers started.

        With `ranges` (a group of :meth:`range_groups`), only the records of those ranges are read back: the
        ledger (:attr:`ledger`) then holds the rows of their organisations only, and so do the trigger
        obligations (:meth:`split_triggers`); the records stay for the other groups (:meth:`close` when done).
        Without, every record, and they are let go."""
        ledger = self.ledger
        ledger.add(self.trigger_obligations)
        started, self.trigger_obligations = len(self.trigger_obligations), []  # (rows of the ledger now)
        self.tallied = None
        judged = ledger.judged_rows(texts=False)
        if judged.height:
            tally = _Tally(self.compiled, self.index, self.records, ledger, judged, self.max_evidence, ranges)
            del judged  # (the tally keeps the columns it reads)
            tally.run()
            self.tallied = tally.tallied
            if tally.counted:
                ledger.set_tally(pl.concat(tally.counted))
            ledger.mark_taints(tally.taints)
        if ranges is None:
            self.close()  # (tallied: what the findings need of the records is in `self.tallied`)
        return started

    def range_groups(self) -> list[list[int]] | None:
        """The groups of ranges a spilled run is concluded by (:meth:`RecordColumns.range_groups`), None: one."""
        return self.records.range_groups()

    def split_triggers(self, groups: list[list[int]]) -> list[list[Obligation]]:
        """The obligations trigger records started (:attr:`trigger_obligations`), by group of ranges (`groups`,
        :meth:`range_groups`), in the order started; taken out of this counter."""
        ranges = self.records.ranges
        assert ranges is not None
        group_of = {number: g for g, numbers in enumerate(groups) for number in numbers}
        out: list[list[Obligation]] = [[] for _ in groups]
        for ob in self.trigger_obligations:
            out[group_of[ranges[ob.org.id]]].append(ob)
        self.trigger_obligations = []
        return out

    def close(self) -> None:
        """The records let go (and their files removed)."""
        self.records.close()
        self.records = RecordColumns()

    def attach_taints(self) -> None:
        """Mark the rows (with a judged window) that a rejected row could have evidenced: same organisation or
        unknown, a type the rule counts or unknown, a date in the row's period or unknown."""
        if not self.taints:
            return
        ledger = self.ledger
        rows = ledger.judged(applicable=False, texts=False)
        if rows.height == 0:
            return
        known_types = self.compiled.ruleset.record_types()
        taints = pl.DataFrame(
            {
                "t": range(len(self.taints)),
                "org_id": [row.org if row.org in self.index.orgs else None for row in self.taints],
                "type": [row.type if row.type is not None and row.type in known_types else None for row in self.taints],
                "date": [row.date for row in self.taints],
            },
            schema={"t": pl.UInt32, "org_id": pl.String, "type": pl.String, "date": pl.Date},
        )
        types = pl.DataFrame(
            [(i, name) for i, rule in ledger.rules.items() if rule.rule.match for name in rule.match.types],
            schema={"rule": pl.UInt32, "type": pl.String},
            orient="row",
        ).with_columns(fits=pl.lit(True))
        keys = rows.select("key", "org_id", "rule", "p_start", "p_end")
        own = keys.join(taints.filter(pl.col("org_id").is_not_null()), on="org_id").with_columns(g=pl.lit(0))
        anywhere = keys.join(taints.filter(pl.col("org_id").is_null()).drop("org_id"), how="cross")
        found = (
            pl.concat([own.drop("org_id"), anywhere.drop("org_id").with_columns(g=pl.lit(1))])
            .join(types, on=["rule", "type"], how="left")
            .filter(pl.col("type").is_null() | pl.col("fits").fill_null(False))
            .filter(pl.col("date").is_null() | pl.col("date").is_between(pl.col("p_start"), pl.col("p_end")))
            .sort("key", "g", "t")
        )
        taint = self.taints
        pairs = zip(found.get_column("key").to_list(), found.get_column("t").to_list(), strict=True)
        ledger.mark_taints((key, taint[t]) for key, t in pairs)


class Tallied:
    """The evidence ids and the rejected candidates of the tallied rows of a ledger (a row's ``tally`` column is
    its number here; `keys`: the ledger key of each number), as columns: made into lists for the objects the
    ledger makes (:meth:`fill`) when Python asks for them (:func:`rules_engine.findings.finding_dict`), or read as
    JSON by the JSON writers (:class:`rules_engine.finding_lines.JsonLists`). `ids`: the ids of the records
    they name, once a chunk (not every record's); their ``row`` is a position in `ids`."""

    def __init__(
        self,
        ledger: Ledger,
        keys: pl.Series,
        ids: pl.Series,
        evidence: pl.DataFrame | None,
        rejected: pl.DataFrame | None,
        whys: list[Why],
    ) -> None:
        self.ledger, self.keys = ledger, keys
        self.ids, self.evidence, self.rejected, self.whys = ids, evidence, rejected, whys
        self.filled = False
        self._about: pl.DataFrame | None = None

    def about_frame(self) -> pl.DataFrame:
        """The rule (index), judged window (code into the ledger's periods) and portfolio area of the tallied rows,
        by tally number (what their rejected candidates' reasons name)."""
        if self._about is None:  # (once: the tallied rows in tally order)
            order = pl.DataFrame({"key": self.keys.cast(pl.UInt32)})
            self._about = order.join(
                self.ledger.table.select("key", "rule", "window", "portfolio"),
                on="key",
                how="left",
                maintain_order="left",
            ).drop("key")
        return self._about

    def about(self, i: int) -> tuple[CompiledRule, Period, str | None]:
        """The rule, judged window and portfolio area of the row of tally number `i`."""
        rule, window, area = self.about_frame().row(i)
        return self.ledger.rules[rule], self.ledger.periods.items[window], area

    def fill(self) -> None:
        """Make the evidence ids and the rejected candidates lists, by tally number (once), for the ledger's
        objects."""
        if self.filled:
            return
        self.filled = True
        ids = self.ids
        lists: dict[int, Lists] = {}
        if self.evidence is not None:
            evidence = self.evidence.with_columns(id=ids.gather(self.evidence.get_column("row")))
            grouped = evidence.group_by("ob", maintain_order=True).agg("id")
            for i, found in zip(grouped.get_column("ob").to_list(), grouped.get_column("id").to_list(), strict=True):
                lists[i] = (found, None)
        if self.rejected is not None:
            whys = self.whys
            rejected = self.rejected.with_columns(id=ids.gather(self.rejected.get_column("row")))
            grouped = rejected.group_by("ob", maintain_order=True).agg("id", "why")
            for i, found, keys in zip(
                grouped.get_column("ob").to_list(),
                grouped.get_column("id").to_list(),
                grouped.get_column("why").to_list(),
                strict=True,
            ):
                lists[i] = (lists.get(i, (None, None))[0], (found, [whys[k] for k in keys]))
        self.ledger.fill(lists)


_EMPTY = (pl.DataFrame(schema=_RECORDS), pl.DataFrame(schema=_PEOPLE), pl.DataFrame(schema=_TAGS))

_OBLIGATIONS: dict[str, pl.DataType] = {
    "org": pl.String(),
    "rule": pl.Int64(),
    "kind": pl.String(),
    "subject": pl.String(),  # the person a rule's "subject" names (person and portfolio subjects only)
    "first": pl.String(),
    "second": pl.String(),
    "area": pl.String(),
    "trigger": pl.String(),
    "p_start": pl.Date(),  # the calendar window (or a trigger's window): where candidates come from
    "p_end": pl.Date(),
    "w_start": pl.Date(),  # the judged window: a candidate outside is rejected as "outside"
    "w_end": pl.Date(),
}
# why codes by what follows the code in the tuple (see texts.describe): nothing, one detail, two details
_ARITY = {"participant": 2, "portfolio": 2, "chair": 3, "attendance": 3, "quorum": 3, "where": 3, "lacks": 2}


class _Tally:
    """Candidates by equi-joins on each subject kind's match keys, the rule's conditions as expressions, then
    count, evidence, rejected candidates and taints. Run a chunk of organisations at a time (about
    :data:`CHUNK_RECORDS` records each; an organisation's records and obligations never span two chunks, and
    nothing reads across organisations), so that the joins' intermediates are bounded by a chunk, not the run.
    The tally numbers (``ob.row``) run over the chunks in order; rows are reading order throughout."""

    def __init__(
        self,
        compiled: CompiledRules,
        index: RosterIndex,
        records: RecordColumns,
        ledger: Ledger,
        judged: pl.DataFrame,
        max_evidence: int,
        ranges: Collection[int] | None = None,
    ) -> None:
        self.rules = {rule.index: rule for rule in compiled.rules}
        self.ranges = ranges  # (a spilled run's records of these ranges only; None: every record)
        self.index = index
        self.columns = records
        self.ledger = ledger
        # the ledger's rows to tally (Ledger.judged_rows: numbers only; a chunk's get their texts from the ledger,
        # Ledger.matched, and dates, Ledger.dated), and their positions
        # sorted by organisation id (``at``, with the organisation's rank ``r``): a group's rows are a slice of them
        self.table = judged
        self._rank = {org_id: i for i, org_id in enumerate(sorted({org.id for org in ledger.orgs}))}
        ranks = pl.Series([self._rank[org.id] for org in ledger.orgs], dtype=pl.UInt32)
        self._by_org = pl.DataFrame({"r": ranks.gather(judged.get_column("org"))}).with_row_index("at").sort("r", "at")
        self.max_evidence = max_evidence
        self.tallied: Tallied | None = None
        self._terms: pl.DataFrame | None = None
        # the people of the roster as an enumeration: who took part in a chunk's records as one integer per row and
        # person (:func:`_took_key`), looked up with ``is_in`` (the participants not on the roster are never wanted)
        self._persons = pl.Enum(list(index.people))
        self._took = pl.Series(dtype=pl.UInt64)
        # the chunk being tallied: its records (row = position in the chunk), their participants and tags, its
        # obligations (ob = position in the frame), and each of its rows' number in the whole run
        self.records, self.people, self.tags = _EMPTY
        self.obs = _obligation_table(ledger.dated(ledger.matched(judged.clear())))
        self.rows = pl.Series(dtype=pl.UInt32)
        # what the chunks found, in tally order: the ledger keys, their counts and tally numbers, the taints
        self._order: list[pl.Series] = []  # (ledger keys, a chunk's at a time)
        self._tallied = 0  # rows in `_order`
        self.counted: list[pl.DataFrame] = []
        self.taints: list[tuple[int, BadRow]] = []
        self._evidence: list[pl.DataFrame] = []
        self._rejected: list[pl.DataFrame] = []
        self._ids: list[pl.Series] = [pl.Series(dtype=pl.String)]  # the ids the evidence and rejected name (their row)
        self._kept = 0  # ids in `_ids`
        self._whys: dict[tuple[str, str, str], int] = {}

    def run(self) -> None:
        for records, people, tags, numbers in self.columns.groups(self.ranges):
            self._group(records, people, tags, numbers)
        self.records, self.people, self.tags = _EMPTY
        self.obs = self.obs.clear()
        self.table, self._by_org = self.table.clear(), self._by_org.clear()
        if not self._tallied:
            return
        whys = [(code, d1, d2)[: _ARITY.get(code, 1)] for code, d1, d2 in self._whys]
        ids, evidence, rejected = self._ids, self._evidence, self._rejected
        self._ids, self._evidence, self._rejected = [], [], []  # (the parts let go as they are joined)
        self.tallied = Tallied(
            self.ledger,
            pl.concat(self._order),
            pl.concat(ids),  # (not copied into one buffer: the parts and the whole are not held at once)
            _joined(evidence) if evidence else None,
            _joined(rejected) if rejected else None,
            whys,
        )

    def _group(
        self,
        records: pl.DataFrame,
        all_people: pl.DataFrame,
        all_tags: pl.DataFrame,
        numbers: pl.Series | None,
    ) -> None:
        """Tally the records of a group of whole organisations (all, or some ranges of a spilled run), a chunk at a
        time; `numbers`: each record's row number in the run (None: its position). The group's obligations are the
        slice of the table between its first and its last organisation."""
        if records.height == 0:
            return
        sizes = records.get_column("org").value_counts().sort("org")
        known = [self._rank[org] for org in sizes.get_column("org").to_list() if org in self._rank]
        if not known:
            return
        ranks = self._by_org.get_column("r")
        low, high = ranks.search_sorted(known[0], "left"), ranks.search_sorted(known[-1], "right")
        table = self.table[self._by_org.get_column("at").slice(low, high - low).sort()]
        orgs = self.ledger.orgs
        wanted = {orgs[code].id for code in table.get_column("org").unique().to_list()}
        chunk_of: dict[str, int] = {}
        chunks = 0
        held = 0
        for org, n in zip(*(sizes.get_column(c).to_list() for c in sizes.columns), strict=True):
            if org not in wanted:
                continue  # records no obligation looks at
            if not chunks or held + n > CHUNK_RECORDS:
                chunks += 1
                held = 0
            held += n
            chunk_of[org] = chunks - 1
        if not chunks:
            return
        codes = records.get_column("org").replace_strict(chunk_of, default=None, return_dtype=pl.UInt32)
        people_codes = codes.gather(all_people.get_column("row"))
        tag_codes = codes.gather(all_tags.get_column("row"))
        code_of = {self.ledger.org_code(org): chunk for org, chunk in chunk_of.items()}
        table_codes = table.get_column("org").replace_strict(code_of, default=None, return_dtype=pl.UInt32)
        parts = table.with_columns(table_codes.alias("_chunk")).partition_by("_chunk", as_dict=True, include_key=False)
        del table, table_codes
        for number in range(chunks):
            mine = codes == number
            rows = mine.arg_true().cast(pl.UInt32)
            self.rows = rows if numbers is None else numbers.gather(rows)
            self.obs = _obligation_table(self.ledger.dated(self.ledger.matched(parts.pop((number,)))))
            self.records = records.filter(mine)
            self.people = self._local(all_people.filter(people_codes == number), rows)
            self.tags = self._local(all_tags.filter(tag_codes == number), rows)
            took = _took_key(pl.col("row"), pl.col("person").cast(self._persons, strict=False))
            self._took = self.people.select(took).to_series().drop_nulls()
            self._chunk()

    @staticmethod
    def _local(frame: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
        """A long table's rows renumbered to positions in the chunk (`rows`: the chunk's rows, ascending)."""
        return frame.with_columns(row=rows.search_sorted(frame.get_column("row")).cast(pl.UInt32))

    def _chunk(self) -> None:
        table = self.obs
        candidates = self._candidates(table)
        if candidates.height == 0:
            return
        judged = self._judge(candidates, table)
        self._write(judged, table)

    def _candidates(self, table: pl.DataFrame) -> pl.DataFrame:
        """(ob, row, rule, date) for every record an obligation looks at: its organisation, one of its rule's
        types, dated in its calendar window; a pair only at records its second person took part in, a
        portfolio holder only at records the holder took part in or of the portfolio area; a trigger's own
        record excluded. A calendar window (a year, half-year, quarter or month) is a join key too: the
        start of the window of that length a record's date falls in; other windows (triggers') are ranges."""
        rules = self.rules.values()
        types = pl.DataFrame(
            [(rule.index, name) for rule in rules if rule.rule.match for name in rule.match.types],
            schema={"rule": pl.Int64, "type": pl.String},
            orient="row",
        )
        steps = pl.DataFrame(
            [(rule.index, rule.params.period.months) for rule in rules if rule.params.period is not None],
            schema={"rule": pl.Int64, "step": pl.Int32},
            orient="row",
        )
        start, end = _window(pl.col("p_start"), pl.col("step"))
        calendar = pl.col("trigger").is_null() & (pl.col("p_start") == start) & (pl.col("p_end") == end)
        keys = (
            table.select("ob", "org", "rule", "kind", "subject", "second", "area", "p_start", "p_end", "trigger")
            .join(steps, on="rule", how="left")
            .with_columns(step=pl.when(calendar).then(pl.col("step")))
            .drop("trigger")
            .join(types, on="rule")
        )
        records = self.records.select("org", "type", "portfolio", "date").with_row_index("row")
        narrowed = keys.filter(pl.col("kind").is_in(["pair", "portfolio"])).select("org", "type").unique()
        people = self.people.join(
            records.join(narrowed, on=["org", "type"]).select("row", "org", "type", "date"), on="row"
        )
        found = []
        for (step,), group in keys.partition_by("step", as_dict=True).items():
            if step is None:  # a range: joined on the other keys, then filtered by date
                joined = _join(group, records, people, [])
                found.append(joined.filter(pl.col("date").is_between(pl.col("p_start"), pl.col("p_end"))))
                continue
            window = _window(pl.col("date"), pl.lit(step))[0].alias("p_start")
            found.append(_join(group, records.with_columns(window), people.with_columns(window), ["p_start"]))
        candidates = pl.concat([part.select("ob", "row", "rule", "date") for part in found])
        triggers = table.filter(pl.col("trigger").is_not_null()).select("ob", "trigger")
        if triggers.height:  # a trigger's own record is not its follow-up
            own = triggers.join(self.records.select("id").with_row_index("row"), left_on="trigger", right_on="id")
            candidates = candidates.join(own.select("ob", "row"), on=["ob", "row"], how="anti")
        return candidates

    def _judge(self, candidates: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
        """Every candidate with its why code (null: it counts) and the code's details."""
        flags = self._roster_flags(candidates)
        parts = []
        for (rule_index,), part in candidates.partition_by("rule", as_dict=True).items():
            rule = self.rules[int(rule_index)]
            match = rule.match
            need = [name for name in ("chair", "portfolio") if getattr(match, name) is not None]
            refs = {match.chair, *match.participants, *_where_refs(rule.where)}
            used = ["w_start", "w_end", *(name for name in ("first", "second") if name in refs)]
            used += ["kind", "subject"] if "subject" in refs else []
            used += ["area"] if match.portfolio is not None else []
            rows = part.get_column("row")
            part = part.with_columns(
                *_gather(table, part.get_column("ob"), *used),
                *[self.records.get_column(name).gather(rows) for name in need],
            )
            if match.tags_any:
                tagged = self.tags.filter(pl.col("tag").is_in(match.tags_any)).get_column("row")
                part = _flag(part, tagged.unique(), "tags_any")
            if match.tags_all:
                wanted = set(match.tags_all)
                found = self.tags.filter(pl.col("tag").is_in(wanted)).group_by("row").len()
                tagged = found.filter(pl.col("len") == len(wanted)).get_column("row")
                part = _flag(part, tagged, "tags_all")
            for ref in dict.fromkeys(match.participants):  # took part: the row and the person in `people`
                if ref == "secretary":
                    continue
                if ref == "second" and rule.rule.subject is SubjectKind.pair:  # (a pair's candidates were found
                    part = part.with_columns(took_second=pl.lit(True))  # by its second person among the participants)
                    continue
                took = _took_key(pl.col("row"), _person(ref).cast(self._persons, strict=False)).is_in(among(self._took))
                part = part.with_columns(took.fill_null(False).alias(f"took_{ref}"))
            if flags is not None and (rule.uses_secretary or rule.rule.attendance):
                part = part.join(flags, on="row", how="left")
            quorum = quorum_of(rule)
            if rule.where or (quorum is not None and not quorum.v1):
                part = self._field_flags(part, rule, quorum)
            code, first, second = _reasons(rule)
            parts.append(part.select("ob", "row", code.alias("code"), first.alias("d1"), second.alias("d2")))
        return pl.concat(parts).sort("ob", "row")  # reading order within each obligation

    def _field_flags(self, part: pl.DataFrame, rule: CompiledRule, quorum: QuorumSpec | None) -> pl.DataFrame:
        """`part` (a rule's candidates) with what its ``where`` and its quorum read: the fields' columns, whether a
        person field is (a people field includes) a secretary on the record's date, and for a quorum the
        members of its body on that date (``q_n``) and how many of them attended (``q_present``)."""
        rows = part.get_column("row")
        names = list(dict.fromkeys(_column(test.field) for test in rule.where))
        if quorum is not None and quorum.attendees != "participants":
            names.append(_column(quorum.attendees))
        names = [name for name in dict.fromkeys(names) if name not in part.columns]
        part = part.with_columns(*[self.records.get_column(name).gather(rows) for name in names])
        wanted = sorted({test.field for test in rule.where if _names_secretary(test)})
        unique = rows.unique()
        for name in wanted:
            found = self._secretary_in(unique, _column(name))
            part = _flag(part, found, f"sec:{name}")
        if quorum is not None and not quorum.v1:
            part = part.join(self._quorum_flags(unique, quorum), on="row", how="left").with_columns(
                pl.col("q_n", "q_present").fill_null(0)
            )
        return part

    def _terms_frame(self) -> pl.DataFrame:
        """Every post of the roster: (org, person, sec, role, start, end); once per roster index."""
        terms = self._terms
        if terms is None:
            terms = self._terms = terms_frame(self.index)
        return terms

    def _named(self, rows: pl.Series, column: str) -> pl.DataFrame:
        """(row, org, date, person) for the people a person or people column names at the chunk's `rows`."""
        picked = self.records.select("org", "date", pl.col(column).alias("person")).with_row_index("row")[rows]
        if isinstance(picked.schema["person"], pl.List):
            picked = picked.explode("person")
        return picked.drop_nulls("person")

    def _secretary_in(self, rows: pl.Series, column: str) -> pl.Series:
        """The `rows` whose person column names (people column includes) a secretary of the organisation on the
        record's date."""
        terms = self._terms_frame().filter("sec")
        in_post = pl.col("date").is_between(pl.col("start"), pl.col("end"))
        found = self._named(rows, column).join(terms, on=["org", "person"]).filter(in_post)
        return found.get_column("row").unique()

    def _group_frame(self, group: str) -> pl.DataFrame:
        """The members of a vocabulary group in every organisation, with their terms: (org, person, start, end)."""
        return pl.DataFrame(
            [
                (org, person.id, start, end or dt.date.max)
                for org in self.index.orgs
                for person, start, end, _role in self.index.group_terms(org, group)
            ],
            schema={"org": pl.String, "person": pl.String, "start": pl.Date, "end": pl.Date},
            orient="row",
        )

    def _quorum_flags(self, rows: pl.Series, quorum: QuorumSpec) -> pl.DataFrame:
        """Per record of `rows`: the members of the quorum's body on its date (``q_n``: holders of its roles, or
        of any post) and how many of them are among its attendees (``q_present``)."""
        terms = self._terms_frame() if quorum.group is None else self._group_frame(quorum.group)
        if quorum.roles is not None:
            terms = terms.filter(pl.col("role").is_in(sorted(quorum.roles)))
        in_post = pl.col("date").is_between(pl.col("start"), pl.col("end"))
        recs = self.records.select("org", "date").with_row_index("row")[rows]
        members = recs.join(terms, on="org").filter(in_post).group_by("row").agg(q_n=pl.col("person").n_unique())
        if quorum.attendees == "participants":
            attended = self.people.join(recs, on="row")
        else:
            attended = self._named(rows, _column(quorum.attendees))
        present = (
            attended.select("row", "org", "date", "person")
            .join(terms, on=["org", "person"])
            .filter(in_post)
            .group_by("row")
            .agg(q_present=pl.col("person").n_unique())
        )
        return (
            pl.DataFrame({"row": rows})
            .join(members, on="row", how="left")
            .join(present, on="row", how="left")
            .select("row", pl.col("q_n").cast(pl.Int64), pl.col("q_present").cast(pl.Int64))
        )

    def _roster_flags(self, candidates: pl.DataFrame) -> pl.DataFrame | None:
        """Per candidate record of a rule that names the secretary or counts attendance: whether its chair
        and whether any participant is a secretary on its date, the team on its date and how many of the
        team took part."""
        wanted = [i for i, rule in self.rules.items() if rule.uses_secretary or rule.rule.attendance]
        if not wanted:
            return None
        rows = candidates.filter(pl.col("rule").is_in(wanted)).get_column("row").unique()
        if rows.len() == 0:
            return None
        terms = self._terms_frame()
        recs = self.records.select("org", "date", "chair").with_row_index("row")[rows]
        in_post = pl.col("date").is_between(pl.col("start"), pl.col("end"))
        team = (
            recs.join(terms, on="org")
            .filter(in_post)
            .group_by("row")
            .agg(
                team=pl.col("person").n_unique(),
                sec_chair=(pl.col("sec") & (pl.col("chair") == pl.col("person"))).any(),
            )
        )
        present = (
            self.people.join(recs.select("row", "org", "date"), on="row")
            .join(terms, on=["org", "person"])
            .filter(in_post)
            .group_by("row")
            .agg(present=pl.col("person").n_unique(), sec_part=pl.col("sec").any())
        )
        return (
            pl.DataFrame({"row": rows})
            .join(team, on="row", how="left")
            .join(present, on="row", how="left")
            .with_columns(
                pl.col("team", "present").fill_null(0),
                pl.col("sec_chair", "sec_part").fill_null(False),
            )
        )

    def _write(self, judged: pl.DataFrame, table: pl.DataFrame) -> None:
        """Counts and taints onto the chunk's obligations; the evidence and the rejected candidates kept as
        columns in tally numbers and numbers into the ids they name (`self.tallied` once every chunk is done; a
        chunk's own rows are not kept), onto the obligations only when something asks for them
        (:meth:`Tallied.fill`)."""
        keys, start = self.obs.get_column("key"), self._tallied
        self._order.append(keys)
        self._tallied += keys.len()
        offset = pl.lit(start, dtype=pl.UInt32)
        counting = judged.filter(pl.col("code").is_null())
        counts = counting.group_by("ob").len()
        lacks = judged.filter(pl.col("code") == "lacks").group_by("ob").agg(lack=pl.len())
        self.counted.append(
            pl.DataFrame({"key": keys, "tally": pl.int_range(start, start + keys.len(), dtype=pl.UInt32, eager=True)})
            .with_row_index("ob")
            .join(counts, on="ob", how="left")
            .join(lacks, on="ob", how="left")
            .select(
                "key",
                pl.col("len").fill_null(0).cast(pl.Int64).alias("count"),
                pl.col("lack").fill_null(0).cast(pl.Int64),
                "tally",
            )
        )
        evidence = None
        if self.max_evidence:
            evidence = _first(counting, self.max_evidence).select(pl.col("ob") + offset, "row")
        rejected = None
        failing = judged.filter(pl.col("code").is_not_null())
        if failing.height:
            rejected = _first(failing, MAX_REJECTED).with_columns(pl.col("d1", "d2").fill_null(""))
            reasons = rejected.select("code", "d1", "d2").unique(maintain_order=True)
            whys = self._whys
            numbers = [
                whys.setdefault(key, len(whys))
                for key in zip(*(reasons.get_column(c).to_list() for c in ("code", "d1", "d2")), strict=True)
            ]
            reasons = reasons.with_columns(why=pl.Series(numbers, dtype=pl.UInt32))
            rejected = rejected.join(reasons, on=["code", "d1", "d2"]).sort("ob", "row")
            rejected = rejected.select(pl.col("ob") + offset, "row", "why")
        named = [frame for frame in (evidence, rejected) if frame is not None and frame.height]
        if named:  # the ids of the records they name, kept; their rows made numbers into those ids
            used = pl.concat([frame.get_column("row") for frame in named]).unique().sort()
            self._ids.append(self.records.get_column("id").gather(used))
            at = pl.lit(self._kept, dtype=pl.UInt32)
            self._kept += used.len()
            renumbered = [
                frame.with_columns(row=used.search_sorted(frame.get_column("row")).cast(pl.UInt32) + at)
                for frame in named
            ]
            if evidence is not None and evidence.height:
                self._evidence.append(renumbered.pop(0))
            if renumbered:
                self._rejected.append(renumbered[0])
        if failing.height:
            self._taints(failing)
            self._lacking(failing, keys)

    def _lacking(self, failing: pl.DataFrame, keys: pl.Series) -> None:
        """How many candidates of each obligation were set aside for lacking a field a filter reads (onto the
        ledger: the finding's reason says so)."""
        lacks = failing.filter(pl.col("code") == "lacks")
        if lacks.height == 0:
            return
        found = lacks.group_by("ob").agg(pl.len().alias("n"), pl.col("d1").unique().sort().str.join(", "))
        for ob, n, names in found.iter_rows():
            self.ledger.lacking[int(keys[ob])] = (n, names)

    def _taints(self, failing: pl.DataFrame) -> None:
        """A candidate rejected on who took part while naming someone not on the roster whose id looks like
        the one wanted (a likely typo), and one the roster cannot judge (no team on its date), cast doubt."""
        unknown = self.columns.with_unknown
        local = self.rows.is_in(list(unknown)).arg_true().to_list()  # their rows in the chunk
        doubtful = failing.filter(
            (pl.col("code") == "no_team")
            | (pl.col("code").is_in(["chair", "participant"]) & pl.col("row").is_in(local))
        )
        if doubtful.height == 0:
            return
        records = self.records
        keys = self.obs.get_column("key")
        for i, row, code, d1, d2 in doubtful.select("ob", "row", "code", "d1", "d2").iter_rows():
            key = keys[i]
            if code == "no_team":
                source = self.columns.sources[records.get_column("source")[row]]
                day = records.get_column("date")[row]
                rec_id, org, kind = (records.get_column(name)[row] for name in ("id", "org", "type"))
                taint = BadRow.at(
                    "row.date.no_team",
                    source,
                    records.get_column("line")[row],
                    "date",
                    day.isoformat(),
                    record_id=rec_id,
                    org=org,
                    type=kind,
                    date=day,
                )
            else:
                rec = unknown[self.rows[row]]
                ref = d2 if code == "chair" else d1
                if not looks_like(rec.unknown, _refs(self.ledger.obligation(key), self.index, rec.date).get(ref, ())):
                    continue
                taint = BadRow.at(
                    "row.people.mistyped",
                    rec.source,
                    rec.line,
                    "participants",
                    ", ".join(sorted(rec.unknown)),
                    record_id=rec.id,
                    org=rec.org,
                    type=rec.type,
                    date=rec.date,
                )
            self.taints.append((key, taint))


_TERMS: weakref.WeakKeyDictionary[RosterIndex, pl.DataFrame] = weakref.WeakKeyDictionary()


def terms_frame(index: RosterIndex) -> pl.DataFrame:
    """Every post of the roster of `index`: (org, person, sec, role, start, end); made once per index (a monitor
    tallies a few records at a time against the same roster)."""
    terms = _TERMS.get(index)
    if terms is None:
        terms = _TERMS[index] = pl.DataFrame(
            [
                (org, h.person.id, h.post.role in index.heads, h.post.role, h.post.start, h.post.end or dt.date.max)
                for org, holders in index.holders.items()
                for h in holders
            ],
            schema={
                "org": pl.String,
                "person": pl.String,
                "sec": pl.Boolean,
                "role": pl.String,
                "start": pl.Date,
                "end": pl.Date,
            },
            orient="row",
        )
    return terms


def _obligation_table(judged: pl.DataFrame) -> pl.DataFrame:
    """A chunk's rows to tally (:meth:`rules_engine.ledger.Ledger.dated`) as the joins take them (``ob``: the
    position in the chunk)."""
    kind = pl.col("kind")
    return judged.select(
        "key",
        pl.col("org_id").alias("org"),
        pl.col("rule").cast(pl.Int64),
        kind,
        pl.when(kind.is_in(["person", "portfolio"])).then(pl.col("sid")).alias("subject"),  # a pair's is not
        "first",
        "second",
        pl.col("portfolio").alias("area"),
        "trigger",
        "p_start",
        "p_end",
        "w_start",
        "w_end",
    ).with_row_index("ob")


def _joined(parts: list[pl.DataFrame], blocks: int = 16) -> pl.DataFrame:
    """Frames one after another as one frame, each part let go (taken out of `parts`) once copied: the parts are
    copied into about `blocks` blocks of whole columns, one block at a time, and the blocks are the frame's chunks
    (not copied again), so that at most the whole and one block are held, not the parts and the whole."""
    size = max(1, -(-len(parts) // blocks))
    parts.reverse()
    joined = []
    while parts:
        batch = [parts.pop() for _ in range(min(size, len(parts)))]
        joined.append(pl.concat(batch, rechunk=True))
        del batch
    return pl.concat(joined, rechunk=False)


def _window(day: pl.Expr, step: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The first and last day of the calendar window of `step` months (12, 6, 3, 1) that `day` falls in."""
    month = (day.dt.month().cast(pl.Int32) - 1) // step * step
    start = pl.date(day.dt.year(), month + 1, 1)
    after = month + step  # months after January of the year: the next window's start
    end = pl.date(day.dt.year() + after // 12, after % 12 + 1, 1) - pl.duration(days=1)
    return start, end


def _join(keys: pl.DataFrame, records: pl.DataFrame, people: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """Obligations joined to the records they look at: on organisation, type (and `on`); a pair on its
    second person among the participants; a portfolio holder on the holder among them or on the area."""
    kinds = pl.col("kind")
    columns = ["ob", "row", "rule", "date", "p_start", "p_end"]
    left = ["ob", "rule", "org", "type", "p_start", "p_end"]  # (only what the result needs goes into a join)
    right = ["row", "org", "type", "date", *on]
    others = keys.filter(~kinds.is_in(["pair", "portfolio"])).select(left)
    found = [others.join(records.select(right), on=["org", "type", *on]).select(columns)]
    pairs, holders = keys.filter(kinds == "pair"), keys.filter(kinds == "portfolio")
    if pairs.height:
        found.append(
            pairs.select(*left, "second")
            .join(
                people.select(*right, "person"),
                left_on=["org", "type", "second", *on],
                right_on=["org", "type", "person", *on],
            )
            .select(columns)
        )
    if holders.height:
        by_person = holders.select(*left, "subject").join(
            people.select(*right, "person"),
            left_on=["org", "type", "subject", *on],
            right_on=["org", "type", "person", *on],
        )
        by_area = holders.select(*left, "area").join(
            records.select(*right, "portfolio"),
            left_on=["org", "type", "area", *on],
            right_on=["org", "type", "portfolio", *on],
        )
        found.append(pl.concat([by_person.select(columns), by_area.select(columns)]).unique(["ob", "row"]))
    return pl.concat(found)


def _took_key(row: pl.Expr, person: pl.Expr) -> pl.Expr:
    """A row and a person (of the roster's enumeration; null: not on the roster) as one integer."""
    return row.cast(pl.UInt64) * (1 << 32) + person.to_physical().cast(pl.UInt64)


def _first(rows: pl.DataFrame, n: int) -> pl.DataFrame:
    """The first `n` rows of each obligation (`rows` sorted by obligation)."""
    i = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.when(pl.col("ob").ne_missing(pl.col("ob").shift(1))).then(i).forward_fill()
    return rows.filter(i - start < n)


def _flag(part: pl.DataFrame, rows: pl.Series, name: str) -> pl.DataFrame:
    """`part` with a column `name`: whether its row is one of `rows` (distinct)."""
    marked = pl.DataFrame({"row": rows}).with_columns(pl.lit(True).alias(name))
    return part.join(marked, on="row", how="left").with_columns(pl.col(name).fill_null(False))


def _gather(table: pl.DataFrame, index: pl.Series, *names: str) -> list[pl.Series]:
    """Columns of `table` at the row numbers `index` (obligation numbers are row numbers)."""
    return [table.get_column(name).gather(index) for name in names]


def _person(ref: str) -> pl.Expr:
    """The person a reference names for a candidate's obligation (null: nobody): subject, first or second."""
    if ref == "subject":
        return pl.when(pl.col("kind").is_in(["person", "portfolio"])).then(pl.col("subject"))
    return pl.col(ref)


def _reasons(rule: CompiledRule) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """Why a candidate does not count under `rule`, as expressions: the code (null: it counts) and its two
    details, checked in the order of the rule format's documentation (the first failing check is the why).
    Each check is (code, fails, detail, detail): the code leads, as in the reason tuples of :func:`_why_not`
    (its text is ``candidate.<code>`` in :mod:`rules_engine.texts`)."""
    match = rule.match
    checks: list[tuple[str, pl.Expr, pl.Expr | None, pl.Expr | None]] = [
        ("outside", ~pl.col("date").is_between(pl.col("w_start"), pl.col("w_end")), None, None)
    ]
    if match.tags_any:
        checks.append(("tags_any", ~pl.col("tags_any"), None, None))
    if match.tags_all:
        checks.append(("tags_all", ~pl.col("tags_all"), None, None))
    if match.chair is not None:
        if match.chair == "secretary":
            fails = ~pl.col("sec_chair")
        else:
            fails = ~(pl.col("chair") == _person(match.chair)).fill_null(False)
        checks.append(("chair", fails, pl.col("chair").fill_null(""), pl.lit(match.chair)))
    for ref in match.participants:
        fails = ~pl.col("sec_part") if ref == "secretary" else ~pl.col(f"took_{ref}")
        checks.append(("participant", fails, pl.lit(ref), None))
    if match.portfolio == "subject":
        checks.append(
            ("portfolio", pl.col("portfolio").ne_missing(pl.col("area")), pl.col("portfolio").fill_null(""), None)
        )
    fields = [test.field for test in rule.where]
    for i, test in enumerate(rule.where):
        value = pl.col(_column(test.field))
        if test.field not in fields[:i]:  # (a field's first test: a record lacking it is set aside)
            checks.append(("lacks", value.is_null(), pl.lit(test.field), None))
        checks.append(("where", ~_passes(test, value).fill_null(False), pl.lit(test.field), pl.lit(test.shown)))
    quorum = quorum_of(rule)
    if quorum is not None and quorum.v1:
        share = quorum.share
        checks.append(("no_team", pl.col("team") == 0, None, None))
        below = pl.col("present") * share.denominator < pl.col("team") * share.numerator
        ratio = pl.concat_str(pl.col("present"), pl.lit("/"), pl.col("team"))
        checks.append(("attendance", below, ratio, pl.lit(str(share))))
    elif quorum is not None:
        if quorum.attendees != "participants":
            value = pl.col(_column(quorum.attendees))
            checks.append(("lacks", value.is_null(), pl.lit(quorum.attendees), None))
        share = quorum.share
        present, members = pl.col("q_present"), pl.col("q_n")
        p, q = share.numerator, share.denominator  # (exact: in integers, any size)
        met = present * q > members * p if quorum.strict else present * q >= members * p
        checks.append(("no_team", members == 0, None, None))
        ratio = pl.concat_str(present, pl.lit("/"), members)
        checks.append(("quorum", ~met, ratio, pl.lit(quorum.shown)))
    code: pl.Expr = pl.lit(None, dtype=pl.String)
    first: pl.Expr = pl.lit(None, dtype=pl.String)
    second: pl.Expr = pl.lit(None, dtype=pl.String)
    for name, fails, one, two in reversed(checks):  # the first failing check wins: built from the last
        code = pl.when(fails).then(pl.lit(name)).otherwise(code)
        first = pl.when(fails).then(one if one is not None else pl.lit(None, dtype=pl.String)).otherwise(first)
        second = pl.when(fails).then(two if two is not None else pl.lit(None, dtype=pl.String)).otherwise(second)
    return code, first, second


def _where_refs(tests: tuple[Test, ...]) -> set[str]:
    """The references person and people tests name."""
    refs: set[str] = set()
    for test in tests:
        if test.kind in ("person", "people"):
            refs.update(test.operand if isinstance(test.operand, tuple) else (test.operand,))
    return refs


def _names_secretary(test: Test) -> bool:
    """Whether a person or people test names the secretary (who is worked out with the roster's terms)."""
    if test.kind not in ("person", "people"):
        return False
    return "secretary" in (test.operand if isinstance(test.operand, tuple) else (test.operand,))


def _passes(test: Test, value: pl.Expr) -> pl.Expr:
    """Whether a candidate's `value` (present) of the test's field meets it, as an expression (the row path's
    :func:`rules_engine.fields.passes`)."""
    op, operand, kind = test.op, test.operand, test.kind
    if kind in ("person", "people"):
        refs = operand if isinstance(operand, tuple) else (operand,)
        found = []
        for ref in refs:
            if ref == "secretary":
                found.append(pl.col(f"sec:{test.field}"))
            elif kind == "people":
                found.append(value.list.contains(_person(ref)).fill_null(False))
            else:
                found.append((value == _person(ref)).fill_null(False))
        return pl.all_horizontal(found) if kind == "people" else pl.any_horizontal(found)
    if op == "equals":
        return value == pl.lit(operand)
    if op == "in":
        return value.is_in(list(operand))
    if op == "contains":
        return value.str.contains(operand, literal=True)
    if op == "at_least":
        return value >= pl.lit(operand)
    if op == "more_than":
        return value > pl.lit(operand)
    if op == "at_most":
        return value <= pl.lit(operand)
    if op == "less_than":
        return value < pl.lit(operand)
    raise AssertionError(op)


def _refs(ob: Obligation, index: RosterIndex, day: dt.date) -> Refs:
    """The people a record filter can name for this obligation on `day`."""
    refs: Refs = {}
    if ob.subject_kind == "person" or ob.subject_kind == "portfolio":
        refs["subject"] = (ob.subject_id,)
    if ob.first:
        refs["first"] = (ob.first,)
    if ob.second:
        refs["second"] = (ob.second,)
    if ob.rule.uses_secretary:
        refs["secretary"] = index.secretary_on(ob.org.id, day)
    return refs


def looks_like(unknown: frozenset[str], wanted: Collection[str]) -> bool:
    """Whether an id not on the roster is close to one of the ids a filter wanted (a likely typo)."""
    return any(difflib.SequenceMatcher(None, u, w).ratio() >= 0.75 for u in unknown for w in wanted)


def _why_not(
    match: Match, rec: Rec, refs: Refs, portfolio: str | None = None, where: tuple[Test, ...] = ()
) -> Why | None:
    """Why `rec` does not count under `match` (`where`: its ``where`` as tests), as a compact code (None: it
    counts)."""
    if match.tags_any and rec.tags.isdisjoint(match.tags_any):
        return ("tags_any",)
    if match.tags_all and not rec.tags.issuperset(match.tags_all):
        return ("tags_all",)
    if match.chair is not None and (rec.chair is None or rec.chair not in refs.get(match.chair, ())):
        return ("chair", rec.chair or "", match.chair)
    for ref in match.participants:
        if rec.participants.isdisjoint(refs.get(ref, ())):
            return ("participant", ref)
    if match.portfolio == "subject" and rec.portfolio != portfolio:
        return ("portfolio", rec.portfolio or "")
    if where:
        return why_not_where(list(where), rec, refs)
    return None
