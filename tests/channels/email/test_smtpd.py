"""The SMTP listener on loopback: mail sent with smtplib becomes a case, the acknowledgement
leaves through the outbox to an SMTP sink, and the customer's answer threads back."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from casedesk.channels.email import smtpd
from casedesk.context import Context
from casedesk.db.tables import Case
from casedesk.services import outbox
from tests.channels.email.conftest import counts, mime, tid
from tests.outbox.conftest import Mailbox
from tests.procs import free_port


@pytest.fixture
def listener(ctx: Context) -> Iterator[Controller]:
    controller = smtpd.start(ctx, "127.0.0.1", free_port())
    yield controller
    controller.stop()


def send(listener: Controller, raw: bytes, to: str = "support@casedesk.test") -> dict:
    wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # SMTP lines end in CRLF
    with smtplib.SMTP(listener.hostname, listener.port, timeout=10) as client:
        return client.sendmail("ana@example.com", [to], wire)


def test_mail_over_smtp_opens_a_case_acknowledged_by_mail(
    ctx: Context, listener: Controller, sink: Mailbox
) -> None:
    raw = mime(message_id="smtp-1@example.com", subject="Cannot log in")
    send(listener, raw, "Support+Billing@CaseDesk.test")
    send(listener, raw)  # the sending server retries: nothing new
    assert counts(ctx) == (1, 1, 0)
    assert outbox.deliver_due(ctx) == 1
    [(rcpts, ack)] = sink.messages
    assert rcpts == ["ana@example.com"]
    with ctx.db.read() as s:
        number = s.scalar(select(Case.number))
    assert ack["Subject"].startswith(f"[{tid(number)}]")
    assert ack["In-Reply-To"] == "<smtp-1@example.com>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert tid(number) in ack.get_content()
    answer = mime(
        subject=f"Re: {ack['Subject']}",
        in_reply_to=ack["Message-ID"].strip("<>"),
        body="Still broken.",
    )
    send(listener, answer)
    assert counts(ctx) == (1, 2, 0)
    assert outbox.deliver_due(ctx) == 0  # no acknowledgement for a reply


def test_the_listener_is_no_open_relay(listener: Controller) -> None:
    with (
        smtplib.SMTP(listener.hostname, listener.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.sendmail("ana@example.com", ["victim@elsewhere.example"], mime())
    [(code, _)] = refused.value.recipients.values()
    assert code == 550


def test_broken_and_oversized_mail_is_accepted_into_the_quarantine(
    ctx: Context, listener: Controller
) -> None:
    send(listener, b"no headers here, just junk\r\n")
    send(listener, mime(body=("y" * 70 + "\n") * 3600))
    assert counts(ctx) == (0, 0, 2)


def test_mail_over_the_hard_cap_is_refused_at_the_door(listener: Controller) -> None:
    with pytest.raises(smtplib.SMTPException):
        send(listener, mime(body=("z" * 70 + "\n") * 6500))


def test_a_database_outage_defers_with_451(
    ctx: Context, listener: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casedesk.channels.email import inbound

    def down(*_: object, **__: object) -> None:
        raise inbound.TemporaryFailure("database unavailable")

    monkeypatch.setattr(smtpd, "take", down)
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        send(listener, mime())
    assert deferred.value.smtp_code == 451
    assert counts(ctx) == (0, 0, 0)
