"""``rules-engine``: a thin command-line shell over the public API.

Exit codes: 0 no violation (or lint clean), 1 violations found (or lint problems), 2 usage error or
input that cannot be read at all (any :class:`rules_engine.Error`), 3 internal error (a bug); ``evaluate``
also 4: no violation, but the check is incomplete (see ``rules_engine.outcome``). A closed
output pipe (``... | head``) ends quietly with 141, as a process ended by SIGPIPE.

Every file written with ``-o`` is written whole or not at all (see :mod:`rules_engine.atomic`) and never
over one of the run's inputs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import (
    DEFAULT_FAIL_ON,
    EngineError,
    NullTracer,
    RecordingTracer,
    RecordSource,
    RulesError,
    RuleSet,
    Tracer,
    WorkerError,
    __version__,
    compile_rules,
    evaluate,
    evaluate_to,
    lint,
    load_rules,
    render_table,
)
from .applies import condition_text as _condition_text
from .atomic import files_under, refuse_overwrite, write_bytes
from .cli_closed_loop import add_commands as add_closed_loop_commands
from .cli_common import (
    CLUSTER_HELP,
    DEFAULT_REPORT_FORMAT,
    WORKERS_HELP,
    UsageError,
    cluster_argument,
    fail_on_argument,
    local_rules,
    parse_params,
    rules_paths,
    shown_statuses,
    split_inputs,
    workers_argument,
)
from .cli_completion import add_command as add_completion_command
from .cli_draft import add_commands as add_draft_commands
from .cli_draft import note_drafts
from .cli_explain import add_finding_options, explain_finding, wants_finding
from .cli_history import add_commands as add_history_commands
from .cli_outputs import add_output_options
from .cli_parser import VERSION as VERSION_HELP
from .cli_parser import Parser
from .cli_rectify import RECTIFICATIONS_HELP, with_rectifications
from .cli_rectify import add_commands as add_rectify_commands
from .cli_reports import add_commands as add_report_commands
from .cli_scorecard import add_commands as add_scorecard_commands
from .cli_serve import add_commands as add_serve_commands
from .cli_streams import EXIT_BROKEN_PIPE as EXIT_BROKEN_PIPE  # re-exported: the exit code of a closed pipe
from .cli_streams import exit_for, prepare_streams
from .provenance import number_view, provenance_lines
from .schema import KINDS as SCHEMA_KINDS
from .schema import schema_text

RULES_HELP = (
    "规则包目录或已安装规则包的编号 rule pack folder(s), or the id of an installed pack "
    "(default: ./rules if it exists, else the installed packs: see `rules-engine packs`)"
)


def main(argv: Sequence[str] | None = None) -> int:
    prepare_streams()
    parser = _parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown and args.command == "explain" and not any(u.startswith("-") for u in unknown):
            args.inputs = [*args.inputs, *unknown]  # explain RULE --subject ID --period P INPUTS: after the options
        elif unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        result: int = args.func(args)
        return result
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(_problems_line(exc), file=sys.stderr)
        return 2
    except (EngineError, WorkerError) as exc:
        print(f"rules-engine: 内部错误（请报告） internal engine error, please report: {exc}", file=sys.stderr)
        return 3
    except (Exception, KeyboardInterrupt) as exc:
        return exit_for(exc)


def _problems_line(exc: RulesError) -> str:
    """The closing line under refused rule files, parameter overrides or waiver files: what was refused."""
    n = len(exc.problems)
    if exc.refused == "waivers":
        return f"豁免文件有 {n} 处问题 {n} problem(s) in the waiver files"
    if exc.refused == "scoring":
        return f"评分文件有 {n} 处问题 {n} problem(s) in the scoring file"
    if exc.refused == "params" or (exc.problems and all(p.code.startswith("param.") for p in exc.problems)):
        return f"参数覆盖有 {n} 处问题 {n} problem(s) in the parameter overrides"
    return f"规则有 {n} 处问题 {n} problem(s) in the rules"


_WHOLE = "(written whole or not at all; refused if it is one of the inputs)"


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rules-engine",
        description="检查党委（党组）落实全面从严治党主体责任的履责情况 / check primary-responsibility duties",
    )
    parser.add_argument("--version", action="version", version=f"rules-engine {__version__}", help=VERSION_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser(
        "evaluate",
        help="评价 evaluate records against the rules",
        epilog=EVALUATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument(
        "inputs",
        nargs="+",
        help="a folder with roster.yaml and record files (.jsonl .json .csv .tsv .txt .xlsx .xls .ods ...), or the"
        " files; every file of a folder is read, noted as not read, or refused",
    )
    ev.add_argument("--rules", action="append", help=RULES_HELP)
    ev.add_argument("--period", required=True, help="2024, 2024-H1, 2024-Q3, 2024-05 or 2024-01-01..2024-06-30")
    ev.add_argument("--as-of", help="评价日期 evaluation date YYYY-MM-DD (default: today)")
    ev.add_argument(
        "--format",
        choices=("table", "summary", "json", "csv", "junit", "parquet", "xlsx", "html"),
        help="table (default; with -o: from its extension), summary (totals by organisation and by rule), json "
        "(the report with its receipt), csv (spreadsheets), junit (JUnit XML for CI: a test case per finding, a "
        "suite per organisation), parquet (the CSV columns for data tools; needs the [parquet] extra), xlsx or "
        "html (with -o: the report people open, see `rules-engine report`)",
    )
    ev.add_argument(
        "--summary", action="store_true", help="汇总 the table as totals by organisation and by rule (large runs)"
    )
    ev.add_argument(
        "--report-format",
        choices=("v1", "v2"),
        help="with --format json: v2 (default: each rule's title, clause and parameters once, in a rules table; "
        "for large runs) or v1 (every finding whole, as before)",
    )
    ev.add_argument(
        "--output",
        "-o",
        action="append",
        dest="outputs",
        metavar="FILE",
        help="write the report to this file instead of standard output; repeat for several formats from one "
        "evaluation, each from its extension (.json .csv .xml .parquet .xlsx .html .txt); all written or none "
        + _WHOLE,
    )
    ev.add_argument(
        "--dataset",
        action="store_true",
        help="数据集 write the Parquet report as a dataset: -o names a folder, one part-NNNNN.parquet per part of "
        "the organisations (written by the workers in parallel with --cluster) and _manifest.json; the same "
        "files whatever the workers; read DIR/*.parquet in name order for the rows of --format parquet",
    )
    ev.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="RULE.NAME=VALUE",
        help="override a rule parameter, e.g. ZZ-DW-01.at_least=2",
    )
    ev.add_argument("--waivers", action="append", default=[], metavar="FILE", help="豁免文件 waiver file (YAML)")
    ev.add_argument(
        "--max-evidence",
        type=int,
        default=20,
        metavar="N",
        help="evidence ids listed per finding (0 to 1000000, default 20)",
    )
    ev.add_argument(
        "--workers",
        type=workers_argument,
        default=None,
        metavar="N",
        help=WORKERS_HELP,
    )
    ev.add_argument("--cluster", type=cluster_argument, metavar="ADDRESS", help=CLUSTER_HELP)
    ev.add_argument(
        "--show",
        help="statuses listed (the table and html: violated,undeterminable,pending,waived unless given; the "
        "other formats: every finding unless given; 'all' for every finding); the summary always counts all",
    )
    add_output_options(ev)
    ev.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    ev.add_argument(
        "--fail-on",
        type=fail_on_argument,
        default=DEFAULT_FAIL_ON,
        metavar="CONDITIONS",
        help="what makes the exit code non-zero, comma-separated: violated (exit 1), undeterminable, "
        "rejected, pending (exit 4); incomplete = undeterminable,rejected (default: violated,incomplete)",
    )
    ev.add_argument(
        "--db",
        metavar="URL",
        help="记录本次运行 record the run in this findings store (a SQLite file, created on first use, or a "
        "database URL) once the evaluation succeeded; needs the [history] extra; see `rules-engine history`",
    )
    ev.add_argument("--rectifications", action="store_true", help=RECTIFICATIONS_HELP)
    ev.add_argument(
        "--recorded-by",
        metavar="NAME",
        help="with --db: who ran it (default: $RULES_ENGINE_RECORDED_BY, else nobody)",
    )
    ev.add_argument(
        "--profile",
        action="store_true",
        help="各阶段用时 after the run, print each stage's wall and CPU time, peak memory and counts to standard "
        "error (the report is the same with or without it)",
    )
    ev.add_argument(
        "--profile-json", metavar="FILE", help="write the stages as JSON (rules-engine/profile/v1) to FILE " + _WHOLE
    )
    ev.set_defaults(func=_evaluate)

    li = sub.add_parser("lint", help="检查规则文件 check rule files; exit 1 on problems")
    li.add_argument(
        "paths", nargs="*", default=rules_paths(None), help="rule files, pack folders or pack ids (default as --rules)"
    )
    li.add_argument(
        "--format",
        choices=("text", "json", "sarif", "github"),
        default="text",
        help="text (default), json (the problems as data), sarif (SARIF 2.1.0 for code scanning), github "
        "(workflow annotation lines)",
    )
    li.add_argument(
        "--base",
        metavar="DIR",
        help="sarif/github: name files relative to this folder, the repository root (default: the working folder)",
    )
    li.add_argument(
        "--release",
        action="store_true",
        help="发布检查 the release check: draft rules (provenance.basis: draft, from `rules-engine draft`) are "
        "problems too, until a person has reviewed them",
    )
    li.set_defaults(func=_lint)

    sc = sub.add_parser(
        "schema",
        help="输出 JSON Schema print the JSON Schema of rule files, pack manifests, scoring files or JSON reports",
    )
    sc.add_argument(
        "--kind",
        choices=tuple(SCHEMA_KINDS),
        default="rules",
        help="rules (a rule file, default), pack (pack.yaml), scoring (a scoring file), "
        "report-v1 or report-v2 (evaluate --format json)",
    )
    sc.add_argument("--output", "-o", help="write here instead of standard output " + _WHOLE)
    sc.set_defaults(func=_schema)

    nr = sub.add_parser("new-rule", help="新建规则模板 scaffold a rule file and its feature file")
    nr.add_argument("rule_id")
    nr.add_argument("--pack", required=True, help="the pack folder (with pack.yaml) to add the rule to")
    nr.add_argument(
        "--subject", default="organisation", choices=("organisation", "person", "portfolio", "pair", "trigger")
    )
    nr.add_argument("--features", help="folder for the skeleton .feature file (e.g. tests/features)")
    nr.set_defaults(func=_new_rule)

    co = sub.add_parser("coverage", help="覆盖情况 write the coverage table (rules/COVERAGE.md)")
    co.add_argument("--rules", action="append", help=RULES_HELP)
    co.add_argument("--features", default="tests/features", help="folder of .feature files (default tests/features)")
    co.add_argument("--output", "-o", help="write here (e.g. rules/COVERAGE.md) instead of standard output " + _WHOLE)
    co.set_defaults(func=_coverage)

    ve = sub.add_parser(
        "verify",
        help="复核报告 re-check a saved JSON report against its inputs (from any folder; see --base)",
        description="Find the report's inputs (paths relative to the folder it was made in) and rule packs (by id "
        "and hash: --rules, rules/ of that folder, the installed packs), say which changed, else evaluate again "
        "and compare byte for byte. Exit 0 reproduced, 1 problems, 2 unreadable.",
    )
    ve.add_argument("report")
    ve.add_argument("--rules", action="append", default=[], help="rule pack folder(s) to look in first")
    ve.add_argument(
        "--base",
        metavar="DIR",
        help="the folder the report was made in (default: found from the working folder and the report's folder)",
    )
    ve.set_defaults(func=_verify)

    mg = sub.add_parser(
        "migrate",
        help="把 v1 规则包改写为 v2 rewrite v1 rule packs into the v2 format (format line, imports: [cpc-basic]); "
        "every file or none",
    )
    mg.add_argument("paths", nargs="+", metavar="DIR", help="规则包目录或其上级目录 pack folders, or folders of packs")
    mg.add_argument(
        "--check",
        action="store_true",
        help="只报告将改动的文件，不写入；有待改动时退出码 1 write nothing; exit 1 if any",
    )
    mg.set_defaults(func=_migrate)

    pk = sub.add_parser("packs", help="列出规则包 list the rule packs found, and where each comes from")
    pk.add_argument("--rules", action="append", help=RULES_HELP)
    pk.add_argument("--format", choices=("text", "json"), default="text")
    pk.set_defaults(func=_packs)

    add_history_commands(sub)

    ex = sub.add_parser(
        "explain",
        help="说明规则或结论 explain what a rule checks; with --subject, --period and inputs: a finding, as a trace",
    )
    ex.add_argument("rule_id")
    add_finding_options(ex)
    ex.add_argument("--rules", action="append", help=RULES_HELP)
    ex.add_argument("--param", action="append", default=[], metavar="RULE.NAME=VALUE")
    ex.add_argument("--format", choices=("text", "json"), default="text")
    ex.set_defaults(func=_explain)

    add_draft_commands(sub)
    add_completion_command(sub, parser)
    add_closed_loop_commands(sub, RULES_HELP, _WHOLE)
    add_scorecard_commands(sub, _WHOLE)
    add_rectify_commands(sub, RULES_HELP, _WHOLE)
    add_report_commands(sub, RULES_HELP, _WHOLE)
    add_serve_commands(sub, RULES_HELP)
    return parser


EVALUATE_EPILOG = """\
退出码 exit codes:
  0  全部判定且无未履行 every duty decided, none violated, no input row rejected
  1  有未履行 violations found (takes precedence over 4)
  4  无未履行但检查不完整 no violation, but the check is incomplete: undeterminable findings or
     rejected input rows (see the report's input.rejections)
  2  用法错误或输入无法读取 usage error or input that cannot be read at all
  3  内部错误 internal error (please report)
--fail-on chooses the conditions: '--fail-on violated' ignores incompleteness (exit 0 or 1);
'--fail-on violated,incomplete,pending' also fails while a duty's window is not over (exit 4).
Rows dated after --as-of, identical duplicates and rows dated outside every period are excluded
(input.excluded), not rejected: they do not make a run incomplete."""


def _packs(args: argparse.Namespace) -> int:
    groups: list[tuple[str, RuleSet]] = []
    if args.rules:
        groups.append(("--rules", load_rules(*args.rules)))
    else:
        if local_rules():
            groups.append(("./rules", load_rules("rules")))
        groups.append(("installed", load_rules()))
    rows = [
        {
            "id": pack.id,
            "version": pack.manifest.pack.version,
            "rules": len(pack.rules),
            "origin": pack.origin,
            "root": pack.root,
            "overlay_of": pack.manifest.overlay.extends if pack.manifest.overlay else None,
            "used_by_default": index == 0,
        }
        for index, (_name, ruleset) in enumerate(groups)
        for pack in ruleset.packs
    ]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    titles = {
        "--rules": "--rules",
        "./rules": "./rules（未指定 --rules 时使用 used when no --rules is given）",
        "installed": "已安装 installed"
        + ("" if len(groups) > 1 else "（未指定 --rules 时使用 used when no --rules is given）"),
    }
    for name, ruleset in groups:
        print(f"{titles[name]}: {len(ruleset.packs)} 个规则包 packs, {len(ruleset.rules)} 条规则 rules")
        for pack in ruleset.packs:
            extends = f"  覆盖 overlays {pack.manifest.overlay.extends}" if pack.manifest.overlay else ""
            print(
                f"  {pack.id:<32} {pack.manifest.pack.version:<8} {len(pack.rules):>3} 条规则 rules"
                f"  来源 from: {pack.origin}{extends}"
            )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .render.terminal import ProgressTracer, progress_tracer

    tracer: Tracer = RecordingTracer() if args.profile or args.profile_json else NullTracer()
    shown = progress_tracer(tracer, sys.stderr)  # a progress display only on a terminal, after a second
    try:
        code = _evaluate_traced(args, shown)
    finally:
        if isinstance(shown, ProgressTracer):
            shown.close()
    if isinstance(tracer, RecordingTracer):  # after the report: never on standard output
        if args.profile:
            sys.stderr.write(tracer.table())
        if args.profile_json:
            write_bytes(args.profile_json, tracer.to_json(), args.outputs or [])
    return code


def _check_dataset(args: argparse.Namespace) -> None:
    """``--dataset``: Parquet, to one ``-o`` folder, streamed (no other output, filter, --db or summary view)."""
    if args.format not in (None, "parquet"):
        raise UsageError.of("usage.dataset.format", format=args.format)
    if len(args.outputs or []) != 1 or args.summary:
        raise UsageError.of("usage.dataset.output")
    for option, given in (
        ("--db", args.db is not None),
        ("--org", bool(args.org)),
        ("--rule", bool(args.rule)),
        ("--show", args.show is not None),
        ("--report-format", args.report_format is not None),
    ):
        if given:
            raise UsageError.of("usage.dataset.option", option=option)
    args.format = "parquet"


def _evaluate_traced(args: argparse.Namespace, tracer: Tracer) -> int:
    if args.dataset:
        _check_dataset(args)
    roster, records = split_inputs(args.inputs, args.waivers)
    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError.of("usage.as_of.invalid", value=args.as_of) from None
    store: list[RecordSource] = []  # --rectifications: the store's overdue rectifications, as records
    with tracer.stage("rules"):
        ruleset = load_rules(*rules_paths(args.rules))
        if args.rectifications:
            ruleset, overdue, as_of = with_rectifications(args, ruleset, as_of)
            store.append(overdue)
        compiled = compile_rules(ruleset, parse_params(args.param))
    from .cli_outputs import evaluate_outputs, needs_outputs, output_paths, plan_outputs

    files: list[str | RecordSource] = [str(p) for p in records]
    # refused before anything is evaluated or written: -o onto a record, roster, waiver or rule file
    inputs = [str(roster), *map(str, records), *args.waivers, *files_under(p.root for p in compiled.ruleset.packs)]
    outputs = plan_outputs(args.outputs or [], args.format, summary=args.summary)
    for path in output_paths(outputs):
        refuse_overwrite(path, inputs)
    if args.profile_json:
        refuse_overwrite(args.profile_json, [*inputs, *output_paths(outputs)])
    extra: dict[str, Any] = {"waivers": list(args.waivers), "max_evidence": args.max_evidence, "tracer": tracer}
    extra["workers"] = args.workers
    if args.cluster is not None:
        extra["cluster"] = args.cluster
    args.output = outputs[0].path if len(outputs) == 1 else None
    files += store  # the records evaluated: the files, and the store's with --rectifications
    if needs_outputs(args, outputs):  # several outputs, a filter, the summary view, the rich table
        return evaluate_outputs(args, outputs, compiled, roster, files, as_of, extra, inputs)
    args.format = outputs[0].format
    if args.report_format is not None and args.format != "json":
        raise UsageError.of("usage.report_format.not_json#format", format=args.format)
    if args.format in ("xlsx", "html"):  # every finding held, then a workbook or a page (cli_reports)
        from .cli_reports import evaluate_report

        return evaluate_report(args, compiled, roster, files, as_of, extra, inputs)
    if args.db is not None:
        return _evaluate_recorded(args, compiled, roster, files, as_of, extra, inputs)
    if args.format in ("json", "csv", "junit", "parquet"):  # streamed: findings written as produced, never all held
        extra["format"] = args.format
        if args.dataset:
            extra["dataset"] = True
        if args.format == "json":
            extra["report_format"] = args.report_format or DEFAULT_REPORT_FORMAT
        if args.output:
            summary = evaluate_to(args.output, compiled, roster, files, period=args.period, as_of=as_of, **extra)
        else:
            summary = evaluate_to(sys.stdout.buffer, compiled, roster, files, period=args.period, as_of=as_of, **extra)
            sys.stdout.flush()
        return summary.exit_code(args.fail_on)
    show = shown_statuses(args)
    # only the findings the table lists are kept as models (the summary counts all of them)
    report = evaluate(compiled, roster, files, period=args.period, as_of=as_of, statuses=show, **extra)
    with tracer.stage("render") as stage:
        data = render_table(report, colour=_colour(args), show=show).encode()
        _emit(args, data, inputs)
        stage.count(bytes=len(data))
    return report.exit_code(args.fail_on)


def _colour(args: argparse.Namespace) -> bool:
    return bool(
        args.color == "always"
        or (args.color == "auto" and not args.output and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    )


def _emit(args: argparse.Namespace, data: bytes, inputs: list[str]) -> None:
    """The report to -o (whole or not at all, never over an input) or to standard output."""
    if args.output:
        write_bytes(args.output, data, inputs)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def _evaluate_recorded(
    args: argparse.Namespace,
    compiled: Any,
    roster: Path,
    files: list[str | RecordSource],
    as_of: dt.date | None,
    extra: dict[str, Any],
    inputs: list[str],
) -> int:
    """evaluate --db: every finding held, the run recorded once the evaluation succeeded, then the report
    written as without --db (the same bytes)."""
    from . import history, render_csv, render_json, render_junit
    from .render.frames import require_parquet

    history.resolve_db(args.db)  # a bad URL is refused before the evaluation
    if args.format == "parquet":
        require_parquet()
    report = evaluate(compiled, roster, files, period=args.period, as_of=as_of, **extra)
    run = history.record(report, args.db, recorded_by=args.recorded_by)
    print(f"rules-engine: 已记录运行 recorded run {run.id} ({history.shown_db(args.db)})", file=sys.stderr)
    tracer: Tracer = extra["tracer"]
    with tracer.stage("render") as stage:
        if args.format == "json":
            data = render_json(report, report_format=args.report_format or DEFAULT_REPORT_FORMAT, rules=compiled)
        elif args.format == "parquet":
            from .render.frames import write_parquet

            buffer = io.BytesIO()
            write_parquet(report.findings, buffer)
            data = buffer.getvalue()
        elif args.format == "csv":
            data = render_csv(report)
        elif args.format == "junit":
            data = render_junit(report)
        else:
            data = render_table(report, colour=_colour(args), show=shown_statuses(args)).encode()
        _emit(args, data, inputs)
        stage.count(bytes=len(data))
    return report.exit_code(args.fail_on)


def _migrate(args: argparse.Namespace) -> int:
    from . import migrate_packs

    migration = migrate_packs(args.paths, check=args.check)
    for line in migration.summary():
        print(("将改动 would change " if args.check else "已改写 rewrote ") + line)
    if not migration.changes:
        print(f"无需改动 nothing to change: {len(migration.packs)} 个规则包 packs are v2")
    return 1 if args.check and migration.changes else 0


def _lint(args: argparse.Namespace) -> int:
    problems = lint(*args.paths, release=args.release)
    if args.format == "json":
        print(json.dumps([p.to_dict() for p in problems], ensure_ascii=False, indent=2))
    elif args.format in ("sarif", "github"):
        from . import render_annotations, render_sarif

        render = render_sarif if args.format == "sarif" else render_annotations
        sys.stdout.write(render(problems, base=args.base))
    else:
        for problem in problems:
            print(problem)
        if not problems:
            ruleset = load_rules(*args.paths)
            print(f"OK: {len(ruleset.packs)} 个规则包 packs, {len(ruleset.rules)} 条规则 rules")
            note_drafts(ruleset)
        else:
            print(f"{len(problems)} 处问题 problem(s)", file=sys.stderr)
    return 1 if problems else 0


def _schema(args: argparse.Namespace) -> int:
    text = schema_text(args.kind)
    if args.output:
        write_bytes(args.output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return 0


def _coverage(args: argparse.Namespace) -> int:
    from .coverage import coverage_markdown

    ruleset = load_rules(*rules_paths(args.rules))
    text = coverage_markdown(ruleset, Path(args.features))
    if args.output:
        write_bytes(args.output, text.encode("utf-8"), files_under([*(p.root for p in ruleset.packs), args.features]))
    else:
        sys.stdout.write(text)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from . import verify_report

    problems = verify_report(args.report, rules=args.rules, base=args.base)
    for problem in problems:
        print(problem)
    if not problems:
        print("OK: 输入未变，报告逐字节复现 inputs unchanged, report reproduced byte for byte")
    return 1 if problems else 0


def _new_rule(args: argparse.Namespace) -> int:
    from .scaffold import new_rule

    for path in new_rule(args.rule_id, args.pack, args.subject, args.features):
        print(f"已写入 wrote {path}")
    print(f"下一步 next: 编辑规则后运行 edit the rule, then run: rules-engine lint {args.pack}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    if wants_finding(args):  # explain RULE --subject ID --period P INPUTS: one finding (cli_explain)
        return explain_finding(args)
    ruleset = load_rules(*rules_paths(args.rules))
    compiled = compile_rules(ruleset, parse_params(args.param))
    variants = [r for r in compiled.rules if r.rule.id == args.rule_id]
    rule = next((r for r in variants if r.scope is None), variants[0] if variants else None)
    if rule is None:
        from .errors import did_you_mean

        raise UsageError.of(
            "usage.rule.unknown",
            rule=args.rule_id,
            hint=did_you_mean(args.rule_id, [r.rule.id for r in compiled.rules]),
        )
    spec = rule.rule
    data: dict[str, Any] = {
        "id": spec.id,
        "title": spec.title.model_dump(),
        "pack": f"{rule.loaded.pack.id}@{rule.loaded.pack.version}",
        "defined_at": str(rule.loaded.location),
        "severity": spec.severity.value,
        "citation": {**spec.citation.model_dump(exclude_none=True), "label": spec.citation.label()},
        "provenance": spec.provenance.model_dump(mode="json", exclude_none=True),
        "numbers": number_view(spec, rule.params_dump(), f"{rule.loaded.pack.id}@{rule.loaded.pack.version}"),
        "effective": rule.effective.model_dump(mode="json", by_alias=True),
        "organisation_kinds": list(spec.org_kinds),
        "for_each": _for_each(rule),
        "counts": spec.match.model_dump(mode="json", exclude_defaults=True) if spec.match else None,
        "escalate": spec.escalate.model_dump(mode="json", exclude_defaults=True) if spec.escalate else None,
        "trigger": spec.trigger.model_dump(mode="json", exclude_defaults=True) if spec.trigger else None,
        "attendance": spec.attendance,
        "params": rule.params_dump(),
        "variants": [
            {"organisations": list(v.scope or ()), "retired_by": v.retired_by, "params": v.params_dump()}
            for v in variants
            if v is not rule and v.scope is not None
        ],
        "versions": [
            {
                "effective": v.effective.model_dump(mode="json", by_alias=True),
                "params": v.params_dump(),
                "defined_at": str(v.loaded.location),
            }
            for v in variants
            if v.scope is None
        ],
        "decisions": [
            {
                "status": d.status.value,
                "when": " and ".join(f"{a} {op} {v}" for a, op, v in d.conditions),
                "closed_world": d.after_close,
            }
            for d in compiled.decisions
            if d.rule_index == rule.index
        ],
    }
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return 0
    lines = [
        f"{spec.id}  {spec.title.zh}",
        f"          {spec.title.en}",
        f"规则包 pack: {data['pack']}   定义于 defined at: {data['defined_at']}",
        f"严重程度 severity: {spec.severity.value}",
        f"依据 citation: {spec.citation.label()}" + (f" — {spec.citation.text}" if spec.citation.text else ""),
        f"来源 provenance: {spec.provenance.basis.value} (confidence {spec.provenance.confidence})"
        + (f" — {spec.provenance.note}" if spec.provenance.note else ""),
        *provenance_lines(spec, data["numbers"]),
        f"施行 effective: {rule.effective.from_}..{rule.effective.to or ''}",
        f"适用组织 organisations: {', '.join(data['organisation_kinds'])}",
        *(
            [f"适用条件 applies when: {'; '.join(_condition_text(c) for c in spec.applies_when)}"]
            if spec.applies_when
            else []
        ),
        f"对象 for each: {data['for_each']}",
        f"计数 counts records: {json.dumps(data['counts'], ensure_ascii=False)}",
    ]
    if spec.trigger:
        lines.append(f"触发 triggered by: {json.dumps(data['trigger'], ensure_ascii=False)}")
    if spec.attendance:
        lines.append(
            f"到会比例 attendance: 记录当日在该组织任职的全部人员（任何职务）中参加者（含主持人）不少于 {rule.share}"
            f" / participants (chair included) at least {rule.share} of everyone holding a post in the organisation"
            " on the record's date"
        )
    if spec.quorum is not None:  # (rules_engine.fields: exact, in integers)
        q = spec.quorum
        word = ("多于", "more than") if q.strict else ("不少于", "at least")
        lines.append(
            f"到会人数 quorum: {q.attendees} 中 {q.group} 成员{word[0]} {q.share} / {q.attendees} of the {q.group}"
            f" {word[1]} {q.share} on the record's date"
        )
    lines.append("参数 parameters:")
    for name, info in data["params"].items():
        lines.append(f"  {name} = {json.dumps(info['value'], ensure_ascii=False)}   (set by {info['set_by']})")
    if len(data["versions"]) > 1:
        lines.append("版本 versions (each part of a period is judged under the version in force):")
        for version in data["versions"]:
            eff = version["effective"]
            values = ", ".join(
                f"{k} = {json.dumps(v['value'], ensure_ascii=False)}" for k, v in version["params"].items()
            )
            lines.append(f"  {eff['from']}..{eff['to'] or ''}: {values}   ({version['defined_at']})")
    for variant in data["variants"]:
        where = ", ".join(variant["organisations"])
        if variant["retired_by"]:
            lines.append(f"  在 {where} 及其下级停用 retired in {where} and below by {variant['retired_by']}")
        else:
            changed = ", ".join(
                f"{k} = {json.dumps(v['value'], ensure_ascii=False)} (set by {v['set_by']})"
                for k, v in variant["params"].items()
                if v["set_by"] != data["params"].get(k, {}).get("set_by")
            )
            lines.append(f"  在 {where} 及其下级 in {where} and below: {changed or '同上 as above'}")
    if spec.escalate is None:
        lines.append(
            "判定 decisions (evaluated on durable_rules; n = matching records,"
            " most = n and those lacking a field a filter reads, due = window over):"
        )
    else:
        lines.append(
            "判定 decisions (evaluated on durable_rules; k = lower findings counted, sec = about a secretary, gap = "
            "people the share still needs; suffix p / u: counting pending / undeterminable ones too):"
        )
    for d in data["decisions"]:
        lines.append(f"  {d['status']:<15} when {d['when']}" + ("   [closed-world step]" if d["closed_world"] else ""))
    print("\n".join(lines))
    return 0


def _for_each(rule: Any) -> str:
    spec = rule.rule
    kind = spec.subject.value
    if spec.escalate is not None:
        who = "each organisation" if kind == "organisation" else "each " + "/".join(spec.roles)
        return f"{who}, over the evaluation period, reading the findings of {', '.join(spec.escalate.rules)}"
    if kind in ("person", "portfolio"):
        roles = "/".join(spec.roles)
        return (
            f"each {roles}"
            + (" x each portfolio area" if kind == "portfolio" else "")
            + f", per {rule.params.period.value}"
        )
    if kind == "pair":
        first = "/".join(spec.pair.first)
        second = spec.pair.second
        second = "/".join(second) if isinstance(second, list) else f"members of {second.group}"
        return f"each pair ({first} x {second}), per {rule.params.period.value}"
    if kind == "trigger":
        return f"each trigger record, within {rule.params.within_days} days"
    return f"each organisation, per {rule.params.period.value}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
