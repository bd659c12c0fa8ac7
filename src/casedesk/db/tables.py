"""Table mappings (SQLAlchemy 2). Rows only: the rules that change them live in ``services``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Insert,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def table(mapped: type[Base]) -> Table:
    """The Core table of a mapped class, for statements that skip the ORM layer."""
    return cast(Table, mapped.__table__)


def insert_rows(s: Session, statement: Insert, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows``; a single row as a plain execute, since an executemany costs a driver
    pipeline set-up per call, more than the one row most case changes write."""
    if len(rows) == 1:
        s.execute(statement, rows[0])
    elif rows:
        s.execute(statement, list(rows))


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    team: Mapped[Team | None] = relationship(lazy="joined")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    external_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Case(Base):
    """A customer issue. ``number`` is the database key behind the ticket ID."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_number", "status", "number"),
        Index("ix_cases_status_category_number", "status_category", "number"),
        Index("ix_cases_assignee_status_number", "assignee_id", "status", "number"),
        Index("ix_cases_team_status_number", "team_id", "status", "number"),
        Index("ix_cases_channel_number", "channel", "number"),
        Index("ix_cases_priority_number", "priority", "number"),
        Index("ix_cases_customer_number", "customer_id", "number"),
        Index("ix_cases_category_number", "category", "number"),
        Index("ix_cases_updated_number", "updated_at", "number"),
        {"sqlite_autoincrement": True},
    )
    number: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    priority: Mapped[int] = mapped_column(SmallInteger)
    category: Mapped[str | None] = mapped_column(String(100))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(40))
    status_category: Mapped[str] = mapped_column(String(10))
    hold_reason_code: Mapped[str | None] = mapped_column(String(60))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_customer_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    linked_case_number: Mapped[int | None] = mapped_column(BigId)

    customer: Mapped[Customer | None] = relationship(lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(lazy="joined")
    tag_rows: Mapped[list[CaseTag]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="CaseTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]


class CaseTag(Base):
    __tablename__ = "case_tags"
    __table_args__ = (Index("ix_case_tags_tag_case", "tag", "case_number"),)
    case_number: Mapped[int] = mapped_column(ForeignKey("cases.number"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True)


class Message(Base):
    """A public reply or an internal note on a case."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_case_id", "case_number", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_number: Mapped[int] = mapped_column(ForeignKey("cases.number"))
    visibility: Mapped[str] = mapped_column(String(10))
    author_kind: Mapped[str] = mapped_column(String(10))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)  # sanitised before it is stored
    external_id: Mapped[str | None] = mapped_column(String(998), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file sent with a message; its bytes live in the database, within the size limits of
    the config, so a backup of the database is a backup of everything."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_id: Mapped[str | None] = mapped_column(String(255))
    inline: Mapped[bool] = mapped_column(default=False)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """One append-only, hash-chained event. ``scope`` names its chain (``case:123``, ``user:7``);
    ``seq`` numbers it within that chain, so writers to different cases never contend."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("scope", "seq", name="uq_audit_scope_seq"),
        Index("ix_audit_case_id", "case_number", "id"),
        Index("ix_audit_occurred", "occurred_at"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scope: Mapped[str] = mapped_column(String(60))
    seq: Mapped[int] = mapped_column(Integer)
    case_number: Mapped[int | None] = mapped_column(BigId)
    action: Mapped[str] = mapped_column(String(60))
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[str | None] = mapped_column(String(60))
    actor_label: Mapped[str] = mapped_column(String(320))
    origin: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditSeal(Base):
    """The global chain: the sealer appends every event's hash here in one order, so removing,
    altering or slipping in an event anywhere breaks a chain that spans all scopes."""

    __tablename__ = "audit_seals"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(BigId, unique=True)
    event_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """The first answer to a request carrying an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"
    owner: Mapped[str] = mapped_column(String(60), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    case_number: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
