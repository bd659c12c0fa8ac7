"""Live chat: visitor sessions, their messages into intake, and the transcript they see.

A visitor says who they are (name, e-mail) and gets a signed chat token, kept by the widget in
the browser. Nothing is stored until the first message: that message goes through
``services.intake.receive`` (channel ``chat``) and, in the same transaction, the chat session
row is written with the token's hash and the case. A visitor who reconnects with the token
resumes that case; a message after the case was closed opens a follow-up case (intake's rule)
and the session moves to it.

Every visitor message carries a client id; its external id is ``chat:<token hash>:<client id>``,
so a message resent after a dropped connection is stored once, and no one without the token
can collide with it. The transcript a visitor sees is the case's public messages; agents see
every message. Sockets and delivery live in ``web.api.chat`` and ``channels.chat_bus``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.config_channels import chat_settings
from casedesk.db.contact_tables import ChatSession
from casedesk.db.session import Database
from casedesk.db.tables import Case, Customer, Message, User
from casedesk.domain.errors import DomainError, InvalidInput
from casedesk.services import intake
from casedesk.services.case_rows import ticket_id
from casedesk.services.customers import CustomerInput
from casedesk.services.messages import NewAttachment, attachments_by_message
from casedesk.services.users import normalise_email

from .live_rules import digest, first_line, sign_token, untaggable, valid_email, verify_token

CHANNEL = "chat"
PURPOSE = "chat"


class ChatRefused(DomainError):
    """A chat request that cannot go on; ``code`` is what the widget shows or acts on."""

    status = 400
    title = "Chat refused"

    def __init__(self, code: str, detail: str, **extra: object) -> None:
        super().__init__(detail, code=code, **extra)
        self.code = code
        if code == "bad_token":  # over HTTP: the credential is what is wrong
            self.status = 401


@dataclass(frozen=True)
class Visitor:
    name: str
    email: str


def visitor(name: Any, email: Any) -> Visitor:
    """A visitor's name and e-mail as typed into the widget, checked."""
    name = name.strip() if isinstance(name, str) else ""
    email = email.strip() if isinstance(email, str) else ""
    if not name or len(name) > 200:
        raise InvalidInput("tell us your name (up to 200 characters)", field="name")
    if not valid_email(email):
        raise InvalidInput(f"'{email[:100]}' is not an e-mail address", field="email")
    return Visitor(name, normalise_email(email))


@dataclass(frozen=True)
class ChatSessionView:
    """A visitor's chat as a socket holds it; ``case_number`` is set once they have written."""

    token: str
    visitor: Visitor
    case_number: int | None = None
    session_id: int | None = None
    page_url: str = ""
    ip: str = ""

    @property
    def key(self) -> str:
        return digest(self.token)


def new_token(secret: str, now: datetime) -> str:
    return sign_token(secret, PURPOSE, int(now.timestamp()))


def begin(
    secret: str, who: Visitor, *, now: datetime, page_url: str = "", ip: str = ""
) -> ChatSessionView:
    """A new chat for ``who``: a token only, nothing stored until the first message."""
    return ChatSessionView(new_token(secret, now), who, page_url=page_url[:1000], ip=ip[:45])


def resume(
    db: Database,
    config: AppConfig,
    secret: str,
    token: str,
    *,
    now: datetime,
    who: Visitor | None = None,
    page_url: str = "",
    ip: str = "",
) -> ChatSessionView:
    """The chat behind a token the widget kept; its lifetime starts again from ``now``."""
    issued = verify_token(secret, PURPOSE, token)
    if issued is None:
        raise ChatRefused("bad_token", "this chat token is not valid; start a new chat")
    lifetime = chat_settings(config).session_lifetime
    with db.write() as s:
        row = s.scalar(select(ChatSession).where(ChatSession.token_hash == digest(token)))
        if row is None:
            # A token from before the first message: nothing stored yet, so the widget says
            # again who the visitor is.
            if now.timestamp() - issued > lifetime.total_seconds() or who is None:
                raise ChatRefused("bad_token", "this chat has expired; start a new chat")
            return ChatSessionView(token, who, page_url=page_url[:1000], ip=ip[:45])
        if row.expires_at <= now:
            raise ChatRefused("bad_token", "this chat has expired; start a new chat")
        row.last_seen_at, row.expires_at = now, now + lifetime
        return ChatSessionView(
            token,
            Visitor(row.visitor_name, row.visitor_email),
            row.case_number,
            row.id,
            row.page_url,
            row.ip,
        )


@dataclass(frozen=True)
class Posted:
    message_id: int
    case_number: int
    outcome: str
    session: ChatSessionView


def post(
    db: Database,
    config: AppConfig,
    session: ChatSessionView,
    *,
    body: str,
    client_id: str,
    now: datetime,
    attachments: Sequence[NewAttachment] = (),
) -> Posted:
    """Store one visitor message (text, files or both) through intake (once per client id)."""
    limit = chat_settings(config).max_message_chars
    if not body.strip() and not attachments:
        raise ChatRefused("empty", "write a message first")
    if len(body) > limit:
        raise ChatRefused("too_large", f"a chat message holds at most {limit} characters")
    lifetime = chat_settings(config).session_lifetime

    def link(s: Session, result: intake.IntakeResult) -> None:
        """In the intake transaction: the session row, pointing at the message's case."""
        if session.session_id is None and result.customer_id is not None:
            s.add(
                ChatSession(
                    token_hash=session.key,
                    customer_id=result.customer_id,
                    case_number=result.case_number,
                    visitor_name=session.visitor.name,
                    visitor_email=session.visitor.email,
                    page_url=session.page_url,
                    ip=session.ip,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + lifetime,
                )
            )
        elif session.session_id is not None and result.case_number != session.case_number:
            s.execute(
                update(ChatSession)
                .where(ChatSession.id == session.session_id)
                .values(case_number=result.case_number, last_seen_at=now)
            )

    inbound = intake.InboundMessage(
        channel=CHANNEL,
        sender=CustomerInput(name=session.visitor.name, email=session.visitor.email),
        subject=untaggable(f"Chat: {first_line(body) or attachments[0].filename}"),
        body=body,
        attachments=list(attachments),
        external_id=f"chat:{session.key[:32]}:{client_id[:64]}",
        case_number=session.case_number,
        on_stored=link,
    )
    try:
        result = intake.receive(db, config, inbound, now=now)
    except IntegrityError:
        # Another tab of the same visitor wrote the first message a moment ago and created
        # the session: carry on in it.
        if session.session_id is not None:
            raise
        session = _stored(db, session)
        inbound = replace(inbound, case_number=session.case_number)
        result = intake.receive(db, config, inbound, now=now)
    assert result.message_id is not None and result.case_number is not None
    # Read the session back: the first message created it, a follow-up case moved it.
    return Posted(result.message_id, result.case_number, result.outcome, _stored(db, session))


def _stored(db: Database, session: ChatSessionView) -> ChatSessionView:
    with db.read() as s:
        row = s.scalar(select(ChatSession).where(ChatSession.token_hash == session.key))
    if row is None:
        return session
    return replace(session, session_id=row.id, case_number=row.case_number)


@dataclass(frozen=True)
class LiveMessage:
    """A message as the widget and the agents' live stream show it."""

    id: int
    case_number: int
    visibility: str
    author_kind: str
    author_name: str
    channel: str
    body: str
    created_at: datetime
    files: tuple[dict[str, Any], ...] = ()  # id, filename, content_type, size

    def as_json(self, config: AppConfig) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "id": self.id,
            "case_id": ticket_id(config, self.case_number),
            "visibility": self.visibility,
            "author_kind": self.author_kind,
            "author_name": self.author_name,
            "channel": self.channel,
            "body": self.body,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }


def messages_after(
    db: Database, case_number: int, after_id: int, *, public_only: bool, limit: int = 200
) -> list[LiveMessage]:
    """Messages of a case newer than ``after_id``, oldest first; with ``after_id=0`` the last
    ``limit`` of them (a reconnecting widget's history). People are shown by their name, not
    their e-mail address."""
    query = (
        select(Message, func.coalesce(User.name, Customer.name))
        .outerjoin(User, User.id == Message.author_user_id)
        .outerjoin(Customer, Customer.id == Message.author_customer_id)
        .where(Message.case_number == case_number, Message.id > after_id)
    )
    if public_only:
        query = query.where(Message.visibility == "public")
    with db.read() as s:
        if after_id == 0:
            rows = list(s.execute(query.order_by(Message.id.desc()).limit(limit)))[::-1]
        else:
            rows = list(s.execute(query.order_by(Message.id).limit(1000)))
    files = attachments_by_message(db, [m.id for m, _ in rows])
    return [
        LiveMessage(
            m.id,
            m.case_number,
            m.visibility,
            m.author_kind,
            name or m.author_name,
            m.channel,
            m.body,
            m.created_at,
            tuple(
                {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in files.get(m.id, ())
            ),
        )
        for m, name in rows
    ]


def case_facts(db: Database, config: AppConfig, case_number: int) -> dict[str, Any]:
    """What the widget shows about the case: its ticket ID and status."""
    with db.read() as s:
        case = s.get(Case, case_number)
    if case is None:
        return {"case_id": None, "status": None, "status_category": None}
    wf = config.lifecycle
    return {
        "case_id": ticket_id(config, case_number),
        "status": wf.status(case.status).name if wf.has_status(case.status) else case.status,
        "status_category": case.status_category,
    }


def get_message(db: Database, message_id: int) -> LiveMessage | None:
    with db.read() as s:
        number = s.scalar(select(Message.case_number).where(Message.id == message_id))
    if number is None:
        return None
    found = messages_after(db, number, message_id - 1, public_only=False, limit=1)
    return found[0] if found and found[0].id == message_id else None


def newest_message_id(db: Database, case_number: int) -> int:
    with db.read() as s:
        newest = s.scalar(select(func.max(Message.id)).where(Message.case_number == case_number))
    return int(newest or 0)
