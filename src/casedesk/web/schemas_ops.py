"""API shapes of the operations routes: a case's SLA ledger and the notification outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from casedesk.config import AppConfig
from casedesk.services.case_rows import ticket_id
from casedesk.web.schemas import _In


class SlaSegmentOut(BaseModel):
    kind: Literal["running", "paused"]
    start: datetime
    end: datetime | None = Field(description="None while the segment is still going on")
    business_seconds: int = Field(description="Working time on the clock's calendar it holds")
    wall_seconds: int
    status: str | None = None
    reason_code: str | None = None


class SlaFiredOut(BaseModel):
    checkpoint: str = Field(description="warn:0.75, breach or esc:<policy>:<level>")
    at: datetime
    kind: str
    skipped: bool = False
    late: bool = False


class SlaClockOut(BaseModel):
    metric: Literal["first_response", "next_response", "resolution"]
    cycle: int
    policy: str
    calendar: str
    target_seconds: int
    started_at: datetime
    state: Literal["running", "paused", "met", "cancelled"]
    due_at: datetime | None = Field(description="None while paused or stopped")
    next_check_at: datetime | None
    met_at: datetime | None
    stopped_by: str | None
    breached: bool
    breached_at: datetime | None
    breached_by_seconds: int
    elapsed_seconds: int
    remaining_seconds: int = Field(description="Negative once breached")
    paused_seconds: int
    segments: list[SlaSegmentOut]
    fired: list[SlaFiredOut]
    history: list[dict[str, Any]]


class SlaLedgerOut(BaseModel):
    case_id: str
    clocks: list[SlaClockOut]


class NotificationOut(BaseModel):
    id: int
    event: str
    case_id: str | None
    destination: str
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status: int | None
    created_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None

    @classmethod
    def of(cls, row: Any, config: AppConfig) -> NotificationOut:
        return cls(
            id=row.id,
            event=row.event,
            case_id=ticket_id(config, row.case_number) if row.case_number else None,
            destination=row.destination,
            kind=row.kind,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            last_status=row.last_status,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            dead_at=row.dead_at,
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class NotificationTestIn(_In):
    destination: str = Field(min_length=1, max_length=100)
    to: list[str] = Field(default_factory=list, max_length=10, description="E-mail destinations")


class NotificationTestOut(BaseModel):
    destination: str
    ok: bool
    status: int | None
    error: str | None


class NotificationSummaryOut(BaseModel):
    counts: dict[str, int]
    oldest_pending_at: datetime | None
    destinations: list[dict[str, str]]
    max_attempts: int
