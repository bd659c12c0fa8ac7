"""A small, fully known data set for report tests, built through the services with a fixed
clock, on both engines.

T0 = Monday 2026-01-05 09:00 UTC; the reports run at T0 + 48h.

====  =======  ========  ======  ===========  ====================================================
case  channel  priority  team    tags         life (hours after T0)
====  =======  ========  ======  ===========  ====================================================
C1    email    high      tier1   points       0 created, 1 reply + in progress, 5 resolved,
                                              6 customer replies (reopened), 7 resolved
C2    chat     normal    tier2   redemption   2 created, 5 reply + in progress, 6 on hold
                                              (awaiting_customer), 30 in progress, 32 resolved
C3    email    normal    tier1   points, vip  3 created, 3.5 reply + in progress, 4 on hold
                                              (third_party) until now
C4    phone    low       —       —            4 created, nothing since
====  =======  ========  ======  ===========  ====================================================
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from casedesk.clock import FixedClock
from casedesk.config import AppConfig, Settings
from casedesk.context import Context
from casedesk.db.session import Database
from casedesk.domain.actors import Actor
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases, customers, users
from tests.conftest import PG_URL, SETUP, _counter, _pg_admin

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=48)
OFFICE = {"id": "office", "timezone": "UTC", "hours": {"mon-fri": ["09:00-17:00"]}}


@dataclass
class Known:
    ctx: Context
    numbers: list[int]
    agents: dict[str, Any]

    def tid(self, i: int) -> str:
        return cases.ticket_id(self.ctx.config, self.numbers[i - 1])


def _at(ctx: Context, hours: float) -> datetime:
    ctx.clock.current = T0 + timedelta(hours=hours)  # type: ignore[attr-defined]
    return ctx.clock.now()


def build_known(ctx: Context) -> Known:
    now = _at(ctx, -1)
    for team in ("tier1", "tier2"):
        users.create_team(ctx.db, name=team, actor=SETUP, now=now)
    a1 = users.create_user(
        ctx.db, email="a1@example.com", name="A1", role="agent", team="tier1", actor=SETUP, now=now
    )
    a2 = users.create_user(
        ctx.db, email="a2@example.com", name="A2", role="agent", team="tier2", actor=SETUP, now=now
    )

    def agent(user: Any) -> Actor:
        return Actor(kind="user", id=user.id, label=user.email, role="agent", origin="test")

    def create(hours: float, subject: str, **kw: Any) -> int:
        return cases.create_case(
            ctx.db,
            ctx.config,
            cases.NewCase(subject=subject, **kw),
            actor=SETUP,
            now=_at(ctx, hours),
        ).number

    def reply(number: int, hours: float, who: Actor) -> None:
        cases.add_message(ctx.db, ctx.config, number, body="On it.", actor=who, now=_at(ctx, hours))

    def move(number: int, hours: float, to: str, who: Actor, **req: Any) -> None:
        request = TransitionRequest(req.get("code"), req.get("reason"), req.get("resolution"))
        cases.transition_case(
            ctx.db, ctx.config, number, to, request, actor=who, now=_at(ctx, hours)
        )

    x1, x2 = agent(a1), agent(a2)
    c1 = create(
        0,
        "Points missing",
        channel="email",
        priority="high",
        tags=["points"],
        team="tier1",
        assignee=a1.email,
        customer=customers.CustomerInput(name="Cy One", email="c1@example.com"),
    )
    c2 = create(
        2,
        "Voucher rejected",
        channel="chat",
        priority="normal",
        tags=["redemption"],
        team="tier2",
        assignee=a2.email,
    )
    c3 = create(
        3,
        "Points again",
        channel="email",
        priority="normal",
        tags=["points", "vip"],
        team="tier1",
        assignee=a1.email,
    )
    c4 = create(4, "Card lost", channel="phone", priority="low")
    reply(c1, 1, x1)
    move(c1, 1, "in_progress", x1)
    reply(c2, 5, x2)
    move(c2, 5, "in_progress", x2)
    reply(c3, 3.5, x1)
    move(c3, 3.5, "in_progress", x1)
    move(c3, 4, "on_hold", x1, code="third_party", reason="courier")
    move(c1, 5, "resolved", x1, resolution="credited")
    move(c2, 6, "on_hold", x2, code="awaiting_customer", reason="receipt")
    owner = cases.get_case(ctx.db, ctx.config, c1).customer_id
    customer = Actor(kind="customer", id=owner, label="c1@example.com", origin="portal")
    cases.add_message(ctx.db, ctx.config, c1, body="Still missing", actor=customer, now=_at(ctx, 6))
    move(c1, 7, "resolved", x1, resolution="credited again")
    move(c2, 30, "in_progress", x2)
    move(c2, 32, "resolved", x2, resolution="new voucher")
    _at(ctx, 48)
    return Known(ctx, [c1, c2, c3, c4], {"a1": a1, "a2": a2})


def report_config() -> AppConfig:
    return AppConfig.model_validate({"calendars": [OFFICE]})


@pytest.fixture
def config() -> AppConfig:
    return report_config()


@pytest.fixture
def fresh_known(ctx: Context) -> Known:
    """The known data set in a database of its own, for tests that add to it."""
    return build_known(ctx)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def known(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Known]:
    """The known data set built once per module and engine, for tests that only read it."""
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("known") / "known.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        url, drop = f"sqlite:///{target}", None
    else:
        template = request.getfixturevalue("pg_template")
        name = f"cdt_known_{os.getpid()}_{next(_counter)}"
        _pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        url, drop = PG_URL.rsplit("/", 1)[0] + "/" + name, name
    ctx = Context(
        settings=Settings(database_url=url),
        config=report_config(),
        db=Database(url, pool_size=2),
        clock=FixedClock(),
    )
    try:
        yield build_known(ctx)
    finally:
        ctx.db.dispose()
        if drop:
            _pg_admin(f"DROP DATABASE IF EXISTS {drop} WITH (FORCE)")
