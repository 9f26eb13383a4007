"""A Dask cluster (``evaluate(cluster=...)``, ``--cluster``): the report of one process, byte for byte, whatever the
number of workers and partitions; a worker process killed mid-run changes nothing; a bad address is a usage error.

One LocalCluster of two worker processes is shared by the module (started once); the tests that kill a worker
share another (`killable`: started again when a kill left it short of workers)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import polars as pl
import pyarrow.dataset
import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

import rules_engine.blocks as blocks_module
import rules_engine.cluster as cluster_module
import rules_engine.dataset as dataset_module
from rules_engine import (
    InputError,
    OutputError,
    RecordingTracer,
    compile_rules,
    evaluate,
    evaluate_to,
    load_rules,
    render_json,
)
from rules_engine.blocks import Part, parts
from rules_engine.cli import main
from rules_engine.cluster import ClusterError, ClusterSpec, parse_cluster, partition_count
from rules_engine.pipeline import prepare

from .conftest import EXAMPLE, ROOT, RULES

AS_OF = "2025-01-15"
LAYOUTS = (("json", "v1"), ("json", "v2"), ("csv", "v1"), ("parquet", "v1"))


@pytest.fixture(scope="module")
def rules():  # type: ignore[no-untyped-def]
    return compile_rules(load_rules(RULES))


def _local_client() -> Client:
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # (an HTTP server on a free port, not 8787)
        silence_logs=logging.CRITICAL,
    )
    return Client(cluster, set_as_default=False)


def _close(client: Client) -> None:
    cluster = client.cluster
    client.close()
    if cluster is not None:
        cluster.close()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """The module's LocalCluster of two workers: no test kills its workers (see `killable`)."""
    client = _local_client()
    yield client
    _close(client)


@pytest.fixture(scope="module")
def _killed() -> Iterator[list[Client]]:
    held: list[Client] = []
    yield held
    for client in held:
        _close(client)


@pytest.fixture
def killable(_killed: list[Client]) -> Client:
    """A LocalCluster of two workers for the tests that kill one. A killed worker is started again by its nanny,
    but not always in time: under load its nanny was seen closed, leaving the cluster without workers for the
    tests after. Kept between these tests while it has its two workers, started afresh when it has not."""
    if _killed:
        try:
            _killed[0].wait_for_workers(2, timeout=15)
            return _killed[0]
        except TimeoutError:
            _close(_killed.pop())
    _killed.append(_local_client())
    return _killed[0]


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated province (benchmarks/synth.py) with broken rows."""
    out = tmp_path_factory.mktemp("province")
    synth = ROOT / "benchmarks" / "synth.py"
    command = [sys.executable, str(synth), "--orgs", "30", "--records", "3000", "--out", str(out), "--quiet"]
    subprocess.run([*command, "--bad-per-mille", "20"], check=True)
    return out


def _reports(
    rules, roster: Path, records: Path, waivers: list[Path], layouts=LAYOUTS, **where: Any
) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    out = {}
    for format, layout in layouts:
        buffer = io.BytesIO()
        args = {"period": "2024", "as_of": AS_OF, "waivers": waivers, "format": format, "report_format": layout}
        evaluate_to(buffer, rules, roster, records, **args, **where)
        out[f"{format} {layout}"] = buffer.getvalue()
    return out


@pytest.fixture(scope="module")
def example_one(rules) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return _reports(rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", [EXAMPLE / "waivers.yaml"])


def test_the_example_on_a_cluster_gives_the_bytes_of_one_process(
    rules, client: Client, example_one: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    example = (EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", [EXAMPLE / "waivers.yaml"])
    monkeypatch.setattr(cluster_module, "PARTITION_ORGANISATIONS", 2)  # 4 partitions of the 8 organisations
    tracer = RecordingTracer()
    on_cluster = _reports(rules, *example, LAYOUTS[1:], cluster=client, tracer=tracer)
    for name, data in on_cluster.items():
        assert data == example_one[name], f"{name} on the cluster differs from one process"
    (start,) = [s for s in tracer.stages() if s.name == "start"]
    assert start.counts["partitions"] == 4 * 3  # (added up over the three reports)
    report = json.loads(example_one["json v1"])
    assert report["summary"]["waived"] > 0 and report["summary"]["violated"] > 0  # waivers applied on the workers


@pytest.mark.slow  # (the same paths as the example's test above, on a generated province: the main Python only)
def test_a_generated_province_on_a_cluster_gives_the_bytes_of_one_process(
    rules, client: Client, province: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    roster, records = province / "roster.yaml", province / "records.jsonl"
    one = _reports(rules, roster, records, [], LAYOUTS[:1])
    monkeypatch.setattr(cluster_module, "PARTITION_ORGANISATIONS", 7)  # 5 partitions of about 6 organisations
    assert _reports(rules, roster, records, [], LAYOUTS[:1], cluster=client) == one
    # evaluate(): the findings' models read back from the partitions' files
    models = evaluate(rules, roster, records, period="2024", as_of=AS_OF, cluster=client)
    assert render_json(models, report_format="v1") == one["json v1"]
    assert json.loads(one["json v1"])["input"]["rejections"]  # the broken rows, reported once


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON Lines files cut into blocks of about 8 KB on the workers (the example's records: 40 blocks)."""
    monkeypatch.setattr(blocks_module, "MIN_BLOCK_BYTES", 4096)
    monkeypatch.setattr(blocks_module, "BLOCK_BYTES", 8192)


def _intake_counts(tracer: RecordingTracer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stage in tracer.stages():
        if stage.name == "intake":
            for key, n in stage.counts.items():
                counts[key] = counts.get(key, 0) + n
    return counts


def test_records_read_in_blocks_on_the_workers_give_the_bytes_of_one_process(
    rules, client: Client, example_one: dict[str, bytes], small_blocks: None, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    example = (EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", [EXAMPLE / "waivers.yaml"])
    monkeypatch.setattr(cluster_module, "PARTITION_ORGANISATIONS", 3)  # 3 partitions of the 8 organisations
    tracer = RecordingTracer()
    on_cluster = _reports(rules, *example, LAYOUTS[1:3], cluster=client, tracer=tracer)
    for name, data in on_cluster.items():
        assert data == example_one[name], f"{name} read in blocks differs from one process"
    counts = _intake_counts(tracer)
    size = (EXAMPLE / "records.jsonl").stat().st_size
    assert counts["parts"] == 2 * -(-size // 8192) and counts["parts_here"] == 0  # every block read on a worker
    assert counts["read_bytes_shipped"] >= 2 * size


def _messy(province: Path, out: Path) -> list[Path]:
    """The province's records with what the intake must find across blocks: the same id again in a later block
    (identical, conflicting, twice in one block), an id first seen outside every window then again, an id whose
    first row is not a record (unknown organisation), rows of unknown organisations, types and people, a row
    after the evaluation date, a blank line, a line that is not JSON, a carriage return; then a CSV file (cut into
    blocks after its header) and a small JSON Lines file (read whole where the run starts) repeating some of its
    ids."""
    lines = (province / "records.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    good = rows[0]
    text: list[str] = []
    for n, line in enumerate(lines):
        text.append(line)
        if n == 40:
            text.append("")
            text.append('{"id": "broken"')
            text.append(json.dumps({**good, "id": "X-LATE", "date": "2025-06-01"}))
            text.append(json.dumps({**good, "id": "X-NOPE", "org": "nowhere"}))
            text.append(json.dumps({**good, "id": "X-CLOSE", "org": good["org"] + "x"}))
            text.append(json.dumps({**good, "id": "X-TYPE", "type": "no_such_type"}))
            text.append(json.dumps({**good, "id": "X-SPAN", "date": "2019-03-01"}))
            text.append(json.dumps({**good, "id": "X-WHO", "participants": ["nobody-1"]}))
            text.append(json.dumps({**good, "id": "X-FIRST", "org": "nowhere"}))
            text.append(json.dumps({**good, "id": "X-CR"}) + "\r")
        if n == 1500:
            text.append(json.dumps({**good, "id": "X-FIRST"}))
            text.append(json.dumps({**good, "id": "X-SPAN", "date": "2019-03-01"}))
        if n > 200 and n % 97 == 0:
            text.append(json.dumps(rows[n - 150]))
            text.append(json.dumps({**rows[n - 160], "type": rows[n - 3]["type"], "date": "2024-05-05"}))
        if n > 200 and n % 389 == 0:
            text.append(json.dumps(rows[n - 190]))
            text.append(json.dumps({**rows[n - 190], "date": "2024-06-06"}))
    records = out / "messy.jsonl"
    records.write_text("\n".join(text) + "\n", encoding="utf-8")
    cells = ["id,org,type,date,chair,participants,portfolio,tags"]
    for n, row in enumerate(rows[::3]):
        rid = row["id"] if n % 10 == 0 else f"C{n}"  # (every tenth an id of the JSON Lines file)
        values = [rid, row["org"], row["type"], row["date"], row["chair"] or "", ";".join(row["participants"])]
        cells.append(",".join([*values, "", ""]))
    cells.insert(500, f'{cells[400]},"quoted, cell"')  # (a cell too many: read row by row)
    table = out / "extra.csv"
    table.write_text("\n".join(cells) + "\n", encoding="utf-8")
    small = out / "small.jsonl"  # (smaller than a block: read whole where the run starts)
    small.write_text("\n".join([lines[7], json.dumps({**good, "id": "X-SMALL"}), json.dumps(rows[9])]) + "\n")
    return [records, table, small]


@pytest.mark.slow
def test_a_province_with_duplicates_across_blocks_gives_the_bytes_of_one_process(
    rules, client: Client, province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    roster, records = province / "roster.yaml", _messy(province, tmp_path)
    one = _reports(rules, roster, records, [], LAYOUTS[1:3])
    report = json.loads(one["json v2"])["input"]
    found = {r["code"] for r in report["rejections"] + report["excluded"] + report["warnings"]}
    assert found >= {
        "row.duplicate.identical",
        "row.duplicate.conflict",
        "row.org.unknown",
        "row.type.unknown",
        "row.date.after_as_of",
        "row.date.outside_span",
        "row.json.malformed",
        "row.people.unknown",
    }
    monkeypatch.setattr(blocks_module, "MIN_BLOCK_BYTES", 4096)
    monkeypatch.setattr(blocks_module, "BLOCK_BYTES", 30000)  # 24 blocks
    monkeypatch.setattr(cluster_module, "PARTITION_ORGANISATIONS", 7)
    tracer = RecordingTracer()
    assert _reports(rules, roster, records, [], LAYOUTS[1:3], cluster=client, tracer=tracer) == one
    counts = _intake_counts(tracer)
    assert counts["parts_read_again"] > 0 and counts["parts_here"] > 0  # (the blocks with an earlier id; small.jsonl)
    assert counts["csv_parts"] > 1


def test_a_file_is_cut_into_blocks_of_whole_lines_each_knowing_its_first_line(
    tmp_path: Path, small_blocks: None
) -> None:
    lines = [f'{{"id": "r{n}", "text": "{"x" * (n % 300)}"}}' for n in range(400)]
    data = ("\n".join(lines) + "\n\n" + lines[0]).encode()  # (a blank line, and no line end at the end)
    path = tmp_path / "records.jsonl"
    path.write_bytes(data)
    small = tmp_path / "small.jsonl"
    small.write_bytes(data[:1000])
    cut = list(parts([path, small], 8192))
    assert cut[-1] == (Part(len(cut) - 1, str(small)), None)  # (smaller than a block: read whole, where it starts)
    blocks = cut[:-1]
    assert len(blocks) > 5 and b"".join(d or b"" for _, d in blocks) == data
    for number, (part, block) in enumerate(blocks):
        assert block is not None and part.number == number and part.data() == block
        assert part.first_line == data[: part.offset].count(b"\n") + 1
        assert block.endswith(b"\n") or number == len(blocks) - 1


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("local:2", ClusterSpec("local", workers=2)),
        ("dask://scheduler.example:8786", ClusterSpec("dask", address="tcp://scheduler.example:8786")),
        ("dask://10.0.0.5:8786/", ClusterSpec("dask", address="tcp://10.0.0.5:8786")),
        ("dask://[::1]:8786", ClusterSpec("dask", address="tcp://[::1]:8786")),
    ],
)
def test_cluster_addresses(text: str, spec: ClusterSpec) -> None:
    assert parse_cluster(text) == spec


@pytest.mark.parametrize(
    "text", ["", "local", "local:0", "local:-1", "local:two", "local:２", "dask://host", "dask://:8786", "tcp://h:1"]
)
def test_a_bad_cluster_address_is_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^集群地址无效") as caught:
        parse_cluster(text)
    assert caught.value.code == "arg.cluster.invalid"


def test_a_bad_cluster_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^集群地址无效.*got 'local:0'"):
        evaluate(RULES, tmp_path / "missing.yaml", tmp_path / "missing.jsonl", period="2024", cluster="local:0")


def test_partitions_follow_the_organisations_not_only_the_workers() -> None:
    assert partition_count(8, 2) == 2
    assert partition_count(100_000, 2) == 100_000 // cluster_module.PARTITION_ORGANISATIONS
    assert partition_count(100_000, 200) == 200


def _example_args(out: Path, cluster: str) -> list[str]:
    return [
        "evaluate",
        str(EXAMPLE / "roster.yaml"),
        str(EXAMPLE / "records.jsonl"),
        "--rules",
        str(RULES),
        "--period",
        "2024",
        "--as-of",
        AS_OF,
        "--waivers",
        str(EXAMPLE / "waivers.yaml"),
        "--format",
        "json",
        "-o",
        str(out),
        "--cluster",
        cluster,
    ]


def test_a_malformed_cluster_address_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    with pytest.raises(SystemExit) as caught:
        main(_example_args(out, "dask//nowhere"))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "argument --cluster: 应为 local:N 或 dask://主机:端口 expected local:N" in err
    assert "Traceback" not in err and not out.exists()


def test_an_unreachable_scheduler_is_exit_2_without_a_traceback_or_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "report.json"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(_example_args(out, f"dask://127.0.0.1:{port}"))
    err = capsys.readouterr().err
    assert code == 2
    assert f"rules-engine: 无法连接 Dask 调度器 dask://127.0.0.1:{port}，评价未开始 could not reach" in err
    assert "Traceback" not in err and not out.exists()


def test_a_cluster_left_without_workers_fails_the_run_with_the_reason_at_once() -> None:
    class Scheduler:
        address = "tcp://127.0.0.1:8786"

    class Gone:
        scheduler = Scheduler()
        calls = 0

        def scatter(self, value: object, broadcast: bool, hash: bool) -> None:
            self.calls += 1
            raise TimeoutError("No valid workers found")  # (after the scheduler waited for one)

    gone = Gone()
    with pytest.raises(ClusterError, match="has no workers") as caught:
        cluster_module._scatter(gone, b"inputs")
    assert gone.calls == 1  # not waited for again and again
    assert caught.value.code == "cluster.no_workers"


def test_the_core_does_not_import_dask() -> None:
    code = "import sys, rules_engine.cluster; print([m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')])"  # noqa: E501
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_local_2_and_local_4_from_the_command_line_give_the_bytes_of_one_process(
    tmp_path: Path, example_one: dict[str, bytes], rules
) -> None:  # type: ignore[no-untyped-def]
    one = tmp_path / "one.json"
    args = _example_args(one, "local:1")[:-2]
    assert main(args) in (0, 1)
    for n in (2, 4):
        out = tmp_path / f"local{n}.json"
        assert main(_example_args(out, f"local:{n}")) in (0, 1)
        assert out.read_bytes() == one.read_bytes(), f"local:{n}"


class _KillOnce(WorkerPlugin):
    """Kills its worker process (SIGKILL) once in the run, when a partition starts (`when` "executing") or has
    finished (`when` "memory": its findings written on the worker, not yet read back); or (`prefix`
    ``rules-engine.read-``) when a block of records is read."""

    def __init__(self, marker: str, when: str, prefix: str = "rules-engine-") -> None:
        self.marker = marker
        self.when = when
        self.prefix = prefix

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if str(key).startswith(self.prefix) and finish == self.when:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("when", ["executing", "memory"], ids=["while-evaluating", "as-it-finishes"])
def test_a_worker_killed_mid_run_leaves_the_report_whole_and_the_same(
    rules, killable: Client, province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:  # type: ignore[no-untyped-def]
    roster, records = province / "roster.yaml", province / "records.jsonl"
    one = io.BytesIO()
    args = {"period": "2024", "as_of": AS_OF, "format": "json", "report_format": "v2"}
    evaluate_to(one, rules, roster, records, **args)
    monkeypatch.setattr(cluster_module, "PARTITION_ORGANISATIONS", 10)  # 3 partitions
    marker = tmp_path / "killed"
    killable.register_plugin(_KillOnce(str(marker), when), name="kill-once")
    try:
        tracer = RecordingTracer()
        out = tmp_path / "report.json"
        evaluate_to(out, rules, roster, records, cluster=killable, tracer=tracer, **args)
    finally:
        killable.unregister_worker_plugin("kill-once")
    assert marker.exists()  # a worker was killed ...
    (workers,) = [s for s in tracer.stages() if s.name == "workers"]
    assert workers.counts["retries"] >= 1  # ... its partition submitted again ...
    assert out.read_bytes() == one.getvalue()  # ... and the report is whole and the same


@pytest.mark.slow
def test_a_worker_killed_while_it_reads_a_block_leaves_the_report_whole_and_the_same(
    rules, killable: Client, province: Path, tmp_path: Path, small_blocks: None
) -> None:  # type: ignore[no-untyped-def]
    roster, records = province / "roster.yaml", province / "records.jsonl"
    one = io.BytesIO()
    args = {"period": "2024", "as_of": AS_OF, "format": "json", "report_format": "v2"}
    evaluate_to(one, rules, roster, records, **args)
    marker = tmp_path / "killed"
    killable.register_plugin(_KillOnce(str(marker), "executing", "rules-engine.read-"), name="kill-reading")
    try:
        tracer = RecordingTracer()
        out = tmp_path / "report.json"
        evaluate_to(out, rules, roster, records, cluster=killable, tracer=tracer, **args)
    finally:
        killable.unregister_worker_plugin("kill-reading")
    assert marker.exists()  # a worker was killed reading a block ...
    assert _intake_counts(tracer)["read_retries"] >= 1  # ... the block read again ...
    assert out.read_bytes() == one.getvalue()  # ... and the report is whole and the same


# ---------------------------------------------------------------- a Parquet dataset written by the workers


def _dataset(rules, out: Path, **where: Any):  # type: ignore[no-untyped-def]
    example = (EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl")
    args = {"period": "2024", "as_of": AS_OF, "waivers": [EXAMPLE / "waivers.yaml"], "format": "parquet"}
    return evaluate_to(out, rules, *example, **args, dataset=True, **where)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_dataset_written_by_the_workers_is_the_single_parquet_report_in_parts(
    rules, client: Client, example_one: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dataset_module, "PART_ORGANISATIONS", 2)  # 4 parts of the 8 organisations
    tracer = RecordingTracer()
    out = tmp_path / "findings"
    summary = _dataset(rules, out, cluster=client, tracer=tracer)
    files = _files(out)
    assert list(files) == ["_manifest.json", *(f"part-0000{i}.parquet" for i in range(4))]
    (workers,) = [s for s in tracer.stages() if s.name == "workers"]
    assert workers.counts["dataset_bytes"] == sum(len(b) for n, b in files.items() if n.endswith(".parquet"))
    assert "fetched_bytes" not in workers.counts  # (the parts were written by the workers, not read back)
    # read in file-name order, the parts are the single file: its rows, their order, the column types
    single = pl.read_parquet(io.BytesIO(example_one["parquet v1"]))
    for frame in (pl.read_parquet(out / "*.parquet"), pl.scan_parquet(out / "*.parquet").collect()):
        assert frame.schema == single.schema and frame.equals(single)
    table = pyarrow.dataset.dataset(out, format="parquet").to_table()  # (skips _manifest.json)
    assert table.schema.equals(pq.read_schema(io.BytesIO(example_one["parquet v1"]))) and table.num_rows == len(single)
    # the manifest: the parts as written, and the header the JSON report has (the single Parquet file has none)
    manifest = json.loads(files["_manifest.json"])
    assert [p["file"] for p in manifest["parts"]] == [n for n in files if n.endswith(".parquet")]
    for part in manifest["parts"]:
        data = files[part["file"]]
        assert part["bytes"] == len(data) and part["sha256"] == hashlib.sha256(data).hexdigest()
        assert part["rows"] == pq.read_metadata(io.BytesIO(data)).num_rows > 0
    assert manifest["rows"] == len(single) == sum(summary.values())
    header = {k: v for k, v in json.loads(example_one["json v1"]).items() if k != "findings"}
    assert manifest["report"] == header
    assert [c["name"] for c in manifest["columns"]] == single.columns
    # one process cuts the same parts (the number of parts follows the organisations, not the workers)
    alone = tmp_path / "alone"
    _dataset(rules, alone)
    assert _files(alone) == files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone", "findings"]  # (no temporary folder left)


class _FailAt(RecordingTracer):
    """Fails the run when stage `name` starts (after the workers wrote their parts: ``receipt``)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def start(self, name: str) -> None:
        if name == self.name:
            raise RuntimeError(f"stopped at {name}")
        super().start(name)


def test_a_failed_dataset_run_leaves_no_folder_and_an_earlier_dataset_as_it_was(
    rules, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dataset_module, "PART_ORGANISATIONS", 3)
    out = tmp_path / "findings"
    with pytest.raises(RuntimeError, match="stopped at receipt"):
        _dataset(rules, out, cluster=client, tracer=_FailAt("receipt"))
    assert list(tmp_path.iterdir()) == []  # no folder, no part, no temporary folder
    _dataset(rules, out)
    before = _files(out)
    assert len(before) == 4  # (3 parts and the manifest)
    with pytest.raises(RuntimeError, match="stopped at receipt"):
        _dataset(rules, out, tracer=_FailAt("receipt"))
    assert _files(out) == before and sorted(p.name for p in tmp_path.iterdir()) == ["findings"]
    monkeypatch.setattr(dataset_module, "PART_ORGANISATIONS", 4)  # an earlier dataset is replaced whole
    _dataset(rules, out)
    assert sorted(_files(out)) == ["_manifest.json", "part-00000.parquet", "part-00001.parquet"]


def test_what_a_lost_worker_left_half_written_is_not_in_the_dataset(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            name: [f"o{n % 3}" for n in range(6)] if i == 3 else [n for n in range(6)] if i == 11 else ["x"] * 6
            for i, name in enumerate(dataset_module.COLUMNS)
        }
    )
    target = dataset_module.DatasetFolder(tmp_path / "out")
    stray = target.temp / ".part-00001.parquet.1234.abcd.rules-engine-tmp"
    stray.write_bytes(b"PAR1 half")  # (a worker killed while it wrote its part)
    shares = [["o0"], ["o1"], ["o2"], ["o3"]]  # (o3: a part without findings)
    parts = dataset_module.write_parts(target.temp, shares, [frame.sort("组织编号 organisation_id")])
    target.commit(parts, {"summary": {}})
    assert sorted(_files(tmp_path / "out")) == ["_manifest.json", *(f"part-0000{i}.parquet" for i in range(4))]
    assert [p.rows for p in parts] == [2, 2, 2, 0]
    assert pl.read_parquet(tmp_path / "out" / "*.parquet")["次数 count"].to_list() == [0, 3, 1, 4, 2, 5]


def test_a_dataset_is_not_written_over_a_folder_it_did_not_write(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match=r"^输出文件夹已存在且不是本工具写出的数据集") as caught:
        _dataset(rules, mine)
    assert caught.value.code == "output.dataset.not_ours"
    assert _files(mine) == {"notes.txt": b"keep me"}
    a_file = tmp_path / "report.parquet"
    a_file.write_bytes(b"x")
    with pytest.raises(OutputError, match=r"^数据集的输出位置已有文件"):
        _dataset(rules, a_file)
    assert a_file.read_bytes() == b"x" and sorted(p.name for p in tmp_path.iterdir()) == ["mine", "report.parquet"]


@pytest.mark.slow
@pytest.mark.parametrize("when", ["executing", "memory"], ids=["while-evaluating", "part-written"])
def test_a_worker_killed_mid_run_leaves_the_dataset_whole_and_the_same(
    rules, killable: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dataset_module, "PART_ORGANISATIONS", 2)  # 4 parts
    alone = tmp_path / "alone"
    _dataset(rules, alone)
    marker = tmp_path / "killed"
    killable.register_plugin(_KillOnce(str(marker), when), name="kill-once")
    try:
        tracer = RecordingTracer()
        out = tmp_path / "findings"
        _dataset(rules, out, cluster=killable, tracer=tracer)
    finally:
        killable.unregister_worker_plugin("kill-once")
    assert marker.exists()  # a worker was killed ...
    (workers,) = [s for s in tracer.stages() if s.name == "workers"]
    assert workers.counts["retries"] >= 1 or when == "memory"  # ... its partition evaluated again ...
    assert _files(out) == _files(alone)  # ... and the dataset is whole and the same, with no part twice


def _dataset_args(out: Path, *more: str) -> list[str]:
    args = _example_args(out, "local:1")[:-2]
    args[args.index("--format") + 1] = "parquet"
    return [*args, "--dataset", *more]


def test_evaluate_dataset_from_the_command_line(
    rules, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dataset_module, "PART_ORGANISATIONS", 3)
    out = tmp_path / "findings"
    assert main(_dataset_args(out)) == 1  # (violations found)
    _dataset(rules, tmp_path / "api")
    assert _files(out) == _files(tmp_path / "api") and len(_files(out)) == 4
    for bad, said in (
        (["--format", "csv"], "--dataset 只用于 Parquet"),
        (["-o", str(tmp_path / "more")], "--dataset 需要一个 -o 文件夹"),
        (["--org", "x"], "--dataset 不能与 --org 同用"),
    ):
        args = _dataset_args(tmp_path / "not", *bad)
        if bad[0] == "--format":
            del args[args.index("--format") : args.index("--format") + 2]
        capsys.readouterr()
        assert main(args) == 2, bad
        assert said in capsys.readouterr().err
    assert not (tmp_path / "not").exists() and not (tmp_path / "more").exists()
    theirs = tmp_path / "theirs"  # a folder the tool did not write: refused, exit 2, left as it was
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep me")
    capsys.readouterr()
    assert main(_dataset_args(theirs)) == 2
    assert (
        "输出文件夹已存在且不是本工具写出的数据集，拒绝覆盖 refusing to replace the folder" in capsys.readouterr().err
    )
    assert _files(theirs) == {"notes.txt": b"keep me"}


def test_a_worker_that_cannot_see_the_dataset_folder_refuses_its_partition(
    rules, client: Client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "not-shared"
    with pytest.raises(ClusterError, match=r"^集群工作进程找不到数据集的临时文件夹") as caught:
        prepare(
            rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", "2024", AS_OF, None, 20,
            shape="cells", cluster=client, dataset=str(missing),
        )  # fmt: skip
    assert caught.value.code == "cluster.dataset_folder" and "the same path" in str(caught.value)
    assert not missing.exists()


@pytest.mark.slow
def test_local_2_and_local_workers_write_the_same_dataset_from_the_command_line(
    rules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dataset_module, "PART_ORGANISATIONS", 3)  # 3 parts of the 8 organisations
    one = tmp_path / "one"
    assert main(_dataset_args(one)) == 1
    # (a LocalCluster of the command line's own; the parts follow the organisations, not the workers: the tests above)
    for name, more in (("local2", ["--cluster", "local:2"]), ("workers2", ["--workers", "2"])):
        out = tmp_path / name
        assert main(_dataset_args(out, *more)) == 1
        assert _files(out) == _files(one), name
    tracer = RecordingTracer()  # local workers write their own parts
    _dataset(rules, tmp_path / "api", workers=2, tracer=tracer)
    (workers,) = [s for s in tracer.stages() if s.name == "workers"]
    assert workers.counts["dataset_bytes"] == sum(len(b) for n, b in _files(one).items() if n.endswith(".parquet"))
    assert _files(tmp_path / "api") == _files(one)
