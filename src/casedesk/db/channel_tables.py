"""Tables of the e-mail channel: quarantine, case participants, sent Message-IDs, per-sender
rate counters, mailbox poll state and seen webhook signatures.

Rows only: ``channels.email`` writes them, each in the transaction of the intake or case
change it belongs to (participants and sent ids commit with the message that caused them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casedesk.db.tables import Base, BigId, UTCDateTime

__all__ = [
    "Base",
    "EmailMailbox",
    "EmailParticipant",
    "EmailQuarantine",
    "EmailSenderRate",
    "EmailSent",
    "EmailWebhookSeen",
]


class EmailQuarantine(Base):
    """A message that could not be taken in (unparseable, over a limit, over the sender's rate,
    automatic mail about no case, or an error), kept with its raw bytes until an admin
    re-processes it. ``dedupe_key`` (``mid:<Message-ID>`` or ``sha256:<digest>``) makes a
    retried delivery of the same message count as another ``attempts``, not a new row."""

    __tablename__ = "email_quarantine"
    __table_args__ = (Index("ix_email_quarantine_status_id", "status", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(1000), unique=True)
    source: Mapped[str] = mapped_column(String(20))  # smtp | imap | webhook
    kind: Mapped[str] = mapped_column(String(20))  # unparseable | too_large | rate_limited | …
    reason: Mapped[str] = mapped_column(Text)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    message_id: Mapped[str | None] = mapped_column(String(998))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # held | reprocessed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reprocessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reprocessed_by: Mapped[str | None] = mapped_column(String(320))
    outcome: Mapped[str | None] = mapped_column(String(20))
    case_number: Mapped[int | None] = mapped_column(BigId)


class EmailParticipant(Base):
    """Someone besides the customer who was on a case's mail (To/Cc): their replies thread by
    the subject tag like the customer's, and public replies copy them."""

    __tablename__ = "email_participants"
    case_number: Mapped[int] = mapped_column(ForeignKey("cases.number"), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmailSent(Base):
    """The Message-ID of every e-mail casedesk sent about a case (acknowledgements, replies),
    so an answer naming it in In-Reply-To/References threads back to the case."""

    __tablename__ = "email_sent"
    __table_args__ = (Index("ix_email_sent_case", "case_number", "created_at"),)
    message_id: Mapped[str] = mapped_column(String(998), primary_key=True)
    case_number: Mapped[int] = mapped_column(ForeignKey("cases.number"))
    message_row_id: Mapped[int | None] = mapped_column(BigId)  # the agent's reply, if any
    kind: Mapped[str] = mapped_column(String(20))  # acknowledgement | reply
    recipient: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmailSenderRate(Base):
    """A fixed-window counter of messages per sender address (the mail-storm brake)."""

    __tablename__ = "email_sender_rates"
    sender: Mapped[str] = mapped_column(String(320), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer)


class EmailMailbox(Base):
    """Poll state of one configured IMAP mailbox; workers claim due rows (SKIP LOCKED)."""

    __tablename__ = "email_mailboxes"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    taken: Mapped[int] = mapped_column(BigInteger, default=0)


class EmailWebhookSeen(Base):
    """Signatures of inbound webhook requests already taken in (replay protection); rows
    older than the timestamp tolerance are pruned, since such requests are refused anyway."""

    __tablename__ = "email_webhook_seen"
    __table_args__ = (Index("ix_email_webhook_seen_at", "seen_at"),)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
