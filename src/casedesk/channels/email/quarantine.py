"""The e-mail quarantine: every message the intake could not take in, with its raw bytes and
the reason, until an admin re-processes it (after raising a limit, fixing the parser, or once a
sender's storm has passed).

Kinds: ``unparseable`` (no usable From, not a message), ``too_large`` (over
``[email] limits``), ``rate_limited`` (over the sender's ``rate_limit``), ``noise`` (automatic
mail that refers to no case: kept so that nothing is lost), ``rejected`` (a rule of the case
services refused it) and ``error`` (a bug: logged, kept). The same message arriving again (an
SMTP retry, an IMAP re-poll) counts another attempt on its row instead of adding one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from casedesk.db.channel_tables import EmailQuarantine
from casedesk.db.session import Database
from casedesk.db.tables import table
from casedesk.domain.actors import Actor
from casedesk.domain.errors import Conflict, NotFound
from casedesk.services import audit

if TYPE_CHECKING:
    from casedesk.channels.email.inbound import Received
    from casedesk.context import Context

HELD, REPROCESSED = "held", "reprocessed"
KINDS = ("unparseable", "too_large", "rate_limited", "noise", "rejected", "error")
T = table(EmailQuarantine)
_PEEK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Held:
    """Where a message went: its quarantine row (new or the one it arrived on before)."""

    id: int
    kind: str
    reason: str


@dataclass(frozen=True)
class Peek:
    sender: str = ""
    subject: str = ""
    message_id: str | None = None


def peek(raw: bytes) -> Peek:
    """Sender, subject and Message-ID for the listing, read leniently from the first bytes
    (the message may be huge or broken; this never raises)."""
    try:
        head = BytesHeaderParser(policy=compat32).parsebytes(raw[:_PEEK_BYTES])

        def clean(name: str, limit: int) -> str:
            value = str(head.get(name, "") or "")
            return re.sub(r"[\x00-\x1f\x7f]+", " ", value).strip()[:limit]

        ident = clean("message-id", 998).strip("<> ") or None
        return Peek(clean("from", 320), clean("subject", 300), ident)
    except Exception:
        return Peek()


def dedupe_key(raw: bytes, message_id: str | None) -> str:
    if message_id:
        return f"mid:{message_id}"[:1000]
    return f"sha256:{hashlib.sha256(raw).hexdigest()}"


def hold(
    db: Database,
    raw: bytes,
    *,
    source: str,
    kind: str,
    reason: str,
    now: datetime,
    sender: str | None = None,
    subject: str | None = None,
    message_id: str | None = None,
    row_id: int | None = None,
) -> Held:
    """Keep ``raw`` in the quarantine (or count another arrival on its row) in a transaction
    of its own; ``row_id`` updates that row (a re-processing that failed again)."""
    seen = peek(raw)
    values = {
        "source": source[:20],
        "kind": kind,
        "reason": reason[:2000],
        "sender": (sender if sender is not None else seen.sender)[:320],
        "subject": (subject if subject is not None else seen.subject)[:300],
        "message_id": (message_id or seen.message_id or None),
        "status": HELD,
    }
    if values["message_id"] is not None:
        values["message_id"] = values["message_id"][:998]
    with db.write() as s:
        if row_id is not None:
            s.execute(update(T).where(T.c.id == row_id).values(**values))
            return Held(row_id, kind, reason)
        insert = pg_insert if db.is_postgresql else sqlite_insert
        new_row = insert(T).values(
            dedupe_key=dedupe_key(raw, message_id),
            raw=raw,
            size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            attempts=1,
            received_at=now,
            **values,
        )
        stmt = new_row.on_conflict_do_update(
            index_elements=["dedupe_key"],
            set_={"attempts": T.c.attempts + 1, **values},
        ).returning(T.c.id)
        qid = s.execute(stmt).scalar_one()
    return Held(qid, kind, reason)


@dataclass(frozen=True)
class QuarantineItem:
    id: int
    received_at: datetime
    source: str
    kind: str
    reason: str
    sender: str
    subject: str
    message_id: str | None
    size: int
    status: str
    attempts: int
    reprocessed_at: datetime | None
    outcome: str | None
    case_number: int | None


_LISTED = [c for c in T.c if c.name not in ("raw", "dedupe_key", "sha256", "reprocessed_by")]


def list_quarantined(
    db: Database,
    *,
    limit: int = 200,
    status: str | None = HELD,
    kind: str | None = None,
    before: int | None = None,
) -> list[QuarantineItem]:
    """Quarantined messages, newest first (without their bytes); ``status=None`` lists all."""
    query = select(*_LISTED).order_by(T.c.id.desc()).limit(max(1, min(limit, 1000)))
    if status is not None:
        query = query.where(T.c.status == status)
    if kind is not None:
        query = query.where(T.c.kind == kind)
    if before is not None:
        query = query.where(T.c.id < before)
    with db.read() as s:
        rows = s.execute(query).all()
    return [QuarantineItem(**{c.name: getattr(r, c.name) for c in _LISTED}) for r in rows]


def raw_message(db: Database, qid: int) -> bytes:
    with db.read() as s:
        raw = s.scalar(select(T.c.raw).where(T.c.id == qid))
    if raw is None:
        raise NotFound(f"no quarantined message {qid}")
    return bytes(raw)


def reprocess(ctx: Context, qid: int, *, actor: Actor) -> Received:
    """Run a quarantined message through the intake again (without the sender's rate limit,
    since an admin let it in). Raises ``Conflict`` when it is still refused (the row keeps the
    new reason) or was taken in already."""
    from casedesk.channels.email import inbound

    with ctx.db.read() as s:
        row = s.execute(select(T.c.raw, T.c.source, T.c.status).where(T.c.id == qid)).first()
    if row is None:
        raise NotFound(f"no quarantined message {qid}")
    if row.status != HELD:
        raise Conflict(f"quarantined message {qid} was already re-processed")
    result = inbound.take(ctx, bytes(row.raw), source=row.source, reprocess_of=qid)
    now = ctx.clock.now()
    with ctx.db.write() as s:
        if result.outcome != "quarantined":
            s.execute(
                update(T)
                .where(T.c.id == qid)
                .values(
                    status=REPROCESSED,
                    reprocessed_at=now,
                    reprocessed_by=actor.label[:320],
                    outcome=result.outcome,
                    case_number=result.case_number,
                )
            )
        audit.record(
            s,
            scope=f"email_quarantine:{qid}",
            action="email.quarantine_reprocessed",
            actor=actor,
            now=now,
            case_number=result.case_number,
            data={"outcome": result.outcome, "reason": result.reason},
        )
    if result.outcome == "quarantined":
        raise Conflict(
            f"quarantined message {qid} still cannot be taken in: {result.reason}",
            reason=result.reason,
        )
    return result
