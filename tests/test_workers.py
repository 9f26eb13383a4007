"""Worker processes (``workers=N``, ``--workers N``): the same report, byte for byte, for any N; every input row
accounted for once; a worker that dies fails the run without output."""

from __future__ import annotations

import datetime as dt
import errno
import io
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import rules_engine.tally as tally_module
import rules_engine.workers as workers_module
from rules_engine import (
    InputError,
    RecordingTracer,
    WorkerError,
    compile_rules,
    evaluate,
    evaluate_to,
    load_rules,
    render_csv,
    render_json,
)
from rules_engine.cli import main
from rules_engine.finding_lines import CHUNK
from rules_engine.load.inputs import read_roster
from rules_engine.model.roster import Membership, Roster
from rules_engine.plan import RosterIndex
from rules_engine.render.frames import write_parquet
from rules_engine.workers import AUTO_MIN_ORGANISATIONS, copy_file, roster_part, roster_parts, split, worker_count

from . import worker_faults
from .conftest import EXAMPLE, ROOT, RULES

AS_OF = "2025-01-15"


@pytest.fixture(scope="module")
def rules():  # type: ignore[no-untyped-def]
    return compile_rules(load_rules(RULES))


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic province with broken rows (invalid dates), plus rows of unknown organisations (one close
    to a real id, one not), a duplicate id in another organisation, an identical duplicate and a row dated after
    the evaluation date."""
    out = tmp_path_factory.mktemp("province")
    synth = ROOT / "benchmarks" / "synth.py"
    command = [sys.executable, str(synth), "--orgs", "24", "--records", "2400", "--out", str(out), "--quiet"]
    subprocess.run([*command, "--bad-per-mille", "20"], check=True)
    records = out / "records.jsonl"
    lines = records.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    extra = [
        {**first, "id": "X-close", "org": first["org"] + "x"},  # unknown, close to a real id
        {**first, "id": "X-far", "org": "nowhere-at-all"},  # unknown, close to nothing: may have been any
        {**first, "org": "o00017" if first["org"] != "o00017" else "o00018"},  # first's id, other content
        dict(first),  # identical duplicate
        {**first, "id": "X-late", "date": "2025-03-01"},  # after the evaluation date
    ]
    lines[40:40] = [json.dumps(row, ensure_ascii=False) for row in extra]
    records.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _variants(rules, roster: Path, records: Path, waivers: list[Path], workers: int) -> Iterator[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    args = {"period": "2024", "as_of": AS_OF, "waivers": waivers, "workers": workers}
    for format, layout in (("json", "v1"), ("json", "v2"), ("csv", "v1"), ("parquet", "v1")):
        out = io.BytesIO()
        evaluate_to(out, rules, roster, records, format=format, report_format=layout, **args)
        yield f"evaluate_to {format} {layout}", out.getvalue()
    report = evaluate(rules, roster, records, **args)
    yield "evaluate v1", render_json(report, report_format="v1")
    yield "evaluate v2", render_json(report, report_format="v2", rules=rules)
    yield "evaluate csv", render_csv(report)
    parquet = io.BytesIO()
    write_parquet(report.findings, parquet)
    yield "evaluate parquet", parquet.getvalue()


def _same_for_any_workers(  # type: ignore[no-untyped-def]
    rules,
    roster: Path,
    records: Path,
    waivers: list[Path],
    one: dict[str, bytes] | None = None,
    counts: tuple[int, ...] = (2, 3),
) -> dict[str, bytes]:
    if one is None:
        one = dict(_variants(rules, roster, records, waivers, 1))
    for n in counts:
        for name, data in _variants(rules, roster, records, waivers, n):
            assert data == one[name], f"{name} with {n} workers differs from one process"
    # the streamed CSV and Parquet files (cells made from columns) are those of the findings' models
    assert one["evaluate_to csv v1"] == one["evaluate csv"]
    assert one["evaluate_to parquet v1"] == one["evaluate parquet"]
    return one


@pytest.fixture(scope="module")
def example_one(rules) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """The example's reports from one process, in every form (evaluated once for the tests that compare with them)."""
    return dict(_variants(rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", [EXAMPLE / "waivers.yaml"], 1))


@pytest.mark.slow
def test_the_example_gives_the_same_bytes_for_any_number_of_workers(rules, example_one: dict[str, bytes]) -> None:  # type: ignore[no-untyped-def]
    one = _same_for_any_workers(
        rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", [EXAMPLE / "waivers.yaml"], example_one
    )
    report = json.loads(one["evaluate_to json v1"])
    assert report["summary"]["waived"] > 0  # the waivers were applied in the workers
    assert report["summary"]["violated"] > 0


@pytest.mark.slow
def test_a_province_with_bad_rows_gives_the_same_bytes_and_accounts_for_each_row_once(rules, province: Path) -> None:  # type: ignore[no-untyped-def]
    records = province / "records.jsonl"
    # (two workers: each row accounted for once, not once a worker; three, a share between two others, the example)
    one = _same_for_any_workers(rules, province / "roster.yaml", records, [], counts=(2,))
    report = json.loads(one["evaluate_to json v1"])
    (source,) = [s for s in report["input"]["sources"] if s["kind"] == "records"]
    lines = len(records.read_text(encoding="utf-8").splitlines())
    assert source["read"] == lines == source["used"] + source["rejected"] + source["excluded"]
    rejections = report["input"]["rejections"]
    ids = [r["record_id"] for r in rejections]
    assert ids.count("X-close") == 1 and ids.count("X-far") == 1  # once, not once per worker
    assert len(rejections) == source["rejected"] > 2  # the invalid dates too
    excluded = [r["record_id"] for r in report["input"]["excluded"]]
    assert "X-late" in excluded
    assert report["summary"]["undeterminable"] > 0  # rejected rows make duties undeterminable, in every worker


@pytest.mark.parametrize(
    ("fault", "code"), [(worker_faults.die_after_setup, 7), (worker_faults.die_at_the_end, 9)], ids=["early", "late"]
)
def test_a_dead_worker_fails_the_run_and_writes_nothing(
    rules, province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault, code: int
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(workers_module, "work", fault)
    out = tmp_path / "report.json"
    with pytest.raises(WorkerError, match=rf"exit code {code}\)"):
        evaluate_to(
            out, rules, province / "roster.yaml", province / "records.jsonl", period="2024", as_of=AS_OF, workers=2
        )
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    exit_code = main(
        [
            *("evaluate", str(province), "--rules", str(RULES), "--period", "2024", "--as-of", AS_OF),
            *("--workers", "2", "--format", "json", "-o", str(out)),
        ]
    )
    assert exit_code == 3 and not out.exists()


@pytest.mark.slow
def test_the_command_line_takes_workers_and_writes_the_same_file(province: Path, tmp_path: Path) -> None:
    args = ["evaluate", str(province), "--rules", str(RULES), "--period", "2024", "--as-of", AS_OF, "--format", "csv"]
    codes = [main([*args, "--workers", str(n), "-o", str(tmp_path / f"{n}.csv")]) for n in (1, 2)]
    assert codes[0] == codes[1] != 2
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()
    with pytest.raises(SystemExit) as exited:
        main([*args, "--workers", "0", "-o", str(tmp_path / "0.csv")])
    assert exited.value.code == 2


@pytest.mark.slow
def test_report_takes_workers_too(province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ["report", str(province), "--rules", str(RULES), "--period", "2024", "--as-of", AS_OF]
    codes = [main([*args, "--workers", str(n), "-o", str(tmp_path / f"{n}.json")]) for n in (1, 2)]
    assert codes[0] == codes[1] != 2
    assert (tmp_path / "1.json").read_bytes() == (tmp_path / "2.json").read_bytes()
    monkeypatch.setattr(workers_module, "work", worker_faults.die_after_setup)  # proof the workers were used
    assert main([*args, "--workers", "2", "-o", str(tmp_path / "dead.json")]) == 3
    assert not (tmp_path / "dead.json").exists()


@pytest.fixture(scope="module")
def province_traced(rules, province: Path) -> tuple[dict[str, int], RecordingTracer]:  # type: ignore[no-untyped-def]
    """The province evaluated by two workers with a tracer (once for the tests that read the tracer): the summary,
    the tracer."""
    tracer = RecordingTracer()
    summary = evaluate_to(
        io.BytesIO(),
        rules,
        province / "roster.yaml",
        province / "records.jsonl",
        period="2024",
        as_of=AS_OF,
        workers=2,
        tracer=tracer,
    )
    return summary, tracer


def test_the_tracer_sees_the_parents_stages_and_the_workers_counts(
    province_traced: tuple[dict[str, int], RecordingTracer],
) -> None:
    summary, tracer = province_traced
    stages = {"/".join(s.path): s for s in tracer.stages()}
    assert {
        "evaluate/roster",
        "evaluate/start",
        "evaluate/intake/read",
        "evaluate/workers",
        "evaluate/findings",
    } <= set(stages)
    counted = stages["evaluate/workers"].counts
    assert counted["findings"] == sum(summary.values())
    assert counted["records"] == stages["evaluate/intake"].counts["records_used"]


def test_worker_count_chooses_one_process_for_small_runs_and_refuses_nonsense() -> None:
    assert worker_count(None, AUTO_MIN_ORGANISATIONS - 1) == 1
    assert worker_count(None, AUTO_MIN_ORGANISATIONS) == workers_module.available_cores()
    assert worker_count(3, 2) == 2  # never a worker without organisations
    assert worker_count(1, 0) == 1
    for bad in (0, -1, True, "2", 1.5):
        with pytest.raises(InputError, match="workers"):
            worker_count(bad, 10)  # type: ignore[arg-type]


def test_split_cuts_the_organisations_into_contiguous_balanced_ranges(province: Path) -> None:
    index = RosterIndex(read_roster(province / "roster.yaml").roster)
    ids = sorted(index.orgs)
    for n in (1, 2, 3, 5, len(ids), len(ids) + 4):
        shares = split(index, n)
        assert [org for share in shares for org in share] == ids  # all, once, in order
        assert len(shares) == min(n, len(ids)) and all(shares)
    weights = [sum(1 + len(index.holders.get(o, ())) for o in share) for share in split(index, 3)]
    assert max(weights) - min(weights) <= 2 * max(1 + len(h) for h in index.holders.values())


@pytest.mark.slow
def test_records_and_roster_handed_over_as_objects_give_the_same_report(rules) -> None:  # type: ignore[no-untyped-def]
    import yaml

    roster = yaml.safe_load((EXAMPLE / "roster.yaml").read_text(encoding="utf-8"))
    lines = (EXAMPLE / "records.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    reports = [render_json(evaluate(rules, roster, records, period="2024", as_of=AS_OF, workers=n)) for n in (1, 2)]
    assert reports[0] == reports[1]
    assert json.loads(reports[0])["input"]["sources"][1]["read"] == len(records)


def test_bad_input_read_by_the_parent_stops_the_workers_with_the_same_error(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "more.json"
    broken.write_text('{"not": "a list"}', encoding="utf-8")
    records = [EXAMPLE / "records.jsonl", broken]  # refused after the first file's rows went to the workers
    errors = []
    for n in (1, 2):
        with pytest.raises(InputError) as raised:
            evaluate(rules, EXAMPLE / "roster.yaml", records, period="2024", as_of=AS_OF, workers=n)
        errors.append(str(raised.value))
    assert errors[0] == errors[1]
    assert multiprocessing.active_children() == []


def _json_file(rules, out: Path, workers: int, layout: str = "v1", tracer: RecordingTracer | None = None) -> bytes:  # type: ignore[no-untyped-def]
    args = {"period": "2024", "as_of": AS_OF, "waivers": [EXAMPLE / "waivers.yaml"], "workers": workers}
    if tracer is not None:
        args["tracer"] = tracer
    evaluate_to(out, rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", report_format=layout, **args)
    return out.read_bytes()


def _refuse(*args: object) -> int:
    raise OSError(errno.ENOSYS, "not here")


@pytest.fixture(scope="module")
def example_files(rules, example_one: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    """The example's JSON report files (v1, v2) written by one process (once for the tests that compare with them):
    the bytes of the reports written to memory."""
    folder = tmp_path_factory.mktemp("one")
    one = {layout: _json_file(rules, folder / f"one-{layout}.json", 1, layout) for layout in ("v1", "v2")}
    assert one == {layout: example_one[f"evaluate_to json {layout}"] for layout in ("v1", "v2")}
    return one


@pytest.mark.parametrize("way", ["copy_file_range", "sendfile", "read and write"])
@pytest.mark.slow
def test_a_report_file_holds_the_same_bytes_whichever_way_the_system_copies_the_workers_findings(
    rules, example_files: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:  # type: ignore[no-untyped-def]
    one = example_files
    if way != "copy_file_range":
        monkeypatch.setattr(os, "copy_file_range", _refuse, raising=False)
    if way == "read and write":
        monkeypatch.setattr(os, "sendfile", _refuse, raising=False)
    for layout in ("v1", "v2"):
        tracer = RecordingTracer()
        out = tmp_path / f"two-{layout}.json"
        assert _json_file(rules, out, 2, layout, tracer) == one[layout]
        (findings,) = [s for s in tracer.stages() if s.path == ("evaluate", "findings")]
        assert findings.counts["bytes"] == out.stat().st_size  # the position after a copy by the system


def test_a_report_written_to_a_pipe_holds_the_same_bytes(rules, example_files: dict[str, bytes]) -> None:  # type: ignore[no-untyped-def]
    one = example_files["v1"]
    read_end, write_end = os.pipe()
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(os.fdopen(read_end, "rb").read()))
    reader.start()
    with os.fdopen(write_end, "wb") as out:
        args = {"period": "2024", "as_of": AS_OF, "waivers": [EXAMPLE / "waivers.yaml"], "workers": 2}
        evaluate_to(out, rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", **args)
    reader.join()
    assert got == [one]


def test_copy_file_goes_on_from_where_a_failed_way_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytes(range(256)) * 5000
    (tmp_path / "spool").write_bytes(data)
    real_range, real_send = os.copy_file_range, os.sendfile

    def range_once(src: int, dst: int, count: int, offset_src: int | None = None) -> int:
        if offset_src:  # the first call copies a little, the next one fails
            raise OSError(errno.EXDEV, "cross-device")
        return real_range(src, dst, 1000, offset_src)

    def send_some(out: int, src: int, offset: int, count: int) -> int:
        if offset > 300_000:
            raise OSError(errno.EINVAL, "not now")
        return real_send(out, src, offset, min(count, 100_000))

    monkeypatch.setattr(os, "copy_file_range", range_once)
    monkeypatch.setattr(os, "sendfile", send_some)
    with open(tmp_path / "spool", "rb") as src, open(tmp_path / "out", "wb") as out:
        out.write(b"head")  # buffered: the copy must come after it
        copy_file(src, len(data), out)
        out.write(b"tail")
    assert (tmp_path / "out").read_bytes() == b"head" + data + b"tail"
    buffer = io.BytesIO()
    with open(tmp_path / "spool", "rb") as src:
        copy_file(src, 70_000, buffer)  # no file descriptor: read and written
    assert buffer.getvalue() == data[:70_000]


def test_a_worker_that_fails_while_records_are_still_handed_over_reports_its_error(
    rules, province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(workers_module, "work", worker_faults.fail_after_setup)
    out = tmp_path / "report.json"
    with pytest.raises(WorkerError, match="the spool's disk is full"):  # not "died": what it said
        evaluate_to(
            out, rules, province / "roster.yaml", province / "records.jsonl", period="2024", as_of=AS_OF, workers=2
        )
    assert list(tmp_path.iterdir()) == []
    assert multiprocessing.active_children() == []
    pool = workers_module.Pool()  # the parent finds out as it hands the worker the next file
    try:
        pool.start(1)
        pool.send(0, ("setup", "setup.pickle"))
        pool.processes[0].join()
        with pytest.raises(WorkerError, match="the spool's disk is full"):
            pool.send(0, ("frame", "in-1.arrow"))
    finally:
        pool.stop()


def test_each_worker_gets_the_holders_of_its_organisations_as_the_whole_roster_has_them() -> None:
    roster = read_roster(EXAMPLE / "roster.yaml").roster
    whole = RosterIndex(roster)
    spanning = [p for p in roster.people if len({post.org for post in p.posts}) > 1]
    assert spanning  # (the example has a person with posts in two organisations, in different shares)
    for n in (2, 3):
        for share in split(whole, n):
            part = roster_part(roster, set(share))
            assert isinstance(part, bytes)
            mine = RosterIndex(Roster.model_validate_json(part))
            for org in share:
                assert mine.holders.get(org) == whole.holders.get(org)
                scope = whole.orgs[org].parent
                while scope is not None:  # its parents up the tree: an overlay's scope follows them
                    assert mine.orgs[scope] == whole.orgs[scope]
                    scope = whole.orgs[scope].parent
            assert len(mine.people) < len(whole.people)
            assert len(mine.orgs) < len(whole.orgs)  # not the whole roster: a worker's memory follows its share
        shares = split(whole, n)  # all at once: the people sorted out in one pass, the same parts
        for share, part in zip(shares, roster_parts(roster, shares), strict=True):
            held = [p for p in roster.people if any(post.org in share for post in p.posts)]
            got = Roster.model_validate_json(part)
            assert got.people == held
            ids = {o.id for o in got.organisations}
            assert [o.id for o in got.organisations] == [o.id for o in roster.organisations if o.id in ids]
    odd = roster.model_copy(update={"people": [roster.people[0].model_copy(update={"name": "\ud800"})]})
    models = roster_part(odd, {roster.people[0].posts[0].org})
    assert isinstance(models, Roster)  # JSON cannot hold it: the models
    assert models.people == odd.people and {o.id for o in models.organisations} <= {o.id for o in odd.organisations}


def test_a_member_of_a_group_of_another_share_s_organisation_goes_to_that_share_too() -> None:
    roster = read_roster(EXAMPLE / "roster.yaml").roster
    whole = RosterIndex(roster)
    first, second = split(whole, 2)
    person = next(p for p in roster.people if p.posts and all(post.org in first for post in p.posts))
    term = Membership.model_construct(org=second[0], group="branch_committee", start=dt.date(2024, 1, 1), end=None)
    member = person.model_copy(update={"groups": [term]})
    people = [member if p is person else p for p in roster.people]
    parts = roster_parts(roster.model_copy(update={"people": people}), [first, second])
    for part in parts:  # (a group's members of an organisation: the same in its share as in the whole roster)
        assert isinstance(part, bytes)
        got = json.loads(part)
        assert person.id in {p["id"] for p in got["people"]}
        assert second[0] in {o["id"] for o in got["organisations"]}


@pytest.mark.slow
def test_workers_start_while_the_roster_is_read_and_only_when_they_will_be_used(
    rules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    started: list[int] = []
    real_start = workers_module.Pool.start

    def start(pool: workers_module.Pool, count: int) -> int:
        started.append(count)
        return real_start(pool, count)

    monkeypatch.setattr(workers_module.Pool, "start", start)
    tracer = RecordingTracer()
    _json_file(rules, tmp_path / "two.json", 2, tracer=tracer)
    order = [s.path for s in tracer.stages()]
    assert order.index(("evaluate", "start")) < order.index(("evaluate", "roster"))
    assert started == [2, 2]
    (start,) = [s for s in tracer.stages() if s.path == ("evaluate", "start")]
    assert start.calls == 2 and start.counts == {"started": 2, "workers": 2}  # started early, none after
    started.clear()
    evaluate(rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of=AS_OF, workers=None)
    assert started == []  # a small roster: one process, no worker started
    big = tmp_path / "roster.yaml"  # a roster file this large most likely has enough organisations
    big.write_bytes((EXAMPLE / "roster.yaml").read_bytes() + b"\n" + b"#" * workers_module.EARLY_ROSTER_BYTES + b"\n")
    report = evaluate(rules, big, EXAMPLE / "records.jsonl", period="2024", as_of=AS_OF, workers=None)
    if workers_module.available_cores() > 1:
        assert started == [workers_module.available_cores()]  # started, then not needed: 8 organisations
    assert multiprocessing.active_children() == []
    assert report.summary["violated"] > 0
    started.clear()
    pool = workers_module.Pool()
    try:
        pool.start(3)
        pool.start(2)  # more started than the roster needs: the others stopped
        assert len(pool.processes) == 2 and len(multiprocessing.active_children()) == 2
    finally:
        pool.stop()
    assert not pool.folder.exists() and multiprocessing.active_children() == []


@pytest.mark.slow
def test_workers_with_more_findings_than_a_block_give_the_same_bytes(rules, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    synth = ROOT / "benchmarks" / "synth.py"
    command = [sys.executable, str(synth), "--orgs", "80", "--records", "4000", "--out", str(tmp_path), "--quiet"]
    subprocess.run(command, check=True)
    args = {"period": "2024", "as_of": AS_OF}
    one = io.BytesIO()
    summary = evaluate_to(one, rules, tmp_path / "roster.yaml", tmp_path / "records.jsonl", workers=1, **args)
    assert sum(summary.values()) > 2 * CHUNK  # each worker spools more than one block of findings
    evaluate_to(tmp_path / "two.json", rules, tmp_path / "roster.yaml", tmp_path / "records.jsonl", workers=2, **args)
    assert (tmp_path / "two.json").read_bytes() == one.getvalue()


def test_the_profile_shows_where_the_workers_time_goes(province_traced: tuple[dict[str, int], RecordingTracer]) -> None:
    """With workers, the ``workers`` stage's counts hold each worker stage's CPU milliseconds, added up."""
    _, tracer = province_traced
    (stage,) = [s for s in tracer.stages() if s.name == "workers"]
    names = ("plan", "intake", "triggers", "waivers", "group", "decide", "findings")
    assert {f"{name}_cpu_ms" for name in names} <= set(stage.counts)
    assert stage.counts["findings_cpu_ms"] > 0 and stage.counts["plan_cpu_ms"] > 0
    assert sum(stage.counts[f"{name}_cpu_ms"] for name in names) <= stage.counts["cpu_ms"]


@pytest.mark.slow
def test_records_filed_on_disk_by_organisation_range_give_the_report_of_records_held_in_memory(
    rules, province: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Past a few records held, each process files its records by organisation range and tallies a few ranges at a
    time: the same bytes as one process holding every record (taints of rejected rows, trigger follow-ups,
    duplicate ids decided by the parent, evidence capped), and the files removed afterwards."""
    roster, records = province / "roster.yaml", province / "records.jsonl"
    args = {"period": "2024", "as_of": AS_OF, "max_evidence": 2}
    held = {}
    for format, layout in (("json", "v1"), ("json", "v2"), ("csv", "v1")):
        out = io.BytesIO()
        evaluate_to(out, rules, roster, records, format=format, report_format=layout, workers=1, **args)
        held[format, layout] = out.getvalue()
    report = json.loads(held["json", "v1"])
    findings = report["findings"]
    started = [f for f in findings if f["subject"]["kind"] == "record"]
    assert any(f["rule_id"] == "ZZ-DC-01" for f in started)  # duties started by trigger records
    assert any(len(f["evidence"]) < f["count"] for f in findings)  # evidence capped
    assert report["summary"]["undeterminable"] > 0  # rejected rows taint duties
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # (where one process files its records)
    monkeypatch.setattr(tally_module, "SPILL_ROWS", 10)
    monkeypatch.setattr(tally_module, "SPILL_RANGES", 7)
    monkeypatch.setattr(tally_module, "GROUP_RECORDS", 150)
    groups = []
    read_group = tally_module.RecordColumns._read_group

    def spy(folder: Path, numbers: list[int]):  # type: ignore[no-untyped-def]
        groups.append(numbers)
        return read_group(folder, numbers)

    monkeypatch.setattr(tally_module.RecordColumns, "_read_group", staticmethod(spy))
    for workers in (1, 3):
        for (format, layout), expected in held.items():
            out = io.BytesIO()
            evaluate_to(out, rules, roster, records, format=format, report_format=layout, workers=workers, **args)
            assert out.getvalue() == expected, (workers, format, layout)
    assert len(groups) > 3 * 3  # one process read its records back a few ranges at a time
    assert list(tmp_path.iterdir()) == []  # its files removed


@pytest.mark.slow
def test_a_spilled_worker_concludes_its_share_a_group_of_ranges_at_a_time_with_the_bytes_of_one_group(
    rules, example_one: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Past the spill limit a worker tallies, decides, escalates and writes its findings one group of organisation
    ranges at a time: the report (every layout; waivers applied in several groups, escalations, the summary added up)
    is the bytes of one process holding every record, and the groups are several per worker."""
    roster, records, waivers = EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", [EXAMPLE / "waivers.yaml"]
    whole = example_one  # (one process, every record held)
    report = json.loads(whole["evaluate_to json v1"])
    assert report["summary"]["waived"] > 0
    raised = [f for f in report["findings"] if f["rule_id"].startswith("ZZ-ESC-") and f["status"] == "violated"]
    assert raised  # escalations raised, over the findings of one organisation
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tally_module, "SPILL_ROWS", 40)
    monkeypatch.setattr(tally_module, "SPILL_RANGES", 8)
    for name, data in _variants(rules, roster, records, waivers, 2):
        assert data == whole[name], name
    tracer = RecordingTracer()
    evaluate_to(io.BytesIO(), rules, roster, records, period="2024", as_of=AS_OF, workers=2, tracer=tracer)
    (stage,) = [s for s in tracer.stages() if s.name == "workers" and s.depth == 1]
    assert stage.counts["parts"] > 2 * 2  # several groups in each worker
