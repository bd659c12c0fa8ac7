"""Recurring-issue patterns: clusters of similar case subjects, computed by the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casedesk.context import Context


def refresh_clusters(ctx: Context) -> int:
    """Recompute clusters when due; returns how many cases were clustered."""
    return 0
