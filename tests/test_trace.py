"""The stage tracer: the events of a run, their counts against the report, the views, and --profile."""

from __future__ import annotations

import inspect
import json

import pytest

from rules_engine import NullTracer, RecordingTracer, Tracer, evaluate, evaluate_to, load_rules, render_json
from rules_engine.cli import main

from .conftest import EXAMPLE, RULES

WAIVERS = EXAMPLE / "waivers.yaml"
ARGS = (EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl")
OPTIONS = {"period": "2024", "as_of": "2025-01-15", "waivers": [WAIVERS]}
STAGES = ["rules", "roster", "plan", "intake", "triggers", "waivers", "group", "decide", "receipt", "findings"]


def _tree(tracer: RecordingTracer) -> list[tuple[str, list]]:
    """The events as a tree of (name, children), checking that every end closes the stage opened last, at the
    depth it was opened."""
    root: list[tuple[str, list]] = []
    open_: list[tuple[str, list]] = []
    for event in tracer.events:
        if event.kind == "start":
            assert event.depth == len(open_)
            node: tuple[str, list] = (event.name, [])
            (open_[-1][1] if open_ else root).append(node)
            open_.append(node)
        else:
            assert open_ and open_[-1][0] == event.name and event.depth == len(open_) - 1
            open_.pop()
    assert not open_
    return root


def _names(nodes: list[tuple[str, list]]) -> list[str]:
    return [name for name, _ in nodes]


def _ends(tracer: RecordingTracer, name: str) -> list[dict[str, int]]:
    return [dict(e.counts) for e in tracer.events if e.kind == "end" and e.name == name]


def test_the_stages_of_a_run_on_the_example_are_in_order_nested_and_counted() -> None:
    tracer = RecordingTracer()
    report = evaluate(load_rules(RULES), *ARGS, **OPTIONS, tracer=tracer)

    tree = _tree(tracer)
    assert _names(tree) == ["evaluate"]
    stages = dict(tree[0][1])
    assert _names(tree[0][1]) == STAGES
    assert _names(stages["intake"]) == ["index", "read"]  # the tally is counted while reading
    assert _names(stages["decide"]) == ["escalate"]  # every organisation's escalations decided together

    (rules,) = _ends(tracer, "rules")
    assert rules == {"packs": len(report.rules), "rules": sum(len(p.rules) for p in report.rules)}
    (roster,) = _ends(tracer, "roster")
    (records,) = [s for s in report.input.sources if s.kind == "records"]
    (roster_source,) = [s for s in report.input.sources if s.kind == "roster"]
    assert roster == {"read": roster_source.read, "used": roster_source.used, "rejected": roster_source.rejected}
    (intake,) = _ends(tracer, "intake")
    assert intake == {
        "records_read": records.read,
        "records_used": records.used,
        "records_rejected": records.rejected,
        "records_excluded": records.excluded,
    }
    assert records.rejected == 1  # the example's bad row: the account is not all zeros
    assert _ends(tracer, "waivers") == [{"waivers": 2}]
    assert _ends(tracer, "group") == [{"organisations": len({f.organisation.id for f in report.findings})}]

    # every obligation becomes one finding: planned + raised by a record + escalations
    planned = _ends(tracer, "plan")[0]["obligations"]
    triggered = _ends(tracer, "triggers")[0]["obligations"]
    escalations = sum(c.get("escalations", 0) for c in _ends(tracer, "escalate"))
    assert triggered > 0 and escalations > 0
    assert planned + triggered + escalations == len(report.findings)
    assert escalations == sum(1 for f in report.findings if f.rule_id.startswith("ZZ-ESC"))
    assert _ends(tracer, "decide") == [{"facts": len(report.findings)}]
    assert _ends(tracer, "findings") == [{"findings": len(report.findings)}]

    # peak memory and times at each end; an end is never before its start
    ends = [e for e in tracer.events if e.kind == "end"]
    assert all(e.peak_rss is None or e.peak_rss > 0 for e in ends)
    walls = [e.wall for e in tracer.events]
    assert walls == sorted(walls)


def test_evaluate_to_counts_the_findings_and_the_bytes_it_wrote(tmp_path) -> None:
    tracer = RecordingTracer()
    out = tmp_path / "report.json"
    summary = evaluate_to(out, load_rules(RULES), *ARGS, **OPTIONS, tracer=tracer)
    assert _names(_tree(tracer)[0][1]) == STAGES
    assert _ends(tracer, "findings") == [{"findings": sum(summary.values()), "bytes": out.stat().st_size}]
    assert out.read_bytes() == render_json(evaluate(load_rules(RULES), *ARGS, **OPTIONS))


def test_the_null_tracer_is_the_default_and_a_tracer_changes_no_byte(tmp_path) -> None:
    for function in (evaluate, evaluate_to):
        assert isinstance(inspect.signature(function).parameters["tracer"].default, NullTracer)
    rules = load_rules(RULES)
    assert render_json(evaluate(rules, *ARGS, **OPTIONS)) == render_json(
        evaluate(rules, *ARGS, **OPTIONS, tracer=RecordingTracer())
    )
    null = NullTracer()
    with null.stage("plan") as stage:
        stage.count(obligations=3)
    assert null.stage("plan") is null.stage("decide")  # nothing is made or kept per stage


def test_a_host_tracer_receives_balanced_starts_and_ends() -> None:
    """A host's own tracer (e.g. an adapter to its telemetry) overrides start and end."""

    class Calls(Tracer):
        def __init__(self) -> None:
            self.calls: list[tuple[str, str, dict[str, int]]] = []

        def start(self, name: str) -> None:
            self.calls.append(("start", name, {}))

        def end(self, name: str, counts) -> None:  # type: ignore[no-untyped-def]
            self.calls.append(("end", name, dict(counts)))

    host = Calls()
    report = evaluate(load_rules(RULES), *ARGS, **OPTIONS, tracer=host)
    recorded = RecordingTracer()
    evaluate(load_rules(RULES), *ARGS, **OPTIONS, tracer=recorded)
    assert host.calls == [(e.kind, e.name, dict(e.counts)) for e in recorded.events]
    assert host.calls[-1] == ("end", "evaluate", {}) and len(report.findings) > 0


def test_views_add_up_a_stage_entered_more_than_once_and_show_both_languages() -> None:
    tracer = RecordingTracer()
    with tracer.stage("decide") as decide:
        for n in (1, 2, 3):
            with tracer.stage("escalate") as stage:
                stage.count(escalations=n)
        decide.count(facts=4)
        decide.count(facts=6)  # counts add up within a stage too
    with tracer.stage("my-stage"):  # a stage the table has no Chinese name for keeps its id
        pass

    stages = tracer.stages()
    assert [(s.path, s.calls, s.counts) for s in stages] == [
        (("decide",), 1, {"facts": 10}),
        (("decide", "escalate"), 3, {"escalations": 6}),
        (("my-stage",), 1, {}),
    ]
    data = json.loads(tracer.to_json())
    assert data["format"] == "rules-engine/profile/v1"
    assert [(s["path"], s["zh"], s["depth"], s["calls"], s["counts"]) for s in data["stages"]] == [
        ("decide", "判定", 0, 1, {"facts": 10}),
        ("decide/escalate", "升级", 1, 3, {"escalations": 6}),
        ("my-stage", "my-stage", 0, 1, {}),
    ]
    lines = tracer.table().splitlines()
    assert "阶段 stage" in lines[0] and "calls" in lines[0] and "peak RSS MB" in lines[0]
    assert lines[2].startswith("判定 decide ") and "facts=10" in lines[2]
    assert lines[3].startswith("  升级 escalate ") and " 3 " in lines[3] and "escalations=6" in lines[3]
    assert lines[4].startswith("my-stage my-stage")


def test_a_failed_stage_still_ends_and_a_stray_end_is_refused() -> None:
    tracer = RecordingTracer()
    with pytest.raises(KeyError), tracer.stage("outer"), tracer.stage("inner"):
        raise KeyError("boom")
    assert [(e.kind, e.name) for e in tracer.events] == [
        ("start", "outer"),
        ("start", "inner"),
        ("end", "inner"),
        ("end", "outer"),
    ]
    tracer.start("a")
    with pytest.raises(ValueError, match="'b' ends"):
        tracer.end("b", {})


def _cli(*extra: str) -> list[str]:
    return [
        "evaluate",
        str(EXAMPLE),
        "--rules",
        str(RULES),
        "--period",
        "2024",
        "--as-of",
        "2025-01-15",
        "--waivers",
        str(WAIVERS),
        "--color",
        "never",
        *extra,
    ]


@pytest.mark.parametrize("format_", ["table", "json", "csv"])
def test_profile_goes_to_standard_error_and_leaves_the_report_as_it_was(tmp_path, capsysbinary, format_) -> None:
    assert main(_cli("--format", format_)) == 1
    plain = capsysbinary.readouterr()
    profile = tmp_path / "profile.json"
    assert main(_cli("--format", format_, "--profile", "--profile-json", str(profile))) == 1
    traced = capsysbinary.readouterr()
    assert traced.out == plain.out  # byte for byte
    assert traced.err.startswith(plain.err)  # the notes on files not read, then the table
    table = traced.err[len(plain.err) :].decode()
    assert table.splitlines()[0].startswith("阶段 stage")
    for name in ("rules", "evaluate", "plan", "intake", "read", "decide", "escalate", "findings"):
        assert f" {name} " in table
    assert ("报告输出 render" in table) == (format_ == "table")  # json and csv are written by evaluate_to
    data = json.loads(profile.read_bytes())
    paths = [s["path"] for s in data["stages"]]
    assert paths[:3] == ["rules", "evaluate", "evaluate/rules"] and "evaluate/intake/read" in paths
    findings = next(s for s in data["stages"] if s["path"] == "evaluate/findings")
    if format_ == "table":  # the table lists only some findings; the evaluation still counts them all
        assert findings["counts"]["findings"] < next(
            s["counts"]["facts"] for s in data["stages"] if s["path"] == "evaluate/decide"
        )
    else:  # written by evaluate_to: counted while written (where the stream tells its position)
        assert findings["counts"].get("bytes", len(plain.out)) == len(plain.out)


def test_profile_json_alone_prints_nothing_and_is_written_whole(tmp_path, capsysbinary) -> None:
    out = tmp_path / "report.json"
    profile = tmp_path / "profile.json"
    assert main(_cli("--format", "json", "-o", str(out), "--profile-json", str(profile))) == 1
    assert b"stage" not in capsysbinary.readouterr().err
    stages = {s["path"]: s for s in json.loads(profile.read_bytes())["stages"]}
    assert stages["evaluate/findings"]["counts"]["bytes"] == out.stat().st_size
    assert [p for p in stages if p.startswith("evaluate/")][:2] == ["evaluate/rules", "evaluate/roster"]
    assert sorted(tmp_path.iterdir()) == sorted([out, profile])  # no temporary file left


def test_profile_json_is_refused_over_the_report_or_an_input(tmp_path, capsys) -> None:
    out = tmp_path / "report.json"
    assert main(_cli("--format", "json", "-o", str(out), "--profile-json", str(out))) == 2
    assert "refusing to write" in capsys.readouterr().err and not out.exists()
    records = tmp_path / "records.jsonl"
    records.write_bytes((EXAMPLE / "records.jsonl").read_bytes())
    before = records.read_bytes()
    args = ["evaluate", str(EXAMPLE / "roster.yaml"), str(records), "--rules", str(RULES), "--period", "2024"]
    assert main([*args, "--as-of", "2025-01-15", "--profile-json", str(records)]) == 2
    assert records.read_bytes() == before
