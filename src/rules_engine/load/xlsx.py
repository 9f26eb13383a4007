"""Readers for spreadsheets (``.xlsx``, ``.xlsm``, ``.xlsb``, ``.xls``, ``.ods``): activity records and the
roster, one sheet per kind.

A workbook holds any of these sheets (names compared case-insensitively, surrounding spaces ignored):

- records: ``活动记录`` / ``记录`` / ``records`` / ``activities`` — the columns of a CSV record file;
- roster: ``组织`` / ``organisations`` (required for a roster) and ``人员`` / ``people`` (one row per post).

Every format is read by python-calamine (one reader for Excel 97-2003, Excel 2007+ and OpenDocument);
cell values are the ones the spreadsheet program last computed and saved. The header is the first row
that names at least two known columns (non-empty rows above it are titles and are skipped); column names
go through the tables of :mod:`rules_engine.model.vocab`, Chinese or English. Dates become ISO dates,
whole numbers become strings without ``.0``. Every record row goes through
:func:`~rules_engine.load.inputs.check_record`, located as ``file.xlsx#sheet`` and its row number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum

from ..errors import InputError
from ..fields import current as current_fields
from ..model.vocab import (
    ORG_COLUMNS,
    ORG_FIELDS,
    PEOPLE_COLUMNS,
    PEOPLE_FIELDS,
    RECORD_COLUMNS,
    RECORD_FIELDS,
    Vocabulary,
    column_table,
)
from ..texts import Arg
from .inputs import WORKBOOK_SUFFIXES, BadRow, Rec, RosterResult, _column_letter, check_record, roster_from_data
from .yamlpos import Document

__all__ = ["WORKBOOK_SUFFIXES", "cell_text", "read_records_xlsx", "read_roster_xlsx", "sheet_kinds"]

RECORD_SHEETS = frozenset({"活动记录", "记录", "records", "activities", "activity records"})
ORG_SHEETS = frozenset({"组织", "组织名册", "organisations", "organizations"})
PEOPLE_SHEETS = frozenset({"人员", "人员名册", "任职", "people", "persons", "posts"})

# the tables were defined here first; the names stay for code that imports them
ORG_ALIASES = ORG_COLUMNS
PEOPLE_ALIASES = PEOPLE_COLUMNS
_POST_FIELDS = ("org", "role", "group", "portfolios", "start", "end")

_SPLIT = re.compile(r"[;；,，、|]")  # the separators of multi-value cells, as in CSV
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEADER_SCAN = 20  # rows searched for the header


class _Book:
    """An open workbook: its worksheets' names (chart, macro and VBA sheets left out) and sheets by name."""

    def __init__(self, path: Path, source: str) -> None:
        self.source = source
        try:
            self._book = CalamineWorkbook.from_path(str(path))
            self.sheetnames = [m.name for m in self._book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        except Exception as exc:  # CalamineError (zip, OLE, XML, password ...), OSError
            raise InputError.of("input.workbook.unopenable", source=source, error=str(exc)) from None

    def sheet(self, name: str) -> CalamineSheet:
        try:
            return self._book.get_sheet_by_name(name)
        except Exception as exc:
            raise InputError.of(
                "input.workbook.sheet_unreadable", source=self.source, sheet=name, error=str(exc)
            ) from None

    def close(self) -> None:
        self._book.close()


def _norm(name: object) -> str:
    return str(name).strip().casefold() if name is not None else ""


def sheet_kinds(path: str | Path) -> frozenset[str]:
    """Which kinds of input a workbook holds, by sheet name: ``"roster"`` (an organisations sheet) and/or
    ``"records"`` (a records sheet, or a single sheet that is not a roster sheet)."""
    p = Path(path)
    if not p.is_file():
        raise InputError.of("input.file.not_found", path=str(path))
    book = _Book(p, str(path))
    try:
        names = {_norm(n) for n in book.sheetnames}
    finally:
        book.close()
    kinds: set[str] = set()
    if names & RECORD_SHEETS or (len(names) == 1 and not names & (ORG_SHEETS | PEOPLE_SHEETS)):
        kinds.add("records")
    if names & ORG_SHEETS:
        kinds.add("roster")
    return frozenset(kinds)


def cell_text(value: object) -> str | None:
    """One cell as the text the validators expect: ISO dates for Excel dates, ``12`` not ``12.0``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.time):
        return value.isoformat()
    text = str(value).strip()
    return text or None


class _Sheet:
    """A worksheet streamed row by row, with its header mapped to field names."""

    def __init__(self, sheet: CalamineSheet, source: str, aliases: Mapping[str, str], fields: tuple[str, ...]) -> None:
        self.source = source
        self.columns: list[str | None] = []
        self.header_row = 0
        start = sheet.start  # None for an empty sheet (whose row iterator must not be asked for)
        # python-calamine yields the rows from the sheet's first row, and the columns from the first used one
        self._offset = start[1] if start else 0
        self._rows: Iterator[list[Any]] = iter(sheet.iter_rows()) if start else iter(())
        self._number = 0
        self._pending: list[tuple[int, tuple[Any, ...]]] = []
        known = column_table(aliases, fields)
        first: tuple[int, tuple[Any, ...]] | None = None
        for number, row in self._numbered():
            if not any(cell_text(v) for v in row):
                continue
            first = first or (number, row)
            names = [_norm(v) for v in row]
            if sum(1 for n in names if n in known) >= 2:
                self._set_header(number, row, known)
                return
            self._pending.append((number, row))
            if number >= _HEADER_SCAN:
                break
        if first is not None:  # no recognisable header: the first row is it, and the rows say what is wrong
            self._pending = [(n, r) for n, r in self._pending if n > first[0]]
            self._set_header(first[0], first[1], known)
        else:
            self._pending = []

    def _numbered(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        for row in self._rows:
            self._number += 1
            yield self._number, tuple(row)

    def _set_header(self, number: int, row: tuple[Any, ...], known: Mapping[str, str]) -> None:
        self.header_row = number
        columns: list[str | None] = []
        for value in row:
            name = cell_text(value)
            columns.append(known.get(name.casefold(), name.casefold()) if name else None)
        while columns and columns[-1] is None:
            columns.pop()
        seen: set[str] = set()
        for i, column in enumerate(columns):
            if column is None:
                continue
            if column in seen:
                letter = _column_letter(i + self._offset)
                raise InputError.of(
                    "input.table.duplicate_column#sheet", source=self.source, row=number, column=column, letter=letter
                )
            seen.add(column)
        self.columns = columns

    def rows(self) -> Iterator[tuple[int, dict[str, str | None] | BadRow]]:
        """Data rows after the header, blank rows skipped: (Excel row number, field dict or a BadRow)."""
        if not self.header_row:
            return
        pending = [(n, r) for n, r in self._pending if n > self.header_row]
        self._pending = []
        for number, row in itertools.chain(pending, self._numbered()):
            cells = [cell_text(v) for v in row]
            if not any(cells):
                continue
            data: dict[str, str | None] = {}
            stray: int | None = None
            for i, text in enumerate(cells):
                column = self.columns[i] if i < len(self.columns) else None
                if column is None:
                    if text is not None and stray is None:
                        stray = i
                    continue
                data[column] = text
            if stray is not None:
                letter = _column_letter(stray + self._offset)
                yield (
                    number,
                    BadRow.at(
                        "row.cell.no_header",
                        self.source,
                        number,
                        letter,
                        cells[stray],
                        {"column": letter},
                        record_id=data.get("id"),
                        org=data.get("org"),
                        type=data.get("type"),
                    ),
                )
                continue
            yield number, data


def _sheets(book: _Book, names: frozenset[str]) -> list[str]:
    """The names of the worksheets (not chart sheets) whose names are in `names`, in workbook order."""
    return [title for title in book.sheetnames if _norm(title) in names]


# ---------------------------------------------------------------- records


def read_records_xlsx(path: str | Path) -> Iterator[Rec | BadRow]:
    """Stream the records of every records sheet (活动记录 / records) of a workbook; a workbook with a
    single sheet that is not a roster sheet is read as records whatever its name."""
    p = Path(path)
    source = str(path)
    if not p.is_file():
        raise InputError.of("input.records.not_found", path=source)
    book = _Book(p, source)
    try:
        sheets = _sheets(book, RECORD_SHEETS)
        if not sheets:
            roster_sheets = ORG_SHEETS | PEOPLE_SHEETS
            if len(book.sheetnames) == 1 and _norm(book.sheetnames[0]) not in roster_sheets:
                sheets = book.sheetnames
            else:
                raise InputError.of("input.workbook.no_records_sheet", source=source, sheets=", ".join(book.sheetnames))
        for title in sheets:
            where = f"{source}#{title}"
            declared = current_fields()  # (the declared record fields' header words too)
            aliases = {**RECORD_COLUMNS, **declared.headers}
            table = _Sheet(book.sheet(title), where, aliases, (*RECORD_FIELDS, *declared.types))
            for number, row in table.rows():
                if isinstance(row, BadRow):
                    yield row
                else:
                    yield check_record(_record(row), where, number)
    finally:
        book.close()


def _record(row: Mapping[str, str | None]) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in row.items() if v is not None}
    for key in ("participants", "tags"):  # split here, as check_record would, so its fast path applies
        if key in data:
            data[key] = _split(data[key])
    return data


def _split(text: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(text) if part.strip()]


# ---------------------------------------------------------------- roster


def read_roster_xlsx(path: str | Path, vocabulary: Vocabulary | None = None) -> RosterResult:
    """Read the roster from the 组织 / organisations and 人员 / people sheets of a workbook.

    Rows become the dict :func:`~rules_engine.load.inputs.roster_from_data` takes (people rows grouped
    by id, one post per row) and every rejection is located at its sheet and Excel row."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise InputError.of("input.roster.not_found", path=name)
    book = _Book(p, name)
    try:
        org_sheets = _sheets(book, ORG_SHEETS)
        if not org_sheets:
            raise InputError.of("input.workbook.no_org_sheet", source=name, sheets=", ".join(book.sheetnames))
        return _roster(name, book, org_sheets, _sheets(book, PEOPLE_SHEETS), vocabulary)
    finally:
        book.close()


def _roster(
    name: str, book: _Book, org_sheets: list[str], people_sheets: list[str], vocabulary: Vocabulary | None
) -> RosterResult:
    origins: list[tuple[str, int]] = []  # synthetic line k -> (sheet source, Excel row)
    positions: dict[tuple[str | int, ...], tuple[int, int]] = {}
    early: list[BadRow] = []  # rows rejected here, before roster_from_data

    def mark(path: tuple[str | int, ...], source: str, number: int) -> None:
        origins.append((source, number))
        positions[path] = (len(origins), 1)

    orgs: list[dict[str, Any]] = []
    for title in org_sheets:
        where = f"{name}#{title}"
        for number, row in _Sheet(book.sheet(title), where, ORG_COLUMNS, ORG_FIELDS).rows():
            if isinstance(row, BadRow):
                early.append(row)
                continue
            item: dict[str, Any] = {k: v for k, v in row.items() if v is not None and k in ORG_FIELDS}
            attributes = {k: v for k, v in row.items() if v is not None and k not in ORG_FIELDS}
            if attributes:  # any other column: an attribute its kind declares (by key, Chinese name or alias)
                item["attributes"] = attributes
            mark(("organisations", len(orgs)), where, number)
            orgs.append(item)

    # people rows grouped by id, in order of first appearance; each row is one post (one roster unit)
    people: dict[str, dict[str, Any]] = {}
    rows: dict[str, list[tuple[dict[str, Any] | None, str, int]]] = {}
    for title in people_sheets:
        where = f"{name}#{title}"
        for number, row in _Sheet(book.sheet(title), where, PEOPLE_COLUMNS, PEOPLE_FIELDS).rows():
            if isinstance(row, BadRow):
                early.append(row)
                continue
            bad = _person_row_problem(row, people, where, number)
            if bad is not None:
                early.append(bad)
                continue
            pid = str(row["id"])
            person = people.get(pid)
            if person is None:
                people[pid] = {k: v for k, v in row.items() if k not in _POST_FIELDS and v is not None}
                rows[pid] = []
            elif row.get("name") and not person.get("name"):
                person["name"] = row["name"]
            rows[pid].append((_post(row), where, number))

    entries: list[dict[str, Any]] = []
    for i, (pid, person) in enumerate(people.items()):
        posts = rows[pid]
        mark(("people", i), posts[0][1], posts[0][2])
        if len(posts) == 1 and posts[0][0] is None:  # a person without a post: one row, no post columns
            entries.append({**person, "posts": []})
            continue
        # a row with a group (小组) is a membership, any other a post
        memberships = [(p, w, n) for p, w, n in posts if p is not None and "group" in p]
        posts = [(p, w, n) for p, w, n in posts if p is None or "group" not in p]
        for j, (_, where, number) in enumerate(posts):
            mark(("people", i, "posts", j), where, number)
        for j, (_, where, number) in enumerate(memberships):
            mark(("people", i, "groups", j), where, number)
        entry = {**person, "posts": [post or {"portfolios": []} for post, _, _ in posts]}
        if memberships:
            entry["groups"] = [{k: v for k, v in m.items() if k != "portfolios"} for m, _, _ in memberships if m]
        entries.append(entry)

    data = {"organisations": orgs, "people": entries}
    result = roster_from_data(data, name, Document(name, data, positions), None, vocabulary)
    for k, bad_row in enumerate(result.rejected):
        if bad_row.source == name and 0 < bad_row.line <= len(origins):
            source, line = origins[bad_row.line - 1]
            result.rejected[k] = dataclasses.replace(
                bad_row, location=dataclasses.replace(bad_row.location, file=source, line=line)
            )
    result.rejected[:0] = early
    sheet_order = {f"{name}#{title}": i for i, title in enumerate([*org_sheets, *people_sheets])}
    result.rejected.sort(key=lambda r: (sheet_order.get(r.source, len(sheet_order)), r.line))
    result.read += len(early)
    result.rejected_units += len(early)
    return result


def _person_row_problem(
    row: Mapping[str, str | None], people: Mapping[str, dict[str, Any]], source: str, number: int
) -> BadRow | None:
    def bad(code: str, field: str, value: str | None, **args: Arg) -> BadRow:
        return BadRow.at(code, source, number, field, value, args, record_id=row.get("id"), org=row.get("org"))

    pid = row.get("id")
    if not pid:
        return bad("row.person.no_id", "id", None)
    known = people.get(pid)
    if known is not None and row.get("name") and row.get("name") != known.get("name"):
        return bad("row.person.name_differs", "name", row.get("name"), person=pid, earlier=str(known.get("name")))
    for key in ("start", "end"):
        value = row.get(key)
        if value is not None and not _valid_date(value):
            return bad("row.date.invalid", key, value)
    return None


def _valid_date(text: str) -> bool:
    if not _ISO_DATE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _post(row: Mapping[str, str | None]) -> dict[str, Any] | None:
    if all(row.get(k) is None for k in _POST_FIELDS):
        return None
    post: dict[str, Any] = {k: row[k] for k in _POST_FIELDS if k in row and row[k] is not None}
    raw = post.get("portfolios")
    post["portfolios"] = _split(raw) if raw else []
    return post
