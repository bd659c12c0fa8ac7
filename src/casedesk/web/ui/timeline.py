"""The case timeline: public messages, internal notes, calls and audit events in one order.

Messages appear as themselves; the audit event recording a message is left out (it would say
the same thing twice). Every other event becomes one readable line naming who did what, with
the event's details kept for the "details" disclosure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casedesk.db.tables import Attachment, AuditEvent, Message

HIDDEN_ACTIONS = ("message.added",)


@dataclass(frozen=True)
class Entry:
    kind: str  # "public" | "internal" | "call" | "customer" | "event"
    at: datetime
    order: tuple[Any, ...]
    author: str
    body: str = ""
    html: str | None = None
    summary: str = ""
    action: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    channel: str = ""
    id: int = 0


def _message_kind(m: Message) -> str:
    if m.visibility == "internal":
        return "call" if m.channel == "phone" and m.body.startswith("Phone call") else "internal"
    return "customer" if m.author_kind == "customer" else "public"


def _change_text(changes: dict[str, Any]) -> str:
    parts = []
    for name, change in changes.items():
        if not isinstance(change, dict):
            continue
        before, after = change.get("before"), change.get("after")
        label = name.replace("_", " ")
        if isinstance(after, list) or isinstance(before, list):
            parts.append(f"{label}: {', '.join(after or []) or 'none'}")
        elif isinstance(after, dict) or isinstance(before, dict):
            parts.append(f"{label} updated")
        else:
            parts.append(
                f"{label} {before if before is not None else 'none'} → "
                f"{after if after is not None else 'none'}"
            )
    return "changed " + "; ".join(parts) if parts else "changed the case"


def describe(event: AuditEvent, status_name: Callable[[str], str]) -> str:
    """One line saying what an audit event did."""
    d = event.data or {}
    action = event.action
    if action == "case.created":
        return f"created the case via {d.get('channel', 'unknown channel')}"
    if action == "case.updated":
        return _change_text(d.get("changes", {}))
    if action == "case.assigned":
        after = d.get("after")
        return f"assigned the case to {after}" if after else "unassigned the case"
    if action == "case.status_changed":
        before, after = status_name(d.get("from", "?")), status_name(d.get("to", "?"))
        text = f"moved the case from {before} to {after}"
        if d.get("reason_code"):
            text += f" — {str(d['reason_code']).replace('_', ' ')}"
        if d.get("reason"):
            text += f": {d['reason']}"
        if d.get("resolution"):
            text += f" — resolution: {d['resolution']}"
        return text
    if action.startswith("sla."):
        metric = str(d.get("metric", "")).replace("_", " ")
        what = action.removeprefix("sla.").replace("_", " ")
        return f"SLA {metric} {what}".replace("  ", " ").strip()
    if action.startswith("case.escalated") or action.startswith("escalation."):
        return f"escalated the case (level {d.get('level', '?')})"
    return action.replace(".", " ").replace("_", " ")


def build(
    messages: Sequence[Message],
    events: Sequence[AuditEvent],
    attachments: Sequence[Attachment],
    status_name: Callable[[str], str],
) -> list[Entry]:
    by_message: dict[int, list[Attachment]] = {}
    for a in attachments:
        by_message.setdefault(a.message_id, []).append(a)
    entries = [
        Entry(
            kind=_message_kind(m),
            at=m.created_at,
            order=(m.created_at, 1, m.id),
            author=m.author_name or m.author_kind,
            body=m.body,
            html=m.body_html,
            attachments=by_message.get(m.id, []),
            channel=m.channel,
            id=m.id,
        )
        for m in messages
    ]
    for e in events:
        if e.action in HIDDEN_ACTIONS:
            continue
        rank = 0 if e.action == "case.created" else 2
        entries.append(
            Entry(
                kind="event",
                at=e.occurred_at,
                order=(e.occurred_at, rank, e.id),
                author=e.actor_label,
                summary=describe(e, status_name),
                action=e.action,
                details=e.data or {},
                id=e.id,
            )
        )
    entries.sort(key=lambda x: x.order)
    return entries
