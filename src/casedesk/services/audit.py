"""Appending, sealing, verifying and exporting the audit trail.

``record`` is called inside the transaction of the change it describes; the caller holds the
lock of the scope (the case row) so a scope's chain grows one event at a time while other cases
write in parallel. ``seal`` (run by the worker) appends unsealed events to the global chain.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from casedesk.db.session import Database
from casedesk.db.tables import AuditEvent, AuditSeal, table
from casedesk.domain import audit_chain
from casedesk.domain.actors import Actor

# Events committed late (a slow transaction with a lower id) are still sealed if they appear
# within this many ids below the newest sealed one.
STRAGGLER_WINDOW = 10_000
SEAL_LOCK_KEY = 0x5EA1


def record(
    session: Session,
    *,
    scope: str,
    action: str,
    actor: Actor,
    now: datetime,
    data: dict[str, Any] | None = None,
    case_number: int | None = None,
    first_in_scope: bool = False,
    after: tuple[int, str] | None = None,
) -> str:
    """Append one event to ``scope``'s chain and return its hash. ``first_in_scope`` and
    ``after`` (the seq and hash of the head written earlier in this same transaction) skip the
    head lookup."""
    if first_in_scope:
        seq, prev = 1, audit_chain.GENESIS
    elif after is not None:
        seq, prev = after[0] + 1, after[1]
    else:
        head = session.execute(
            select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.scope == scope)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()
        seq, prev = (head[0] + 1, head[1]) if head else (1, audit_chain.GENESIS)
    fields: dict[str, Any] = {
        "scope": scope,
        "seq": seq,
        "case_number": case_number,
        "action": action,
        "actor_kind": actor.kind,
        "actor_id": actor.ref,
        "actor_label": actor.label,
        "origin": actor.origin,
        "data": data or {},
        "occurred_at": now,
    }
    digest = audit_chain.event_hash(prev, fields)
    session.execute(_INSERT_EVENT, {**fields, "prev_hash": prev, "hash": digest})
    return digest


_INSERT_EVENT = table(AuditEvent).insert()


def seal(db: Database, *, now: datetime, batch: int = 5000) -> int:
    """Append unsealed events to the global chain; returns how many were sealed."""
    with db.write() as s:
        if (
            db.is_postgresql
            and not s.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SEAL_LOCK_KEY}
            ).scalar()
        ):
            return 0
        head = s.execute(
            select(AuditSeal.seq, AuditSeal.hash).order_by(AuditSeal.seq.desc()).limit(1)
        ).first()
        seq, prev = head if head else (0, audit_chain.GENESIS)
        top = s.execute(select(func.max(AuditSeal.event_id))).scalar() or 0
        rows = s.execute(
            select(AuditEvent.id, AuditEvent.hash)
            .outerjoin(AuditSeal, AuditSeal.event_id == AuditEvent.id)
            .where(AuditEvent.id > top - STRAGGLER_WINDOW, AuditSeal.event_id.is_(None))
            .order_by(AuditEvent.id)
            .limit(batch)
        ).all()
        values = []
        for event_id, event_hash in rows:
            seq += 1
            new = audit_chain.seal_hash(prev, event_hash)
            values.append(
                {
                    "seq": seq,
                    "event_id": event_id,
                    "event_hash": event_hash,
                    "prev_hash": prev,
                    "hash": new,
                    "sealed_at": now,
                }
            )
            prev = new
        if values:
            s.execute(table(AuditSeal).insert(), values)
        return len(values)


@dataclass
class Verification:
    events: int
    seals: int
    breaks: list[audit_chain.Break]

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first(self) -> audit_chain.Break | None:
        return min(self.breaks, key=lambda b: (b.event_id or 0, b.seal_seq or 0), default=None)


_EVENT_COLUMNS = [c.name for c in AuditEvent.__table__.columns]


def _event_rows(s: Session, *order: Any) -> Iterator[dict[str, Any]]:
    result = s.execute(
        select(AuditEvent.__table__).order_by(*order).execution_options(yield_per=5000)
    )
    for row in result.mappings():
        yield dict(row)


def verify(db: Database) -> Verification:
    """Re-check every scope chain and the global seal chain; never trusts the triggers."""
    with db.read() as s:
        events = 0
        breaks: list[audit_chain.Break] = []

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal events
            for row in _event_rows(s, AuditEvent.scope, AuditEvent.seq):
                events += 1
                yield row

        breaks += audit_chain.verify_scope_chains(counted())
        seal_rows = s.execute(
            select(
                AuditSeal.seq,
                AuditSeal.event_id,
                AuditSeal.event_hash,
                AuditSeal.prev_hash,
                AuditSeal.hash,
                AuditEvent.hash.label("stored_hash"),
            )
            .outerjoin(AuditEvent, AuditEvent.id == AuditSeal.event_id)
            .order_by(AuditSeal.seq)
            .execution_options(yield_per=5000)
        ).mappings()
        seals = 0

        def counted_seals() -> Iterator[Any]:
            nonlocal seals
            for row in seal_rows:
                seals += 1
                yield row

        breaks += audit_chain.verify_seals(counted_seals())
        top = s.execute(select(func.max(AuditSeal.event_id))).scalar() or 0
        late = s.execute(
            select(AuditEvent.id)
            .outerjoin(AuditSeal, AuditSeal.event_id == AuditEvent.id)
            .where(AuditEvent.id <= top - STRAGGLER_WINDOW, AuditSeal.event_id.is_(None))
            .order_by(AuditEvent.id)
            .limit(100)
        ).scalars()
        breaks += [
            audit_chain.Break(
                i, "inserted out of order: older than the sealed events but never sealed"
            )
            for i in late
        ]
        return Verification(events, seals, breaks)


def export_rows(
    db: Database, *, since: datetime | None = None, until: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Events of a time range in (scope, seq) order with their chain and seal hashes."""
    with db.read() as s:
        query = (
            select(
                AuditEvent.__table__,
                AuditSeal.seq.label("seal_seq"),
                AuditSeal.hash.label("seal_hash"),
            )
            .outerjoin(AuditSeal, AuditSeal.event_id == AuditEvent.id)
            .order_by(AuditEvent.scope, AuditEvent.seq)
            .execution_options(yield_per=5000)
        )
        if since:
            query = query.where(AuditEvent.occurred_at >= since)
        if until:
            query = query.where(AuditEvent.occurred_at < until)
        for row in s.execute(query).mappings():
            out = dict(row)
            out["occurred_at"] = audit_chain.timestamp(out["occurred_at"])
            yield out


EXPORT_FIELDS = [*_EVENT_COLUMNS, "seal_seq", "seal_hash"]


def write_export(rows: Iterator[dict[str, Any]], out: IO[str], fmt: str) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "data": json.dumps(row["data"], sort_keys=True)})
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    return count


def verify_export(lines: Iterator[str]) -> list[audit_chain.Break]:
    """Re-verify a JSONL export offline: every scope's chain within the exported range."""
    rows = [json.loads(line) for line in lines if line.strip()]
    rows.sort(key=lambda r: (r["scope"], r["seq"]))
    return audit_chain.verify_scope_chains(rows, partial=True)
