"""``rules-engine rectify`` (整改: open, update, close, list, overdue) and ``rules-engine impact`` (the
findings a rule change flips): the command-line shell over :mod:`rules_engine.history` and
:func:`rules_engine.impact`, kept apart from ``cli.py``.

Exit codes: ``rectify`` 0, or 1 for ``overdue`` when a rectification is overdue; ``impact`` 0 when no
finding flips, 1 when some do (unless ``--allow``); 2 usage error, unknown finding or rectification, a
change the rectification's state does not allow, input that cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from . import RecordSource, RuleSet
from .cli_common import UsageError, parse_params, rules_paths, split_inputs

DB_HELP = "the findings store: a SQLite file or a database URL (default: $RULES_ENGINE_DB, else ./rules-engine.db)"
BY_HELP = "操作人 who makes the change (default: the user of this machine)"

RECTIFY_EPILOG = """\
整改针对历史库中的未履行结论（结论编号见 history show / history diff）。每次变更都追加一条事件（谁、何时、做了什么），
从不修改已有记录；关闭后，之后记录的运行（评价日期不早于关闭当天）仍判定未履行时自动重新打开。
A rectification is about a violated finding of the store (its identity: history show or diff prints it; 8
characters or more of it are enough). Every change appends an event (who, when, what); nothing is changed in
place. Once closed, a later recorded run (as of the closing day or later) that still finds the violation
reopens it. 'overdue' lists the rectifications past their deadline and not closed, as findings of the rule
ZG-YQ-01 (rectification overdue), exit 1 when there is any.
Exit codes: 0 done; 1 overdue rectifications (overdue); 2 unknown finding or rectification, a change its
state does not allow (closing a closed one), a deadline in the past, usage error."""

IMPACT_EPILOG = """\
用同一份名册、记录、期间和评价日期分别按旧规则和新规则评价，列出结论状态不同（或只在一边出现）的结论，按规则和组织分组计数。
Evaluates the old and the new rules on the same inputs, period and evaluation date and lists the findings whose
status differs (or that are on one side only), grouped by rule and organisation, with counts. --params-old and
--params-new (or --param, the same as --params-new) override parameters on each side.
Exit codes: 0 no finding flips; 1 some do (0 with --allow); 2 usage error or input that cannot be read."""


RECTIFICATIONS_HELP = (
    "整改：把历史库（--db）中截至评价日期逾期未完成的整改作为记录（类型 zhenggai_yuqi）加入评价，"
    "由规则 ZG-YQ-01 及其升级规则 ZG-YQ-02 判定（所加载的规则包未声明该类型时，加入随库发布的规则包 zhenggai-yuqi） "
    "add the store's rectifications overdue as of the evaluation date as records (type zhenggai_yuqi), judged by "
    "ZG-YQ-01 and its escalation ZG-YQ-02 (the pack zhenggai-yuqi shipped with the history extra is added unless a "
    "loaded pack declares the type); needs --db"
)


def with_rectifications(
    args: argparse.Namespace, ruleset: RuleSet, as_of: dt.date | None
) -> tuple[RuleSet, RecordSource, dt.date]:
    """evaluate --db URL --rectifications: the rules with the pack judging overdue rectifications (unless one
    loaded declares their record type), the store's overdue rectifications as of the evaluation date (today
    when not given: the same day for both), and that date."""
    from . import history, load_rules

    if args.db is None:
        raise UsageError.of("usage.rectifications.needs_db")
    day = as_of or dt.date.today()
    if history.OVERDUE_TYPE not in ruleset.record_types():
        ruleset = RuleSet((*ruleset.packs, *load_rules(history.PACK).packs))
    return ruleset, history.rectification_records(args.db, as_of=day, period=args.period), day


def add_commands(sub: Any, rules_help: str, whole: str) -> None:
    """Add ``rectify`` and ``impact`` to the subcommands of ``rules-engine``."""
    _rectify_parser(sub)
    _impact_parser(sub, rules_help, whole)


def _rectify_parser(sub: Any) -> None:
    rc = sub.add_parser(
        "rectify",
        help="整改 rectification of violated findings in the store: open, update, close, list, overdue",
        epilog=RECTIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rsub = rc.add_subparsers(dest="rectify_command", required=True)
    op = rsub.add_parser("open", help="开始整改 open a rectification of a violated finding")
    op.add_argument("finding", help="结论编号 the finding's identity (or its first 8+ characters)")
    op.add_argument("--deadline", required=True, help="整改期限 deadline YYYY-MM-DD (today or later)")
    op.add_argument("--owner", required=True, help="责任人 who is responsible for the rectification")
    op.add_argument("--note", help="说明 a note")
    up = rsub.add_parser("update", help="整改进展 record progress: a note, a new deadline or owner")
    up.add_argument("id", help="整改编号 the rectification's number")
    up.add_argument("--note", required=True, help="进展说明 what was done")
    up.add_argument("--deadline", help="新的期限 a new deadline YYYY-MM-DD (today or later)")
    up.add_argument("--owner", help="新的责任人 a new owner")
    cl = rsub.add_parser("close", help="完成整改 close with evidence (record ids or a document reference) and a note")
    cl.add_argument("id", help="整改编号 the rectification's number")
    cl.add_argument("--note", required=True, help="整改说明 what was rectified")
    cl.add_argument("--record", action="append", default=[], metavar="ID", help="证据记录编号 evidence record id")
    cl.add_argument("--document", action="append", default=[], metavar="REF", help="证据文件 a document reference")
    ls = rsub.add_parser("list", help="列出整改 list the rectifications and their state")
    ls.add_argument("--subject", help="只列此人或组织 only this person or organisation (id)")
    ls.add_argument("--state", choices=("open", "closed", "reopened", "overdue"), help="只列此状态 only this state")
    ls.add_argument("--as-of", help="截至日期 as they stood at the end of this day YYYY-MM-DD (overdue: default today)")
    ls.add_argument("--events", action="store_true", help="列出每条事件 show every event")
    ov = rsub.add_parser("overdue", help="逾期整改 overdue rectifications as findings of ZG-YQ-01; exit 1 if any")
    ov.add_argument("--as-of", help="评价日期 YYYY-MM-DD (default: today)")
    for p in (op, up, cl, ls, ov):
        p.add_argument("--db", metavar="URL", help=DB_HELP)
        p.add_argument("--format", choices=("text", "json"), default="text")
        p.set_defaults(func=_rectify)
    for p in (op, up, cl):
        p.add_argument("--by", help=BY_HELP)


def _rectify(args: argparse.Namespace) -> int:
    from . import history

    data: Any
    code = 0
    if args.rectify_command == "open":
        r = history.open_rectification(
            args.db, args.finding, deadline=args.deadline, owner=args.owner, note=args.note, by=args.by
        )
        data, text = r.to_dict(), _done("已开始整改 opened", r)
    elif args.rectify_command == "update":
        r = history.update_rectification(
            args.db, _number(args.id), note=args.note, deadline=args.deadline, owner=args.owner, by=args.by
        )
        data, text = r.to_dict(), _done("已更新 updated", r)
    elif args.rectify_command == "close":
        r = history.close_rectification(
            args.db, _number(args.id), note=args.note, records=args.record, documents=args.document, by=args.by
        )
        data, text = r.to_dict(), _done("已关闭 closed", r)
    elif args.rectify_command == "list":
        as_of = args.as_of or (dt.date.today().isoformat() if args.state == "overdue" else None)
        found = history.rectifications(args.db, subject=args.subject, state=args.state, as_of=as_of)
        mark = as_of or dt.date.today().isoformat()
        data, text = [r.to_dict() for r in found], history.format_rectifications(found, mark, events=args.events)
    else:
        as_of = args.as_of or dt.date.today().isoformat()
        items = history.overdue(args.db, as_of=as_of)
        data, text = [o.to_dict() for o in items], history.format_overdue(items, as_of)
        code = 1 if items else 0
    if args.format == "json":
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    sys.stdout.write(text)
    return code


def _done(what: str, r: Any) -> str:
    return (
        f"{what} #{r.id}: {r.rule_id} {r.organisation_id} {r.subject_id} {r.window}  "
        f"状态 state {r.state}  期限 deadline {r.deadline}  责任人 owner {r.owner}\n"
    )


def _number(raw: str) -> int:

    text = raw.strip().lstrip("#")
    if not text.isdigit():
        raise UsageError.of("usage.rectification.invalid", value=raw)
    return int(text)


def _impact_parser(sub: Any, rules_help: str, whole: str) -> None:
    im = sub.add_parser(
        "impact",
        help="规则变更影响 the findings a rule change flips (old vs new rules on the same inputs); exit 1 if any",
        epilog=IMPACT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    im.add_argument("inputs", nargs="+", help="a folder with roster.yaml and record files, or the files (as evaluate)")
    im.add_argument(
        "--old", action="append", required=True, metavar="RULES", help="旧规则 the old rules: " + rules_help
    )
    im.add_argument(
        "--new", action="append", required=True, metavar="RULES", help="新规则 the new rules: " + rules_help
    )
    im.add_argument("--period", required=True, help="2024, 2024-H1, 2024-Q3, 2024-05 or 2024-01-01..2024-06-30")
    im.add_argument("--as-of", help="评价日期 evaluation date YYYY-MM-DD (default: today, the same for both sides)")
    im.add_argument(
        "--params-old", action="append", default=[], metavar="RULE.NAME=VALUE", help="旧规则的参数 old side"
    )
    im.add_argument(
        "--params-new", action="append", default=[], metavar="RULE.NAME=VALUE", help="新规则的参数 new side"
    )
    im.add_argument("--param", action="append", default=[], metavar="RULE.NAME=VALUE", help="as --params-new")
    im.add_argument("--waivers", action="append", default=[], metavar="FILE", help="豁免文件 waiver file (YAML)")
    im.add_argument("--allow", action="store_true", help="翻转不算失败 exit 0 even when findings flip")
    im.add_argument("--format", choices=("table", "json"), default="table")
    im.add_argument("--output", "-o", help="write here instead of standard output " + whole)
    im.set_defaults(func=_impact)


def _impact(args: argparse.Namespace) -> int:
    from . import impact, load_rules, render_impact_table
    from .cli_closed_loop import emit, json_bytes

    roster, records = split_inputs(args.inputs, args.waivers)
    as_of = dt.date.today()
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError.of("usage.as_of.invalid", value=args.as_of) from None
    old = load_rules(*rules_paths(args.old))
    new = load_rules(*rules_paths(args.new))
    files = [str(p) for p in records]
    result = impact(
        old,
        new,
        roster,
        files,
        period=args.period,
        as_of=as_of,
        params_old=parse_params(args.params_old),
        params_new=parse_params([*args.params_new, *args.param]),
        waivers=list(args.waivers),
    )
    data = json_bytes(result.to_dict()) if args.format == "json" else render_impact_table(result).encode()
    emit(args.output, data, [str(roster), *files, *args.waivers])
    return result.exit_code(args.allow)
