"""SLA fixtures: a config with a business calendar, two policies and destinations; a case
factory; an agent and a customer to act on cases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from casedesk.clock import FixedClock
from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.db.sla_tables import OutboxItem, SlaClock
from casedesk.db.tables import AuditEvent, Case
from casedesk.domain.actors import Actor
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases, customers, sla, users

SLA_CONFIG = """\
[[calendars]]
id = "london"
timezone = "Europe/London"
hours = { mon-fri = ["09:00-17:00"] }
holidays = { country = "GB", subdiv = "ENG", extra = ["2026-12-24"] }

[[sla.policies]]
id = "urgent"
when = { priority = ["urgent"] }
calendar = "24x7"
targets = { first_response = "1h", next_response = "2h", resolution = "8h" }
warn_at = [0.75, 0.9]
escalation = [
  { at = "warn:0.75", notify = ["teams-leads"] },
  { at = "breach", metrics = ["first_response"], assign_team = "tier2", add_tag = "escalated" },
  { at = "breach+30m", metrics = ["first_response"], assign_user = "lead@example.com", notify = ["teams-leads"] },
]

[[sla.policies]]
id = "standard"
calendar = "london"
targets = { first_response = "4h", next_response = "8h", resolution = "24h" }
warn_at = [0.75, 0.9]
escalation = [
  { at = "breach", metrics = ["first_response"], raise_priority = true, add_tag = "sla-breached" },
]

[[notify.destinations]]
id = "slack-support"
kind = "slack"
webhook_url_env = "CASEDESK_TEST_SLACK_URL"

[[notify.destinations]]
id = "teams-leads"
kind = "teams"
webhook_url_env = "CASEDESK_TEST_TEAMS_URL"

[[notify.routes]]
events = ["sla.warning", "sla.breached", "case.escalated"]
to = ["slack-support"]
"""  # noqa: E501

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def config() -> AppConfig:
    return parse_config(SLA_CONFIG, "sla.toml")


@dataclass
class Desk:
    """A context with an agent, a lead of team tier2 and helpers to drive cases."""

    ctx: Context
    agent: Actor
    lead: Actor

    @property
    def clock(self) -> FixedClock:
        assert isinstance(self.ctx.clock, FixedClock)
        return self.ctx.clock

    def open(self, priority: str = "normal", **kw: Any) -> Case:
        data = cases.NewCase(
            subject=kw.pop("subject", "Printer on fire"),
            priority=priority,
            customer=customers.CustomerInput(email=kw.pop("email", "bob@example.com")),
            **kw,
        )
        return cases.create_case(
            self.ctx.db, self.ctx.config, data, actor=self.agent, now=self.clock.now()
        )

    def customer(self, case: Case) -> Actor:
        return Actor(kind="customer", id=case.customer_id, label="bob", origin="portal")

    def reply(self, case: Case, body: str = "On it", visibility: str = "public") -> None:
        cases.add_message(
            self.ctx.db,
            self.ctx.config,
            case.number,
            body=body,
            visibility=visibility,
            actor=self.agent,
            now=self.clock.now(),
        )

    def customer_says(self, case: Case, body: str = "Any news?") -> None:
        cases.add_message(
            self.ctx.db,
            self.ctx.config,
            case.number,
            body=body,
            actor=self.customer(case),
            now=self.clock.now(),
        )

    def move(self, case: Case, to: str, **kw: str) -> Case:
        return cases.transition_case(
            self.ctx.db,
            self.ctx.config,
            case.number,
            to,
            TransitionRequest(**kw),
            actor=self.agent,
            now=self.clock.now(),
        )

    def hold(self, case: Case) -> Case:
        return self.move(case, "on_hold", reason_code="awaiting_customer", reason="need logs")

    def update(self, case: Case, **changes: Any) -> Case:
        return cases.update_case(
            self.ctx.db,
            self.ctx.config,
            case.number,
            changes,
            actor=self.agent,
            now=self.clock.now(),
        )

    def clocks(self, case: Case) -> dict[str, dict[str, Any]]:
        """The newest cycle of each metric, as the API shows it."""
        out: dict[str, dict[str, Any]] = {}
        for c in sla.ledger_of(self.ctx, case.number):
            out[c["metric"]] = c
        return out

    def rows(self, case: Case) -> list[Any]:
        with self.ctx.db.read() as s:
            return list(s.scalars(select(SlaClock).where(SlaClock.case_number == case.number)))

    def events(self, case: Case, prefix: str = "sla.") -> list[AuditEvent]:
        with self.ctx.db.read() as s:
            return list(
                s.scalars(
                    select(AuditEvent)
                    .where(
                        AuditEvent.case_number == case.number,
                        AuditEvent.action.startswith(prefix),
                    )
                    .order_by(AuditEvent.id)
                )
            )

    def outbox(self, case: Case | None = None) -> list[OutboxItem]:
        with self.ctx.db.read() as s:
            query = select(OutboxItem).order_by(OutboxItem.id)
            if case is not None:
                query = query.where(OutboxItem.case_number == case.number)
            return list(s.scalars(query))

    def get(self, case: Case) -> Case:
        return cases.get_case(self.ctx.db, self.ctx.config, case.number)


SETUP = Actor(kind="system", label="test-setup", origin="test")


@pytest.fixture
def desk(ctx: Context) -> Iterator[Desk]:
    now = ctx.clock.now()
    users.create_team(ctx.db, name="tier2", actor=SETUP, now=now)
    agent = users.create_user(
        ctx.db, email="alice@example.com", name="Alice Agent", role="agent", actor=SETUP, now=now
    )
    lead = users.create_user(
        ctx.db,
        email="lead@example.com",
        name="Lee Lead",
        role="lead",
        team="tier2",
        actor=SETUP,
        now=now,
    )
    yield Desk(
        ctx,
        users.user_actor(agent, origin="test"),
        users.user_actor(lead, origin="test"),
    )
