"""Tables of the live channels: chat sessions, phone calls, portal sign-in links and customer
passwords.

Rows only: ``channels.chat``, ``channels.phone`` and ``channels.portal`` write them, each in the
transaction of the intake or case change they belong to. Secrets (chat tokens, magic-link
tokens, passwords) are never stored, only their SHA-256 or argon2 hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casedesk.db.tables import Base, BigId, UTCDateTime

__all__ = ["Base", "ChatSession", "CustomerCredential", "PhoneCall", "PortalLink"]


class ChatSession(Base):
    """One visitor of the chat widget. The visitor's browser keeps the signed token; the case
    is set by the first message (and moves to the follow-up case when a closed case is
    written to again)."""

    __tablename__ = "chat_sessions"
    __table_args__ = (Index("ix_chat_sessions_case", "case_number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    case_number: Mapped[int | None] = mapped_column(ForeignKey("cases.number"))
    visitor_name: Mapped[str] = mapped_column(String(200))
    visitor_email: Mapped[str] = mapped_column(String(320))
    page_url: Mapped[str] = mapped_column(String(1000), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Until when a widget of this chat is known to be connected (see ``channels.chat_presence``).
    present_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PhoneCall(Base):
    """The log of one phone call on a case: from Twilio (``call_sid`` set, unique) or logged by
    an agent (``logged_by_user_id`` set)."""

    __tablename__ = "phone_calls"
    __table_args__ = (Index("ix_phone_calls_case", "case_number", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    case_number: Mapped[int] = mapped_column(ForeignKey("cases.number"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    source: Mapped[str] = mapped_column(String(10))  # "twilio" | "manual"
    direction: Mapped[str] = mapped_column(String(10))  # "inbound" | "outbound"
    number: Mapped[str] = mapped_column(String(40))  # the customer's side, E.164 when valid
    from_number: Mapped[str] = mapped_column(String(40), default="")
    to_number: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(20))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    recording_url: Mapped[str | None] = mapped_column(String(1000))
    transcript: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    logged_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PortalLink(Base):
    """A sign-in link e-mailed to a customer: expiring, single use (``used_at``)."""

    __tablename__ = "portal_links"
    __table_args__ = (Index("ix_portal_links_email_created", "email", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(45), default="")


class CustomerCredential(Base):
    """A customer's optional portal password (argon2)."""

    __tablename__ = "customer_credentials"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
