"""``/api/v1/audit``: the whole trail for leads and auditors, and its verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from casedesk.context import Context
from casedesk.services import audit, audit_queries
from casedesk.web.deps import Principal, admins, context, leads
from casedesk.web.schemas import EventOut, EventPage

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Ctx = Annotated[Context, Depends(context)]


@router.get("/events", response_model=EventPage)
def list_events(
    ctx: Ctx,
    _: Annotated[Principal, Depends(leads)],
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> EventPage:
    """Events oldest first, filtered by action, actor label and time range."""
    rows, nxt = audit_queries.events(
        ctx.db, action=action, actor=actor, since=since, until=until, after=cursor, limit=limit
    )
    return EventPage(
        items=[EventOut.of(e, ctx.config) for e in rows], next_cursor=str(nxt) if nxt else None
    )


@router.get("/verify")
def verify(ctx: Ctx, _: Annotated[Principal, Depends(admins)]) -> dict[str, Any]:
    """Re-check every chain now; ``first_break`` names the first bad event."""
    result = audit.verify(ctx.db)
    return {
        "ok": result.ok,
        "events": result.events,
        "seals": result.seals,
        "first_break": str(result.first) if result.first else None,
        "breaks": [str(b) for b in result.breaks[:100]],
    }
