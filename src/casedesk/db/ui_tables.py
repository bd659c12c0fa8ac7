"""Tables of the web UI: sign-in sessions, failed sign-ins (rate limiting) and saved views.

Sessions belong to a principal of some kind (``user`` for staff in the console and admin,
``customer`` for the portal), so every web front end shares one session store. Only the SHA-256
of a session token is stored; the token itself lives in the browser's cookie.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from casedesk.db.sla_tables import SlaClock
from casedesk.db.tables import Base, BigId, UTCDateTime

__all__ = ["Base", "LoginFailure", "SavedView", "WebSession"]


class WebSession(Base):
    """One signed-in browser. Revoked by sign-out, by an admin or by deactivating the user."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_principal", "principal_kind", "principal_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    principal_kind: Mapped[str] = mapped_column(String(10))  # "user" | "customer"
    principal_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class LoginFailure(Base):
    """A failed sign-in, counted per e-mail and per address over a sliding window; kept in the
    database so every web process sees the same counts."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "realm", "email", "at"),
        Index("ix_login_failures_ip_at", "realm", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    realm: Mapped[str] = mapped_column(String(10))  # "staff" | "portal"
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class SavedView(Base):
    """A user's named queue filter (the query string of the queue page)."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_views_user_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The console's queue sorted by SLA walks running clocks in due order (``console_sla``); a
# partial index holds only those, so the first page costs the same at any number of cases.
RUNNING_DUE = "state = 'running' AND due_at IS NOT NULL"
Index(
    "ix_sla_clocks_console_due",
    SlaClock.due_at,
    SlaClock.case_number,
    postgresql_where=text(RUNNING_DUE),
    sqlite_where=text(RUNNING_DUE),
)
