"""E-mail through the outbox to a real SMTP server (aiosmtpd on loopback): notifications to
agents and leads, any ``EmailMessage`` queued with ``enqueue_email``, and SMTP failures."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select

from casedesk.config_notify import OutboundSettings, notify_settings
from casedesk.context import Context
from casedesk.db.sla_tables import OutboxItem
from casedesk.notify.email import send_message
from casedesk.services import outbox
from tests.outbox.conftest import Mailbox, open_case
from tests.procs import free_port


def mail_items(ctx: Context) -> list[OutboxItem]:
    with ctx.db.read() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == "email")))


def test_notification_mail_reaches_the_assignee_and_the_team_leads(
    ctx: Context, mailbox: Mailbox, staff: None
) -> None:
    case = open_case(ctx, "normal", tags=["mail-me"], team="tier2", assignee="alice@example.com")
    (item,) = mail_items(ctx)
    assert item.payload["to"] == ["oncall@example.com", "alice@example.com", "lead@example.com"]
    assert outbox.deliver_due(ctx) == 1
    ((rcpts, message),) = mailbox.messages
    tid = f"CASE-{case.number:06d}"
    assert sorted(rcpts) == ["alice@example.com", "lead@example.com", "oncall@example.com"]
    assert message["Subject"] == f"[{tid}] New case {tid}: Printer on fire"
    assert message["From"] == "desk@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert f"http://127.0.0.1:8000/console/cases/{tid}" in body
    assert "Team:" in body and "tier2" in body


def test_any_email_message_can_go_through_the_outbox(ctx: Context, mailbox: Mailbox) -> None:
    message = EmailMessage()
    message["From"] = "support@example.com"
    message["To"] = "customer@example.org"
    message["Subject"] = "Re: [CASE-000001] Your printer"
    message.set_content("We have ordered a new one.")
    with ctx.db.write() as s:
        outbox.enqueue_email(s, message, dedupe_key="reply:1", now=ctx.clock.now())
        outbox.enqueue_email(s, message, dedupe_key="reply:1", now=ctx.clock.now())  # no double
    assert outbox.deliver_due(ctx) == 1
    ((rcpts, got),) = mailbox.messages
    assert rcpts == ["customer@example.org"]
    assert got["Subject"] == "Re: [CASE-000001] Your printer"
    assert got.get_content().strip() == "We have ordered a new one."


def test_a_temporary_smtp_failure_is_retried_and_a_permanent_one_is_dead(
    ctx: Context, mailbox: Mailbox
) -> None:
    mailbox.replies = ["451 4.3.0 try again later", "550 5.1.1 no such user"]
    for key in ("a", "b"):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "s@example.com", "c@example.org", key
        message.set_content(key)
        with ctx.db.write() as s:
            outbox.enqueue_email(s, message, dedupe_key=key, now=ctx.clock.now())
    outbox.deliver_due(ctx)
    first, second = sorted(mail_items(ctx), key=lambda i: i.id)
    assert (first.status, first.last_status) == ("pending", 451)
    assert second.status == "pending" and second.attempts == 0  # waits behind the failure
    ctx.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    outbox.deliver_due(ctx)
    first, second = sorted(mail_items(ctx), key=lambda i: i.id)
    assert (first.status, first.last_status, second.status) == ("dead", 550, "delivered")
    assert len(mailbox.messages) == 1


def test_an_unreachable_server_is_a_transient_failure(ctx: Context) -> None:
    outbound = notify_settings(ctx.config).outbound
    assert outbound is not None
    nowhere = OutboundSettings(host="127.0.0.1", port=free_port(), sender="s@example.com")
    message = EmailMessage()
    message["From"], message["To"] = "s@example.com", "c@example.org"
    message.set_content("x")
    result = send_message(nowhere, message, timeout=2)
    assert not result.ok and result.retry
    assert "ConnectionRefused" in (result.error or "")
