"""The notification outbox: rows written in the transaction of the event that caused them,
delivered after commit by the worker with retries, de-duplication and a dead-letter list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from casedesk.config import AppConfig

if TYPE_CHECKING:
    from casedesk.context import Context
    from casedesk.services.case_events import CaseChange


def on_case_change(s: Session, config: AppConfig, change: CaseChange) -> None:
    """Queue the notifications that the routing rules send for ``change``."""
    return None


def deliver_due(ctx: Context) -> int:
    """Deliver due outbox rows; returns how many were delivered."""
    return 0
