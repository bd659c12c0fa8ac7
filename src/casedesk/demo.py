"""``casedesk demo``: a realistic demo data set for a loyalty-programme support team."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casedesk.context import Context


def load(ctx: Context) -> int:
    """Load the demo data; returns how many cases were created."""
    raise NotImplementedError("demo data is not available yet")
