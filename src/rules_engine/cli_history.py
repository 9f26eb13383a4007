"""``rules-engine history runs|diff|show``: the recorded runs, read back (see :mod:`rules_engine.history`).

These commands need SQLAlchemy and the store, not the evaluation: :func:`main` runs them without importing
the rest of the command line or the library (``rules_engine`` imports its parts on first use), so that a
command's time is its query, not the start (``python -m rules_engine`` and the ``rules-engine`` script come
here first for ``history``; ``rules-engine --help`` and every other command go to :func:`rules_engine.cli.main`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from .cli_streams import exit_for, prepare_streams

DB_HELP = "the findings store: a SQLite file or a database URL (default: $RULES_ENGINE_DB, else ./rules-engine.db)"


def add_commands(sub: Any) -> None:
    hi = sub.add_parser(
        "history",
        help="历史记录 the recorded runs (evaluate --db): list, compare, one subject over time",
        description="Runs are named by id, 'latest' or 'latest~N' (N runs before the latest). "
        "Needs the [history] extra.",
    )
    hsub = hi.add_subparsers(dest="history_command", required=True)
    ru = hsub.add_parser("runs", help="列出运行 list the recorded runs")
    ru.add_argument("--format", choices=("text", "json"), default="text")
    di = hsub.add_parser(
        "diff",
        help="比较两次运行 new, resolved, persisting and changed findings from RUN_A to RUN_B",
        description="New, resolved and changed findings listed per organisation; persisting violations "
        "(violated in both runs) counted per organisation in the text, listed with --persisting. "
        "--format json lists all four, always.",
    )
    di.add_argument("run_a")
    di.add_argument("run_b")
    di.add_argument("--format", choices=("text", "json"), default="text")
    di.add_argument(
        "--persisting",
        action="store_true",
        help="持续未履行逐条列出 list each persisting violation in the text too (default: counts per organisation)",
    )
    sh = hsub.add_parser("show", help="履责记录 one person's or organisation's findings over time")
    sh.add_argument("subject", help="a person or organisation id")
    sh.add_argument("--format", choices=("text", "json"), default="text")
    for p in (ru, di, sh):
        p.add_argument("--db", metavar="URL", help=DB_HELP)
        p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from . import history

    data: Any
    if args.history_command == "runs":
        found = history.runs(args.db)
        data, text = [r.to_dict() for r in found], history.format_runs(found)
    elif args.history_command == "diff":
        json_ = args.format == "json"  # the JSON lists every persisting violation, always
        d = history.diff(args.db, args.run_a, args.run_b, persisting=json_ or args.persisting)
        data, text = (d.to_dict(), "") if json_ else (None, history.format_diff(d))
    else:
        record = history.show(args.db, args.subject)
        data, text = record.to_dict(), history.format_record(record)
    if args.format == "json":  # as json.dumps(data, ensure_ascii=False, indent=2) writes it, ten times faster
        raw = orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
        binary = getattr(sys.stdout, "buffer", None)
        if binary is None:  # a text-only stream (a caller's StringIO)
            sys.stdout.write(raw.decode())
            return 0
        sys.stdout.flush()
        binary.write(raw)
        binary.flush()
        return 0
    sys.stdout.write(text)
    return 0


def main(argv: Sequence[str]) -> int:
    """``rules-engine history ...`` alone (`argv` starts with ``history``); the same exit codes and messages
    as :func:`rules_engine.cli.main` gives them."""
    prepare_streams()
    from .cli_parser import Parser

    parser = Parser(prog="rules-engine")
    add_commands(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
        result: int = args.func(args)
        return result
    except (Exception, KeyboardInterrupt) as exc:
        return exit_for(exc)
