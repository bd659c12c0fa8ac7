"""Delivery against a real HTTP receiver on loopback: verdicts, retries, secrets, headers."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import pytest

from casedesk.notify.delivery import (
    BACKOFF_CAP,
    DeliveryResult,
    Destination,
    backoff_seconds,
    deliver,
    make_client,
    parse_retry_after,
)
from casedesk.notify.message import CaseNotice, headline

if TYPE_CHECKING:
    from tests.notify.conftest import Receiver

SECRET_PATH = "/services/T0001/B0002/s3cretW3bhookPart"
TOKEN = "xoxb-1111-2222-s3cretB0tT0ken"
KEY = "outbox-42"


def slack(rx: Receiver) -> Destination:
    return Destination(id="slack-support", kind="slack", url=rx.url(SECRET_PATH))


def bot(rx: Receiver) -> Destination:
    return Destination(
        id="slack-bot",
        kind="slack_bot",
        url=rx.url("/api/chat.postMessage"),
        token=TOKEN,
        channel="C0123456",
    )


def assert_no_secret(result: DeliveryResult, destination: Destination) -> None:
    assert result.error is not None
    for secret in (destination.url, destination.token):
        if secret:
            assert secret not in result.error
    assert "s3cret" not in result.error


def test_slack_success_posts_blocks_with_dedupe_headers(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    result = deliver(http, slack(receiver), notice, dedupe_key=KEY)
    assert result == DeliveryResult(ok=True, retry=False, retry_after=None, status=200, error=None)
    [request] = receiver.requests
    assert request.path == SECRET_PATH
    assert request.headers["idempotency-key"] == KEY
    assert request.headers["x-casedesk-delivery"] == KEY
    assert request.headers["x-casedesk-event"] == "sla.breached"
    assert request.headers["content-type"].startswith("application/json")
    assert "authorization" not in request.headers
    assert request.json["blocks"][0]["type"] == "header"
    assert "CASE-000123" in request.json["text"]


def test_teams_accepts_with_202(receiver: Receiver, http: httpx.Client, notice: CaseNotice) -> None:
    receiver.reply(202, b"")
    teams = Destination(id="teams-leads", kind="teams", url=receiver.url("/workflows/abc"))
    result = deliver(http, teams, notice, dedupe_key=KEY)
    assert result.ok and result.status == 202
    body = receiver.requests[0].json
    assert body["type"] == "message"
    assert body["attachments"][0]["content"]["type"] == "AdaptiveCard"


def test_generic_webhook_gets_the_notice(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    hook = Destination(id="ops", kind="webhook", url=receiver.url("/in"))
    assert deliver(http, hook, notice, dedupe_key=KEY).ok
    body = receiver.requests[0].json
    assert body["delivery_id"] == KEY
    assert body["event"] == "sla.breached"
    assert CaseNotice.from_dict(body["notice"]) == notice
    assert body["text"].endswith(notice.case_url)


def test_scripted_500_then_429_then_200(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    receiver.reply(500, "boom").reply(429, "slow down", headers={"Retry-After": "7"}).reply(200)
    dest = slack(receiver)
    first, second, third = (deliver(http, dest, notice, dedupe_key=KEY) for _ in range(3))
    assert (first.ok, first.retry, first.status, first.retry_after) == (False, True, 500, None)
    assert "HTTP 500" in (first.error or "")
    assert (second.ok, second.retry, second.status, second.retry_after) == (False, True, 429, 7.0)
    assert third.ok
    assert backoff_seconds(1, first.retry_after) == 30
    assert backoff_seconds(2, second.retry_after) == 60
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {KEY}


def test_503_retry_after_http_date(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    receiver.reply(503, headers={"Retry-After": format_datetime(later, usegmt=True)})
    result = deliver(http, slack(receiver), notice, dedupe_key=KEY)
    assert result.retry and result.status == 503
    assert result.retry_after is not None and 115 <= result.retry_after <= 120
    assert backoff_seconds(1, result.retry_after) == result.retry_after


def test_429_retry_after_far_future_is_bounded(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    receiver.reply(429, headers={"Retry-After": "99999999"})
    result = deliver(http, slack(receiver), notice, dedupe_key=KEY)
    assert result.retry and result.retry_after == 86400


@pytest.mark.parametrize("status", [408, 502, 504])
def test_transient_statuses_retry(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice, status: int
) -> None:
    receiver.reply(status)
    result = deliver(http, slack(receiver), notice, dedupe_key=KEY)
    assert (result.ok, result.retry, result.status) == (False, True, status)


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, "no_service"), (400, "invalid_payload"), (403, "action_prohibited"), (410, "gone")],
)
def test_client_errors_are_permanent(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice, status: int, body: str
) -> None:
    receiver.reply(status, body, headers={"Retry-After": "5"})
    result = deliver(http, slack(receiver), notice, dedupe_key=KEY)
    assert (result.ok, result.retry, result.status, result.retry_after) == (
        False,
        False,
        status,
        None,
    )
    assert result.error is not None
    assert result.error.startswith("slack-support: HTTP ")
    assert body in result.error


def test_redirect_is_not_followed(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    receiver.reply(301, headers={"Location": "https://elsewhere.example/"})
    result = deliver(http, slack(receiver), notice, dedupe_key=KEY)
    assert (result.ok, result.retry, result.status) == (False, False, 301)
    assert len(receiver.requests) == 1


def test_connection_refused_is_retried_then_succeeds(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    dest = slack(receiver)
    receiver.stop()
    down = deliver(http, dest, notice, dedupe_key=KEY)
    assert (down.ok, down.retry, down.status) == (False, True, None)
    assert_no_secret(down, dest)
    receiver.start()
    assert deliver(http, dest, notice, dedupe_key=KEY).ok
    assert len(receiver.requests) == 1


def test_timeout_is_retried(receiver: Receiver, http: httpx.Client, notice: CaseNotice) -> None:
    receiver.reply(200, delay=5)
    result = deliver(http, slack(receiver), notice, dedupe_key=KEY, timeout=0.3)
    assert (result.ok, result.retry, result.status) == (False, True, None)
    assert "timed out" in (result.error or "")


def test_client_timeout_applies_by_default(receiver: Receiver, notice: CaseNotice) -> None:
    receiver.reply(200, delay=5)
    with httpx.Client(timeout=0.3, trust_env=False) as short:
        result = deliver(short, slack(receiver), notice, dedupe_key=KEY)
    assert result.retry and "timed out" in (result.error or "")


def test_error_text_never_contains_url_or_token(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    dest = slack(receiver)
    echo = f"no hook at {dest.url} ({SECRET_PATH}) or {quote(dest.url, safe='')}"
    receiver.reply(404, echo)
    result = deliver(http, dest, notice, dedupe_key=KEY)
    assert_no_secret(result, dest)
    assert "s3cretW3bhookPart" not in (result.error or "")
    assert (result.error or "").count("[redacted]") == 3

    bot_dest = bot(receiver)
    receiver.reply(200, {"ok": False, "error": f"invalid_auth {TOKEN}"})
    result = deliver(http, bot_dest, notice, dedupe_key=KEY)
    assert_no_secret(result, bot_dest)
    assert "Bearer" not in (result.error or "")


def test_bad_scheme_is_permanent_and_redacted(http: httpx.Client, notice: CaseNotice) -> None:
    dest = Destination(id="typo", kind="teams", url="ftp://127.0.0.1/s3cretW3bhookPart")
    result = deliver(http, dest, notice, dedupe_key=KEY)
    assert (result.ok, result.retry) == (False, False)
    assert_no_secret(result, dest)


def test_httpx_log_line_hides_the_webhook_path(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="httpx"):
        deliver(http, slack(receiver), notice, dedupe_key=KEY)
    assert "HTTP Request: POST" in caplog.text
    assert "s3cretW3bhookPart" not in caplog.text
    assert f"http://127.0.0.1:{receiver.port}/[redacted]" in caplog.text


def test_destination_repr_hides_secrets(receiver: Receiver) -> None:
    text = repr(bot(receiver)) + repr(slack(receiver))
    assert TOKEN not in text and "s3cretW3bhookPart" not in text
    assert "slack-bot" in text


def test_destination_validation() -> None:
    with pytest.raises(ValueError, match="kind 'discord' is unknown"):
        Destination(id="x", kind="discord", url="https://x")
    with pytest.raises(ValueError, match="needs a webhook URL"):
        Destination(id="x", kind="slack")
    with pytest.raises(ValueError, match="needs a token and a channel"):
        Destination(id="x", kind="slack_bot", token=TOKEN)
    default = Destination(id="x", kind="slack_bot", token=TOKEN, channel="C1")
    assert default.endpoint == "https://slack.com/api/chat.postMessage"


# --- Slack chat.postMessage (bot token) -------------------------------------------------------


def test_slack_bot_success(receiver: Receiver, http: httpx.Client, notice: CaseNotice) -> None:
    receiver.reply(200, {"ok": True, "channel": "C0123456", "ts": "1.2"})
    result = deliver(http, bot(receiver), notice, dedupe_key=KEY)
    assert result.ok and result.status == 200
    [request] = receiver.requests
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.json["channel"] == "C0123456"
    assert request.json["blocks"]


def test_slack_bot_ok_false_is_permanent(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    receiver.reply(200, {"ok": False, "error": "channel_not_found"})
    result = deliver(http, bot(receiver), notice, dedupe_key=KEY)
    assert (result.ok, result.retry, result.status) == (False, False, 200)
    assert result.error == "slack-bot: Slack error: channel_not_found"


def test_slack_bot_ratelimited_is_retried(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    receiver.reply(200, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "30"})
    receiver.reply(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "12"})
    soft = deliver(http, bot(receiver), notice, dedupe_key=KEY)
    hard = deliver(http, bot(receiver), notice, dedupe_key=KEY)
    assert (soft.ok, soft.retry, soft.retry_after) == (False, True, 30.0)
    assert (hard.ok, hard.retry, hard.retry_after, hard.status) == (False, True, 12.0, 429)


def test_slack_bot_non_json_answer_is_permanent(
    receiver: Receiver, http: httpx.Client, notice: CaseNotice
) -> None:
    receiver.reply(200, "<html>captive portal</html>")
    result = deliver(http, bot(receiver), notice, dedupe_key=KEY)
    assert (result.ok, result.retry) == (False, False)


# --- pure helpers -------------------------------------------------------------------------------


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after(" 120 ", now=now) == 120.0
    assert parse_retry_after("Mon, 02 Mar 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Mon, 02 Mar 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff_seconds(n, None) for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]
    assert backoff_seconds(10_000, None) == BACKOFF_CAP
    assert backoff_seconds(1, 7.0) == 30
    assert backoff_seconds(1, 45.5) == 45.5
    assert backoff_seconds(20, 7200.0) == 7200.0
    with pytest.raises(ValueError):
        backoff_seconds(0, None)


def test_make_client_has_bounded_timeouts() -> None:
    with make_client() as client:
        assert client.timeout.read == 10.0
        assert client.timeout.connect == 5.0
        assert client.follow_redirects is False


# --- the notice as the outbox stores it ---------------------------------------------------------


def test_notice_round_trips_through_json(notice: CaseNotice) -> None:
    stored = json.loads(json.dumps(notice.to_dict()))
    assert stored["sla_due"] == "2026-03-02T14:30:00+00:00"
    assert stored["tags"] == ["vip", "printer"]
    assert CaseNotice.from_dict(stored) == notice
    bare = replace(notice, sla_due=None, team=None, detail=None, tags=())
    assert CaseNotice.from_dict(json.loads(json.dumps(bare.to_dict()))) == bare


def test_from_dict_ignores_unknown_keys_and_requires_the_basics(notice: CaseNotice) -> None:
    assert CaseNotice.from_dict({**notice.to_dict(), "added_later": 1}) == notice
    data = notice.to_dict()
    del data["ticket_id"]
    with pytest.raises(ValueError, match="missing ticket_id"):
        CaseNotice.from_dict(data)


def test_notice_rejects_unknown_events_and_naive_due(notice: CaseNotice) -> None:
    with pytest.raises(ValueError, match=r"unknown event 'case\.deleted'"):
        replace(notice, event="case.deleted")
    with pytest.raises(ValueError, match="aware"):
        replace(notice, sla_due=datetime(2026, 3, 2, 14, 30))


@pytest.mark.parametrize(
    ("event", "changes", "expected"),
    [
        ("case.created", {}, "New case CASE-000123: Printer on fire"),
        ("case.assigned", {}, "CASE-000123 assigned to Alice Agent"),
        ("case.assigned", {"assignee": None}, "CASE-000123 assigned to team tier1"),
        ("case.assigned", {"assignee": None, "team": None}, "CASE-000123 unassigned"),
        ("case.status_changed", {}, "CASE-000123 is now In Progress"),
        ("case.customer_replied", {}, "Bob Buyer <bob@example.com> replied on CASE-000123"),
        ("case.customer_replied", {"customer": None}, "The customer replied on CASE-000123"),
        (
            "sla.warning",
            {"detail": "75% of first response"},
            "SLA warning on CASE-000123: 75% of first response",
        ),
        ("sla.breached", {}, "SLA breached on CASE-000123: first response breached by 12m"),
        ("sla.breached", {"detail": None}, "SLA breached on CASE-000123"),
        ("case.escalated", {"detail": "to tier2"}, "CASE-000123 escalated: to tier2"),
        ("test", {}, "Test notification from casedesk"),
    ],
)
def test_headline_per_event(
    notice: CaseNotice, event: str, changes: dict[str, object], expected: str
) -> None:
    assert headline(replace(notice, event=event, **changes)) == expected  # type: ignore[arg-type]


def test_headline_is_one_line(notice: CaseNotice) -> None:
    text = headline(replace(notice, event="case.created", subject="a\n\nb " + "x" * 1000))
    assert "\n" not in text
    assert len(text) <= 300 and text.endswith("…")
