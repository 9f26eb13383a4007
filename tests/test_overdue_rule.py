"""Overdue rectifications judged by a rule in a pack: the store's rectifications as records (zhenggai_yuqi),
ZG-YQ-01 (at most 0 per organisation per half-year) and its escalation ZG-YQ-02, with waivers, --fail-on and
the input account working on them as on any rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rules_engine import RecordSource, Report, evaluate, history, lint, load_rules
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES
from .test_history import _clock, _report

ORG = "twn-liuhe"  # no dedicated meeting in 2024-H2: ZZ-DW-01 violated as of 2025-01-15
ROSTER = str(EXAMPLE / "roster.yaml")
RECORDS = str(EXAMPLE / "records.jsonl")


@pytest.fixture(scope="module")
def january() -> Report:
    return _report("2024", "2025-01-15")


@pytest.fixture(autouse=True)
def _no_env_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RULES_ENGINE_DB", raising=False)


def _store(path: str, january: Report, *, closed_on: str | None = None) -> history.Rectification:
    """January recorded; ZZ-DW-01 of twn-liuhe 2024-H2 rectified by 2025-02-28 (closed on `closed_on`)."""
    history.record(january, path, clock=_clock("2025-01-16"))
    (entry,) = [
        e
        for e in history.show(path, ORG).entries
        if (e.rule_id, e.subject_id, e.window, e.status) == ("ZZ-DW-01", ORG, "2024-H2", "violated")
    ]
    opened = history.open_rectification(
        path, entry.identity, deadline="2025-02-28", owner="李四", by="督查室", clock=_clock("2025-01-20")
    )
    if closed_on is not None:
        history.close_rectification(
            path, opened.id, note="已补开", records=["rec-x"], by="督查室", clock=_clock(closed_on)
        )
    return opened


def _evaluate(path: str, out: Path, *extra: str, rules: str = str(history.PACK)) -> tuple[int, dict[str, Any]]:
    """Evaluate 2025-H1 as of 2025-07-15 with the store's rectifications; with the pack alone, no record file
    (the example's records are of types the pack does not know, and 2024's)."""
    records = RECORDS
    if rules == str(history.PACK):
        records = str(out.parent / "none.jsonl")
        Path(records).touch()
    code = main(
        [
            "evaluate", ROSTER, records, "--rules", rules, "--fail-on", "violated",
            "--period", "2025-H1", "--as-of", "2025-07-15", "--db", path, "--rectifications",
            "--format", "json", "--report-format", "v1", "-o", str(out), *extra,
        ]
    )  # fmt: skip
    return code, json.loads(out.read_text(encoding="utf-8"))


def _findings(data: dict[str, Any], org: str = ORG) -> dict[str, tuple[str, int, list[str]]]:
    return {
        f["rule_id"]: (f["status"], f["count"], f["evidence"])
        for f in data["findings"]
        if f["organisation"]["id"] == org and f["rule_id"].startswith("ZG-YQ")
    }


def test_an_overdue_rectification_is_a_violation_of_the_pack_rule_and_escalates(
    fresh_store: str, january: Report, tmp_path: Path
) -> None:
    opened = _store(fresh_store, january)
    code, data = _evaluate(fresh_store, tmp_path / "r.json")
    assert _findings(data) == {
        "ZG-YQ-01": ("violated", 1, [f"rectification-{opened.id}"]),
        "ZG-YQ-02": ("violated", 1, ["ZG-YQ-01/twn-liuhe/2025-H1"]),
    }
    assert _findings(data, "county") == {"ZG-YQ-01": ("fulfilled", 0, []), "ZG-YQ-02": ("fulfilled", 0, [])}
    assert code == 1  # --fail-on violated (the default includes it): a CI gate fails on it
    # the store's record is accounted for like a file's rows, and named as coming from the store
    (source,) = [s for s in data["input"]["sources"] if s["source"].startswith("<整改")]
    assert source == {
        "source": f"<整改 rectifications: {fresh_store} as of 2025-07-15>"
        if "://" not in fresh_store
        else f"<整改 rectifications: {history.shown_db(fresh_store)} as of 2025-07-15>",
        "kind": "records",
        "read": 1,
        "used": 1,
        "rejected": 0,
        "excluded": 0,
    }
    # the run recorded holds them: history sees the pack's findings like any other
    assert [(c.rule_id, c.organisation_id) for c in history.diff(fresh_store, 1, 2).new if c.rule_id[:2] == "ZG"] == [
        ("ZG-YQ-01", ORG),
        ("ZG-YQ-02", ORG),
    ]


def test_closed_before_its_deadline_it_is_fulfilled(fresh_store: str, january: Report, tmp_path: Path) -> None:
    _store(fresh_store, january, closed_on="2025-02-20")
    code, data = _evaluate(fresh_store, tmp_path / "r.json")
    assert _findings(data) == {"ZG-YQ-01": ("fulfilled", 0, []), "ZG-YQ-02": ("fulfilled", 0, [])}
    assert code == 0
    (source,) = [s for s in data["input"]["sources"] if s["source"].startswith("<整改")]
    assert (source["read"], source["used"]) == (0, 0)  # listed though empty: the store was read


def test_a_waiver_on_the_rule_works_on_it(fresh_store: str, january: Report, tmp_path: Path) -> None:
    _store(fresh_store, january)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - {id: W-1, rule: ZG-YQ-01, org: twn-liuhe, subject: twn-liuhe, from: 2025-01-01, to: 2025-06-30,\n"
        "     justification: 经县委同意延期整改, approved_by: 中共某某县委, approved_on: 2025-03-01,\n"
        "     expires: 2025-12-31}\n",
        encoding="utf-8",
    )
    code, data = _evaluate(fresh_store, tmp_path / "r.json", "--waivers", str(waivers))
    assert _findings(data) == {"ZG-YQ-01": ("waived", 1, ["rectification-1"]), "ZG-YQ-02": ("fulfilled", 0, [])}
    assert code == 0


def test_with_the_bundled_rules_the_pack_is_added_and_a_pack_of_ones_own_replaces_it(
    fresh_store: str, january: Report, tmp_path: Path
) -> None:
    _store(fresh_store, january)
    code, data = _evaluate(fresh_store, tmp_path / "r.json", rules=str(RULES))
    assert "zhenggai-yuqi" in [r["id"] for r in data["rules"]]
    assert _findings(data)["ZG-YQ-01"][0] == "violated" and code == 1
    # a pack of one's own that declares the record type judges them instead (here: at most 1 a year)
    own = tmp_path / "own"
    own.mkdir()
    (own / "pack.yaml").write_text(
        "pack: {id: own, version: 1.0.0, title: {zh: 自定, en: own}, regulation: {id: x, document: 《x》},\n"
        "       effective: {from: 2020-01-01}}\n"
        "record_types: {zhenggai_yuqi: {zh: 逾期整改, en: overdue rectification}}\n",
        encoding="utf-8",
    )
    (own / "r.yaml").write_text(
        "rules:\n"
        "  - {id: OWN-1, title: {zh: 逾期整改至多一项, en: at most one}, citation: {document: 《x》},\n"
        "     provenance: {basis: local_practice, confidence: low},\n"
        "     org_kinds: [township], subject: organisation, match: {types: [zhenggai_yuqi]},\n"
        "     params: {period: year, at_most: 1}}\n",
        encoding="utf-8",
    )
    code, data = _evaluate(fresh_store, tmp_path / "own.json", rules=str(own))
    assert [r["id"] for r in data["rules"]] == ["own"]
    (finding,) = [f for f in data["findings"] if f["organisation"]["id"] == ORG]
    assert (finding["rule_id"], finding["status"], finding["count"]) == ("OWN-1", "pending", 1)


def test_rectifications_need_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["evaluate", ROSTER, RECORDS, "--period", "2025-H1", "--rectifications", "-o", str(tmp_path / "r")])
    assert code == 2
    assert "--rectifications 须与 --db 同用 --rectifications needs --db" in capsys.readouterr().err


def test_rectification_records_as_of_a_date(fresh_store: str, january: Report) -> None:
    opened = _store(fresh_store, january)
    # not overdue on its deadline, overdue the day after; dated at the deadline, or at the period's start
    assert history.rectification_records(fresh_store, as_of="2025-02-28").records == []
    source = history.rectification_records(fresh_store, as_of="2025-03-01")
    (record,) = source.records
    assert record == {
        "id": f"rectification-{opened.id}",
        "org": ORG,
        "type": "zhenggai_yuqi",
        "date": "2025-02-28",
        "tags": ["ZZ-DW-01"],
        "text": f"整改 #{opened.id} ZZ-DW-01 2024-H2 {opened.subject_name} [{ORG}]：期限 2025-02-28，责任人 李四，"
        f"状态 open rectification #{opened.id}: deadline 2025-02-28, owner 李四, open",
    }
    later = history.rectification_records(fresh_store, as_of="2025-08-01", period="2025-H2")
    assert [r["date"] for r in later.records] == ["2025-07-01"]  # still overdue: overdue in this period too
    # the API: evaluated like any records, beside files
    report = evaluate(
        load_rules(history.PACK), ROSTER, [RECORDS, later], period="2025-H2", as_of="2025-08-01", statuses={"violated"}
    )
    assert {(f.rule_id, f.organisation.id) for f in report.findings} == {("ZG-YQ-01", ORG), ("ZG-YQ-02", ORG)}
    assert report.input.sources[-1].source == later.name and report.input.sources[-1].used == 1
    assert isinstance(later, RecordSource)


def test_the_shipped_pack_lints_clean_and_rectify_overdue_speaks_of_its_rule() -> None:
    assert lint(history.PACK) == []
    (pack,) = load_rules(history.PACK).packs
    rule = next(r.rule for r in pack.rules if r.rule.id == history.OVERDUE_RULE["rule_id"])
    assert pack.id == history.OVERDUE_RULE["pack"]
    assert (rule.title.zh, rule.title.en) == (
        history.OVERDUE_RULE["rule_title"]["zh"],
        history.OVERDUE_RULE["rule_title"]["en"],
    )
    assert rule.severity.value == history.OVERDUE_RULE["severity"]
    assert rule.citation.text == history.OVERDUE_RULE["clause"]["text"]
    assert list(pack.manifest.record_types) == [history.OVERDUE_TYPE]
