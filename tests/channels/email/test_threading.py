"""The e-mail intake pipeline: new cases with an acknowledgement, threading in layers,
duplicates, automatic mail and participants (every test on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casedesk.context import Context
from casedesk.db.channel_tables import EmailParticipant, EmailSent
from casedesk.db.sla_tables import OutboxItem
from casedesk.domain.actors import Actor
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import cases
from casedesk.services.messages import attachments
from tests.channels.email.conftest import counts, mime, take, tid

LEAD = Actor(kind="user", id=1, label="lead@example.com", role="lead", origin="test")


def outbox_mail(ctx: Context) -> list[OutboxItem]:
    with ctx.db.read() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == "email")))


def sent_ids(ctx: Context, kind: str) -> list[str]:
    with ctx.db.read() as s:
        return list(s.scalars(select(EmailSent.message_id).where(EmailSent.kind == kind)))


def test_a_new_mail_opens_a_case_and_queues_one_acknowledgement(ctx: Context) -> None:
    result = take(ctx, mime(message_id="first@example.com", html="<p>My <b>points</b></p>"))
    assert result.outcome == "created" and result.email_id == "first@example.com"
    case = cases.get_case(ctx.db, ctx.config, result.case_number or 0)
    assert (case.channel, case.customer.email, case.customer.name) == (
        "email",
        "ana@example.com",
        "Ana Lima",
    )
    [message] = cases.messages(ctx.db, case.number)
    assert message.external_id == "first@example.com"
    assert "<b>points</b>" in (message.body_html or "")
    [ack] = outbox_mail(ctx)
    assert ack.dedupe_key == f"email.ack:{case.number}"
    raw = ack.payload["raw"]
    assert f"[{tid(case.number)}]" in raw and "Auto-Submitted: auto-replied" in raw
    assert "In-Reply-To: <first@example.com>" in raw
    assert len(sent_ids(ctx, "acknowledgement")) == 1


def test_the_same_message_id_twice_creates_nothing_new(ctx: Context) -> None:
    raw = mime(message_id="dup@example.com")
    first, again = take(ctx, raw), take(ctx, raw, source="imap")
    assert again.outcome == "duplicate" and again.case_number == first.case_number
    assert counts(ctx) == (1, 1, 0)
    assert len(outbox_mail(ctx)) == 1  # one acknowledgement


def test_an_answer_to_the_acknowledgement_threads_by_in_reply_to(ctx: Context) -> None:
    first = take(ctx, mime())
    [ack_id] = sent_ids(ctx, "acknowledgement")
    reply = take(ctx, mime(subject="Re: thanks", in_reply_to=ack_id, body="More detail."))
    assert (reply.outcome, reply.case_number) == ("threaded", first.case_number)
    assert len(outbox_mail(ctx)) == 1  # no acknowledgement for a threaded message


def test_subject_tag_threads_for_the_customer_and_participants_only(ctx: Context) -> None:
    first = take(ctx, mime(cc="Bo <bo@example.com>, support@casedesk.test"))
    tag = f"Re: [{tid(first.case_number)}] Points missing"
    with ctx.db.read() as s:
        assert list(s.scalars(select(EmailParticipant.email))) == ["bo@example.com"]
    by_customer = take(ctx, mime(subject=tag))
    by_participant = take(ctx, mime(subject=tag, sender="bo@example.com"))
    stranger = take(ctx, mime(subject=tag, sender="mallory@example.net"))
    assert by_customer.case_number == by_participant.case_number == first.case_number
    assert by_participant.outcome == "threaded"
    assert stranger.outcome == "created" and stranger.case_number != first.case_number


def test_an_unknown_ticket_id_in_the_subject_opens_a_new_case(ctx: Context) -> None:
    result = take(ctx, mime(subject="Re: [CASE-999999] hello"))
    assert result.outcome == "created"


def test_reply_to_resolved_reopens_and_to_closed_opens_a_linked_case(ctx: Context) -> None:
    first = take(ctx, mime(message_id="r1@example.com"))
    number = first.case_number or 0
    now = ctx.clock.now()
    cases.transition_case(
        ctx.db,
        ctx.config,
        number,
        "resolved",
        TransitionRequest(resolution="done"),
        actor=LEAD,
        now=now,
    )
    take(ctx, mime(message_id="r2@example.com", in_reply_to="r1@example.com"))
    assert cases.get_case(ctx.db, ctx.config, number).status == "in_progress"
    for to in ("resolved", "closed"):
        cases.transition_case(
            ctx.db,
            ctx.config,
            number,
            to,
            TransitionRequest(resolution="done"),
            actor=LEAD,
            now=now,
        )
    followup = take(ctx, mime(message_id="r3@example.com", in_reply_to="r2@example.com"))
    assert followup.outcome == "followup"
    assert cases.get_case(ctx.db, ctx.config, followup.case_number or 0).linked_case_number == (
        number
    )
    assert len(outbox_mail(ctx)) == 2  # the follow-up case is acknowledged too


def test_auto_replies_never_open_cases_nor_get_acknowledgements(ctx: Context) -> None:
    first = take(ctx, mime())
    [ack_id] = sent_ids(ctx, "acknowledgement")
    ooo = mime(
        subject="Automatic reply: Points missing",
        in_reply_to=ack_id,
        headers={"Auto-Submitted": "auto-replied"},
        body="I am away.",
    )
    recorded = take(ctx, ooo)
    assert (recorded.outcome, recorded.case_number) == ("noise_recorded", first.case_number)
    notes = [m for m in cases.messages(ctx.db, first.case_number or 0) if m.visibility != "public"]
    assert len(notes) == 1 and "auto-submitted" in notes[0].body
    stray = take(ctx, mime(headers={"Precedence": "bulk"}, subject="Newsletter"))
    assert stray.outcome == "quarantined" and "precedence: bulk" in (stray.reason or "")
    from_us = take(ctx, mime(sender=f"Desk <{'support@casedesk.test'}>"))
    assert from_us.outcome == "quarantined" and "own-address" in (from_us.reason or "")
    assert counts(ctx)[0] == 1 and len(outbox_mail(ctx)) == 1


def test_a_bounce_of_our_mail_is_recorded_on_its_case(ctx: Context) -> None:
    first = take(ctx, mime())
    [ack_id] = sent_ids(ctx, "acknowledgement")
    bounce = mime(
        sender="MAILER-DAEMON@mx.example.com",
        subject="Undelivered Mail Returned to Sender",
        body=f"This is the mail system.\n\nMessage-ID: <{ack_id}>\n",
    )
    result = take(ctx, bounce)
    assert (result.outcome, result.case_number) == ("noise_recorded", first.case_number)


def test_attachments_are_stored_with_name_type_and_size(ctx: Context) -> None:
    result = take(ctx, mime(attachment=("invoice.pdf", b"%PDF-1.4 tiny")))
    [message] = cases.messages(ctx.db, result.case_number or 0)
    [attachment] = attachments(ctx.db, [message.id])
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "invoice.pdf",
        "application/pdf",
        13,
    )


def test_a_reply_keeps_only_the_new_text(ctx: Context) -> None:
    first = take(ctx, mime(message_id="q1@example.com"))
    ctx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    body = "Thanks, that worked.\n\nOn Mon, 5 Jan 2026, Support wrote:\n> Try again\n"
    take(ctx, mime(message_id="q2@example.com", in_reply_to="q1@example.com", body=body))
    last = cases.messages(ctx.db, first.case_number or 0)[-1]
    assert last.body == "Thanks, that worked."
