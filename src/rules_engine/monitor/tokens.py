"""API tokens of the monitoring service: each limited to an organisation and its subtree (the roster's
``parent`` links), read-only or allowed to write. The store keeps the SHA-256 of a token, never the token:
it is shown once, when made. Needs the ``history`` extra."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..history import store
from ..history.store import sa
from .journal import open_store

__all__ = ["PREFIX", "Token", "create_token", "digest", "find_token"]

PREFIX = "rem_"  # (a token is recognisable in a log or a leaked file)


@dataclass(frozen=True)
class Token:
    id: int
    organisation_id: str
    can_write: bool


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(db: str | Path | None, org: str, *, write: bool = False) -> tuple[Token, str]:
    """A new token for `org` and its subtree (`write`: may post records); returns it with its text, which is
    not stored and cannot be shown again."""
    text = PREFIX + secrets.token_urlsafe(32)
    s = open_store(db)
    try:
        with s.begin() as conn:
            now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            row = {"digest": digest(text), "organisation_id": org, "can_write": write, "created_at": now}
            number = conn.execute(store.api_tokens.insert().values(**row).returning(store.api_tokens.c.id)).scalar()
    finally:
        s.close()
    return Token(int(number or 0), org, write), text


def find_token(conn: store.Connection, text: str) -> Token | None:
    """The token whose text is `text`, or None."""
    t = store.api_tokens
    row = conn.execute(sa.select(t.c.id, t.c.organisation_id, t.c.can_write).where(t.c.digest == digest(text))).first()
    return None if row is None else Token(int(row[0]), str(row[1]), bool(row[2]))
