"""E-mail channel fixtures: a config with intake addresses, the webhook secret and outbound
SMTP to an aiosmtpd sink on loopback (``sink``); ``mime`` builds raw messages and ``take``
runs one through the intake pipeline."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from casedesk.channels.email import inbound
from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.db.channel_tables import EmailQuarantine
from casedesk.db.tables import Case, Message
from tests.outbox.conftest import Mailbox
from tests.procs import free_port

SUPPORT = "support@casedesk.test"
SECRET = "whsec-test-0123456789"
CONFIG = """\
[email]
addresses = ["support@casedesk.test", "help@casedesk.test"]
inbound_webhook = { secret_env = "CASEDESK_TEST_EMAIL_SECRET" }
outbound = { host = "127.0.0.1", port = SINK_PORT, from = "support@casedesk.test" }
rate_limit = { messages = 5, per = "10m" }
limits = { max_message_bytes = 200000, max_attachment_bytes = 50000 }

[notify]
timeout = "2s"
"""
_ids = itertools.count(1)


@pytest.fixture
def sink_port() -> int:
    return free_port()


@pytest.fixture
def sink(sink_port: int) -> Iterator[Mailbox]:
    """casedesk's outgoing mail, caught by a real SMTP server on loopback."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=sink_port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def config(sink_port: int) -> AppConfig:
    return parse_config(CONFIG.replace("SINK_PORT", str(sink_port)), "email.toml")


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEDESK_TEST_EMAIL_SECRET", SECRET)


def mime(
    *,
    sender: str = "Ana Lima <ana@example.com>",
    to: str = SUPPORT,
    subject: str = "Points missing",
    body: str = "My points from last week are missing.",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    """A raw message; ``message_id`` defaults to a fresh one (without angle brackets)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = formatdate(1767600000, usegmt=True)
    msg["Message-ID"] = f"<{message_id or f'm{next(_ids)}@mail.example.com'}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    if attachment:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


def take(ctx: Context, raw: bytes, source: str = "smtp") -> inbound.Received:
    return inbound.take(ctx, raw, source=source)


def count(ctx: Context, table: Any) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def counts(ctx: Context) -> tuple[int, int, int]:
    """(cases, messages, quarantined)"""
    return count(ctx, Case), count(ctx, Message), count(ctx, EmailQuarantine)


def tid(number: int | None) -> str:
    return f"CASE-{number or 0:06d}"
