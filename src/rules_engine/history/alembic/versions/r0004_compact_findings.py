"""Findings stored compactly: a finding is (run, duty, state), each duty and each distinct state stored once.

Before this revision every finding row of every run held its texts (expected, found and message, in two
languages), its names and its pack: about 840 MiB per million findings, most of it the same text again run
after run. Now:

- ``finding_keys``: one row per duty (a finding's identity and what it hashes: rule, subject kind, id and
  detail, organisation, window start and end);
- ``finding_states``: one row per distinct state of a duty (status, count, pack and version, period and window
  labels, subject and organisation names, the six texts), named by ``digest`` (a 128-bit BLAKE2b of the
  identity and those fields);
- ``findings``: per run, per duty, its state: three integers (on SQLite a table without rowid, its primary key
  (run_id, key_id) being the row).

The rows of an existing store are moved over in order, in this migration's transaction; the old table is
dropped. The digest is computed here by a copy of the function the library uses (``history.core``), so that
this migration keeps doing what it did whatever the library does later.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

KEY_FIELDS = (
    "identity",
    "rule_id",
    "subject_kind",
    "subject_id",
    "subject_detail",
    "organisation_id",
    "window_start",
    "window_end",
)
STATE_FIELDS = (
    "status",
    "count",
    "pack",
    "pack_version",
    "period",
    "window_label",
    "subject_name",
    "organisation_name",
    "expected_zh",
    "expected_en",
    "actual_zh",
    "actual_en",
    "message_zh",
    "message_en",
)
CHUNK = 5000


def digest(identity: str, state: tuple[Any, ...]) -> str:
    return hashlib.blake2b(repr((identity, *state)).encode(), digest_size=16).hexdigest()


def upgrade() -> None:
    op.create_table(
        "finding_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("subject_detail", sa.String(400), nullable=False),
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("window_start", sa.String(10), nullable=False),
        sa.Column("window_end", sa.String(10), nullable=False),
        sa.UniqueConstraint("identity", name="uq_finding_keys_identity"),
    )
    op.create_table(
        "finding_states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("finding_keys.id"), nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("pack", sa.String(200), nullable=False),
        sa.Column("pack_version", sa.String(64), nullable=False),
        sa.Column("period", sa.String(64), nullable=False),
        sa.Column("window_label", sa.String(64), nullable=False),
        sa.Column("subject_name", sa.String(400), nullable=False),
        sa.Column("organisation_name", sa.String(400), nullable=False),
        sa.Column("expected_zh", sa.Text, nullable=False),
        sa.Column("expected_en", sa.Text, nullable=False),
        sa.Column("actual_zh", sa.Text, nullable=False),
        sa.Column("actual_en", sa.Text, nullable=False),
        sa.Column("message_zh", sa.Text, nullable=False),
        sa.Column("message_en", sa.Text, nullable=False),
        sa.UniqueConstraint("digest", name="uq_finding_states_digest"),
    )
    op.create_table(
        "findings_compact",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("finding_keys.id"), primary_key=True),
        sa.Column("state_id", sa.Integer, sa.ForeignKey("finding_states.id"), nullable=False),
        sqlite_with_rowid=False,
    )
    _move_rows()
    op.drop_table("findings")
    op.rename_table("findings_compact", "findings")
    op.create_index("ix_findings_key_id", "findings", ["key_id"])
    op.create_index("ix_finding_keys_subject_id", "finding_keys", ["subject_id"])
    op.create_index("ix_finding_keys_organisation_id", "finding_keys", ["organisation_id"])
    op.create_index("ix_finding_states_key_id", "finding_states", ["key_id"])


def _move_rows() -> None:
    """Every finding of the old table into the three new ones, in id order."""
    conn = op.get_bind()
    meta = sa.MetaData()
    old = sa.Table("findings", meta, autoload_with=conn)
    keys = sa.Table("finding_keys", meta, autoload_with=conn)
    states = sa.Table("finding_states", meta, autoload_with=conn)
    compact = sa.Table("findings_compact", meta, autoload_with=conn)
    key_ids: dict[str, int] = {}
    state_ids: dict[str, int] = {}
    columns = [old.c.run_id, *(old.c[k] for k in KEY_FIELDS), *(old.c[s] for s in STATE_FIELDS)]
    last = 0
    while True:
        rows = conn.execute(sa.select(old.c.id, *columns).where(old.c.id > last).order_by(old.c.id).limit(CHUNK)).all()
        if not rows:
            return
        last = rows[-1][0]
        moved = []
        for row in rows:
            run_id, key, state = row[1], tuple(row[2 : 2 + len(KEY_FIELDS)]), tuple(row[2 + len(KEY_FIELDS) :])
            identity = key[0]
            key_id = key_ids.get(identity)
            if key_id is None:
                key_id = _insert(conn, keys, dict(zip(KEY_FIELDS, key, strict=True)))
                key_ids[identity] = key_id
            name = digest(identity, state)
            state_id = state_ids.get(name)
            if state_id is None:
                values = {"key_id": key_id, "digest": name, **dict(zip(STATE_FIELDS, state, strict=True))}
                state_id = _insert(conn, states, values)
                state_ids[name] = state_id
            moved.append({"run_id": run_id, "key_id": key_id, "state_id": state_id})
        conn.execute(sa.insert(compact), moved)


def _insert(conn: Any, table: sa.Table, values: dict[str, Any]) -> int:
    key = conn.execute(sa.insert(table).values(values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def downgrade() -> None:
    raise NotImplementedError("0004 cannot be undone: restore the store from a backup made before the upgrade")
