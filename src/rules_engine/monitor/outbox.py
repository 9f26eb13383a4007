"""The outbox: a notification for each duty warned before its window ends (``warning``) and each duty missed
(``violation``), written to the findings store in the transaction of the change that raised it; and the webhook
that delivers them (POST, JSON, signed with HMAC-SHA256, retried with backoff). ``rules-engine outbox`` lists
them. Needs the ``history`` extra."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..history import store
from ..history.store import Connection, sa
from .core import Change

__all__ = ["KINDS", "SIGNATURE", "Notice", "Webhook", "format_outbox", "notices", "outbox_rows", "sign"]

KINDS = {"warned": "warning", "missed": "violation"}  # the states that are told, and what they are called
SIGNATURE = "X-Rules-Engine-Signature"  # "sha256=<hex HMAC-SHA256 of the body with the shared secret>"
log = logging.getLogger("rules_engine.serve")


@dataclass(frozen=True)
class Notice:
    id: int
    created_at: str
    kind: str
    organisation_id: str
    duty: str
    payload: dict[str, Any]
    delivered_at: str | None
    attempts: int
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def outbox_rows(changes: Sequence[Change], now: str) -> list[dict[str, Any]]:
    """The outbox rows of `changes` (those into a state that is told)."""
    rows = []
    for c in changes:
        kind = KINDS.get(c.after)
        if kind is not None:
            payload = {"kind": kind, "change": c.model_dump(mode="json")}
            rows.append(
                {
                    "created_at": now,
                    "kind": kind,
                    "organisation_id": c.organisation_id,
                    "duty": c.duty,
                    "payload": orjson.dumps(payload).decode(),
                    "attempts": 0,
                    "next_at": 0.0,
                }
            )
    return rows


def notices(db: str | Path | None, *, pending: bool = False) -> list[Notice]:
    """The outbox, oldest first (`pending`: not delivered yet)."""
    t = store.outbox
    query = sa.select(t).order_by(t.c.id)
    if pending:
        query = query.where(t.c.delivered_at.is_(None))
    with store.connect(db, create=False) as conn:
        return [_notice(r) for r in conn.execute(query).mappings()]


def _notice(r: Any) -> Notice:
    return Notice(
        int(r["id"]),
        str(r["created_at"]),
        str(r["kind"]),
        str(r["organisation_id"]),
        str(r["duty"]),
        orjson.loads(r["payload"]),
        r["delivered_at"],
        int(r["attempts"]),
        r["last_error"],
    )


def format_outbox(items: Sequence[Notice]) -> str:
    lines = []
    for n in items:
        c = n.payload.get("change", {})
        state = (
            f"已送达 delivered {n.delivered_at}" if n.delivered_at else f"待送 pending ({n.attempts} 次尝试 attempts)"
        )
        what = "预警 warning" if n.kind == "warning" else "未履行 violation"
        lines.append(
            f"{n.id}\t{what}\t{n.organisation_id}\t{c.get('rule_id', '')}\t{c.get('subject_id', '')}\t"
            f"{c.get('window_end', '')}\t{state}"
        )
    lines.append(f"合计 total: {len(items)}")
    return "\n".join(lines) + "\n"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Webhook:
    """Delivers the outbox to `url`, oldest first, on a thread of its own: each notice POSTed as JSON, signed
    with `secret`; a failure (no answer, or a status other than 2xx) is tried again after `backoff` seconds,
    doubled each time up to `cap`, `attempts` times in all. Each try is written to the store."""

    def __init__(
        self,
        journal_store: Any,
        url: str,
        secret: bytes,
        *,
        backoff: float = 1.0,
        cap: float = 300.0,
        attempts: int = 10,
        timeout: float = 10.0,
    ) -> None:
        self.store, self.url, self.secret = journal_store, url, secret
        self.backoff, self.cap, self.attempts, self.timeout = backoff, cap, attempts, timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rules-engine-webhook", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        """New notices were written."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.deliver_due()
            except Exception:  # (the store unreachable for a moment: try again later, never die)
                log.exception("webhook: the outbox could not be read")
                wait = self.backoff
            self._wake.wait(timeout=wait)
            self._wake.clear()

    def deliver_due(self) -> float:
        """Try every notice due now; returns the seconds until the next one is due (a minute when none)."""
        t = store.outbox
        now = time.time()
        with self.store.begin() as conn:
            due = conn.execute(
                sa.select(t.c.id, t.c.payload, t.c.attempts)
                .where(t.c.delivered_at.is_(None), t.c.attempts < self.attempts, t.c.next_at <= now)
                .order_by(t.c.id)
                .limit(100)
            ).all()
        for number, payload, tried in due:
            if self._stop.is_set():
                break
            error = self._post(payload.encode())
            self._record(number, int(tried) + 1, error)
        with self.store.begin() as conn:
            later = conn.execute(
                sa.select(sa.func.min(t.c.next_at)).where(t.c.delivered_at.is_(None), t.c.attempts < self.attempts)
            ).scalar()
        return 60.0 if later is None else max(0.0, float(later) - time.time())

    def _post(self, body: bytes) -> str | None:
        request = urllib.request.Request(self.url, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header(SIGNATURE, sign(self.secret, body))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return str(exc) or type(exc).__name__

    def _record(self, number: int, tried: int, error: str | None) -> None:
        values: dict[str, Any] = {"attempts": tried, "last_error": error}
        if error is None:
            values["delivered_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        else:
            values["next_at"] = time.time() + min(self.cap, self.backoff * 2 ** (tried - 1))
            log.warning("webhook: notice %d not delivered (try %d): %s", number, tried, error)
        with self.store.begin() as conn:
            _update(conn, number, values)


def _update(conn: Connection, number: int, values: dict[str, Any]) -> None:
    conn.execute(sa.update(store.outbox).where(store.outbox.c.id == number).values(**values))
