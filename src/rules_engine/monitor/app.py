"""The monitoring service over HTTP (FastAPI; the ``serve`` extra): see ``docs/monitoring.md``.

Every route but ``/health`` and the OpenAPI document needs ``Authorization: Bearer <token>`` (401 without a
valid one). A token sees its organisation and the organisations below it: asking for another one's findings,
or posting its records, is refused with 403, whether or not that organisation exists, and each refusal is
logged (logger ``rules_engine.serve``). Reads need any token; posting a write token; the input account,
reloading and the clock a token of the whole roster.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from .. import __version__
from ..errors import Error
from ..load.inputs import jsonl_row
from ..texts import message
from ..upcoming import parse_within
from .commit import Committer
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


def _token(request: Request) -> Token:
    """The request's token (401 without a valid one)."""
    service: Service = request.app.state.service
    header = request.headers.get("authorization", "")
    scheme, _, text = header.partition(" ")
    found = service.token(text.strip()) if scheme.lower() == "bearer" and text.strip() else None
    if found is None:
        raise deny(request, 401, message("arg.token.missing"), None)
    return found


Auth = Annotated[Token, Depends(_token)]


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
                "records": len(m.rows()),
                "unsettled": m.unsettled,  # records kept, not counted for their duties yet
                "clock": m.clock.isoformat(),
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
        tok: Auth,
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
        if not tok.can_write:
            raise deny(request, 403, message("arg.token.read_only"), tok)
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
        answers, changes = await run_in_threadpool(_post, service, request, tok, texts, source, numbers, wait)
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
    ) -> dict[str, Any]:
        """The findings of the batch report of the records posted, as of `as_of` (the same finding objects as
        the JSON report's), of the token's organisations (or `org`), the subject `person`, the status."""
        scope = within_scope(request, tok, org)
        with service.use() as m:
            if person is not None:
                person_scope(request, tok, m, person, scope)
            found = _answer(lambda: m.findings(as_of, orgs=scope, person=person, status=status))
        return {"as_of": as_of.isoformat(), "findings": [f.model_dump(mode="json") for f in found]}

    @app.get("/upcoming")
    def upcoming(
        request: Request, tok: Auth, as_of: dt.date, within: str = "30d", org: str | None = None
    ) -> dict[str, Any]:
        """Duties still open whose window ends within `within` (``30d``, ``4w``) of `as_of`."""
        scope = within_scope(request, tok, org)
        days = _answer(lambda: parse_within(within))
        with service.use() as m:
            result = _answer(lambda: m.upcoming(as_of, days))
        data: dict[str, Any] = result.model_dump(mode="json")
        data["items"] = [i for i in data["items"] if i["finding"]["organisation"]["id"] in scope]
        return data

    @app.get("/duties")
    def duties(request: Request, tok: Auth, org: str | None = None) -> dict[str, Any]:
        """The duties as the durable_rules session holds them now (state, records missing, window over, near)."""
        scope = within_scope(request, tok, org)
        with service.use() as m:
            return {"clock": m.clock.isoformat(), "duties": [d for d in m.duties() if d["organisation_id"] in scope]}

    @app.get("/input")
    def input_account(request: Request, tok: Auth, as_of: dt.date) -> dict[str, Any]:
        """The input account as of `as_of`: every record posted, used, rejected or excluded, with its reason."""
        whole(request, tok, write=False)
        with service.use() as m:
            account: dict[str, Any] = _answer(lambda: m.account(as_of)).model_dump(mode="json")
        return account

    @app.post("/clock")
    def clock(request: Request, tok: Auth, day: dt.date) -> dict[str, Any]:
        """The clock event: the monitor's date becomes `day` (never back)."""
        whole(request, tok, write=True)
        with service.use() as m:
            try:
                changes = m.tick(day)
            except Error as exc:
                raise HTTPException(409, str(exc)) from None
            return {"clock": m.clock.isoformat(), "changes": [c.model_dump(mode="json") for c in changes]}

    @app.post("/reload")
    def reload(request: Request, tok: Auth) -> dict[str, Any]:
        """Read the roster and rule packs again and swap them in at once (the old ones stay on an error)."""
        whole(request, tok, write=True)
        m = _answer(service.reload)
        changed = [{"seq": q, "then": a, "now": b} for q, a, b in m.changed_on_replay]
        return {
            "status": "reloaded",
            "records": len(m.rows()),
            "clock": m.clock.isoformat(),
            "decided_otherwise": changed,
        }

    @app.exception_handler(Error)
    def error(request: Request, exc: Error) -> Response:  # (a bad argument the library refused)
        return _Json({"detail": str(exc)}, status_code=400)

    return app


def _post(
    service: Service, request: Request, tok: Token, texts: list[str], source: str, numbers: list[int], wait: bool
) -> tuple[list[Posted], list[Change]]:
    """Post the lines (in a worker thread: it waits for the cycle that commits them); a record of an organisation
    outside the token's scope refuses the whole post (nothing is kept)."""
    with service.use() as m:
        scope = service.scope(tok)
        for text, n in zip(texts, numbers, strict=True):
            row = jsonl_row(text.encode("utf-8", "surrogatepass"), source, n)
            org = getattr(row, "org", None)
            if org is not None and org in m.index.orgs and org not in scope:
                raise deny(request, 403, message("arg.token.outside", what=org), tok)
    if not texts:
        return [], []
    commits: Committer = request.app.state.commits
    return commits.post(texts, source, numbers, wait)


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
