"""Tables of SLA ledgers, escalations and the notification outbox."""

from __future__ import annotations

from casedesk.db.tables import Base

__all__ = ["Base"]
