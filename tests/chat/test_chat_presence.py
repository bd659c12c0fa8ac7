"""A reply in a chat reaches the visitor: live in the widget while it is open, by e-mail once
they have left (or their widget stopped answering), never both ways at once by design."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.db.contact_tables import ChatSession
from casedesk.db.sla_tables import OutboxItem
from tests.chat.conftest import CHAT_CONFIG, Visitor

MAIL = """
[email]
addresses = ["support@casedesk.test"]
outbound = { host = "127.0.0.1", port = 9, from = "support@casedesk.test" }
"""


@pytest.fixture
def config(request: pytest.FixtureRequest) -> AppConfig:
    return parse_config(CHAT_CONFIG + getattr(request, "param", "") + MAIL)


def mailed(ctx: Context) -> list[Any]:
    with ctx.db.read() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.event == "email.reply")))


def present_until(ctx: Context) -> Any:
    with ctx.db.read() as s:
        return s.scalar(select(func.max(ChatSession.present_until)))


def until(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _chat(server: str, visitors: list[Visitor]) -> tuple[Visitor, str]:
    ann = Visitor(server)
    visitors.append(ann)
    ann.hello(name="Ann", email="ann@example.com")
    case_id = ann.say("Where are my points?", "m1")["message"]["case_id"]
    return ann, case_id


def test_a_reply_goes_to_the_open_widget_and_by_mail_once_the_visitor_left(
    ctx: Context, server: str, visitors: list[Visitor], staff: httpx.Client
) -> None:
    ann, case_id = _chat(server, visitors)
    until(lambda: present_until(ctx) is not None)
    assert present_until(ctx) > ctx.clock.now()
    staff.post(f"/api/v1/cases/{case_id}/messages", json={"body": "Checking now."})
    assert ann.until("message")["message"]["body"] == "Checking now."
    assert mailed(ctx) == []

    ann.close()
    until(lambda: present_until(ctx) <= ctx.clock.now())
    staff.post(f"/api/v1/cases/{case_id}/messages", json={"body": "Your points are back."})
    [mail] = mailed(ctx)
    raw = mail.payload["raw"]
    assert "To: Ann <ann@example.com>" in raw and f"[{case_id}]" in raw
    assert "Your points are back." in raw


def test_a_widget_that_stopped_answering_counts_as_gone(
    ctx: Context, server: str, visitors: list[Visitor], staff: httpx.Client
) -> None:
    _, case_id = _chat(server, visitors)
    until(lambda: present_until(ctx) is not None)
    ctx.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]  # no keep-alives came
    staff.post(f"/api/v1/cases/{case_id}/messages", json={"body": "Still there?"})
    assert len(mailed(ctx)) == 1


@pytest.mark.parametrize("config", ["email_when_away = false\n"], indirect=True)
def test_mail_to_visitors_who_left_can_be_turned_off(
    ctx: Context, server: str, visitors: list[Visitor], staff: httpx.Client
) -> None:
    ann, case_id = _chat(server, visitors)
    ann.close()
    until(lambda: present_until(ctx) is not None and present_until(ctx) <= ctx.clock.now())
    staff.post(f"/api/v1/cases/{case_id}/messages", json={"body": "Done."})
    assert mailed(ctx) == []
