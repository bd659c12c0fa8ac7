"""Messages on a case: public replies, internal notes, their attachments, and what a message
implies (first response, customer activity, reopening a solved case)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.db.session import Database
from casedesk.db.tables import Attachment, Message, table
from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict, Forbidden, InvalidInput
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import case_rows


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    content: bytes | None  # None when over the size limit: the metadata is still kept
    size: int
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class NewMessage:
    """A message as a channel received it or an agent wrote it."""

    body: str
    visibility: str = "public"
    channel: str | None = None
    html: str | None = None
    external_id: str | None = None
    attachments: Sequence[NewAttachment] = ()


def _check(message: NewMessage, actor: Actor) -> None:
    if message.visibility not in ("public", "internal"):
        raise InvalidInput("visibility must be 'public' or 'internal'", field="visibility")
    if not message.body.strip() and not message.attachments:
        raise InvalidInput("a message needs a body", field="body")
    if actor.kind == "customer" and message.visibility != "public":
        raise Forbidden("customers can only post public messages")


def insert_message(
    s: Session,
    config: AppConfig,
    case: case_rows.CaseView,
    message: NewMessage,
    *,
    actor: Actor,
    now: datetime,
    after: tuple[int, str] | None = None,
) -> Message:
    """Write a message on a locked case inside the caller's transaction, with its audit event
    and consequences. A customer's message on a solved case reopens it; the first public reply
    by staff is the case's first response. ``after`` is the case's audit head when the caller
    wrote it in this transaction: a case created with its first message, which opens the case
    rather than replying on it (no "customer replied" notification, no SLA change)."""
    _check(message, actor)
    author_kind = {"user": "agent", "customer": "customer"}.get(actor.kind, "system")
    values = {
        "case_number": case.number,
        "visibility": message.visibility,
        "author_kind": author_kind,
        "author_user_id": actor.id if actor.kind == "user" else None,
        "author_customer_id": actor.id if actor.kind == "customer" else None,
        "author_name": actor.label,
        "channel": message.channel or case.channel,
        "body": message.body,
        "body_html": message.html,
        "external_id": message.external_id,
        "created_at": now,
    }
    message_id = s.execute(_INSERT_MESSAGE, values).scalar_one()
    row = Message(id=message_id, **values)
    if message.attachments:
        s.execute(
            _INSERT_ATTACHMENT,
            [
                {
                    "message_id": message_id,
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                    "content": a.content,
                    "content_id": a.content_id,
                    "inline": a.inline,
                    "created_at": now,
                    "sha256": hashlib.sha256(a.content or b"").hexdigest(),
                }
                for a in message.attachments
            ],
        )
    case.updated_at = now
    if author_kind == "agent" and message.visibility == "public" and not case.first_response_at:
        case.first_response_at = now
    if author_kind == "customer":
        case.last_customer_activity_at = now
    opening = after is not None
    replied = author_kind == "customer" and not opening
    event = "case.customer_replied" if replied else "case.message_added"
    case_rows.record(
        s,
        config,
        case,
        "message.added",
        actor=actor,
        now=now,
        event=event,
        after=after,
        data={
            "message_id": row.id,
            "visibility": message.visibility,
            "channel": row.channel,
            "body_sha256": hashlib.sha256(message.body.encode()).hexdigest(),
            "attachments": [a.filename for a in message.attachments],
        },
    )
    if author_kind == "customer":
        target = config.lifecycle.reopen_target(case.status)
        if target is not None:
            previous = case_rows.apply_status(case, config, target, TransitionRequest(), now)
            case_rows.record(
                s,
                config,
                case,
                "case.status_changed",
                actor=actor,
                now=now,
                data={
                    "from": previous,
                    "to": target,
                    "reason_code": None,
                    "reason": "customer replied",
                    "resolution": None,
                },
            )
    return row


_INSERT_MESSAGE = table(Message).insert().returning(table(Message).c.id)
_INSERT_ATTACHMENT = table(Attachment).insert()


def add_message(
    db: Database,
    config: AppConfig,
    ref: str | int,
    *,
    body: str = "",
    visibility: str = "public",
    actor: Actor,
    now: datetime,
    channel: str | None = None,
    external_id: str | None = None,
    message: NewMessage | None = None,
) -> Message:
    """A public reply or internal note on an existing case, in its own transaction."""
    message = message or NewMessage(
        body=body, visibility=visibility, channel=channel, external_id=external_id
    )
    _check(message, actor)
    with db.write() as s:
        case = case_rows.lock_case(s, config, ref)
        case_rows.check_customer_owns(case, actor)
        if case.status_category == "closed" and actor.kind == "customer":
            raise Conflict(f"{case_rows.ticket_id(config, case.number)} is closed; open a new case")
        return insert_message(s, config, case, message, actor=actor, now=now)


def messages(db: Database, number: int, *, public_only: bool = False) -> list[Message]:
    with db.read() as s:
        query = select(Message).where(Message.case_number == number).order_by(Message.id)
        if public_only:
            query = query.where(Message.visibility == "public")
        return list(s.scalars(query))


def attachments(db: Database, message_ids: Sequence[int]) -> list[Attachment]:
    """Attachment metadata (not the bytes) of the given messages."""
    if not message_ids:
        return []
    with db.read() as s:
        rows = s.execute(
            select(
                Attachment.id,
                Attachment.message_id,
                Attachment.filename,
                Attachment.content_type,
                Attachment.size,
                Attachment.inline,
            )
            .where(Attachment.message_id.in_(message_ids))
            .order_by(Attachment.id)
        ).all()
    return [
        Attachment(
            id=r.id,
            message_id=r.message_id,
            filename=r.filename,
            content_type=r.content_type,
            size=r.size,
            inline=r.inline,
        )
        for r in rows
    ]


def attachments_by_message(db: Database, message_ids: Sequence[int]) -> dict[int, list[Attachment]]:
    """``attachments`` grouped by message id (messages without any are left out)."""
    grouped: dict[int, list[Attachment]] = {}
    for a in attachments(db, message_ids):
        grouped.setdefault(a.message_id, []).append(a)
    return grouped


def public_attachment(db: Database, case_number: int, attachment_id: int) -> Attachment | None:
    """An attachment, bytes included, of a public message on case ``case_number``: what a
    customer or chat visitor may download from their own case."""
    with db.read() as s:
        return s.execute(
            select(Attachment)
            .join(Message, Message.id == Attachment.message_id)
            .where(
                Attachment.id == attachment_id,
                Message.case_number == case_number,
                Message.visibility == "public",
            )
        ).scalar_one_or_none()
