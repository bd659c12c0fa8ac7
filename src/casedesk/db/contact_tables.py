"""Tables of the live channels: chat sessions, phone calls, portal sign-in tokens."""

from __future__ import annotations

from casedesk.db.tables import Base

__all__ = ["Base"]
