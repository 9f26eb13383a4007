"""Intake: records in, each one accounted for: used (handed to the tally), rejected (a data problem, with
file, line, field and reason) or excluded (set aside without a data problem).

Checks run in input order (unknown organisation or type, dated after the evaluation date, duplicate id,
date outside every window); used records then go to the tally in reading order, batch by batch.
"""

from __future__ import annotations

import datetime as dt
import difflib
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .compile import CompiledRules
from .errors import did_you_mean
from .load.dedup import SPILL_AT, SeenIds
from .load.inputs import BadRow, Rec, read_records, records_from_objects
from .model.records import ActivityRecord
from .periods import Period
from .plan import RosterIndex
from .tally import Counter

RecordsInput = str | Path | Sequence[str | Path] | Iterable[ActivityRecord | Mapping[str, Any]]

_DUPLICATE = "重复记录"

# Records are checked one by one in input order (duplicates, rejections and warnings keep that order), in
# batches; the used records of each batch go to the tally in the same order (the reading order).
_BATCH = 32768
_SPILL_AT = SPILL_AT  # record ids held in memory before the index of ids moves to disk


def record_paths(records: RecordsInput) -> list[str | Path]:
    if isinstance(records, (str, Path)):
        return [records]
    if isinstance(records, Sequence) and records and all(isinstance(x, (str, Path)) for x in records):
        return [x for x in records if isinstance(x, (str, Path))]
    return []


def _rows(records: RecordsInput) -> Iterator[tuple[str, Rec | BadRow]]:
    if isinstance(records, (str, Path)):
        records = [records]
    items = list(records) if isinstance(records, Sequence) else None
    if items is not None and all(isinstance(x, (str, Path)) for x in items):
        for path in items:
            for row in read_records(path):
                yield str(path), row
        return
    for row in records_from_objects(items if items is not None else records):
        yield "<records>", row


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
        index: RosterIndex,
        counter: Counter,
        span: tuple[dt.date, dt.date],
        as_of: dt.date,
    ):
        self.index = index
        self.counter = counter
        self.known_types = compiled.ruleset.record_types()
        self.span = span
        self.as_of = as_of
        self.seen = SeenIds(_SPILL_AT)
        self.sources: dict[str, int] = {}  # source -> index, for the compact place of a first occurrence
        self.source_names: list[str] = []
        self.accounts: dict[str, list[int]] = {}
        self.rejections: list[BadRow] = []
        self.excluded: list[BadRow] = []
        self.warnings: list[BadRow] = []

    def read(self, records: RecordsInput) -> None:
        """Check and count every row of `records` (files, or objects), in input order, in batches."""
        for path in record_paths(records):  # empty files are listed too
            self.accounts[str(path)] = [0, 0, 0, 0]
        try:
            batch: list[tuple[str, Rec | BadRow]] = []
            for item in _rows(records):
                batch.append(item)
                if len(batch) >= _BATCH:
                    self.take(batch)
                    batch = []
            self.take(batch)
            self.seen.finish()
        finally:
            self.seen.close()

    def take(self, batch: list[tuple[str, Rec | BadRow]]) -> None:
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
        earlier = iter(self.seen.check(keys))
        used: list[Rec] = []
        accounts = self.accounts
        for (source, _), row in zip(batch, rows, strict=True):
            account = accounts.get(source)
            if account is None:
                account = accounts[source] = [0, 0, 0, 0]
            account[0] += 1
            if isinstance(row, Rec):
                row = self._check_again(row, next(earlier))
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
        self.counter.add_batch(used)

    def _place(self, rec: Rec) -> int:
        number = self.sources.get(rec.source)
        if number is None:
            number = self.sources[rec.source] = len(self.source_names)
            self.source_names.append(rec.source)
        return (number << 32) | (rec.line & 0xFFFFFFFF)

    def _check_known(self, rec: Rec) -> Rec | BadRow:
        """Reject a record whose organisation or type is unknown (with a did-you-mean)."""
        orgs, known_types = self.index.orgs, self.known_types
        if rec.org not in orgs:
            zh, en = did_you_mean(rec.org, orgs, "zh"), did_you_mean(rec.org, orgs, "en")
            zh_text = f"未知组织 '{rec.org}'（名册中没有）{zh}"
            row = _bad(rec, "org", rec.org, zh_text, f"unknown organisation '{rec.org}' {en}".strip())
            # a close match names the organisation the row was probably meant for; otherwise it could be any
            close = difflib.get_close_matches(rec.org, list(orgs), n=1, cutoff=0.6)
            row.org = close[0] if close else None
            return row
        if rec.type not in known_types:
            zh, en = did_you_mean(rec.type, known_types, "zh"), did_you_mean(rec.type, known_types, "en")
            return _bad(
                rec,
                "type",
                rec.type,
                f"未知记录类型 '{rec.type}' {zh}".strip(),
                f"unknown record type '{rec.type}' {en}".strip(),
            )
        return rec

    def _check_again(self, rec: Rec, earlier: tuple[int, int] | None) -> Rec | BadRow:
        """Reject a duplicate id (`earlier`: the first occurrence), then a date outside every window."""
        if earlier is not None:
            digest, place = earlier
            line = f"{self.source_names[place >> 32]}:{place & 0xFFFFFFFF}"
            if digest == _digest(rec):
                zh, en = f"{_DUPLICATE}（与 {line} 相同，只计一次）", f"duplicate of {line} (identical, counted once)"
                duplicate = _bad(rec, "id", rec.id, zh, en)
                duplicate.taints = False
                return duplicate
            return _bad(
                rec,
                "id",
                rec.id,
                f"记录编号重复但内容不同（见 {line}），本行未采用",
                f"record id already used at {line} with different content; this row is not used",
            )
        start, end = self.span
        if not start <= rec.date <= end:
            row = _bad(
                rec,
                "date",
                rec.date.isoformat(),
                f"日期不在任何评价期间内（{start}..{end}）",
                f"date outside every period evaluated ({start}..{end})",
            )
            row.taints = False
            return row
        return rec


def _later(rec: Rec, as_of: dt.date) -> BadRow:
    row = _bad(
        rec,
        "date",
        rec.date.isoformat(),
        f"日期晚于评价日期 {as_of.isoformat()}，不作为证据",
        f"dated after the evaluation date {as_of.isoformat()}: not evidence",
    )
    row.taints = False
    return row


def _bad(rec: Rec, field: str, value: str, zh: str, en: str) -> BadRow:
    return BadRow(rec.source, rec.line, field, value, zh, en, rec.id, rec.org, rec.type, rec.date)


def _digest(rec: Rec) -> int:
    """A CRC of the record's content (not its id, source or line): tells an identical duplicate."""
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
        ]
    )
    return zlib.crc32(content.encode())


def _unknown_people(rec: Rec, unknown: list[str]) -> BadRow:
    names = ", ".join(sorted(unknown))
    return BadRow(
        rec.source,
        rec.line,
        "participants",
        names,
        f"人员不在名册中：{names}（可能是编号写错）",
        f"people not on the roster: {names} (possibly a mistyped id)",
        rec.id,
        rec.org,
        rec.type,
        rec.date,
        taints=False,
    )
