"""Rectifications (整改) of violated findings and their events, both append-only.

``rectifications`` says what is rectified (a finding's identity, with the finding as it was when the
rectification was opened); ``rectification_events`` says what happened to it: opened, updated, closed,
reopened, each with who and when. A rectification's state is derived from its events; no row of either
table is ever updated or deleted (on SQLite, triggers refuse it; on PostgreSQL, those of revision 0003).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

APPEND_ONLY = ("rectifications", "rectification_events")


def upgrade() -> None:
    op.create_table(
        "rectifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("subject_detail", sa.String(400), nullable=False),
        sa.Column("subject_name", sa.String(400), nullable=False),
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("organisation_name", sa.String(400), nullable=False),
        sa.Column("window_start", sa.String(10), nullable=False),
        sa.Column("window_end", sa.String(10), nullable=False),
        sa.Column("window_label", sa.String(64), nullable=False),
    )
    op.create_index("ix_rectifications_identity", "rectifications", ["identity"])
    op.create_index("ix_rectifications_subject_id", "rectifications", ["subject_id"])
    op.create_index("ix_rectifications_organisation_id", "rectifications", ["organisation_id"])
    op.create_table(
        "rectification_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rectification_id", sa.Integer, sa.ForeignKey("rectifications.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("deadline", sa.String(10), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("evidence", sa.JSON, nullable=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=True),
        sa.CheckConstraint("kind IN ('opened', 'updated', 'closed', 'reopened')", name="ck_rectification_event_kind"),
    )
    op.create_index("ix_rectification_events_rectification_id", "rectification_events", ["rectification_id"])
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows are never changed or deleted'); END"
                )


def downgrade() -> None:
    op.drop_table("rectification_events")
    op.drop_table("rectifications")
