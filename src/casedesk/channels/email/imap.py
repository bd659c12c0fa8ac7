"""IMAP polling of the configured mailboxes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casedesk.context import Context


def poll_due(ctx: Context) -> int:
    """Fetch new mail from mailboxes whose poll is due; returns how many messages were taken."""
    return 0
