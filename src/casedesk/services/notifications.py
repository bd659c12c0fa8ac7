"""What admins do with notifications: read the dead letters, send one again, test a
destination, and see how the queue stands."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, func, select, update

from casedesk.config_notify import notify_settings
from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict, InvalidInput, NotFound
from casedesk.notify.delivery import DeliveryResult, deliver, make_client
from casedesk.notify.email import build_notice_email, send_message
from casedesk.notify.message import CaseNotice
from casedesk.services import audit
from casedesk.services.outbox import DEAD, PENDING, T
from casedesk.services.outbox_delivery import resolve

if TYPE_CHECKING:
    from casedesk.context import Context

MAX_LIMIT = 500
log = logging.getLogger("casedesk.outbox")


def dead_letters(
    ctx: Context, *, after: int | None = None, limit: int = 100
) -> tuple[list[Row[Any]], int | None]:
    """Dead letters, oldest first, and the cursor of the next page."""
    with ctx.db.read() as s:
        query = select(T).where(T.c.status == DEAD).order_by(T.c.id).limit(limit + 1)
        if after is not None:
            query = query.where(T.c.id > after)
        rows = list(s.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


def retry(ctx: Context, item_id: int, *, actor: Actor) -> Row[Any]:
    """Put a dead letter back in the queue, due now, with its attempts counted afresh."""
    now = ctx.clock.now()
    with ctx.db.write() as s:
        row = s.execute(select(T).where(T.c.id == item_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"no notification {item_id}")
        if row.status != DEAD:
            raise Conflict(f"notification {item_id} is {row.status}, not a dead letter")
        s.execute(
            update(T)
            .where(T.c.id == item_id)
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                dead_at=None,
                claim_token=None,
                updated_at=now,
            )
        )
        audit.record(
            s,
            scope=f"notification:{item_id}",
            action="notification.retried",
            actor=actor,
            now=now,
            case_number=row.case_number,
            data={
                "destination": row.destination,
                "event": row.event,
                "attempts": row.attempts,
                "last_error": row.last_error,
            },
        )
        return s.execute(select(T).where(T.c.id == item_id)).one()


def summary(ctx: Context) -> dict[str, Any]:
    """Counts per status, the oldest pending item's age and the configured destinations."""
    settings = notify_settings(ctx.config)
    with ctx.db.read() as s:
        counts: dict[str, int] = dict(
            s.execute(select(T.c.status, func.count()).group_by(T.c.status)).all()
        )
        oldest = s.scalar(select(func.min(T.c.created_at)).where(T.c.status == PENDING))
    return {
        "counts": {k: counts.get(k, 0) for k in ("pending", "delivered", "dead")},
        "oldest_pending_at": oldest,
        "destinations": [{"id": d.id, "kind": d.kind} for d in settings.destinations.values()],
        "max_attempts": settings.max_attempts,
    }


@dataclass(frozen=True)
class TestResult:
    destination: str
    ok: bool
    status: int | None
    error: str | None


def send_test(
    ctx: Context, destination: str, *, actor: Actor, to: Sequence[str] = ()
) -> TestResult:
    """Send a test notice to one destination now (not queued) and say what happened."""
    settings = notify_settings(ctx.config)
    dest = settings.destinations.get(destination)
    if dest is None:
        known = ", ".join(settings.destinations) or "none are configured"
        raise InvalidInput(
            f"unknown destination '{destination}'; known: {known}", field="destination"
        )
    notice = CaseNotice(
        event="test",
        ticket_id="TEST",
        case_url=ctx.settings.base_url.rstrip("/") + "/admin",
        subject=f"Test notification to {dest.id}, requested by {actor.label}",
        priority="normal",
        status="Test",
        channel="api",
        detail="If you can read this, casedesk can reach this destination.",
    )
    key = f"test:{dest.id}:{datetime.now(UTC).timestamp()}"
    result: DeliveryResult
    if dest.kind == "email":
        if settings.outbound is None:
            raise InvalidInput("no [email.outbound] is configured", field="destination")
        recipients = list(to or dest.to)
        if not recipients:
            raise InvalidInput("give the address to test with in 'to'", field="to")
        message = build_notice_email(
            notice, sender=settings.outbound.sender, to=recipients, dedupe_key=key
        )
        result = send_message(settings.outbound, message)
    else:
        target = resolve(dest)
        if isinstance(target, DeliveryResult):
            result = target
        else:
            with make_client(settings.timeout) as client:
                result = deliver(client, target, notice, dedupe_key=key)
    log.info(
        "test notification to %s by %s: ok=%s %s",
        dest.id,
        actor.label,
        result.ok,
        result.error or "",
    )
    return TestResult(dest.id, result.ok, result.status, result.error)
