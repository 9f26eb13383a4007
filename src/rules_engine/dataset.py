"""The findings as a Parquet dataset (``evaluate --format parquet --dataset -o DIR``,
``evaluate_to(DIR, ..., format="parquet", dataset=True)``): a folder of Parquet files, one per part of the
organisations, and a manifest.

- **Parts.** The organisations (sorted by id) are cut into :func:`part_count` contiguous parts of about
  :data:`PART_ORGANISATIONS` each, by :func:`rules_engine.workers.split` (the cut of a cluster's partitions). The
  number of parts and where they are cut follow the roster only, never the number of workers: the same inputs
  give the same files, byte for byte, in one process, with ``--workers N`` and on any cluster. Each part is
  ``part-NNNNN.parquet`` (five digits: file-name order is part order), with the columns, types and row groups of
  the single Parquet report (:func:`rules_engine.render.frames.write_parquet_frames`), its organisations'
  findings in report order; a part without findings is a file of no rows. So the parts read in file-name order
  are the single file's rows, in its order.
- **Who writes them.** On a cluster (:mod:`rules_engine.cluster`), each partition is a part and the worker that
  evaluated it writes it, in parallel, straight into the output's temporary folder (so that folder must be on a
  file system the client and the workers share, at the same path). With local workers
  (:mod:`rules_engine.workers`), each worker evaluates a run of consecutive parts (:func:`grouped`: at most as many
  workers as parts) and writes them. In one process, the findings are cut into the parts as they stream past.
- **Manifest.** ``_manifest.json``, written last, by the process that started the run: the parts in order with
  their rows, bytes and SHA-256, the columns, and under ``report`` the JSON report's header (summary, input
  account with its rejections, exclusions and warnings, receipt), which the single Parquet file does not carry.
  Its name starts with ``_``: pyarrow, Dask and Spark skip it when reading the folder; polars and DuckDB read
  ``DIR/*.parquet``.
- **Whole or not at all.** Everything is written into a hidden sibling folder of the target
  (``.NAME.PID.RANDOM.rules-engine-tmp``), each part to a temporary name first and renamed (a partition written
  again after its worker was lost replaces its part with the same bytes; a part half written by a worker that
  died is removed), and the folder is renamed into place once every part and the manifest are there. A failed run
  leaves no folder. An existing target is replaced when it is an empty folder or a dataset written by this tool
  (only parts and a manifest in it), as ``-o`` replaces a file; anything else is refused, before the evaluation.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from .atomic import TEMP_SUFFIX
from .errors import OutputError
from .guard import shown
from .render.csv import COLUMNS
from .render.frames import COUNT_COLUMN, FramesWriter

__all__ = ["FORMAT", "MANIFEST", "PART_ORGANISATIONS", "DatasetFolder", "PartFile", "part_count", "part_name"]

PART_ORGANISATIONS = 2000
"""About how many organisations a part holds (a cluster's partitions are as big: see
:data:`rules_engine.cluster.PARTITION_ORGANISATIONS`)."""

MANIFEST = "_manifest.json"
FORMAT = "rules-engine/parquet-dataset/v1"
_ORG = COLUMNS.index("组织编号 organisation_id")
_PART = re.compile(r"part-\d{5,}\.parquet")


def part_count(organisations: int) -> int:
    """How many parts a dataset of `organisations` has (whatever the workers)."""
    return max(1, -(-organisations // PART_ORGANISATIONS))


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def grouped(parts: Sequence[list[str]], count: int) -> list[tuple[int, list[list[str]]]]:
    """`parts` (consecutive lists of organisations) handed out to `count` local workers (at most one each): each
    worker's first part number and its run of consecutive parts, about as many each."""
    count = max(1, min(count, len(parts)))
    bounds = [len(parts) * g // count for g in range(count + 1)]
    return [(bounds[g], list(parts[bounds[g] : bounds[g + 1]])) for g in range(count)]


@dataclass(frozen=True)
class PartFile:
    """A part written: its file's name, its rows, its size and its SHA-256 (hex)."""

    file: str
    rows: int
    bytes: int
    sha256: str


class _PartOut:
    """A part being written: to a hidden temporary name of the folder, renamed to its own name once whole."""

    def __init__(self, folder: Path, index: int, tag: str) -> None:
        self.final = folder / part_name(index)
        self.temp = folder / f".{self.final.name}.{tag}{TEMP_SUFFIX}"
        self.handle = open(self.temp, "xb")  # noqa: SIM115 (closed by finish or abandon)
        try:
            self.writer = FramesWriter(self.handle)
        except BaseException:
            self.abandon()
            raise

    def add(self, frame: pl.DataFrame) -> None:
        self.writer.add(frame)

    def finish(self) -> PartFile:
        try:
            self.writer.close()
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            digest, size = _digest(self.temp)
            os.replace(self.temp, self.final)  # (a part written again: the same bytes, replaced whole)
        except BaseException:
            self.abandon()
            raise
        return PartFile(self.final.name, self.writer.written, size, digest)

    def abandon(self) -> None:
        with contextlib.suppress(Exception):
            if hasattr(self, "writer"):
                self.writer.close(whole=False)
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


def _digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size


def write_part(folder: str | os.PathLike[str], index: int, frames: Iterable[pl.DataFrame]) -> PartFile:
    """Part `index` of a dataset written into `folder` from its cells (in report order)."""
    out = _PartOut(Path(folder), index, f"{os.getpid()}.{secrets.token_hex(4)}")
    try:
        for frame in frames:
            out.add(frame)
    except BaseException:
        out.abandon()
        raise
    return out.finish()


def write_parts(
    folder: str | os.PathLike[str], shares: Sequence[Sequence[str]], frames: Iterable[pl.DataFrame], first: int = 0
) -> list[PartFile]:
    """Parts `first`, `first` + 1, ... of a dataset written into `folder` from the cells of their organisations
    (`shares`: one list per part, in order; the cells in report order), cut where each part's organisations end:
    the whole run's parts in one process, or a local worker's run of consecutive parts."""
    part_of = {org: i for i, share in enumerate(shares) for org in share}
    column = pl.col(COLUMNS[_ORG]).replace_strict(part_of, return_dtype=pl.UInt32()).alias("_part")
    tag = f"{os.getpid()}.{secrets.token_hex(4)}"
    done: list[PartFile] = []
    out = _PartOut(Path(folder), first, tag)
    try:
        for frame in frames:
            if not frame.height:
                continue
            runs = frame.select(column).to_series().rle()
            start = 0
            for length, part in runs.struct.unnest().iter_rows():
                if part < len(done):
                    raise AssertionError(f"findings of part {part} after part {len(done)}: not in report order")
                while part > len(done):
                    done.append(out.finish())
                    out = _PartOut(Path(folder), first + len(done), tag)
                out.add(frame.slice(start, length))
                start += length
        while True:
            done.append(out.finish())
            if len(done) == len(shares):
                return done
            out = _PartOut(Path(folder), first + len(done), tag)
    except BaseException:
        out.abandon()
        raise


def manifest(parts: Sequence[PartFile], header: Mapping[str, Any]) -> bytes:
    """``_manifest.json``: the parts in order (rows, bytes, SHA-256), the columns, and the report's header."""
    columns = [{"name": name, "type": "int64" if i == COUNT_COLUMN else "string"} for i, name in enumerate(COLUMNS)]
    data = {
        "format": FORMAT,
        "rows": sum(p.rows for p in parts),
        "columns": columns,
        "parts": [asdict(p) for p in parts],
        "report": dict(header),
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


class DatasetFolder:
    """The target folder of a dataset and the hidden temporary folder beside it that the parts are written to;
    :meth:`commit` puts it in place, :meth:`abandon` removes it. An existing target that is neither an empty
    folder nor a dataset of this tool is refused here, before anything is evaluated."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.target = Path(os.path.abspath(path))
        self.existing = _existing(self.target)
        parent = self.target.parent
        while True:
            self.temp = parent / f".{self.target.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
            try:
                os.mkdir(self.temp)
            except FileExistsError:  # pragma: no cover - 32 random bits collided
                continue
            except OSError as exc:  # name the folder the user asked for, not the temporary one
                raise type(exc)(exc.errno, exc.strerror, str(self.target)) from None
            return

    def commit(self, parts: Sequence[PartFile], header: Mapping[str, Any], inputs: Iterable[str] = ()) -> None:
        """The manifest written and the folder renamed into place (over an earlier dataset); anything else in the
        temporary folder (a part half written by a worker that was lost) removed first."""
        names = [p.file for p in parts]
        if names != [part_name(i) for i in range(len(parts))]:
            raise AssertionError(f"the parts are not numbered in order: {names[:5]}")
        for entry in os.scandir(self.temp):
            if entry.name not in names:
                _remove(entry.path)
        for part in parts:
            size = os.stat(self.temp / part.file).st_size
            if size != part.bytes:  # (a part replaced by another write of it: the same bytes, else a bug)
                raise AssertionError(f"{part.file}: {size} bytes, {part.bytes} written")
        for source in inputs:
            _refuse_input(self.target, source)
        with open(self.temp / MANIFEST, "xb") as handle:
            handle.write(manifest(parts, header))
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_folder(self.temp)
        existing = _existing(self.target)  # (again: it may have changed during the run)
        if existing:
            old = self.target.parent / f".{self.target.name}.{os.getpid()}.{secrets.token_hex(4)}.old{TEMP_SUFFIX}"
            os.rename(self.target, old)
            try:
                os.rename(self.temp, self.target)
            except BaseException:
                os.rename(old, self.target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.temp, self.target)
        _fsync_folder(self.target.parent)

    def abandon(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)


def _existing(target: Path) -> bool:
    """Whether `target` exists (an empty folder or a dataset of this tool, to be replaced); refuses anything else."""
    if not os.path.lexists(target):
        return False
    if target.is_symlink() or not target.is_dir():
        raise OutputError.of("output.dataset.not_folder", path=shown(str(target), 200))
    names = os.listdir(target)
    if not names:
        return True
    ours = MANIFEST in names and all(n == MANIFEST or _PART.fullmatch(n) for n in names)
    if ours:
        try:
            ours = orjson.loads((target / MANIFEST).read_bytes()).get("format") == FORMAT
        except (OSError, orjson.JSONDecodeError, AttributeError):
            ours = False
    if not ours:
        raise OutputError.of("output.dataset.not_ours", path=shown(str(target), 200), manifest=MANIFEST)
    return True


def _refuse_input(target: Path, source: str) -> None:
    if source.startswith("<"):
        return
    real = os.path.realpath(source)
    root = os.path.realpath(target)
    if real == root or real.startswith(root + os.sep):
        raise OutputError.of("output.over_input", output=shown(str(target), 200), source=shown(source, 200))


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _fsync_folder(folder: Path) -> None:
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
