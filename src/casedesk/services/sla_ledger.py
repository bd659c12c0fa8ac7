"""The SLA ledger in the database: ``sla_clocks`` rows in and out of ``domain.sla_clock.Clock``.

Everything here runs inside a transaction that holds the case's lock (a case change, or the
worker's sweep), so a case's clocks change one writer at a time. Statements are Core and few:
creating a case costs one multi-row INSERT with the due times already computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from casedesk.config_sla import SlaSettings
from casedesk.db.sla_tables import SlaClock
from casedesk.db.tables import insert_rows
from casedesk.domain import sla_clock as clocks
from casedesk.domain.case_fields import priority_name
from casedesk.domain.escalation import Checkpoint, checkpoints
from casedesk.domain.sla_clock import Clock, PauseSegment
from casedesk.domain.sla_policy import DEFAULT_WARN_AT, Policy, case_facts, select_policy
from casedesk.services.case_rows import CaseView

T = cast(Table, SlaClock.__table__)
_UPDATED = (
    "policy_id",
    "calendar_id",
    "target_seconds",
    "state",
    "due_at",
    "next_check_at",
    "met_at",
    "stopped_by",
    "breached_at",
    "breach_seconds",
    "pauses",
    "fired",
    "history",
    "updated_at",
)
_UPDATE = (
    update(T)
    .where(T.c.id == bindparam("b_id"))
    .values({name: bindparam(f"v_{name}") for name in _UPDATED})
)
_INSERT = insert(T)


def facts_of(case: CaseView) -> dict[str, Any]:
    """What policies match on, from a case (attached, or the transient one of ``case.created``)."""
    return case_facts(
        priority=priority_name(case.priority),
        channel=case.channel,
        category=case.category,
        team=case.team.name if case.team else None,
        tags=case.tags,
        customer_email=case.customer.email if case.customer else None,
        custom_fields=case.custom_fields,
    )


def policy_of(settings: SlaSettings, case: CaseView) -> Policy | None:
    return select_policy(settings.policies, facts_of(case))


def points_of(settings: SlaSettings, clock: Clock) -> list[Checkpoint]:
    """The checkpoints of a clock under its policy (warnings and breach only if the policy has
    left the config since the clock started); computed once per policy, metric and target."""
    key = ("points", clock.policy_id, clock.metric, clock.target)
    found = settings.memo.get(key)
    if found is None:
        policy = settings.policy(clock.policy_id)
        found = settings.memo[key] = checkpoints(
            policy_id=clock.policy_id,
            metric=clock.metric,
            target=clock.target,
            warn_at=policy.warn_at if policy else DEFAULT_WARN_AT,
            levels=policy.escalation if policy else (),
        )
    return found


def to_clock(row: Row[Any]) -> Clock:
    return Clock(
        metric=row.metric,
        cycle=row.cycle,
        policy_id=row.policy_id,
        calendar_id=row.calendar_id,
        target=timedelta(seconds=row.target_seconds),
        started_at=row.started_at,
        state=row.state,
        pauses=tuple(PauseSegment.from_json(p) for p in row.pauses or ()),
        fired=dict(row.fired or {}),
        met_at=row.met_at,
        breached_at=row.breached_at,
    )


def values_of(
    settings: SlaSettings,
    clock: Clock,
    now: datetime,
    *,
    stopped_by: str | None = None,
    history: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The column values of ``clock`` with its due and next-check times computed for ``now``."""
    calendar = settings.calendar(clock.calendar_id)
    due, next_check = clocks.schedule(clock, calendar, points_of(settings, clock), now)
    over = clocks.breach_amount(clock, calendar, now) if not clock.is_open else None
    return {
        "policy_id": clock.policy_id,
        "calendar_id": clock.calendar_id,
        "target_seconds": int(clock.target.total_seconds()),
        "state": clock.state,
        "due_at": due,
        "next_check_at": next_check,
        "met_at": clock.met_at,
        "stopped_by": stopped_by,
        "breached_at": clock.breached_at,
        "breach_seconds": int(over.total_seconds()) if over else None,
        "pauses": [p.to_json() for p in clock.pauses],
        "fired": clock.fired,
        "history": list(history),
        "updated_at": now,
    }


def new_clock(
    policy: Policy, metric: str, cycle: int, start: datetime, pending: tuple[str, str | None] | None
) -> Clock:
    """A clock starting at ``start``; paused from the start when the case is pending."""
    target = policy.targets[metric]
    clock = Clock(metric, cycle, policy.id, target.calendar, target.duration, start)
    if pending is not None:
        clock = clocks.paused(clock, start, *pending)
    return clock


def insert_clocks(
    s: Session, settings: SlaSettings, number: int, new: Iterable[Clock], now: datetime
) -> None:
    rows = [
        {
            "case_number": number,
            "metric": c.metric,
            "cycle": c.cycle,
            "started_at": c.started_at,
            **values_of(settings, c, now),
        }
        for c in new
    ]
    insert_rows(s, _INSERT, rows)


def save(s: Session, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """UPDATE clock rows by id: ``changes`` holds (id, column values) pairs."""
    if changes:
        s.execute(
            _UPDATE,
            [{"b_id": i, **{f"v_{k}": v[k] for k in _UPDATED}} for i, v in changes],
        )


def open_rows(s: Session, number: int) -> list[Row[Any]]:
    """The running and paused clocks of a case, oldest first."""
    return list(
        s.execute(
            select(T)
            .where(T.c.case_number == number, T.c.state.in_(clocks.OPEN_STATES))
            .order_by(T.c.id)
        )
    )


def all_rows(s: Session, number: int) -> list[Row[Any]]:
    return list(
        s.execute(select(T).where(T.c.case_number == number).order_by(T.c.metric, T.c.cycle))
    )


def last_cycle(s: Session, number: int, metric: str) -> int:
    return int(
        s.scalar(
            select(func.coalesce(func.max(T.c.cycle), 0)).where(
                T.c.case_number == number, T.c.metric == metric
            )
        )
        or 0
    )


def has_clocks(s: Session, number: int) -> bool:
    return s.scalar(select(T.c.id).where(T.c.case_number == number).limit(1)) is not None


def next_due(s: Session, number: int) -> datetime | None:
    """The earliest due time of the case's running clocks (what notifications show)."""
    return s.scalar(
        select(func.min(T.c.due_at)).where(T.c.case_number == number, T.c.state == clocks.RUNNING)
    )
