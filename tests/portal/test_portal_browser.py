"""The portal end to end in headless Chromium against a real ``casedesk serve`` process: a
customer signs in with the link e-mailed to a real SMTP sink (aiosmtpd), submits a request,
sees the agent's reply and accepts the resolution, which closes the case."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from casedesk.clock import SystemClock
from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.services import outbox, users
from tests.chat.browser import launch
from tests.chat.servers import serve_process
from tests.conftest import SETUP
from tests.procs import free_port

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")


class Sink:
    """An SMTP server on loopback that keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        self.arrived.set()
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def config(sink: tuple[Sink, int]) -> AppConfig:
    return parse_config(toml(sink[1]))


def toml(smtp_port: int) -> str:
    return f"""
[cases]
categories = ["Billing", "Technical"]

[email.outbound]
host = "127.0.0.1"
port = {smtp_port}
from = "support@example.com"
"""


def test_a_customer_signs_in_submits_and_accepts_the_resolution(
    ctx: Context, db_url: str, sink: tuple[Sink, int], tmp_path: Path
) -> None:
    mailbox, smtp_port = sink
    config_file = tmp_path / "casedesk.toml"
    config_file.write_text(toml(smtp_port))
    now = ctx.clock.now()
    agent = users.create_user(
        ctx.db, email="amy@example.com", name="Amy", role="agent", actor=SETUP, now=now
    )
    token = users.create_token(ctx.db, user_id=agent.id, label="t", actor=SETUP, now=now).token
    # The worker's outbox delivery, run here on the wall clock the server writes with.
    worker = Context(ctx.settings, ctx.config, ctx.db, SystemClock())
    env = {
        "CASEDESK_DATABASE_URL": db_url,
        "CASEDESK_CONFIG": str(config_file),
        "CASEDESK_SECRET_KEY": "browser-test-secret",
    }
    with (
        serve_process(env, tmp_path) as base,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as staff,
        playwright.sync_playwright() as pw,
    ):
        browser = launch(pw)
        page = browser.new_page()
        page.set_default_timeout(10_000)

        page.goto(f"{base}/portal")
        assert page.url.endswith("/portal/login?next=/portal")
        page.fill("#link-email", "ann@example.com")
        page.click("#link-form button[type=submit]")
        page.wait_for_selector("text=Check your e-mail")

        assert outbox.deliver_due(worker) == 1
        assert mailbox.arrived.wait(10)
        [mail] = mailbox.messages
        assert mail["To"] == "ann@example.com" and mail["From"] == "support@example.com"
        link = re.search(r"http://\S+/portal/auth/\S+", mail.get_content())
        assert link is not None
        page.goto(link.group(0))
        page.click("#confirm-form button[type=submit]")
        page.wait_for_url(f"{base}/portal")
        assert page.inner_text("#portal-user") == "ann@example.com"

        page.click("text=New request")
        page.fill("#subject", "Printer on fire")
        page.select_option("#category", "Technical")
        page.fill("#description", "It started smoking after the update.")
        page.set_input_files(
            "#files", files=[{"name": "photo.txt", "mimeType": "text/plain", "buffer": b"smoke"}]
        )
        page.click("#new-case button[type=submit]")
        page.wait_for_url(re.compile(r".*/portal/cases/CASE-000001$"))
        assert "Your request is CASE-000001" in page.inner_text(".flashes")
        assert "photo.txt" in page.inner_text("#messages")

        reply = staff.post(
            "/api/v1/cases/CASE-000001/messages", json={"body": "Unplug it, please."}
        )
        assert reply.status_code == 201
        page.reload()
        assert "Unplug it, please." in page.inner_text("#messages")
        assert "Amy" in page.inner_text("#messages")

        resolved = staff.post(
            "/api/v1/cases/CASE-000001/transitions",
            json={"to": "resolved", "resolution": "Unplugged; the fire is out."},
        )
        assert resolved.status_code == 200
        page.reload()
        assert "the fire is out" in page.inner_text("#resolution")
        page.click("#accept")
        page.wait_for_selector("text=CASE-000001 is closed")
        assert page.inner_text("#case-status") == "Closed"
        browser.close()

        case = staff.get("/api/v1/cases/CASE-000001").json()
        assert (case["status"], case["channel"], case["category"]) == (
            "closed",
            "portal",
            "Technical",
        )
        events = staff.get("/api/v1/cases/CASE-000001/events").json()["items"]
        closing = events[-1]
        assert (closing["action"], closing["actor_kind"]) == ("case.status_changed", "customer")
