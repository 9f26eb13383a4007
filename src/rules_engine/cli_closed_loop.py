"""``rules-engine duties`` and ``rules-engine upcoming``: the command-line shell over
:func:`rules_engine.duties` and :func:`rules_engine.upcoming` (kept apart from ``cli.py`` so that the
closed-loop commands grow here).

Exit codes: 0 the list is complete; 4 it may be incomplete (roster rows rejected; for ``upcoming`` also
rejected record rows or undeterminable findings, whose duties cannot be warned about); 2 usage error or
input that cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from . import (
    compile_rules,
    duties,
    evaluate,
    load_rules,
    parse_within,
    render_duties_table,
    render_upcoming_table,
    upcoming,
)
from .cli_common import UsageError, parse_params, rules_paths, split_inputs

EXIT_INCOMPLETE = 4

DUTIES_EPILOG = """\
不需要活动记录。期间内每项适用的责任：条款、频次、截止日期（每个区间的最后一天）、共同责任人；个人的责任按任职
期间计算（年中到任者只列到任之后的部分）。与 evaluate 同一套计划：清单即评价时要判定的义务。
No records needed. Every duty that applies in the period, with its clause, how often, by when (each
window's last day) and who shares it; a person's list follows their terms of office. The same planning as
evaluate: the list is exactly the obligations an evaluation of that period judges.
Exit codes: 0 complete; 4 roster rows were rejected (listed; their duties are missing); 2 usage error."""

UPCOMING_EPILOG = """\
列出评价日期后 N 天内到期且尚未完成（状态 pending）的责任，按剩余天数排序，并说明还差多少。
Lists the duties whose window ends within the horizon after --as-of and that are still pending (minimum not
yet met), soonest first, with what is missing. Records dated after --as-of are not counted.
Exit codes: 0 complete; 4 the check is incomplete (rejected input rows or undeterminable findings: their
duties may be missing from the list); 2 usage error."""


def add_commands(sub: Any, rules_help: str, whole: str) -> None:
    """Add ``duties`` and ``upcoming`` to the subcommands of ``rules-engine``."""
    du = sub.add_parser(
        "duties",
        help="责任清单 list every duty that applies in a period, per organisation and person (no records needed)",
        epilog=DUTIES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    du.add_argument("roster", help="名册 the roster (roster.yaml, .json, a workbook, or a folder with one)")
    du.add_argument("--period", required=True, help="2025, 2025-H1, 2025-Q3, 2025-05 or 2025-01-01..2025-06-30")
    du.add_argument("--rules", action="append", help=rules_help)
    du.add_argument("--org", help="只列此组织 only this organisation (id)")
    du.add_argument("--person", help="只列此人承担的责任 only the duties this person bears (id)")
    du.add_argument("--param", action="append", default=[], metavar="RULE.NAME=VALUE", help="override a parameter")
    du.add_argument("--format", choices=("table", "json"), default="table")
    du.add_argument("--output", "-o", help="write here instead of standard output " + whole)
    du.set_defaults(func=_duties)

    up = sub.add_parser(
        "upcoming",
        help="预警 duties due within a horizon and not yet fulfilled, soonest first",
        epilog=UPCOMING_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument("inputs", nargs="+", help="a folder with roster.yaml and record files, or the files (as evaluate)")
    up.add_argument("--as-of", help="评价日期 evaluation date YYYY-MM-DD (default: today)")
    up.add_argument("--within", default="30d", help="期限范围 horizon: days (30d, 30) or weeks (4w); default 30d")
    up.add_argument(
        "--period",
        help="评价期间 the period evaluated (default: the year of --as-of, through the year the horizon ends in)",
    )
    up.add_argument("--rules", action="append", help=rules_help)
    up.add_argument("--org", help="只列此组织 only this organisation (id)")
    up.add_argument("--param", action="append", default=[], metavar="RULE.NAME=VALUE", help="override a parameter")
    up.add_argument("--waivers", action="append", default=[], metavar="FILE", help="豁免文件 waiver file (YAML)")
    up.add_argument("--format", choices=("table", "json"), default="table")
    up.add_argument("--output", "-o", help="write here instead of standard output " + whole)
    up.set_defaults(func=_upcoming)


def _duties(args: argparse.Namespace) -> int:

    roster = _roster_path(args.roster)
    compiled = compile_rules(load_rules(*rules_paths(args.rules)), parse_params(args.param))
    result = duties(compiled, roster, period=args.period, org=args.org, person=args.person)
    data = json_bytes(result.model_dump(mode="json")) if args.format == "json" else render_duties_table(result).encode()
    emit(args.output, data, [roster])
    return EXIT_INCOMPLETE if result.rejections else 0


def _upcoming(args: argparse.Namespace) -> int:

    roster, records = split_inputs(args.inputs, args.waivers)
    as_of = dt.date.today()
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError.of("usage.as_of.invalid", value=args.as_of) from None
    days = parse_within(args.within)
    period = args.period or _default_period(as_of, days)
    compiled = compile_rules(load_rules(*rules_paths(args.rules)), parse_params(args.param))
    files = [str(p) for p in records]
    report = evaluate(compiled, roster, files, period=period, as_of=as_of, waivers=list(args.waivers))
    result = upcoming(report, within=days)
    if args.org:
        known = {f.organisation.id for f in report.findings}
        if args.org not in known:
            raise UsageError.of("usage.org.unknown#report", org=args.org)
        result = result.model_copy(update={"items": [u for u in result.items if u.finding.organisation.id == args.org]})
    data = (
        json_bytes(result.model_dump(mode="json")) if args.format == "json" else render_upcoming_table(result).encode()
    )
    emit(args.output, data, [str(roster), *files, *args.waivers])
    incomplete = report.summary.get("undeterminable", 0) or report.input.rejections
    if incomplete:
        print(
            f"rules-engine: 注意 note: 检查不完整：{len(report.input.rejections)} 行输入被拒收，"
            f"{report.summary.get('undeterminable', 0)} 项无法判定（其责任可能未列出；用 evaluate 查看）"
            f" / incomplete: {len(report.input.rejections)} input row(s) rejected, "
            f"{report.summary.get('undeterminable', 0)} finding(s) undeterminable (their duties may be missing;"
            " see evaluate)",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE
    return 0


def _default_period(as_of: dt.date, days: int) -> str:
    """The year of `as_of`, through the year the horizon ends in (windows ending after New Year count)."""
    last = as_of + dt.timedelta(days=days)
    if last.year == as_of.year:
        return str(as_of.year)
    return f"{as_of.year}-01-01..{last.year}-12-31"


def _roster_path(raw: str) -> str:
    """The roster among a file or a folder (as evaluate finds it); records are not needed."""
    from pathlib import Path

    from .load.folder import scan_folder

    path = Path(raw)
    if path.is_dir():
        found = scan_folder(path)
        if not found.rosters:
            raise UsageError.of("usage.roster.not_in_folder", folder=raw)
        return str(found.rosters[0])
    if not path.is_file():
        raise UsageError.of("usage.path.not_found", path=raw)
    return raw


def json_bytes(data: Any) -> bytes:
    """A command's JSON output: UTF-8, indented, one final newline."""
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def emit(output: str | None, data: bytes, inputs: list[str]) -> None:
    """Write a command's output to `output` (whole or not at all; never over an input) or to stdout."""
    from .atomic import write_bytes

    if output:
        write_bytes(output, data, inputs)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
