"""Past one machine: the organisations of a run evaluated as partitions on a Dask cluster, the same report.

``evaluate(..., cluster="local:4")`` (a LocalCluster of 4 worker processes on this machine, started and stopped
with the run), ``cluster="dask://HOST:PORT"`` (a running scheduler) or ``cluster=client`` (a
``distributed.Client`` of the caller's, left open). Dask and distributed are the ``dask`` extra; they are imported
here only, and only when a cluster is used.

A layer around :mod:`rules_engine.workers`, with the same stage code:

- This process (the client) loads the rules, the roster and the waivers and reads the records once, with the same
  :class:`rules_engine.intake.Intake` as one process: every row is checked, deduplicated and accounted for here
  (the input account, the rejections and the duplicate ids are the whole run's, in reading order).
- The organisations (sorted by id) are cut into contiguous partitions of about equal weight
  (:func:`rules_engine.workers.split`): at least one per worker, and about :data:`PARTITION_ORGANISATIONS`
  organisations each, so that a partition's memory does not grow with the run. The intake's router
  (the same as for local workers) files each used or rejected row under its partition, in reading order, in this
  process's temporary folder (blocks of columns as Arrow IPC, compressed; rows checked one by one pickled).
- The compiled rules and the waivers are scattered to every worker once; each partition's inputs (what it needs
  of the roster: its organisations with their parents and its people, :func:`rules_engine.workers.roster_parts`;
  its rows) are scattered when it is submitted, at most two partitions a worker
  at a time. A partition's task is :func:`rules_engine.workers.evaluate_share`, the code of a local worker:
  plan, count, tally, decide on durable_rules, escalate, write its findings (the report's bytes, or its cells)
  to a file on the worker. Its result is small (summary, waivers used, stage counts); the client then reads
  the file back in blocks and removes it.
- The client writes the report from the partitions' files in partition order, as for local workers
  (:class:`rules_engine.workers.ShardedRun`): the same bytes as one process, for any number of workers.

A Parquet dataset (``evaluate_to(dir, format="parquet", dataset=True, cluster=...)``, :mod:`rules_engine.dataset`):
the partitions are the dataset's parts (cut by the organisations only, whatever the workers), and each worker
writes its partition's part into the output's temporary folder (shared by the client and the workers) instead of
sending its findings back; the client writes the manifest and puts the folder in place.

Faults: a partition whose worker is lost (killed, out of memory, its machine gone) before its file was read back
is submitted again from the client's copy of its inputs, on any worker, up to :data:`ATTEMPTS` times; then the
run fails with :class:`ClusterError` and nothing is written. A partition that raises (bad input a worker found,
a bug) fails the run at once. durable_rules is not made for threads: a worker evaluates one partition at a time
(start workers with ``--nthreads 1``; see docs/cluster.md).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import pickle
import shutil
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from . import __version__
from .blocks import BUCKETS, Merged, Part, PartRead, Reading, block_bytes, cross_duplicates, cuttable, parts, read_part
from .compile import CompiledRules
from .dataset import PartFile, part_count, write_part
from .errors import Error, InputError, MissingExtra
from .gcpause import paused_gc
from .intake import Intake, RecordsInput, record_span, whole_files
from .load.inputs import RosterResult
from .load.waivers import LoadedWaiver
from .model.roster import Roster
from .periods import Period
from .pipeline import _account_counts
from .plan import RosterIndex
from .tally import SpillLimits
from .trace import Tracer
from .workers import (
    _FRAME,
    ShardedRun,
    _Result,
    _Router,
    _Setup,
    evaluate_share,
    roster_parts,
    sharded_run,
    share_waivers,
    split,
    spooled_cells,
)

__all__ = ["ATTEMPTS", "PARTITION_ORGANISATIONS", "ClusterError", "ClusterSpec", "parse_cluster", "partition_count"]

PARTITION_ORGANISATIONS = 2000
"""About how many organisations a partition holds (more partitions than workers past that): a partition's memory
on its worker follows its organisations and their records, not the run's size (see benchmarks/README.md)."""

ATTEMPTS = 3
"""How many times a partition is submitted before a run whose workers keep being lost fails."""

_CHUNK = 1 << 26  # bytes of a partition's findings read back from its worker per task
_FLIGHT = 2  # partitions submitted at a time per worker (one running, one waiting with its inputs there)
_ONE_AT_A_TIME = threading.Lock()  # a worker process evaluates one partition at a time (durable_rules)


class ClusterError(Error):
    """The cluster cannot be reached, has no workers, runs another version, or keeps losing a partition's worker.
    Nothing is written. The command line exits 2."""


@dataclass(frozen=True)
class ClusterSpec:
    """Where a run's partitions go: ``local`` (a LocalCluster of `workers` processes, started for the run) or
    ``dask`` (the scheduler at `address`, ``tcp://HOST:PORT``)."""

    kind: str
    workers: int = 0
    address: str = ""


def parse_cluster(text: str) -> ClusterSpec:
    """``local:N`` or ``dask://HOST:PORT`` as a :class:`ClusterSpec`; anything else an :class:`InputError`."""
    if not isinstance(text, str):
        raise InputError.of("arg.cluster.invalid", value=repr(text))
    scheme, colon, rest = text.partition(":")
    if scheme == "local" and colon and rest.isascii() and rest.isdigit() and 0 < int(rest) <= 1024:
        return ClusterSpec("local", workers=int(rest))
    if scheme == "dask":
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            port = None
        if parts.hostname and port and not parts.path.strip("/") and not parts.query and not parts.fragment:
            host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
            return ClusterSpec("dask", address=f"tcp://{host}:{port}")
    raise InputError.of("arg.cluster.invalid", value=repr(text))


def partition_count(organisations: int, workers: int) -> int:
    """How many partitions a run of `organisations` is cut into on `workers` workers: one per worker at least, and
    about :data:`PARTITION_ORGANISATIONS` organisations each."""
    return max(1, workers, -(-organisations // PARTITION_ORGANISATIONS))


def check_cluster(cluster: object) -> None:
    """Refuse a malformed cluster text, or a missing ``dask`` extra, before anything is read."""
    if isinstance(cluster, str):
        parse_cluster(cluster)
    _distributed()


def _distributed() -> ModuleType:
    try:
        return importlib.import_module("distributed")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] not in ("distributed", "dask"):
            raise
        raise MissingExtra.of("extra.missing", library="distributed", extra="dask") from None


@contextlib.contextmanager
def connected(cluster: object) -> Iterator[Any]:
    """A ``distributed.Client`` for `cluster` (a spec, its text, or a client, which is left open), with at least
    one worker."""
    dd = _distributed()
    if isinstance(cluster, dd.Client):
        yield cluster
        return
    spec = cluster if isinstance(cluster, ClusterSpec) else parse_cluster(cluster)  # type: ignore[arg-type]
    with contextlib.ExitStack() as stack:
        if spec.kind == "local":
            import logging

            local = dd.LocalCluster(
                n_workers=spec.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # (an HTTP server on a free port, not 8787)
                silence_logs=logging.ERROR,
            )
            stack.callback(local.close)
            client = dd.Client(local, set_as_default=False)
            address = local.scheduler_address
        else:
            address = spec.address
            try:
                client = dd.Client(address, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                shown = address.replace("tcp://", "dask://", 1)
                error = str(exc) or type(exc).__name__
                raise ClusterError.of("cluster.unreachable", address=shown, error=error) from None
        stack.callback(client.close)
        if not client.scheduler_info().get("workers"):
            raise ClusterError.of("cluster.no_workers", address=address)
        yield client


# ---------------------------------------------------------------- the client's side


class _Outbox:
    """The router's mailbox for a cluster: each partition's blocks and batches of rows written to files of the
    run's folder, in reading order, until its partition is submitted (and again, if its worker is lost)."""

    def __init__(self, folder: Path, count: int) -> None:
        self.folder = folder
        self.files: list[list[tuple[str, Path]]] = [[] for _ in range(count)]
        self.written = 0

    def post(self, i: int, kind: str, payload: Any) -> None:
        path = self.folder / f"in-{self.written}"
        self.written += 1
        if kind == _FRAME:
            payload.write_ipc(path, compression="lz4")
        else:
            with open(path, "wb") as handle:
                pickle.dump(payload, handle, pickle.HIGHEST_PROTOCOL)
        self.files[i].append((kind, path))

    def keep(self, kind: str, blob: bytes) -> tuple[str, Path]:
        """A block of columns (Arrow IPC) or a batch of rows (pickled), as bytes, kept in a file of the folder."""
        path = self.folder / f"in-{self.written}"
        self.written += 1
        path.write_bytes(blob)
        return kind, path

    def send(self, i: int, message: tuple[str, str | None]) -> None:
        """(The end of a partition's rows: its inputs are whole once the intake is done.)"""

    def read(self, i: int) -> list[tuple[str, bytes]]:
        return [(kind, path.read_bytes()) for kind, path in self.files[i]]

    def drop(self, i: int) -> None:
        for _, path in self.files[i]:
            path.unlink()
        self.files[i] = []


@dataclass
class _Shared:
    """What every partition needs, scattered to every worker once."""

    version: str
    compiled: CompiledRules
    waivers: list[LoadedWaiver]


@dataclass
class _Job:
    """A partition: its organisations, what it needs of the roster (JSON, or models: see
    :func:`rules_engine.workers.roster_parts`), the run's arguments."""

    index: int
    orgs: list[str]
    roster: bytes | Roster
    period: Period
    day: Any
    max_evidence: int
    shape: str
    spill: SpillLimits
    dataset: str | None = None  # the folder its part of a Parquet dataset is written to (shared with the client)


@dataclass
class _Inputs:
    """A partition's rows, as filed by the router: ``(kind, bytes)`` in reading order."""

    items: list[tuple[str, bytes]]


@dataclass
class _Done:
    """A partition evaluated: its result, and where its findings wait on the worker."""

    result: _Result
    worker: str  # the worker's id (a worker started again after a loss has another)
    address: str
    path: str
    size: int
    part: PartFile | None = None  # (a part of a dataset, written by the worker: nothing to read back)


class _SpoolLost(Exception):
    """A partition's findings are not on the worker that runs the task reading them (the worker was lost)."""


def prepare_on_cluster(
    cluster: object,
    compiled: CompiledRules,
    roster: RosterResult,
    index: RosterIndex,
    records: RecordsInput,
    period: Period,
    day: Any,
    waivers: Sequence[str | Path] | Sequence[LoadedWaiver],
    max_evidence: int,
    shape: str,
    tracer: Tracer,
    dataset: str | None = None,
) -> ShardedRun:
    """:func:`rules_engine.pipeline.prepare` from the roster on, on a cluster (see the module's text). With a
    `dataset` folder, the partitions are the dataset's parts (:func:`rules_engine.dataset.part_count`, whatever the
    workers) and each worker writes its partition's part there; the run's ``parts`` lists them."""
    loaded = share_waivers(compiled, waivers, tracer)
    folder = tempfile.TemporaryDirectory(prefix="rules-engine-")
    try:
        with contextlib.ExitStack() as stack:
            with tracer.stage("cluster"):  # (a LocalCluster started, or the scheduler reached)
                client = stack.enter_context(connected(cluster))
            with tracer.stage("start") as stage:
                workers = len(client.scheduler_info()["workers"])
                count = part_count(len(index.orgs)) if dataset else partition_count(len(index.orgs), workers)
                shares = split(index, count)
                shared = _Shared(__version__, compiled, loaded)
                spill = SpillLimits.current()
                jobs = [
                    _Job(i, share, part, period, day, max_evidence, shape, spill, dataset)
                    for i, (share, part) in enumerate(zip(shares, roster_parts(roster.roster, shares), strict=True))
                ]
                stage.count(workers=workers, partitions=len(shares))
            with tracer.stage("intake") as stage:
                box = _Outbox(Path(folder.name), len(shares))
                files = whole_files(records)
                intake: Intake | Merged
                if files is not None and any(cuttable(f) for f in files):  # read in blocks, on the workers
                    reading = Reading(
                        compiled, list(index.orgs), list(index.people), shares, record_span(compiled, period), day
                    )
                    with tracer.stage("read"):
                        intake = _Reads(client, reading, box, workers).run(files, records, stage.count)
                else:  # read here
                    router = _Router(shares, box)
                    intake = Intake(compiled, index, router, record_span(compiled, period), day)
                    with tracer.stage("read"):
                        intake.read(records)
                        router.finish()
                stage.count(**_account_counts(intake.accounts))
            with tracer.stage("workers") as stage:
                spools = [Path(folder.name) / f"{i}.out" for i in range(len(shares))]
                partitions = _Partitions(client, shared, jobs, box, spools)
                results = partitions.run(stage.count)
        run = sharded_run(compiled, period, day, roster, intake, loaded, max_evidence, results, spools, shape, folder)
        if dataset:
            run.parts = [p for p in partitions.parts if p is not None]
            assert len(run.parts) == len(jobs)
        return run
    except BaseException:
        folder.cleanup()
        raise


_Earlier = dict[str, tuple[int, str, int]]  # ids first seen in an earlier part: id -> (digest, source, line)
_Flight = dict[str, tuple[Part, _Earlier | None, int]]  # the parts being read: task key -> (part, earlier, attempt)


class _Reads:
    """The parts of the records (:mod:`rules_engine.blocks`) read on the workers (blocks of JSON Lines) or here
    (files read whole), a few per worker at a time, each part's inputs filed here as they come back; then the ids
    first seen in two parts found, bucket by bucket, and the parts that show such an id read again, told of it.
    A part whose worker was lost is read again from its file."""

    def __init__(self, client: Any, reading: Reading, box: _Outbox, workers: int) -> None:
        self.dd = _distributed()
        self.client = client
        self.reading = reading
        self.box = box
        self.workers = workers
        self.run_id = uuid.uuid4().hex[:12]
        self.parts: list[Part] = []
        self.done: dict[int, PartRead] = {}  # (its inputs and firsts filed: see _file)
        self.files: dict[int, list[list[tuple[str, Path]]]] = {}  # each part's inputs, by partition
        self.firsts: list[list[tuple[int, Path]]] = [[] for _ in range(BUCKETS)]
        self.shared: Any = None  # (the reading, on every worker)
        self.counts: dict[str, int] = {
            "parts": 0,
            "parts_here": 0,
            "csv_parts": 0,
            "read_bytes_shipped": 0,
            "read_retries": 0,
        }

    def run(self, files: list[str], records: RecordsInput, count: Any) -> Merged:
        total = sum(os.path.getsize(f) for f in files if cuttable(f))
        size = block_bytes(total, self.workers)
        self.shared = _scatter(self.client, self.reading, broadcast=True)
        self._pass((part, data, None) for part, data in parts(files, size))
        earlier = self._cross()
        if earlier:  # (rare) the parts showing an id first seen in an earlier part, read again
            again = (
                (self.parts[n], None if self.parts[n].whole else self.parts[n].data(), e) for n, e in earlier.items()
            )
            self._pass(again)
        self.counts["parts_read_again"] = len(earlier)
        merged = Merged(records)
        for n in range(len(self.parts)):
            merged.add(self.done.pop(n))
            for i, mine in enumerate(self.files.pop(n)):
                self.box.files[i] += mine
        count(**self.counts)
        return merged

    def _pass(self, todo: Iterator[tuple[Part, bytes | None, _Earlier | None]]) -> None:
        limit = _FLIGHT * max(1, self.workers)
        running = self.dd.as_completed(loop=self.client.loop)
        part_of: _Flight = {}
        try:
            for part, data, earlier in todo:
                if part.number == len(self.parts):
                    self.parts.append(part)
                if data is None:  # (a file read whole, here, in its turn)
                    with paused_gc():
                        self._file(read_part(self.reading, part, None, earlier))
                    self.counts["parts_here"] += 1
                    continue
                while len(part_of) >= limit:
                    self._take(next(running), running, part_of)
                self._submit(part, data, earlier, 0, running, part_of)
                if part.layout is not None and earlier is None:
                    self.counts["csv_parts"] += 1
            while part_of:
                self._take(next(running), running, part_of)
        finally:
            for future in list(running.futures):
                future.release()

    def _submit(
        self,
        part: Part,
        data: bytes,
        earlier: _Earlier | None,
        attempt: int,
        running: Any,
        part_of: _Flight,
    ) -> None:
        if self.shared.status != "finished":  # (every worker that held it was lost)
            self.shared = _scatter(self.client, self.reading, broadcast=True)
        blob = _scatter(self.client, data)
        key = f"rules-engine.read-{self.run_id}-{part.number}-{int(earlier is not None)}-{attempt}"
        future = self.client.submit(_read, __version__, self.shared, part, blob, earlier, key=key, pure=False)
        blob.release()  # (held by the task until it is done)
        part_of[future.key] = (part, earlier, attempt)
        running.add(future)
        self.counts["read_bytes_shipped"] += len(data)

    def _take(self, future: Any, running: Any, part_of: _Flight) -> None:
        part, earlier, attempt = part_of.pop(future.key)
        read = _outcome(self.dd, part.number, future)
        if read is None:  # (its worker was lost)
            if attempt + 1 >= ATTEMPTS:
                raise ClusterError.of("cluster.part_lost", index=part.number, source=part.source, attempts=attempt + 1)
            self.counts["read_retries"] += 1
            self._submit(part, part.data(), earlier, attempt + 1, running, part_of)
            return
        assert isinstance(read, PartRead)
        self._file(read)
        self.counts["parts"] += 1

    def _file(self, read: PartRead) -> None:
        """A part's inputs filed by partition, its firsts by bucket; a part read again replaces what it had filed."""
        for mine in self.files.pop(read.number, []):
            for _, path in mine:
                path.unlink()
        self.files[read.number] = [[self.box.keep(kind, blob) for kind, blob in items] for items in read.inputs]
        for b, blob in enumerate(read.firsts):
            path = self.box.folder / f"ids-{read.number}-{b}"
            path.write_bytes(blob)
            self.firsts[b].append((read.number, path))
        read.inputs, read.firsts = [], []
        self.done[read.number] = read

    def _cross(self) -> dict[int, dict[str, tuple[int, str, int]]]:
        """For each part showing an id first seen in an earlier part: id -> (that first record's digest, source,
        line); found bucket by bucket (a bucket's ids held at a time)."""
        earlier: dict[int, dict[str, tuple[int, str, int]]] = {}
        for bucket in self.firsts:
            found = cross_duplicates([(number, path.read_bytes()) for number, path in bucket])
            for _, path in bucket:
                path.unlink()
            for n, rid, first, digest, line in found.iter_rows():
                earlier.setdefault(n, {})[rid] = (digest, self.parts[first].source, line)
        return dict(sorted(earlier.items()))


def _scatter(client: Any, value: object, broadcast: bool = False) -> Any:
    """`value` sent to a worker (`broadcast`: to every worker); tried again while the worker it was sent to is
    lost on the way (the scheduler has not yet seen the loss), a little later each time."""
    for attempt in range(8):  # (about 13 s in all)
        try:
            return client.scatter(value, broadcast=broadcast, hash=False)
        except TimeoutError:  # (an OSError too: no worker came within the scheduler's own wait, not to be waited again)
            raise ClusterError.of("cluster.no_workers", address=str(client.scheduler.address)) from None
        except OSError:  # (distributed's CommClosedError)
            if attempt == 7:
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def _outcome(dd: ModuleType, i: int, future: Any) -> Any:
    """A task's result, or None when its worker was lost; raises what the task raised."""
    if future.status == "cancelled":
        return None
    try:
        return future.result()
    except dd.KilledWorker:
        return None
    except Error:
        raise  # bad input a worker found, another version: as in one process
    except Exception as exc:
        if future.status == "cancelled" or isinstance(exc, _cancelled()):
            return None
        import traceback

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise ClusterError.of("cluster.failed", index=i, error=text) from None
    finally:
        future.release()


def _cancelled() -> tuple[type[BaseException], ...]:
    import asyncio
    import concurrent.futures

    kinds: list[type[BaseException]] = [asyncio.CancelledError, concurrent.futures.CancelledError]
    with contextlib.suppress(ImportError, AttributeError):
        kinds.append(importlib.import_module("distributed.client").FutureCancelledError)
    return tuple(kinds)


class _Partitions:
    """The partitions submitted, a few per worker at a time, their findings read back as they finish, and a
    partition whose worker was lost submitted again."""

    def __init__(self, client: Any, shared: _Shared, jobs: list[_Job], box: _Outbox, spools: list[Path]) -> None:
        self.dd = _distributed()
        self.client = client
        self.shared_value = shared
        self.shared = self._scatter(shared, broadcast=True)
        self.jobs = jobs
        self.box = box
        self.spools = spools
        self.run_id = uuid.uuid4().hex[:12]
        self.attempts = [0] * len(jobs)
        self.counts: dict[str, int] = {"shipped_bytes": len(pickle.dumps(shared, pickle.HIGHEST_PROTOCOL))}
        self.peaks: dict[str, int] = {}  # the largest peak memory a partition saw, per worker
        self.parts: list[PartFile | None] = [None] * len(jobs)  # (a dataset's parts, written by the workers)

    def run(self, count: Any) -> list[_Result]:
        limit = _FLIGHT * max(1, len(self.client.scheduler_info()["workers"]))
        waiting = deque(range(len(self.jobs)))
        results: list[_Result | None] = [None] * len(self.jobs)
        running = self.dd.as_completed(loop=self.client.loop)
        partition_of: dict[str, int] = {}
        data: dict[int, Any] = {}
        try:
            while waiting and len(partition_of) < limit:
                self._submit(waiting.popleft(), running, partition_of, data)
            for future in running:
                i = partition_of.pop(future.key)
                done = self._outcome(i, future)
                if done is not None and (done.part is not None or self._fetch(i, done)):
                    results[i] = done.result
                    self.parts[i] = done.part
                    data.pop(i).release()
                    self.box.drop(i)
                    for key, n in done.result.counts.items():
                        if key != "peak_rss_mb":
                            self.counts[key] = self.counts.get(key, 0) + n
                    peak = done.result.counts.get("peak_rss_mb", 0)
                    self.peaks[done.address] = max(self.peaks.get(done.address, 0), peak)
                else:
                    self.attempts[i] += 1
                    if self.attempts[i] >= ATTEMPTS:
                        raise ClusterError.of("cluster.lost", index=i, attempts=self.attempts[i])
                    self.counts["retries"] = self.counts.get("retries", 0) + 1
                    data.pop(i).release()
                    waiting.appendleft(i)
                while waiting and len(partition_of) < limit:
                    self._submit(waiting.popleft(), running, partition_of, data)
        finally:
            for future in data.values():
                future.release()
        self.counts["worker_peak_rss_mb"] = max(self.peaks.values(), default=0)
        count(**self.counts)
        return [r for r in results if r is not None]

    def _submit(self, i: int, running: Any, partition_of: dict[str, int], data: dict[int, Any]) -> None:
        if self.shared.status != "finished":  # (every worker that held it was lost)
            self.shared = self._scatter(self.shared_value, broadcast=True)
        inputs = _Inputs(self.box.read(i))
        job = self.jobs[i]
        self.counts["shipped_bytes"] = (
            self.counts["shipped_bytes"]
            + sum(len(b) for _, b in inputs.items)
            + (len(job.roster) if isinstance(job.roster, bytes) else 0)
        )
        data[i] = self._scatter(inputs)
        key = f"rules-engine-{self.run_id}-{i}-{self.attempts[i]}"
        future = self.client.submit(_partition, self.shared, job, data[i], key=key, pure=False)
        partition_of[future.key] = i
        running.add(future)

    def _scatter(self, value: object, broadcast: bool = False) -> Any:
        return _scatter(self.client, value, broadcast)

    def _outcome(self, i: int, future: Any) -> _Done | None:
        """The partition's result, or None when its worker was lost; raises what the partition raised."""
        done = _outcome(self.dd, i, future)
        assert done is None or isinstance(done, _Done)
        return done

    def _fetch(self, i: int, done: _Done) -> bool:
        """The partition's findings read back into its spool here, a block at a time, from the worker that holds
        them (run there directly, not queued behind its next partition); False when that worker was lost."""
        offset = 0
        with open(self.spools[i], "wb") as out:
            while offset < done.size:
                size = min(_CHUNK, done.size - offset)
                try:
                    block = self._on(done, _read_spool, offset, size)
                except (_SpoolLost, OSError, KeyError, ValueError, TimeoutError):  # (gone, or started again)
                    return False
                if not isinstance(block, bytes) or len(block) != size:
                    return False
                out.write(block)
                offset += len(block)
        self.counts["fetched_bytes"] = self.counts.get("fetched_bytes", 0) + done.size
        with contextlib.suppress(Exception):  # (a worker gone takes its folder with it)
            self._on(done, _drop_spool)
        return True

    def _on(self, done: _Done, function: Any, *args: Any) -> Any:
        replies = self.client.run(function, done.path, done.worker, *args, workers=[done.address])
        return replies[done.address]


# ---------------------------------------------------------------- the worker's side


def _partition(shared: _Shared, job: _Job, inputs: _Inputs) -> _Done:
    """A partition evaluated on a worker (:func:`rules_engine.workers.evaluate_share`), its findings written to a
    file of the worker's own folder."""
    worker = _distributed().get_worker()
    if shared.version != __version__:
        raise ClusterError.of("cluster.version", worker=worker.address, theirs=__version__, ours=shared.version)
    folder = tempfile.mkdtemp(prefix="rules-engine-", dir=worker.local_directory)
    try:
        spool = os.path.join(folder, "findings")
        setup = _Setup(
            shared.compiled,
            job.roster,
            job.period,
            job.day,
            shared.waivers,
            job.max_evidence,
            job.orgs,
            job.shape,
            spool,
        )
        setup.spill = job.spill
        # (the cells read back over the network; or read here again to write the dataset's part)
        setup.compression = "uncompressed" if job.dataset else "lz4"
        if job.dataset and not os.path.isdir(job.dataset):
            raise ClusterError.of("cluster.dataset_folder", worker=worker.address, folder=job.dataset)
        part = None
        with _ONE_AT_A_TIME, paused_gc():
            cpu = time.process_time()
            result = evaluate_share(setup, _messages(inputs))  # (its peak_rss_mb: the worker process's so far)
            if job.dataset:
                part = write_part(job.dataset, job.index, spooled_cells(spool))
                result.counts["dataset_bytes"] = part.bytes
            result.counts["cpu_ms"] = round((time.process_time() - cpu) * 1000)  # (the partition's, not the process's)
        peak = _high_water_mb()
        if peak is not None:
            result.counts["peak_rss_mb"] = peak
        if part is not None:
            shutil.rmtree(folder, ignore_errors=True)
            return _Done(result, worker.id, worker.address, "", 0, part)
        return _Done(result, worker.id, worker.address, spool, os.path.getsize(spool))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _read(version: str, reading: Reading, part: Part, data: bytes, earlier: Any) -> PartRead:
    """A block of records read on a worker (:func:`rules_engine.blocks.read_part`)."""
    if version != __version__ or reading.polars != pl.__version__:
        worker = _distributed().get_worker().address
        if version != __version__:
            raise ClusterError.of("cluster.version", worker=worker, theirs=__version__, ours=version)
        raise ClusterError.of("cluster.polars", worker=worker, theirs=pl.__version__, ours=reading.polars)
    with _ONE_AT_A_TIME, paused_gc():
        return read_part(reading, part, data, earlier)


def _high_water_mb() -> int | None:
    """The worker process's own peak memory (``VmHWM``, Linux). ``getrusage``'s peak is inherited over fork and
    exec: a LocalCluster's worker started by a client holding a large roster would report the client's."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024)
    except (OSError, ValueError):
        pass
    return None


def _messages(inputs: _Inputs) -> Iterator[tuple[str, Any]]:
    items = inputs.items
    for n, (kind, blob) in enumerate(items):
        items[n] = (kind, b"")  # (each block let go once read)
        if kind == _FRAME:
            yield kind, pl.read_ipc(io.BytesIO(blob))
        else:
            yield kind, pickle.loads(blob)


def _read_spool(path: str, worker: str, offset: int, size: int, dask_worker: Any = None) -> bytes:
    if dask_worker is None or dask_worker.id != worker:
        raise _SpoolLost(path)
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def _drop_spool(path: str, worker: str, dask_worker: Any = None) -> None:
    if dask_worker is not None and dask_worker.id == worker:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
