"""The monitor's incremental count (rules_engine.monitor.core: the new records of a post tallied alone and added,
trigger records starting their duties over their organisation's records) against the full path (every stored
record counted again with the batch pipeline: what a clock event does): records posted in random order and in
random batches leave the session's duties (count, state) exactly where counting everything again puts them."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import rules_engine as re_
from rules_engine.monitor import Monitor

# the example and a generated province posted in random batches and counted again: about 20 s of CPU
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "county-2024"
WAIVERS = [str(EXAMPLE / "waivers.yaml")]


@pytest.fixture(scope="module")
def compiled() -> re_.CompiledRules:
    return re_.compile_rules(re_.load_rules(ROOT / "rules"))


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated province (benchmarks/synth.py): trigger rules (inspection feedback and its rectification
    report), pairs (talks), portfolios, near misses."""
    out = tmp_path_factory.mktemp("province")
    script = ROOT / "benchmarks" / "synth.py"
    subprocess.run([sys.executable, str(script), "--orgs", "6", "--records", "700", "--out", str(out), "--quiet"])
    assert (out / "records.jsonl").exists()
    return out


def _post_in_random_batches(m: Monitor, rows: list[tuple[int, Any]], source: str, seed: int) -> None:
    rng = random.Random(seed)
    rng.shuffle(rows)
    at = 0
    while at < len(rows):
        n = rng.choice((1, 1, 2, 5, 17, 60))
        part = rows[at : at + n]
        at += n
        m.post([r for _, r in part], source=source, lines=[n for n, _ in part])
        assert m.unsettled == 0


def _counted_again(m: Monitor) -> None:
    """The full path: the clock event on the same day counts every duty again with the batch pipeline."""
    before = m.duties()
    assert before and any(d["count"] for d in before)
    changes = m.tick(m.clock)
    assert m.duties() == before
    assert changes == []


def test_the_example_counted_as_it_arrives_equals_counting_it_all_again(compiled: re_.CompiledRules) -> None:
    path = EXAMPLE / "records.jsonl"
    rows = [(i, json.loads(t)) for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
    m = Monitor(compiled, EXAMPLE / "roster.yaml", period="2024", clock="2024-12-01", waivers=WAIVERS)
    _post_in_random_batches(m, rows, str(path), 14)
    assert {d["state"] for d in m.duties()} >= {"met", "missed"}
    _counted_again(m)


def test_a_generated_province_with_triggers_counted_as_it_arrives(compiled: re_.CompiledRules, province: Path) -> None:
    path = province / "records.jsonl"
    rows: list[tuple[int, Any]] = [
        (i, json.loads(t)) for i, t in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
    ]
    feedback = [r for _, r in rows if r["type"] == "ducha_fankui"]
    assert len(feedback) > 5
    # a rejected row of a trigger type (its duty cannot be judged), and records dated after the clock (counted by
    # the clock event that passes their date)
    n = len(rows)
    rows.append((n + 1, dict(feedback[0], id="BAD-1", date="2024-02-30")))
    m = Monitor(compiled, province / "roster.yaml", period="2024", clock="2024-09-20")
    _post_in_random_batches(m, rows, str(path), 7)
    duties = m.duties()
    started = [d for d in duties if d["rule_id"] == "ZZ-DC-01"]
    assert len(started) > 5 and {d["count"] for d in started} >= {0, 1}
    assert any(d["subject_id"] == "BAD-1" for d in started)
    _counted_again(m)
    # after the clock moves on, records posted then are counted as they arrive again
    m.tick("2024-12-31")
    more = [(n + 2, dict(feedback[1], id="LATE-1", date="2024-12-20"))]
    more.append((n + 3, {"id": "LATE-2", "org": feedback[1]["org"], "type": "zhenggai_baogao", "date": "2024-12-28"}))
    _post_in_random_batches(m, more, str(path), 3)
    assert any(d["subject_id"] == "LATE-1" and d["count"] == 1 for d in m.duties())
    _counted_again(m)
