"""Live chat sessions, phone calls and portal sign-in tokens.

On PostgreSQL a trigger announces every message written on a chat case with
``NOTIFY casedesk_live, '<case number>'`` when its transaction commits, so an agent's reply made
in any process (API, console, another server) reaches the visitor's socket at once
(``channels.chat_bus`` listens). Only cases with a chat session pay for it: e-mail intake never
sends a NOTIFY, whose commit-time lock would serialise its writers. SQLite has no NOTIFY; there
the bus polls.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

PG_NOTIFY_FUNCTION = """
CREATE FUNCTION casedesk_chat_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM chat_sessions WHERE case_number = NEW.case_number) THEN
    PERFORM pg_notify('casedesk_live', NEW.case_number::text);
  END IF;
  RETURN NULL;
END
$$
"""
PG_NOTIFY_TRIGGER = (
    "CREATE TRIGGER messages_chat_notify AFTER INSERT ON messages "
    "FOR EACH ROW EXECUTE FUNCTION casedesk_chat_notify()"
)


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("case_number", BigId, nullable=True),
        sa.Column("visitor_name", sa.String(length=200), nullable=False),
        sa.Column("visitor_email", sa.String(length=320), nullable=False),
        sa.Column("page_url", sa.String(length=1000), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("last_seen_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["case_number"], ["cases.number"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_chat_sessions_case", "chat_sessions", ["case_number"])
    op.create_table(
        "phone_calls",
        sa.Column("id", BigId, nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("case_number", BigId, nullable=False),
        sa.Column("message_id", BigId, nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("from_number", sa.String(length=40), nullable=False),
        sa.Column("to_number", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("recording_url", sa.String(length=1000), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("logged_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.ForeignKeyConstraint(["case_number"], ["cases.number"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["logged_by_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_sid"),
    )
    op.create_index("ix_phone_calls_case", "phone_calls", ["case_number", "id"])
    op.create_table(
        "portal_links",
        sa.Column("id", BigId, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("customer_id", BigId, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("used_at", When, nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_portal_links_email_created", "portal_links", ["email", "created_at"])
    op.create_table(
        "customer_credentials",
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_NOTIFY_FUNCTION)
        op.execute(PG_NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS messages_chat_notify ON messages")
        op.execute("DROP FUNCTION IF EXISTS casedesk_chat_notify()")
    op.drop_table("customer_credentials")
    op.drop_index("ix_portal_links_email_created", table_name="portal_links")
    op.drop_table("portal_links")
    op.drop_index("ix_phone_calls_case", table_name="phone_calls")
    op.drop_table("phone_calls")
    op.drop_index("ix_chat_sessions_case", table_name="chat_sessions")
    op.drop_table("chat_sessions")
