"""Auto-close: a solved case with no customer activity for ``workflow.auto_close_after`` is
moved to its closed status by the system, through the workflow's rules.

Entering a solved status arms a timer (``sla_auto_close``, indexed by due time); a customer
message re-arms it; leaving the solved status removes it. The worker's job reads only timers
that are due, locks their cases (``SKIP LOCKED``) and checks the case again under the lock, so
two workers never close the same case twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.db.sla_tables import AutoCloseTimer
from casedesk.db.tables import Case
from casedesk.domain.actors import SYSTEM
from casedesk.domain.durations import format_duration
from casedesk.domain.errors import DomainError
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import case_rows

if TYPE_CHECKING:
    from casedesk.context import Context

log = logging.getLogger("casedesk.sla")
T = cast(Table, AutoCloseTimer.__table__)
BATCH = 200


def arm(s: Session, number: int, due: datetime) -> None:
    """Set (or move) the case's timer to ``due``."""
    dialect = s.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(T).values(case_number=number, due_at=due)
    s.execute(stmt.on_conflict_do_update(index_elements=["case_number"], set_={"due_at": due}))


def disarm(s: Session, number: int) -> None:
    s.execute(delete(T).where(T.c.case_number == number))


def quiet_since(case: Case) -> datetime | None:
    """The later of the case's resolution and the customer's last message."""
    moments = [m for m in (case.resolved_at, case.last_customer_activity_at) if m is not None]
    return max(moments) if moments else None


def run(ctx: Context, *, batch: int = BATCH) -> int:
    """Close the solved cases whose quiet period has passed; returns how many were closed."""
    closed = 0
    for _ in range(100):
        done, claimed = _batch(ctx, batch)
        closed += done
        if claimed < batch:
            break
    return closed


def _batch(ctx: Context, batch: int) -> tuple[int, int]:
    config, now = ctx.config, ctx.clock.now()
    with ctx.db.write() as s:
        numbers = s.scalars(
            select(T.c.case_number)
            .where(T.c.due_at <= now)
            .order_by(T.c.due_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not numbers:
            return 0, 0
        cases = s.scalars(
            select(Case)
            .where(Case.number.in_(numbers))
            .order_by(Case.number)
            .with_for_update(of=Case, skip_locked=True)
        ).unique()
        closed = sum(_close_one(s, config, case, now) for case in cases)
        return closed, len(numbers)


def _close_one(s: Session, config: AppConfig, case: Case, now: datetime) -> int:
    quiet = config.auto_close_after
    since = quiet_since(case)
    if case.status_category != "solved" or since is None:
        disarm(s, case.number)
        return 0
    if now - since < quiet:  # the customer spoke up after the timer was set
        s.execute(update(T).where(T.c.case_number == case.number).values(due_at=since + quiet))
        return 0
    target = config.lifecycle.acknowledge_target(case.status, "system")
    if target is None:
        log.error(
            "auto-close: the workflow has no transition the system may take from '%s' to a "
            "closed status; case %s stays open",
            case.status,
            case.number,
        )
        disarm(s, case.number)
        return 0
    request = TransitionRequest(reason=f"no customer activity for {format_duration(quiet)}")
    try:
        config.lifecycle.check(case.status, target, "system", request)
    except DomainError as exc:
        log.error("auto-close of case %s refused by the workflow: %s", case.number, exc.detail)
        disarm(s, case.number)
        return 0
    previous = case_rows.apply_status(case, config, target, request, now)
    case_rows.record(
        s,
        config,
        case,
        "case.status_changed",
        actor=SYSTEM,
        now=now,
        data={
            "from": previous,
            "to": target,
            "reason_code": "auto_close",
            "reason": request.reason,
            "resolution": None,
        },
    )
    return 1
