"""The one way to change a case: create, update, assign, transition, add a message.

Each function is one transaction that locks the case row, applies the rule from ``domain``,
writes the change and appends its audit event, so a case and its trail never disagree and no
other code writes case state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.db.session import Database
from casedesk.db.tables import Case, CaseTag, Customer, IdempotencyKey, Message, Team, User
from casedesk.domain import case_fields
from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.domain.ticket_ids import format_ticket_id, parse_ticket_id
from casedesk.services import audit, customers

EDITABLE = ("subject", "priority", "category", "tags", "custom_fields", "team", "assignee")


@dataclass(frozen=True)
class NewCase:
    subject: str
    description: str = ""
    channel: str = "api"
    customer: customers.CustomerInput | None = None
    customer_id: int | None = None
    priority: str = "normal"
    category: str | None = None
    tags: Sequence[str] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    team: str | None = None
    assignee: str | int | None = None


@dataclass(frozen=True)
class Idempotency:
    owner: str
    key: str
    fingerprint: str


def ticket_id(config: AppConfig, number: int) -> str:
    return format_ticket_id(number, prefix=config.tickets.prefix, digits=config.tickets.digits)


def case_number(config: AppConfig, ref: str | int) -> int:
    """The case number behind a ticket ID (any letter case) or a bare number."""
    if isinstance(ref, int):
        return ref
    number = parse_ticket_id(ref, prefix=config.tickets.prefix)
    if number is None and ref.strip().isdigit() and int(ref) > 0:
        number = int(ref)
    if number is None:
        raise NotFound(f"'{ref}' is not a ticket ID like {ticket_id(config, 123)}")
    return number


def _scope(number: int) -> str:
    return f"case:{number}"


def _team(s: Session, name: str | None) -> Team | None:
    if not name:
        return None
    team = s.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise InvalidInput(f"no team named '{name}'", field="team")
    return team


def _user(s: Session, ref: str | int | None) -> User | None:
    if ref is None or ref == "":
        return None
    if isinstance(ref, int) or str(ref).isdigit():
        user = s.get(User, int(ref))
    else:
        user = s.scalar(select(User).where(User.email == str(ref).strip().lower()))
    if user is None or not user.active:
        raise InvalidInput(f"no active user {ref} to assign", field="assignee")
    return user


def create_case(
    db: Database,
    config: AppConfig,
    data: NewCase,
    *,
    actor: Actor,
    now: datetime,
    idempotency: Idempotency | None = None,
) -> Case:
    """Open a new case in the workflow's initial status; a repeated idempotency key returns the
    case the first request created."""
    subject = data.subject.strip()
    if not subject:
        raise InvalidInput("a case needs a subject", field="subject")
    channel = case_fields.check_channel(data.channel)
    priority = case_fields.priority_rank(data.priority)
    category = case_fields.check_category(data.category, config.cases.categories)
    tags = case_fields.normalise_tags(data.tags)
    fields = case_fields.check_custom_fields(config.cases.fields, data.custom_fields, current={})
    try:
        with db.write() as s:
            customer = _customer(s, data, actor=actor, now=now)
            team, assignee = _team(s, data.team), _user(s, data.assignee)
            status = config.lifecycle.initial
            row = {
                "subject": subject, "description": data.description, "channel": channel,
                "customer_id": customer.id if customer else None, "priority": priority,
                "category": category, "custom_fields": fields,
                "team_id": team.id if team else None,
                "assignee_id": assignee.id if assignee else None, "status": status,
                "status_category": config.lifecycle.category(status), "created_at": now,
                "updated_at": now, "reopen_count": 0,
                "last_customer_activity_at": now if actor.kind == "customer" else None,
            }
            # Core inserts: the busiest write path skips the unit-of-work bookkeeping.
            number = s.execute(_INSERT_CASE, row).scalar_one()
            if tags:
                s.execute(_INSERT_TAG, [{"case_number": number, "tag": t} for t in tags])
            audit.record(
                s, scope=_scope(number), case_number=number, action="case.created",
                actor=actor, now=now, first_in_scope=True,
                data={"subject": subject, "channel": channel, "priority": data.priority,
                      "status": status, "category": category, "tags": tags,
                      "customer_id": customer.id if customer else None,
                      "team": team.name if team else None,
                      "assignee": assignee.email if assignee else None},
            )
            if idempotency:
                s.execute(_INSERT_IDEMPOTENCY, {
                    "owner": idempotency.owner, "key": idempotency.key,
                    "fingerprint": idempotency.fingerprint, "case_number": number,
                    "created_at": now})
            case = Case(number=number, customer=customer, team=team, assignee=assignee,
                        tag_rows=[CaseTag(case_number=number, tag=t) for t in tags], **{
                            k: v for k, v in row.items()
                            if k not in ("customer_id", "team_id", "assignee_id")})
            case.customer_id, case.team_id, case.assignee_id = (
                row["customer_id"], row["team_id"], row["assignee_id"])
            return case
    except IntegrityError:
        # Retries are rare, so the key is not looked up first: a repeated key fails the insert
        # (after the first request commits, on PostgreSQL) and the first case is returned.
        if idempotency is None:
            raise
        with db.read() as s:
            earlier = _replay(s, idempotency)
        if earlier is None:
            raise
        return earlier


_INSERT_CASE = insert(Case).returning(Case.number)
_INSERT_TAG = insert(CaseTag)
_INSERT_IDEMPOTENCY = insert(IdempotencyKey)


def _replay(s: Session, idem: Idempotency) -> Case | None:
    row = s.get(IdempotencyKey, (idem.owner, idem.key))
    if row is None:
        return None
    if row.fingerprint != idem.fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was already used for a different request; "
            "send a new key for a new case", field="Idempotency-Key",
        )
    return s.get(Case, row.case_number)


def _customer(s: Session, data: NewCase, *, actor: Actor, now: datetime) -> Customer | None:
    if data.customer_id is not None:
        customer = s.get(Customer, data.customer_id)
        if customer is None:
            raise InvalidInput(f"no customer {data.customer_id}", field="customer_id")
        return customer
    if data.customer is not None:
        return customers.resolve(s, data.customer, actor=actor, now=now)
    return None


def _locked(s: Session, config: AppConfig, ref: str | int) -> Case:
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


def messages(db: Database, number: int, *, public_only: bool = False) -> list[Message]:
    with db.read() as s:
        query = select(Message).where(Message.case_number == number).order_by(Message.id)
        if public_only:
            query = query.where(Message.visibility == "public")
        return list(s.scalars(query))


def _display(value: Any) -> Any:
    if isinstance(value, User):
        return value.email
    if isinstance(value, Team):
        return value.name
    return value


def update_case(
    db: Database,
    config: AppConfig,
    ref: str | int,
    changes: Mapping[str, Any],
    *,
    actor: Actor,
    now: datetime,
) -> Case:
    """Apply field changes; one audit event for the fields and one for a new assignee."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}; editable: "
                           f"{', '.join(EDITABLE)}", field=sorted(unknown)[0])
    with db.write() as s:
        case = _locked(s, config, ref)
        diff: dict[str, dict[str, Any]] = {}
        new_values = _new_values(s, config, case, changes)
        for name, value in new_values.items():
            before = case.tags if name == "tags" else _current(case, name)
            if before == value:
                continue
            diff[name] = {"before": _display(before), "after": _display(value)}
            if name == "tags":
                case.tag_rows = [CaseTag(tag=t) for t in value]
            else:
                setattr(case, name, value)
        if not diff:
            return case
        case.updated_at = now
        assigned = diff.pop("assignee", None)
        if "priority" in diff:
            diff["priority"] = {k: case_fields.priority_name(v) for k, v in diff["priority"].items()}
        if diff:
            audit.record(s, scope=_scope(case.number), case_number=case.number,
                         action="case.updated", actor=actor, now=now, data={"changes": diff})
        if assigned:
            audit.record(s, scope=_scope(case.number), case_number=case.number,
                         action="case.assigned", actor=actor, now=now, data=assigned)
        return case


def _current(case: Case, name: str) -> Any:
    return {"team": case.team, "assignee": case.assignee}.get(name, getattr(case, name, None))


def _new_values(s: Session, config: AppConfig, case: Case, changes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "subject":
            if not value or not str(value).strip():
                raise InvalidInput("a case needs a subject", field="subject")
            out[name] = str(value).strip()
        elif name == "priority":
            out[name] = case_fields.priority_rank(value)
        elif name == "category":
            out[name] = case_fields.check_category(value, config.cases.categories)
        elif name == "tags":
            out[name] = case_fields.normalise_tags(value or [])
        elif name == "custom_fields":
            out[name] = case_fields.check_custom_fields(config.cases.fields, value or {},
                                                        current=case.custom_fields or {})
        elif name == "team":
            out[name] = _team(s, value)
        elif name == "assignee":
            out[name] = _user(s, value)
    return out


def transition_case(
    db: Database,
    config: AppConfig,
    ref: str | int,
    to: str,
    request: TransitionRequest,
    *,
    actor: Actor,
    now: datetime,
) -> Case:
    """Move a case to ``to`` if the workflow lets ``actor`` do it with what was supplied."""
    with db.write() as s:
        case = _locked(s, config, ref)
        _check_customer_owns(case, actor)
        transition = config.lifecycle.check(case.status, to, actor.workflow_role, request)
        previous = _apply_status(case, config, transition.target, request, now)
        audit.record(
            s, scope=_scope(case.number), case_number=case.number, action="case.status_changed",
            actor=actor, now=now,
            data={"from": previous, "to": to, "reason_code": request.reason_code,
                  "reason": request.reason, "resolution": request.resolution},
        )
        return case


def _apply_status(case: Case, config: AppConfig, target: str, request: TransitionRequest,
                  now: datetime) -> str:
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


def _check_customer_owns(case: Case, actor: Actor) -> None:
    if actor.kind == "customer" and case.customer_id != actor.id:
        raise NotFound("no such case")


def add_message(
    db: Database,
    config: AppConfig,
    ref: str | int,
    *,
    body: str,
    visibility: str,
    actor: Actor,
    now: datetime,
    channel: str | None = None,
    external_id: str | None = None,
) -> Message:
    """A public reply or internal note. A customer's reply on a solved case reopens it; the
    first public reply by staff is the case's first response."""
    if visibility not in ("public", "internal"):
        raise InvalidInput("visibility must be 'public' or 'internal'", field="visibility")
    if not body.strip():
        raise InvalidInput("a message needs a body", field="body")
    if actor.kind == "customer" and visibility != "public":
        raise Forbidden("customers can only post public messages")
    with db.write() as s:
        case = _locked(s, config, ref)
        _check_customer_owns(case, actor)
        if case.status_category == "closed" and actor.kind == "customer":
            raise Conflict(f"{ticket_id(config, case.number)} is closed; open a new case")
        author_kind = {"user": "agent", "customer": "customer"}.get(actor.kind, "system")
        message = Message(
            case_number=case.number, visibility=visibility, author_kind=author_kind,
            author_user_id=actor.id if actor.kind == "user" else None,
            author_customer_id=actor.id if actor.kind == "customer" else None,
            author_name=actor.label, channel=channel or case.channel, body=body,
            external_id=external_id, created_at=now,
        )
        s.add(message)
        s.flush()
        case.updated_at = now
        if author_kind == "agent" and visibility == "public" and case.first_response_at is None:
            case.first_response_at = now
        audit.record(
            s, scope=_scope(case.number), case_number=case.number, action="message.added",
            actor=actor, now=now,
            data={"message_id": message.id, "visibility": visibility, "channel": message.channel,
                  "body_sha256": _sha256(body)},
        )
        if author_kind == "customer":
            case.last_customer_activity_at = now
            target = config.lifecycle.reopen_target(case.status)
            if target is not None:
                previous = _apply_status(case, config, target, TransitionRequest(), now)
                audit.record(
                    s, scope=_scope(case.number), case_number=case.number,
                    action="case.status_changed", actor=actor, now=now,
                    data={"from": previous, "to": target, "reason_code": None,
                          "reason": "customer replied", "resolution": None},
                )
        return message


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
