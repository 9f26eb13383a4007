"""The monitoring service (rules-engine serve): posted records, duty state changes, clock events, API tokens.

- ``monitor_rows``: every record posted, in arrival order (``seq``), as received (``body``, JSON text), with its
  place (``source``, ``line``) and the answer given (``status``: accepted, rejected or excluded);
- ``monitor_changes``: every change of a duty's state (open, warned, met, missed), with the record (``seq``) or
  the clock event that made it;
- ``monitor_clock``: each clock event (the monitor's date);
- ``outbox``: the notifications to send (a duty warned before its window ends, a duty missed: a new violation),
  written with the change that raised them; ``delivered_at``, ``attempts``, ``next_at`` and ``last_error`` tell
  the webhook's deliveries;
- ``api_tokens``: the service's tokens, by the SHA-256 of the token (never the token), each limited to an
  organisation and its subtree, read-only or allowed to write.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "monitor_rows",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("source", sa.String(400), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("record_id", sa.String(400), nullable=True),
        sa.Column("organisation_id", sa.String(200), nullable=True),
    )
    op.create_table(
        "monitor_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.Integer, nullable=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("duty", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("window_end", sa.String(10), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("required", sa.Integer, nullable=False),
        sa.Column("before", sa.String(10), nullable=True),
        sa.Column("after", sa.String(10), nullable=False),
    )
    op.create_index("ix_monitor_changes_duty", "monitor_changes", ["duty"])
    op.create_table(
        "monitor_clock",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("duty", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.String(40), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("can_write", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("outbox")
    op.drop_table("monitor_clock")
    op.drop_index("ix_monitor_changes_duty", "monitor_changes")
    op.drop_table("monitor_changes")
    op.drop_table("monitor_rows")
