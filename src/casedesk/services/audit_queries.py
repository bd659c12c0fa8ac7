"""Reading the audit trail: filtered pages ordered by event id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from casedesk.db.session import Database
from casedesk.db.tables import AuditEvent


def events(
    db: Database,
    *,
    case_number: int | None = None,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: int | None = None,
    limit: int = 200,
) -> tuple[list[AuditEvent], int | None]:
    """A page of events and the id to continue after, if there are more."""
    query = select(AuditEvent).order_by(AuditEvent.id).limit(limit + 1)
    if case_number is not None:
        query = query.where(AuditEvent.case_number == case_number)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor_label == actor)
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    if after:
        query = query.where(AuditEvent.id > after)
    with db.read() as s:
        rows = list(s.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
