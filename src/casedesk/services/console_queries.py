"""Read-side queries the console and admin pages need beyond ``case_queries``.

Each is one small indexed read: the version stamp the case page polls (the newest audit event
of the case), one attachment with its bytes, all API tokens with their owners, the staff a
case can be assigned to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from casedesk.db.session import Database
from casedesk.db.tables import ApiToken, Attachment, AuditEvent, Case, Customer, Message, User
from casedesk.services.audit_queries import events_newest_first as events_newest_first


def case_version(db: Database, number: int) -> int:
    """The id of the case's newest audit event: every change to a case (fields, status,
    messages, SLA events) appends one, so a different value means the page is stale."""
    with db.query() as conn:
        value = conn.execute(
            select(func.max(AuditEvent.id)).where(AuditEvent.case_number == number)
        ).scalar()
    return int(value or 0)


@dataclass(frozen=True)
class AttachmentFile:
    id: int
    case_number: int
    visibility: str
    filename: str
    content_type: str
    size: int
    content: bytes | None


def attachment(db: Database, attachment_id: int) -> AttachmentFile | None:
    """One attachment with its bytes and the case and visibility of its message."""
    with db.read() as s:
        row = s.execute(
            select(
                Attachment.id,
                Message.case_number,
                Message.visibility,
                Attachment.filename,
                Attachment.content_type,
                Attachment.size,
                Attachment.content,
            )
            .join(Message, Message.id == Attachment.message_id)
            .where(Attachment.id == attachment_id)
        ).first()
    return AttachmentFile(*row) if row else None


@dataclass(frozen=True)
class TokenRow:
    id: int
    user_id: int
    user_email: str
    label: str
    hint: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def all_tokens(db: Database, *, include_revoked: bool = True, limit: int = 500) -> list[TokenRow]:
    """API tokens of every user, newest first (never the secrets)."""
    query = (
        select(
            ApiToken.id,
            ApiToken.user_id,
            User.email,
            ApiToken.label,
            ApiToken.hint,
            ApiToken.created_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id.desc())
        .limit(limit)
    )
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    with db.read() as s:
        return [TokenRow(*row) for row in s.execute(query)]


def assignable_staff(db: Database) -> list[User]:
    """Active staff, by name, for the assignee pickers."""
    with db.read() as s:
        return list(s.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))


def customer_by_email(db: Database, email: str) -> Customer | None:
    """The customer with this e-mail (any letter case), for "search by e-mail" in the queue."""
    with db.read() as s:
        return s.scalar(select(Customer).where(Customer.email == email.strip().lower()))


def last_case_per_channel(db: Database, channels: Sequence[str]) -> dict[str, datetime]:
    """When the newest case of each channel was opened (one index probe per channel)."""
    out: dict[str, datetime] = {}
    with db.read() as s:
        for channel in channels:
            found = s.scalar(
                select(Case.created_at)
                .where(Case.channel == channel)
                .order_by(Case.number.desc())
                .limit(1)
            )
            if found is not None:
                out[channel] = found
    return out
