"""Whether a chat visitor is there to read a reply.

A connected widget keeps ``chat_sessions.present_until`` ``PRESENCE`` ahead (when it connects and
with each keep-alive, every 25 s) and sets it to the moment it closes; a crashed server's
sockets simply run out. A public reply on a chat case whose visitor is not present is e-mailed
to them (``channels.email.outbound``, unless ``[chat] email_when_away = false``), so a reply is
never missed because the visitor closed the page; a visitor who is there reads it in the widget.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from casedesk.db.contact_tables import ChatSession
from casedesk.db.session import Database

PRESENCE = timedelta(seconds=60)
KEEP_EVERY = 20.0  # seconds between a connected widget's refreshes of its presence


def arrive(db: Database, session_id: int, now: datetime) -> None:
    """The widget is connected: present for the next ``PRESENCE``."""
    _set(db, session_id, now + PRESENCE)


def leave(db: Database, session_id: int, now: datetime) -> None:
    _set(db, session_id, now)


def _set(db: Database, session_id: int, until: datetime) -> None:
    with db.write() as s:
        s.execute(
            update(ChatSession).where(ChatSession.id == session_id).values(present_until=until)
        )


def present(s: Session, case_number: int, now: datetime) -> bool:
    """Whether any widget of a chat on ``case_number`` is connected (in any process)."""
    until = s.scalar(
        select(func.max(ChatSession.present_until)).where(ChatSession.case_number == case_number)
    )
    if until is None:
        return False
    if until.tzinfo is None:  # max() over SQLite's text bypasses the column type
        until = datetime.fromisoformat(str(until)).replace(tzinfo=now.tzinfo)
    return bool(until > now)
