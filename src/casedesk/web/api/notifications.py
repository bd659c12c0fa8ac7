"""``/api/v1/notifications``: dead letters and retries, a test send, the queue's state (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from casedesk.context import Context
from casedesk.services import notifications
from casedesk.web.deps import Principal, admins, context
from casedesk.web.schemas_ops import (
    NotificationOut,
    NotificationPage,
    NotificationSummaryOut,
    NotificationTestIn,
    NotificationTestOut,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
Ctx = Annotated[Context, Depends(context)]
Admin = Annotated[Principal, Depends(admins)]


@router.get("/dead-letters", response_model=NotificationPage)
def dead_letters(
    ctx: Ctx,
    _: Admin,
    cursor: int | None = None,
    limit: Annotated[int, Query(ge=1, le=notifications.MAX_LIMIT)] = 100,
) -> NotificationPage:
    """Notifications given up on (a permanent error, or every attempt failed), oldest first."""
    rows, nxt = notifications.dead_letters(ctx, after=cursor, limit=limit)
    return NotificationPage(
        items=[NotificationOut.of(r, ctx.config) for r in rows],
        next_cursor=str(nxt) if nxt else None,
    )


@router.post("/dead-letters/{nid}/retry", response_model=NotificationOut)
def retry(nid: int, ctx: Ctx, who: Admin) -> NotificationOut:
    """Queue a dead letter again, due now with a fresh attempt count; 409 if it is not dead."""
    row = notifications.retry(ctx, nid, actor=who.actor)
    return NotificationOut.of(row, ctx.config)


@router.post("/test", response_model=NotificationTestOut)
def test(body: NotificationTestIn, ctx: Ctx, who: Admin) -> NotificationTestOut:
    """Send a test message to a destination now and report the receiver's answer."""
    result = notifications.send_test(ctx, body.destination, actor=who.actor, to=body.to)
    return NotificationTestOut(**result.__dict__)


@router.get("/summary", response_model=NotificationSummaryOut)
def summary(ctx: Ctx, _: Admin) -> NotificationSummaryOut:
    """How many notifications are pending, delivered and dead, and the destinations."""
    return NotificationSummaryOut(**notifications.summary(ctx))
