"""The monitoring service moves from one period to the next, and its tokens can be revoked.

- ``monitor_periods``: each period the service has monitored (``label``, ``start``, ``end``), when it was opened
  and when it was closed (the clock passed its end and the service moved on to the next one);
- ``monitor_rows``, ``monitor_changes``, ``monitor_clock``: a ``period`` column (the label). A posted record is
  numbered within its period, so ``monitor_rows``' key becomes (``period``, ``seq``). Rows written before this
  revision get the empty label: they belong to the first period the service is started with afterwards (the one
  it was monitoring; see docs/monitoring.md, "Moving to the next period"), which claims them;
- ``api_tokens.revoked_at``: when the token was revoked (null: in force).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

LEGACY = ""  # the period of the rows written before this revision (claimed by the first period started)


def _period() -> sa.Column[str]:
    return sa.Column("period", sa.String(64), nullable=False, server_default=LEGACY)


_ROW_COLUMNS = ["seq", "received_at", "source", "line", "body", "status", "record_id", "organisation_id"]


def _rows_keyed_by(key: list[str], *, with_period: bool) -> None:
    """monitor_rows made again with the primary key `key` (the same way on SQLite and PostgreSQL: a new table,
    the rows copied, the old one dropped, the new one renamed). The key's name differs from the old table's (on
    PostgreSQL a constraint's name is taken in the whole schema while both tables exist): ``pk_monitor_rows`` with
    the period, ``monitor_rows_pkey`` without (the name PostgreSQL gave revision 0005's key)."""
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.Column("source", sa.String(400), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("record_id", sa.String(400), nullable=True),
        sa.Column("organisation_id", sa.String(200), nullable=True),
    ]
    if with_period:
        columns.append(_period())
    name = "pk_monitor_rows" if with_period else "monitor_rows_pkey"
    op.create_table("monitor_rows_new", *columns, sa.PrimaryKeyConstraint(*key, name=name))
    names = ", ".join(_ROW_COLUMNS)
    op.execute(f"INSERT INTO monitor_rows_new ({names}) SELECT {names} FROM monitor_rows")
    op.drop_table("monitor_rows")
    op.rename_table("monitor_rows_new", "monitor_rows")


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("revoked_at", sa.String(40), nullable=True))
    op.create_table(
        "monitor_periods",
        sa.Column("label", sa.String(64), primary_key=True),
        sa.Column("start", sa.String(10), nullable=False),
        sa.Column("end", sa.String(10), nullable=False),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("closed_at", sa.String(40), nullable=True),
    )
    _rows_keyed_by(["period", "seq"], with_period=True)
    op.add_column("monitor_changes", _period())
    op.create_index("ix_monitor_changes_period", "monitor_changes", ["period"])
    op.add_column("monitor_clock", _period())


def downgrade() -> None:
    op.drop_column("monitor_clock", "period")
    op.drop_index("ix_monitor_changes_period", "monitor_changes")
    op.drop_column("monitor_changes", "period")
    _rows_keyed_by(["seq"], with_period=False)
    op.drop_table("monitor_periods")
    op.drop_column("api_tokens", "revoked_at")
