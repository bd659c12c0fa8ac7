"""Microsoft Teams messages for a ``CaseNotice``: an Adaptive Card 1.4 in a message envelope.

The envelope ``{"type": "message", "attachments": [...]}`` is what Teams Workflows ("post to a
channel when a webhook request is received") and the older incoming webhooks accept.

Adaptive Card ``TextBlock`` and ``FactSet`` text is Markdown, so user text there is defused
(``[label](url)`` cannot hide a link); the subject and detail go in ``RichTextBlock`` runs, which
Teams shows verbatim.
"""

from __future__ import annotations

from typing import Any

from casedesk.notify.message import CaseNotice, format_due, headline, single_line

ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ADAPTIVE_CARD_VERSION = "1.4"

_NONE = "—"
_COLOURS = {"sla.breached": "Attention", "sla.warning": "Warning", "case.escalated": "Attention"}


def defuse_markdown(text: str) -> str:
    """``text`` on one line, with Markdown links broken by a zero-width space so they show as
    typed; other Markdown (bold, italics) is harmless and left alone."""
    return single_line(text, 500).replace("](", "]\u200b(")


def _fact(title: str, value: str | None) -> dict[str, str]:
    shown = defuse_markdown(value) if value and value.strip() else _NONE
    return {"title": title, "value": shown}


def build_card(notice: CaseNotice) -> dict[str, Any]:
    """The Adaptive Card: title, subject, the facts, the detail and an "Open" button."""
    title: dict[str, Any] = {
        "type": "TextBlock",
        "text": defuse_markdown(headline(notice)),
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
    }
    if notice.event in _COLOURS:
        title["color"] = _COLOURS[notice.event]
    body: list[dict[str, Any]] = [
        title,
        _rich_text(f"{notice.ticket_id} · {single_line(notice.subject, 500) or '(no subject)'}"),
        {
            "type": "FactSet",
            "facts": [
                _fact("Priority", notice.priority),
                _fact("Status", notice.status),
                _fact("SLA due", format_due(notice.sla_due) if notice.sla_due else None),
                _fact("Customer", notice.customer),
                _fact("Assignee", notice.assignee or "unassigned"),
                _fact("Team", notice.team),
                _fact("Channel", notice.channel),
            ],
        },
    ]
    if notice.detail:
        body.append(_rich_text(single_line(notice.detail, 1000), subtle=True))
    return {
        "$schema": ADAPTIVE_CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "msteams": {"width": "Full"},
        "fallbackText": defuse_markdown(headline(notice)),
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": f"Open {notice.ticket_id}", "url": notice.case_url}
        ],
    }


def _rich_text(text: str, *, subtle: bool = False) -> dict[str, Any]:
    run: dict[str, Any] = {"type": "TextRun", "text": text}
    if subtle:
        run["isSubtle"] = True
    return {"type": "RichTextBlock", "inlines": [run]}


def build_teams_payload(notice: CaseNotice) -> dict[str, Any]:
    """The JSON body for a Teams Workflows / incoming webhook."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": ADAPTIVE_CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": build_card(notice),
            }
        ],
    }
