"""One SLA clock of a case (a metric in a cycle) as a plain value, and how it moves: pure rules.

A clock runs from ``started_at`` towards ``target`` of business time on its calendar. It stops
running in *pauses* (the case sat in a ``pending`` status) and outside the calendar's hours; the
arithmetic of both lives in ``casedesk.domain.sla``. The clock ends when the metric is met (or the
case is closed); a clock that ran past its target is *breached*, and the amount is kept.

``schedule`` gives the two instants the database indexes: ``due_at`` (when the target is reached;
``None`` while paused) and ``next_check_at`` (the next warning, breach or escalation checkpoint).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from casedesk.domain.escalation import Checkpoint, next_moment
from casedesk.domain.sla import (
    Calendar,
    Pause,
    business_time_between,
    due_with_pauses,
    elapsed_with_pauses,
)

RUNNING, PAUSED, MET, CANCELLED = "running", "paused", "met", "cancelled"
OPEN_STATES = (RUNNING, PAUSED)


@dataclass(frozen=True)
class PauseSegment:
    start: datetime
    end: datetime | None
    status: str
    reason_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "status": self.status,
            "reason_code": self.reason_code,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PauseSegment:
        end = data.get("end")
        return cls(
            datetime.fromisoformat(data["start"]),
            datetime.fromisoformat(end) if end else None,
            data.get("status") or "",
            data.get("reason_code"),
        )


@dataclass(frozen=True)
class Clock:
    metric: str
    cycle: int
    policy_id: str
    calendar_id: str
    target: timedelta
    started_at: datetime
    state: str = RUNNING
    pauses: tuple[PauseSegment, ...] = ()
    fired: dict[str, Any] = field(default_factory=dict)
    met_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def spans(self) -> list[Pause]:
        return [(p.start, p.end) for p in self.pauses]


def paused(clock: Clock, at: datetime, status: str, reason_code: str | None) -> Clock:
    """The clock stopped at ``at`` because the case entered ``status``."""
    if clock.state != RUNNING:
        return clock
    segment = PauseSegment(max(at, clock.started_at), None, status, reason_code)
    return replace(clock, state=PAUSED, pauses=(*clock.pauses, segment))


def resumed(clock: Clock, at: datetime) -> Clock:
    """The clock running again from ``at``; the pause is credited."""
    if clock.state != PAUSED:
        return clock
    *done, last = clock.pauses
    return replace(clock, state=RUNNING, pauses=(*done, replace(last, end=max(at, last.start))))


def _closed_pauses(clock: Clock, at: datetime) -> tuple[PauseSegment, ...]:
    return tuple(replace(p, end=max(at, p.start)) if p.end is None else p for p in clock.pauses)


def elapsed(clock: Clock, calendar: Calendar, now: datetime) -> timedelta:
    """Business time the clock has run by ``now`` (or by when it stopped)."""
    end = clock.met_at or now
    return elapsed_with_pauses(calendar, clock.started_at, end, clock.spans())


def due_at(clock: Clock, calendar: Calendar, now: datetime) -> datetime | None:
    if not clock.is_open:
        return None
    return due_with_pauses(calendar, clock.started_at, clock.target, clock.spans(), now)


def breach_moment(clock: Clock, calendar: Calendar, at: datetime) -> datetime:
    """When the target was reached, with every pause up to ``at`` closed."""
    spans = [(p.start, p.end) for p in _closed_pauses(clock, at)]
    moment = due_with_pauses(calendar, clock.started_at, clock.target, spans, at)
    assert moment is not None  # no running pause is left
    return moment


def schedule(
    clock: Clock, calendar: Calendar, points: Sequence[Checkpoint], now: datetime
) -> tuple[datetime | None, datetime | None]:
    """``(due_at, next_check_at)`` of an open clock; both ``None`` once stopped or paused."""
    if clock.state != RUNNING:
        return None, None
    spans = clock.spans()
    due = due_with_pauses(calendar, clock.started_at, clock.target, spans, now)
    return due, next_moment(calendar, clock.started_at, spans, points, clock.fired, now)


def stopped(clock: Clock, calendar: Calendar, at: datetime, *, state: str = MET) -> Clock:
    """The clock ended at ``at`` (met, or cancelled); a late end is a breach at its due time."""
    if not clock.is_open:
        return clock
    pauses = _closed_pauses(clock, at)
    done = replace(clock, state=state, pauses=pauses, met_at=at)
    if done.breached_at is None and elapsed(done, calendar, at) > clock.target:
        done = replace(done, breached_at=breach_moment(clock, calendar, at))
    return done


def breach_amount(clock: Clock, calendar: Calendar, now: datetime) -> timedelta | None:
    """How much business time past the target the clock ran; ``None`` when not breached."""
    over = elapsed(clock, calendar, now) - clock.target
    return over if over > timedelta(0) else None


def segments(clock: Clock, calendar: Calendar, now: datetime) -> list[dict[str, Any]]:
    """Running and paused stretches from start to stop (or ``now``), each with the business time
    it holds: together they explain the elapsed time, and so any breach."""
    end = clock.met_at or now
    out: list[dict[str, Any]] = []
    cursor = clock.started_at
    for p in clock.pauses:
        stop = p.end or end
        if p.start > cursor:
            out.append(_segment("running", cursor, p.start, calendar))
        out.append(
            {
                **_segment("paused", p.start, stop if p.end else None, calendar, until=stop),
                "status": p.status,
                "reason_code": p.reason_code,
            }
        )
        cursor = max(cursor, stop)
    if end > cursor or not out or clock.state == RUNNING:
        out.append(_segment("running", cursor, clock.met_at, calendar, until=end))
    return out


def _segment(
    kind: str,
    start: datetime,
    end: datetime | None,
    calendar: Calendar,
    *,
    until: datetime | None = None,
) -> dict[str, Any]:
    stop = until or end or start
    return {
        "kind": kind,
        "start": start,
        "end": end,
        "business_seconds": int(business_time_between(calendar, start, stop).total_seconds()),
        "wall_seconds": int(max(stop - start, timedelta(0)).total_seconds()),
    }
