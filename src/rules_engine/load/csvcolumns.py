"""Columnar intake of CSV record files (``.csv``, ``.tsv``, ``.txt``): the same principle as
:mod:`rules_engine.load.columnar` for JSON Lines. The per-row reader (:func:`rules_engine.load.inputs.table_row`
and :func:`~rules_engine.load.inputs.check_record`) stays the meaning of a row; this module only vouches for
the lines it is sure of and hands every other one to that reader, with its line number.

Exact, or not at all. The whole file is first scanned, a piece at a time, and read row by row whole (by the
per-row reader, which then also says what is wrong with it) when anything about it is in doubt:

- it is not plain UTF-8 (the per-row reader would decode all of it as GB18030 or another guess), holds a NUL
  byte, a carriage return that is not part of a CRLF line end (the per-row reader would take it for a line end
  of its own), or a byte-order mark other than UTF-8's (UTF-8's is skipped, as the per-row reader skips it;
  CRLF line ends, as Excel writes them, are read as LF ones);
- a quoted cell spans lines (a line whose quotes do not close within it, as Python's csv module reads it), or
  a line is longer than the csv module's field size limit (where it would refuse the file);
- line 1 is not the header, or the header names a column that is not a record field (an unknown name, a cell
  without a name, a field named twice), as the per-row reader maps it (Chinese and English names, any case).

The delimiter is the per-row reader's (:func:`rules_engine.load.inputs._sniff` over the same first lines).
Then the lines are split by polars (as in the JSON Lines path, a piece of about 32 MB at a time, handed on
:data:`~rules_engine.load.columnar.BLOCK` lines at a time) and a line is split into cells by polars only when
it passes :data:`PLAIN`: no quote character, no whitespace other than space and tab (so that polars' trimming
is Python's ``str.strip``), exactly as many cells as the header. Its cells are trimmed, an empty cell is
empty, and the participants and tags cells are split at the per-row reader's separators (``; ； , ， 、 |``)
and trimmed, empty parts dropped. Every other line is read by the per-row reader. The intake then vouches
for rows with :func:`~rules_engine.load.columnar.vouched`, and the rest go through the per-row checks
(:func:`checked_rows`) with their cells as the per-row reader hands them to :func:`check_record`.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from ..errors import InputError
from ..model.vocab import RECORD_FIELDS
from . import columnar
from .columnar import ColumnarBlock
from .inputs import _HEADER_SCAN, _SPLIT, BadRow, Rec, _sniff, check_record, table_columns, table_row

#: Record files read here (the delimiter each is expected to use; the header's lines decide).
CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": "\t"}

#: Characters a line split into cells by polars must not hold: the quote, and every character Python's
#: ``str.strip`` takes for whitespace but space and tab (polars' trimming of whitespace differs from Python's
#: on \x1c-\x1f; line ends never reach here).
PLAIN_REFUSED = (
    '"\x0a\x0b\x0c\x0d\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008'
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: The pattern of a line that is not plain (any of :data:`PLAIN_REFUSED`).
PLAIN = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in PLAIN_REFUSED) + "]"
_LISTS = _SPLIT.pattern  # the per-row reader's separators of a list cell (a class polars' regex reads alike)
_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"  # (any other date is checked row by row)
_CELLS = ("id", "org", "type", "date", "chair", "participants", "portfolio", "tags")  # (``text`` is read by no check)
_ROWS = pl.Schema(
    {
        "line": pl.Int64(),
        "id": pl.String(),
        "org": pl.String(),
        "type": pl.String(),
        "date": pl.String(),
        "chair": pl.String(),
        "participants_cell": pl.String(),
        "portfolio": pl.String(),
        "tags_cell": pl.String(),
        "participants": pl.List(pl.String()),
        "tags": pl.List(pl.String()),
        "day": pl.Date(),
    }
)


@dataclass(frozen=True)
class Layout:
    """What the scan of a whole file found: its delimiter, the field of each column, and whether a UTF-8
    byte-order mark precedes line 1."""

    delimiter: str
    columns: tuple[str, ...]
    bom: bool


def csv_blocks(path: Path, source: str, default: str) -> Iterator[ColumnarBlock] | None:
    """Read a text table of records by columns, a block of lines at a time (`default`: the suffix's delimiter),
    or None when it must be read row by row whole (see the module's text)."""
    layout = _layout(path, source, default)
    if layout is None:
        return None
    return _blocks(path, source, layout)


def _cells(line: str, delimiter: str) -> list[str]:
    """A line's cells as the per-row reader's csv module reads them (a line that closes its quotes)."""
    return next(csv.reader([line + "\n"], delimiter=delimiter), [])


def _closed(line: str, delimiter: str) -> bool:
    """Whether the quotes of a line close within it: then the csv module ends the row at its line end."""
    return len(list(csv.reader([line + "\n", "x\n"], delimiter=delimiter))) == 2


def _layout(path: Path, source: str, default: str) -> Layout | None:
    limit = csv.field_size_limit()
    with path.open("rb") as handle:
        head = [handle.readline(limit + 2) for _ in range(_HEADER_SCAN)]  # (the lines the delimiter is sniffed from)
        if any(len(line) > limit + 1 or (len(line) > limit and not line.endswith(b"\n")) for line in head):
            return None
        if head[0].startswith(columnar._BOMS) and not head[0].startswith(codecs.BOM_UTF8):
            return None
        layout = _header(b"".join(head), source, default)
        if layout is None:
            return None
        handle.seek(0)
        for raw in columnar._pieces(handle):  # (the mark of UTF-8, if any, is UTF-8: no need to cut it off here)
            piece = _lf(raw)
            if piece is None or b"\x00" in piece:
                return None
            if not piece.isascii():
                try:
                    piece.decode("utf-8")
                except UnicodeDecodeError:
                    return None
            if max(map(len, piece.split(b"\n"))) > limit:
                return None
            if not _quotes_closed(piece, layout.delimiter):
                return None
    return layout


def _lf(piece: bytes) -> bytes | None:
    """`piece` with its CRLF line ends as LF, or None when it holds a carriage return that does not end a line
    (the per-row reader takes it for a line end of its own: line numbers would differ)."""
    if b"\r" not in piece:
        return piece
    if piece.count(b"\r") != piece.count(b"\r\n"):
        return None
    return piece.replace(b"\r\n", b"\n")


def _quotes_closed(piece: bytes, delimiter: str) -> bool:
    """Whether every line of `piece` with a quote character closes its quotes within it."""
    at = piece.find(b'"')
    while at >= 0:
        start = piece.rfind(b"\n", 0, at) + 1
        end = piece.find(b"\n", at)
        end = len(piece) if end < 0 else end
        if not _closed(piece[start:end].decode("utf-8"), delimiter):
            return False
        at = piece.find(b'"', end)
    return True


def _header(head: bytes, source: str, default: str) -> Layout | None:
    """The layout when line 1 of `head` (the file's first lines) is a header of record fields only (None: the file
    is read row by row)."""
    bom = head.startswith(codecs.BOM_UTF8)
    lf = _lf(head)
    if lf is None:
        return None
    try:
        text = lf.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    delimiter = _sniff(text, default)  # (the same first lines as the per-row reader's)
    first = text.split("\n", 1)[0]
    if not _closed(first, delimiter):
        return None
    cells = _cells(first, delimiter)
    try:
        columns = table_columns(cells, source, 1)
    except InputError:  # (a field named twice: the per-row reader says so)
        return None
    names = [column for column in columns if column in RECORD_FIELDS]
    if len(names) != len(columns) or len(names) < 2:
        return None
    return Layout(delimiter, tuple(names), bom)


def csv_layout(path: Path, source: str) -> Layout | None:
    """The layout of a text table of records read by columns (its suffix's delimiter by default), or None when it
    is read row by row whole (see the module's text): the scan of the whole file :func:`csv_blocks` makes first."""
    return _layout(path, source, CSV_SUFFIXES[path.suffix.lower()])


def csv_part_blocks(data: bytes, source: str, layout: Layout, first_line: int) -> Iterator[ColumnarBlock]:
    """:func:`csv_blocks` of a part of a file whose `layout` the scan found: `data`, whole lines of it (from line 1,
    the header, or after it), the first of them line `first_line` (:mod:`rules_engine.blocks` cuts a file so)."""
    return _handle_blocks(io.BytesIO(data), source, layout, first_line)


def _blocks(path: Path, source: str, layout: Layout) -> Iterator[ColumnarBlock]:
    with path.open("rb") as handle:
        yield from _handle_blocks(handle, source, layout, 1)


def _handle_blocks(handle: BinaryIO, source: str, layout: Layout, number: int) -> Iterator[ColumnarBlock]:
    """(`number`: the line the first piece starts at)"""
    for data in columnar._pieces(handle):
        piece = _lf(data)  # (the scan has seen every carriage return end a line)
        if piece is None:  # (the file changed since: read as it is now)
            piece = data
        if number == 1 and layout.bom:
            piece = piece[len(codecs.BOM_UTF8) :]
        lines = columnar._lines(piece)
        if lines is None:  # (a \x01 byte, or a split polars could not be trusted with)
            raw = piece.split(b"\n")
            if piece.endswith(b"\n"):
                raw.pop()  # (after the last line end: no line)
            for start in range(0, len(raw), columnar.BLOCK):
                others = []
                for i, text in enumerate(raw[start : start + columnar.BLOCK], start=number + start):
                    if i == 1:
                        continue  # the header
                    row = _row(text.decode("utf-8"), i, source, layout)
                    if row is not None:
                        others.append((i, row))
                yield ColumnarBlock(_ROWS.to_frame(), others, _checker(layout))
            number += len(raw)
            continue
        lines = lines.with_row_index("line", offset=number)
        number += lines.height
        if lines.item(0, "line") == 1:
            lines = lines.slice(1)  # the header
        for start in range(0, lines.height, columnar.BLOCK):
            yield _block(lines.slice(start, columnar.BLOCK), source, layout)


def _row(text: str, line: int, source: str, layout: Layout) -> Rec | BadRow | None:
    """A line read by the per-row reader (None: a blank line)."""
    columns: Sequence[str | None] = layout.columns
    return table_row(columns, len(columns), _cells(text, layout.delimiter), line, line, source, layout.delimiter)


def _block(lines: pl.DataFrame, source: str, layout: Layout) -> ColumnarBlock:
    text, width = pl.col("text"), len(layout.columns)
    cells = text.str.split(layout.delimiter)
    lines = lines.with_columns(
        plain=(~text.str.contains(PLAIN) & (cells.list.len() == width)).fill_null(False),
        cells=cells,
    )
    others: list[tuple[int, Rec | BadRow]] = []
    for line, raw in lines.filter(~pl.col("plain") & text.is_not_null()).select("line", "text").iter_rows():
        row = _row(raw, line, source, layout)
        if row is not None:
            others.append((line, row))
    trimmed = lines.filter("plain").select(
        pl.col("line").cast(pl.Int64),
        *(
            pl.col("cells").list.get(i).str.strip_chars(" \t").replace("", None).alias(f"cell_{name}")
            for i, name in enumerate(layout.columns)
        ),
    )
    trimmed = trimmed.filter(pl.any_horizontal(*(pl.col(f"cell_{name}").is_not_null() for name in layout.columns)))

    def cell(name: str) -> pl.Expr:
        return pl.col(f"cell_{name}") if name in layout.columns else pl.lit(None, dtype=pl.String())

    date = cell("date")
    frame = trimmed.select(
        "line",
        *(cell(name).alias(name) for name in ("id", "org", "type", "chair", "portfolio")),
        date.alias("date"),
        cell("participants").alias("participants_cell"),
        cell("tags").alias("tags_cell"),
        _split(cell("participants")).alias("participants"),
        _split(cell("tags")).alias("tags"),
        pl.when(date.str.contains(_DAY)).then(date.str.to_date("%Y-%m-%d", strict=False)).alias("day"),
    )
    return ColumnarBlock(frame.select(_ROWS.names()).cast(_ROWS), others, _checker(layout))


def _split(cell: pl.Expr) -> pl.Expr:
    """A list cell split as the per-row reader splits it (inputs._string_list): null when empty."""
    part = pl.element().str.strip_chars(" \t")
    return (
        cell.str.replace_all(_LISTS, ";")
        .str.split(";")
        .list.eval(part)
        .list.eval(pl.element().filter(pl.element() != ""))
    )


def _checker(layout: Layout) -> Callable[[pl.DataFrame, str], Iterator[tuple[int, Rec | BadRow]]]:
    return functools.partial(checked_rows, columns=layout.columns)


def checked_rows(
    rows: pl.DataFrame, source: str, columns: Sequence[str] = _CELLS
) -> Iterator[tuple[int, Rec | BadRow]]:
    """Rows split by columns that were not vouched for, as the per-row reader hands them to
    :func:`check_record`: each column of the header with its trimmed cell (None when empty), the participants
    and tags cells as text (the ``text`` cell, which no check reads, left out)."""
    names = [name for name in columns if name in _CELLS]
    picked = [f"{name}_cell" if name in ("participants", "tags") else name for name in names]
    for values in rows.select("line", *picked).iter_rows():
        data: dict[str, Any] = dict(zip(names, values[1:], strict=True))
        yield values[0], check_record(data, source, values[0])
