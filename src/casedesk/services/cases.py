"""The one way to change a case: create, update, assign, transition, add a message.

Each function is one transaction that locks the case row, applies the rule from ``domain``,
writes the change and appends its audit event, so a case and its trail never disagree and no
other code writes case state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.db.session import Database
from casedesk.db.tables import Case, CaseTag, IdempotencyKey, Team, User, insert_rows, table
from casedesk.domain import case_fields
from casedesk.domain.actors import Actor
from casedesk.domain.errors import InvalidInput
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import customers
from casedesk.services.case_rows import (
    CaseSnapshot,
    CaseView,
    apply_status,
    case_number,
    check_customer_owns,
    get_case,
    lock_case,
    record,
    ticket_id,
)
from casedesk.services.messages import (
    NewAttachment,
    NewMessage,
    add_message,
    insert_message,
    messages,
)

__all__ = [
    "NewAttachment",
    "NewMessage",
    "add_message",
    "case_number",
    "get_case",
    "messages",
    "ticket_id",
]

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
    first_message: NewMessage | None = None


@dataclass(frozen=True)
class Idempotency:
    owner: str
    key: str
    fingerprint: str


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
) -> CaseView:
    """Open a new case in the workflow's initial status; a repeated idempotency key returns the
    case the first request created."""
    try:
        with db.write() as s:
            return insert_case(s, config, data, actor=actor, now=now, idempotency=idempotency)
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


def insert_case(
    s: Session,
    config: AppConfig,
    data: NewCase,
    *,
    actor: Actor,
    now: datetime,
    idempotency: Idempotency | None = None,
    linked_case_number: int | None = None,
    customer: customers.CustomerRecord | None = None,
) -> CaseSnapshot:
    """Write a new case (and its first message, if any) inside the caller's transaction."""
    subject = data.subject.strip()
    if not subject:
        raise InvalidInput("a case needs a subject", field="subject")
    channel = case_fields.check_channel(data.channel)
    priority = case_fields.priority_rank(data.priority)
    category = case_fields.check_category(data.category, config.cases.categories)
    tags = case_fields.normalise_tags(data.tags)
    fields = case_fields.check_custom_fields(
        config.cases.fields, data.custom_fields, current={}, creating=True
    )
    if customer is None:
        customer = _customer(s, data, actor=actor, now=now)
    team, assignee = _team(s, data.team), _user(s, data.assignee)
    status = config.lifecycle.initial
    row: dict[str, Any] = {
        "subject": subject,
        "description": data.description,
        "channel": channel,
        "customer_id": customer.id if customer else None,
        "priority": priority,
        "category": category,
        "custom_fields": fields,
        "team_id": team.id if team else None,
        "assignee_id": assignee.id if assignee else None,
        "status": status,
        "status_category": config.lifecycle.category(status),
        "created_at": now,
        "updated_at": now,
        "reopen_count": 0,
        "last_customer_activity_at": now if actor.kind == "customer" else None,
        "linked_case_number": linked_case_number,
    }
    opening = data.first_message
    if opening and actor.kind == "user" and opening.visibility == "public":
        row["first_response_at"] = now  # a case staff open with a public message to the customer
    # Core inserts: the busiest write path skips the unit-of-work bookkeeping.
    number = s.execute(_INSERT_CASE, row).scalar_one()
    if tags:
        insert_rows(s, _INSERT_TAG, [{"case_number": number, "tag": t} for t in tags])
    case = CaseSnapshot(
        number=number, customer=customer, team=team, assignee=assignee, tags=tags, **row
    )
    created = record(
        s,
        config,
        case,
        "case.created",
        actor=actor,
        now=now,
        first=True,
        data={
            "subject": subject,
            "channel": channel,
            "priority": data.priority,
            "status": status,
            "category": category,
            "tags": tags,
            "customer_id": customer.id if customer else None,
            "team": team.name if team else None,
            "assignee": assignee.email if assignee else None,
        }
        | ({"linked_case": linked_case_number} if linked_case_number else {}),
    )
    if idempotency:
        s.execute(
            _INSERT_IDEMPOTENCY,
            {
                "owner": idempotency.owner,
                "key": idempotency.key,
                "fingerprint": idempotency.fingerprint,
                "case_number": number,
                "created_at": now,
            },
        )
    if data.first_message is not None:
        message = insert_message(
            s, config, case, data.first_message, actor=actor, now=now, after=(1, created)
        )
        case.first_message_id = message.id
    return case


_INSERT_CASE = table(Case).insert().returning(table(Case).c.number)
_INSERT_TAG = table(CaseTag).insert()
_INSERT_IDEMPOTENCY = table(IdempotencyKey).insert()


def _replay(s: Session, idem: Idempotency) -> Case | None:
    row = s.get(IdempotencyKey, (idem.owner, idem.key))
    if row is None:
        return None
    if row.fingerprint != idem.fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was already used for a different request; "
            "send a new key for a new case",
            field="Idempotency-Key",
        )
    return s.get(Case, row.case_number)


def _customer(
    s: Session, data: NewCase, *, actor: Actor, now: datetime
) -> customers.CustomerRecord | None:
    if data.customer_id is not None:
        found = customers.record_of(s, data.customer_id)
        if found is None:
            raise InvalidInput(f"no customer {data.customer_id}", field="customer_id")
        return found
    if data.customer is not None:
        return customers.resolve(s, data.customer, actor=actor, now=now)
    return None


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
        raise InvalidInput(
            f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE)}",
            field=sorted(unknown)[0],
        )
    with db.write() as s:
        case = lock_case(s, config, ref)
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
            diff["priority"] = {
                k: case_fields.priority_name(v) for k, v in diff["priority"].items()
            }
        if diff:
            record(s, config, case, "case.updated", actor=actor, now=now, data={"changes": diff})
        if assigned:
            record(s, config, case, "case.assigned", actor=actor, now=now, data=assigned)
        return case


def _current(case: Case, name: str) -> Any:
    return {"team": case.team, "assignee": case.assignee}.get(name, getattr(case, name, None))


def _new_values(
    s: Session, config: AppConfig, case: Case, changes: Mapping[str, Any]
) -> dict[str, Any]:
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
            out[name] = case_fields.check_custom_fields(
                config.cases.fields, value or {}, current=case.custom_fields or {}
            )
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
        case = lock_case(s, config, ref)
        check_customer_owns(case, actor)
        transition = config.lifecycle.check(case.status, to, actor.workflow_role, request)
        previous = apply_status(case, config, transition.target, request, now)
        record(
            s,
            config,
            case,
            "case.status_changed",
            actor=actor,
            now=now,
            data={
                "from": previous,
                "to": to,
                "reason_code": request.reason_code,
                "reason": request.reason,
                "resolution": request.resolution,
            },
        )
        return case
