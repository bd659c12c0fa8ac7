"""E-mail to customers: the acknowledgement of a new case and agents' public replies.

Both are built here inside the transaction of the change that causes them and queued with
``services.outbox.enqueue_email``, so they leave through ``[email.outbound]`` after commit with
the outbox's retries, backoff and de-duplication key (one e-mail per case acknowledgement, one
per reply: never sent twice). Each carries a casedesk Message-ID, recorded in ``email_sent`` so
the customer's answer threads back to the case; In-Reply-To and References name the customer's
last message, and the subject carries the ticket tag.

``on_case_change`` is called by ``services.outbox.on_case_change`` for every case change.
"""

from __future__ import annotations

import logging
import re
import string
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.config_email import email_settings
from casedesk.config_notify import OutboundSettings, outbound_settings
from casedesk.db.channel_tables import EmailParticipant, EmailSent
from casedesk.db.tables import Attachment, Case, Customer, Message, table
from casedesk.domain.ticket_ids import format_ticket_id
from casedesk.services import outbox

if TYPE_CHECKING:
    from casedesk.channels.email.parse import ParsedEmail
    from casedesk.services.case_events import CaseChange

log = logging.getLogger("casedesk.email")
MAX_REFERENCES = 10
MAX_ATTACHMENT_TOTAL = 20 * 1024 * 1024
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fwd?|wg)\s*(\[\d+\])?\s*:\s*)+", re.I)


def on_case_change(s: Session, config: AppConfig, change: CaseChange) -> None:
    """Queue the e-mail a case change sends the customer (a public reply by staff)."""
    if change.event != "case.message_added":
        return
    data = change.data
    if data.get("visibility") != "public" or change.actor.kind != "user":
        return
    if data.get("channel") == "chat" and not _mail_to_chat(s, config, change):
        return
    queue_reply(s, config, change.case.number, int(data["message_id"]), now=change.now)


def _mail_to_chat(s: Session, config: AppConfig, change: CaseChange) -> bool:
    """A reply in a chat reaches the visitor in the widget when it is open; otherwise, by
    e-mail (``[chat] email_when_away``)."""
    from casedesk.channels import chat_presence
    from casedesk.config_channels import chat_settings

    if not chat_settings(config).email_when_away:
        return False
    return not chat_presence.present(s, change.case.number, change.now)


def _tid(config: AppConfig, number: int) -> str:
    return format_ticket_id(number, prefix=config.tickets.prefix, digits=config.tickets.digits)


def tagged_subject(config: AppConfig, number: int, subject: str) -> str:
    """``[CASE-000123] subject``, without stacked "Re:" prefixes or a second tag."""
    tid = _tid(config, number)
    clean = _REPLY_PREFIX.sub("", subject).strip() or "(no subject)"
    if f"[{tid}]".lower() in clean.lower():
        return clean
    return f"[{tid}] {clean}"


def new_message_id(config: AppConfig, number: int, sender: str, kind: str) -> str:
    """A fresh casedesk Message-ID (without angle brackets), unique across installations."""
    domain = sender.rpartition("@")[2].strip().lower() or "casedesk.invalid"
    return f"{_tid(config, number).lower()}.{kind}.{uuid.uuid4().hex[:16]}@{domain}"


def _put(msg: EmailMessage, name: str, value: str) -> None:
    """Set header ``name``. A short ASCII value is already what goes on the wire and is stored
    as it is; parsing it into a header object (the modern policy's way) would cost about as
    much as the rest of queuing an acknowledgement. Anything else is encoded and folded."""
    if value.isascii() and len(name) + len(value) < 76 and "\r" not in value and "\n" not in value:
        msg.set_raw(name, value)
    else:
        msg[name] = value


def _envelope(
    settings: OutboundSettings, config: AppConfig, to: str, subject: str, message_id: str
) -> EmailMessage:
    msg = EmailMessage()
    _put(msg, "From", settings.sender)
    addresses = email_settings(config).addresses
    if addresses and addresses[0] != settings.sender.lower():
        _put(msg, "Reply-To", addresses[0])  # answers come back to the intake address
    _put(msg, "To", to)
    _put(msg, "Subject", subject)
    _put(msg, "Date", formatdate(usegmt=True))
    _put(msg, "Message-ID", f"<{message_id}>")
    # Ask Exchange and friends not to answer with out-of-office mail (loop protection).
    _put(msg, "X-Auto-Response-Suppress", "OOF, AutoReply")
    return msg


def _record_sent(
    s: Session,
    message_id: str,
    number: int,
    kind: str,
    to: str,
    now: datetime,
    row_id: int | None = None,
) -> None:
    s.execute(
        _INSERT_SENT,
        {
            "message_id": message_id,
            "case_number": number,
            "message_row_id": row_id,
            "kind": kind,
            "recipient": to[:320],
            "created_at": now,
        },
    )


_INSERT_SENT = table(EmailSent).insert()


def queue_acknowledgement(
    s: Session, config: AppConfig, number: int, parsed: ParsedEmail, *, now: datetime
) -> bool:
    """Queue the acknowledgement of new case ``number`` to the sender of ``parsed``; ``False``
    when no ``[email.outbound]`` is configured to send it."""
    settings = outbound_settings(config)
    if settings is None:
        return False
    ack = email_settings(config).acknowledgement
    tid = _tid(config, number)
    fields = {
        "ticket_id": tid,
        "subject": parsed.subject,
        "customer_name": parsed.from_name or parsed.from_address,
        "customer_email": parsed.from_address,
    }
    subject = " ".join(string.Template(ack.subject).safe_substitute(fields).split())
    if f"[{tid}]".lower() not in subject.lower():
        subject = f"[{tid}] {subject}"
    message_id = new_message_id(config, number, settings.sender, "ack")
    to = formataddr((parsed.from_name, parsed.from_address))
    msg = _envelope(settings, config, to, subject, message_id)
    _put(msg, "In-Reply-To", f"<{parsed.message_id}>")
    _put(msg, "References", f"<{parsed.message_id}>")
    # RFC 3834: an automatic answer; none back, please.
    _put(msg, "Auto-Submitted", "auto-replied")
    msg.set_content(string.Template(ack.body).safe_substitute(fields))
    outbox.enqueue_email(
        s,
        msg,
        dedupe_key=f"email.ack:{number}",
        now=now,
        case_number=number,
        event="email.acknowledgement",
    )
    _record_sent(s, message_id, number, "acknowledgement", parsed.from_address, now)
    return True


def queue_reply(s: Session, config: AppConfig, number: int, row_id: int, *, now: datetime) -> bool:
    """Queue staff's public message ``row_id`` on case ``number`` to its customer (and the
    case's participants in Cc); ``False`` when there is nobody or nothing to send it with."""
    settings = outbound_settings(config)
    if settings is None:
        return False
    case = s.get(Case, number)
    row = s.get(Message, row_id)
    if case is None or row is None or case.customer_id is None:
        return False
    customer = s.get(Customer, case.customer_id)
    if customer is None or not customer.email:
        return False
    in_reply_to, references = thread_ids(s, number)
    message_id = new_message_id(config, number, settings.sender, "reply")
    tid = _tid(config, number)
    to = formataddr((customer.name if customer.name != customer.email else "", customer.email))
    msg = _envelope(
        settings, config, to, f"Re: {tagged_subject(config, number, case.subject)}", message_id
    )
    cc = _participants(s, number, exclude={customer.email.lower(), settings.sender.lower()})
    if cc:
        _put(msg, "Cc", ", ".join(cc))
    if in_reply_to:
        _put(msg, "In-Reply-To", f"<{in_reply_to}>")
    if references:
        _put(msg, "References", " ".join(f"<{r}>" for r in references))
    _put(msg, "X-Casedesk-Ticket", tid)
    msg.set_content(f"{row.body.rstrip()}\n\n-- \n{tid}: reply to this e-mail to answer.\n")
    _attach(s, msg, row_id)
    outbox.enqueue_email(
        s,
        msg,
        dedupe_key=f"email.reply:{row_id}",
        now=now,
        case_number=number,
        event="email.reply",
    )
    _record_sent(s, message_id, number, "reply", customer.email, now, row_id)
    return True


def thread_ids(s: Session, number: int) -> tuple[str | None, list[str]]:
    """(the customer's last e-mail's Message-ID, References for a new message on the case):
    the thread's root and its most recent ids, oldest first."""
    received = s.execute(
        select(Message.external_id, Message.created_at, Message.author_kind)
        .where(
            Message.case_number == number,
            Message.external_id.is_not(None),
            Message.channel == "email",
        )
        .order_by(Message.id)
    ).all()
    sent = s.execute(
        select(EmailSent.message_id, EmailSent.created_at)
        .where(EmailSent.case_number == number)
        .order_by(EmailSent.created_at)
    ).all()
    last_customer = next(
        (r.external_id for r in reversed(received) if r.author_kind == "customer"), None
    )
    timeline = sorted(
        [(r.created_at, 0, r.external_id) for r in received]
        + [(r.created_at, 1, r.message_id) for r in sent]
    )
    ids = list(dict.fromkeys(ident for _, _, ident in timeline))
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[1 - MAX_REFERENCES :]
    return last_customer, ids


def _participants(s: Session, number: int, *, exclude: set[str]) -> list[str]:
    rows = s.scalars(
        select(EmailParticipant.email)
        .where(EmailParticipant.case_number == number)
        .order_by(EmailParticipant.created_at, EmailParticipant.email)
    ).all()
    return [r for r in rows if r.lower() not in exclude]


def _attach(s: Session, msg: EmailMessage, row_id: int) -> None:
    files = s.execute(
        select(Attachment.filename, Attachment.content_type, Attachment.content)
        .where(Attachment.message_id == row_id, Attachment.content.is_not(None))
        .order_by(Attachment.id)
    ).all()
    total = 0
    for name, ctype, content in files:
        if content is None:  # left out by the query; narrows the column's type
            continue
        total += len(content)
        if total > MAX_ATTACHMENT_TOTAL:
            log.warning("reply %s: attachments over %s bytes left out", row_id, total)
            break
        maintype, _, subtype = (ctype or "application/octet-stream").partition("/")
        msg.add_attachment(
            bytes(content), maintype=maintype, subtype=subtype or "octet-stream", filename=name
        )
