"""Tables of the intake channels: quarantine, participants, chat sessions, calls, logins."""

from __future__ import annotations

from casedesk.db.tables import Base

__all__ = ["Base"]
