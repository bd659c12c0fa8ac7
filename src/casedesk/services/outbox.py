"""The notification outbox: rows written in the transaction of the event that caused them,
delivered after commit by the worker with retries, de-duplication and a dead-letter list.

One row per notification per destination. Its ``dedupe_key`` is unique, so the same notice can
never be queued twice (SLA events derive it from case, metric, cycle and checkpoint), and it goes
to the receiver as ``Idempotency-Key`` so a retried delivery can be recognised there.

Which destinations hear of an event is decided by ``[[notify.routes]]`` (``domain.routing``);
escalation levels add their own ``notify`` list. Delivery lives in ``outbox_delivery``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.config_notify import NotifySettings, notify_settings
from casedesk.db.sla_tables import OutboxItem
from casedesk.db.tables import User
from casedesk.domain.case_fields import priority_name
from casedesk.domain.routing import destinations_for
from casedesk.domain.ticket_ids import format_ticket_id
from casedesk.notify.message import CaseNotice
from casedesk.services.case_rows import CaseView

if TYPE_CHECKING:
    from casedesk.context import Context
    from casedesk.services.case_events import CaseChange

T = cast(Table, OutboxItem.__table__)
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
SMTP = "smtp"  # the destination of e-mails queued with ``enqueue_email``
# Case events that routes can listen to, by the change event that causes them.
ROUTED_CHANGES = {
    "case.created": "case.created",
    "case.assigned": "case.assigned",
    "case.status_changed": "case.status_changed",
    "case.customer_replied": "case.customer_replied",
}


def on_case_change(s: Session, config: AppConfig, change: CaseChange) -> None:
    """Queue the notifications that the routing rules send for ``change``."""
    if change.event == "case.message_added":  # staff's public reply: e-mail to the customer
        from casedesk.channels.email import outbound as customer_mail

        customer_mail.on_case_change(s, config, change)
    event = ROUTED_CHANGES.get(change.event)
    if event is None:
        return
    settings = notify_settings(config)
    if not settings.routes:
        return
    case = change.case
    notice = notice_for(config, case, event, sla_due=None)
    if not destinations_for(settings.routes, event, notice.routing_facts()):
        return
    from casedesk.services.sla_ledger import next_due

    detail = _change_detail(change)
    notice = notice_for(config, case, event, sla_due=next_due(s, case.number), detail=detail)
    key = f"{event}:{case.number}:{uuid.uuid4().hex}"
    insert_rows(s, rows_for(s, config, case, notice, key=key, now=change.now))


def _change_detail(change: CaseChange) -> str | None:
    data = change.data
    if change.event == "case.status_changed" and data.get("reason"):
        return f"{data.get('from')} → {data.get('to')}: {data['reason']}"
    if change.event == "case.status_changed":
        return f"{data.get('from')} → {data.get('to')}"
    return None


def case_path(config: AppConfig, number: int) -> str:
    """The console path of a case; made absolute with ``CASEDESK_BASE_URL`` on delivery."""
    tid = format_ticket_id(number, prefix=config.tickets.prefix, digits=config.tickets.digits)
    return f"/console/cases/{tid}"


def notice_for(
    config: AppConfig,
    case: CaseView,
    event: str,
    *,
    sla_due: datetime | None = None,
    detail: str | None = None,
) -> CaseNotice:
    """The facts a notification about ``case`` carries (works on the transient created case)."""
    wf = config.lifecycle
    customer = case.customer
    who = None
    if customer is not None:
        who = f"{customer.name} <{customer.email}>" if customer.email else customer.name
    return CaseNotice(
        event=event,
        ticket_id=format_ticket_id(
            case.number, prefix=config.tickets.prefix, digits=config.tickets.digits
        ),
        case_url=case_path(config, case.number),
        subject=case.subject,
        priority=priority_name(case.priority),
        status=wf.status(case.status).name if wf.has_status(case.status) else case.status,
        channel=case.channel,
        team=case.team.name if case.team else None,
        assignee=(case.assignee.name or case.assignee.email) if case.assignee else None,
        customer=who,
        sla_due=sla_due,
        detail=detail,
        category=case.category,
        tags=tuple(case.tags),
    )


def rows_for(
    s: Session,
    config: AppConfig,
    case: CaseView,
    notice: CaseNotice,
    *,
    key: str,
    now: datetime,
    also: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Outbox rows for ``notice``: every routed destination plus ``also``, once each."""
    settings = notify_settings(config)
    routed = destinations_for(settings.routes, notice.event, notice.routing_facts())
    rows = []
    for dest_id in dict.fromkeys([*routed, *also]):
        dest = settings.destinations.get(dest_id)
        if dest is None:
            continue
        payload: dict[str, Any] = {"notice": notice.to_dict()}
        if dest.kind == "email":
            payload["to"] = _recipients(s, settings, dest_id, case)
            if not payload["to"]:
                continue
        rows.append(
            _row(f"{key}:{dest_id}", notice.event, case.number, dest_id, dest.kind, payload, now)
        )
    return rows


def _recipients(s: Session, settings: NotifySettings, dest_id: str, case: CaseView) -> list[str]:
    dest = settings.destinations[dest_id]
    out = list(dest.to)
    if dest.assignee and case.assignee is not None:
        out.append(case.assignee.email)
    if dest.team_leads and case.team_id is not None:
        out += s.scalars(
            select(User.email).where(
                User.team_id == case.team_id, User.role == "lead", User.active.is_(True)
            )
        ).all()
    return list(dict.fromkeys(a.lower() for a in out))


def _row(
    key: str,
    event: str,
    number: int | None,
    destination: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return {
        "dedupe_key": key[:200],
        "event": event,
        "case_number": number,
        "destination": destination,
        "kind": kind,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def insert_rows(s: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping any whose ``dedupe_key`` is already queued."""
    rows = list(rows)
    if not rows:
        return 0
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(T).on_conflict_do_nothing(index_elements=["dedupe_key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(T).on_conflict_do_nothing(index_elements=["dedupe_key"])
    else:  # pragma: no cover - only the two engines above are supported
        stmt = insert(T)
    s.execute(stmt, rows)
    return len(rows)


def enqueue_email(
    s: Session,
    message: EmailMessage,
    *,
    dedupe_key: str,
    now: datetime,
    case_number: int | None = None,
    event: str = "email",
) -> None:
    """Queue one e-mail (to a customer, say) for delivery through ``[email.outbound]``, in the
    caller's transaction, with the same retries, backoff and dead letters as notifications.
    The message is stored as sent; its headers name the recipients."""
    payload = {"raw": message.as_string()}
    insert_rows(s, [_row(dedupe_key, event, case_number, SMTP, "email", payload, now)])


def deliver_due(ctx: Context) -> int:
    """Deliver due outbox rows; returns how many were delivered."""
    from casedesk.services import outbox_delivery

    return outbox_delivery.deliver_due(ctx)
