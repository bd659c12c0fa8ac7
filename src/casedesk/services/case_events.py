"""What follows any change to a case inside the same transaction.

``services.cases`` calls ``after_change`` once per change, after the row and its audit event
are written and before commit; the SLA ledger and the notification outbox hook in here, so
their rows commit or roll back together with the change that caused them.

On ``case.created`` the case was inserted with a Core statement and ``change.case`` is a
``CaseSnapshot`` (same attribute names as ``Case``) that no session tracks: consequences write
their own rows (or UPDATE statements) rather than setting attributes on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from casedesk.config import AppConfig
from casedesk.db.tables import Case

if TYPE_CHECKING:
    from casedesk.services.case_rows import CaseSnapshot
from casedesk.domain.actors import Actor

EVENTS = (
    "case.created",
    "case.updated",
    "case.assigned",
    "case.status_changed",
    "case.message_added",
    "case.customer_replied",
)


@dataclass(frozen=True)
class CaseChange:
    event: str
    case: Case | CaseSnapshot
    actor: Actor
    now: datetime
    data: dict[str, Any] = field(default_factory=dict)


def after_change(s: Session, config: AppConfig, change: CaseChange) -> None:
    """Run every same-transaction consequence of ``change``."""
    from casedesk.services import outbox, sla  # they import this module's types

    sla.on_case_change(s, config, change)
    outbox.on_case_change(s, config, change)
