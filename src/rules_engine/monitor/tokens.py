"""API tokens of the monitoring service: each limited to an organisation and its subtree (the roster's
``parent`` links), read-only or allowed to write. The store keeps the SHA-256 of a token, never the token:
it is shown once, when made. A token revoked (:func:`revoke_token`) is refused from the next request on: the
service reads the store at each request (:class:`TokenReader`: no cache, a read made cheap). Needs the ``history``
extra."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..history import store
from ..history.store import HistoryError, sa
from .journal import _Store, open_store

__all__ = [
    "PREFIX",
    "Token",
    "TokenReader",
    "create_token",
    "digest",
    "find_token",
    "format_tokens",
    "list_tokens",
    "revoke_token",
]

PREFIX = "rem_"  # (a token is recognisable in a log or a leaked file)


@dataclass(frozen=True)
class Token:
    """A token as the store describes it (never its text nor its hash)."""

    id: int
    organisation_id: str
    can_write: bool
    created_at: str = ""
    revoked_at: str | None = None  # when it was revoked; None: in force

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organisation_id": self.organisation_id,
            "kind": "write" if self.can_write else "read",
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def create_token(db: str | Path | None, org: str, *, write: bool = False) -> tuple[Token, str]:
    """A new token for `org` and its subtree (`write`: may post records); returns it with its text, which is
    not stored and cannot be shown again."""
    text = PREFIX + secrets.token_urlsafe(32)
    s = open_store(db)
    try:
        with s.begin() as conn:
            now = _now()
            row = {"digest": digest(text), "organisation_id": org, "can_write": write, "created_at": now}
            number = conn.execute(store.api_tokens.insert().values(**row).returning(store.api_tokens.c.id)).scalar()
    finally:
        s.close()
    return Token(int(number or 0), org, write, now), text


_COLUMNS = (
    store.api_tokens.c.id,
    store.api_tokens.c.organisation_id,
    store.api_tokens.c.can_write,
    store.api_tokens.c.created_at,
    store.api_tokens.c.revoked_at,
)


def _token(row: Any) -> Token:
    return Token(int(row[0]), str(row[1]), bool(row[2]), str(row[3]), None if row[4] is None else str(row[4]))


def find_token(conn: store.Connection, text: str) -> Token | None:
    """The token whose text is `text` (revoked or not: see ``revoked_at``), or None."""
    row = conn.execute(sa.select(*_COLUMNS).where(store.api_tokens.c.digest == digest(text))).first()
    return None if row is None else _token(row)


class TokenReader:
    """A token read from the store at each request, never cached (a revocation committed by another process holds
    from the next request on), cheaply and without the store's write lock (it waits for no commit). On SQLite: a
    connection of each thread's own, kept open, in autocommit (each read a read transaction of its own: with
    write-ahead logging it neither waits for a writer nor holds one up), the statement compiled once; a read takes
    tens of microseconds, so the service makes it on its event loop (`inline`). Elsewhere (PostgreSQL): a
    transaction of its own without the store's advisory lock, in a worker thread."""

    def __init__(self, s: _Store) -> None:
        self.store = s
        self.inline = s.engine.dialect.name == "sqlite"
        query = sa.select(*_COLUMNS).where(store.api_tokens.c.digest == sa.bindparam("digest"))
        self._sql = str(query.compile(dialect=s.engine.dialect))
        self._local = threading.local()
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, text: str) -> Token | None:
        """The token whose text is `text` (revoked or not: see ``revoked_at``), or None."""
        if not self.inline:
            with self.store.read() as conn:
                return find_token(conn, text)
        raw: Any = getattr(self._local, "conn", None)
        if raw is None:
            fairy = self.store.reader_connection()
            with self._lock:
                self._opened.append(fairy)
            raw = self._local.conn = fairy.driver_connection
            raw.isolation_level = None  # (autocommit: no transaction left open between two reads)
        try:
            row = raw.execute(self._sql, (digest(text),)).fetchone()
        except Exception as exc:
            raise HistoryError.of("history.db.error", url=store._shown(self.store.url), reason=str(exc)) from exc
        return None if row is None else _token(row)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for fairy in opened:
            fairy.close()


def list_tokens(db: str | Path | None) -> list[Token]:
    """Every token of the store, by number: organisation, kind, when made and when revoked."""
    with store.connect(db, create=False) as conn:  # (a store that is not there is an error, not made)
        return [_token(r) for r in conn.execute(sa.select(*_COLUMNS).order_by(store.api_tokens.c.id))]


def revoke_token(db: str | Path | None, number: int) -> Token:
    """Revoke the token `number`: a server on the store refuses it (401) from its next request on. An unknown
    number, or a token already revoked, is a :class:`rules_engine.history.HistoryError`."""
    t = store.api_tokens
    with store.connect(db, create=False) as conn:
        row = conn.execute(sa.select(*_COLUMNS).where(t.c.id == number)).first()
        if row is None:
            raise HistoryError.of("history.token.unknown", id=number)
        found = _token(row)
        if found.revoked_at is not None:
            raise HistoryError.of("history.token.revoked", id=number, at=found.revoked_at)
        now = _now()
        conn.execute(t.update().where(t.c.id == number).values(revoked_at=now))
    return Token(found.id, found.organisation_id, found.can_write, found.created_at, now)


def format_tokens(tokens: list[Token]) -> str:
    """The tokens as a table (the text of ``rules-engine token list``)."""
    if not tokens:
        return "没有令牌 no tokens\n"
    head = ("编号 id", "组织 organisation", "权限 kind", "创建 created", "吊销 revoked")
    rows = [
        (str(x.id), x.organisation_id, "写入 write" if x.can_write else "只读 read", x.created_at, x.revoked_at or "-")
        for x in tokens
    ]
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return "".join(
        "  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)).rstrip() + "\n"
        for r in [head, *rows]
    )


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
