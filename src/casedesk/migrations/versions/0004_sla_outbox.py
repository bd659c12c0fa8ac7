"""SLA ledger, auto-close timers and the notification outbox.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("id", BigId, nullable=False),
        sa.Column("case_number", BigId, nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("cycle", sa.SmallInteger(), nullable=False),
        sa.Column("policy_id", sa.String(length=100), nullable=False),
        sa.Column("calendar_id", sa.String(length=100), nullable=False),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("started_at", When, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("due_at", When, nullable=True),
        sa.Column("next_check_at", When, nullable=True),
        sa.Column("met_at", When, nullable=True),
        sa.Column("stopped_by", sa.String(length=40), nullable=True),
        sa.Column("breached_at", When, nullable=True),
        sa.Column("breach_seconds", sa.Integer(), nullable=True),
        sa.Column("pauses", sa.JSON(), nullable=False),
        sa.Column("fired", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(["case_number"], ["cases.number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_number", "metric", "cycle", name="uq_sla_clocks_case_metric"),
    )
    op.create_index(
        "ix_sla_clocks_next_check",
        "sla_clocks",
        ["next_check_at"],
        unique=False,
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
        sqlite_where=sa.text("next_check_at IS NOT NULL"),
    )
    op.create_table(
        "sla_auto_close",
        sa.Column("case_number", BigId, autoincrement=False, nullable=False),
        sa.Column("due_at", When, nullable=False),
        sa.ForeignKeyConstraint(["case_number"], ["cases.number"]),
        sa.PrimaryKeyConstraint("case_number"),
    )
    op.create_index("ix_sla_auto_close_due_at", "sla_auto_close", ["due_at"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", BigId, nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("case_number", BigId, nullable=True),
        sa.Column("destination", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", When, nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("delivered_at", When, nullable=True),
        sa.Column("dead_at", When, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_outbox_status_id", "outbox", ["status", "id"], unique=False)
    op.create_index("ix_outbox_case_number", "outbox", ["case_number"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_case_number", table_name="outbox")
    op.drop_index("ix_outbox_status_id", table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_sla_auto_close_due_at", table_name="sla_auto_close")
    op.drop_table("sla_auto_close")
    op.drop_index("ix_sla_clocks_next_check", table_name="sla_clocks")
    op.drop_table("sla_clocks")
