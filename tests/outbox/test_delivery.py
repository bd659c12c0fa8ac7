"""Delivery of the outbox to real Slack and Teams receivers on loopback that fail, rate-limit,
time out, go away and come back: every message arrives once, or ends as a dead letter."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from casedesk.config import parse_config
from casedesk.context import Context
from casedesk.db.sla_tables import OutboxItem
from casedesk.services import customers, intake, outbox
from casedesk.services.outbox_delivery import LEASE, claim
from tests.notify.conftest import Receiver
from tests.outbox.conftest import CONFIG, SLACK_PATH, open_case

S = timedelta(seconds=1)


def items(ctx: Context) -> list[OutboxItem]:
    with ctx.db.read() as s:
        return list(s.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def slack_item(ctx: Context) -> OutboxItem:
    return next(i for i in items(ctx) if i.destination == "slack-support")


def test_a_routed_event_reaches_slack_and_teams_once(
    ctx: Context, slack_rx: Receiver, teams_rx: Receiver
) -> None:
    teams_rx.reply(202, b"")
    case = open_case(ctx)
    queued = items(ctx)
    assert [(i.destination, i.status, i.event) for i in queued] == [
        ("slack-support", "pending", "case.created"),
        ("teams-leads", "pending", "case.created"),
    ]
    assert outbox.deliver_due(ctx) == 2
    assert outbox.deliver_due(ctx) == 0
    [slack], [teams] = slack_rx.requests, teams_rx.requests
    tid = f"CASE-{case.number:06d}"
    assert slack.path == SLACK_PATH
    assert slack.headers["idempotency-key"] == queued[0].dedupe_key
    assert f"<http://127.0.0.1:8000/console/cases/{tid}|{tid}>" in str(slack.json["blocks"])
    card = teams.json["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and tid in str(card)
    assert all(i.status == "delivered" and i.attempts == 1 for i in items(ctx))


def test_an_event_no_route_matches_queues_nothing(ctx: Context) -> None:
    open_case(ctx, "normal")
    assert items(ctx) == []


REPLIES_ROUTED = """
[[notify.routes]]
events = ["case.created", "case.customer_replied"]
to = ["slack-support"]
"""


def test_the_message_that_opens_a_case_is_not_a_reply(ctx: Context) -> None:
    ctx.config = parse_config(CONFIG.replace("SMTP_PORT", "25") + REPLIES_ROUTED, "notify.toml")
    sender = customers.CustomerInput(name="Bob Buyer", email="bob@example.com")

    def mail(body: str, message_id: str, replies_to: list[str] | None = None) -> Any:
        inbound = intake.InboundMessage(
            channel="email", sender=sender, subject="Points missing", body=body,
            external_id=message_id, replies_to=replies_to or [],
        )  # fmt: skip
        return intake.receive(ctx.db, ctx.config, inbound, now=ctx.clock.now())

    opened = mail("My points are missing.", "m1@example.com")
    assert opened.outcome == "created"
    assert [i.event for i in items(ctx)] == ["case.created"]
    answer = mail("Any news?", "m2@example.com", replies_to=["m1@example.com"])
    assert (answer.outcome, answer.case_number) == ("threaded", opened.case_number)
    assert [i.event for i in items(ctx)] == ["case.created", "case.customer_replied"]


def test_a_failing_receiver_is_retried_with_backoff(ctx: Context, slack_rx: Receiver) -> None:
    slack_rx.reply(500, "boom").reply(500, "boom again")
    open_case(ctx)
    outbox.deliver_due(ctx)
    item = slack_item(ctx)
    assert (item.status, item.attempts, item.last_status) == ("pending", 1, 500)
    assert item.next_attempt_at == ctx.clock.now() + 30 * S
    assert "HTTP 500" in (item.last_error or "")
    ctx.clock.advance(29 * S)  # type: ignore[attr-defined]
    outbox.deliver_due(ctx)
    assert len(slack_rx.requests) == 1
    ctx.clock.advance(S)  # type: ignore[attr-defined]
    outbox.deliver_due(ctx)
    assert slack_item(ctx).next_attempt_at == ctx.clock.now() + 60 * S
    ctx.clock.advance(60 * S)  # type: ignore[attr-defined]
    outbox.deliver_due(ctx)
    item = slack_item(ctx)
    assert (item.status, item.attempts, item.last_error) == ("delivered", 3, None)
    keys = {r.headers["idempotency-key"] for r in slack_rx.requests}
    assert len(slack_rx.requests) == 3 and keys == {item.dedupe_key}


def test_429_retry_after_is_honoured(ctx: Context, slack_rx: Receiver) -> None:
    slack_rx.reply(429, "slow down", headers={"Retry-After": "120"})
    open_case(ctx)
    outbox.deliver_due(ctx)
    item = slack_item(ctx)
    assert item.next_attempt_at == ctx.clock.now() + 120 * S  # longer than the 30 s backoff
    ctx.clock.advance(119 * S)  # type: ignore[attr-defined]
    outbox.deliver_due(ctx)
    assert len(slack_rx.requests) == 1
    ctx.clock.advance(S)  # type: ignore[attr-defined]
    outbox.deliver_due(ctx)
    assert slack_item(ctx).status == "delivered"


def test_a_receiver_that_times_out_is_retried(ctx: Context, slack_rx: Receiver) -> None:
    slack_rx.reply(200, "ok", delay=3)  # the config's timeout is 1 s
    open_case(ctx)
    outbox.deliver_due(ctx)
    item = slack_item(ctx)
    assert item.status == "pending" and "timed out" in (item.last_error or "")
    ctx.clock.advance(30 * S)  # type: ignore[attr-defined]
    outbox.deliver_due(ctx)
    assert slack_item(ctx).status == "delivered"


def test_down_for_an_hour_then_every_message_arrives_once(ctx: Context, slack_rx: Receiver) -> None:
    slack_rx.stop()  # connections refused
    for i in range(5):
        open_case(ctx, subject=f"outage {i}")
    for _ in range(33):  # a worker pass every two minutes for over an hour
        outbox.deliver_due(ctx)
        ctx.clock.advance(120 * S)  # type: ignore[attr-defined]
    waiting = [i for i in items(ctx) if i.destination == "slack-support"]
    assert all(i.status == "pending" for i in waiting)
    # only the head of the queue was tried: the outage cost a few attempts, not 5x as many
    head, *behind = waiting
    assert head.attempts == 7  # backoff 30 s, 1 m, 2 m … 32 m
    assert sum(i.attempts for i in behind) == 0
    slack_rx.start()
    ctx.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    outbox.deliver_due(ctx)
    assert all(i.status == "delivered" for i in items(ctx))
    subjects = Counter(r.json["text"].split(": ")[-1] for r in slack_rx.requests)
    assert subjects == {f"outage {i}": 1 for i in range(5)}


def test_permanent_failures_are_dead_letters_without_secrets(
    ctx: Context, slack_rx: Receiver
) -> None:
    slack_rx.reply(404, f"no such hook {SLACK_PATH}")
    open_case(ctx)
    outbox.deliver_due(ctx)
    item = slack_item(ctx)
    assert (item.status, item.attempts) == ("dead", 1)
    assert "HTTP 404" in (item.last_error or "")
    assert "s3cret" not in (item.last_error or "") and "127.0.0.1" not in (item.last_error or "")


def test_a_missing_secret_is_named_and_retried(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASEDESK_TEST_SLACK_URL")
    open_case(ctx)
    outbox.deliver_due(ctx)
    item = slack_item(ctx)
    assert item.status == "pending"
    assert (
        item.last_error == "slack-support: environment variable CASEDESK_TEST_SLACK_URL is not set"
    )


def test_max_attempts_then_dead_letter(ctx: Context, slack_rx: Receiver) -> None:
    ctx.config = parse_config(
        CONFIG.replace("[notify]", "[notify]\nmax_attempts = 4").replace("SMTP_PORT", "25")
    )
    for _ in range(4):
        slack_rx.reply(503, "unavailable")
    open_case(ctx)
    for _ in range(6):
        outbox.deliver_due(ctx)
        ctx.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    item = slack_item(ctx)
    assert (item.status, item.attempts, item.next_attempt_at) == ("dead", 4, None)
    assert len(slack_rx.requests) == 4


def test_a_crashed_worker_loses_nothing(ctx: Context, slack_rx: Receiver) -> None:
    open_case(ctx)
    claimed, _ = claim(ctx, 10)  # a worker claims, then dies before delivering
    assert len(claimed) == 2 and outbox.deliver_due(ctx) == 0  # leased: nobody else takes them
    ctx.clock.advance(LEASE)  # type: ignore[attr-defined]
    assert outbox.deliver_due(ctx) == 2
    assert len(slack_rx.requests) == 1


def test_two_workers_never_send_the_same_notification(
    ctx: Context, slack_rx: Receiver, teams_rx: Receiver
) -> None:
    for i in range(15):
        open_case(ctx, subject=f"busy {i}")
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run() -> None:
        barrier.wait()
        counts.append(outbox.deliver_due(ctx))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 30
    for rx in (slack_rx, teams_rx):
        keys = Counter(r.headers["idempotency-key"] for r in rx.requests)
        assert len(keys) == 15 and set(keys.values()) == {1}
