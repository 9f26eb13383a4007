"""The monitor (rules_engine.monitor): records posted one by one in any order give the batch report's findings;
duties kept as durable_rules facts change as records arrive and as the clock moves; a monitor started again on
its journal (the findings store) answers the same."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest

import rules_engine as re_
from rules_engine.engine import _session
from rules_engine.identity import identity
from rules_engine.monitor import Monitor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-2024"
RECORDS = EXAMPLE / "records.jsonl"
ROSTER = EXAMPLE / "roster.yaml"
WAIVERS = [str(EXAMPLE / "waivers.yaml")]
AS_OF = "2025-01-15"


@pytest.fixture(scope="module")
def compiled() -> re_.CompiledRules:
    return re_.compile_rules(re_.load_rules(ROOT / "rules"))


@pytest.fixture(scope="module")
def batch(compiled: re_.CompiledRules) -> re_.Report:
    return re_.evaluate(compiled, ROSTER, str(RECORDS), period="2024", as_of=AS_OF, waivers=WAIVERS)


@pytest.fixture(scope="module")
def posted(compiled: re_.CompiledRules) -> Monitor:
    """The example's records posted one by one in random order (duties brought up to date at the end)."""
    rows = [(i, json.loads(line)) for i, line in enumerate(RECORDS.read_text(encoding="utf-8").splitlines(), 1)]
    random.Random(14).shuffle(rows)
    m = Monitor(compiled, ROSTER, period="2024", clock="2024-12-01", waivers=WAIVERS, settle=False)
    for line, row in rows:
        answers, changes = m.post([row], source=str(RECORDS), lines=[line])
        assert len(answers) == 1 and not changes
    m.settle()
    return m


def _json(findings: list[re_.Finding]) -> list[str]:
    return [f.model_dump_json() for f in findings]


def test_posted_in_random_order_gives_the_batch_findings(posted: Monitor, batch: re_.Report) -> None:
    report = posted.report(AS_OF)
    assert _json(report.findings) == _json(batch.findings)
    assert report.input == batch.input


def test_posting_answers_as_the_batch_intake_does(posted: Monitor, batch: re_.Report) -> None:
    rows = posted.rows()
    rejected = [r for r in rows if r.status != "accepted"]
    assert [r.problem for r in rejected] == batch.input.rejections  # the same code, reason and place
    assert [r.problem.code for r in rejected if r.problem] == ["row.date.invalid"]
    again = posted.post([json.loads(RECORDS.read_text(encoding="utf-8").splitlines()[0])])[0][0]
    assert again.status == "excluded" and again.problem is not None
    assert again.problem.code == "row.duplicate.identical"
    unknown = posted.post([{"id": "X1", "org": "nowhere", "type": "tanxin_tanhua", "date": "2024-03-01"}])[0][0]
    assert unknown.status == "rejected" and unknown.problem is not None and unknown.problem.code == "row.org.unknown"


def test_duties_held_in_the_session_count_as_the_batch(posted: Monitor, compiled: re_.CompiledRules) -> None:
    at_clock = re_.evaluate(compiled, ROSTER, str(RECORDS), period="2024", as_of="2024-12-01", waivers=WAIVERS)
    # each duty's count and minimum (the overlay pack's where it governs: the roster's parents are followed)
    counts = {
        identity(f): (f.count, f.params["at_least"]["value"]) for f in at_clock.findings if "at_least" in f.params
    }
    duties = posted.duties()
    assert duties and all(counts[d["duty"]] == (d["count"], d["required"]) for d in duties)
    assert len({d["required"] for d in duties}) > 1
    assert {d["state"] for d in duties} <= set(_session.STATES)
    # what durable_rules itself holds is what the monitor reports
    held = {f["id"]: f["st"] for org in {d["organisation_id"] for d in duties} for f in posted._session.stored(org)}
    assert held == {d["duty"]: d["state"] for d in duties}


def test_generated_data_posted_one_by_one(compiled: re_.CompiledRules, tmp_path: Path) -> None:
    roster = yaml_roster(tmp_path)
    rng = random.Random(7)
    types = ["tanxin_tanhua", "zhuanti_huiyi", "geibie_zhidao"]
    rows = []
    for i in range(1, 121):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(366))
        rows.append(
            {
                "id": f"G{i:04d}",
                "org": rng.choice(["t1", "t2"]),
                "type": rng.choice(types),
                "date": day.isoformat(),
                "chair": rng.choice(["a1", "a2", "b1", "zz"]),
                "participants": rng.sample(["a1", "a2", "b1", "b2"], 2),
            }
        )
    # the file in the monitor's reading order (accepted records by date and id), then an identical duplicate
    # and a record with a bad date that repeats an id
    rows.sort(key=lambda r: (r["date"], r["id"]))
    rows += [dict(rows[3]), dict(rows[5], date="2024-02-30")]
    texts = [json.dumps(r, ensure_ascii=False) for r in rows]
    texts.append('{"id": "G9999", "org": "t1", "type": "zhuanti_huiyi", "date": "2024-03-0')  # not JSON: salvaged
    path = tmp_path / "records.jsonl"
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    batch = re_.evaluate(compiled, roster, str(path), period="2024", as_of=AS_OF)
    assert [r.code for r in batch.input.rejections] == ["row.date.invalid", "row.json.malformed"]
    m = Monitor(compiled, roster, period="2024", clock="2024-06-30", settle=False)
    order = list(enumerate(texts, 1))
    rng.shuffle(order)
    for line, text in order:  # as lines of JSON Lines, each read as the batch reader reads a line
        m.post_lines([text], source=str(path), lines=[line])
    assert _json(m.findings(AS_OF)) == _json(batch.findings)
    assert m.account(AS_OF).model_dump() == batch.input.model_dump(), _diff(m.account(AS_OF), batch.input)


def yaml_roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.yaml"
    path.write_text(
        """\
organisations:
  - {id: t1, name: 一镇党委, kind: local_committee, level: township}
  - {id: t2, name: 二镇党委, kind: local_committee, level: township}
people:
  - id: a1
    name: 甲一
    posts: [{org: t1, role: secretary, start: 2020-01-01}]
  - id: a2
    name: 甲二
    posts: [{org: t1, role: deputy_secretary, portfolios: [宣传], start: 2020-01-01}]
  - id: b1
    name: 乙一
    posts: [{org: t2, role: secretary, start: 2020-01-01}]
  - id: b2
    name: 乙二
    posts: [{org: t2, role: member, portfolios: [组织], start: 2024-03-01}]
""",
        encoding="utf-8",
    )
    return path


def test_a_record_changes_its_duty_as_it_arrives_and_the_clock_raises_the_rest(
    compiled: re_.CompiledRules, tmp_path: Path
) -> None:
    m = Monitor(compiled, yaml_roster(tmp_path), period="2024", clock="2024-01-02", horizon=30)
    duties = {(d["organisation_id"], d["rule_id"], d["subject_id"], d["window_end"]): d for d in m.duties()}
    assert duties and {d["state"] for d in duties.values()} == {"open"}
    meeting = ("t1", "ZZ-08-01", "a1", "2024-06-30")  # the secretary chairs a dedicated meeting each half-year
    assert duties[meeting]["required"] == 1
    record = {"id": "M1", "org": "t1", "type": "zhuanti_huiyi", "date": "2024-01-02", "chair": "a1", "participants": []}
    answers, changes = m.post([record])
    assert [a.status for a in answers] == ["accepted"]
    # the meeting completes the secretary's duty and the committee's (ZZ-DW-01) of the first half-year
    assert sorted((c.rule_id, c.subject_id, c.window_end, c.before, c.after, c.seq) for c in changes) == [
        ("ZZ-08-01", "a1", "2024-06-30", "open", "met", 1),
        ("ZZ-DW-01", "t1", "2024-06-30", "open", "met", 1),
    ]
    # the clock event: near the end of the first half-year (30 days), then past it
    raised = m.tick("2024-06-10")
    assert raised and all(c.seq is None for c in raised)
    # windows over by then (the first quarter) are missed at once; those ending within 30 days are warned
    assert {(c.before, c.after) for c in raised if c.window_end < "2024-06-10"} == {("open", "missed")}
    warned = [c for c in raised if c.window_end >= "2024-06-10"]
    assert warned and {(c.before, c.after) for c in warned} == {("open", "warned")}
    assert all(c.window_end <= "2024-07-10" for c in warned)
    assert ("t2", "ZZ-08-01", "b1", "2024-06-30") in {
        (c.organisation_id, c.rule_id, c.subject_id, c.window_end) for c in warned
    }
    missed = m.tick("2024-07-01")
    assert missed and {(c.before, c.after) for c in missed} == {("warned", "missed")}
    assert {c.duty for c in missed} <= {c.duty for c in warned}
    state = {(d["organisation_id"], d["rule_id"], d["subject_id"], d["window_end"]): d["state"] for d in m.duties()}
    assert state[meeting] == "met" and state[("t2", "ZZ-08-01", "b1", "2024-06-30")] == "missed"
    # a late record for an ended window (known only now) still completes the duty, as the batch report counts it
    late = dict(record, id="M2", org="t2", chair="b1", date="2024-06-20")
    assert [(c.before, c.after) for c in m.post([late])[1] if c.rule_id == "ZZ-08-01"] == [("missed", "met")]
    with pytest.raises(re_.InputError, match="does not go back"):
        m.tick("2024-06-01")


def test_posts_are_taken_while_a_count_applies_its_counts(compiled: re_.CompiledRules, tmp_path: Path) -> None:
    """A settle holds the monitor's lock only to take the records waiting: while it tallies them and applies the
    counts to the durable_rules session, a post is taken (the group commit does not wait for the count); the
    records posted meanwhile wait for the next settle, and the counts are those of every record."""
    m = Monitor(compiled, yaml_roster(tmp_path), period="2024", clock="2024-12-01", settle=False)
    first = {"id": "M1", "org": "t1", "type": "zhuanti_huiyi", "date": "2024-01-02", "chair": "a1", "participants": []}
    second = dict(first, id="M2", org="t2", chair="b1")
    assert [a.status for a in m.post([first])[0]] == ["accepted"] and m.unsettled == 1
    apply = m._apply
    meanwhile: list[Any] = []

    def applying(work: Any) -> list[Any]:
        poster = threading.Thread(target=lambda: meanwhile.append(m.post([second])))
        poster.start()
        poster.join(timeout=60)  # (a post that waits for the monitor's lock would wait for this settle: forever)
        meanwhile.append(poster.is_alive())
        return apply(work)

    m._apply = applying  # type: ignore[method-assign]
    m.settle()
    assert meanwhile[-1] is False, "the post waited for the count"
    assert [a.status for a in meanwhile[0][0]] == ["accepted"] and m.unsettled == 1
    m._apply = apply  # type: ignore[method-assign]
    m.settle()
    state = {(d["organisation_id"], d["rule_id"], d["subject_id"], d["window_end"]): d["state"] for d in m.duties()}
    assert (
        state[("t1", "ZZ-08-01", "a1", "2024-06-30")] == "met"
        and state[("t2", "ZZ-08-01", "b1", "2024-06-30")] == "met"
    )


class _Written:
    """A journal in memory: what the monitor wrote, in order (the rows' numbers, how many changes, the clock)."""

    def __init__(self) -> None:
        self.writes: list[tuple[list[int], int, str | None]] = []

    def rows(self) -> list[Any]:
        return []

    def clock(self) -> str | None:
        return None

    def states(self) -> dict[str, str]:
        return {}

    def write(self, rows: Any, changes: Any, clock: str | None) -> None:
        self.writes.append(([r.seq for r in rows], len(changes), clock))


def _meeting(**changes: Any) -> dict[str, Any]:
    """A dedicated meeting of t1 chaired by its secretary early in 2024, with `changes`."""
    record: dict[str, Any] = {
        "id": "M1",
        "org": "t1",
        "type": "zhuanti_huiyi",
        "date": "2024-01-02",
        "chair": "a1",
        "participants": [],
    }
    return {**record, **changes}


def test_posts_are_taken_and_committed_while_the_clock_event_counts_everything_again(
    compiled: re_.CompiledRules, tmp_path: Path
) -> None:
    """The clock event counts every duty again (minutes on a large roster) outside the monitor's lock: a post is
    accepted and written to the journal meanwhile; the records waiting when it began are counted by it, those
    posted during it by the next settle, on top of its counts: each once, as a full count gives."""
    journal = _Written()
    m = Monitor(compiled, yaml_roster(tmp_path), period="2024", clock="2024-03-01", settle=False, journal=journal)
    journal.writes.clear()  # (the duties' first states, written by the rebuild)
    meeting = _meeting()
    waiting = [meeting, _meeting(id="M2", type="tanxin_tanhua", chair="a2", participants=["a1"])]
    assert [a.status for a in m.post(waiting)[0]] == ["accepted", "accepted"] and m.unsettled == 2
    # posted while the count runs: a record dated after the old clock (before the new one), and one that a record
    # waiting before also counts for (the same duty: counted twice if the waiting record were counted again)
    during = [
        _meeting(id="M3", org="t2", chair="b1", date="2024-07-03"),
        _meeting(id="M4", date="2024-02-10"),
    ]
    count = m._count
    meanwhile: list[Any] = []

    def counting(*args: Any) -> Any:
        poster = threading.Thread(target=lambda: meanwhile.append(m.post(during)))
        poster.start()
        poster.join(timeout=60)  # (a post that waits for the monitor's lock would wait for this count: forever)
        meanwhile.append(poster.is_alive())
        return count(*args)

    m._count = counting  # type: ignore[method-assign]
    try:
        ticked = m.tick("2024-07-05")
    finally:
        m._count = count  # type: ignore[method-assign]
    assert meanwhile[-1] is False, "the post waited for the clock event's count"
    assert [a.status for a in meanwhile[0][0]] == ["accepted", "accepted"]
    # committed before the clock event was written; they wait for the next settle, the others were counted
    assert journal.writes == [([1, 2], 0, None), ([3, 4], 0, None), ([], len(ticked), "2024-07-05")]
    assert m.unsettled == 2
    state = {(d["organisation_id"], d["rule_id"], d["subject_id"], d["window_end"]): d for d in m.duties()}
    assert state[("t1", "ZZ-08-01", "a1", "2024-06-30")]["count"] == 1  # (M1, counted by the clock event)
    assert state[("t2", "ZZ-08-01", "b1", "2024-12-31")]["count"] == 0  # (M3: not yet)
    m.settle()
    assert m.unsettled == 0
    state = {(d["organisation_id"], d["rule_id"], d["subject_id"], d["window_end"]): d for d in m.duties()}
    assert state[("t1", "ZZ-08-01", "a1", "2024-06-30")]["count"] == 2  # (M1 and M4, each once)
    assert state[("t2", "ZZ-08-01", "b1", "2024-12-31")]["state"] == "met"
    counted = m.duties()
    assert m.tick(m.clock) == [] and m.duties() == counted  # counting everything again changes nothing


def test_a_monitor_restarted_after_posts_during_a_clock_event_answers_the_same(
    compiled: re_.CompiledRules, tmp_path: Path
) -> None:
    """The rows posted during a clock event's count are in the store before the clock event (its date and its
    changes); a restart from the store, then or after the next settle, holds the same duties."""
    pytest.importorskip("sqlalchemy")
    from rules_engine.monitor.journal import Journal

    roster, db = yaml_roster(tmp_path), str(tmp_path / "store.db")
    journal = Journal(db)
    m = Monitor(compiled, roster, period="2024", clock="2024-03-01", settle=False, journal=journal)
    meeting = _meeting()
    m.post([meeting])
    count = m._count

    def counting(*args: Any) -> Any:
        poster = threading.Thread(target=lambda: m.post([_meeting(id="M2", org="t2", chair="b1")]))
        poster.start()
        poster.join(timeout=60)
        assert not poster.is_alive(), "the post waited for the clock event's count"
        return count(*args)

    m._count = counting  # type: ignore[method-assign]
    try:
        m.tick("2024-07-05")
    finally:
        m._count = count  # type: ignore[method-assign]
    stopped = m.duties()  # (M2 not counted yet: a server stopped here counts it when it starts again)
    journal.close()
    m.close()
    journal = Journal(db)
    again = Monitor(compiled, roster, period="2024", clock="2024-01-01", journal=journal)
    assert again.clock == dt.date(2024, 7, 5) and again.unsettled == 0
    m = Monitor(compiled, roster, period="2024", clock="2024-07-05", settle=False)  # (the same rows, no store)
    m.post([meeting, _meeting(id="M2", org="t2", chair="b1")])
    m.settle()
    assert again.duties() == m.duties() != stopped
    written = journal.changes()
    journal.close()
    again.close()
    journal = Journal(db)
    assert Monitor(compiled, roster, period="2024", clock="2024-01-01", journal=journal).duties() == m.duties()
    assert journal.changes() == written  # (nothing new: rebuilt as it was stored)
    journal.close()


def test_the_monitoring_rules_are_complete_and_exclusive() -> None:
    assert _session.prove() == []
    broken = dict(_session.RULES)
    del broken["wait_warned"]
    try:
        _session.RULES.clear()
        _session.RULES.update(broken)
        assert _session.prove()
    finally:
        _session.RULES.clear()
        _session.RULES.update(dict(sorted(broken.items())))
        _session.RULES["wait_warned"] = ((("st", "==", "warned"), ("short", ">", 0), ("over", "==", 0)), None)


@pytest.mark.slow  # (about 5 s of CPU on each store)
def test_a_restarted_monitor_rebuilds_from_its_journal(
    compiled: re_.CompiledRules, tmp_path: Path, fresh_store: str
) -> None:
    """On SQLite and on PostgreSQL (tests/postgres.py)."""
    pytest.importorskip("sqlalchemy")
    from rules_engine.monitor.journal import Journal

    roster = yaml_roster(tmp_path)
    db = fresh_store
    rows = [
        {
            "id": f"J{i}",
            "org": "t1",
            "type": "tanxin_tanhua",
            "date": f"2024-0{1 + i % 8}-1{i % 9}",
            "chair": "a1",
            "participants": ["a2"],
        }
        for i in range(12)
    ] + [{"id": "J3", "org": "t2", "type": "tanxin_tanhua", "date": "2024-02-01"}, {"id": "bad"}]
    journal = Journal(db)
    m = Monitor(compiled, roster, period="2024", clock="2024-03-01", journal=journal)
    answers = [a for row in rows for a in m.post([row])[0]]
    m.tick("2024-07-01")
    before = (m.report(AS_OF).model_dump_json(), m.duties(), answers)
    changes = journal.changes()
    assert changes and any(c.after == "missed" for c in changes)
    journal.close()
    m.close()
    journal = Journal(db)
    again = Monitor(compiled, roster, period="2024", clock="2024-01-01", journal=journal)
    assert again.clock == dt.date(2024, 7, 1)
    assert (again.report(AS_OF).model_dump_json(), again.duties()) == before[:2]
    assert journal.changes() == changes  # nothing new: the state was rebuilt as it was
    assert [r.status for r in again.rows()] == [a.status for a in before[2]]
    journal.close()


def _diff(a: re_.InputAccount, b: re_.InputAccount) -> str:
    x, y = a.model_dump(mode="json"), b.model_dump(mode="json")
    out = []
    for key in x:
        if x[key] != y[key]:
            out += [f"{key}: {i}: {p} != {q}" for i, (p, q) in enumerate(zip(x[key], y[key], strict=False)) if p != q][
                :3
            ]
            out.append(f"{key}: {len(x[key])} vs {len(y[key])}")
    return "\n".join(out)


def test_the_core_needs_neither_the_web_framework_nor_the_store() -> None:
    import subprocess
    import sys

    code = (
        "import sys, rules_engine.monitor as m; m.Monitor; import rules_engine.monitor.core; "
        "print(sorted(x for x in ('fastapi', 'uvicorn', 'starlette', 'sqlalchemy', 'alembic') if x in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_clock_event_writes_its_changes_a_few_at_a_time_and_a_stop_between_is_made_good_on_restart(
    compiled: re_.CompiledRules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A count's changes go to the journal CHANGES_PER_WRITE a transaction (posts are committed between two), the
    monitor's pause called before each and the clock written with the last. A stop between two (here: the store
    refusing the second) loses nothing: the monitor started again on the journal writes the changes missing, and
    the journal then tells what a clock event written whole tells."""
    pytest.importorskip("sqlalchemy")
    from rules_engine.monitor import core
    from rules_engine.monitor.journal import Journal

    monkeypatch.setattr(core, "CHANGES_PER_WRITE", 3)
    roster = yaml_roster(tmp_path)
    order: list[Any] = []
    journal = _Written()
    m = Monitor(compiled, roster, period="2024", clock="2024-01-02", journal=journal)
    journal.writes.clear()
    journal.write = lambda rows, changes, clock: order.append((len(changes), clock))  # type: ignore[method-assign]
    m.pause = lambda: order.append("pause")
    raised = m.tick("2024-07-01")
    writes = [w for w in order if w != "pause"]
    assert len(raised) > 3 and sum(n for n, _ in writes) == len(raised) and all(n <= 3 for n, _ in writes)
    assert [c for _, c in writes] == [None] * (len(writes) - 1) + ["2024-07-01"]
    assert all(order[i - 1] == "pause" for i, w in enumerate(order) if w != "pause")  # (each write after a pause)

    whole, cut = Journal(str(tmp_path / "whole.db")), Journal(str(tmp_path / "cut.db"))
    Monitor(compiled, roster, period="2024", clock="2024-01-02", journal=whole).tick("2024-07-01")
    m = Monitor(compiled, roster, period="2024", clock="2024-01-02", journal=cut)
    write, calls = cut.write, []

    def failing(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("the store went away")
        write(*args)

    cut.write = failing  # type: ignore[method-assign]
    with pytest.raises(OSError):
        m.tick("2024-07-01")
    cut.write = write  # type: ignore[method-assign]
    assert cut.states() != whole.states()
    again = Monitor(compiled, roster, period="2024", clock="2024-07-01", journal=cut)
    assert (
        cut.states() == whole.states()
        and again.duties() == Monitor(compiled, roster, period="2024", clock="2024-01-02", journal=whole).duties()
    )
    for j in (whole, cut):
        j.close()
