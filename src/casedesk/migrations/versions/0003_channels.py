"""E-mail channel: quarantine, case participants, sent Message-IDs, sender rate counters,
mailbox poll state and seen webhook signatures (``db/channel_tables.py``).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "email_quarantine",
        sa.Column("id", BigId, nullable=False),
        sa.Column("dedupe_key", sa.String(length=1000), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.Column("reprocessed_at", When, nullable=True),
        sa.Column("reprocessed_by", sa.String(length=320), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("case_number", BigId, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index("ix_email_quarantine_status_id", "email_quarantine", ["status", "id"])
    op.create_table(
        "email_participants",
        sa.Column("case_number", BigId, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(["case_number"], ["cases.number"]),
        sa.PrimaryKeyConstraint("case_number", "email"),
    )
    op.create_table(
        "email_sent",
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("case_number", BigId, nullable=False),
        sa.Column("message_row_id", BigId, nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(["case_number"], ["cases.number"]),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_email_sent_case", "email_sent", ["case_number", "created_at"])
    op.create_table(
        "email_sender_rates",
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("window_start", When, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sender"),
    )
    op.create_table(
        "email_mailboxes",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("next_poll_at", When, nullable=False),
        sa.Column("last_polled_at", When, nullable=True),
        sa.Column("last_ok_at", When, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", When, nullable=True),
        sa.Column("taken", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "email_webhook_seen",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("seen_at", When, nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_email_webhook_seen_at", "email_webhook_seen", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_email_webhook_seen_at", table_name="email_webhook_seen")
    op.drop_table("email_webhook_seen")
    op.drop_table("email_mailboxes")
    op.drop_table("email_sender_rates")
    op.drop_index("ix_email_sent_case", table_name="email_sent")
    op.drop_table("email_sent")
    op.drop_table("email_participants")
    op.drop_index("ix_email_quarantine_status_id", table_name="email_quarantine")
    op.drop_table("email_quarantine")
