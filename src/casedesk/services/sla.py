"""SLA ledgers: applying policies to cases as they change, and the worker's sweep of due
clocks (warnings, breaches, escalations) and auto-close.

``on_case_change`` runs inside the transaction of every case change and only touches the case's
own ledger rows (``sla_events``); the worker's jobs live in ``sla_sweep`` and ``auto_close``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.config_sla import sla_settings
from casedesk.domain import sla_clock as clocks
from casedesk.services import auto_close as closing
from casedesk.services import escalations, sla_events, sla_sweep
from casedesk.services import sla_ledger as ledger

if TYPE_CHECKING:
    from casedesk.context import Context
    from casedesk.services.case_events import CaseChange


def on_case_change(s: Session, config: AppConfig, change: CaseChange) -> None:
    """Update the case's SLA ledger inside the transaction of ``change``."""
    case, now, event = change.case, change.now, change.event
    if event == "case.created":
        sla_events.case_created(s, config, case, now)
    elif event == "case.message_added":
        if change.actor.kind == "user" and change.data.get("visibility") == "public":
            sla_events.agent_replied(s, config, case, now)
    elif event == "case.customer_replied":
        sla_events.customer_replied(s, config, case, now)
        if case.status_category == "solved":
            closing.arm(s, case.number, now + config.auto_close_after)
    elif event == "case.status_changed":
        before, after = change.data.get("from") or "", change.data.get("to") or case.status
        sla_events.status_changed(s, config, case, before, after, now)
        if config.lifecycle.category(after) == "solved":
            closing.arm(s, case.number, now + config.auto_close_after)
        elif config.lifecycle.has_status(before) and config.lifecycle.category(before) == "solved":
            closing.disarm(s, case.number)
    elif event == "case.updated" and sla_events.POLICY_FIELDS & set(
        change.data.get("changes") or ()
    ):
        sla_events.reevaluate(s, config, case, now)


def sweep(ctx: Context) -> int:
    """Fire due warnings, breaches and escalations; returns how many fired."""
    return sla_sweep.sweep(ctx)


def auto_close(ctx: Context) -> int:
    """Close solved cases quiet for the configured period; returns how many closed."""
    return closing.run(ctx)


def unknown_references(ctx: Context) -> list[str]:
    """Escalation teams and users missing from the database (checked at worker start-up)."""
    with ctx.db.read() as s:
        return escalations.unknown_references(s, sla_settings(ctx.config).policies)


def ledger_of(ctx: Context, number: int) -> list[dict[str, Any]]:
    """Every clock of a case, with its segments, elapsed and remaining time, for the API."""
    settings = sla_settings(ctx.config)
    now = ctx.clock.now()
    with ctx.db.read() as s:
        rows = ledger.all_rows(s, number)
    out = []
    for row in rows:
        clock = ledger.to_clock(row)
        calendar = settings.calendar(clock.calendar_id)
        elapsed = clocks.elapsed(clock, calendar, now)
        over = clocks.breach_amount(clock, calendar, now)
        breached_at = clock.breached_at
        if breached_at is None and over is not None:
            breached_at = clocks.breach_moment(clock, calendar, now)
        out.append(
            {
                "metric": clock.metric,
                "cycle": clock.cycle,
                "policy": clock.policy_id,
                "calendar": clock.calendar_id,
                "target_seconds": int(clock.target.total_seconds()),
                "started_at": clock.started_at,
                "state": clock.state,
                "due_at": row.due_at,
                "next_check_at": row.next_check_at,
                "met_at": clock.met_at,
                "stopped_by": row.stopped_by,
                "breached": over is not None or clock.breached_at is not None,
                "breached_at": breached_at,
                "breached_by_seconds": int(over.total_seconds()) if over else 0,
                "elapsed_seconds": int(elapsed.total_seconds()),
                "remaining_seconds": int((clock.target - elapsed).total_seconds()),
                "paused_seconds": sum(
                    seg["business_seconds"]
                    for seg in clocks.segments(clock, calendar, now)
                    if seg["kind"] == "paused"
                ),
                "segments": clocks.segments(clock, calendar, now),
                "fired": [
                    {"checkpoint": key, **value}
                    for key, value in sorted(
                        clock.fired.items(), key=lambda kv: kv[1].get("at", "")
                    )
                ],
                "history": list(row.history or ()),
            }
        )
    return out


def next_due(s: Session, number: int) -> datetime | None:
    return ledger.next_due(s, number)
