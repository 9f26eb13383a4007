"""Runs, their rule packs, and their findings.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=True),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("period", sa.String(64), nullable=False),
        sa.Column("period_start", sa.String(10), nullable=False),
        sa.Column("period_end", sa.String(10), nullable=False),
        sa.Column("library", sa.String(100), nullable=False),
        sa.Column("library_version", sa.String(40), nullable=False),
        sa.Column("findings", sa.Integer, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("receipt", sa.JSON, nullable=False),
    )
    op.create_table(
        "run_packs",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("pack_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("identity", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("pack", sa.String(200), nullable=False),
        sa.Column("pack_version", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("subject_detail", sa.String(400), nullable=False),
        sa.Column("subject_name", sa.String(400), nullable=False),
        sa.Column("organisation_id", sa.String(200), nullable=False),
        sa.Column("organisation_name", sa.String(400), nullable=False),
        sa.Column("period", sa.String(64), nullable=False),
        sa.Column("window_start", sa.String(10), nullable=False),
        sa.Column("window_end", sa.String(10), nullable=False),
        sa.Column("window_label", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("expected_zh", sa.Text, nullable=False),
        sa.Column("expected_en", sa.Text, nullable=False),
        sa.Column("actual_zh", sa.Text, nullable=False),
        sa.Column("actual_en", sa.Text, nullable=False),
        sa.Column("message_zh", sa.Text, nullable=False),
        sa.Column("message_en", sa.Text, nullable=False),
        sa.UniqueConstraint("run_id", "identity", name="uq_findings_run_identity"),
    )
    op.create_index("ix_findings_run_id", "findings", ["run_id"])
    op.create_index("ix_findings_identity", "findings", ["identity"])
    op.create_index("ix_findings_subject_id", "findings", ["subject_id"])
    op.create_index("ix_findings_organisation_id", "findings", ["organisation_id"])


def downgrade() -> None:
    op.drop_table("findings")
    op.drop_table("run_packs")
    op.drop_table("runs")
