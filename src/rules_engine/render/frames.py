"""Findings as columns for data teams: a Parquet file (``--format parquet``) and Arrow, polars and pandas
data frames (``Report.to_arrow()``, ``to_polars()``, ``to_pandas()``).

The columns are those of the CSV output (:data:`rules_engine.render.csv.COLUMNS`, same names, same order,
one row per finding): ``次数 count`` is a 64-bit integer, every other column text. Cells hold the values as
they are: the apostrophe the CSV puts before a cell a spreadsheet would read as a formula is a guard for
spreadsheets, not part of the data, and is not written here.

The libraries are optional extras, imported only when asked for: pyarrow (``parquet``) for Parquet and
Arrow, polars and pandas (``dataframes``, which has pyarrow too). A missing one raises
:class:`~rules_engine.errors.MissingExtra` naming the extra to install.

The Parquet file is written in row groups of :data:`ROW_GROUP` findings, so that memory holds one group
at a time; for the same findings and the same pyarrow version the bytes are the same (no time stamps).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any

from ..errors import MissingExtra
from ..model.findings import Finding
from .csv import COLUMNS, finding_cells

if TYPE_CHECKING:
    import pandas
    import polars
    import pyarrow

ROW_GROUP = 65536  # findings per Parquet row group
COUNT_COLUMN = COLUMNS.index("次数 count")
COMPRESSION = "zstd"


def _library(name: str, extra: str) -> ModuleType:
    """Import an optional library, or say which extra installs it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] != name.split(".")[0]:
            raise  # the library is there but something it needs is not: its own message says what
        raise MissingExtra.of("extra.missing", library=name.split(".")[0], extra=extra) from None


def columns(findings: Iterable[Finding]) -> dict[str, list[Any]]:
    """The findings column by column: ``{column name: [cell per finding]}`` in :data:`COLUMNS` order."""
    cells: list[list[Any]] = [[] for _ in COLUMNS]
    for f in findings:
        for column, value in zip(cells, finding_cells(f), strict=True):
            column.append(value)
    return dict(zip(COLUMNS, cells, strict=True))


def arrow_schema() -> pyarrow.Schema:
    pa = _library("pyarrow", "parquet")
    return pa.schema(
        [
            pa.field(name, pa.int64() if i == COUNT_COLUMN else pa.string(), nullable=False)
            for i, name in enumerate(COLUMNS)
        ]
    )


def findings_arrow(findings: Iterable[Finding]) -> pyarrow.Table:
    """A ``pyarrow.Table`` of the findings, one row each (needs the ``parquet`` extra)."""
    pa = _library("pyarrow", "parquet")
    schema = arrow_schema()
    return pa.table(columns(findings), schema=schema)


def findings_polars(findings: Iterable[Finding]) -> polars.DataFrame:
    """A ``polars.DataFrame`` of the findings, one row each (needs polars: the ``dataframes`` extra)."""
    pl = _library("polars", "dataframes")
    schema = {name: pl.Int64 if i == COUNT_COLUMN else pl.String for i, name in enumerate(COLUMNS)}
    frame: polars.DataFrame = pl.DataFrame(columns(findings), schema=schema)
    return frame


def findings_pandas(findings: Iterable[Finding]) -> pandas.DataFrame:
    """A ``pandas.DataFrame`` of the findings, one row each (needs pandas: the ``dataframes`` extra)."""
    pd = _library("pandas", "dataframes")
    frame: pandas.DataFrame = pd.DataFrame(columns(findings), columns=list(COLUMNS))
    return frame.astype({COLUMNS[COUNT_COLUMN]: "int64"})


def require_parquet() -> None:
    """Raise :class:`MissingExtra` unless pyarrow (the ``parquet`` extra) can be imported."""
    _library("pyarrow.parquet", "parquet")


def write_parquet(findings: Iterable[Finding], out: IO[bytes], row_group: int | None = None) -> None:
    """Write the findings to `out` as a Parquet file, :data:`ROW_GROUP` rows per row group; `out` stays open.
    Raises :class:`MissingExtra` (before writing anything) without pyarrow."""
    pa = _library("pyarrow", "parquet")
    pq = _library("pyarrow.parquet", "parquet")
    schema = arrow_schema()
    row_group = row_group or ROW_GROUP
    writer = pq.ParquetWriter(out, schema, compression=COMPRESSION)
    try:
        for batch in _batches(findings, row_group):
            writer.write_table(pa.table(columns(batch), schema=schema), row_group_size=row_group)
    finally:
        writer.close()


def write_parquet_frames(frames: Iterable[polars.DataFrame], out: IO[bytes], row_group: int | None = None) -> int:
    """Write findings given as cells (frames of :data:`COLUMNS`, e.g.
    :meth:`rules_engine.finding_lines.LineMaker.ledger_cells`) as a Parquet file: the bytes :func:`write_parquet`
    writes for the same findings (the same row groups); `out` stays open. Returns the rows written. Raises
    :class:`MissingExtra` (before writing anything) without pyarrow."""
    writer = FramesWriter(out, row_group)
    whole = False
    try:
        for frame in frames:
            writer.add(frame)
        whole = True
    finally:
        writer.close(whole)
    return writer.written


class FramesWriter:
    """:func:`write_parquet_frames` a frame at a time (``add``, then ``close``): for a writer that is handed the
    cells rather than pulling them (the parts of a Parquet dataset, :mod:`rules_engine.dataset`)."""

    def __init__(self, out: IO[bytes], row_group: int | None = None) -> None:
        pq = _library("pyarrow.parquet", "parquet")
        self.schema = arrow_schema()
        self.row_group = row_group or ROW_GROUP
        self.writer = pq.ParquetWriter(out, self.schema, compression=COMPRESSION)
        self.held: list[polars.DataFrame] = []
        self.rows = 0  # (held, not yet written)
        self.written = 0

    def add(self, frame: polars.DataFrame) -> None:
        while frame.height:
            part = frame.head(self.row_group - self.rows)
            frame = frame.slice(part.height)
            self.held.append(part)
            self.rows += part.height
            if self.rows == self.row_group:
                self._flush()

    def _flush(self) -> None:
        _write_group(self.writer, self.held, self.schema, self.row_group)
        self.written += self.rows
        self.held, self.rows = [], 0

    def close(self, whole: bool = True) -> None:
        """The last row group written (`whole`: not after a failure) and the file's footer."""
        try:
            if self.held and whole:
                self._flush()
        finally:
            self.writer.close()


def _write_group(writer: Any, frames: list[polars.DataFrame], schema: pyarrow.Schema, row_group: int) -> None:
    pl = _library("polars", "dataframes")
    table = pl.concat(frames, rechunk=True).to_arrow().cast(schema)
    writer.write_table(table, row_group_size=row_group)


def _batches(findings: Iterable[Finding], size: int) -> Iterator[list[Finding]]:
    batch: list[Finding] = []
    for f in findings:
        batch.append(f)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
