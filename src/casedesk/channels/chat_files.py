"""Files in the live chat: a visitor's file becomes a public message with that attachment on
the chat's case (through intake, like a typed message: once per client id), and a visitor
downloads only the files of their own chat's public messages.

A file joins a chat that has started (the visitor's first message opened the case); the size
limit is ``[chat] max_file_bytes`` (0 turns files off).
"""

from __future__ import annotations

from datetime import datetime

from casedesk.config import AppConfig
from casedesk.config_channels import chat_settings
from casedesk.db.session import Database
from casedesk.db.tables import Attachment
from casedesk.domain.errors import Conflict, Forbidden, NotFound
from casedesk.services.messages import NewAttachment, public_attachment

from . import chat
from .chat import ChatRefused, ChatSessionView, Posted


def started(
    db: Database, config: AppConfig, secret: str, token: str, *, now: datetime
) -> ChatSessionView:
    """The visitor's chat behind ``token``, once it has a case."""
    # A valid token of a chat with no message yet resumes as "nobody" with no case: refused
    # below as not started, where a bad or expired token is refused as such.
    unknown = chat.Visitor("", "")
    session = chat.resume(db, config, secret, token, now=now, who=unknown)
    if session.case_number is None:
        raise Conflict("send a message first: files join a chat once it has started")
    return session


def send_file(
    db: Database,
    config: AppConfig,
    session: ChatSessionView,
    upload: NewAttachment,
    *,
    caption: str,
    client_id: str,
    now: datetime,
) -> Posted:
    limit = chat_settings(config).max_file_bytes
    if limit == 0:
        raise Forbidden("this chat does not take files")
    if upload.size > limit:
        raise ChatRefused(
            "too_large", f"'{upload.filename}' is larger than {limit // 1024} KiB", limit=limit
        )
    if upload.size == 0:
        raise ChatRefused("empty", f"'{upload.filename}' is empty")
    return chat.post(
        db, config, session, body=caption, client_id=client_id, now=now, attachments=[upload]
    )


def visitor_file(db: Database, session: ChatSessionView, attachment_id: int) -> Attachment:
    """A file of a public message on the visitor's own chat case."""
    assert session.case_number is not None
    found = public_attachment(db, session.case_number, attachment_id)
    if found is None or found.content is None:
        raise NotFound("no such file in this chat")
    return found
