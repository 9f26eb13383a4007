"""The monitoring service over HTTP (FastAPI; the ``serve`` extra): see ``docs/monitoring.md``.

Every route but ``/health`` and the OpenAPI document needs ``Authorization: Bearer <token>`` (401 without a
valid one). A token sees its organisation and the organisations below it: asking for another one's findings,
or posting its records, is refused with 403, whether or not that organisation exists, and each refusal is
logged (logger ``rules_engine.serve``). Reads need any token; posting a write token; the input account,
reloading and the clock a token of the whole roster.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from .. import __version__
from ..errors import Error
from ..texts import message
from ..upcoming import parse_within
from .commit import Committer, Refused
from .core import POSTED, Change, Monitor, Posted
from .service import Service
from .tokens import Token

__all__ = ["create_app"]

log = logging.getLogger("rules_engine.serve")

MAX_BODY = 64 << 20  # bytes in one POST /records


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def deny(request: Request, status: int, why: str, token: Token | None) -> HTTPException:
    """The refusal to raise, logged (who, what, why)."""
    who = f"token {token.id} ({token.organisation_id})" if token else "no valid token"
    log.warning("denied %s %s: %s: %s", request.method, request.url.path, who, why)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, why, headers=headers)


async def _token(request: Request) -> Token:
    """The request's token (401 without a valid one), read from the store at each request: on the event loop where
    that read is cheap (SQLite), else in a worker thread."""
    service: Service = request.app.state.service
    header = request.headers.get("authorization", "")
    scheme, _, text = header.partition(" ")
    found = None
    if scheme.lower() == "bearer" and text.strip():
        read = service.tokens
        found = read(text.strip()) if read.inline else await run_in_threadpool(read, text.strip())
    if found is None:
        raise deny(request, 401, message("arg.token.missing"), None)
    if found.revoked_at is not None:  # (read from the store at each request: refused from the next one on)
        raise deny(request, 401, message("arg.token.revoked"), found)
    return found


def _bearer(request: Request) -> str:
    """The text of the request's token, not read yet (401 without one): POST /records has it read in its commit
    cycle, once for all the posts of the cycle."""
    scheme, _, text = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not text.strip():
        raise deny(request, 401, message("arg.token.missing"), None)
    return text.strip()


Auth = Annotated[Token, Depends(_token)]
PeriodQuery = Annotated[
    str | None, Query(max_length=64, description="a period's label (GET /periods); default: the one as_of falls in")
]


def create_app(service: Service) -> FastAPI:
    app = FastAPI(
        title="rules-engine monitoring",
        version=__version__,
        description="日常监测 daily monitoring of duties: records in, findings and warnings out (docs/monitoring.md)",
        default_response_class=_Json,
    )

    app.state.service = service
    app.state.commits = Committer(service)  # (group commit: see monitor/commit.py)

    def within_scope(request: Request, tok: Token, org: str | None) -> frozenset[str]:
        scope = service.scope(tok)
        if org is not None and org not in scope:
            raise deny(request, 403, message("arg.token.outside", what=org), tok)
        return frozenset({org}) if org is not None else scope

    def whole(request: Request, tok: Token, write: bool) -> None:
        if write and not tok.can_write:
            raise deny(request, 403, message("arg.token.read_only"), tok)
        if service.scope(tok) != service.everything():
            raise deny(request, 403, message("arg.token.whole"), tok)

    def person_scope(request: Request, tok: Token, m: Monitor, person: str, scope: frozenset[str]) -> None:
        holds = {p.org for x in m.roster.roster.people if x.id == person for p in x.posts}
        if not holds & scope:
            raise deny(request, 403, message("arg.token.outside", what=person), tok)

    @app.get("/health")
    def health() -> dict[str, Any]:
        with service.use() as m:
            return {
                "status": "ok",
                "records": m.records,
                "unsettled": m.unsettled,  # records kept, not counted for their duties yet
                "clock": m.clock.isoformat(),
                "period": m.period.label,
                "version": __version__,
            }

    @app.post(
        "/records",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "object", "description": "one record"}},
                    "application/x-ndjson": {
                        "schema": {"type": "string", "description": "JSON Lines: one record a line"}
                    },
                },
            }
        },
    )
    async def post_records(
        request: Request,
        bearer: Annotated[str, Depends(_bearer)],
        source: Annotated[str, Query(max_length=400)] = POSTED,
        line: Annotated[int | None, Query(ge=1)] = None,
        lines: Annotated[str | None, Query(description="each record's line, comma-separated")] = None,
        wait: Annotated[bool, Query(description="answer once the duties are counted too (their changes)")] = False,
    ) -> dict[str, Any]:
        """One record (a JSON object) or a batch (JSON Lines: one record a line), each checked as in batch mode;
        the answer says accepted, rejected or excluded for each, once the records are written to the store. `source`
        and `line` (the first line; or `lines`, one per record) place the records as in the file they come from.
        The duties are counted right after (their changes go to the store and the outbox); with `wait`, before
        the answer, which then lists the changes of the duties of the posted records' organisations."""
        with request.app.state.commits.answering(wait):  # (the count pauses meanwhile: monitor/commit.py)
            return await _post_records(request, bearer, source, line, lines, wait)

    async def _post_records(
        request: Request, bearer: str, source: str, line: int | None, lines: str | None, wait: bool
    ) -> dict[str, Any]:
        body = await request.body()
        if len(body) > MAX_BODY:
            raise HTTPException(413, message("arg.body.too_large", limit=MAX_BODY))
        texts, numbers = _lines(body)
        if lines is not None:
            try:
                given = [int(x) for x in lines.split(",")]
            except ValueError:
                raise HTTPException(400, message("arg.lines.invalid")) from None
            if len(given) != len(texts):
                raise HTTPException(400, message("arg.lines.count", given=len(given), records=len(texts)))
            numbers = given
        elif line is not None:
            numbers = [line - 1 + n for n in numbers]
        answers, changes = await _post(request, bearer, texts, source, numbers, wait)
        counts = {s: sum(1 for a in answers if a.status == s) for s in ("accepted", "rejected", "excluded")}
        return {
            **counts,
            "records": [a.model_dump(mode="json") for a in answers],
            "changes": [c.model_dump(mode="json") for c in changes],
        }

    @app.get("/findings")
    def findings(
        request: Request,
        tok: Auth,
        as_of: dt.date,
        org: str | None = None,
        person: str | None = None,
        status: str | None = None,
        period: PeriodQuery = None,
    ) -> dict[str, Any]:
        """The findings of the batch report of the records posted, as of `as_of` (the same finding objects as
        the JSON report's), of the token's organisations (or `org`), the subject `person`, the status. The period
        is the one `as_of` falls in (a closed one keeps its findings), or `period` (a label, GET /periods)."""
        scope = within_scope(request, tok, org)
        with _period(service, as_of, period) as m:
            if person is not None:
                person_scope(request, tok, m, person, scope)
            found = _answer(lambda: m.findings(as_of, orgs=scope, person=person, status=status))
        return {"as_of": as_of.isoformat(), "findings": [f.model_dump(mode="json") for f in found]}

    @app.get("/upcoming")
    def upcoming(
        request: Request,
        tok: Auth,
        as_of: dt.date,
        within: str = "30d",
        org: str | None = None,
        period: PeriodQuery = None,
    ) -> dict[str, Any]:
        """Duties still open whose window ends within `within` (``30d``, ``4w``) of `as_of` (of the period it
        falls in, or `period`)."""
        scope = within_scope(request, tok, org)
        days = _answer(lambda: parse_within(within))
        with _period(service, as_of, period) as m:
            result = _answer(lambda: m.upcoming(as_of, days))
        data: dict[str, Any] = result.model_dump(mode="json")
        data["items"] = [i for i in data["items"] if i["finding"]["organisation"]["id"] in scope]
        return data

    @app.get("/duties")
    def duties(request: Request, tok: Auth, org: str | None = None, period: PeriodQuery = None) -> dict[str, Any]:
        """The duties as the durable_rules session holds them now (state, records missing, window over, near):
        of the current period, or of `period` (a closed one: as they ended)."""
        scope = within_scope(request, tok, org)
        with _period(service, None, period) as m:
            return {
                "clock": m.clock.isoformat(),
                "period": m.period.label,
                "duties": [d for d in m.duties() if d["organisation_id"] in scope],
            }

    @app.get("/periods")
    def periods(request: Request, tok: Auth) -> dict[str, Any]:
        """The periods monitored, by start: label, start, end, when opened and closed (null: the current one)."""
        with service.use():
            return {"periods": service.periods()}

    @app.get("/input")
    def input_account(request: Request, tok: Auth, as_of: dt.date, period: PeriodQuery = None) -> dict[str, Any]:
        """The input account as of `as_of`: every record posted, used, rejected or excluded, with its reason (of
        the period `as_of` falls in, or `period`)."""
        whole(request, tok, write=False)
        with _period(service, as_of, period) as m:
            account: dict[str, Any] = _answer(lambda: m.account(as_of)).model_dump(mode="json")
        return account

    @app.post("/clock")
    def clock(request: Request, tok: Auth, day: dt.date) -> dict[str, Any]:
        """The clock event: the monitor's date becomes `day` (never back). Past the period's end, the service
        moves on to the next period: the answer's changes are the old period's last ones (its duties ended met or
        missed), then those of the clock in the new period; `period` is the current one."""
        whole(request, tok, write=True)
        try:  # (not in service.use(): the count runs while posts are taken)
            changes = service.tick(day)
        except Error as exc:
            raise HTTPException(409, str(exc)) from None
        m = service.monitor
        return {
            "clock": m.clock.isoformat(),
            "period": m.period.label,
            "changes": [c.model_dump(mode="json") for c in changes],
        }

    @app.post("/reload")
    def reload(request: Request, tok: Auth) -> dict[str, Any]:
        """Read the roster and rule packs again and swap them in at once (the old ones stay on an error)."""
        whole(request, tok, write=True)
        m = _answer(service.reload)
        changed = [{"seq": q, "then": a, "now": b} for q, a, b in m.changed_on_replay]
        return {
            "status": "reloaded",
            "records": m.records,
            "clock": m.clock.isoformat(),
            "period": m.period.label,
            "decided_otherwise": changed,
        }

    _document_refusals(app)

    @app.exception_handler(Error)
    def error(request: Request, exc: Error) -> Response:  # (a bad argument the library refused)
        return _Json({"detail": str(exc)}, status_code=400)

    return app


# The refusals each route may answer with (besides FastAPI's 422 for a parameter of the wrong form), declared in the
# OpenAPI document: each a JSON object {"detail": "中文 English"}
_REFUSALS = {
    400: "a bad argument (a date outside the calendar, an unknown period, lines that do not match the records)",
    401: "no valid token (missing, unknown or revoked)",
    403: "outside the token's scope, or a read-only token writing",
}
_MORE = {
    ("/clock", "post"): {409: "the clock does not go back (or past year 9899)"},
    ("/records", "post"): {413: "the body is too large"},
}


def _document_refusals(app: FastAPI) -> None:
    """Add the refusals to every route's responses in the OpenAPI document (all but /health)."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = plain()
        problem = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
        doc.setdefault("components", {}).setdefault("schemas", {})["Refusal"] = problem
        for path, methods in doc.get("paths", {}).items():
            if path == "/health":
                continue
            for method, operation in methods.items():
                for status, why in {**_REFUSALS, **_MORE.get((path, method), {})}.items():
                    operation.setdefault("responses", {})[str(status)] = {
                        "description": why,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}},
                    }
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


async def _post(
    request: Request, bearer: str, texts: list[str], source: str, numbers: list[int], wait: bool
) -> tuple[list[Posted], list[Change]]:
    """Post the lines (queued for the next commit cycle, which reads the token and each line once, checks the
    token and its scope and commits them: see monitor/commit.py); a post without a valid write token, or with a
    record of an organisation outside the token's scope, is refused whole (nothing is kept), and logged."""
    if not texts:  # (nothing to post: the token checked here)
        tok = await _token(request)
        if not tok.can_write:
            raise deny(request, 403, message("arg.token.read_only"), tok)
        return [], []
    commits: Committer = request.app.state.commits
    try:
        return await commits.post_async(texts, source, numbers, wait, bearer=bearer)
    except Refused as exc:
        raise deny(request, exc.status, exc.why, exc.token) from None


@contextlib.contextmanager
def _period(service: Service, as_of: dt.date | None, period: str | None) -> Iterator[Monitor]:
    """The monitor of the period asked for (400 for a label not monitored)."""
    with service.use() as current:
        m = current if as_of is None and period is None else _answer(lambda: service.monitor_for(as_of, period))
        yield m


def _answer(fn: Any) -> Any:
    try:
        return fn()
    except Error as exc:
        raise HTTPException(400, str(exc)) from None


def _lines(body: bytes) -> tuple[list[str], list[int]]:
    """The records of a body: its non-blank lines (a single JSON object over several lines is one record)."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    text = body.decode("utf-8", "replace")
    stripped = text.strip()
    if stripped.startswith("{") and "\n" in stripped:
        try:
            orjson.loads(stripped)
            return [stripped], [1]
        except orjson.JSONDecodeError:
            pass
    texts, numbers = [], []
    for n, raw in enumerate(text.split("\n"), start=1):
        if raw.strip():
            texts.append(raw.rstrip("\r"))
            numbers.append(n)
    return texts, numbers
