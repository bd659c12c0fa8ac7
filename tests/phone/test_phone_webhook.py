"""``POST /api/v1/channels/phone/twilio`` signed by the twilio package's ``RequestValidator``:
calls become or join cases once, forged and replayed requests change nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from casedesk.context import Context
from casedesk.db.contact_tables import PhoneCall
from casedesk.db.tables import Case, Customer, Message
from tests.conftest import Api

TOKEN = "0123456789abcdef0123456789abcdef"
URL = "http://testserver/api/v1/channels/phone/twilio"
PATH = "/api/v1/channels/phone/twilio"


@pytest.fixture(autouse=True)
def twilio_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEDESK_TWILIO_AUTH_TOKEN", TOKEN)


def call(sid: str = "CA" + "1" * 32, **fields: str) -> dict[str, str]:
    params = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": sid,
        "From": "+44 20 7946 0958",
        "To": "+441632960000",
        "CallStatus": "completed",
        "CallDuration": "245",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }
    params.update(fields)
    return params


def post(api: Api, params: dict[str, str], *, token: str = TOKEN, url: str = URL, **kw: Any):  # type: ignore[no-untyped-def]
    signature = RequestValidator(token).compute_signature(url, params)
    headers = {"X-Twilio-Signature": signature, **kw.pop("headers", {})}
    return api.client.post(
        PATH,
        content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        **kw,
    )


def counts(ctx: Context) -> tuple[int, int, int]:
    with ctx.db.read() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) for m in (Case, Message, PhoneCall)
        )


def test_a_completed_call_opens_a_phone_case_with_its_call_log(ctx: Context, api: Api) -> None:
    params = call(
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1",
        TranscriptionText="Hi, my internet is down since this morning.",
        CallerName="Ann Smith",
    )
    response = post(api, params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Response>" in response.text
    assert response.headers["X-Casedesk-Case"] == "CASE-000001"
    with ctx.db.read() as s:
        case = s.get_one(Case, 1)
        assert case.channel == "phone" and case.subject == "Phone call from +442079460958"
        customer = s.get_one(Customer, case.customer_id)
        assert (customer.phone, customer.name) == ("+442079460958", "Ann Smith")
        message = s.scalars(select(Message)).one()
        assert message.external_id == params["CallSid"] and message.channel == "phone"
        assert "4m 05s" in message.body and "internet is down" in message.body
        assert "Recordings/RE1" in message.body
        log = s.scalars(select(PhoneCall)).one()
    assert (log.case_number, log.message_id, log.source) == (1, message.id, "twilio")
    assert (log.number, log.direction, log.duration_seconds) == ("+442079460958", "inbound", 245)
    assert log.recording_url == params["RecordingUrl"]
    assert log.transcript == params["TranscriptionText"]
    assert (log.from_number, log.to_number, log.status) == (
        "+44 20 7946 0958",
        "+441632960000",
        "completed",
    )


def test_replays_create_nothing_and_later_callbacks_fill_in(ctx: Context, api: Api) -> None:
    assert post(api, call()).headers["X-Casedesk-Outcome"] == "created"
    before = counts(ctx)
    replay = post(api, call())
    assert replay.status_code == 200 and replay.headers["X-Casedesk-Outcome"] == "duplicate"
    assert counts(ctx) == before
    # Twilio's recording/transcription callbacks for the same call arrive later.
    later = post(api, call(RecordingUrl="https://api.twilio.com/rec/RE9", TranscriptionText="hi"))
    assert later.headers["X-Casedesk-Outcome"] == "updated"
    assert counts(ctx) == before
    with ctx.db.read() as s:
        log = s.scalars(select(PhoneCall)).one()
    assert (log.recording_url, log.transcript) == ("https://api.twilio.com/rec/RE9", "hi")


def test_a_caller_with_an_open_case_gets_the_call_added(ctx: Context, api: Api) -> None:
    post(api, call("CA" + "1" * 32))
    second = post(api, call("CA" + "2" * 32, From="020 7946 0958"))  # written differently
    assert second.headers["X-Casedesk-Outcome"] == "created"  # no region: not the same number
    third = post(api, call("CA" + "3" * 32, From="+442079460958"))
    assert third.headers["X-Casedesk-Outcome"] == "threaded"
    assert third.headers["X-Casedesk-Case"] == "CASE-000001"
    with ctx.db.read() as s:
        assert s.scalars(select(PhoneCall.case_number).order_by(PhoneCall.id)).all() == [1, 2, 1]
    # Once the case is solved, a new call opens a new case.
    api.post("/api/v1/cases/CASE-000001/transitions", json={"to": "resolved", "resolution": "ok"})
    fourth = post(api, call("CA" + "4" * 32))
    assert fourth.headers["X-Casedesk-Case"] == "CASE-000003"


def test_forged_or_missing_signatures_are_refused(ctx: Context, api: Api) -> None:
    params = call()
    attempts = [
        post(api, params, token="not-the-token"),
        post(api, params, url="http://testserver/somewhere/else"),
        post(api, params, headers={"X-Twilio-Signature": ""}),
        api.client.post(
            PATH,
            content=urlencode(params),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    signature = RequestValidator(TOKEN).compute_signature(URL, params)
    tampered = {**params, "From": "+15555550100"}
    attempts.append(
        api.client.post(
            PATH,
            content=urlencode(tampered),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
    )
    for response in attempts:
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert "X-Twilio-Signature" in response.json()["detail"]
    assert counts(ctx) == (0, 0, 0)


def test_bad_requests_get_clear_problems(
    ctx: Context, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_json = api.client.post(PATH, json=call())
    assert as_json.status_code == 415
    huge = post(api, call(TranscriptionText="x" * 70_000))
    assert huge.status_code == 413
    not_utf8 = api.client.post(
        PATH,
        content=b"CallSid=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert not_utf8.status_code == 400
    no_sid = post(api, {k: v for k, v in call().items() if k != "CallSid"})
    assert no_sid.status_code == 422
    for response in (as_json, huge, not_utf8, no_sid):
        assert response.headers["content-type"] == "application/problem+json"
    monkeypatch.delenv("CASEDESK_TWILIO_AUTH_TOKEN")
    unconfigured = post(api, call())
    assert unconfigured.status_code == 503
    assert "CASEDESK_TWILIO_AUTH_TOKEN" in unconfigured.json()["detail"]
    assert counts(ctx) == (0, 0, 0)


def test_calls_in_progress_and_missed_calls(ctx: Context, api: Api) -> None:
    ringing = post(api, call(CallStatus="ringing", CallDuration=""))
    assert ringing.headers["X-Casedesk-Outcome"] == "ignored"
    assert counts(ctx) == (0, 0, 0)
    missed = post(api, call("CA" + "5" * 32, CallStatus="no-answer", CallDuration="0"))
    assert missed.headers["X-Casedesk-Outcome"] == "created"
    anonymous = post(api, call("CA" + "6" * 32, From="anonymous"))
    assert anonymous.headers["X-Casedesk-Case"] == "CASE-000002"
    outbound_missed = post(api, call("CA" + "7" * 32, Direction="outbound-api", CallStatus="busy"))
    assert outbound_missed.headers["X-Casedesk-Outcome"] == "ignored"
    with ctx.db.read() as s:
        first = s.get_one(Case, 1)
        assert first.subject == "Missed call from +442079460958"
        unknown = s.get_one(Customer, s.get_one(Case, 2).customer_id)
    assert unknown.name == "Unknown caller" and unknown.phone is None
