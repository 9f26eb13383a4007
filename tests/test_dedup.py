"""Duplicate record ids are found exactly, whether the index of ids is in memory or has moved to disk."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules_engine import evaluate_to, load_rules
from rules_engine.load.dedup import SeenIds

from .conftest import rec
from .test_evaluate import ORG_RULE


def test_seen_ids_answers_the_same_in_memory_and_on_disk() -> None:
    ids = [f"r{i % 23}" for i in range(100)] + ["r5", "new", "new"]
    results = []
    for limit, use_json in ((10_000, True), (4, True), (4, False)):  # in memory; on disk (JSON1 or row by row)
        seen = SeenIds(limit, use_json=use_json)
        out = []
        for start in range(0, len(ids), 7):
            chunk = ids[start : start + 7]
            out += seen.check([(rid, (len(rid), start + i)) for i, rid in enumerate(chunk)])
        seen.finish()  # raises what the helper thread met
        results.append((out, seen.on_disk))
        seen.close()
    (in_memory, spilled), (on_disk, did_spill), (row_by_row, _) = results
    assert not spilled and did_spill
    assert in_memory == on_disk == row_by_row
    assert in_memory[:23] == [None] * 23  # first occurrences
    assert in_memory[23] == (2, 0) and in_memory[-3] == (2, 5)  # the place of the first r0, r5
    assert in_memory[-2:] == [None, (3, 101)]  # a duplicate inside one batch


def test_duplicates_after_the_index_moved_to_disk_are_reported_alike(make_pack, township, tmp_path: Path, monkeypatch):
    intake_module = importlib.import_module("rules_engine.intake")
    rules = load_rules(make_pack(("ORG-1", ORG_RULE)))
    rows = []
    for i in range(60):
        rows.append(rec(f"r{i}", "meeting", f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", "s1"))
        if i % 9 == 4:
            rows.append(rows[-1 - i % 3])  # identical duplicate of a recent row
        if i % 11 == 6:
            rows.append(rec(f"r{i // 2}", "meeting", "2024-08-08", "s1"))  # an earlier id, other content
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    outputs = []
    for batch, spill in ((100_000, 1_000_000), (4, 5), (1, 0)):
        monkeypatch.setattr(intake_module, "_BATCH", batch)
        monkeypatch.setattr(intake_module, "_SPILL_AT", spill)
        out = tmp_path / f"report-{batch}.json"
        evaluate_to(out, rules, township, path, period="2024", as_of="2025-01-01")
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    report = json.loads(outputs[0])
    first: dict[str, tuple[int, dict]] = {}  # the plain way: every id with its first line and content
    expected = []
    for line, row in enumerate(rows, start=1):
        if row["id"] not in first:
            first[row["id"]] = (line, row)
            continue
        earlier, content = first[row["id"]]
        kind = "identical, counted once" if content == row else "with different content"
        expected.append((line, f"{path}:{earlier}", kind))
    set_aside = report["input"]["rejections"] + report["input"]["excluded"]  # identical ones are excluded
    got = sorted((r["line"], r["reason"]["en"]) for r in set_aside)
    assert all("counted once" in r["reason"]["en"] for r in report["input"]["excluded"])
    assert len(got) == len(expected) and len(expected) >= 10
    for (line, reason), (want_line, place, kind) in zip(got, expected, strict=True):
        assert line == want_line and place in reason and kind in reason, (line, reason)


def test_ids_are_compared_exactly_on_disk_too() -> None:
    """Quotes, backslashes, Chinese, NUL inside an id and differently composed accents stay distinct ids."""
    ids = ['a"b', "a\\b", "记录1", "x\x00y", "x\x00z", "tab\there", "x\x00y", "记录1", "e\u0301", "\u00e9", "a\\b"]
    ids += ["x", "\x01780079", "\x01780079", "lone\ud800", "lone\ud800"]  # x\0y's stored form; a lone surrogate
    for use_json in (True, False):
        seen = SeenIds(0, use_json=use_json)  # on disk from the first batch
        out = seen.check([(ids[0], (0, 0))])
        out += seen.check([(rid, (0, n)) for n, rid in enumerate(ids[1:], start=1)])
        seen.finish()  # raises what the helper thread met
        assert seen.on_disk
        seen.close()
        assert out == [None] * 6 + [(0, 3), (0, 2), None, None, (0, 1), None, None, (0, 12), None, (0, 14)]


@pytest.mark.parametrize("collide", [False, True])
def test_ids_added_as_columns_are_found_by_both_lookups_compared_as_strings(
    monkeypatch: pytest.MonkeyPatch, collide: bool
) -> None:
    """Ids added as columns, a block at a time (runs merged as they grow), are found by `seen` and `check` with
    the digest and place they were added with; an id that shares only a hash with one of them is not (`collide`:
    every id gets the same hash)."""

    from rules_engine.load import dedup  # (its hash, replaced below)

    if collide:
        monkeypatch.setattr(dedup, "_hashes", lambda ids: pl.repeat(7, len(ids), dtype=pl.UInt64, eager=True))
    seen = SeenIds(10)
    for start in range(0, 50, 7):  # blocks of 7 ids: runs of several sizes
        ids = pl.Series([f"c{i}" for i in range(start, min(start + 7, 50))])
        assert not seen.seen(ids).any()
        seen.add_columns(ids, -pl.Series(range(start, start + len(ids))) - 1, pl.Series(range(start, start + len(ids))))
    assert seen.seen(pl.Series(["c3", "x", "c49", "c0", "c50"])).to_list() == [True, False, True, True, False]
    out = seen.check([("c12", (1, 100)), ("y", (2, 101)), ("y", (3, 102)), ("c40", (4, 103))])
    assert out == [(-13, 12), None, (2, 101), (-41, 40)]
    assert seen.seen(pl.Series(["y", "z"])).to_list() == [True, False]  # `check` remembered y, not c12
    seen.close()


_IDS = st.text(alphabet="ab\x00é记", max_size=3)  # few distinct ids: repeats across and within batches
_STEPS = st.lists(st.tuples(st.booleans(), st.lists(_IDS, max_size=12)), max_size=12)


@settings(max_examples=150, deadline=None)
@given(steps=_STEPS, limit=st.sampled_from([0, 3, 10_000]), buckets=st.sampled_from([0, 1, 4]))
def test_seen_ids_agrees_with_a_plain_dict(steps: list[tuple[bool, list[str]]], limit: int, buckets: int) -> None:
    """Any mix of blocks added as columns (after `seen`, as the intake does) and batches checked row by row gives
    the answers of a plain dict of first occurrences; `buckets`: the hash replaced by one with that many values
    (0: the real one), so that many different ids share a hash and only comparing the ids tells them apart."""
    from rules_engine.load import dedup

    def few(ids: pl.Series) -> pl.Series:
        return ids.str.len_bytes().cast(pl.UInt64) % buckets

    first: dict[str, tuple[int, int]] = {}  # the plain way
    seen = SeenIds(limit)
    number = 0
    with mock.patch.object(dedup, "_hashes", few if buckets else dedup._hashes):
        for as_columns, ids in steps:
            if as_columns:
                known = seen.seen(pl.Series(ids, dtype=pl.String)).to_list()
                assert known == [rid in first for rid in ids]
                new = list(dict.fromkeys(rid for rid in ids if rid not in first))
                infos = [(-(number + k) - 1, number + k) for k in range(len(new))]
                number += len(new)
                seen.add_columns(
                    pl.Series(new, dtype=pl.String),
                    pl.Series([d for d, _ in infos], dtype=pl.Int64),
                    pl.Series([p for _, p in infos], dtype=pl.Int64),
                )
                first.update(zip(new, infos, strict=True))
            else:
                items = [(rid, (number + k, number + k)) for k, rid in enumerate(ids)]
                number += len(ids)
                expected = []
                for rid, info in items:
                    expected.append(first.get(rid))
                    first.setdefault(rid, info)
                assert seen.check(items) == expected
        seen.finish()
    seen.close()
