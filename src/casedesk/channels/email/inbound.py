"""Raw inbound e-mail into the case queue: the one pipeline behind the SMTP listener, the IMAP
poller, the signed webhook and quarantine re-processing.

``take(ctx, raw, source=...)`` parses the bytes (``parse.parse_email``), turns the result into an
``InboundMessage`` and calls ``services.intake.receive``. In that one transaction it also counts
the sender against the rate limit (``ratelimit``), records who else was on the mail (case
participants) and queues the acknowledgement of a new case (``outbound``). Whatever cannot be
taken in goes to the ``quarantine`` with its raw bytes and the reason, so ``take`` returns an
answer for any bytes at all. It raises only ``TemporaryFailure`` (the database is unreachable),
on which the caller must keep the message (SMTP 451, IMAP leaves it unseen, webhook 503).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from casedesk.channels.email import outbound, quarantine, ratelimit
from casedesk.channels.email.parse import ParsedEmail, Unparseable, parse_email
from casedesk.config import AppConfig
from casedesk.config_cache import per_config
from casedesk.config_email import EmailSettings, email_settings
from casedesk.config_notify import outbound_settings
from casedesk.db.channel_tables import EmailParticipant
from casedesk.db.tables import Case, Customer, table
from casedesk.domain.errors import DomainError
from casedesk.services import intake
from casedesk.services.customers import CustomerInput
from casedesk.services.messages import NewAttachment

if TYPE_CHECKING:
    from casedesk.context import Context

log = logging.getLogger("casedesk.email")
CHANNEL = "email"
MAX_PARTICIPANTS = 20  # per message: a mail to a whole department is not a conversation
_NUL = re.compile(r"\x00")


class TemporaryFailure(Exception):
    """The message could be neither taken in nor quarantined; deliver it again later."""


@dataclass(frozen=True)
class Received:
    """What became of one raw message. ``outcome`` is an intake outcome (``created``,
    ``threaded``, ``followup``, ``duplicate``, ``noise_recorded``) or ``quarantined``."""

    outcome: str
    case_number: int | None = None
    message_id: int | None = None
    quarantine_id: int | None = None
    reason: str | None = None
    email_id: str | None = None  # the Message-ID

    @property
    def stored(self) -> bool:
        return self.outcome != "quarantined"


@per_config
def own_addresses(config: AppConfig) -> tuple[str, ...]:
    """casedesk's own addresses: intake addresses and the outbound sender (mail from them is a
    loop, never a customer)."""
    out = outbound_settings(config)
    extra = (out.sender.lower(),) if out is not None else ()
    return tuple(dict.fromkeys((*email_settings(config).addresses, *extra)))


def take(ctx: Context, raw: bytes, *, source: str, reprocess_of: int | None = None) -> Received:
    """Take one raw message in, or quarantine it with the reason; see the module docstring."""
    try:
        return _take(ctx, raw, source, reprocess_of)
    except TemporaryFailure:
        raise
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryFailure(f"database unavailable: {type(exc).__name__}") from exc
    except Exception as exc:  # a bug must not lose the message: keep it, log it
        return _hold_error(ctx, raw, source, reprocess_of, exc)


def _hold_error(
    ctx: Context, raw: bytes, source: str, reprocess_of: int | None, exc: Exception
) -> Received:
    log.exception("taking in an e-mail from %s failed; it is quarantined", source)
    reason = f"internal error: {type(exc).__name__}: {exc}"[:500]
    try:
        held = quarantine.hold(
            ctx.db,
            raw,
            source=source,
            kind="error",
            reason=reason,
            now=ctx.clock.now(),
            row_id=reprocess_of,
        )
    except Exception as again:
        raise TemporaryFailure("cannot quarantine the message either") from again
    return Received("quarantined", quarantine_id=held.id, reason=reason)


def _take(ctx: Context, raw: bytes, source: str, reprocess_of: int | None) -> Received:
    settings = email_settings(ctx.config)
    now = ctx.clock.now()

    def hold(kind: str, reason: str, parsed: ParsedEmail | None = None) -> Received:
        held = quarantine.hold(
            ctx.db,
            raw,
            source=source,
            kind=kind,
            reason=reason,
            now=now,
            sender=parsed.from_address if parsed else None,
            subject=parsed.subject if parsed else None,
            message_id=parsed.message_id if parsed else None,
            row_id=reprocess_of,
        )
        return Received(
            "quarantined",
            quarantine_id=held.id,
            reason=reason,
            email_id=parsed.message_id if parsed else None,
        )

    try:
        parsed = parse_email(
            raw,
            own_addresses=own_addresses(ctx.config),
            max_bytes=settings.max_message_bytes,
            max_attachment_bytes=settings.max_attachment_bytes,
        )
    except Unparseable as exc:
        kind = "too_large" if len(raw) > settings.max_message_bytes else "unparseable"
        return hold(kind, exc.reason)
    inbound = to_inbound(ctx, settings, parsed, now=now, rate_limited=reprocess_of is None)
    try:
        result = intake.receive(ctx.db, ctx.config, inbound, now=now)
    except DomainError as exc:  # e.g. a From address the customer rules refuse
        return hold("rejected", exc.detail, parsed)
    if result.outcome == "refused":
        return hold("rate_limited", result.reason or "refused", parsed)
    if result.outcome == "noise_unmatched":
        return hold("noise", f"automatic mail about no case ({parsed.auto_reason})", parsed)
    return Received(
        result.outcome, result.case_number, result.message_id, email_id=parsed.message_id
    )


def to_inbound(
    ctx: Context,
    settings: EmailSettings,
    parsed: ParsedEmail,
    *,
    now: datetime,
    rate_limited: bool = True,
) -> intake.InboundMessage:
    """The intake's view of a parsed message, with the e-mail hooks attached."""
    replies_to = [*parsed.references, *parsed.in_reply_to]
    if parsed.bounced_message_id:  # a bounce belongs to the case of the mail that bounced
        replies_to.append(parsed.bounced_message_id)
    attachments = [
        NewAttachment(
            filename=a.filename[:255] or "attachment",
            content_type=a.content_type[:255],
            content=a.content,
            size=a.size,
            content_id=a.content_id[:255] if a.content_id else None,
            inline=a.inline,
        )
        for a in parsed.attachments
    ]
    body = _clean(parsed.reply_text.strip() or parsed.text.strip())
    if not body and not attachments:
        body = "(empty message)"
    sender = parsed.from_address

    def admit(s: Session) -> str | None:
        return ratelimit.admit(s, settings, sender, now=now)

    def on_stored(s: Session, result: intake.IntakeResult) -> None:
        _record_participants(s, ctx, parsed, result, now)
        if result.created_case and settings.acknowledgement.enabled:
            outbound.queue_acknowledgement(s, ctx.config, result.case_number or 0, parsed, now=now)

    return intake.InboundMessage(
        channel=CHANNEL,
        sender=CustomerInput(name=_clean(parsed.from_name)[:200] or None, email=sender),
        subject=_clean(parsed.subject),
        body=body,
        external_id=parsed.message_id,
        html=_clean(parsed.html) if parsed.html else None,
        attachments=attachments,
        replies_to=list(dict.fromkeys(replies_to)),
        auto_reason=parsed.auto_reason,
        admit=admit if rate_limited else None,
        on_stored=on_stored,
    )


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; the parser scrubs them, this guards the boundary.
    return _NUL.sub("", text)


def _record_participants(
    s: Session, ctx: Context, parsed: ParsedEmail, result: intake.IntakeResult, now: datetime
) -> None:
    """Everyone on the mail but casedesk and the case's customer becomes a participant."""
    number = result.case_number
    if number is None:
        return
    own = own_addresses(ctx.config)
    people = [
        a
        for a in dict.fromkeys(a.lower() for a in (*parsed.to, *parsed.cc, parsed.from_address))
        if a not in own and "@" in a
    ]
    if not people or (people == [parsed.from_address] and result.outcome != "threaded"):
        return  # the usual mail: the customer alone, writing to casedesk (a new case)
    customer = s.execute(
        select(Customer.id, Customer.email)
        .join(Case, Case.customer_id == Customer.id)
        .where(Case.number == number)
    ).first()
    if customer is not None and customer.email:
        people = [a for a in people if a != customer.email.lower()]
    rows = [{"case_number": number, "email": a, "created_at": now} for a in people]
    if not rows:
        return
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(table(EmailParticipant)).on_conflict_do_nothing(), rows[:MAX_PARTICIPANTS])
