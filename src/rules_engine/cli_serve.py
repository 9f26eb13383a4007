"""``rules-engine serve`` (the monitoring service, :mod:`rules_engine.monitor`) and ``rules-engine token create``,
``token list`` and ``token revoke`` (its API tokens). ``serve`` needs the ``serve`` extra (FastAPI and uvicorn),
all need the ``history`` extra (the findings store keeps the records, the duties' states and the tokens)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .cli_common import UsageError, rules_paths
from .cli_history import DB_HELP
from .errors import MissingExtra

SECRET_ENV = "RULES_ENGINE_WEBHOOK_SECRET"  # (a secret is not given on the command line: ps would show it)


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
    se.add_argument(
        "--period",
        help="the period monitored first, e.g. 2024 (default: the clock's year); when the clock passes its end the "
        "service moves on to the next period of the same length (a store that has moved on keeps its own)",
    )
    se.add_argument(
        "--clock", metavar="DATE", help="a fixed date for the monitor (default: today, moving on as days pass)"
    )
    se.add_argument("--horizon", type=int, default=30, help="days before a window's end that a duty is warned")
    se.add_argument("--waivers", action="append", default=[], metavar="FILE")
    se.add_argument(
        "--webhook",
        metavar="URL",
        help="deliver the outbox (warnings, new violations) to URL: POST, JSON, signed with HMAC-SHA256 of the "
        f"secret in ${SECRET_ENV} (header X-Rules-Engine-Signature), retried with backoff",
    )
    se.add_argument("--webhook-backoff", type=float, default=1.0, metavar="SECONDS", help="first retry delay")
    se.set_defaults(func=_serve)

    ob = sub.add_parser("outbox", help="通知 the monitoring service's notifications (warnings, new violations)")
    ob.add_argument("--db", metavar="URL", help=DB_HELP)
    ob.add_argument("--pending", action="store_true", help="only those not delivered yet")
    ob.add_argument("--format", choices=("text", "json"), default="text")
    ob.set_defaults(func=_outbox)

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
    ls = tsub.add_parser(
        "list", help="列出令牌 list the tokens: number, organisation, write or read, created, revoked (never the token)"
    )
    ls.add_argument("--db", metavar="URL", help=DB_HELP)
    ls.add_argument("--format", choices=("text", "json"), default="text")
    ls.set_defaults(func=_token_list)
    rv = tsub.add_parser(
        "revoke", help="吊销令牌 revoke a token: a running server refuses it (401) from its next request on"
    )
    rv.add_argument("id", help="令牌编号 the token's number (rules-engine token list)")
    rv.add_argument("--db", metavar="URL", help=DB_HELP)
    rv.set_defaults(func=_token_revoke)


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("extra.missing#serve", library=str(exc.name)) from exc
    from .monitor.app import create_app
    from .monitor.service import Config, Service, long_lived_gc

    config = Config(
        roster=args.roster,
        rules=tuple(rules_paths(args.rules)),
        db=args.db,
        period=args.period,
        clock=args.clock,
        horizon=args.horizon,
        waivers=tuple(args.waivers),
        webhook=args.webhook,
        webhook_secret=_secret(args.webhook),
        webhook_backoff=args.webhook_backoff,
    )
    service = Service(config)
    long_lived_gc()
    try:
        uvicorn.run(create_app(service), host=args.host, port=args.port, log_level="info")
    finally:
        service.close()
    return 0


def _secret(webhook: str | None) -> bytes:
    secret = os.environ.get(SECRET_ENV, "")
    if webhook and not secret:
        raise UsageError.of("usage.webhook.secret", env=SECRET_ENV)
    return secret.encode()


def _outbox(args: argparse.Namespace) -> int:
    import orjson

    from .monitor.outbox import format_outbox, notices

    found = notices(args.db, pending=args.pending)
    if args.format == "json":
        sys.stdout.write(orjson.dumps([n.to_dict() for n in found], option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(format_outbox(found))
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


def _token_list(args: argparse.Namespace) -> int:
    import orjson

    from .monitor.tokens import format_tokens, list_tokens

    found = list_tokens(args.db)
    if args.format == "json":
        sys.stdout.write(orjson.dumps([t.to_dict() for t in found], option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(format_tokens(found))
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from .history.store import HistoryError
    from .monitor.tokens import revoke_token

    text = str(args.id).strip()
    if not text.isascii() or not text.isdigit():
        raise HistoryError.of("history.token.invalid", id=text)
    token = revoke_token(args.db, int(text))
    print(
        f"已吊销令牌 revoked token {token.id} (组织 organisation {token.organisation_id}) at {token.revoked_at}",
        file=sys.stderr,
    )
    return 0
