"""What a signed-in customer does in the portal: list, read, submit, reply to, accept and
reopen their own cases, and download the attachments of their public messages.

Every function takes the signed-in customer and looks cases up through ``_own``: a case of
someone else answers exactly like one that does not exist (``NotFound``), on every route.
Submissions and replies go through ``services.intake.receive`` (channel ``portal``) with an
external id made of the customer and the form's one-time submission id, so a double click or a
resent form stores one case or one reply. Accepting a resolution and reopening are workflow
transitions with the customer as actor (``services.cases.transition_case``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from casedesk.config import AppConfig
from casedesk.config_channels import portal_settings
from casedesk.db.session import Database
from casedesk.db.tables import Attachment, Case, Message, User
from casedesk.domain import case_fields
from casedesk.domain.errors import Conflict, InvalidInput, NotFound
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases, intake
from casedesk.services.case_rows import case_number, ticket_id
from casedesk.services.customers import CustomerInput, CustomerRecord
from casedesk.services.messages import NewAttachment, attachments_by_message, public_attachment

from .live_rules import untaggable
from .portal import customer_actor

CHANNEL = "portal"
PAGE = 50
_SUBMISSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def new_submission_id() -> str:
    """The one-time id a form carries so that sending it twice stores it once."""
    return secrets.token_urlsafe(16)


def _external_id(customer: CustomerRecord, submission_id: str) -> str:
    if not _SUBMISSION.match(submission_id or ""):
        submission_id = new_submission_id()  # a form without one: no de-duplication
    return f"portal:{customer.id}:{submission_id}"


def _own(db: Database, config: AppConfig, customer: CustomerRecord, ref: str) -> Case:
    try:
        number = case_number(config, ref)
    except NotFound:
        raise NotFound("no such case") from None
    with db.read() as s:
        case = s.get(Case, number)
    if case is None or case.customer_id != customer.id:
        raise NotFound("no such case")
    return case


def my_cases(
    db: Database, customer: CustomerRecord, *, before: int | None = None
) -> tuple[list[Case], int | None]:
    """The customer's cases, newest first, a page at a time; the second value continues."""
    query = select(Case).where(Case.customer_id == customer.id)
    if before is not None:
        query = query.where(Case.number < before)
    with db.read() as s:
        rows = list(s.scalars(query.order_by(Case.number.desc()).limit(PAGE + 1)))
    more = rows[PAGE].number + 1 if len(rows) > PAGE else None
    return rows[:PAGE], more


@dataclass(frozen=True)
class CaseView:
    case: Case
    messages: list[Message]
    attachments: dict[int, list[Attachment]]
    authors: dict[int, str]  # message id -> the agent's name (never their e-mail)
    can_accept: bool
    can_reopen: bool

    @property
    def closed(self) -> bool:
        return self.case.status_category == "closed"


def my_case(db: Database, config: AppConfig, customer: CustomerRecord, ref: str) -> CaseView:
    """One of the customer's cases with its public messages (never internal notes)."""
    case = _own(db, config, customer, ref)
    messages = cases.messages(db, case.number, public_only=True)
    found = attachments_by_message(db, [m.id for m in messages])
    staff_ids = {m.author_user_id for m in messages if m.author_user_id is not None}
    with db.read() as s:
        names = dict(s.execute(select(User.id, User.name).where(User.id.in_(staff_ids))).all())
    authors = {m.id: names[m.author_user_id] for m in messages if m.author_user_id in names}
    wf = config.lifecycle
    return CaseView(
        case,
        messages,
        found,
        authors,
        can_accept=wf.acknowledge_target(case.status) is not None,
        can_reopen=wf.reopen_target(case.status) is not None,
    )


def check_attachments(config: AppConfig, files: Sequence[NewAttachment]) -> None:
    limits = portal_settings(config)
    if len(files) > limits.max_attachments:
        raise InvalidInput(f"attach at most {limits.max_attachments} files", field="files")
    for f in files:
        if f.size > limits.max_attachment_bytes:
            raise InvalidInput(
                f"'{f.filename}' is larger than {limits.max_attachment_bytes // 1024} KiB",
                field="files",
            )


def submit(
    db: Database,
    config: AppConfig,
    customer: CustomerRecord,
    *,
    subject: str,
    description: str,
    category: str | None,
    attachments: Sequence[NewAttachment] = (),
    submission_id: str = "",
    now: datetime,
) -> int:
    """Open a case (channel ``portal``); returns its number."""
    subject = subject.strip()
    if not subject:
        raise InvalidInput("give your request a subject", field="subject")
    if len(subject) > 300:
        raise InvalidInput("a subject has at most 300 characters", field="subject")
    if not description.strip():
        raise InvalidInput("describe what you need", field="description")
    if len(description) > 100_000:
        raise InvalidInput("a description has at most 100000 characters", field="description")
    category = case_fields.check_category(category, config.cases.categories)
    check_attachments(config, attachments)
    inbound = intake.InboundMessage(
        channel=CHANNEL,
        sender=CustomerInput(name=customer.name, email=customer.email),
        subject=untaggable(subject),  # a new request is a new case, whatever its subject says
        body=description,
        external_id=_external_id(customer, submission_id),
        attachments=attachments,
        category=category,
    )
    result = intake.receive(db, config, inbound, now=now)
    assert result.case_number is not None
    return result.case_number


def reply(
    db: Database,
    config: AppConfig,
    customer: CustomerRecord,
    ref: str,
    *,
    body: str,
    attachments: Sequence[NewAttachment] = (),
    submission_id: str = "",
    now: datetime,
) -> intake.IntakeResult:
    """The customer's reply on their case: it reopens a resolved case; on a closed case it
    opens a follow-up case linked to it (intake's rules)."""
    case = _own(db, config, customer, ref)
    if not body.strip() and not attachments:
        raise InvalidInput("write a reply first", field="body")
    if len(body) > 100_000:
        raise InvalidInput("a reply has at most 100000 characters", field="body")
    check_attachments(config, attachments)
    inbound = intake.InboundMessage(
        channel=CHANNEL,
        sender=CustomerInput(name=customer.name, email=customer.email),
        subject=f"Re: {untaggable(case.subject)}",
        body=body,
        external_id=_external_id(customer, submission_id),
        attachments=attachments,
        case_number=case.number,
    )
    return intake.receive(db, config, inbound, now=now)


def accept(
    db: Database, config: AppConfig, customer: CustomerRecord, ref: str, *, now: datetime
) -> Case:
    """Accept the resolution: Resolved → Closed, the customer as actor."""
    case = _own(db, config, customer, ref)
    target = config.lifecycle.acknowledge_target(case.status)
    if target is None:
        raise Conflict(f"{ticket_id(config, case.number)} is not waiting for your acceptance")
    return cases.transition_case(
        db,
        config,
        case.number,
        target,
        TransitionRequest(),
        actor=customer_actor(customer),
        now=now,
    )


def reopen(
    db: Database,
    config: AppConfig,
    customer: CustomerRecord,
    ref: str,
    *,
    comment: str = "",
    submission_id: str = "",
    now: datetime,
) -> Case:
    """Reopen a resolved case; a comment is posted as the customer's reply (which reopens)."""
    case = _own(db, config, customer, ref)
    target = config.lifecycle.reopen_target(case.status)
    if target is None:
        raise Conflict(f"{ticket_id(config, case.number)} is not resolved; reply instead")
    if comment.strip():
        reply(db, config, customer, ref, body=comment, submission_id=submission_id, now=now)
        return _own(db, config, customer, ref)
    return cases.transition_case(
        db,
        config,
        case.number,
        target,
        TransitionRequest(reason="reopened by the customer"),
        actor=customer_actor(customer),
        now=now,
    )


def attachment(
    db: Database, config: AppConfig, customer: CustomerRecord, ref: str, attachment_id: int
) -> Attachment:
    """A file of a public message on the customer's own case."""
    case = _own(db, config, customer, ref)
    found = public_attachment(db, case.number, attachment_id)
    if found is None or found.content is None:
        raise NotFound("no such file")
    return found
