"""Reading the audit trail: filtered pages ordered by event id (oldest or newest first)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

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
    query = _filtered(
        query, case_number=case_number, action=action, actor=actor, since=since, until=until
    )
    if after:
        query = query.where(AuditEvent.id > after)
    return _page(db, query, limit)


def events_newest_first(
    db: Database,
    *,
    case_number: int | None = None,
    action: str | None = None,
    actor: str | None = None,
    scope: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int = 100,
) -> tuple[list[AuditEvent], int | None]:
    """A page of audit events, newest first, and the id to continue before (keyset on the
    primary key, so every page costs the same)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    query = _filtered(
        query,
        case_number=case_number,
        action=action,
        actor=actor,
        scope=scope,
        since=since,
        until=until,
    )
    if before:
        query = query.where(AuditEvent.id < before)
    return _page(db, query, limit)


def _filtered(
    query: Select[AuditEvent],
    *,
    case_number: int | None,
    action: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    scope: str | None = None,
) -> Select[AuditEvent]:
    if case_number is not None:
        query = query.where(AuditEvent.case_number == case_number)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor_label == actor)
    if scope:
        query = query.where(AuditEvent.scope == scope)
    if since:
        query = query.where(AuditEvent.occurred_at >= since)
    if until:
        query = query.where(AuditEvent.occurred_at < until)
    return query


def _page(
    db: Database, query: Select[AuditEvent], limit: int
) -> tuple[list[AuditEvent], int | None]:
    """Run a query limited to ``limit + 1`` rows: the page, and its last id if there are more."""
    with db.read() as s:
        rows = list(s.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
