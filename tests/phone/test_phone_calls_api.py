"""``POST /api/v1/channels/phone/calls``: agents log calls by hand (and the console's hook)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casedesk.channels import phone
from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.db.contact_tables import PhoneCall
from casedesk.db.tables import Case, Customer, Message
from casedesk.services import console_features, users
from tests.conftest import Api

CALLS = "/api/v1/channels/phone/calls"


@pytest.fixture
def config() -> AppConfig:
    return parse_config('[phone]\ndefault_region = "GB"\n')


def test_logging_a_call_opens_a_phone_case(ctx: Context, api: Api) -> None:
    response = api.post(
        CALLS,
        json={
            "number": "020 7946 0958",
            "duration_seconds": 95,
            "notes": "Wants a refund for order 1234.",
            "customer": {"name": "Ann Smith", "email": "ann@example.com"},
            "priority": "high",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["case_id"] == "CASE-000001" and body["created_case"] is True
    assert (body["number"], body["source"], body["status"]) == (
        "+442079460958",
        "manual",
        "completed",
    )
    case = api.get("/api/v1/cases/CASE-000001").json()
    assert (case["channel"], case["priority"], case["subject"]) == (
        "phone",
        "high",
        "Phone call from +442079460958",
    )
    assert case["customer"]["phone"] == "+442079460958"
    assert case["customer"]["email"] == "ann@example.com"
    [note] = case["messages"]
    assert note["visibility"] == "internal" and note["author_kind"] == "agent"
    assert "1m 35s" in note["body"] and "refund" in note["body"]


def test_a_call_joins_an_existing_case_and_is_listed(ctx: Context, api: Api) -> None:
    api.post("/api/v1/cases", json={"subject": "Broken router", "customer": {"name": "Bo"}})
    response = api.post(
        CALLS,
        json={
            "ticket_id": "case-000001",
            "number": "+1 415 867 5310",
            "direction": "outbound",
            "notes": "Called back, router replaced.",
            "visibility": "public",
        },
    )
    assert response.status_code == 201 and response.json()["created_case"] is False
    case = api.get("/api/v1/cases/CASE-000001").json()
    assert case["first_response_at"] is not None  # a public call note answers the customer
    assert case["messages"][-1]["body"].startswith("Phone call (outbound) to +14158675310")
    listed = api.get(CALLS, params={"ticket_id": "CASE-000001"})
    assert [c["direction"] for c in listed.json()] == ["outbound"]

    # A retry with the same Idempotency-Key logs the call once.
    payload = {"ticket_id": "CASE-000001", "number": "+442079460958", "notes": "again"}
    first = api.post(CALLS, json=payload, headers={"Idempotency-Key": "k-1"})
    again = api.post(CALLS, json=payload, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(api.get(CALLS, params={"ticket_id": "CASE-000001"}).json()) == 2


def test_bad_calls_are_refused_and_change_nothing(ctx: Context, api: Api) -> None:
    cases = [
        ({"number": "not a number"}, 422),
        ({"number": "+44207946095812345678"}, 422),
        ({"number": "+442079460958", "ticket_id": "CASE-000404"}, 404),
        ({"number": "+442079460958", "duration_seconds": -1}, 422),
        ({"number": "+442079460958", "recording_url": "javascript:alert(1)"}, 422),
        ({"number": "+442079460958", "direction": "sideways"}, 422),
        ({"number": "+442079460958", "unexpected": 1}, 422),
    ]
    for payload, status in cases:
        response = api.post(CALLS, json=payload)
        assert response.status_code == status, payload
        assert response.headers["content-type"] == "application/problem+json"
    assert (
        api.post(CALLS, content=b"number=1", headers={"Content-Type": "text/plain"}).status_code
        == 422
    )
    assert api.client.post(CALLS, json={"number": "+442079460958"}).status_code == 401
    assert api.get(CALLS, params={"ticket_id": "CASE-000404"}).status_code == 404
    with ctx.db.read() as s:
        for model in (Case, Message, PhoneCall, Customer):
            assert s.scalar(select(func.count()).select_from(model)) == 0


def test_the_console_logs_calls_through_the_phone_channel(ctx: Context, api: Api) -> None:
    api.post("/api/v1/cases", json={"subject": "Call", "channel": "phone"})
    agent = users.get_user(ctx.db, "agent@example.com")
    actor = users.user_actor(agent, origin="console")
    call = {
        "number": "555 0100 typed badly",
        "direction": "inbound",
        "duration_seconds": 30,
        "notes": "Asked about invoices.",
    }
    assert console_features.log_phone_call(ctx, "CASE-000001", call, actor) is True
    [logged] = phone.calls_of(ctx, "CASE-000001")
    assert logged.number == "555 0100 typed badly" and logged.logged_by_user_id == agent.id
