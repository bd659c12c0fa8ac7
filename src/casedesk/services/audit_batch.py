"""Appending many audit events at once, for the worker's sweep.

``audit.record`` costs two round trips per event (read the scope's head, insert). A sweep that
fires a thousand checkpoints would spend nearly all its time there, so this writes the same
events the same way (same fields, same ``audit_chain.event_hash``, so ``audit.verify`` checks
them like any other) with one query for the heads of every scope in the batch and one
multi-row insert. As with ``audit.record``, the caller holds the lock of every scope (the case
rows), so the heads cannot move under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.orm import Session

from casedesk.db.tables import AuditEvent
from casedesk.domain import audit_chain
from casedesk.domain.actors import Actor

_INSERT = insert(AuditEvent)


@dataclass(frozen=True)
class NewEvent:
    scope: str
    case_number: int | None
    action: str
    data: dict[str, Any]


def heads(s: Session, scopes: Sequence[str]) -> dict[str, tuple[int, str]]:
    """The (seq, hash) of the newest event of each scope that has one."""
    if not scopes:
        return {}
    newest = (
        select(AuditEvent.scope, func.max(AuditEvent.seq).label("seq"))
        .where(AuditEvent.scope.in_(sorted(set(scopes))))
        .group_by(AuditEvent.scope)
        .subquery()
    )
    rows = s.execute(
        select(AuditEvent.scope, AuditEvent.seq, AuditEvent.hash).where(
            tuple_(AuditEvent.scope, AuditEvent.seq).in_(select(newest.c.scope, newest.c.seq))
        )
    )
    return {r.scope: (r.seq, r.hash) for r in rows}


def record_many(s: Session, events: Sequence[NewEvent], *, actor: Actor, now: datetime) -> None:
    """Append ``events`` in order, each to its scope's chain (several may share a scope)."""
    if not events:
        return
    chain = heads(s, [e.scope for e in events])
    rows = []
    for event in events:
        seq, prev = chain.get(event.scope, (0, audit_chain.GENESIS))
        fields: dict[str, Any] = {
            "scope": event.scope,
            "seq": seq + 1,
            "case_number": event.case_number,
            "action": event.action,
            "actor_kind": actor.kind,
            "actor_id": actor.ref,
            "actor_label": actor.label,
            "origin": actor.origin,
            "data": event.data,
            "occurred_at": now,
        }
        digest = audit_chain.event_hash(prev, fields)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        chain[event.scope] = (seq + 1, digest)
    s.execute(_INSERT, rows)
