"""Workers: the organisations of a run split over worker processes, the same report for any number of them.

A layer around the stages (:mod:`rules_engine.pipeline`), not inside them:

- The parent loads the rules, the roster and the waivers, then splits the organisations (sorted by id) into
  one contiguous range per worker, balanced by the number of posts (a proxy for the obligations each plans).
  No rule reads across organisations: an overlay's scope (``RosterIndex.applies``) follows an organisation's
  parents in the roster, which a worker holds with its organisations, and an escalation reads the findings of its own
  organisation only. So a worker needs no other worker's organisations, and of the people only those who hold
  a post in one of its organisations (each with all their posts, in roster order).
- Everything a worker is handed goes through a file in the run's temporary folder, and only the file's name
  through the worker's pipe: the parent never waits for a worker that is still starting or planning. The
  setup (rules, run arguments, its organisations, and the roster as JSON, which pydantic validates back in
  Rust, several times faster than unpickling the models) is written before the workers are started.
- The parent reads the records once (:class:`rules_engine.intake.Intake`, as in one process: every row is
  checked, deduplicated and accounted for there, so a row of an unknown organisation is rejected once) and
  hands each used record to the worker of its organisation, in reading order: blocks of columns as Arrow IPC
  files, rows checked one by one as pickled batches. A rejected row goes to the worker of its organisation,
  or to every worker when its organisation is unknown (it may have evidenced any duty: each worker marks its
  own obligations; it is still reported once, by the parent).
- Each worker plans its organisations, counts the records it receives (past :data:`rules_engine.tally.SPILL_ROWS`
  filed by range of its organisations in the run's folder, and tallied a few ranges at a time), decides,
  escalates (the same :func:`rules_engine.pipeline.conclude` as one process), writes its findings to a spool
  file (in report order, joined by the report's separator between findings: the bytes the report holds) and
  sends back its summary and the waivers it used.
- The parent writes the report: header (summary added up, input account, rejections, receipt), then each
  worker's spool in the order of the ranges, which is the order of the organisations: the same bytes as one
  process. The spools are copied by the operating system (``os.copy_file_range``, else ``os.sendfile``, else
  read and written in large blocks), not line by line.

Workers are started with ``spawn`` (forking after durable_rules or polars started threads can hang). A worker
that dies, or fails, fails the run with :class:`WorkerError` (or the error it met) before any output is
written. The tracer sees the parent's stages (``start``: the setups written and the workers started;
``intake``; ``workers``: waiting for them after the last record), the ``workers`` stage with the workers'
counts added up: obligations planned, records counted, findings written, the parts their shares were concluded
in (``parts``: one each, or groups of organisation ranges past the spill limit), CPU milliseconds and the sum of their
peak memory (``peak_rss_mb``), and the CPU milliseconds of each of their stages (``plan_cpu_ms``,
``intake_cpu_ms``: the records taken, ``triggers_cpu_ms``: the tally, ``waivers_cpu_ms``, ``group_cpu_ms``,
``decide_cpu_ms``: with the escalations, ``findings_cpu_ms``: the spool written).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import multiprocessing
import os
import pickle
import tempfile
import time
import traceback
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, Protocol

import orjson
import polars as pl
from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError

from .compile import CompiledRules
from .errors import Coded, Error, InputError
from .finding_lines import SEPARATOR, LineMaker
from .findings import rule_table
from .gcpause import paused_gc
from .intake import Intake, RecordsInput, record_span
from .ledger import Ledger
from .load.inputs import BadRow, Rec, RosterResult
from .load.waivers import LoadedWaiver, load_waivers
from .model.findings import Finding, FindingModels, Status
from .model.roster import Organisation, Person, Roster
from .periods import Period
from .pipeline import Run, _account_counts, load_all_waivers, unused_waivers
from .plan import RosterIndex, plan_table
from .rangewise import conclude_by_parts
from .render.json import FileBlock
from .tally import Counter, SpillLimits, Tallied
from .trace import RecordingTracer, Tracer, peak_rss

__all__ = ["AUTO_MIN_ORGANISATIONS", "WorkerError", "available_cores", "split", "worker_count"]

AUTO_MIN_ORGANISATIONS = 500
"""With ``workers=None`` (the command line's default), fewer organisations than this are evaluated in one
process: starting a worker (a new interpreter, the package imported, the rules and roster handed over) costs
about half a second of CPU, more than a small run gains (see benchmarks/README.md)."""

_BATCH = 4096  # rows checked one by one per file handed to a worker
_FRAME_ROWS = 65536  # rows of a block of columns split at a time (each worker's part of them: a file)
_COPY = 1 << 24  # bytes per read and write when the operating system cannot copy a spool file itself
_ROW = 0  # an item of a batch: a used record (as a tuple) ...
_BAD = 1  # ... or a rejected row
# what a message on a worker's pipe names: its setup, a batch of items, a block of columns; or the end
_SETUP, _ITEMS, _FRAME, _END = "setup", "items", "frame", "end"


class WorkerError(Coded, RuntimeError):
    """A worker process died or failed; the run is abandoned and nothing is written."""


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_count(requested: int | None, organisations: int) -> int:
    """How many workers a run uses: `requested` (at most one per organisation), or with None the machine's
    cores, but 1 below :data:`AUTO_MIN_ORGANISATIONS` organisations."""
    if requested is None:
        if organisations < AUTO_MIN_ORGANISATIONS:
            return 1
        return max(1, min(available_cores(), organisations))
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise InputError.of("arg.workers.invalid", value=repr(requested))
    return max(1, min(requested, organisations))


def split(index: RosterIndex, count: int) -> list[list[str]]:
    """The organisations in id order, cut into `count` contiguous non-empty ranges of about equal weight (an
    organisation weighs 1 + its posts: its obligations grow with its team)."""
    ids = sorted(index.orgs)
    count = max(1, min(count, len(ids)))
    weights = [1 + len(index.holders.get(org, ())) for org in ids]
    total = sum(weights)
    out: list[list[str]] = []
    start, done = 0, 0
    for i, weight in enumerate(weights):
        done += weight
        left = len(ids) - i - 1  # organisations after this one
        wanted = count - len(out) - 1  # ranges still to make after the current one
        if wanted and (done * count >= total * (len(out) + 1) or left == wanted):
            out.append(ids[start : i + 1])
            start = i + 1
    out.append(ids[start:])
    return out


def prepare_sharded(
    compiled: CompiledRules,
    roster: RosterResult,
    index: RosterIndex,
    records: RecordsInput,
    period: Period,
    day: dt.date,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver],
    max_evidence: int,
    count: int,
    shape: str,
    tracer: Tracer,
    pool: Pool | None = None,
    dataset: str | None = None,
) -> Run:
    """:func:`rules_engine.pipeline.prepare` from the roster on, with `count` workers (see the module's text);
    `pool`: workers started already (:func:`start_early`), any number. `dataset`: a folder each worker writes its
    run of consecutive parts of a Parquet dataset to (:mod:`rules_engine.dataset`: the parts follow the roster;
    at most one worker a part); the run's ``parts`` lists them."""
    from .dataset import grouped, part_count

    pool = Pool() if pool is None else pool
    try:
        loaded = share_waivers(compiled, waivers, tracer)
        groups = grouped(split(index, part_count(len(index.orgs))), count) if dataset else None
        shares = split(index, count) if groups is None else [[o for part in g for o in part] for _, g in groups]
        spools = [pool.folder / f"{i}.json" for i in range(len(shares))]
        with tracer.stage("start") as stage:  # the setups written first: a worker finds its own when it is up
            setups = []
            for i, (share, spool, part) in enumerate(
                zip(shares, spools, roster_parts(roster.roster, shares), strict=True)
            ):
                setup = _Setup(compiled, part, period, day, loaded, max_evidence, share, shape, str(spool))
                if groups is not None and dataset:
                    setup.dataset = (dataset, groups[i][0], groups[i][1])
                setups.append(pool.write(_SETUP, setup))
            started = pool.start(len(shares))
            for i, path in enumerate(setups):
                pool.send(i, (_SETUP, path))
            stage.count(started=started, workers=len(shares))
        with tracer.stage("intake") as stage:
            router = _Router(shares, pool)
            intake = Intake(compiled, index, router, record_span(compiled, period), day)
            with tracer.stage("read"):
                intake.read(records)
                router.finish()
            stage.count(**_account_counts(intake.accounts))
        with tracer.stage("workers") as stage:
            results = pool.results()
            for result in results:
                stage.count(**result.counts)
    except BaseException:
        pool.stop()
        raise
    pool.join()
    run = sharded_run(compiled, period, day, roster, intake, loaded, max_evidence, results, spools, shape, pool.spool)
    if dataset:
        run.parts = [part for result in results for part in result.parts or ()]
    return run


def share_waivers(
    compiled: CompiledRules, waivers: Sequence[str | Path] | Sequence[LoadedWaiver], tracer: Tracer
) -> list[LoadedWaiver]:
    """The waivers loaded (and refused) before any share is handed anything."""
    with tracer.stage("waivers") as stage:
        loaded = [w for w in waivers if isinstance(w, LoadedWaiver)]
        files = [w for w in waivers if not isinstance(w, LoadedWaiver)]
        if files:
            loaded += load_waivers(files, [r.rule.id for r in compiled.rules])
        stage.count(waivers=len(loaded))
    return loaded


class Accounted(Protocol):
    """What a run reports of its intake: the input account, rejections, exclusions and warnings, in reading order
    (an :class:`rules_engine.intake.Intake`, or :class:`rules_engine.blocks.Merged` from the parts of a cluster's)."""

    accounts: dict[str, list[int]]
    rejections: list[BadRow]
    excluded: list[BadRow]
    warnings: list[BadRow]


def sharded_run(
    compiled: CompiledRules,
    period: Period,
    day: dt.date,
    roster: RosterResult,
    intake: Accounted,
    loaded: list[LoadedWaiver],
    max_evidence: int,
    results: Sequence[_Result],
    spools: list[Path],
    shape: str,
    spool_dir: tempfile.TemporaryDirectory[str],
) -> ShardedRun:
    """The run of the shares' `results` and their `spools` (in the order of the shares): the summary and the
    waivers used added up, the intake's account, rejections and warnings."""
    summary = {status.value: 0 for status in Status}
    used: set[str] = set()
    for result in results:
        for status, n in result.summary.items():
            summary[status] += n
        used |= result.used_waivers
    warnings = intake.warnings + unused_waivers(loaded, used)
    return ShardedRun(
        compiled,
        period,
        day,
        roster,
        intake.accounts,
        list(roster.rejected) + intake.rejections,
        intake.excluded,
        None,
        max_evidence,
        loaded,
        warnings,
        counts=summary,
        spools=spools,
        shape=shape,
        spool_dir=spool_dir,
    )


def roster_part(roster: Roster, orgs: Collection[str]) -> bytes | Roster:
    """What a worker of `orgs` needs of the roster (:func:`roster_parts`). As JSON (validated back to the same
    models in the worker, in Rust), or as the models when JSON cannot hold its text (a lone surrogate)."""
    return roster_parts(roster, [orgs])[0]


def roster_parts(roster: Roster, shares: Sequence[Collection[str]]) -> list[bytes | Roster]:
    """What each share's worker needs of the roster, worked out in one pass over the people: the people holding
    a post in, or belonging to a group of, one of its organisations (whole, in roster order: the same holders, in
    the same order, for each of its organisations), and of the organisations (in roster order) its own, their
    parents up the tree (an overlay's scope follows them), and those its people's other posts and groups name (the
    roster refuses a post in an organisation it does not hold). Not the whole roster's organisations: a worker's
    memory follows its share, not the roster (100,000 organisations are about 190 MB of models). As JSON, or all
    as models when JSON cannot hold the roster's text."""
    people = people_parts(roster, shares)
    orgs = org_parts(roster, shares, people)
    try:
        return [
            b'{"organisations":' + _ORGANISATIONS_JSON.dump_json(o) + b',"people":' + _PEOPLE_JSON.dump_json(p) + b"}"
            for o, p in zip(orgs, people, strict=True)
        ]
    except (PydanticSerializationError, ValueError):
        return [roster.model_copy(update={"organisations": o, "people": p}) for o, p in zip(orgs, people, strict=True)]


def people_parts(roster: Roster, shares: Sequence[Collection[str]]) -> list[list[Person]]:
    """The people holding a post in, or belonging to a group of, each share's organisations (whole, in roster
    order), in one pass."""
    share_of = {org: i for i, share in enumerate(shares) for org in share}
    people: list[list[Person]] = [[] for _ in shares]
    for person in roster.people:
        named = _other_orgs(person)
        if named is None:  # (most people)
            i = share_of.get(person.posts[0].org)
            if i is not None:
                people[i].append(person)
        else:
            for i in sorted({share_of[org] for org in named if org in share_of}):
                people[i].append(person)
    return people


def _other_orgs(person: Person) -> set[str] | None:
    """The organisations a person's posts and groups name; None for one post and no group (most people: the one
    organisation is their share's)."""
    posts, groups = person.posts, person.groups
    if len(posts) == 1 and not groups:
        return None
    return {post.org for post in posts} | {member.org for member in groups}


def org_parts(
    roster: Roster, shares: Sequence[Collection[str]], people: Sequence[list[Person]]
) -> list[list[Organisation]]:
    """The organisations each share's worker holds (see :func:`roster_parts`), in roster order."""
    by_id = {org.id: org for org in roster.organisations}
    place = {org.id: i for i, org in enumerate(roster.organisations)}
    out: list[list[Organisation]] = []
    for share, persons in zip(shares, people, strict=True):
        wanted: set[str] = set()
        for org in share:  # (each with its parents: an organisation in `wanted` has its parents there too)
            current: str | None = org
            while current is not None and current not in wanted and current in by_id:
                wanted.add(current)
                current = by_id[current].parent
        for person in persons:
            wanted.update(_other_orgs(person) or ())
        out.append([by_id[org] for org in sorted(wanted & place.keys(), key=place.__getitem__)])
    return out


_ORGANISATIONS_JSON: TypeAdapter[list[Organisation]] = TypeAdapter(list[Organisation])
_PEOPLE_JSON: TypeAdapter[list[Person]] = TypeAdapter(list[Person])


class ShardedRun(Run):
    """A run whose findings the workers wrote to spool files (one per worker, in report order)."""

    def __init__(
        self,
        *args: Any,
        counts: dict[str, int],
        spools: list[Path],
        shape: str,
        spool_dir: tempfile.TemporaryDirectory[str],
    ) -> None:
        super().__init__(*args)
        self.counts = counts
        self.spools = spools
        self.shape = shape
        self.spool_dir = spool_dir
        self.parts: list[Any] | None = None  # (a Parquet dataset's parts its workers wrote: rules_engine.dataset)

    def summary(self) -> dict[str, int]:
        return dict(self.counts)

    def decided(self, filled: bool = True) -> Iterator[Any]:
        raise RuntimeError("a run of workers holds no obligations: read its findings with finding_models()")

    def _lines(self) -> Iterator[bytes]:
        for path in self.spools:
            with open(path, "rb") as handle:
                for line in handle:  # ``{...},``, then ``    {...},`` (the separator's parts), the last without
                    yield line.strip().removesuffix(b",")  # (a compact JSON object has no blank or comma outside)

    def cell_frames(self) -> Iterator[pl.DataFrame]:
        if self.shape != "cells":
            raise RuntimeError(f"findings spooled in the {self.shape} layout cannot be read as cells")
        for path in self.spools:
            yield from spooled_cells(path)

    def finding_models(self, keep: Collection[Status] | None = None) -> Iterator[Finding]:
        if self.shape != "v1":
            raise RuntimeError(f"findings spooled in the {self.shape} layout cannot be read as models")
        wanted = None if keep is None else {s.value for s in keep}
        made = FindingModels()
        for line in self._lines():
            data = orjson.loads(line)
            if wanted is None or data["status"] in wanted:
                yield made(data)

    def json_findings(
        self, report_format: str, keys: Mapping[int, str], sep: str = SEPARATOR
    ) -> Iterator[bytes | FileBlock]:
        if report_format != self.shape:
            raise RuntimeError(f"findings spooled in the {self.shape} layout, {report_format} asked for")
        if sep != SEPARATOR:
            raise RuntimeError("findings are spooled joined by the report's separator")
        for path in self.spools:
            size = path.stat().st_size
            if size:  # (a worker without findings)
                yield _Spool(path, size)

    def close(self) -> None:
        self.spool_dir.cleanup()


def spooled_cells(path: str | os.PathLike[str]) -> Iterator[pl.DataFrame]:
    """The cells a share wrote to its spool (shape ``cells``), chunk by chunk, in report order."""
    with open(path, "rb") as handle:
        while size := handle.read(8):
            yield pl.read_ipc_stream(io.BytesIO(handle.read(int.from_bytes(size, "little"))))


class _Spool:
    """A worker's spool file as a block of the report: copied by the operating system where it can."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    def write_to(self, out: IO[bytes]) -> None:
        with open(self.path, "rb") as src:
            copy_file(src, self.size, out)


def copy_file(src: BinaryIO, size: int, out: IO[bytes]) -> None:
    """Append the first `size` bytes of `src` to `out`: in the kernel (``os.copy_file_range`` between regular
    files; ``os.sendfile``, which also writes to a pipe), else read and written in large blocks (an `out`
    without a file descriptor, a file system or a kernel that does neither)."""
    done = 0
    try:
        fd = out.fileno()
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        fd = -1
    if fd >= 0:
        out.flush()  # (the header is still in the buffer)
        source = src.fileno()

        def kernel_range(at: int) -> int:
            return os.copy_file_range(source, fd, min(size - at, _KERNEL), at)

        def kernel_send(at: int) -> int:
            return os.sendfile(fd, source, at, min(size - at, _KERNEL))

        calls = [
            call for name, call in (("copy_file_range", kernel_range), ("sendfile", kernel_send)) if hasattr(os, name)
        ]
        for call in calls:
            try:
                while done < size:
                    n = call(done)
                    if n <= 0:
                        break
                    done += n
            except OSError:  # not supported here (or a full disk, which the last way reports)
                continue
            if done == size:
                return
    src.seek(done)
    while done < size:
        block = src.read(min(_COPY, size - done))
        if not block:
            raise OSError(f"{src.name}: shorter than {size} bytes")
        out.write(block)
        done += len(block)


_KERNEL = 1 << 30  # bytes per call to the kernel's copy


# ---------------------------------------------------------------- the parent's side


class _Setup:
    """What a worker needs before its records: the rules, the roster (JSON, or the models), the run's arguments,
    its share, and where to write its findings."""

    def __init__(
        self,
        compiled: CompiledRules,
        roster: bytes | Roster,
        period: Period,
        day: dt.date,
        waivers: list[LoadedWaiver],
        max_evidence: int,
        orgs: list[str],
        shape: str,
        spool: str,
    ) -> None:
        self.compiled = compiled
        self.roster = roster
        self.period = period
        self.day = day
        self.waivers = waivers
        self.max_evidence = max_evidence
        self.orgs = orgs
        self.shape = shape
        self.spool = spool
        self.spill = SpillLimits.current()  # (the parent's: when the worker's records go to disk)
        self.compression: Literal["uncompressed", "lz4"] = "uncompressed"  # of spooled cells (lz4: sent over a network)
        # (a Parquet dataset's folder, this worker's first part and the organisations of each of its parts)
        self.dataset: tuple[str, int, list[list[str]]] | None = None


class _Result:
    """What a worker sends back: its findings per status, the ids of the waivers it used, its stage counts."""

    def __init__(self, summary: dict[str, int], used_waivers: set[str], counts: dict[str, int]) -> None:
        self.summary = summary
        self.used_waivers = used_waivers
        self.counts = counts
        self.parts: list[Any] | None = None  # (the parts of a Parquet dataset it wrote: rules_engine.dataset)


class Pool:
    """The worker processes, a pipe to each, and the run's temporary folder; what a worker is handed is written
    to a file there and only its name sent (a pipe holds thousands of names: the parent does not wait for a
    busy worker). Every failure to talk to a worker is a :class:`WorkerError`, or the error the worker sent
    back. Workers may be started before the run knows how many it needs (:func:`start_early`)."""

    def __init__(self) -> None:
        self.spool = tempfile.TemporaryDirectory(prefix="rules-engine-")
        self.folder = Path(self.spool.name)
        self.processes: list[Any] = []
        self.conns: list[Connection] = []
        self.files = 0

    def start(self, count: int) -> int:
        """`count` workers: started, or the ones started beyond them stopped. Returns how many it started."""
        context = multiprocessing.get_context("spawn")
        before = len(self.processes)
        while len(self.processes) < count:
            mine, theirs = context.Pipe()
            name = f"rules-engine-worker-{len(self.processes)}"
            process = context.Process(target=work, args=(theirs,), name=name, daemon=True)
            process.start()
            theirs.close()  # only the worker holds its end: its death is an end of file here
            self.processes.append(process)
            self.conns.append(mine)
        while len(self.processes) > count:  # (waiting for a setup that will not come)
            process = self.processes.pop()
            self.conns.pop().close()
            process.terminate()
            process.join()
        return max(0, len(self.processes) - before)

    def write(self, kind: str, payload: Any) -> str:
        """A setup or a batch of items (pickled), or a block of columns (Arrow IPC), written to a new file of
        the folder; its name."""
        path = self.folder / f"in-{self.files}.{'arrow' if kind == _FRAME else 'pickle'}"
        self.files += 1
        if kind == _FRAME:
            payload.write_ipc(path, compression="uncompressed")
        else:
            with open(path, "wb") as handle:
                pickle.dump(payload, handle, pickle.HIGHEST_PROTOCOL)
        return str(path)

    def post(self, i: int, kind: str, payload: Any) -> None:
        """Hand worker `i` `payload` through a file (see :meth:`write`)."""
        self.send(i, (kind, self.write(kind, payload)))

    def send(self, i: int, message: tuple[str, str | None]) -> None:
        try:
            self.conns[i].send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
        except OSError:  # a broken pipe: the worker is gone, perhaps after sending why
            with contextlib.suppress(OSError, EOFError):
                if self.conns[i].poll():
                    self._receive(i)  # (raises the worker's error)
            raise self._died(i) from None

    def results(self) -> list[_Result]:
        return [self._receive(i) for i in range(len(self.conns))]

    def _receive(self, i: int) -> _Result:
        try:
            kind, payload = pickle.loads(self.conns[i].recv_bytes())
        except (EOFError, OSError):
            raise self._died(i) from None
        if kind == "error":
            error, text = payload
            if isinstance(error, Error):  # bad input found by a worker: the same error as in one process
                raise error
            raise WorkerError.of("worker.failed", index=i, error=text)
        assert isinstance(payload, _Result)
        return payload

    def _died(self, i: int) -> WorkerError:
        process = self.processes[i]
        process.join(5)
        code = process.exitcode
        return WorkerError.of("worker.died", index=i, exit_code=str(code))

    def stop(self) -> None:
        """The workers ended and the folder removed (after a failure, or when no worker is needed)."""
        for process in self.processes:
            if process.is_alive():
                process.terminate()
        self.join()
        self.spool.cleanup()

    def join(self) -> None:
        for conn in self.conns:
            conn.close()
        for process in self.processes:
            process.join()


def start_early(requested: int | None, roster: object, tracer: Tracer) -> Pool | None:
    """Workers started before the roster is read, so that their start (a new interpreter, the package imported)
    overlaps its reading, when the run will most likely use them: `requested` above 1, or None (automatic) and
    a roster of at least :data:`AUTO_MIN_ORGANISATIONS` organisations, or a roster file of at least
    :data:`EARLY_ROSTER_BYTES`. The run still decides how many it uses once the roster is read
    (:func:`worker_count`); any others are stopped. None: none started."""
    count = _likely_count(requested, roster)
    if count < 2:
        return None
    with tracer.stage("start") as stage:
        pool = Pool()
        stage.count(started=pool.start(count))
    return pool


EARLY_ROSTER_BYTES = 1 << 20
"""A roster file of at least this many bytes most likely holds :data:`AUTO_MIN_ORGANISATIONS` organisations or
more (the synthetic rosters of benchmarks/synth.py: about 1.4 KB an organisation with its people)."""


def _likely_count(requested: int | None, roster: object) -> int:
    orgs: int | None = None
    if isinstance(roster, RosterResult):
        roster = roster.roster
    if isinstance(roster, Roster):
        orgs = len(roster.organisations)
    elif isinstance(roster, Mapping):
        listed = roster.get("organisations")
        orgs = len(listed) if isinstance(listed, list) else None
    if requested is None:
        if orgs is None and isinstance(roster, (str, Path)):
            try:
                big = os.stat(roster).st_size >= EARLY_ROSTER_BYTES
            except (OSError, ValueError):
                big = False
            orgs = AUTO_MIN_ORGANISATIONS if big else 0
        return worker_count(None, orgs or 0)
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 2:
        return 1  # (refused, or one process, once the roster is read)
    return requested if orgs is None else min(requested, orgs)


class Mailbox(Protocol):
    """Where the router hands each share its rows: the worker processes (:class:`Pool`), or the files a cluster's
    partitions are shipped from (:mod:`rules_engine.cluster`)."""

    def post(self, i: int, kind: str, payload: Any) -> None: ...  # a block of columns or a batch of rows

    def send(self, i: int, message: tuple[str, str | None]) -> None: ...  # (the end of share `i`'s rows)


class _Router:
    """The intake's sink in the parent: each row to the worker of its organisation, in bounded batches."""

    def __init__(self, shares: list[list[str]], pool: Mailbox) -> None:
        self.pool = pool
        self.worker_of = {org: i for i, orgs in enumerate(shares) for org in orgs}
        self.batches: list[list[Any]] = [[] for _ in shares]

    def add(self, rec: Rec) -> None:
        i = self.worker_of[rec.org]  # the intake hands on records of known organisations only
        batch = self.batches[i]
        batch.append(
            (
                _ROW,
                rec.id,
                rec.org,
                rec.type,
                rec.date.toordinal(),
                rec.chair,
                tuple(rec.participants),
                rec.portfolio,
                tuple(rec.tags),
                rec.source,
                rec.line,
                tuple(rec.unknown),
                rec.fields,
            )
        )
        if len(batch) >= _BATCH:
            self._flush(i)

    def add_frame(self, frame: pl.DataFrame) -> None:
        """A block of columns split by worker a slice at a time (a whole file's block split at once would copy
        it whole: the parent's peak memory), each worker's part of a slice handed over as a file."""
        worker = pl.col("org").replace_strict(self.worker_of, return_dtype=pl.UInt32()).alias("_worker")
        for start in range(0, frame.height, _FRAME_ROWS):
            piece = frame.slice(start, _FRAME_ROWS).with_columns(worker)
            for (key,), part in piece.partition_by("_worker", as_dict=True).items():
                i = int(key)
                self._flush(i)  # (the rows before it first)
                self.pool.post(i, _FRAME, part.drop("_worker"))

    def add_bad(self, row: BadRow) -> None:
        i = self.worker_of.get(row.org or "")
        for j in range(len(self.batches)) if i is None else (i,):  # unknown organisation: it may taint any
            self.batches[j].append((_BAD, row))
            if len(self.batches[j]) >= _BATCH:
                self._flush(j)

    def _flush(self, i: int) -> None:
        if self.batches[i]:
            self.pool.post(i, _ITEMS, self.batches[i])
            self.batches[i] = []

    def finish(self) -> None:
        for i in range(len(self.batches)):
            self._flush(i)
            self.pool.send(i, (_END, None))


# ---------------------------------------------------------------- the worker's side


def work(conn: Connection) -> None:
    """A worker's life: its setup, its records until the end, then its findings to the spool file and its result
    to the parent (or the error that stopped it). Runs in a spawned process."""
    try:
        with paused_gc():
            result = _evaluate_share(conn)
        message: tuple[str, Any] = ("done", result)
    except BaseException as exc:  # everything goes back to the parent, which decides
        text = traceback.format_exc()
        try:
            pickle.dumps(exc)
            error: BaseException | None = exc
        except Exception:
            error = None
        message = ("error", (error, text))
    with contextlib.suppress(OSError):
        conn.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
    conn.close()


def _evaluate_share(conn: Connection) -> _Result:
    setup = _take(conn, _SETUP)
    assert isinstance(setup, _Setup)
    result = evaluate_share(setup, _messages(conn))
    if setup.dataset is not None:  # its parts of a Parquet dataset written from its cells, the spool let go
        from .dataset import write_parts

        folder, first, parts = setup.dataset
        cpu = time.process_time()
        result.parts = write_parts(folder, parts, spooled_cells(setup.spool), first)
        os.unlink(setup.spool)
        result.counts["dataset_bytes"] = sum(p.bytes for p in result.parts)
        result.counts["cpu_ms"] += round((time.process_time() - cpu) * 1000)
    return result


def _messages(conn: Connection) -> Iterator[tuple[str, Any]]:
    """What the parent hands a worker after its setup, each payload read back from its file (and the file
    removed): ``(_FRAME, a block of columns)`` or ``(_ITEMS, a batch of rows)``, until the end."""
    while True:
        kind, path = pickle.loads(conn.recv_bytes())
        if kind == _END:
            return
        if kind == _FRAME:
            frame = pl.read_ipc(path)
            os.unlink(path)
            yield kind, frame
        else:
            yield kind, _load(path)


def evaluate_share(setup: _Setup, messages: Iterable[tuple[str, Any]]) -> _Result:
    """A share of the organisations evaluated: planned, its records (`messages`: blocks of columns and batches
    of rows, in reading order) counted, then tallied, decided, escalated and its findings written to
    ``setup.spool`` in report order (:func:`rules_engine.rangewise.conclude_by_parts`). The same code for a local
    worker process and for a partition on a cluster (:mod:`rules_engine.cluster`)."""
    vocabulary = setup.compiled.ruleset.vocabulary
    roster = (
        setup.roster
        if isinstance(setup.roster, Roster)
        else Roster.model_validate_json(setup.roster, context={"vocabulary": vocabulary})
    )
    setup.roster = b""  # (its JSON: not needed once validated)
    index = RosterIndex(roster, vocabulary)
    tracer = RecordingTracer()  # (the CPU of each stage, added up over the workers by the parent: see _stage_cpu)
    with tracer.stage("plan"):
        ledger = Ledger(plan_table(setup.compiled, index, setup.period, set(setup.orgs)))
    planned = len(ledger)
    # (its records past tally.SPILL_ROWS filed by organisation range in the run's folder, removed with it)
    folder = os.path.dirname(setup.spool)
    counter = Counter(setup.compiled, index, setup.period, ledger, setup.max_evidence, setup.orgs, folder, setup.spill)
    records = 0
    fromordinal = dt.date.fromordinal
    add, add_bad = counter.add, counter.add_bad
    tracer.start("intake")  # (waiting for the parent takes no CPU: the stage's CPU is the records taken)
    for kind, payload in messages:
        if kind == _FRAME:
            counter.add_frame(payload)
            records += payload.height
            continue
        for item in payload:
            if item[0] == _ROW:
                _, rid, org, rtype, day, chair, people, area, tags, source, line, unknown, fields = item
                add(
                    Rec(
                        rid,
                        org,
                        rtype,
                        fromordinal(day),
                        chair,
                        frozenset(people),
                        area,
                        frozenset(tags),
                        source,
                        line,
                        frozenset(unknown),
                        fields,
                    )
                )
                records += 1
            else:
                add_bad(item[1])
    tracer.end("intake", {})
    loaded = load_all_waivers(setup.compiled, setup.waivers)
    keys = rule_table(setup.compiled.rules)[1] if setup.shape == "v2" else None
    summary = {status.value: 0 for status in Status}
    used: set[str] = set()
    parts = 0  # the parts of the share concluded one after another (groups of organisation ranges: see rangewise)
    joint = SEPARATOR.encode()
    with open(setup.spool, "wb") as out:  # the bytes of one process's report (or its cells), from this worker's tally

        def write(ledger: Ledger, tallied: Tallied | None) -> None:  # (a part of the share, in report order)
            nonlocal parts
            parts += 1
            tracer.start("findings")
            maker = LineMaker(keys, tallied)
            if setup.shape == "cells":  # the CSV and Parquet cells: each chunk an Arrow IPC stream after its length
                for frame in maker.ledger_cells(ledger):
                    buffer = io.BytesIO()
                    frame.write_ipc_stream(buffer, compression=setup.compression)
                    out.write(len(buffer.getbuffer()).to_bytes(8, "little"))
                    out.write(buffer.getbuffer())
            else:
                for block in maker.ledger_blocks(ledger):
                    if out.tell():
                        out.write(joint)
                    out.write(block)
            tracer.end("findings", {})
            for status, n in ledger.summary().items():
                summary[status] += n
            used.update(ledger.used_waivers())

        conclude_by_parts(
            setup.compiled,
            index,
            setup.period,
            setup.day,
            ledger,
            counter,
            loaded,
            setup.max_evidence,
            tracer,
            write,
        )
    counts = {"obligations": planned, "records": records, "findings": sum(summary.values()), "parts": parts}
    # added up over the workers by the parent's ``workers`` stage: their CPU time, and the sum of their peaks
    counts["cpu_ms"] = round(time.process_time() * 1000)
    counts.update(_stage_cpu(tracer))
    peak = peak_rss()
    if peak is not None:
        counts["peak_rss_mb"] = round(peak / 2**20)
    return _Result(summary, used, counts)


def _stage_cpu(tracer: RecordingTracer) -> dict[str, int]:
    """The CPU milliseconds of a worker's outer stages, as counts (``plan_cpu_ms`` ...): the parent's ``workers``
    stage adds them up over the workers, so that a profile shows where the workers' time goes."""
    return {f"{s.name}_cpu_ms": round(s.cpu * 1000) for s in tracer.stages() if s.depth == 0}


def _take(conn: Connection, wanted: str) -> Any:
    kind, path = pickle.loads(conn.recv_bytes())
    assert kind == wanted, (kind, wanted)
    return _load(path)


def _load(path: str) -> Any:
    """What the parent wrote to `path` (pickled); the file removed."""
    with open(path, "rb") as handle:
        payload = pickle.load(handle)
    os.unlink(path)
    return payload
