"""``CaseNotice``: the facts every outbound notification carries, and its one-line headline.

A notice is built when the outbox row is written (inside the case's transaction), stored as JSON
via ``to_dict`` and turned back into a notice by the worker with ``from_dict``. The Slack, Teams
and webhook payload builders take nothing but a notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from casedesk.domain.routing import NOTIFY_EVENTS

EVENTS = NOTIFY_EVENTS


@dataclass(frozen=True)
class CaseNotice:
    """What happened to which case, with the facts a reader needs to decide to open it.

    ``status`` is the status's display name; ``customer`` is the customer's name and/or e-mail
    as text; ``sla_due`` is the next SLA target as an aware datetime; ``detail`` is free text
    such as ``"first response breached by 12m"``. ``category`` and ``tags`` are carried for
    routing (see ``routing_facts``) and are not shown in the messages.
    """

    event: str
    ticket_id: str
    case_url: str
    subject: str
    priority: str
    status: str
    channel: str
    team: str | None = None
    assignee: str | None = None
    customer: str | None = None
    sla_due: datetime | None = None
    detail: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown event '{self.event}'; known events: {', '.join(EVENTS)}")
        if self.sla_due is not None and self.sla_due.utcoffset() is None:
            raise ValueError("sla_due must be an aware datetime")
        if not isinstance(self.tags, tuple):
            object.__setattr__(self, "tags", tuple(self.tags))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only: ``sla_due`` as ISO 8601 text, ``tags`` as a list."""
        data: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["sla_due"] = self.sla_due.isoformat() if self.sla_due else None
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseNotice:
        """The notice ``to_dict`` produced; unknown keys (from newer versions) are ignored."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        missing = [n for n in _REQUIRED if values.get(n) is None]
        if missing:
            raise ValueError(f"notice is missing {', '.join(missing)}")
        due = values.get("sla_due")
        if isinstance(due, str):
            values["sla_due"] = datetime.fromisoformat(due)
        values["tags"] = tuple(values.get("tags") or ())
        return cls(**values)

    def routing_facts(self) -> dict[str, str | tuple[str, ...] | None]:
        """The facts ``casedesk.domain.routing.destinations_for`` filters on."""
        return {
            "team": self.team,
            "priority": self.priority,
            "channel": self.channel,
            "category": self.category,
            "tags": self.tags,
        }


_REQUIRED = ("event", "ticket_id", "case_url", "subject", "priority", "status", "channel")


def single_line(text: str, limit: int | None = None) -> str:
    """``text`` with every run of whitespace (newlines included) made one space, clipped to
    ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        return flat[: max(limit - 1, 0)].rstrip() + "…"
    return flat


def format_due(due: datetime) -> str:
    """``2026-03-02 14:30 UTC``: the SLA due time where the reader's timezone is unknown."""
    return due.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def headline(notice: CaseNotice) -> str:
    """A one-line human summary of the notice, such as ``SLA breached on CASE-000123: …``.

    Plain text, not escaped for any markup: each payload builder escapes it for its target.
    """
    tid = notice.ticket_id
    extra = f": {notice.detail}" if notice.detail else ""
    match notice.event:
        case "case.created":
            text = f"New case {tid}: {notice.subject}"
        case "case.assigned":
            who = notice.assignee or (f"team {notice.team}" if notice.team else None)
            text = f"{tid} assigned to {who}" if who else f"{tid} unassigned"
        case "case.status_changed":
            text = f"{tid} is now {notice.status}"
        case "case.customer_replied":
            text = f"{notice.customer or 'The customer'} replied on {tid}"
        case "sla.warning":
            text = f"SLA warning on {tid}{extra}"
        case "sla.breached":
            text = f"SLA breached on {tid}{extra}"
        case "case.escalated":
            text = f"{tid} escalated{extra}"
        case _:  # "test"
            text = "Test notification from casedesk"
    return single_line(text, 300)
