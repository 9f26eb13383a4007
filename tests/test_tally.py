"""The tally against a plain per-record loop: for every obligation (planned, or started by a trigger record),
the count, the first evidence ids, the first rejected candidates with their reason and the taints, all in
reading order, for generated rosters and records, whatever the intake batch size."""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
from fractions import Fraction
from typing import Any
from unittest import mock

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules_engine import compile_rules, evaluate
from rules_engine.load.inputs import BadRow, Rec
from rules_engine.plan import Obligation, RosterIndex, Why

from .test_differential import EXAMPLES as DIFF_EXAMPLES
from .test_differential import RULESET, scenario

INTAKE = importlib.import_module("rules_engine.intake")
TALLY = importlib.import_module("rules_engine.tally")

# count, evidence ids, rejected candidates, taints, and the candidates set aside for lacking a field (how many,
# which fields; None: none)
Tallied = tuple[int, list[str] | None, list[tuple[str, Why]], list[tuple[str, int, str]], tuple[int, str] | None]


def _on(index: RosterIndex, org: str, day: dt.date, secretary: bool) -> set[str]:
    return {
        h.person.id
        for h in index.holders.get(org, [])
        if h.post.start <= day and (h.post.end is None or day <= h.post.end)
        if not secretary or h.post.role in index.heads
    }


def _why(ob: Obligation, rec: Rec, index: RosterIndex) -> Why | None:
    """Why `rec` does not count for `ob` (None: it counts), the first failing check in the documented order."""
    assert ob.window is not None
    match = ob.rule.match
    who: dict[str, set[str]] = {
        "subject": {ob.subject_id} if ob.subject_kind in ("person", "portfolio") else set(),
        "first": {ob.first} if ob.first else set(),
        "second": {ob.second} if ob.second else set(),
        "secretary": _on(index, ob.org.id, rec.date, secretary=True),
    }
    if not ob.window.start <= rec.date <= ob.window.end:
        return ("outside",)
    if match.tags_any and not set(match.tags_any) & rec.tags:
        return ("tags_any",)
    if match.tags_all and not set(match.tags_all) <= rec.tags:
        return ("tags_all",)
    if match.chair is not None and rec.chair not in who[match.chair]:
        return ("chair", rec.chair or "", match.chair)
    for ref in match.participants:
        if not who[ref] & rec.participants:
            return ("participant", ref)
    if match.portfolio == "subject" and rec.portfolio != ob.portfolio:
        return ("portfolio", rec.portfolio or "")
    for test in ob.rule.where:  # (declared fields, and chair / portfolio / date: in the order written)
        value = (
            getattr(rec, test.field)
            if test.field in ("chair", "portfolio", "date")
            else (rec.fields or {}).get(test.field)
        )
        if value is None:
            return ("lacks", test.field)
        if not _meets(test.kind, test.op, test.operand, value, who):
            return ("where", test.field, test.shown)
    quorum = ob.rule.rule.quorum
    if quorum is not None:
        came = rec.participants if quorum.attendees == "participants" else (rec.fields or {}).get(quorum.attendees)
        if came is None:
            return ("lacks", quorum.attendees)
        if quorum.group in ("organisation", "team"):
            terms = [
                (h.person.id, h.post.start, h.post.end)
                for h in index.holders.get(ob.org.id, [])
                if quorum.group == "organisation" or h.post.role in index.vocabulary.team
            ]
        else:  # a group of the vocabulary: its members (by roles, or listed in the roster) on the date
            terms = [(p.id, start, end) for p, start, end, _r in index.group_terms(ob.org.id, quorum.group)]
        body = {who for who, start, end in terms if start <= rec.date and (end is None or rec.date <= end)}
        if not body:
            return ("no_team",)
        present = len(body & set(came))
        share = Fraction(present, len(body))
        if share <= quorum.share if quorum.strict else share < quorum.share:
            return ("quorum", f"{present}/{len(body)}", f"{'>' if quorum.strict else '>='} {quorum.share}")
    if ob.rule.rule.attendance:
        team = _on(index, ob.org.id, rec.date, secretary=False)
        if not team:
            return ("no_team",)
        present = len(team & rec.participants)
        assert ob.rule.share is not None
        if Fraction(present, len(team)) < ob.rule.share:
            return ("attendance", f"{present}/{len(team)}", str(ob.rule.share))
    return None


def _meets(kind: str, op: str, operand: Any, value: Any, who: dict[str, set[str]]) -> bool:
    if kind == "people":
        return all(who[ref] & set(value) for ref in operand)
    if kind == "person":
        return any(value in who[ref] for ref in (operand if op == "in" else (operand,)))
    if isinstance(operand, dt.date) and isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return {
        "equals": lambda: value == operand,
        "in": lambda: value in operand,
        "contains": lambda: operand in value,
        "at_least": lambda: value >= operand,
        "more_than": lambda: value > operand,
        "at_most": lambda: value <= operand,
        "less_than": lambda: value < operand,
    }[op]()


def _plain(ob: Obligation, records: list[Rec], index: RosterIndex, max_evidence: int, cap: int) -> Tallied:
    count, ids, rejected, taints = 0, [], [], []
    lacking: dict[str, int] = {}
    for rec in records:  # reading order
        if rec.org != ob.org.id or rec.type not in ob.rule.match.types or rec.id == ob.trigger:
            continue
        if not ob.period.start <= rec.date <= ob.period.end:
            continue
        if ob.subject_kind == "pair" and ob.second not in rec.participants:
            continue
        if ob.subject_kind == "portfolio" and ob.subject_id not in rec.participants and rec.portfolio != ob.portfolio:
            continue
        why = _why(ob, rec, index)
        if why is None:
            count += 1
            ids.append(rec.id)
            continue
        rejected.append((rec.id, why))
        if why[0] == "lacks":
            lacking[why[1]] = lacking.get(why[1], 0) + 1
        if why[0] == "no_team":
            taints.append((rec.source, rec.line, "date"))
        elif why[0] in ("chair", "participant") and rec.unknown:
            ref = why[2] if why[0] == "chair" else why[1]
            wanted = _on(index, ob.org.id, rec.date, secretary=True) if ref == "secretary" else {ob.first, ob.second}
            if ref == "subject":
                wanted = {ob.subject_id} if ob.subject_kind in ("person", "portfolio") else set()
            elif ref in ("first", "second"):
                wanted = {getattr(ob, ref)} - {None}
            if any(difflib.SequenceMatcher(None, u, w).ratio() >= 0.75 for u in rec.unknown for w in wanted):
                taints.append((rec.source, rec.line, "participants"))
    lacks = (sum(lacking.values()), ", ".join(sorted(lacking))) if lacking else None
    return count, (ids[:max_evidence] or None) if max_evidence else None, rejected[:cap], taints, lacks


def _taints(rows: list[BadRow] | None) -> list[tuple[str, int, str]]:
    return [(r.source, r.line, r.field or "") for r in rows or []]


# half the differential test's examples (100 in CI; DIFF_EXAMPLES=2000 for a long run gives 1,000): the same
# generated cases, and the differential test checks the counts of every finding end to end as well
EXAMPLES = DIFF_EXAMPLES // 2


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario(),
    st.sampled_from([0, 1, 20]),
    st.sampled_from([1, 2, 20]),
    st.sampled_from([1, 5, 65536]),
    st.sampled_from([1, 3, 32768]),
    st.sampled_from([None, (0, 2, 1), (1, 64, 4)]),
)
def test_the_tally_agrees_with_a_plain_loop_over_the_records(
    case: dict[str, Any], max_evidence: int, cap: int, flush: int, chunk: int, spill: tuple[int, int, int] | None
) -> None:
    """(`chunk`: the records tallied at a time, whole organisations: one organisation a chunk, a few, all;
    `spill`: the records held in memory (None: all), or filed on disk by organisation range past a few
    (records held, ranges, records read back at a time).)"""
    rows, ranges, group = (TALLY.SPILL_ROWS, TALLY.SPILL_RANGES, TALLY.GROUP_RECORDS) if spill is None else spill
    compiled = compile_rules(RULESET, case["params"])
    seen: list[Rec] = []
    tallied: list[tuple[Obligation, Tallied]] = []
    judged: list[Obligation] = []
    indexes: list[RosterIndex] = []
    add, finish = TALLY.Counter.add, TALLY.Counter.finish

    def spy_add(counter: Any, rec: Rec) -> None:
        seen.append(rec)
        add(counter, rec)

    def spy_finish(counter: Any) -> int:
        out: int = finish(counter)
        indexes.append(counter.index)
        if counter.tallied is not None:  # the evidence and rejected candidates onto the obligations
            counter.tallied.fill()
        ledger = counter.ledger
        keys = ledger.judged().get_column("key")  # planned, and started by triggers
        for ob in ledger.obligations(ledger.table.filter(pl.col("key").is_in(keys.to_list()))):
            judged.append(ob)
            got = (ob.count, ob.evidence, list(ob.rejections()), _taints(ob.taint), ob.lacking)
            tallied.append((ob, got))
        return out

    with (
        mock.patch.object(INTAKE, "_BATCH", case["batch"]),
        mock.patch.object(TALLY, "_FLUSH", flush),
        mock.patch.object(TALLY, "MAX_REJECTED", cap),
        mock.patch.object(TALLY, "CHUNK_RECORDS", chunk),
        mock.patch.object(TALLY, "SPILL_ROWS", rows),
        mock.patch.object(TALLY, "SPILL_RANGES", ranges),
        mock.patch.object(TALLY, "GROUP_RECORDS", group),
        mock.patch.object(TALLY.Counter, "add", spy_add),
        mock.patch.object(TALLY.Counter, "finish", spy_finish),
    ):
        evaluate(
            compiled,
            case["roster"],
            case["records"],
            period=case["period"],
            as_of=case["as_of"],
            max_evidence=max_evidence,
        )
    (index,) = indexes
    for ob, got in tallied:
        assert got == _plain(ob, seen, index, max_evidence, cap), (ob.rule.rule.id, ob.subject_id, ob.period)


def test_evidence_and_rejected_candidates_follow_the_order_of_the_files(make_pack, township, tmp_path) -> None:
    """Reading order is input order across files, not date order."""
    pack = make_pack(
        (
            "CHAIR",
            """\
            subject: person
            roles: [secretary]
            match: {types: [meeting], chair: subject}
            params: {period: year, at_least: 1}
            """,
        )
    )
    rows = [
        ("b.jsonl", "m3", "2024-03-01", "s1"),
        ("b.jsonl", "m4", "2024-02-01", "d1"),
        ("a.jsonl", "m1", "2024-09-01", "s1"),
        ("a.jsonl", "m2", "2024-01-01", "d1"),
    ]
    for name in ("a.jsonl", "b.jsonl"):
        lines = [
            f'{{"id": "{rid}", "org": "t1", "type": "meeting", "date": "{day}", "chair": "{chair}"}}'
            for file, rid, day, chair in rows
            if file == name
        ]
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = evaluate(pack, township, [tmp_path / "b.jsonl", tmp_path / "a.jsonl"], period="2024", as_of="2025-01-15")
    (finding,) = [f for f in report.findings if f.subject.id == "s1"]
    assert finding.count == 2 and finding.evidence == ["m3", "m1"]
    assert [r.record for r in finding.rejected] == ["m4", "m2"]


def test_a_trigger_record_is_not_its_own_follow_up(make_pack, township) -> None:
    pack = make_pack(
        (
            "AGAIN",
            """\
            subject: trigger
            trigger: {types: [meeting]}
            match: {types: [meeting]}
            params: {within_days: 30, at_least: 1}
            """,
        )
    )
    records = [
        {"id": "m1", "org": "t1", "type": "meeting", "date": "2024-03-01"},
        {"id": "m2", "org": "t1", "type": "meeting", "date": "2024-03-10"},
    ]
    report = evaluate(pack, township, records, period="2024", as_of="2025-01-15")
    by_trigger = {f.subject.record: f for f in report.findings}
    assert by_trigger["m1"].count == 1 and by_trigger["m1"].evidence == ["m2"]
    assert by_trigger["m2"].count == 0 and by_trigger["m2"].status.value == "violated"
