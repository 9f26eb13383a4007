"""``rules-engine serve`` (the monitoring service, :mod:`rules_engine.monitor`) and ``rules-engine token create``
(its API tokens). ``serve`` needs the ``serve`` extra (FastAPI and uvicorn), both need the ``history`` extra (the
findings store keeps the records, the duties' states and the tokens)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .cli_common import rules_paths
from .cli_history import DB_HELP
from .errors import MissingExtra

SERVE_EXTRA = "pip install 'duty-rules-engine[serve]'"


def add_commands(sub: Any, rules_help: str) -> None:
    se = sub.add_parser(
        "serve",
        help="监测服务 the monitoring service: records in one by one, findings and warnings out (HTTP)",
        description="Records are posted one by one or as JSON Lines and checked as in batch mode; each "
        "organisation's duties are kept as state; findings, warnings and the input account are answered as of "
        "any date. Every record and state change is written to the findings store (--db) before the answer. "
        "Needs the [serve] extra. See docs/monitoring.md.",
    )
    se.add_argument("--roster", required=True, metavar="FILE", help="the roster (YAML or JSON)")
    se.add_argument("--rules", action="append", help=rules_help)
    se.add_argument("--db", metavar="URL", help=DB_HELP)
    se.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    se.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    se.add_argument("--period", help="the period monitored, e.g. 2024 (default: the clock's year)")
    se.add_argument(
        "--clock", metavar="DATE", help="a fixed date for the monitor (default: today, moving on as days pass)"
    )
    se.add_argument("--horizon", type=int, default=30, help="days before a window's end that a duty is warned")
    se.add_argument("--waivers", action="append", default=[], metavar="FILE")
    se.set_defaults(func=_serve)

    to = sub.add_parser("token", help="监测服务的令牌 API tokens of the monitoring service")
    tsub = to.add_subparsers(dest="token_command", required=True)
    cr = tsub.add_parser(
        "create",
        help="新建令牌 make a token for an organisation and the ones below it; printed once, stored hashed",
    )
    cr.add_argument("--org", required=True, help="the organisation id the token is limited to (with its subtree)")
    cr.add_argument("--write", action="store_true", help="may post records (default: read only)")
    cr.add_argument("--db", metavar="URL", help=DB_HELP)
    cr.set_defaults(func=_token)


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("extra.missing#serve", library=str(exc.name)) from exc
    from .monitor.app import create_app
    from .monitor.service import Config, Service

    config = Config(
        roster=args.roster,
        rules=tuple(rules_paths(args.rules)),
        db=args.db,
        period=args.period,
        clock=args.clock,
        horizon=args.horizon,
        waivers=tuple(args.waivers),
    )
    service = Service(config)
    try:
        uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="info")
    finally:
        service.close()
    return 0


def _token(args: argparse.Namespace) -> int:
    from .monitor.tokens import create_token

    token, text = create_token(args.db, args.org, write=args.write)
    kind = "写入 write" if token.can_write else "只读 read-only"
    print(
        f"令牌 token {token.id} ({kind}) 组织 organisation {token.organisation_id}: 只显示这一次 shown once",
        file=sys.stderr,
    )
    print(text)
    return 0
