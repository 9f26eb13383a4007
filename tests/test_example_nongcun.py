"""The second regulation's example (examples/nongcun-2024, pack rules/nongcun-2019) gives exactly the findings its
README lists, every rule is both fulfilled and violated, and the national packs loaded beside it raise nothing on
its villages."""

from __future__ import annotations

from collections import Counter

import pytest

from rules_engine import Report, Status, evaluate, load_rules

from .conftest import ROOT, RULES

EXAMPLE = ROOT / "examples" / "nongcun-2024"
PACK = RULES / "nongcun-2019"
VILLAGES = ("v-dongshan", "v-xiling", "v-nanwan", "v-beipo")

# Every finding that is not fulfilled: (rule, organisation, subject, second person, period, status), as the README.
EXPECTED = {
    ("NC-01", "v-dongshan", "v-dongshan", "", "2024-Q4", "violated"),  # 6 of 12 with a vote: not more than half
    ("NC-01", "v-nanwan", "v-nanwan", "", "2024-Q2", "violated"),  # no general meeting
    ("NC-02", "v-dongshan", "v-dongshan", "", "2024-08", "violated"),  # 2 of 5
    ("NC-02", "v-nanwan", "v-nanwan", "", "2024-11", "violated"),  # no committee meeting
    ("NC-02", "v-xiling", "v-xiling", "", "2024", "not_applicable"),  # 5 full members
    ("NC-02", "v-beipo", "v-beipo", "", "2024", "undeterminable"),  # full members not given
    ("NC-03", "v-dongshan", "d01", "d05", "2024", "violated"),
    ("NC-03", "v-xiling", "v-xiling", "", "2024", "not_applicable"),  # no branch committee
    ("NC-04", "v-xiling", "v-xiling", "", "2024", "violated"),  # J201 not reviewed
    ("NC-04", "v-nanwan", "v-nanwan", "", "2024", "undeterminable"),  # J301 does not say whether it was reviewed
}


def _key(f) -> tuple[str, str, str, str, str, str]:
    second = f.subject.second.id if f.subject.second else ""
    return (f.rule_id, f.organisation.id, f.subject.id, second, f.period.label, f.status.value)


def _evaluate(*rules) -> Report:
    return evaluate(
        load_rules(*rules),
        EXAMPLE / "roster.yaml",
        EXAMPLE / "records.jsonl",
        period="2024",
        as_of="2025-01-15",
    )


@pytest.fixture(scope="module")
def alone() -> Report:
    """The example evaluated with its own pack only."""
    return _evaluate(PACK)


@pytest.fixture(scope="module")
def beside() -> Report:
    """The example evaluated with every pack under rules/ (the national packs beside this one)."""
    return _evaluate(RULES)


def _one(report: Report, rule: str, org: str, subject: str, period: str):
    (found,) = [f for f in report.findings if _key(f)[:3] == (rule, org, subject) and f.period.label == period]
    return found


def test_findings_match_the_readme(alone: Report) -> None:
    got = {_key(f) for f in alone.findings if f.status is not Status.fulfilled}
    assert got == EXPECTED
    fulfilled = Counter(f.rule_id for f in alone.findings if f.status is Status.fulfilled)
    assert fulfilled == {"NC-01": 14, "NC-02": 22, "NC-03": 8, "NC-04": 2}
    (records,) = [s for s in alone.input.sources if s.kind == "records"]
    assert (records.read, records.used, records.rejected) == (53, 53, 0)
    assert alone.exit_code() == 1


def test_every_rule_is_both_fulfilled_and_violated(alone: Report) -> None:
    seen: dict[str, set[Status]] = {}
    for f in alone.findings:
        seen.setdefault(f.rule_id, set()).add(f.status)
    assert set(seen) == {"NC-01", "NC-02", "NC-03", "NC-04"}
    for rule_id, statuses in seen.items():
        assert {Status.fulfilled, Status.violated} <= statuses, rule_id


def test_quorums_are_exact(alone: Report) -> None:
    # more than half: 6 of 12 with a vote (a probationary member also came) is not enough
    q4 = _one(alone, "NC-01", "v-dongshan", "v-dongshan", "2024-Q4")
    assert [r.record for r in q4.rejected] == ["N104"] and "6/12" in q4.rejected[0].reason.zh
    assert _one(alone, "NC-01", "v-dongshan", "v-dongshan", "2024-Q2").evidence == ["N102"]  # 7 of 12
    # half or more: 2 of 4 counts, 2 of 5 does not
    assert _one(alone, "NC-02", "v-nanwan", "v-nanwan", "2024-10").evidence == ["Z310"]
    august = _one(alone, "NC-02", "v-dongshan", "v-dongshan", "2024-08")
    assert [r.record for r in august.rejected] == ["Z108"] and "2/5" in august.rejected[0].reason.zh


def test_reasons_name_the_condition_and_the_value(alone: Report) -> None:
    small = _one(alone, "NC-02", "v-xiling", "v-xiling", "2024")
    assert "正式党员人数为5" in small.reason.zh and "full members is 5" in small.reason.en
    assert "支部委员会" in _one(alone, "NC-03", "v-xiling", "v-xiling", "2024").reason.zh
    unknown = _one(alone, "NC-02", "v-beipo", "v-beipo", "2024")
    assert "正式党员人数" in unknown.reason.zh and "cannot be decided" in unknown.reason.en
    set_aside = _one(alone, "NC-04", "v-nanwan", "v-nanwan", "2024")
    # J301 lacks the field NC-04 reads: it could be the decision without review, so neither fulfilled nor violated
    assert set_aside.status is Status.undeterminable and "1 record(s) lacking" in set_aside.reason.en
    assert "could change the outcome" in set_aside.reason.en
    assert _one(alone, "NC-04", "v-xiling", "v-xiling", "2024").evidence == ["J201"]


def test_the_national_packs_raise_nothing_on_the_villages(alone: Report, beside: Report) -> None:
    # a rule is silent on organisations of a kind another pack declares: not even not_applicable
    others = [f for f in beside.findings if f.organisation.id in VILLAGES and not f.rule_id.startswith("NC-")]
    assert others == [], sorted({_key(f) for f in others})
    ours = sorted(_key(f) for f in beside.findings if f.rule_id.startswith("NC-"))
    assert ours == sorted(_key(f) for f in alone.findings)
