"""The intake service: one entry for every channel, threading, de-duplication and noise."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casedesk.context import Context
from casedesk.db.tables import Case, Message
from casedesk.domain.actors import Actor
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases, intake
from casedesk.services.customers import CustomerInput

ANA = CustomerInput(email="ana@example.com", name="Ana")
LEAD = Actor(kind="user", id=1, label="lead@example.com", role="lead", origin="test")


def _mail(ctx: Context, **kw: object) -> intake.IntakeResult:
    fields: dict[str, object] = {
        "channel": "email",
        "sender": ANA,
        "subject": "Points missing",
        "body": "My points from last week are missing.",
    }
    fields.update(kw)
    ctx.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    return intake.receive(ctx.db, ctx.config, intake.InboundMessage(**fields), now=ctx.clock.now())  # type: ignore[arg-type]


def _count(ctx: Context, table: type) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_first_message_opens_a_case_with_the_sender_as_customer(ctx: Context) -> None:
    result = _mail(ctx, external_id="m1@example.com")
    assert result.outcome == "created"
    case = cases.get_case(ctx.db, ctx.config, result.case_number or 0)
    assert (case.channel, case.status, case.customer.email) == ("email", "open", "ana@example.com")
    assert case.last_customer_activity_at is not None
    [message] = cases.messages(ctx.db, case.number)
    assert message.external_id == "m1@example.com" and message.author_kind == "customer"


def test_same_external_id_twice_creates_nothing_new(ctx: Context) -> None:
    first = _mail(ctx, external_id="dup@example.com")
    again = _mail(ctx, external_id="dup@example.com")
    assert again.outcome == "duplicate" and again.case_number == first.case_number
    assert (_count(ctx, Case), _count(ctx, Message)) == (1, 1)


def test_reply_threads_by_references_then_by_subject_tag_from_the_customer(ctx: Context) -> None:
    first = _mail(ctx, external_id="a@x")
    by_ref = _mail(ctx, external_id="b@x", replies_to=["zzz@x", "a@x"], subject="Re: points")
    assert (by_ref.outcome, by_ref.case_number) == ("threaded", first.case_number)
    tag = f"Re: [{cases.ticket_id(ctx.config, first.case_number or 0)}] points"
    by_tag = _mail(ctx, external_id="c@x", subject=tag.lower())
    assert (by_tag.outcome, by_tag.case_number) == ("threaded", first.case_number)
    stranger = _mail(
        ctx, external_id="d@x", subject=tag, sender=CustomerInput(email="mallory@example.com")
    )
    assert stranger.outcome == "created" and stranger.case_number != first.case_number


def test_reply_to_resolved_reopens_and_to_closed_opens_a_linked_case(ctx: Context) -> None:
    first = _mail(ctx, external_id="r1@x")
    number = first.case_number or 0
    cases.transition_case(
        ctx.db,
        ctx.config,
        number,
        "resolved",
        TransitionRequest(resolution="points credited"),
        actor=LEAD,
        now=ctx.clock.now(),
    )
    reopened = _mail(ctx, external_id="r2@x", replies_to=["r1@x"])
    assert reopened.outcome == "threaded"
    case = cases.get_case(ctx.db, ctx.config, number)
    assert (case.status, case.reopen_count) == ("in_progress", 1)
    cases.transition_case(
        ctx.db,
        ctx.config,
        number,
        "resolved",
        TransitionRequest(resolution="again"),
        actor=LEAD,
        now=ctx.clock.now(),
    )
    cases.transition_case(
        ctx.db, ctx.config, number, "closed", TransitionRequest(), actor=LEAD, now=ctx.clock.now()
    )
    followup = _mail(ctx, external_id="r3@x", replies_to=["r2@x"])
    assert followup.outcome == "followup" and followup.case_number != number
    new = cases.get_case(ctx.db, ctx.config, followup.case_number or 0)
    assert new.linked_case_number == number
    assert cases.get_case(ctx.db, ctx.config, number).status == "closed"


def test_automatic_mail_never_opens_a_case_and_never_reopens(ctx: Context) -> None:
    assert _mail(ctx, external_id="ooo1@x", auto_reason="auto-replied").outcome == "noise_unmatched"
    assert _count(ctx, Case) == 0
    first = _mail(ctx, external_id="n1@x")
    cases.transition_case(
        ctx.db,
        ctx.config,
        first.case_number or 0,
        "resolved",
        TransitionRequest(resolution="done"),
        actor=LEAD,
        now=ctx.clock.now(),
    )
    noise = _mail(ctx, external_id="ooo2@x", replies_to=["n1@x"], auto_reason="auto-replied")
    assert noise.outcome == "noise_recorded"
    case = cases.get_case(ctx.db, ctx.config, first.case_number or 0)
    assert case.status == "resolved"
    notes = [m for m in cases.messages(ctx.db, case.number) if m.visibility == "internal"]
    assert len(notes) == 1 and "auto-replied" in notes[0].body
