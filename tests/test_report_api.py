"""What hosts asked of `Report`: iterate over its findings, its length, groups by organisation, rule and person,
data frames with the CSV columns, severity as an ordered enum and dates as dates, the JSON unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import sys
from pathlib import Path

import pytest

from rules_engine import MissingExtra, Severity, Status, evaluate, load_rules, render_json
from rules_engine.render.csv import COLUMNS, render_csv

from .conftest import EXAMPLE, RULES

# sha256 of the example's v1 report from its findings on (the `"findings": [` line to the end), as main wrote
# it before the report API changed (the header holds the library version, so it is left out), with the inputs
# named as the README's command names them (a taint's reason quotes the record file's path)
V1_FINDINGS_SHA256 = "a06f573f1b252e8256130b85445012cca8a6d4e856b5f8bbd7b0e155885e6039"


@pytest.fixture(scope="module")
def report():
    return evaluate(
        load_rules(RULES),
        EXAMPLE / "roster.yaml",
        EXAMPLE / "records.jsonl",
        period="2024",
        as_of="2025-01-15",
        waivers=[EXAMPLE / "waivers.yaml"],
    )


def test_v1_findings_of_the_example_are_byte_identical_to_what_main_wrote(monkeypatch) -> None:
    monkeypatch.chdir(EXAMPLE.parent.parent)
    example = Path("examples/county-2024")
    relative = evaluate(
        load_rules(RULES),
        example / "roster.yaml",
        example / "records.jsonl",
        period="2024",
        as_of="2025-01-15",
        waivers=[example / "waivers.yaml"],
    )
    data = render_json(relative)
    findings = data[data.index(b'\n  "findings": [') :]
    assert hashlib.sha256(findings).hexdigest() == V1_FINDINGS_SHA256


def test_a_report_iterates_over_its_findings_and_has_their_number(report) -> None:
    assert list(report) == report.findings
    assert [f.rule_id for f in report][:3] == [f.rule_id for f in report.findings[:3]]
    assert len(report) == len(report.findings) == sum(report.summary.values()) == 1093
    violated = evaluate(
        load_rules(RULES), EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of="2025-01-15",
        waivers=[EXAMPLE / "waivers.yaml"], statuses={"violated"},
    )  # fmt: skip
    assert len(violated) == 26 and all(f.status is Status.violated for f in violated)
    empty = report.model_copy(update={"findings": []})
    assert len(empty) == 0 and list(empty) == [] and bool(empty)  # still a report, with its summary
    assert report.model_dump()["findings"][0]["rule_id"] == report.findings[0].rule_id  # pydantic unaffected


def test_groups_by_organisation_rule_and_person_in_stable_order(report) -> None:
    by_org = report.by_org()
    assert list(by_org) == sorted({f.organisation.id for f in report})
    assert sum(len(v) for v in by_org.values()) == len(report)
    assert by_org["county"] == [f for f in report if f.organisation.id == "county"]  # report order kept
    by_rule = report.by_rule()
    assert list(by_rule) == sorted({f.rule_id for f in report}) and "ZZ-ESC-02" in by_rule
    assert by_rule["ZZ-DW-01"] == [f for f in report if f.rule_id == "ZZ-DW-01"]
    by_person = report.by_person()
    assert list(by_person) == sorted(by_person) and "p001" in by_person
    assert all(f.subject.kind in ("person", "portfolio", "pair") for v in by_person.values() for f in v)
    assert sum(len(v) for v in by_person.values()) == sum(
        f.subject.kind in ("person", "portfolio", "pair") for f in report
    )
    assert all(f.subject.id == person for person, v in by_person.items() for f in v)
    assert "county" not in by_person  # organisations' own duties are not a person's


def test_severity_is_an_ordered_enum_written_as_before(report) -> None:
    assert Severity.high > Severity.medium > Severity.low and Severity.critical >= Severity.high
    assert sorted([Severity.critical, Severity.low, Severity.high, Severity.medium]) == [
        Severity.low, Severity.medium, Severity.high, Severity.critical,
    ]  # fmt: skip
    assert Severity.critical > "low" and "low" < Severity.high  # noqa: SIM300  # its text compares by rank too
    assert Severity.high == "high" and f"[{Severity.high}]" == "[high]" and {"high": 1}[Severity.high] == 1
    with pytest.raises(TypeError, match="severity"):
        _ = Severity.high < "urgent"
    assert {type(f.severity) for f in report} == {Severity}
    worst = max(report.violations, key=lambda f: f.severity)
    assert worst.severity is Severity.high  # the example's most severe violations (none is critical)
    assert [f.severity for f in sorted(report, key=lambda f: f.severity)][-1] is Severity.high
    assert b'"severity":"high"' in render_json(report)


def test_dates_are_dates_and_written_as_before(report) -> None:
    assert report.as_of == dt.date(2025, 1, 15) and report.receipt.as_of == dt.date(2025, 1, 15)
    assert (report.period.start, report.period.end) == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    f = report.findings[0]
    assert isinstance(f.window.start, dt.date) and isinstance(f.period.end, dt.date)
    waived = report.by_status("waived")[0]
    assert waived.waiver is not None and waived.waiver.expires == dt.date(2025, 6, 30)
    data = render_json(report)
    assert b'"as_of": "2025-01-15"' in data and b'"expires":"2025-06-30"' in data


def _csv_rows(report) -> list[list[object]]:
    rows = list(csv.reader(io.StringIO(render_csv(report).decode("utf-8-sig"), newline="")))
    assert rows[0] == list(COLUMNS)
    count = COLUMNS.index("次数 count")
    return [[int(c) if i == count else c for i, c in enumerate(row)] for row in rows[1:]]


def test_data_frames_have_the_csv_columns_and_rows(report) -> None:
    expected = _csv_rows(report)
    assert not any(str(c).startswith("'") for row in expected for c in row)  # nothing neutralised in the example
    table = report.to_arrow()
    assert table.column_names == list(COLUMNS)
    assert [list(r.values()) for r in table.to_pylist()] == expected
    frame = report.to_polars()
    assert frame.columns == list(COLUMNS) and [list(r) for r in frame.iter_rows()] == expected
    assert str(frame.schema["次数 count"]) == "Int64"
    pandas_frame = report.to_pandas()
    assert list(pandas_frame.columns) == list(COLUMNS)
    assert pandas_frame.values.tolist() == expected and str(pandas_frame["次数 count"].dtype) == "int64"


def test_a_cell_a_spreadsheet_would_run_is_kept_as_it_is_in_data_frames(report) -> None:
    f = report.findings[0]
    odd = f.model_copy(update={"message": f.message.model_copy(update={"zh": "=1+1"})})
    hand_made = report.model_copy(update={"findings": [odd]})
    assert hand_made.to_polars()["说明"].to_list() == ["=1+1"]
    assert "'=1+1" in render_csv(hand_made).decode("utf-8-sig")


@pytest.mark.parametrize(
    ("method", "library", "extra"),
    [("to_arrow", "pyarrow", "parquet"), ("to_polars", "polars", "dataframes"), ("to_pandas", "pandas", "dataframes")],
)
def test_a_missing_library_names_its_extra(report, monkeypatch, method, library, extra) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # `import library` now fails as if it were not installed
    with pytest.raises(MissingExtra, match=rf"duty-rules-engine\[{extra}\]") as caught:
        getattr(report, method)()
    assert isinstance(caught.value, ImportError) and library in str(caught.value)


# -- the models of a large report: shared parts ----------------------------------------------------------------


def test_the_models_evaluate_makes_equal_those_validated_one_by_one_and_share_their_common_parts(report) -> None:
    import orjson

    from rules_engine.model.findings import Finding

    findings = report.findings
    # every finding (all six statuses, waivers, rejected candidates, escalations, pairs) as validating its own JSON
    # gives it
    assert {f.status for f in findings} == set(Status)
    assert [Finding.model_validate_json(orjson.dumps(f.model_dump(mode="json"))) for f in findings] == findings
    # a rule's parts, an organisation, a window, a subject's several duties: one object each
    by_rule = report.by_rule()
    for rule_findings in by_rule.values():
        first = rule_findings[0]
        assert all(f.clause is first.clause and f.rule_title is first.rule_title for f in rule_findings)
    org = findings[0].organisation
    same_org = [f for f in findings if f.organisation == org]
    assert len(same_org) > 1 and all(f.organisation is org for f in same_org)
    person = next(f for f in findings if f.subject.kind == "person")
    duties = [f for f in findings if f.subject == person.subject]
    assert len(duties) > 1 and all(f.subject is person.subject for f in duties)


def test_findings_that_differ_in_one_part_keep_their_own() -> None:
    from rules_engine.model.findings import FindingModels

    example = evaluate(
        load_rules(RULES), EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of="2025-01-15"
    ).findings[0]
    base = example.model_dump(mode="json")
    made = FindingModels()
    first = made(base)
    changed = {
        "window": {**base["window"], "label": "another label"},
        "organisation": {**base["organisation"], "kind": "party_group"},
        "clause": {**base["clause"], "article": 99},
        "actual": {**base["actual"], "en": "99"},
        "subject": {**base["subject"], "second": {"id": "p2", "name": "second person", "role": None}},
    }
    for name, value in changed.items():
        other = made({**base, name: value})
        assert getattr(other, name) == type(getattr(first, name)).model_validate(value), name
        assert getattr(other, name) != getattr(first, name), name
    assert made(base) == first


def test_a_finding_that_is_not_one_is_refused_by_the_models_with_its_field_named() -> None:
    from pydantic import ValidationError

    from rules_engine.model.findings import FindingModels

    example = evaluate(
        load_rules(RULES), EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", as_of="2025-01-15"
    ).findings[0]
    base = example.model_dump(mode="json")
    for name, value in (("clause", "not a clause"), ("period", {"start": "2024-13-01", "end": "2024-12-31"})):
        with pytest.raises(ValidationError) as caught:
            FindingModels()({**base, name: value})
        assert caught.value.errors()[0]["loc"][0] == name
