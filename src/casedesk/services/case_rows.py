"""Helpers every case-changing service shares: finding and locking a case, applying a status,
and recording a change (audit event plus same-transaction consequences)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.db.session import Database
from casedesk.db.tables import Case
from casedesk.domain.actors import Actor
from casedesk.domain.errors import NotFound
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.domain.ticket_ids import MAX_NUMBER, format_ticket_id, parse_ticket_id
from casedesk.services import audit
from casedesk.services.case_events import CaseChange, after_change


@dataclass
class CaseSnapshot:
    """A case as just written with Core statements, with the same attribute names as ``Case``
    but none of the ORM instrumentation (which costs more than the insert itself)."""

    number: int
    subject: str
    description: str
    channel: str
    customer_id: int | None
    customer: Any
    priority: int
    category: str | None
    custom_fields: dict[str, Any]
    team_id: int | None
    team: Any
    assignee_id: int | None
    assignee: Any
    status: str
    status_category: str
    created_at: datetime
    updated_at: datetime
    last_customer_activity_at: datetime | None
    reopen_count: int
    tags: list[str] = field(default_factory=list)
    hold_reason_code: str | None = None
    hold_reason: str | None = None
    resolution: str | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    linked_case_number: int | None = None
    first_message_id: int | None = None


CaseView = Case | CaseSnapshot


def ticket_id(config: AppConfig, number: int) -> str:
    return format_ticket_id(number, prefix=config.tickets.prefix, digits=config.tickets.digits)


def case_number(config: AppConfig, ref: str | int) -> int:
    """The case number behind a ticket ID (any letter case) or a bare number."""
    if isinstance(ref, int):
        return ref
    number = parse_ticket_id(ref, prefix=config.tickets.prefix)
    if number is None and ref.strip().isdigit() and 0 < int(ref) <= MAX_NUMBER:
        number = int(ref)
    if number is None:
        raise NotFound(f"'{ref}' is not a ticket ID like {ticket_id(config, 123)}")
    return number


def scope_of(number: int) -> str:
    return f"case:{number}"


def lock_case(s: Session, config: AppConfig, ref: str | int) -> Case:
    """The case, locked for this transaction so its audit chain grows one event at a time."""
    number = case_number(config, ref)
    case = s.scalar(select(Case).where(Case.number == number).with_for_update(of=Case))
    if case is None:
        raise NotFound(f"no case {ticket_id(config, number)}")
    return case


def get_case(db: Database, config: AppConfig, ref: str | int) -> Case:
    number = case_number(config, ref)
    with db.read() as s:
        case = s.get(Case, number)
    if case is None:
        raise NotFound(f"no case {ticket_id(config, number)}")
    return case


def check_customer_owns(case: Case, actor: Actor) -> None:
    """Customers act only on their own cases; others' look like they do not exist."""
    if actor.kind == "customer" and case.customer_id != actor.id:
        raise NotFound("no such case")


def apply_status(
    case: CaseView, config: AppConfig, target: str, request: TransitionRequest, now: datetime
) -> str:
    """Set the new status and the timestamps it implies; returns the previous status."""
    workflow = config.lifecycle
    previous = case.status
    before = workflow.category(previous)
    after = workflow.category(target)
    case.status = target
    case.status_category = after
    case.updated_at = now
    if after == "pending":
        case.hold_reason_code, case.hold_reason = request.reason_code, request.reason
    else:
        case.hold_reason_code = case.hold_reason = None
    if after == "solved":
        case.resolved_at, case.resolution = now, request.resolution
    if after == "closed":
        case.closed_at = now
    if before in ("solved", "closed") and after in ("new", "open", "pending"):
        case.reopen_count += 1
        case.resolved_at = case.closed_at = None
    return previous


def record(
    s: Session,
    config: AppConfig,
    case: CaseView,
    action: str,
    *,
    actor: Actor,
    now: datetime,
    data: dict[str, Any],
    event: str | None = None,
    first: bool = False,
    after: tuple[int, str] | None = None,
) -> str:
    """Append the audit event of a case change and run its same-transaction consequences;
    returns the event's hash."""
    digest = audit.record(
        s,
        scope=scope_of(case.number),
        case_number=case.number,
        action=action,
        actor=actor,
        now=now,
        data=data,
        first_in_scope=first,
        after=after,
    )
    after_change(s, config, CaseChange(event or action, case, actor, now, data))
    return digest
