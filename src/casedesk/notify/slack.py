"""Slack messages for a ``CaseNotice``: Block Kit for incoming webhooks and ``chat.postMessage``.

Every piece of user text (subject, customer, assignee, detail …) goes through ``escape_mrkdwn``
so a subject like ``<!channel>`` or ``<https://evil|click>`` shows as typed instead of pinging a
channel or hiding a link. Only the ticket link is real markup.
"""

from __future__ import annotations

from typing import Any

from casedesk.notify.message import CaseNotice, format_due, headline, single_line

_NONE = "—"
_HEADER_LIMIT = 150  # Slack's limit for a header block's text
_FIELD_LIMIT = 300
_SUBJECT_LIMIT = 500
_DETAIL_LIMIT = 1000


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's control characters ``&``, ``<`` and ``>`` (and nothing else)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_url(url: str) -> str:
    """A URL that cannot end a Slack link early or inject markup."""
    table = {"<": "%3C", ">": "%3E", "|": "%7C", " ": "%20", "\n": "", "\r": "", "\t": ""}
    return "".join(table.get(ch, ch) for ch in url)


def ticket_link(notice: CaseNotice) -> str:
    """``<https://…/console/cases/CASE-000123|CASE-000123>``."""
    return f"<{_safe_url(notice.case_url)}|{escape_mrkdwn(notice.ticket_id)}>"


def _due(notice: CaseNotice) -> str:
    if notice.sla_due is None:
        return _NONE
    # Slack shows <!date^…> in each reader's own timezone; the text after | is the fallback.
    stamp = int(notice.sla_due.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{format_due(notice.sla_due)}>"


def _field(label: str, value: str | None, *, escaped: bool = False) -> dict[str, str]:
    if value is None or not value.strip():
        shown = _NONE
    elif escaped:
        shown = value
    else:
        shown = escape_mrkdwn(single_line(value, _FIELD_LIMIT))
    return {"type": "mrkdwn", "text": f"*{label}*\n{shown}"}


def fallback_text(notice: CaseNotice) -> str:
    """The plain ``text`` Slack shows in notifications and where blocks cannot be shown."""
    line = headline(notice)
    subject = single_line(notice.subject, _SUBJECT_LIMIT)
    if subject and subject not in line:
        line = f"{line} — {subject}"
    return escape_mrkdwn(line)


def build_blocks(notice: CaseNotice) -> list[dict[str, Any]]:
    """Header (headline), linked ticket and subject, the facts as fields, the detail if any."""
    subject = escape_mrkdwn(single_line(notice.subject, _SUBJECT_LIMIT)) or "(no subject)"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": single_line(headline(notice), _HEADER_LIMIT)},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{ticket_link(notice)}*  {subject}"},
        },
        {
            "type": "section",
            "fields": [
                _field("Priority", notice.priority),
                _field("Status", notice.status),
                _field("SLA due", _due(notice), escaped=True),
                _field("Customer", notice.customer),
                _field("Assignee", notice.assignee or "unassigned"),
                _field("Team", notice.team),
                _field("Channel", notice.channel),
            ],
        },
    ]
    if notice.detail:
        detail = escape_mrkdwn(single_line(notice.detail, _DETAIL_LIMIT))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": detail}]})
    return blocks


def build_slack_payload(notice: CaseNotice) -> dict[str, Any]:
    """The JSON body for a Slack incoming webhook."""
    return {
        "text": fallback_text(notice),
        "blocks": build_blocks(notice),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def build_chat_post_message(notice: CaseNotice, channel: str) -> dict[str, Any]:
    """The JSON body for ``chat.postMessage`` with a bot token, posting to ``channel``."""
    return {"channel": channel, **build_slack_payload(notice)}
