"""The hash chains of the audit trail, as pure functions over plain rows.

Each event is chained within its scope (one chain per case, per user, ...):
``hash = sha256(prev_hash + "\\n" + canonical(event))``. A sealer appends every event's hash to
one global chain: ``seal_hash = sha256(prev_seal_hash + "\\n" + event_hash)``. The same
functions verify the database and an exported file, so an auditor can re-check offline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = (
    "scope",
    "seq",
    "case_number",
    "action",
    "actor_kind",
    "actor_id",
    "actor_label",
    "origin",
    "data",
    "occurred_at",
)


def timestamp(value: datetime) -> str:
    """The one text form of an event time that goes into its hash."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: Mapping[str, Any]) -> str:
    """Sorted-key compact JSON of the hashed fields; times in the ``timestamp`` form."""
    body = {name: event[name] for name in HASHED_FIELDS}
    if isinstance(body["occurred_at"], datetime):
        body["occurred_at"] = timestamp(body["occurred_at"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(event)}".encode()).hexdigest()


def seal_hash(prev_hash: str, event_hash_: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{event_hash_}".encode()).hexdigest()


@dataclass(frozen=True)
class Break:
    """Where a chain stops being intact: the event (or seal) and what is wrong with it."""

    event_id: int | None
    message: str
    seal_seq: int | None = None

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else f"seal {self.seal_seq}"
        return f"{where}: {self.message}"


def verify_scope_chains(
    events: Iterable[Mapping[str, Any]], *, partial: bool = False
) -> list[Break]:
    """Check events ordered by (scope, seq). With ``partial`` the first event of each scope
    may continue a chain that started before the exported range."""
    breaks: list[Break] = []
    scope: str | None = None
    prev_hash = GENESIS
    prev_seq = 0
    for e in events:
        if e["scope"] != scope:
            scope, prev_seq, prev_hash = e["scope"], 0, GENESIS
            if partial:
                prev_seq, prev_hash = e["seq"] - 1, e["prev_hash"]
        if e["seq"] != prev_seq + 1:
            breaks.append(
                Break(
                    e["id"], f"{scope} jumps from seq {prev_seq} to {e['seq']}: an event is missing"
                )
            )
        elif e["prev_hash"] != prev_hash:
            breaks.append(
                Break(e["id"], f"{scope} seq {e['seq']} does not link to its predecessor")
            )
        elif event_hash(e["prev_hash"], e) != e["hash"]:
            breaks.append(
                Break(e["id"], f"{scope} seq {e['seq']} was altered: its hash does not match")
            )
        prev_seq, prev_hash = e["seq"], e["hash"]
    return breaks


def verify_seals(
    seals: Iterable[Mapping[str, Any]], *, start: tuple[int, str] | None = None
) -> list[Break]:
    """Check seal rows ordered by seq, each joined with its event's id and stored hash
    (``stored_hash`` is ``None`` when the event row is gone)."""
    breaks: list[Break] = []
    prev_seq, prev_hash = start or (0, GENESIS)
    for s in seals:
        if s["seq"] != prev_seq + 1:
            breaks.append(
                Break(s["event_id"], f"seals jump from {prev_seq} to {s['seq']}", s["seq"])
            )
        elif s["prev_hash"] != prev_hash or seal_hash(prev_hash, s["event_hash"]) != s["hash"]:
            breaks.append(Break(s["event_id"], "the global seal chain is broken here", s["seq"]))
        elif s["stored_hash"] is None:
            breaks.append(Break(s["event_id"], "this sealed event was deleted", s["seq"]))
        elif s["stored_hash"] != s["event_hash"]:
            breaks.append(Break(s["event_id"], "this event differs from what was sealed", s["seq"]))
        prev_seq, prev_hash = s["seq"], s["hash"]
    return breaks
