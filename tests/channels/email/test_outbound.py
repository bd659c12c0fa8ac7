"""Agents' public replies leave as e-mail through the outbox to an SMTP sink on loopback:
threading headers, the ticket tag, retries with backoff and never twice."""

from __future__ import annotations

from datetime import timedelta

from casedesk.context import Context
from casedesk.services import cases, outbox
from tests.channels.email.conftest import counts, mime, take, tid
from tests.conftest import Api
from tests.outbox.conftest import Mailbox


def test_a_public_reply_is_mailed_with_threading_headers_and_the_answer_threads_back(
    ctx: Context, api: Api, sink: Mailbox
) -> None:
    first = take(ctx, mime(message_id="c1@example.com", cc="bo@example.com"))
    number = first.case_number or 0
    outbox.deliver_due(ctx)  # the acknowledgement
    sink.messages.clear()
    ticket = tid(number)
    response = api.post(
        f"/api/v1/cases/{ticket}/messages",
        json={"body": "Please try again now.", "visibility": "public"},
    )
    assert response.status_code == 201, response.text
    api.post(f"/api/v1/cases/{ticket}/messages", json={"body": "note", "visibility": "internal"})
    assert outbox.deliver_due(ctx) == 1
    assert outbox.deliver_due(ctx) == 0  # never twice
    [(rcpts, reply)] = sink.messages
    assert sorted(rcpts) == ["ana@example.com", "bo@example.com"]
    assert reply["Subject"] == f"Re: [{ticket}] Points missing"
    assert reply["In-Reply-To"] == "<c1@example.com>"
    assert "<c1@example.com>" in reply["References"]
    assert reply["Reply-To"] is None  # the From is the intake address already
    assert "Please try again now." in reply.get_content()
    answer = mime(
        subject=f"Re: {reply['Subject']}",
        in_reply_to=reply["Message-ID"][1:-1],
        body="Works, thanks!",
    )
    assert take(ctx, answer).case_number == number
    assert counts(ctx)[0] == 1


def test_a_reply_waits_out_an_smtp_outage_and_is_sent_once(
    ctx: Context, api: Api, sink: Mailbox
) -> None:
    number = take(ctx, mime()).case_number or 0
    outbox.deliver_due(ctx)
    sink.messages.clear()
    sink.replies = ["421 4.3.2 service shutting down"]
    api.post(f"/api/v1/cases/{tid(number)}/messages", json={"body": "On it."})
    assert outbox.deliver_due(ctx) == 0
    assert outbox.deliver_due(ctx) == 0  # backing off
    ctx.clock.advance(timedelta(seconds=31))  # type: ignore[attr-defined]
    assert outbox.deliver_due(ctx) == 1
    assert len(sink.messages) == 1


def test_replies_on_chat_cases_and_customers_without_email_are_not_mailed(
    ctx: Context, api: Api, sink: Mailbox
) -> None:
    response = api.post(
        "/api/v1/cases",
        json={"subject": "Phoned in", "channel": "phone", "customer": {"name": "No Mail"}},
    )
    assert response.status_code == 201, response.text
    api.post(f"/api/v1/cases/{response.json()['id']}/messages", json={"body": "Called back."})
    assert outbox.deliver_due(ctx) == 0
    assert sink.messages == []


def test_without_outbound_settings_nothing_is_queued(ctx: Context, api: Api) -> None:
    from casedesk.config import parse_config

    ctx.config = parse_config('[email]\naddresses = ["support@casedesk.test"]\n')
    number = take(ctx, mime()).case_number or 0
    cases.add_message(ctx.db, ctx.config, number, body="hi", actor=_agent(), now=ctx.clock.now())
    with ctx.db.read() as s:
        from sqlalchemy import func, select

        from casedesk.db.sla_tables import OutboxItem

        assert s.scalar(select(func.count()).select_from(OutboxItem)) == 0


def _agent():  # type: ignore[no-untyped-def]
    from casedesk.domain.actors import Actor

    return Actor(kind="user", id=None, label="agent", role="agent", origin="test")
