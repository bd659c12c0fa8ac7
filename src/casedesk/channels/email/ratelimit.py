"""The per-sender brake on a mail storm: at most ``rate_messages`` messages from one address in
a fixed window of ``rate_per`` seconds (``[email] rate_limit``).

The counter lives in the database, so every intake path (SMTP listener, IMAP poller, webhook,
in any number of processes) counts against the same window. Messages over the limit are not
refused at the door: the caller quarantines them with the reason, so nothing is lost and an
admin can take them in later.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from casedesk.config_email import EmailSettings
from casedesk.db.channel_tables import EmailSenderRate
from casedesk.db.tables import table

T = table(EmailSenderRate)


@lru_cache(maxsize=4)
def _count_statement(dialect: str) -> Any:
    """One statement starts a window or counts into the current one; a stale window restarts.
    Built once per dialect: it runs for every message taken in."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = bindparam("now", type_=T.c.window_start.type)
    new_row = insert(T).values(sender=bindparam("sender"), window_start=now, count=1)
    stale = T.c.window_start <= bindparam("stale_before", type_=T.c.window_start.type)
    return new_row.on_conflict_do_update(
        index_elements=["sender"],
        set_={
            "window_start": case((stale, now), else_=T.c.window_start),
            "count": case((stale, 1), else_=T.c.count + 1),
        },
    ).returning(T.c.count, T.c.window_start)


def admit(s: Session, settings: EmailSettings, sender: str, *, now: datetime) -> str | None:
    """Count one message from ``sender``; ``None`` when it is within the limit, else the
    reason to quarantine it. Runs inside the caller's transaction (one row lock per sender)."""
    sender = sender.strip().lower()[:320]
    window = timedelta(seconds=settings.rate_per)
    stmt = _count_statement(s.get_bind().dialect.name)
    count, started = s.execute(
        stmt, {"sender": sender, "now": now, "stale_before": now - window}
    ).one()
    if count <= settings.rate_messages:
        return None
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    until = started + window
    return (
        f"rate limit: {count} messages from {sender} since "
        f"{started:%Y-%m-%d %H:%M:%S} UTC (at most {settings.rate_messages} per "
        f"{int(settings.rate_per)}s); the window ends at {until:%H:%M:%S} UTC"
    )


def forget(s: Session, sender: str) -> None:
    """Undo one count (a message that turned out to be a duplicate must not use up quota)."""
    s.execute(
        update(T)
        .where(T.c.sender == sender.strip().lower()[:320], T.c.count > 0)
        .values(count=T.c.count - 1)
    )


def current(s: Session, sender: str) -> int:
    return s.scalar(select(T.c.count).where(T.c.sender == sender.strip().lower())) or 0
