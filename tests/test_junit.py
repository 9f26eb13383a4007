"""`evaluate --format junit`: findings as the JUnit XML a CI server reads, valid against Jenkins' JUnit schema."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
import xmlschema

from rules_engine import Status, evaluate, evaluate_to, load_rules, render_junit
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES, rec

# The JUnit schema of the Jenkins xUnit plugin (jenkinsci/xunit-plugin, junit-10.xsd), the widely used reading
# of the format (Jenkins, GitLab and others accept what it accepts).
SCHEMA = Path(__file__).parent / "schemas" / "junit-10.xsd"
WAIVERS = EXAMPLE / "waivers.yaml"
ARGS = {"period": "2024", "as_of": "2025-01-15", "waivers": [str(WAIVERS)]}


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


@pytest.fixture(scope="module")
def example() -> tuple[object, bytes]:
    rules = load_rules(RULES)
    report = evaluate(rules, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", **ARGS)
    return report, render_junit(report)


def test_example_is_valid_junit_with_one_case_per_finding(example, schema) -> None:
    report, data = example
    schema.validate(io.BytesIO(data))  # raises with the first difference from the schema
    root = ET.fromstring(data)
    assert root.tag == "testsuites"
    rejected = len(report.input.rejections)
    assert int(root.get("tests")) == len(report.findings) + rejected
    assert int(root.get("failures")) == report.summary["violated"] > 0
    assert int(root.get("errors")) == report.summary["undeterminable"] + rejected > rejected > 0
    suites = [s for s in root.findall("testsuite") if s.get("package") != "input"]
    assert [s.get("package") for s in suites] == sorted({f.organisation.id for f in report.findings})
    by_org = Counter((f.organisation.id, f.status) for f in report.findings)
    for suite in suites:
        org_id = suite.get("package")
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases) == sum(n for (o, _), n in by_org.items() if o == org_id)
        assert int(suite.get("failures")) == len([c for c in cases if c.find("failure") is not None])
        assert int(suite.get("failures")) == by_org[(org_id, Status.violated)]
        assert int(suite.get("errors")) == len([c for c in cases if c.find("error") is not None])
        assert int(suite.get("skipped")) == len([c for c in cases if c.find("skipped") is not None])
        assert suite.get("timestamp") == "2025-01-15T00:00:00"  # the evaluation date, not the clock
        assert all(c.get("classname").startswith(org_id + ".") for c in cases)
    assert report.summary["waived"] and report.summary["pending"] and report.summary["not_applicable"]


def test_each_status_maps_to_its_element_with_the_text_a_reader_needs(example) -> None:
    report, data = example
    cases = (c for s in ET.fromstring(data).findall("testsuite") if s.get("package") != "input" for c in s)
    for finding, case in zip(report.findings, cases, strict=True):
        assert case.get("name").startswith(f"{finding.rule_id} {finding.rule_title.zh}")
        children = list(case)
        if finding.status is Status.fulfilled:
            assert children == []
            continue
        (outcome,) = children
        assert outcome.get("type") == finding.status.value
        text = outcome.text or ""
        assert f"应为 expected: {finding.expected.zh}" in text and f"实际 found: {finding.actual.zh}" in text
        if finding.status is Status.violated:
            assert outcome.tag == "failure"
            assert outcome.get("message") == f"{finding.message.zh} / {finding.message.en}"
        elif finding.status is Status.undeterminable:
            assert outcome.tag == "error"
            assert outcome.get("message") == f"{finding.reason.zh} / {finding.reason.en}"
        else:
            assert outcome.tag == "skipped"
            message = outcome.get("message")
            assert message.startswith(f"{finding.status.zh} {finding.status.value}: ")
            if finding.status is Status.waived:
                assert finding.waiver.id in message and finding.waiver.justification in message
            else:
                assert finding.reason.zh in message and finding.reason.en in message


def test_rejected_input_rows_are_errors_of_their_own_suite(example) -> None:
    """A run that exits 4 for a damaged row must not look all green in a CI's test view."""
    report, data = example
    assert report.input.rejections  # the example has a row with an invalid date
    suite = ET.fromstring(data).find("testsuite")
    assert suite.get("package") == "input"  # first, before the organisations
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == int(suite.get("errors")) == len(cases) == len(report.input.rejections)
    for rejection, case in zip(report.input.rejections, cases, strict=True):
        assert case.get("name") == f"{rejection.source}:{rejection.line}"
        (error,) = list(case)
        assert error.tag == "error" and error.get("type") == "rejected"
        assert error.get("message") == f"{rejection.reason.zh} / {rejection.reason.en}"


def test_streamed_junit_is_byte_identical_to_render_junit(example, tmp_path) -> None:
    _, data = example
    out = tmp_path / "report.xml"
    summary = evaluate_to(out, RULES, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", format="junit", **ARGS)
    assert out.read_bytes() == data
    assert summary["violated"] == int(ET.fromstring(data).get("failures"))


def test_cli_junit_exits_as_json_does(tmp_path) -> None:
    out = tmp_path / "junit.xml"
    args = ["evaluate", str(EXAMPLE), "--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]
    assert main([*args, "--format", "junit", "-o", str(out), "--waivers", str(WAIVERS)]) == 1  # violations
    assert ET.fromstring(out.read_bytes()).get("failures") != "0"
    assert main([*args, "--format", "junit", "-o", str(tmp_path / "again.xml"), "--waivers", str(WAIVERS)]) == 1
    assert (tmp_path / "again.xml").read_bytes() == out.read_bytes()


def test_text_xml_cannot_hold_is_escaped_and_the_document_stays_valid(make_pack, schema) -> None:
    root = make_pack(("T-1", "subject: organisation\nmatch: {types: [meeting]}\nparams: {period: year, at_least: 2}\n"))
    name = "A&B <党委> \"quoted\" 'single' ]]> \x01bell\x1f tab\there\r\nnext"
    roster = {"organisations": [{"id": "t1", "name": name, "kind": "township"}], "people": []}
    records = [rec("R\x0b", "meeting", "2024-03-01")]  # an id with a character XML 1.0 cannot hold, from the API
    report = evaluate(root, roster, records, period="2024", as_of="2025-01-15")
    assert report.summary["violated"] == 1, report.input
    data = render_junit(report)
    schema.validate(io.BytesIO(data))
    suite = ET.fromstring(data).find("testsuite")
    # attribute values keep their tabs and line ends (written as character references)
    assert suite.get("name") == "A&B <党委> \"quoted\" 'single' ]]> \\x01bell\\x1f tab\there\r\nnext（t1）"
    failure = suite.find("testcase/failure")
    assert "\\x01bell" in failure.text and "]]>" in failure.get("message")
    assert "证据 evidence: R\\x0b" in failure.text


def test_no_findings_is_an_empty_valid_document(make_pack, schema) -> None:
    root = make_pack(("T-1", "subject: organisation\nmatch: {types: [meeting]}\nparams: {period: year, at_least: 1}\n"))
    report = evaluate(root, {"organisations": [], "people": []}, [], period="2024", as_of="2025-01-15")
    data = render_junit(report)
    schema.validate(io.BytesIO(data))
    assert ET.fromstring(data).get("tests") == "0"
