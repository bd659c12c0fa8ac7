"""Outbound notifications: one outbox item in, one HTTP delivery to Slack, Teams or a webhook out.

``message`` holds the notice the outbox stores; ``slack`` and ``teams`` turn it into payloads;
``delivery`` posts it and says whether to retry. Routing rules live in
``casedesk.domain.routing``. Only the worker imports this package.
"""

from casedesk.notify.delivery import (
    DeliveryResult,
    Destination,
    backoff_seconds,
    deliver,
    make_client,
)
from casedesk.notify.message import CaseNotice, headline
from casedesk.notify.slack import build_chat_post_message, build_slack_payload
from casedesk.notify.teams import build_teams_payload

__all__ = [
    "CaseNotice",
    "DeliveryResult",
    "Destination",
    "backoff_seconds",
    "build_chat_post_message",
    "build_slack_payload",
    "build_teams_payload",
    "deliver",
    "headline",
    "make_client",
]
