"""SLA ledgers: applying policies to cases as they change, and the worker's sweep of due
clocks (warnings, breaches, escalations) and auto-close."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from casedesk.config import AppConfig

if TYPE_CHECKING:
    from casedesk.context import Context
    from casedesk.services.case_events import CaseChange


def on_case_change(s: Session, config: AppConfig, change: CaseChange) -> None:
    """Update the case's SLA ledger inside the transaction of ``change``."""
    return None


def sweep(ctx: Context) -> int:
    """Fire due warnings, breaches and escalations; returns how many fired."""
    return 0


def auto_close(ctx: Context) -> int:
    """Close solved cases quiet for the configured period; returns how many closed."""
    return 0
