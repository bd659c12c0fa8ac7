"""``casedesk bench generate``: a large realistic data set written with bulk inserts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casedesk.context import Context


def generate(ctx: Context, *, cases: int, seed: int = 7) -> int:
    """Write ``cases`` cases with messages and audit events; returns how many were written."""
    raise NotImplementedError("the data generator is not available yet")
