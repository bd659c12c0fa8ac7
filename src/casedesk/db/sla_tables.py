"""Tables of SLA ledgers, auto-close timers and the notification outbox.

The worker finds due work through partial indexes on ``next_check_at`` / ``due_at`` /
``next_attempt_at`` that hold only rows with something still to do, so a pass reads what is due
and never scans the open cases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from casedesk.db.tables import Base, BigId, UTCDateTime

__all__ = ["AutoCloseTimer", "Base", "OutboxItem", "SlaClock"]


class SlaClock(Base):
    """One metric of one case in one cycle: the ledger line an SLA answer is explained from.

    ``pauses`` holds the stopped stretches (``start``, ``end``, ``status``, ``reason_code``);
    ``fired`` the checkpoints already handled (``warn:0.75``, ``breach``, ``esc:<policy>:<n>``)
    with when; ``history`` the policy and target changes. ``next_check_at`` is set only while
    something is still to fire, and indexed only then.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        UniqueConstraint("case_number", "metric", "cycle", name="uq_sla_clocks_case_metric"),
        Index(
            "ix_sla_clocks_next_check",
            "next_check_at",
            postgresql_where=text("next_check_at IS NOT NULL"),
            sqlite_where=text("next_check_at IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_number: Mapped[int] = mapped_column(ForeignKey("cases.number"))
    metric: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(SmallInteger)
    policy_id: Mapped[str] = mapped_column(String(100))
    calendar_id: Mapped[str] = mapped_column(String(100))
    target_seconds: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_by: Mapped[str | None] = mapped_column(String(40))
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breach_seconds: Mapped[int | None] = mapped_column(Integer)
    pauses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fired: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AutoCloseTimer(Base):
    """A solved case and when it closes unless the customer speaks up first."""

    __tablename__ = "sla_auto_close"
    case_number: Mapped[int] = mapped_column(
        ForeignKey("cases.number"), primary_key=True, autoincrement=False
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OutboxItem(Base):
    """One notification to one destination, written in the transaction of its event.

    ``status`` is ``pending`` until ``delivered`` or ``dead``. ``dedupe_key`` is unique (the
    same notice is never queued twice) and is sent to receivers as ``Idempotency-Key``.
    ``claim_token`` marks the worker holding a lease until ``next_attempt_at``; ``last_error``
    never holds URLs or tokens.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_status_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    case_number: Mapped[int | None] = mapped_column(BigId, index=True)
    destination: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
