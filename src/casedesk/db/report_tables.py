"""Tables that reports and search keep: clusters of similar cases."""

from __future__ import annotations

from casedesk.db.tables import Base

__all__ = ["Base"]
