"""No traceback for any argument or API input: a clear message (exit 2, or a ``rules_engine.Error``),
checked before any output is written; a closed output pipe ends quietly."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import rules_engine
from rules_engine import (
    Error,
    InputError,
    PeriodError,
    RulesError,
    evaluate,
    evaluate_to,
    load_rules,
    parse_period,
    read_roster,
    render_json,
)
from rules_engine.atomic import TEMP_SUFFIX
from rules_engine.cli import EXIT_BROKEN_PIPE, main
from rules_engine.render import render_table
from rules_engine.render.csv import render_csv

from .conftest import EXAMPLE, RULES

OLD = b"an earlier report\n"
ARGS = ["--rules", str(RULES), "--period", "2024", "--as-of", "2025-01-15"]
RULESET = load_rules(RULES)
RULE_IDS = sorted({r.rule.id for r in RULESET.rules})
PARAM_NAMES = ["at_least", "at_most", "period", "window", "within_days", "min_share", "min_days_in_post"]


def run_main(argv: list[str]) -> tuple[int, bytes, str]:
    """main() in process, standard output and error as real text streams over bytes (main reconfigures them)."""
    out, err = io.BytesIO(), io.BytesIO()
    out_text = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    err_text = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help, or an argument it refuses
            code = exc.code if isinstance(exc.code, int) else 2
        out_text.flush()
        err_text.flush()
        result = code, out.getvalue(), err.getvalue().decode("utf-8", "replace")
    out_text.detach()
    err_text.detach()
    return result


def temporaries(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


# ---------------------------------------------------------------- the cases the issue names


def test_max_evidence_out_of_range_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_bytes(OLD)
    for value in ("1e20", "100000000000000000000", "-1"):
        code, _, err = run_main(
            ["evaluate", str(EXAMPLE), *ARGS, "--format", "json", "--max-evidence", value, "-o", str(out)]
        )
        assert code == 2 and "Traceback" not in err and "max-evidence" in err.replace("max_evidence", "max-evidence")
        assert out.read_bytes() == OLD
    with pytest.raises(InputError, match="max_evidence"):
        evaluate(RULESET, EXAMPLE / "roster.yaml", EXAMPLE / "records.jsonl", period="2024", max_evidence=10**20)


def test_a_param_value_yaml_cannot_read_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    for value in ("!!python/object/apply:os.system ['echo hi']", "!!python/name:os.system", "{a: [}"):
        code, _, err = run_main(
            ["evaluate", str(EXAMPLE), *ARGS, "--param", f"ZZ-DW-01.at_least={value}", "-o", str(out)]
        )
        assert code == 2 and "Traceback" not in err and "--param ZZ-DW-01.at_least" in err, err
        assert not out.exists()


def test_param_typos_get_did_you_mean_from_cli_and_api(tmp_path: Path) -> None:
    code, _, err = run_main(["evaluate", str(EXAMPLE), *ARGS, "--param", "ZZ-DW-01.at_leest=2"])
    assert code == 2 and "rule ZZ-DW-01 has no parameter 'at_leest'" in err and "did you mean 'at_least'?" in err
    assert "pydantic" not in err and "extra_forbidden" not in err
    code, _, err = run_main(["explain", "ZZ-DW-01", "--rules", str(RULES), "--param", "ZZ-DW-01.period=yaer"])
    assert code == 2 and "did you mean 'year'?" in err and "problem(s) in the parameter overrides" in err
    with pytest.raises(RulesError) as info:
        evaluate(RULESET, EXAMPLE / "roster.yaml", [], period="2024", params={"ZZ-DW-01": {"at_least": "two", "x": 1}})
    codes = {p.code: p for p in info.value.problems}
    assert set(codes) == {"param.unknown_name", "param.invalid.int_type"}
    assert "must be a whole number" in codes["param.invalid.int_type"].message_en
    assert codes["param.invalid.int_type"].hint and codes["param.unknown_name"].location.path == "ZZ-DW-01.x"
    with pytest.raises(RulesError, match="did you mean 'ZZ-DW-01'"):
        evaluate(RULESET, EXAMPLE / "roster.yaml", [], period="2024", params={"ZZ-DW-1": {"at_least": 2}})


def test_a_lone_surrogate_id_is_rejected_with_its_row_and_the_report_renders() -> None:
    record = {"id": "R\ud800", "org": "county", "type": "zhuanti_huiyi", "date": "2024-03-01"}
    report = evaluate(RULESET, EXAMPLE / "roster.yaml", [record], period="2024", as_of="2025-01-15")
    (rejection,) = report.input.rejections
    assert (rejection.field, rejection.line) == ("id", 1)
    assert rejection.value == "R\\ud800" and "not valid Unicode" in rejection.reason.en
    assert json.loads(render_json(report))["input"]["rejections"][0]["value"] == "R\\ud800"
    roster = {"organisations": [{"id": "t1", "name": "甲\udc80镇", "kind": "township"}], "people": []}
    with pytest.raises(InputError, match=r"lone surrogate\) at /organisations/0/name"):
        evaluate(RULESET, roster, [], period="2024")


def test_a_lone_surrogate_escape_in_a_roster_file_rejects_that_entry(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(
        'organisations:\n  - {id: t1, name: "\\ud800镇", kind: township}\n  - {id: t2, name: 乙镇, kind: township}\n'
        "people: []\n",
        encoding="utf-8",
    )
    report = evaluate(RULESET, roster, [], period="2024", as_of="2025-01-15")
    assert {r.line for r in report.input.rejections} == {2}
    assert any("lone surrogate" in r.reason.en for r in report.input.rejections)
    assert {f.organisation.id for f in report.findings} == {"t2"}
    json.loads(render_json(report))


def test_data_nested_100000_deep_is_refused_without_recursion_error() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100_000):
        node["x"] = {}
        node = node["x"]
    record = {"id": "R1", "org": "county", "type": "zhuanti_huiyi", "date": "2024-03-01", "text": deep}
    report = evaluate(RULESET, EXAMPLE / "roster.yaml", [record, [deep]], period="2024", as_of="2025-01-15")
    assert [(r.line, r.field) for r in report.input.rejections] == [(1, "text"), (2, None)]
    render_json(report)
    with pytest.raises(InputError, match="nested deeper"):
        evaluate(RULESET, {"organisations": [deep], "people": []}, [], period="2024")
    with pytest.raises(InputError, match="nested deeper"):
        evaluate(RULESET, EXAMPLE / "roster.yaml", [], period="2024", params={"ZZ-DW-01": {"window": deep}})


def test_api_errors_share_one_base_class() -> None:
    assert issubclass(RulesError, Error) and issubclass(InputError, Error)
    assert issubclass(PeriodError, InputError) and issubclass(PeriodError, ValueError)
    with pytest.raises(PeriodError):
        parse_period("2024-H3")
    with pytest.raises(PeriodError):
        parse_period("2024-02-30..2024-03-01")
    with pytest.raises(PeriodError):
        evaluate(RULESET, EXAMPLE / "roster.yaml", [], period="2024-13")
    with pytest.raises(InputError):
        evaluate(RULESET, EXAMPLE / "roster.yaml", [], period="2024", as_of="2025-13-01")
    with pytest.raises(InputError):
        evaluate(RULESET, EXAMPLE / "roster.yaml", [], period=2024)  # type: ignore[arg-type]
    with pytest.raises(Error):
        load_rules(EXAMPLE / "missing-folder")
    assert {"Error", "PeriodError", "OutputError", "InputError", "RulesError"} <= set(rules_engine.__all__)


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "ZZ-08-06", "--rules", str(RULES)],
        ["evaluate", str(EXAMPLE), *ARGS, "--format", "json"],
        ["evaluate", str(EXAMPLE), *ARGS, "--show", "all"],
    ],
)
def test_a_closed_pipe_ends_quietly(command: list[str]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rules_engine", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before anything is written (`... | head -0`)
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=120)
    # the only text allowed is the note on the example folder's files that are not records
    assert [line for line in err.splitlines() if not line.startswith("rules-engine: 注意 note:")] == []
    assert proc.returncode == EXIT_BROKEN_PIPE


# ---------------------------------------------------------------- property: the command line


def mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` three times in four: enough runs get past the first check to reach the later ones."""
    return st.one_of(valid, valid, valid, other)


_texts = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(categories=("Cs", "Cc", "Zs", "Lo", "Nd")), max_size=6),
)
_yaml_values = (
    st.sampled_from(
        [
            "2",
            "-1",
            "0",
            "two",
            "1e400",
            "99999999999999999999",
            "null",
            "",
            "[1, 2]",
            "{from: 13-01}",
            "2/3",
            "7/3",
            "{from: 01-01, to: 06-30}",
            "!!python/object:os.system",
            '"\\ud800"',
            "&a [*a]",
            "{a: [}",
            "year",
            "yaer",
        ]
    )
    | _texts
)
_params = st.builds(
    lambda rule, name, value: f"{rule}.{name}={value}",
    mostly(st.sampled_from(RULE_IDS), _texts),
    mostly(st.sampled_from(PARAM_NAMES), st.just("at_leest") | _texts),
    mostly(st.sampled_from(["1", "2", "0", "year", "quarter", "2/3", "{from: 01-01, to: 06-30}"]), _yaml_values),
)
_periods = mostly(
    st.sampled_from(["2024", "2024-H1", "2024-Q3", "2024-05", "2024-01-01..2024-06-30"]),
    st.sampled_from(["2024-H3", "0000", "9999", "9999-Q4", "2024-02-30..2024-03-01", "2024-06-30..2024-01-01", "٢٠٢٤"])
    | _texts,
)
_dates = mostly(
    st.sampled_from(["2025-01-15", "2024-07-01"]),
    st.sampled_from(["9999-12-31", "0001-01-01", "2025-02-30"]) | _texts,
)
_evidence = mostly(
    st.integers(0, 50).map(str), st.integers(-5, 10**25).map(str) | st.sampled_from(["1e20", "nan"]) | _texts
)
_shows = mostly(st.sampled_from(["all", "violated", "violated,pending"]), st.sampled_from(["bogus", ",", ""]) | _texts)


@st.composite
def _cli_args(draw: st.DrawFn, folder: Path) -> tuple[list[str], Path | None]:
    """A command line: mostly well-formed, with generated values where users type them."""
    out = folder / draw(mostly(st.just("report.out"), st.just("missing/report.out")))
    command = draw(mostly(st.just("evaluate"), st.sampled_from(["explain", "schema", "lint", "verify"])))
    argv: list[str] = [command]
    given_out: Path | None = None
    if command == "evaluate":
        argv += [str(draw(mostly(st.just(folder / "in"), st.sampled_from([folder / "in" / "records.jsonl", folder]))))]
        argv += ["--rules", str(RULES), "--period", draw(_periods)]
        if draw(st.booleans()):
            argv += ["--as-of", draw(_dates)]
        argv += ["--format", draw(st.sampled_from(["table", "json", "csv"]))]
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
            argv += ["--param", draw(_params)]
        if draw(st.booleans()):
            argv += ["--max-evidence", draw(_evidence)]
        if draw(st.booleans()):
            argv += ["--show", draw(_shows)]
        if draw(st.booleans()):
            argv += ["--waivers", str(draw(st.sampled_from([folder / "in" / "waivers.yaml", folder / "garbage.yaml"])))]
        if draw(st.booleans()):
            given_out = draw(mostly(st.just(out), st.sampled_from([folder / "in" / "records.jsonl", folder / "in"])))
            argv += ["-o", str(given_out)]
    elif command == "explain":
        argv += [draw(st.one_of(st.sampled_from(RULE_IDS), _texts)), "--rules", str(RULES)]
        for _ in range(draw(st.integers(0, 2))):
            argv += ["--param", draw(_params)]
        argv += ["--format", draw(st.sampled_from(["text", "json"]))]
    elif command == "schema":
        argv += ["--kind", draw(st.sampled_from(["rules", "pack"]))]
        given_out = out
        argv += ["-o", str(out)]
    elif command == "lint":
        argv += [str(draw(st.sampled_from([RULES, folder / "garbage.yaml", folder / "missing"])))]
    else:
        argv += [
            str(draw(st.sampled_from([folder / "garbage.yaml", folder / "missing", folder / "in" / "roster.yaml"])))
        ]
    if draw(st.integers(0, 9)) == 0:  # now and then a stray argument argparse refuses
        argv.insert(draw(st.integers(0, len(argv))), draw(_texts))
    return argv, given_out


def _whole(path: Path, argv: list[str]) -> None:
    """An output file that was written is a whole report of its format."""
    data = path.read_bytes()
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "table"
    if argv[0] == "schema" or fmt == "json":
        json.loads(data)
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert rows and all(len(row) == len(rows[0]) for row in rows)
    else:
        assert data.decode("utf-8").rstrip().splitlines()


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    shutil.copytree(EXAMPLE, folder / "in")
    (folder / "garbage.yaml").write_bytes(b"\xff\xfe{[: \x00 !!python/object:os.system\n")
    return folder


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_cli_exit_codes_no_traceback_no_partial_output(cli_folder: Path, data: st.DataObject) -> None:
    argv, out = data.draw(_cli_args(cli_folder))
    inputs_before = {p: p.read_bytes() for p in (cli_folder / "in").iterdir()}
    if out is not None and out.parent.is_dir() and not out.is_dir() and out.parent.name != "in":
        out.write_bytes(OLD)
    code, _, err = run_main(argv)
    event(f"exit {code}")
    assert code in (0, 1, 2, 4), (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    assert {p: p.read_bytes() for p in (cli_folder / "in").iterdir()} == inputs_before  # never clobbered
    assert temporaries(cli_folder) == []
    if out is not None and out.is_file() and out.parent.name != "in":
        if code == 2:
            assert out.read_bytes() == OLD, argv  # refused before anything was written
        else:
            _whole(out, argv)
        out.unlink()


@pytest.mark.parametrize(
    "extra",
    [
        ["--max-evidence", "100000000000000000000", "--format", "json"],
        ["--param", "ZZ-DW-01.at_least=!!python/object:os.system", "--format", "csv"],
        ["--period", "9999-Q4"],
        ["--as-of", "\udcff"],  # an argument that is not valid UTF-8 (surrogate-escaped by Python)
    ],
)
def test_real_runs_give_a_message_not_a_traceback(tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "report.out"
    out.write_bytes(OLD)
    argv = [sys.executable, "-m", "rules_engine", "evaluate", str(EXAMPLE), *ARGS, *extra, "-o", str(out)]
    argv_bytes = [a.encode("utf-8", "surrogateescape") for a in argv]
    proc = subprocess.run(argv_bytes, capture_output=True, timeout=120)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and err.startswith("rules-engine: ")
    assert out.read_bytes() == OLD and temporaries(tmp_path) == []


# ---------------------------------------------------------------- property: the API

_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    _texts,
    st.sampled_from(["county", "twn-liuhe", "zhuanti_huiyi", "2024-03-01", "p001", "township", "secretary"]),
)
_json = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_texts, inner, max_size=3)),
    max_leaves=8,
)
_record = mostly(
    st.fixed_dictionaries(
        {
            "id": mostly(st.sampled_from(["R1", "R2", "R3"]), _texts),
            "org": mostly(st.just("t1"), _leaf),
            "type": mostly(st.sampled_from(["zhuanti_huiyi", "tanxin_tanhua", "dingqi_dudao"]), _leaf),
            "date": mostly(st.dates(dt.date(2023, 6, 1), dt.date(2025, 6, 1)).map(str), _leaf),
        },
        optional={"chair": _leaf, "participants": _json, "portfolio": _leaf, "tags": _json, "text": _json},
    ),
    _json,
)
_org = st.fixed_dictionaries(
    {
        "id": mostly(st.just("t1"), _texts),
        "name": mostly(st.just("甲镇党委"), _texts),
        "kind": mostly(st.sampled_from(["township", "party_group"]), _texts),
    },
    optional={"parent": _leaf, "level": _leaf},
)
_post = st.fixed_dictionaries(
    {
        "org": mostly(st.just("t1"), _leaf),
        "role": mostly(st.sampled_from(["secretary", "member"]), _leaf),
        "start": mostly(st.just("2020-01-01"), _leaf),
    }
)
_person = st.fixed_dictionaries(
    {"id": mostly(st.sampled_from(["p1", "p2"]), _texts), "name": _texts},
    optional={"posts": st.lists(_post, max_size=2)},
)
_roster = mostly(
    st.fixed_dictionaries(
        {"organisations": st.lists(_org, min_size=1, max_size=3), "people": st.lists(_person, max_size=3)}
    ),
    _json,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    roster=_roster,
    records=st.lists(_record, max_size=4),
    period=mostly(_periods, st.integers() | st.none()),
    as_of=mostly(_dates, st.dates() | st.integers() | st.none()),
    params=mostly(
        st.none(),
        st.dictionaries(
            mostly(st.sampled_from(RULE_IDS), _texts),
            st.dictionaries(st.sampled_from(PARAM_NAMES), _json, max_size=2) | _json,
            max_size=2,
        ),
    ),
    max_evidence=mostly(st.integers(0, 30), st.integers(-3, 10**21) | st.floats() | st.just(True)),
)
def test_property_api_returns_or_raises_error(
    tmp_path_factory: pytest.TempPathFactory,
    roster: Any,
    records: Any,
    period: Any,
    as_of: Any,
    params: Any,
    max_evidence: Any,
) -> None:
    kwargs: dict[str, Any] = {"period": period, "as_of": as_of, "params": params, "max_evidence": max_evidence}
    try:
        report = evaluate(RULESET, roster, records, **kwargs)
    except Error as exc:
        event(type(exc).__name__)
        report = None
    if report is not None:  # whatever was accepted renders whole
        json.loads(render_json(report))
        render_csv(report).decode("utf-8-sig")
        render_table(report).encode("utf-8")
    folder = tmp_path_factory.mktemp("api")
    out = folder / "report.json"
    out.write_bytes(OLD)
    try:
        evaluate_to(out, RULESET, roster, records, **kwargs)
    except Error:
        assert report is None and out.read_bytes() == OLD
    else:
        assert report is not None and out.read_bytes() == render_json(report)
    assert temporaries(folder) == []


@settings(max_examples=60, deadline=None)
@given(
    text=st.one_of(_periods, st.integers(), st.none(), st.binary(max_size=8)),
    content=st.one_of(st.binary(max_size=60), _json.map(lambda d: json.dumps(d).encode("utf-8", "surrogatepass"))),
    suffix=st.sampled_from([".yaml", ".json", ".xlsx", ".txt"]),
)
def test_property_loaders_return_or_raise_error(
    tmp_path_factory: pytest.TempPathFactory, text: Any, content: bytes, suffix: str
) -> None:
    try:
        period = parse_period(text)
        assert period.start <= period.end
    except Error:
        pass
    folder = tmp_path_factory.mktemp("load")
    roster = folder / f"roster{suffix}"
    roster.write_bytes(content)
    with contextlib.suppress(Error):
        read_roster(roster)
    pack = folder / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_bytes(content)
    (pack / f"rules{suffix}").write_bytes(content)
    with contextlib.suppress(Error):
        load_rules(pack)
    for weird in (folder / "a\x00b", str(text)):
        with contextlib.suppress(Error):
            read_roster(weird)


def test_as_of_accepts_a_datetime_as_its_day() -> None:
    report = evaluate(RULESET, EXAMPLE / "roster.yaml", [], period="2024", as_of=dt.datetime(2025, 1, 15, 9, 30))
    assert report.as_of == dt.date(2025, 1, 15) and report.receipt.as_of == dt.date(2025, 1, 15)


def test_render_json_of_a_hand_made_report_with_a_lone_surrogate_is_an_input_error() -> None:
    report = evaluate(RULESET, EXAMPLE / "roster.yaml", [], period="2024-Q1", as_of="2025-01-15")
    with pytest.raises(InputError, match="JSON cannot carry"):
        render_json(report.model_copy(update={"format": "rules-engine\ud800"}))


@pytest.mark.parametrize(
    ("param", "needle"),
    [
        ("ZZ-DW-01.at_least=99999999999999999999", "'at_least' must be at most 1000000000"),
        ("ZZ-DC-01.within_days=99999", "'within_days' must be at most 3660"),
    ],
)
def test_parameters_beyond_what_a_report_or_calendar_holds_are_refused(param: str, needle: str) -> None:
    code, _, err = run_main(["evaluate", str(EXAMPLE), *ARGS, "--param", param])
    assert code == 2 and needle in err and "Traceback" not in err


def test_periods_beyond_the_calendar_the_windows_need_are_refused() -> None:
    for text in ("9999", "9900-Q1", "0999"):
        with pytest.raises(PeriodError, match="1000 to 9899"):
            parse_period(text)
    assert parse_period("9899-Q4").end == dt.date(9899, 12, 31)
    with pytest.raises(PeriodError):
        evaluate(RULESET, EXAMPLE / "roster.yaml", [], period=rules_engine.Period(dt.date(2024, 1, 1), dt.date.max))
