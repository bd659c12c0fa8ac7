"""IMAP polling of the configured mailboxes (``[[email.imap]]``), run by the worker.

Each pass, a mailbox whose poll is due is claimed in the database (``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so of several workers only one polls it) and its next poll is set ``interval``
ahead. The poller then reads the unseen messages of the folder without marking them
(``BODY.PEEK``), hands each to ``inbound.take`` and flags it ``\\Seen`` only once it is stored or
quarantined. A crash in between leaves it unseen: the next poll takes it again, and since its
Message-ID is stored that creates nothing new. When the database is unreachable the pass stops
and the rest stays unseen. A message over twice ``max_message_bytes`` is not downloaded: its
header goes to the quarantine and the message stays in the mailbox (flagged seen).

Errors (unreachable server, refused login, missing password variable) are recorded on the
mailbox's state row (``mailbox_status``) and logged; the next poll tries again.

Mailboxes with ``idle = true`` are watched over IMAP IDLE by ``imap_idle``, which holds the same
state row as a lease (``claim_until``) and reuses ``take_one``; the worker's poll pass skips
the mailboxes a thread of its own process watches.
"""

from __future__ import annotations

import imaplib
import logging
import os
import re
import ssl
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags
from imap_tools.errors import ImapToolsError
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from casedesk.channels.email import quarantine
from casedesk.channels.email.inbound import TemporaryFailure, take
from casedesk.config_email import ImapMailbox, email_settings
from casedesk.db.channel_tables import EmailMailbox
from casedesk.db.tables import table

if TYPE_CHECKING:
    from imap_tools.mailbox import BaseMailBox

    from casedesk.context import Context

log = logging.getLogger("casedesk.imap")
T = table(EmailMailbox)
BATCH = 200  # messages per mailbox per poll; the rest waits for the next one
TIMEOUT = 30.0
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
# What a broken connection, a refused login or a misbehaving server raises.
CONNECTION_ERRORS = (ImapToolsError, imaplib.IMAP4.error, OSError, ssl.SSLError)


def poll_due(ctx: Context, *, skip: Collection[str] = ()) -> int:
    """Fetch new mail from mailboxes whose poll is due, except those whose key is in ``skip``
    (watched over IDLE by this process); returns how many messages were taken."""
    taken = 0
    for mailbox in email_settings(ctx.config).imap:
        if mailbox.key not in skip and claim(ctx, mailbox):
            taken += poll(ctx, mailbox)
    return taken


def claim(ctx: Context, mailbox: ImapMailbox) -> bool:
    """Whether this process should poll ``mailbox`` now; if so, its next poll moves ahead."""
    return claim_until(ctx, mailbox, mailbox.interval) is not None


def claim_until(ctx: Context, mailbox: ImapMailbox, seconds: float) -> datetime | None:
    """Claim ``mailbox`` if it is due, moving its next poll ``seconds`` ahead; returns that new
    ``next_poll_at`` (which an IDLE holder keeps as its lease token), or ``None`` when the
    mailbox is not due or another worker holds its row right now."""
    now = ctx.clock.now()
    until = now + timedelta(seconds=seconds)
    with ctx.db.write() as s:
        insert = pg_insert if ctx.db.is_postgresql else sqlite_insert
        s.execute(
            insert(T)
            .values(key=mailbox.key, next_poll_at=now, taken=0)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        due = s.scalar(
            select(T.c.key)
            .where(T.c.key == mailbox.key, T.c.next_poll_at <= now)
            .with_for_update(skip_locked=True)
        )
        if due is None:
            return None
        s.execute(
            update(T).where(T.c.key == mailbox.key).values(next_poll_at=until, last_polled_at=now)
        )
    return until


def poll(ctx: Context, mailbox: ImapMailbox, *, batch: int = BATCH) -> int:
    """Take the unseen messages of one mailbox now; returns how many were taken."""
    password = os.environ.get(mailbox.password_env)
    if password is None:
        record_poll(ctx, mailbox, 0, f"environment variable {mailbox.password_env} is not set")
        return 0
    taken = 0
    try:
        with connect(mailbox) as box:
            box.login(mailbox.user, password, initial_folder=mailbox.folder)
            for uid in box.uids("UNSEEN")[:batch]:
                if not take_one(ctx, box, uid):
                    break
                taken += 1
    except CONNECTION_ERRORS as exc:
        # imaplib's errors may quote the server's answer, never the password.
        record_poll(ctx, mailbox, taken, f"{type(exc).__name__}: {exc}"[:500])
        log.warning("IMAP %s: %s", mailbox.key, exc)
        return taken
    record_poll(ctx, mailbox, taken, None)
    return taken


def connect(mailbox: ImapMailbox) -> BaseMailBox:
    if mailbox.tls or mailbox.starttls:
        context = ssl.create_default_context(cafile=mailbox.ca_file)
        if mailbox.tls:
            return MailBox(mailbox.host, mailbox.port, timeout=TIMEOUT, ssl_context=context)
        return MailBoxStartTls(mailbox.host, mailbox.port, timeout=TIMEOUT, ssl_context=context)
    return MailBoxUnencrypted(mailbox.host, mailbox.port, timeout=TIMEOUT)


def take_one(ctx: Context, box: BaseMailBox, uid: str) -> bool:
    """Take message ``uid`` in and flag it seen; ``False`` to stop the pass."""
    limit = email_settings(ctx.config).max_message_bytes * 2
    size = _size(box, uid)
    try:
        if size is not None and size > limit:
            header = _fetch(box, uid, "BODY.PEEK[HEADER]") or b""
            quarantine.hold(
                ctx.db,
                header,
                source="imap",
                kind="too_large",
                now=ctx.clock.now(),
                reason=f"message is {size} bytes, over {limit}; only its header was fetched "
                f"and the message stays in the mailbox",
            )
        else:
            raw = _fetch(box, uid, "BODY.PEEK[]")
            if raw is None:  # expunged meanwhile
                return True
            take(ctx, raw, source="imap")
    except TemporaryFailure:
        log.warning("IMAP: database unavailable; message %s stays unseen", uid)
        return False
    box.flag(uid, MailMessageFlags.SEEN, True)
    return True


def _size(box: BaseMailBox, uid: str) -> int | None:
    status, data = box.client.uid("fetch", uid, "(RFC822.SIZE)")
    if status != "OK":
        return None
    for item in data:
        found = _SIZE.search(item if isinstance(item, bytes) else b"")
        if found:
            return int(found.group(1))
    return None


def _fetch(box: BaseMailBox, uid: str, part: str) -> bytes | None:
    status, data = box.client.uid("fetch", uid, f"({part})")
    if status != "OK":
        raise imaplib.IMAP4.error(f"FETCH {uid} failed: {status}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def record_poll(ctx: Context, mailbox: ImapMailbox, taken: int, error: str | None) -> None:
    now = ctx.clock.now()
    values: dict[str, object] = {"taken": T.c.taken + taken}
    if error is None:
        values.update(last_ok_at=now, last_error=None, last_error_at=None)
    else:
        values.update(last_error=error, last_error_at=now)
    try:
        with ctx.db.write() as s:
            s.execute(update(T).where(T.c.key == mailbox.key).values(**values))
    except Exception:
        log.exception("IMAP %s: cannot record the poll", mailbox.key)


@dataclass(frozen=True)
class MailboxStatus:
    key: str
    ok: bool
    last_polled_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    taken: int


def mailbox_status(ctx: Context) -> list[MailboxStatus]:
    """The poll state of every configured mailbox (for health pages)."""
    keys = [m.key for m in email_settings(ctx.config).imap]
    if not keys:
        return []
    with ctx.db.read() as s:
        rows = {r.key: r for r in s.execute(select(T).where(T.c.key.in_(keys))).all()}
    out = []
    for key in keys:
        r = rows.get(key)
        if r is None:
            out.append(MailboxStatus(key, True, None, None, None, None, 0))
            continue
        out.append(
            MailboxStatus(
                key,
                r.last_error is None,
                r.last_polled_at,
                r.last_ok_at,
                r.last_error,
                r.last_error_at,
                r.taken,
            )
        )
    return out
