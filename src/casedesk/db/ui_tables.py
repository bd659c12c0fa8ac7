"""Tables of the web console: sessions and saved views."""

from __future__ import annotations

from casedesk.db.tables import Base

__all__ = ["Base"]
