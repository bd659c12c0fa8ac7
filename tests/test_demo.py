"""``casedesk demo`` loads a data set that exercises every part of the lifecycle."""

from __future__ import annotations

from collections import Counter

from casedesk import demo
from casedesk.context import Context
from casedesk.services import audit, case_queries


def test_demo_loads_cases_from_every_channel_through_the_lifecycle(ctx: Context) -> None:
    assert demo.load(ctx) == len(demo.STORIES)
    page = case_queries.list_cases(ctx.db, case_queries.CaseFilter(), limit=50)
    assert len(page.items) == len(demo.STORIES)
    assert {c.channel for c in page.items} == {"email", "chat", "portal", "phone"}
    statuses = Counter(c.status for c in page.items)
    assert statuses["closed"] == 1 and statuses["on_hold"] == 2 and statuses["open"] == 3
    assert all(c.customer is not None for c in page.items)
    audit.seal(ctx.db, now=ctx.clock.now())
    assert audit.verify(ctx.db).ok


def test_loading_the_demo_twice_adds_cases_without_failing(ctx: Context) -> None:
    demo.load(ctx)
    assert demo.load(ctx) == len(demo.STORIES)
