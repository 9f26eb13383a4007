"""A request's token is read from the store without the store's write lock: it neither waits for a commit under
way (group commit holds the lock while it writes a cycle's rows) nor misses a revocation committed before it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from rules_engine.monitor.journal import Journal
from rules_engine.monitor.tokens import TokenReader, create_token, find_token, revoke_token


def test_a_token_is_read_while_another_connection_holds_the_write_lock(tmp_path: Path) -> None:
    db = str(tmp_path / "store.db")
    journal = Journal(db)
    try:
        token, text = create_token(db, "county", write=True)
        writer = sqlite3.connect(db, timeout=0.1, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")  # (a commit under way: the write lock held)
            writer.execute("DELETE FROM api_tokens")  # (not committed: the reader sees what is)
            with journal.store.read() as conn:
                found = find_token(conn, text)
            assert found is not None and found.id == token.id and found.revoked_at is None
            writer.execute("ROLLBACK")
        finally:
            writer.close()
        revoke_token(db, token.id)  # (committed by another connection, as `rules-engine token revoke` does)
        with journal.store.read() as conn:
            again = find_token(conn, text)
        assert again is not None and again.revoked_at is not None
    finally:
        journal.close()


def test_the_service_reader_sees_a_revocation_at_its_next_read_with_its_connection_warm(tmp_path: Path) -> None:
    """The service's token reader keeps a connection open per thread and caches nothing: a token revoked by
    another process (`rules-engine token revoke`) is seen revoked at the very next read; and a read does not wait
    for a writer holding the store's write lock."""
    db = str(tmp_path / "store.db")
    journal = Journal(db)
    reader = TokenReader(journal.store)
    try:
        token, text = create_token(db, "county", write=True)
        assert reader.inline  # (SQLite: read on the event loop)
        for _ in range(3):  # (warm: the connection open, the token read before)
            found = reader(text)
            assert found is not None and found.id == token.id and found.revoked_at is None
        assert reader("rem_guessed") is None
        writer = sqlite3.connect(db, timeout=0.1, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")  # (a commit under way: the write lock held)
            writer.execute("DELETE FROM api_tokens")  # (not committed: the reader sees what is)
            held = reader(text)
            assert held is not None and held.revoked_at is None
            writer.execute("ROLLBACK")
        finally:
            writer.close()
        revoke_token(db, token.id)  # (committed by another connection, as `rules-engine token revoke` does)
        again = reader(text)
        assert again is not None and again.id == token.id and again.revoked_at is not None
    finally:
        reader.close()
        journal.close()
