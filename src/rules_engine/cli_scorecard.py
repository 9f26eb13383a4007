"""``rules-engine score`` and ``rules-engine diagnose``: the command-line shell over
:func:`rules_engine.score` and :func:`rules_engine.diagnose`, both reading a saved JSON report.

Exit codes: 0 complete; 4 the result may be incomplete (undeterminable findings or rejected input rows in
the report; for ``diagnose`` also rejected roster rows or organisations missing from the roster); 2 usage
error, a report that is missing or is not a report, or a scoring file refused (located problems).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import InputError, Report
from . import read_report as read_any_report
from .cli_closed_loop import emit, json_bytes
from .cli_common import UsageError
from .guard import shown

EXIT_INCOMPLETE = 4

SCORE_EPILOG = """\
读取 evaluate --format json 保存的报告。得分 = 100 × 实得 / 应得：每项结论的权重取规则权重，否则严重程度权重，
否则默认权重；已履行得全部权重，未履行得 0（可在评分文件中改）；豁免、不适用不计；无法判定单列、不计分；
期限未到默认不计。组织的得分含其全部结论（组织与成员的），个人的得分含其在该组织承担的结论。组织在同类组织中排名，
个人在同类组织、同一职务中排名；得分相同名次相同。评分文件模式：rules-engine schema --kind scoring。
Reads a report saved by evaluate --format json. score = 100 × earned / possible; a finding's weight is
its rule's, else its severity's, else the default; fulfilled earns its weight, violated nothing (both
settable); waived and not applicable are neutral; undeterminable is shown apart, never scored; pending is
neutral unless the scoring file gives it a credit. Organisations are ranked within their kind, people
within their organisation kind and role; equal scores share a rank.
Exit codes: 0 complete; 4 some scores may be incomplete (undeterminable findings or rejected input rows);
2 usage error, unreadable report, or a scoring file refused (file:line:column and a hint)."""

DIAGNOSE_EPILOG = """\
三实三弱：上级与下级（按名册组织树的深度）、地方与部门（按组织类型分组，可用评分文件 groups 或 --group 修改）、
书记与其他班子成员的履行率（已履行 /（已履行 + 未履行），Wilson 区间），两者之差（百分点，Newcombe 区间），
以及各组织中差距最大处；--compare 给出每项差距的变化。期限未到、无法判定、豁免、不适用不计入分母，单列其数；
升级结论不是责任，另计。
Three pairs of fulfilment rates (fulfilled / (fulfilled + violated), Wilson intervals): upper vs lower
levels (depth in the roster's tree), localities vs departments (organisation kinds by a declared table,
overridden by the scoring file's groups or --group), secretaries vs other members; the gap of each pair
(first minus second, percentage points, Newcombe interval) and per organisation where it is widest; with
--compare, the change of each gap. Pending, undeterminable, waived and not applicable findings are left out
of the denominators and counted; escalation findings are not duties and are counted apart.
Exit codes: 0 complete; 4 incomplete (undeterminable findings, rejected rows, organisations missing from
the roster); 2 usage error or unreadable input."""


def add_commands(sub: Any, whole: str) -> None:
    """Add ``score`` and ``diagnose`` to the subcommands of ``rules-engine``."""
    sc = sub.add_parser(
        "score",
        help="考核评分 score each organisation and person from a saved report, ranked within each kind",
        epilog=SCORE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument("report", help="评价报告 a report saved by `evaluate --format json`")
    sc.add_argument("--scoring", required=True, metavar="FILE", help="评分文件 the scoring file (YAML)")
    sc.add_argument("--format", choices=("table", "json"), default="table")
    sc.add_argument("--output", "-o", help="write here instead of standard output " + whole)
    sc.set_defaults(func=_score)

    di = sub.add_parser(
        "diagnose",
        help="三实三弱诊断 fulfilment gaps: upper vs lower, localities vs departments, secretaries vs members",
        epilog=DIAGNOSE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    di.add_argument("report", help="评价报告 a report saved by `evaluate --format json`")
    di.add_argument("--roster", required=True, help="名册 the roster the report was made from (its organisation tree)")
    di.add_argument("--compare", metavar="OLD.json", help="对比 an earlier report: show the change of each gap")
    di.add_argument("--scoring", metavar="FILE", help="评分文件 take the locality/department table from its groups")
    di.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="KIND=GROUP",
        help="组织类型分组 put an organisation kind in a group: locality, department or none "
        "(e.g. grassroots=locality)",
    )
    di.add_argument(
        "--split-depth",
        type=int,
        default=1,
        metavar="N",
        help="上下级分界 organisations above depth N are upper levels (default 1: the roster's roots)",
    )
    di.add_argument("--confidence", type=float, default=0.95, help="置信水平 confidence level (default 0.95)")
    di.add_argument("--format", choices=("table", "json"), default="table")
    di.add_argument("--output", "-o", help="write here instead of standard output " + whole)
    di.set_defaults(func=_diagnose)


def read_report(path: str) -> Report:
    """A report saved by ``evaluate --format json``, in either layout (v2 is the command's default); a missing file
    or one that is not a whole report is refused with :class:`InputError` (exit 2), the file named."""
    if not Path(path).is_file():
        raise InputError.of("input.report.not_found", path=shown(path, 200))
    return read_any_report(path)


def _score(args: argparse.Namespace) -> int:
    from . import load_scoring, render_score_table, score

    report = read_report(args.report)
    scoring = load_scoring(args.scoring)
    result = score(report, scoring)
    data = json_bytes(result.to_dict()) if args.format == "json" else render_score_table(result).encode()
    emit(args.output, data, [args.report, args.scoring])
    return EXIT_INCOMPLETE if result.incomplete else 0


def _diagnose(args: argparse.Namespace) -> int:
    from . import diagnose, load_scoring, render_diagnosis_table

    report = read_report(args.report)
    old = read_report(args.compare) if args.compare else None
    scoring = load_scoring(args.scoring) if args.scoring else None
    groups: dict[str, str] = {}
    for item in args.group:
        kind, sep, group = item.partition("=")
        if not sep or not kind.strip() or not group.strip():
            raise UsageError.of("usage.group.syntax", item=shown(item))
        groups[kind.strip()] = group.strip()
    if not Path(args.roster).is_file():
        raise UsageError.of("usage.file.not_found", path=shown(args.roster, 200))
    result = diagnose(
        report,
        args.roster,
        compare=old,
        groups=groups,
        scoring=scoring,
        split_depth=args.split_depth,
        confidence=args.confidence,
    )
    data = json_bytes(result.to_dict()) if args.format == "json" else render_diagnosis_table(result).encode()
    inputs = [
        args.report,
        args.roster,
        *([args.compare] if args.compare else []),
        *([args.scoring] if args.scoring else []),
    ]
    emit(args.output, data, inputs)
    return EXIT_INCOMPLETE if result.incomplete else 0
