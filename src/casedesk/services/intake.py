"""The one way in for every channel: ``receive`` turns an inbound message into a new case or a
message threaded onto an existing one, in one transaction.

Threading, in layers: an explicit case reference from the adapter (a chat session's case, a
portal reply), then the external ids the message answers (e-mail In-Reply-To/References
naming a Message-ID casedesk stored or sent), then ticket IDs tagged in the subject when the
sender is that case's customer or a known participant (someone on the case's e-mail, see
``channels.email``), else a new case. A message for a closed case opens a new case
linked to it. The same external id twice (an SMTP retry, an IMAP re-poll, a webhook retry)
creates nothing new. Automatic mail (auto-replies, bounces) never opens a case; it is recorded
against the case it refers to, if any. An adapter may pass an ``admit`` check (the e-mail
per-sender rate limit) that runs first in the same transaction and can refuse the message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.db.channel_tables import EmailParticipant, EmailSent
from casedesk.db.session import Database
from casedesk.db.tables import Case, Customer, Message
from casedesk.domain.actors import Actor
from casedesk.domain.ticket_ids import find_ticket_ids
from casedesk.services import case_rows, cases, customers
from casedesk.services.messages import NewAttachment, NewMessage, insert_message

Outcome = Literal[
    "created", "threaded", "followup", "duplicate", "noise_recorded", "noise_unmatched", "refused"
]
STORED = ("created", "threaded", "followup")


@dataclass(frozen=True)
class InboundMessage:
    """What a channel received, already parsed into plain values."""

    channel: str
    sender: customers.CustomerInput
    subject: str
    body: str
    external_id: str | None = None
    html: str | None = None
    attachments: Sequence[NewAttachment] = ()
    replies_to: Sequence[str] = ()  # external ids this message answers, newest last
    case_number: int | None = None  # set when the adapter already knows the case
    auto_reason: str | None = None  # why this is automatic mail (never opens a case)
    priority: str = "normal"
    category: str | None = None
    tags: Sequence[str] = ()
    custom_fields: dict[str, object] = field(default_factory=dict)
    # Called inside the intake transaction once the message is stored (not for duplicates or
    # noise), so an adapter's own rows (a chat session's case, a call log) commit with it.
    on_stored: Callable[[Session, IntakeResult], None] | None = None
    # Called first in the intake transaction (after the duplicate check): a reason refuses the
    # message (outcome "refused"; whatever the check wrote, such as a counter, still commits).
    admit: Callable[[Session], str | None] | None = None


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    case_number: int | None
    message_id: int | None
    customer_id: int | None = None
    reason: str | None = None  # why a message was refused

    @property
    def created_case(self) -> bool:
        return self.outcome in ("created", "followup")


def receive(
    db: Database, config: AppConfig, inbound: InboundMessage, *, now: datetime
) -> IntakeResult:
    """Store ``inbound`` once: as a new case, a message on its case, or recorded noise."""
    try:
        with db.write() as s:
            result = _receive(s, config, inbound, now)
            if inbound.on_stored is not None and result.outcome in STORED:
                inbound.on_stored(s, result)
            return result
    except IntegrityError:
        # A concurrent delivery of the same external id won the race: report it as the
        # duplicate it is (the whole losing transaction, case included, rolled back).
        if inbound.external_id:
            with db.read() as s:
                earlier = _existing(s, inbound.external_id)
            if earlier is not None:
                return earlier
        raise


def _existing(s: Session, external_id: str) -> IntakeResult | None:
    row = s.execute(
        select(Message.id, Message.case_number, Message.author_customer_id).where(
            Message.external_id == external_id
        )
    ).first()
    return (
        IntakeResult("duplicate", row.case_number, row.id, row.author_customer_id) if row else None
    )


def _receive(s: Session, config: AppConfig, inbound: InboundMessage, now: datetime) -> IntakeResult:
    if inbound.external_id and (earlier := _existing(s, inbound.external_id)) is not None:
        return earlier
    if inbound.admit is not None and (reason := inbound.admit(s)) is not None:
        return IntakeResult("refused", None, None, reason=reason)
    target = _thread(s, config, inbound)
    if inbound.auto_reason is not None:
        return _record_noise(s, config, inbound, target, now)
    customer = customers.resolve(s, inbound.sender, actor=_channel_actor(inbound), now=now)
    actor = Actor(
        kind="customer",
        id=customer.id,
        label=customer.email or customer.name,
        origin=inbound.channel,
    )
    message = NewMessage(
        body=inbound.body,
        visibility="public",
        channel=inbound.channel,
        html=inbound.html,
        external_id=inbound.external_id,
        attachments=inbound.attachments,
    )
    if target is not None and target.status_category != "closed":
        case = case_rows.lock_case(s, config, target.number)
        row = insert_message(s, config, case, message, actor=actor, now=now)
        return IntakeResult("threaded", case.number, row.id, customer.id)
    new = cases.NewCase(
        subject=inbound.subject.strip()[:300] or "(no subject)",
        description=inbound.body,
        channel=inbound.channel,
        customer_id=customer.id,
        priority=inbound.priority,
        category=inbound.category,
        tags=inbound.tags,
        custom_fields=inbound.custom_fields,
        first_message=message,
    )
    linked = target.number if target is not None else None
    created = cases.insert_case(
        s, config, new, actor=actor, now=now, linked_case_number=linked, customer=customer
    )
    return IntakeResult(
        "followup" if linked else "created", created.number, created.first_message_id, customer.id
    )


Target = Row[int, str, int | None]  # number, status category, customer id
_TARGET = select(Case.number, Case.status_category, Case.customer_id).where(
    Case.number == bindparam("number")
)


def _case(s: Session, number: int) -> Target | None:
    """The facts threading needs about case ``number`` (the row itself is locked and loaded
    only once the message is known to go there)."""
    return s.execute(_TARGET, {"number": number}).first()


def _thread(s: Session, config: AppConfig, inbound: InboundMessage) -> Target | None:
    """The case this message belongs to, or ``None`` for a new case."""
    if inbound.case_number is not None:
        return _case(s, inbound.case_number)
    if inbound.replies_to:
        number = s.scalar(
            select(Message.case_number)
            .where(Message.external_id.in_(list(inbound.replies_to)))
            .order_by(Message.id.desc())
            .limit(1)
        )
        if number is None:  # an answer to mail casedesk sent (a reply, an acknowledgement)
            number = s.scalar(
                select(EmailSent.case_number)
                .where(EmailSent.message_id.in_(list(inbound.replies_to)))
                .order_by(EmailSent.created_at.desc())
                .limit(1)
            )
        if number is not None:
            return _case(s, number)
    tagged = find_ticket_ids(inbound.subject, prefix=config.tickets.prefix)
    if tagged and inbound.sender.email:
        sender = inbound.sender.email.strip().lower()
        for number in tagged:
            case = _case(s, number)
            if case is not None and _may_write_to(s, case, sender):
                return case
    return None


def _may_write_to(s: Session, case: Target, sender: str) -> bool:
    """Only the case's customer or a known participant threads by subject tag, so a guessed
    ticket ID in a stranger's subject opens a new case instead of writing into someone else's."""
    if case.customer_id is not None:
        email = s.scalar(select(Customer.email).where(Customer.id == case.customer_id))
        if email is not None and email.lower() == sender:
            return True
    participant = s.scalar(
        select(EmailParticipant.email).where(
            EmailParticipant.case_number == case.number, EmailParticipant.email == sender
        )
    )
    return participant is not None


def _channel_actor(inbound: InboundMessage) -> Actor:
    return Actor(kind="channel", label=inbound.channel, origin=inbound.channel)


def _record_noise(
    s: Session, config: AppConfig, inbound: InboundMessage, target: Target | None, now: datetime
) -> IntakeResult:
    """Automatic mail: kept as an internal note on the case it refers to (never reopening it,
    never counting as customer activity). With no case to refer to, the adapter decides
    where it goes (e-mail keeps it in quarantine)."""
    if target is None:
        return IntakeResult("noise_unmatched", None, None)
    case = case_rows.lock_case(s, config, target.number)
    note = NewMessage(
        body=f"[automatic message: {inbound.auto_reason}]\n{inbound.body}",
        visibility="internal",
        channel=inbound.channel,
        external_id=inbound.external_id,
    )
    row = insert_message(s, config, case, note, actor=_channel_actor(inbound), now=now)
    return IntakeResult("noise_recorded", case.number, row.id)
