"""The bundled county example gives exactly the findings its README lists, and exercises every rule."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator

import pytest

from rules_engine import Report, Status, compile_rules, evaluate, load_rules, render_json
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES

WAIVERS = EXAMPLE / "waivers.yaml"
OVERLAY = "mouxian-shishi-2024@1.0.0"
NATIONAL = "zhuti-zeren-2020@1.0.0"
TOWNSHIPS = ("twn-chengguan", "twn-qingshan", "twn-liuhe", "twn-shiqiao")

# Every finding that is not fulfilled: (rule, organisation, subject, second person or portfolio, period, status).
EXPECTED = {
    # -- zhuti-zeren-2020 (with the county overlay in the townships) --
    ("ZZ-DW-01", "twn-liuhe", "twn-liuhe", "", "2024-H2", "violated"),
    ("ZZ-DW-01", "twn-chengguan", "twn-chengguan", "", "2024-H1", "violated"),  # 1 < 2 set by the overlay
    ("ZZ-08-01", "twn-liuhe", "p052", "", "2024-H2", "violated"),
    ("ZZ-08-01", "finance-pg", "p026", "", "2024-H1", "violated"),
    ("ZZ-08-02", "twn-liuhe", "p052", "", "2024", "violated"),
    ("ZZ-08-03", "finance-pg", "p026", "", "2024", "violated"),
    ("ZZ-08-04", "twn-chengguan", "p034", "", "2024", "violated"),
    ("ZZ-08-05", "health-pg", "p018", "", "2024", "violated"),
    ("ZZ-08-06", "county", "p001", "p007", "2024", "violated"),
    ("ZZ-08-06", "county", "p001", "p008", "2024", "violated"),
    ("ZZ-YG-01", "edu-pg", "p014", "财务审计", "2024-H2", "violated"),
    ("ZZ-YG-02", "edu-pg", "p014", "校园安全", "2024", "violated"),
    ("ZZ-YG-01", "finance-pg", "p028", "债务管理", "2024-H1", "violated"),
    ("ZZ-YG-02", "finance-pg", "p029", "政府采购", "2024", "violated"),
    ("ZZ-YG-03", "finance-pg", "p030", "国有资产管理", "2024", "violated"),
    ("ZZ-YG-01", "finance-pg", "p031", "农业农村财务", "2024-H2", "violated"),
    ("ZZ-ESC-01", "edu-pg", "p014", "", "2024", "violated"),  # raised: 2 portfolio areas
    ("ZZ-ESC-02", "finance-pg", "finance-pg", "", "2024", "violated"),  # raised: secretary + 4 of 7
    ("ZZ-DC-01", "twn-chengguan", "R0418", "", "2024-05-10+30d", "violated"),
    ("ZZ-DC-01", "edu-pg", "R1118", "", "2024-12-16+30d", "pending"),
    ("ZZ-DW-01", "twn-shiqiao", "twn-shiqiao", "", "2024-H2", "undeterminable"),
    ("ZZ-08-01", "twn-shiqiao", "p059", "", "2024-H2", "undeterminable"),
    *(("ZZ-YG-03", t, t, "", "2024", "not_applicable") for t in TOWNSHIPS),  # retired by the overlay
    ("ZZ-08-06", "twn-qingshan", "p051", "p067", "2024", "not_applicable"),  # p067: 44 days in post
    ("ZZ-YG-02", "twn-qingshan", "p067", "统战", "2024", "not_applicable"),
    # -- minzhu-shenghuohui-2016 --
    ("MZ-01", "health-pg", "health-pg", "", "2024", "violated"),
    *(("MZ-01", t, t, "", "2024", "not_applicable") for t in TOWNSHIPS),
    # -- dangnei-jiandu-2016 --
    ("JD-01", "county", "p006", "", "2024", "violated"),  # its waiver expired
    ("JD-01", "twn-qingshan", "p067", "", "2024", "not_applicable"),
    # -- shuzhi-pingyi-2019 --
    ("SZPY-01", "edu-pg", "p011", "", "2024", "violated"),
    ("SZPY-01", "twn-qingshan", "p051", "", "2024", "waived"),
    # -- zhibu-gongzuo-2018 --
    ("ZB-01", "twn-shiqiao", "p059", "", "2024", "violated"),
    # -- yishixingtai-zerenzhi --
    ("YS-01", "health-pg", "health-pg", "", "2024-H2", "violated"),
    # -- dangnei-zhengzhi-shenghuo-2016 --
    ("SH-01", "county", "p009", "", "2024-Q3", "violated"),
    ("SH-02", "twn-shiqiao", "p060", "p061", "2024", "violated"),
    *(("SH-02", "twn-qingshan", f"p0{n}", "p067", "2024", "not_applicable") for n in range(44, 51)),
}
SUMMARY = {"fulfilled": 1045, "violated": 26, "pending": 1, "not_applicable": 18, "undeterminable": 2, "waived": 1}


def _report(waivers=(WAIVERS,), period: str = "2024"):
    return evaluate(
        load_rules(RULES),
        EXAMPLE / "roster.yaml",
        EXAMPLE / "records.jsonl",
        period=period,
        as_of="2025-01-15",
        waivers=list(waivers),
    )


@pytest.fixture(scope="module")
def example() -> Iterator[Report]:
    """The example's report (its waivers, 2024), evaluated once for the tests that only read it; a test that
    changed it would fail here, after the module's tests."""
    report = _report()
    before = render_json(report)
    yield report
    assert render_json(report) == before, "a test changed the shared report of the example"


def _key(f) -> tuple[str, str, str, str, str, str]:
    extra = (f.subject.second.id if f.subject.second else None) or f.subject.portfolio or ""
    return (f.rule_id, f.organisation.id, f.subject.id, extra, f.period.label, f.status.value)


def _by_key(report):
    return {_key(f)[:5]: f for f in report.findings}


def test_example_findings_match_the_readme(example: Report) -> None:
    report = example
    got = {_key(f) for f in report.findings if f.status is not Status.fulfilled}
    assert got == EXPECTED
    assert report.summary == SUMMARY
    (records,) = [s for s in report.input.sources if s.kind == "records"]
    assert (records.read, records.used, records.rejected, records.excluded) == (1179, 1178, 1, 0)
    assert report.exit_code() == 1  # violations, undeterminable findings and a rejected row: violations decide


def test_every_rule_is_both_fulfilled_and_violated(example: Report) -> None:
    report = example
    seen: dict[str, set[str]] = {}
    for f in report.findings:
        seen.setdefault(f.rule_id, set()).add(f.status.value)
    # (the village rules of rules/nongcun-2019 say nothing of the county: examples/nongcun-2024 exercises them)
    rule_ids = {loaded.rule.id for loaded in load_rules(RULES).rules if loaded.pack.id != "nongcun-2019"}
    assert len(rule_ids) >= 20 and set(seen) == rule_ids
    for rule_id in sorted(rule_ids):
        assert {"fulfilled", "violated"} <= seen[rule_id], (rule_id, seen[rule_id])
    # and the other statuses where the example has a meaningful case
    assert "pending" in seen["ZZ-DC-01"] and "waived" in seen["SZPY-01"]
    assert {"ZZ-DW-01", "ZZ-08-01"} <= {r for r, s in seen.items() if "undeterminable" in s}
    assert {"MZ-01", "ZZ-YG-03", "JD-01", "SH-02", "ZZ-08-06", "ZZ-YG-02"} <= {
        r for r, s in seen.items() if "not_applicable" in s
    }


def test_example_explains_its_findings(example: Report) -> None:
    by_key = _by_key(example)
    finance = by_key[("ZZ-08-01", "finance-pg", "p026", "", "2024-H1")]
    assert [r.record for r in finance.rejected] == ["R0386"] and "p027" in finance.rejected[0].reason.zh
    assert by_key[("ZZ-DW-01", "finance-pg", "finance-pg", "", "2024-H1")].status is Status.fulfilled
    health = by_key[("MZ-01", "health-pg", "health-pg", "", "2024")]
    assert "5/8" in health.rejected[0].reason.zh
    shiqiao = by_key[("ZZ-DW-01", "twn-shiqiao", "twn-shiqiao", "", "2024-H2")]
    assert shiqiao.count == 1 and "records.jsonl:1179" in shiqiao.reason.zh  # 1 valid, the 2nd was the bad line
    stand_in = by_key[("SZPY-01", "edu-pg", "p011", "", "2024")]
    assert [r.record for r in stand_in.rejected] == ["R0183"] and "participants" in stand_in.rejected[0].reason.en
    lecture = by_key[("ZB-01", "twn-shiqiao", "p059", "", "2024")]
    assert [r.record for r in lecture.rejected] == ["R0605"] and "p061" in lecture.rejected[0].reason.zh


def test_the_county_overlay_sets_parameters_and_retires_a_rule_in_the_townships(example: Report) -> None:
    report = example
    by_key = _by_key(report)
    chengguan = by_key[("ZZ-DW-01", "twn-chengguan", "twn-chengguan", "", "2024-H1")]
    assert chengguan.status is Status.violated and chengguan.count == 1
    assert chengguan.params["at_least"] == {"value": 2, "set_by": OVERLAY}
    for f in report.findings:
        if f.rule_id == "ZZ-DW-01":
            inside = f.organisation.id in TOWNSHIPS
            assert f.params["at_least"] == (
                {"value": 2, "set_by": OVERLAY} if inside else {"value": 1, "set_by": NATIONAL}
            )
    # a department with a single meeting in a half-year is fulfilled under the national value
    assert any(
        f.rule_id == "ZZ-DW-01" and f.organisation.id not in TOWNSHIPS and f.count == 1 and f.status is Status.fulfilled
        for f in report.findings
    )
    retired = [f for f in report.findings if f.rule_id == "ZZ-YG-03" and f.organisation.id in TOWNSHIPS]
    assert len(retired) == 4 and all(f.status is Status.not_applicable and OVERLAY in f.reason.en for f in retired)
    # the national pack still applies outside the overlay's organisations
    assert by_key[("ZZ-YG-03", "finance-pg", "p030", "国有资产管理", "2024")].status is Status.violated


def test_waiver_in_force_and_expired_waiver(example: Report) -> None:
    by_key = _by_key(example)
    waived = by_key[("SZPY-01", "twn-qingshan", "p051", "", "2024")]
    assert waived.status is Status.waived and waived.waiver is not None
    assert waived.waiver.id == "MX-2024-001" and not waived.waiver.expired
    assert waived.waiver.status_without_waiver is Status.violated and "县委组织部" in waived.reason.zh
    expired = by_key[("JD-01", "county", "p006", "", "2024")]
    assert expired.status is Status.violated  # the waiver expired on 2024-12-31, evaluated 2025-01-15
    assert expired.waiver is not None and expired.waiver.id == "MX-2024-002" and expired.waiver.expired
    # without the waivers file the waived finding is a violation, and nothing else changes
    plain = _report(waivers=())
    assert _by_key(plain)[("SZPY-01", "twn-qingshan", "p051", "", "2024")].status is Status.violated
    assert plain.summary == {**SUMMARY, "violated": SUMMARY["violated"] + 1, "waived": 0}


def test_escalations_are_raised_once_each_with_their_evidence(example: Report) -> None:
    report = example
    raised = [f for f in report.findings if f.rule_id.startswith("ZZ-ESC") and f.status is Status.violated]
    assert [(f.rule_id, f.subject.id) for f in sorted(raised, key=lambda f: f.rule_id)] == [
        ("ZZ-ESC-01", "p014"),
        ("ZZ-ESC-02", "finance-pg"),
    ]
    one, two = sorted(raised, key=lambda f: f.rule_id)
    assert one.count == 2 and one.evidence == ["ZZ-YG-01/p014/财务审计/2024-H2", "ZZ-YG-02/p014/校园安全/2024"]
    assert two.count == 4  # four members; the secretary's own findings are listed as evidence too
    assert {e.split("/")[1] for e in two.evidence} == {"p026", "p028", "p029", "p030", "p031"}
    # an H1 evaluation sees only part of the lower findings: neither is raised
    h1 = _report(period="2024-H1")
    assert not [f for f in h1.findings if f.rule_id.startswith("ZZ-ESC") and f.status is Status.violated]


def test_mid_year_move_is_judged_per_post(example: Report) -> None:
    report = example
    moves = [f for f in report.findings if "p043" in (f.subject.id, f.subject.second and f.subject.second.id)]
    assert moves and all(f.status is Status.fulfilled for f in moves)  # as subject, or as second of a pair
    day = dt.date.fromisoformat  # the models hold dates
    terms = {"twn-qingshan": (day("2024-01-01"), day("2024-06-30")), "county": (day("2024-07-01"), day("2024-12-31"))}
    for f in moves:
        if f.rule_id.startswith("ZZ-ESC"):
            continue  # an escalation reads the findings of the period, whatever the term
        lo, hi = terms[f.organisation.id]
        assert lo <= f.window.start <= f.window.end <= hi, (f.rule_id, f.organisation.id, f.window)
    windows = Counter((f.organisation.id, f.window.start, f.window.end) for f in moves if f.rule_id[:6] != "ZZ-ESC")
    qingshan = ("twn-qingshan", dt.date(2024, 1, 1), dt.date(2024, 6, 30))
    assert qingshan in windows and ("county", dt.date(2024, 7, 1), dt.date(2024, 12, 31)) in windows
    rules_by_org = {org: {f.rule_id for f in moves if f.organisation.id == org} for org in terms}
    assert {"ZZ-08-01", "SZPY-01", "ZB-01", "JD-01", "SH-01"} <= rules_by_org["twn-qingshan"]
    assert {"ZZ-YG-01", "ZZ-08-06", "JD-01", "SH-01", "SH-02"} <= rules_by_org["county"]
    # the successor is judged on the second half only
    successor = {f.rule_id for f in report.findings if f.subject.id == "p051" and f.period.label == "2024-H1"}
    assert "ZZ-08-01" not in successor


def test_example_generator_reproduces_the_data(tmp_path) -> None:
    before = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in EXAMPLE.glob("*")
        if p.suffix in (".yaml", ".jsonl", ".md") and p.name not in ("README.md", "scoring.yaml")  # written by hand
    }
    assert {"roster.yaml", "records.jsonl", "waivers.yaml", "GAPS.md"} <= set(before)
    subprocess.run(
        [sys.executable, str(EXAMPLE / "generate.py"), "--out", str(tmp_path)], check=True, capture_output=True
    )
    after = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in before}
    assert after == before


CLI_ARGS = ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]


def test_cli_on_the_example(tmp_path, capsys, example: Report) -> None:
    out = tmp_path / "report.json"
    code = main([*CLI_ARGS, "--waivers", str(WAIVERS), "--format", "json", "-o", str(out)])
    assert code == 1  # violations found
    compiled = compile_rules(load_rules(RULES))
    assert out.read_bytes() == render_json(example, report_format="v2", rules=compiled)  # the default layout
    assert (
        main([*CLI_ARGS, "--waivers", str(WAIVERS), "--format", "json", "--report-format", "v1", "-o", str(out)]) == 1
    )
    assert out.read_bytes() == render_json(example)
    code = main(
        [
            "evaluate",
            str(EXAMPLE),
            "--rules",
            str(RULES),
            "--period",
            "2024-H1",
            "--as-of",
            "2025-01-15",
            "--waivers",
            str(WAIVERS),
            "--show",
            "violated",
            "--color",
            "never",
        ]
    )
    text = capsys.readouterr().out
    assert code == 1 and "县财政局党组" in text and "2024-H2" not in text and "ZZ-ESC" not in text


def test_host_app_runs_on_the_example() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "host_app.py")], capture_output=True, text=True, encoding="utf-8"
    )
    assert result.returncode == 1, result.stderr  # it found violations
    assert "[已豁免]" in result.stdout and "[豁免已失效]" in result.stdout
    # the escalation is high (its threshold is the pack's own low-confidence choice), listed with the other high ones
    assert "[high] 县财政局党组: 县财政局党组未履行：书记和半数以上班子成员未履行主体责任" in result.stdout
    assert "[critical]" not in result.stdout


def test_streamed_example_report_is_byte_identical_and_one_finding_per_line(tmp_path, monkeypatch) -> None:
    """The example has every status, escalations, waivers and a rejected row: the streaming writer (with its
    pre-serialised clauses) and the in-memory report give the same bytes; each finding is one JSON line;
    counting records in batches grouped by organisation (any batch size) changes nothing."""
    import importlib
    import json

    from rules_engine import evaluate_to

    intake_module = importlib.import_module("rules_engine.intake")

    args = (load_rules(RULES), EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl")
    options = {"period": "2024", "as_of": "2025-01-15", "waivers": [WAIVERS]}
    expected = render_json(evaluate(*args, **options))
    outputs = []
    for batch in (1, 7, 100_000):  # one by one (input order), small batches, one batch
        monkeypatch.setattr(intake_module, "_BATCH", batch)
        out = tmp_path / f"report-{batch}.json"
        evaluate_to(out, *args, **options)
        outputs.append(out.read_bytes())
    assert outputs == [expected] * 3
    data = json.loads(expected)
    lines = expected.decode().split("\n")
    start = lines.index('  "findings": [') + 1
    rows = [json.loads(line.strip().rstrip(",")) for line in lines[start : start + len(data["findings"])]]
    assert rows == data["findings"]
    assert lines[start + len(rows) :] == ["  ]", "}", ""]


def test_streamed_csv_and_status_filtered_report(tmp_path) -> None:
    """`evaluate_to(format="csv")` writes the same bytes as `render_csv(evaluate(...))` (to a path or an open
    binary stream, which stays open); `evaluate(statuses=...)` keeps only those findings, counting all."""
    import io

    import pytest

    from rules_engine import InputError, evaluate_to
    from rules_engine.render.csv import render_csv

    args = (load_rules(RULES), EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl")
    options = {"period": "2024", "as_of": "2025-01-15", "waivers": [WAIVERS]}
    full = evaluate(*args, **options)
    out = tmp_path / "report.csv"
    summary = evaluate_to(out, *args, format="csv", **options)
    assert out.read_bytes() == render_csv(full) and summary == full.summary
    stream = io.BytesIO()
    evaluate_to(stream, *args, format="csv", **options)
    assert not stream.closed and stream.getvalue() == render_csv(full)
    with pytest.raises(InputError, match="xml"):
        evaluate_to(tmp_path / "r.xml", *args, format="xml", **options)

    problems = evaluate(*args, statuses={"violated", Status.waived}, **options)
    assert problems.summary == full.summary
    assert problems.findings == [f for f in full.findings if f.status in (Status.violated, Status.waived)]
    assert len(problems.violations) == full.summary["violated"] == 26
