"""Authenticating ``POST /api/v1/channels/email/inbound``: raw MIME from a mail provider.

The provider signs each request with the shared secret named by ``[email] inbound_webhook
secret_env``::

    X-Casedesk-Timestamp: 1767225600                       (Unix seconds)
    X-Casedesk-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

A request is refused when the signature is missing or wrong, or when its timestamp is more than
``tolerance`` (default 5 minutes) away from now. Replays inside that window are refused too: the
signature of every request taken in is remembered until its timestamp is out of the window.
A provider that retries signs again (a new timestamp), and the message's Message-ID then makes
the retry a duplicate that creates nothing new.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from casedesk.config_email import WebhookSettings
from casedesk.db.channel_tables import EmailWebhookSeen
from casedesk.db.session import Database
from casedesk.db.tables import table

SIGNATURE_HEADER = "X-Casedesk-Signature"
TIMESTAMP_HEADER = "X-Casedesk-Timestamp"
T = table(EmailWebhookSeen)


class Refused(Exception):
    """The request is not authentic (403) or a replay (409)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Casedesk-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    settings: WebhookSettings,
    secret: str,
    *,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
) -> str:
    """The request's digest (its replay key) when it is authentic; raises ``Refused``."""
    if not timestamp or not signature:
        raise Refused(403, f"sign the request with {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    if not timestamp.strip().isdigit() or len(timestamp.strip()) > 12:
        raise Refused(403, f"{TIMESTAMP_HEADER} must be Unix seconds")
    expected = sign(secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise Refused(403, "the signature does not match the body and timestamp")
    # Checked after the signature, so an attacker learns nothing from the clock.
    age = now.timestamp() - int(timestamp)
    if abs(age) > settings.tolerance:
        raise Refused(
            403,
            f"the timestamp is {int(abs(age))}s {'old' if age > 0 else 'ahead'}; requests "
            f"are accepted within {int(settings.tolerance)}s",
        )
    return hashlib.sha256(expected.encode()).hexdigest()


def check_not_seen(db: Database, digest: str) -> None:
    with db.read() as s:
        if s.scalar(select(T.c.digest).where(T.c.digest == digest)) is not None:
            raise Refused(409, "this request was already received (a replay); sign it anew")


def remember(db: Database, digest: str, settings: WebhookSettings, *, now: datetime) -> None:
    """Keep ``digest`` while its timestamp can still pass; forget those that cannot."""
    insert = pg_insert if db.is_postgresql else sqlite_insert
    with db.write() as s:
        s.execute(insert(T).values(digest=digest, seen_at=now).on_conflict_do_nothing())
        horizon = now - timedelta(seconds=2 * settings.tolerance)
        s.execute(delete(T).where(T.c.seen_at < horizon))
