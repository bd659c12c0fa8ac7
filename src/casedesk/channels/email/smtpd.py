"""The inbound SMTP listener (aiosmtpd)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casedesk.context import Context


def run(ctx: Context, host: str, port: int) -> None:
    """Serve SMTP on ``host:port`` until interrupted."""
    raise NotImplementedError("the SMTP listener is not available yet")
