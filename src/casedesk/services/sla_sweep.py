"""The worker's SLA sweep: fire due warnings, breaches and escalation levels, each exactly once.

A batch is one transaction:

1. claim up to ``BATCH`` clock rows whose ``next_check_at`` has passed, through the partial index
   on it, ``FOR UPDATE SKIP LOCKED`` (another worker takes the next rows instead of waiting);
2. lock their cases, ``SKIP LOCKED`` too, so a case being changed right now is left for the next
   pass rather than waited for (the lock is never awaited here, so it cannot deadlock with a
   change that holds the case and waits for its clocks);
3. for each clock, the checkpoints reached by its elapsed business time are recorded in the
   ledger (``fired``), in the audit trail (system actor, case chain; written for the whole batch
   at once by ``audit_batch``) and in the outbox;
4. escalation levels that change the case do it through ``services.escalations``.

Checkpoint keys make every firing idempotent: a clock's ``fired`` map is updated in the same
transaction as the audit event and the outbox rows, and the outbox's ``dedupe_key`` derives from
case, metric, cycle and checkpoint. On SQLite the single writer lock serialises all of this.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.config_sla import SlaSettings, sla_settings
from casedesk.db.tables import Case, CaseTag, Customer, Team, User
from casedesk.domain import sla_clock as clocks
from casedesk.domain.actors import SYSTEM
from casedesk.domain.durations import format_duration
from casedesk.domain.escalation import Checkpoint, due_now
from casedesk.domain.sla_clock import Clock
from casedesk.services import escalations, outbox
from casedesk.services import sla_ledger as ledger
from casedesk.services.audit_batch import NewEvent, record_many
from casedesk.services.case_rows import CaseSnapshot

if TYPE_CHECKING:
    from casedesk.context import Context

log = logging.getLogger("casedesk.sla")
T = ledger.T
BATCH = 1000
MAX_BATCHES = 200
ACTIONS = {"warning": "sla.warning", "breach": "sla.breached", "escalation": "sla.escalated"}
NOTICE_EVENTS = {"warning": "sla.warning", "breach": "sla.breached", "escalation": "case.escalated"}
LABELS = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


@dataclass(frozen=True)
class Firing:
    case: CaseSnapshot
    clock: Clock
    point: Checkpoint
    due_at: datetime | None
    elapsed_seconds: int


def sweep(ctx: Context, *, batch: int = BATCH) -> int:
    """Fire everything due; returns how many checkpoints fired."""
    total = 0
    for _ in range(MAX_BATCHES):
        try:
            fired, claimed = sweep_batch(ctx, batch=batch)
        except DBAPIError as exc:
            # Two workers whose escalations both re-time clocks of cases the other claimed rows
            # of can deadlock; PostgreSQL aborts one batch, which is rolled back whole and is
            # simply run again.
            if "deadlock" not in str(exc.orig).lower():
                raise
            log.info("SLA sweep batch lost a deadlock; running it again")
            continue
        total += fired
        if claimed < batch:
            break
    return total


def sweep_batch(ctx: Context, *, batch: int = BATCH) -> tuple[int, int]:
    """One transaction over up to ``batch`` due clocks; returns (fired, claimed)."""
    config, now = ctx.config, ctx.clock.now()
    settings = sla_settings(config)
    with ctx.db.write() as s:
        claimed = s.execute(
            select(T.c.id, T.c.case_number)
            .where(T.c.next_check_at <= now)
            .order_by(T.c.next_check_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        if not claimed:
            return 0, 0
        cases = lock_cases(s, sorted({r.case_number for r in claimed}))
        ids = [r.id for r in claimed if r.case_number in cases]
        rows = s.execute(select(T).where(T.c.id.in_(ids)).order_by(T.c.case_number, T.c.id)).all()
        firings, updates = _evaluate(settings, cases, rows, now)
        ledger.save(s, updates)
        _announce(s, config, firings, now)
        return len(firings), len(claimed)


def lock_cases(s: Session, numbers: list[int]) -> dict[int, CaseSnapshot]:
    """Lock the cases that are free (``SKIP LOCKED``) and read what notices need, with Core:
    loading a thousand ORM cases with their relationships would cost more than the sweep."""
    rows = s.execute(
        select(
            *(getattr(Case, name) for name in _CASE_COLUMNS),
            Team.name.label("team_name"),
            User.name.label("assignee_name"),
            User.email.label("assignee_email"),
            Customer.name.label("customer_name"),
            Customer.email.label("customer_email"),
        )
        .outerjoin(Team, Team.id == Case.team_id)
        .outerjoin(User, User.id == Case.assignee_id)
        .outerjoin(Customer, Customer.id == Case.customer_id)
        .where(Case.number.in_(numbers))
        .order_by(Case.number)
        .with_for_update(of=Case, skip_locked=True)
    ).all()
    tags: dict[int, list[str]] = {r.number: [] for r in rows}
    if tags:
        for number, tag in s.execute(
            select(CaseTag.case_number, CaseTag.tag)
            .where(CaseTag.case_number.in_(list(tags)))
            .order_by(CaseTag.case_number, CaseTag.tag)
        ):
            tags[number].append(tag)
    return {
        r.number: CaseSnapshot(
            **{name: getattr(r, name) for name in _CASE_COLUMNS},
            team=SimpleNamespace(name=r.team_name) if r.team_id else None,
            assignee=SimpleNamespace(name=r.assignee_name, email=r.assignee_email)
            if r.assignee_id
            else None,
            customer=SimpleNamespace(name=r.customer_name, email=r.customer_email)
            if r.customer_id
            else None,
            tags=tags[r.number],
        )
        for r in rows
    }


_CASE_COLUMNS = (
    "number",
    "subject",
    "description",
    "channel",
    "customer_id",
    "priority",
    "category",
    "custom_fields",
    "team_id",
    "assignee_id",
    "status",
    "status_category",
    "created_at",
    "updated_at",
    "last_customer_activity_at",
    "reopen_count",
    "first_response_at",
    "resolved_at",
)


def _evaluate(
    settings: SlaSettings, cases: dict[int, CaseSnapshot], rows: Sequence[Any], now: datetime
) -> tuple[list[Firing], list[tuple[int, dict[str, Any]]]]:
    firings: list[Firing] = []
    updates = []
    for row in rows:
        clock = ledger.to_clock(row)
        calendar = settings.calendar(clock.calendar_id)
        fire: list[Checkpoint] = []
        elapsed = clocks.elapsed(clock, calendar, now)
        if clock.state == clocks.RUNNING:
            fire, skip = due_now(ledger.points_of(settings, clock), clock.fired, elapsed)
            for point in fire + skip:
                clock.fired[point.key] = {
                    "at": now.isoformat(),
                    "kind": point.kind,
                    **({"skipped": True} if point in skip else {}),
                }
            if any(p.kind == "breach" for p in fire) and clock.breached_at is None:
                clock = replace(
                    clock, breached_at=row.due_at or clocks.breach_moment(clock, calendar, now)
                )
        values = ledger.values_of(
            settings, clock, now, stopped_by=row.stopped_by, history=row.history or ()
        )
        updates.append((row.id, values))
        seconds = int(elapsed.total_seconds())
        firings += [Firing(cases[row.case_number], clock, p, row.due_at, seconds) for p in fire]
    return firings, updates


def _announce(s: Session, config: AppConfig, firings: list[Firing], now: datetime) -> None:
    """Audit events, outbox rows and escalation actions of the fired checkpoints."""
    rows: list[dict[str, Any]] = []
    events: list[NewEvent] = []
    actions = []
    for f in firings:
        level = f.point.level
        todo = escalations.plan(s, f.case, level) if level and level.changes_case else None
        data: dict[str, Any] = {
            "metric": f.clock.metric,
            "cycle": f.clock.cycle,
            "policy": f.clock.policy_id,
            "checkpoint": f.point.key,
            "target": format_duration(f.clock.target),
            "due_at": f.due_at.isoformat() if f.due_at else None,
            "elapsed_seconds": f.elapsed_seconds,
        }
        if level is not None:
            data["level"] = level.index
            data["at"] = level.at.text
            data["notify"] = list(level.notify)
            if todo is not None:
                data.update(todo.describe())
        events.append(NewEvent(f"case:{f.case.number}", f.case.number, ACTIONS[f.point.kind], data))
        notice = outbox.notice_for(
            config, f.case, NOTICE_EVENTS[f.point.kind], sla_due=f.due_at, detail=_detail(f)
        )
        key = f"sla:{f.case.number}:{f.clock.metric}:{f.clock.cycle}:{f.point.key}"
        rows += outbox.rows_for(
            s, config, f.case, notice, key=key, now=now, also=level.notify if level else ()
        )
        if todo is not None:
            actions.append((f, todo, key))
    record_many(s, events, actor=SYSTEM, now=now)
    outbox.insert_rows(s, rows)
    for f, todo, key in actions:
        # the case is locked already; only cases that an escalation changes are loaded as ORM
        case = s.get_one(Case, f.case.number)
        escalations.apply(s, config, case, todo, key=key, now=now)


def _detail(f: Firing) -> str:
    label, target = LABELS[f.clock.metric], format_duration(f.clock.target)
    if f.point.kind == "warning":
        return f"{label}: {f.point.fraction:.0%} of the {target} target used"
    if f.point.kind == "breach":
        return f"{label} target of {target} breached"
    assert f.point.level is not None
    return f"{label}: escalation level {f.point.level.index + 1} ({f.point.level.at.text})"
