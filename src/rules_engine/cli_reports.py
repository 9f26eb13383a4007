"""``rules-engine report`` (and ``evaluate --format xlsx|html``): evaluate, then write the report people open,
an Excel workbook (:func:`rules_engine.render.xlsx.render_xlsx`) or one HTML page
(:func:`rules_engine.render.html.render_html`), with the scorecard when a scoring file is given and the
三实三弱 diagnosis from the roster of the inputs. Both need the ``reports`` extra.

The file is written whole or not at all, never over one of the inputs. Exit codes as ``evaluate``: 0 no
violation, 1 violations found, 4 no violation but the check is incomplete (see ``--fail-on``), 2 usage
error or input that cannot be read, a scoring file refused, or the extra missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import Error, RecordSource, Report, Status, evaluate
from .atomic import files_under, refuse_overwrite, write_bytes
from .cli_common import (
    DEFAULT_REPORT_FORMAT,
    WORKERS_HELP,
    UsageError,
    fail_on_argument,
    parse_params,
    rules_paths,
    shown_statuses,
    split_inputs,
    workers_argument,
)

FORMATS = ("xlsx", "html")
#: what ``report -o`` writes (several -o: each from its extension)
REPORT_FORMATS = frozenset({"xlsx", "html", "json", "csv", "junit", "parquet"})
SUFFIXES = {".xlsx": "xlsx", ".html": "html", ".htm": "html"}

REPORT_EPILOG = """\
评价并写出报告：Excel 工作簿（摘要、未履行、规则、评分、三实三弱、输入、每个组织一张工作表）或一个离线可用的
HTML 页面（摘要、图表、可筛选的结论表及每项说明）。--format 省略时按 -o 的扩展名（.xlsx、.html）确定。
结论很多时（省级规模），Excel 的各组织工作表只列需关注的结论，HTML 结论表只列需关注的结论（--show 可改），
已履行等只计数，报告中注明；逐项见 evaluate --format json 或 csv。需要 reports 附加组件。
Evaluates and writes the report people open: an Excel workbook (summary, violations, rules, scorecard,
三实三弱, input, a sheet per organisation) or one HTML page that works offline (summary, charts, a
filterable findings table with each finding's explanation). Without --format, the extension of -o
decides. For a large report the organisation sheets and the HTML table list the findings that need
attention and count the rest (the report says so; every finding: evaluate --format json or csv).
Needs the reports extra: pip install 'duty-rules-engine[reports]'.
Exit codes as evaluate: 0 no violation, 1 violations, 4 incomplete, 2 usage error or unreadable input."""


def add_commands(sub: Any, rules_help: str, whole: str) -> None:
    """Add ``report`` to the subcommands of ``rules-engine``."""
    from . import DEFAULT_FAIL_ON
    from .cli_outputs import add_output_options

    rp = sub.add_parser(
        "report",
        help="报告 evaluate and write an Excel workbook or an HTML page (scorecard, 三实三弱, charts)",
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rp.add_argument("inputs", nargs="+", help="a folder with roster.yaml and record files, or the files (as evaluate)")
    rp.add_argument("--period", required=True, help="2024, 2024-H1, 2024-Q3, 2024-05 or 2024-01-01..2024-06-30")
    rp.add_argument("--as-of", help="评价日期 evaluation date YYYY-MM-DD (default: today)")
    rp.add_argument("--format", choices=FORMATS, help="xlsx or html (default: from the extension of -o)")
    rp.add_argument(
        "--output",
        "-o",
        required=True,
        action="append",
        dest="outputs",
        metavar="FILE",
        help="the report file (.xlsx or .html); repeat for several from one evaluation, each format from its "
        "extension (also .json .csv .xml .parquet); all written or none " + whole,
    )
    rp.add_argument("--scoring", metavar="FILE", help="评分文件 add scores and ranks (a scoring file, YAML)")
    rp.add_argument("--rules", action="append", help=rules_help)
    rp.add_argument("--waivers", action="append", default=[], metavar="FILE", help="豁免文件 waiver file (YAML)")
    rp.add_argument("--param", action="append", default=[], metavar="RULE.NAME=VALUE", help="override a parameter")
    rp.add_argument(
        "--max-evidence", type=int, default=20, metavar="N", help="evidence ids listed per finding (default 20)"
    )
    rp.add_argument("--workers", type=workers_argument, default=None, metavar="N", help=WORKERS_HELP)
    rp.add_argument(
        "--show",
        help="statuses listed (html: violated,undeterminable,pending,waived unless given; the other formats: "
        "every finding unless given; 'all')",
    )
    add_output_options(rp)
    rp.add_argument(
        "--fail-on",
        type=fail_on_argument,
        default=DEFAULT_FAIL_ON,
        metavar="CONDITIONS",
        help="what makes the exit code non-zero, as evaluate (default: violated,incomplete)",
    )
    rp.set_defaults(func=_report)


def report_format(output: str, given: str | None) -> str:
    """The format: `given`, else the extension of `output`."""

    if given:
        return given
    chosen = SUFFIXES.get(Path(output).suffix.lower())
    if chosen is None:
        raise UsageError.of("usage.output.unknown_extension#report", name=Path(output).name)
    return chosen


def write_report(
    report: Report,
    output: str,
    format: str,
    *,
    scoring: Any = None,
    roster: Any = None,
    inputs: Sequence[str] = (),
    statuses: set[Status] | None = None,
) -> None:
    """Write `report` as `format` (xlsx or html) to `output`, whole or not at all, never over `inputs`."""
    if format == "xlsx":
        from .render.xlsx import render_xlsx

        render_xlsx(report, output, scoring, roster, inputs=inputs)
        return
    from .render.html import render_html

    data = render_html(report, scoring, roster, statuses=statuses)
    write_bytes(output, data, inputs)


def _check_extra(format: str) -> None:
    """The extra's library, before anything is evaluated (a missing one is exit 2 with the pip command)."""
    if format == "xlsx":
        from .render.xlsx import xlsxwriter_module

        xlsxwriter_module()
    else:
        from .render.html import jinja2_module

        jinja2_module()


def _report(args: argparse.Namespace) -> int:
    from . import compile_rules, load_rules, load_scoring
    from .cli_outputs import Context, check_ids, filters, plan_outputs, require_extras, scoped, write_all

    outputs = plan_outputs(args.outputs, args.format)
    for out in outputs:
        if out.format not in REPORT_FORMATS:
            assert out.path is not None
            raise UsageError.of("usage.output.unknown_extension#reports", name=Path(out.path).name)
    require_extras(outputs)
    chosen = filters(args)
    roster, records = split_inputs(args.inputs, args.waivers)
    as_of = _as_of(args.as_of, UsageError)
    compiled = compile_rules(load_rules(*rules_paths(args.rules)), parse_params(args.param))
    files = [str(p) for p in records]
    inputs = [str(roster), *files, *args.waivers, *files_under(p.root for p in compiled.ruleset.packs)]
    if args.scoring:
        inputs.append(args.scoring)
    for out in outputs:
        assert out.path is not None
        refuse_overwrite(out.path, inputs)
    scoring = load_scoring(args.scoring) if args.scoring else None  # refused before the evaluation
    from .cli_outputs import note_filters, read_roster_once, roster_orgs

    the_roster = read_roster_once(
        roster, None, compiled.ruleset.vocabulary
    )  # read once: the evaluation, the --org check and the diagnosis
    report = evaluate(
        compiled,
        the_roster,
        files,
        period=args.period,
        as_of=as_of,
        waivers=list(args.waivers),
        max_evidence=args.max_evidence,
        workers=args.workers,
    )
    check_ids(report, chosen, [r.rule.id for r in compiled.rules], roster_orgs(the_roster))
    kept = scoped(report, chosen)
    ctx = Context(compiled, the_roster, DEFAULT_REPORT_FORMAT, scoring=scoring, whole=report)
    write_all(outputs, kept, chosen, ctx, inputs)
    for out in outputs:
        print(f"rules-engine: 已写入 wrote {out.path}", file=sys.stderr)
    note_filters(outputs, chosen)
    return kept.exit_code(args.fail_on)


def evaluate_report(
    args: argparse.Namespace,
    compiled: Any,
    roster: Path,
    files: list[str | RecordSource],
    as_of: dt.date | None,
    extra: dict[str, Any],
    inputs: list[str],
) -> int:
    """``evaluate --format xlsx|html``: every finding held (not streamed), then the report written to -o;
    with --db the run is recorded first, as for the other formats."""

    if not args.output:
        raise UsageError.of("usage.report.needs_output", format=args.format)
    _check_extra(args.format)
    if args.db is not None:
        from . import history

        history.resolve_db(args.db)
    from .cli_outputs import read_roster_once

    the_roster = read_roster_once(
        roster, extra["tracer"], compiled.ruleset.vocabulary
    )  # read once: the evaluation and the diagnosis
    report = evaluate(compiled, the_roster, files, period=args.period, as_of=as_of, **extra)
    if args.db is not None:
        run = history.record(report, args.db, recorded_by=args.recorded_by)
        print(f"rules-engine: 已记录运行 recorded run {run.id} ({history.shown_db(args.db)})", file=sys.stderr)
    write_report(report, args.output, args.format, roster=the_roster, inputs=inputs, statuses=shown_statuses(args))
    return report.exit_code(args.fail_on)


def _as_of(text: str | None, error: type[Error]) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise error.of("usage.as_of.invalid", value=text) from None
