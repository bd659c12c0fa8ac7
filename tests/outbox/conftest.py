"""Outbox fixtures: Slack and Teams receivers on loopback (the HTTP receiver of the notify
tests), an aiosmtpd server catching e-mail, and a config routing case and SLA events to them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.domain.actors import Actor
from casedesk.services import cases, customers, users
from tests.notify.conftest import Receiver
from tests.procs import free_port

CONFIG = """\
[notify]
timeout = "1s"

[[notify.destinations]]
id = "slack-support"
kind = "slack"
webhook_url_env = "CASEDESK_TEST_SLACK_URL"

[[notify.destinations]]
id = "teams-leads"
kind = "teams"
webhook_url_env = "CASEDESK_TEST_TEAMS_URL"

[[notify.destinations]]
id = "leads-mail"
kind = "email"
to = ["oncall@example.com"]
assignee = true
team_leads = true

[[notify.routes]]
events = ["case.created"]
when = { priority = ["urgent"] }
to = ["slack-support", "teams-leads"]

[[notify.routes]]
events = ["case.created"]
when = { tags = ["mail-me"] }
to = ["leads-mail"]

[email]
outbound = { host = "127.0.0.1", port = SMTP_PORT, from = "desk@example.com" }
"""
SLACK_PATH = "/services/T000/B000/s3cretHookPath"
SETUP = Actor(kind="system", label="test-setup", origin="test")


@dataclass
class Mailbox:
    """What the SMTP server received, and the replies it will give to the next DATA commands."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def slack_rx() -> Iterator[Receiver]:
    rx = Receiver()
    rx.start()
    yield rx
    rx.stop()


@pytest.fixture
def teams_rx() -> Iterator[Receiver]:
    rx = Receiver()
    rx.start()
    yield rx
    rx.stop()


@pytest.fixture
def config(smtp_port: int) -> AppConfig:
    return parse_config(CONFIG.replace("SMTP_PORT", str(smtp_port)), "notify.toml")


@pytest.fixture(autouse=True)
def hooks(monkeypatch: pytest.MonkeyPatch, slack_rx: Receiver, teams_rx: Receiver) -> None:
    monkeypatch.setenv("CASEDESK_TEST_SLACK_URL", slack_rx.url(SLACK_PATH))
    monkeypatch.setenv("CASEDESK_TEST_TEAMS_URL", teams_rx.url("/workflows/abc"))


AGENT = Actor(kind="user", id=None, label="agent", role="agent", origin="test")


def open_case(ctx: Context, priority: str = "urgent", **kw: Any) -> Any:
    data = cases.NewCase(
        subject=kw.pop("subject", "Printer on fire"),
        priority=priority,
        customer=customers.CustomerInput(name="Bob Buyer", email="bob@example.com"),
        **kw,
    )
    return cases.create_case(ctx.db, ctx.config, data, actor=AGENT, now=ctx.clock.now())


@pytest.fixture
def staff(ctx: Context) -> None:
    """Team tier2 with a lead, and an agent to assign cases to."""
    now = ctx.clock.now()
    users.create_team(ctx.db, name="tier2", actor=SETUP, now=now)
    users.create_user(
        ctx.db,
        email="lead@example.com",
        name="Lee",
        role="lead",
        team="tier2",
        actor=SETUP,
        now=now,
    )
    users.create_user(
        ctx.db, email="alice@example.com", name="Alice", role="agent", actor=SETUP, now=now
    )
