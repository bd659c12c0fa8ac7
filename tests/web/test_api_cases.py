"""The case endpoints as a client sees them: create, read, change, move and message a case,
and the audit trail each of those leaves behind."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from casedesk.config import AppConfig, parse_config
from casedesk.domain import audit_chain

CASES = "/api/v1/cases"

CONFIG_TOML = """
[workflow]
hold_reasons = ["awaiting_customer", "vendor"]

[cases]
categories = ["billing", "outage", "account"]

[[cases.fields]]
id = "plan"
name = "Plan"
type = "select"
options = ["free", "pro"]

[[cases.fields]]
id = "seats"
name = "Seats"
type = "integer"

[[cases.fields]]
id = "renewal"
name = "Renewal date"
type = "date"
"""

OTHER_CONFIG_TOML = """
[tickets]
prefix = "help"
digits = 4

[[cases.fields]]
id = "contract"
name = "Contract number"
type = "text"
required = true
"""


@pytest.fixture
def config(request: pytest.FixtureRequest) -> AppConfig:
    """This module's workflow and fields; a test may pass other TOML with indirect=True."""
    return parse_config(getattr(request, "param", CONFIG_TOML))


# -- helpers -----------------------------------------------------------------------------------


def problem(resp: Any, status: int, *, field: str | None = None,
            contains: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem response and return its body."""
    req = resp.request
    where = f"{req.method} {req.url} {req.content.decode()!r} -> {resp.status_code} {resp.text}"
    assert resp.status_code == status, where
    assert resp.headers["content-type"].startswith("application/problem+json"), where
    body = resp.json()
    assert body["status"] == status, where
    assert body["title"], where
    assert isinstance(body["detail"], str) and len(body["detail"]) >= 10, where
    if contains is not None:
        assert contains in body["detail"], where
    if field is not None:
        fields = [body.get("field"), *(e["field"] for e in body.get("errors", []))]
        assert field in fields, where
    return body


def create(api: Any, **fields: Any) -> dict[str, Any]:
    resp = api.post(CASES, json={"subject": "Printer on fire", **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def events(api: Any, case_id: str) -> list[dict[str, Any]]:
    resp = api.get(f"{CASES}/{case_id}/events")
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def actions(api: Any, case_id: str) -> list[str]:
    return [e["action"] for e in events(api, case_id)]


def move(api: Any, case_id: str, to: str, **extra: Any) -> Any:
    return api.post(f"{CASES}/{case_id}/transitions", json={"to": to, **extra})


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# -- create ------------------------------------------------------------------------------------


def test_create_case_returns_ticket_id_location_and_defaults(api: Any, clock: Any) -> None:
    resp = api.post(CASES, json={
        "subject": "  Cannot log in  ",
        "description": "Since this morning",
        "customer": {"name": "Ada", "email": "Ada@Example.COM", "phone": "+44 20 7946 0958"},
        "tags": ["Billing", " VIP ", "billing", "two words"],
    })
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert case["id"] == "CASE-000001"
    assert resp.headers["location"] == "/api/v1/cases/CASE-000001"
    assert case["subject"] == "Cannot log in"
    assert case["channel"] == "api"
    assert case["status"] == "open"
    assert case["status_category"] == "new"
    assert case["priority"] == "normal"
    assert case["tags"] == ["billing", "two-words", "vip"]
    assert case["customer"]["email"] == "ada@example.com"
    assert case["customer"]["phone"] == "+442079460958"
    assert case["customer"]["name"] == "Ada"
    assert case["created_at"] == case["updated_at"] == iso(clock.now())
    assert case["first_response_at"] is None and case["reopen_count"] == 0

    # What the client was given is what the server kept.
    stored = api.get(resp.headers["location"]).json()
    assert {k: stored[k] for k in case} == case


def test_second_case_reuses_customer_found_by_email(api: Any) -> None:
    first = create(api, customer={"name": "Ada", "email": "ada@example.com"})
    second = create(api, subject="Again", customer={"email": "ADA@example.com"})
    assert second["id"] == "CASE-000002"
    assert second["customer"]["id"] == first["customer"]["id"]
    assert second["customer"]["name"] == "Ada"
    found = api.get(CASES, params={"customer_id": first["customer"]["id"]}).json()["items"]
    assert [c["id"] for c in found] == ["CASE-000002", "CASE-000001"]


def test_create_case_with_fields_team_and_assignee(api: Any) -> None:
    admin = api.as_role("admin")
    assert admin.post("/api/v1/teams", json={"name": "Tier 2"}).status_code == 201
    case = create(api, channel="phone", priority="urgent", category="billing", team="Tier 2",
                  assignee="Agent@Example.com",
                  custom_fields={"plan": "pro", "seats": 12, "renewal": "2026-03-01"})
    assert case["channel"] == "phone"
    assert case["priority"] == "urgent"
    assert case["category"] == "billing"
    assert case["team"] == "Tier 2"
    assert case["assignee"]["email"] == "agent@example.com"
    assert case["custom_fields"] == {"plan": "pro", "seats": 12, "renewal": "2026-03-01"}
    created = events(api, case["id"])
    assert [e["action"] for e in created] == ["case.created"]
    assert created[0]["data"]["team"] == "Tier 2"
    assert created[0]["data"]["assignee"] == "agent@example.com"


INVALID_CASES: list[tuple[dict[str, Any], str, str | None]] = [
    ({}, "subject", "required"),
    ({"subject": ""}, "subject", None),
    ({"subject": "   "}, "subject", "subject"),
    ({"subject": "x", "priority": "critical"}, "priority", None),
    ({"subject": "x", "channel": "pigeon"}, "channel", None),
    ({"subject": "x", "colour": "red"}, "colour", None),
    ({"subject": "x", "customer": {"email": "a@b.c", "age": 3}}, "customer.age", None),
    ({"subject": "x", "customer": {"email": "not-an-address"}}, "email", "not-an-address"),
    ({"subject": "x", "customer": {"phone": "12"}}, "phone", "12"),
    ({"subject": "x", "tags": ["ok", "no/slash"]}, "tags", "no/slash"),
    ({"subject": "x", "category": "hardware"}, "category", "billing"),
    ({"subject": "x", "team": "Nobody"}, "team", "Nobody"),
    ({"subject": "x", "assignee": "ghost@example.com"}, "assignee", "ghost@example.com"),
    ({"subject": "x", "customer_id": 999}, "customer_id", "999"),
    ({"subject": "x", "custom_fields": {"plan": "gold"}}, "custom_fields.plan", "free, pro"),
    ({"subject": "x", "custom_fields": {"seats": "many"}}, "custom_fields.seats", None),
    ({"subject": "x", "custom_fields": {"seats": True}}, "custom_fields.seats", None),
    ({"subject": "x", "custom_fields": {"renewal": "next week"}}, "custom_fields.renewal",
     "YYYY-MM-DD"),
    ({"subject": "x", "custom_fields": {"colour": "red"}}, "custom_fields.colour", "plan"),
]


def test_create_case_rejects_invalid_input(api: Any) -> None:
    for body, field, contains in INVALID_CASES:
        problem(api.post(CASES, json=body), 422, field=field, contains=contains)
    # Nothing half-made is left behind: no case, no customer, no event.
    assert api.get(CASES).json()["items"] == []
    lead = api.as_role("lead")
    for action in ("case.created", "customer.created"):
        found = lead.get("/api/v1/audit/events", params={"action": action}).json()
        assert found["items"] == [], action


@pytest.mark.parametrize("config", [OTHER_CONFIG_TOML], indirect=True)
def test_configured_prefix_and_required_custom_field(api: Any) -> None:
    problem(api.post(CASES, json={"subject": "x"}), 422, field="custom_fields.contract",
            contains="required")
    case = create(api, custom_fields={"contract": "K-17"})
    assert case["id"] == "HELP-0001"
    assert api.get(f"{CASES}/help-1").json()["id"] == "HELP-0001"
    problem(api.get(f"{CASES}/CASE-000001"), 404, contains="HELP-")
    # Removing a required field later is refused too.
    resp = api.patch(f"{CASES}/HELP-0001", json={"custom_fields": {"contract": None}})
    problem(resp, 422, field="custom_fields.contract")
    assert api.get(f"{CASES}/HELP-0001").json()["custom_fields"] == {"contract": "K-17"}


# -- lookup ------------------------------------------------------------------------------------


def test_ticket_id_lookup_any_case_and_404_for_unknown_or_garbage(api: Any) -> None:
    create(api)
    for ref in ["CASE-000001", "case-1", "Case-0001", "CASE-1", "1"]:
        resp = api.get(f"{CASES}/{ref}")
        assert resp.status_code == 200, (ref, resp.text)
        assert resp.json()["id"] == "CASE-000001"

    problem(api.get(f"{CASES}/CASE-000002"), 404, contains="CASE-000002")
    problem(api.patch(f"{CASES}/CASE-000002", json={"priority": "high"}), 404)
    problem(move(api, "CASE-000002", "in_progress"), 404)
    problem(api.post(f"{CASES}/CASE-000002/messages", json={"body": "hi"}), 404)
    problem(api.get(f"{CASES}/CASE-000002/events"), 404)

    for ref in ["nope", "0", "-1", "CASE-", "CASE-0", "CASE-1x", "TICKET-1", "1.5",
                "CASE-999999999999999999", "CASE-9223372036854775808", "9223372036854775808",
                "99999999999999999999999"]:
        body = problem(api.get(f"{CASES}/{ref}"), 404)
        assert body["instance"] == f"{CASES}/{ref}"


# -- idempotency -------------------------------------------------------------------------------


def test_idempotent_retry_returns_the_same_case_once(api: Any, clock: Any) -> None:
    body = {"subject": "Refund", "customer": {"email": "bob@example.com"}, "tags": ["x"]}
    key = {"Idempotency-Key": "order-42"}
    first = api.post(CASES, json=body, headers=key)
    assert first.status_code == 201, first.text
    clock.advance(timedelta(seconds=30))
    # The same request again, keys in another order: a client retry after a lost response.
    retry = api.post(CASES, json=dict(reversed(list(body.items()))), headers=key)
    assert retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"]

    assert [c["id"] for c in api.get(CASES).json()["items"]] == ["CASE-000001"]
    lead = api.as_role("lead")
    for action in ("case.created", "customer.created"):
        found = lead.get("/api/v1/audit/events", params={"action": action}).json()["items"]
        assert len(found) == 1, action

    # A new key is a new case. (Ticket numbers come from the database: a retry may leave a
    # gap on PostgreSQL, so only distinctness is asserted.)
    other = api.post(CASES, json=body, headers={"Idempotency-Key": "order-43"})
    assert other.status_code == 201, other.text
    assert other.json()["id"] != first.json()["id"]
    assert len(api.get(CASES).json()["items"]) == 2


def test_idempotency_key_is_per_body_and_per_user(api: Any) -> None:
    key = {"Idempotency-Key": "k-1"}
    # A rejected request does not use up the key.
    problem(api.post(CASES, json={"subject": "One", "team": "Nope"}, headers=key), 422)
    mine = api.post(CASES, json={"subject": "One"}, headers=key)
    assert mine.status_code == 201, mine.text

    resp = api.post(CASES, json={"subject": "Two"}, headers=key)
    problem(resp, 422, field="Idempotency-Key", contains="Idempotency-Key")
    assert [c["subject"] for c in api.get(CASES).json()["items"]] == ["One"]

    other = api.as_role("agent")
    theirs = other.post(CASES, json={"subject": "One"}, headers=key)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != mine.json()["id"]
    assert len(api.get(CASES).json()["items"]) == 2


# -- PATCH -------------------------------------------------------------------------------------


def test_patch_changes_fields_and_records_before_after(api: Any, clock: Any) -> None:
    admin = api.as_role("admin")
    assert admin.post("/api/v1/teams", json={"name": "Tier 2"}).status_code == 201
    colleague = api.as_role("agent", "colleague@example.com")
    assert colleague.get("/api/v1/users/me").status_code == 200
    case = create(api, tags=["a", "b"])
    clock.advance(timedelta(minutes=5))

    resp = api.patch(f"{CASES}/case-1", json={
        "priority": "high", "tags": ["B", "c"], "category": "outage", "team": "Tier 2",
        "assignee": "colleague@example.com", "custom_fields": {"seats": 3},
    })
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["priority"] == "high"
    assert out["tags"] == ["b", "c"]
    assert out["category"] == "outage"
    assert out["team"] == "Tier 2"
    assert out["assignee"]["email"] == "colleague@example.com"
    assert out["custom_fields"] == {"seats": 3}
    assert out["updated_at"] == iso(clock.now())
    assert out["created_at"] == case["created_at"]
    detail = api.get(f"{CASES}/CASE-000001").json()
    assert {k: detail[k] for k in out} == out

    trail = events(api, "CASE-000001")
    assert [e["action"] for e in trail] == ["case.created", "case.updated", "case.assigned"]
    changes = trail[1]["data"]["changes"]
    assert changes["priority"] == {"before": "normal", "after": "high"}
    assert changes["tags"] == {"before": ["a", "b"], "after": ["b", "c"]}
    assert changes["category"] == {"before": None, "after": "outage"}
    assert changes["team"] == {"before": None, "after": "Tier 2"}
    assert changes["custom_fields"] == {"before": {}, "after": {"seats": 3}}
    assert "assignee" not in changes
    assert trail[2]["data"] == {"before": None, "after": "colleague@example.com"}
    assert trail[1]["actor_label"] == "agent@example.com"
    assert trail[1]["occurred_at"] == iso(clock.now())


def test_patch_null_clears_assignee_and_noop_writes_nothing(api: Any, clock: Any) -> None:
    case = create(api, priority="high", tags=["b", "a"], category="billing",
                  assignee="agent@example.com")
    clock.advance(timedelta(minutes=1))
    # The same values again (tags in another form): nothing changes, nothing is recorded.
    resp = api.patch(f"{CASES}/CASE-1", json={"priority": "high", "tags": ["A", "b"],
                                              "category": "billing", "team": None,
                                              "assignee": "AGENT@example.com"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["updated_at"] == case["updated_at"]
    assert api.patch(f"{CASES}/CASE-1", json={}).status_code == 200
    assert actions(api, "CASE-1") == ["case.created"]
    assert api.get(f"{CASES}/CASE-1").json()["updated_at"] == case["updated_at"]

    # Only the fields sent are touched; null clears the assignee.
    resp = api.patch(f"{CASES}/CASE-1", json={"assignee": None})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["assignee"] is None
    assert out["priority"] == "high" and out["tags"] == ["a", "b"]
    assert out["updated_at"] == iso(clock.now())
    trail = events(api, "CASE-1")
    assert [e["action"] for e in trail] == ["case.created", "case.assigned"]
    assert trail[-1]["data"] == {"before": "agent@example.com", "after": None}


INVALID_PATCHES: list[tuple[dict[str, Any], str]] = [
    ({"priority": "high", "team": "Ghosts"}, "team"),
    ({"priority": "high", "assignee": "ghost@example.com"}, "assignee"),
    ({"priority": "high", "category": "hardware"}, "category"),
    ({"priority": "high", "custom_fields": {"plan": "gold"}}, "custom_fields.plan"),
    ({"priority": "sky-high"}, "priority"),
    ({"priority": "high", "status": "closed"}, "status"),
    ({"subject": ""}, "subject"),
    ({"priority": "high", "tags": ["bad tag!"]}, "tags"),
]


def test_invalid_patch_is_422_and_changes_nothing(api: Any) -> None:
    before = create(api)
    for body, field in INVALID_PATCHES:
        problem(api.patch(f"{CASES}/CASE-1", json=body), 422, field=field)
    problem(api.patch(f"{CASES}/CASE-1", json={"team": "Ghosts"}), 422, contains="Ghosts")
    after = api.get(f"{CASES}/CASE-1").json()
    assert {k: after[k] for k in before} == before
    assert actions(api, "CASE-1") == ["case.created"]


# -- transitions -------------------------------------------------------------------------------


def test_full_lifecycle_with_guards(api: Any, clock: Any) -> None:
    lead = api.as_role("lead")
    create(api)
    cid = "CASE-000001"

    clock.advance(timedelta(minutes=1))
    resp = move(api, cid, "in_progress")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "in_progress"
    assert resp.json()["status_category"] == "open"

    clock.advance(timedelta(minutes=1))
    problem(move(api, cid, "on_hold", reason="waiting"), 422, field="reason_code",
            contains="awaiting_customer")
    # "third_party" is a built-in reason but not one this deployment configured.
    problem(move(api, cid, "on_hold", reason_code="third_party", reason="waiting"), 422,
            field="reason_code", contains="vendor")
    problem(move(api, cid, "on_hold", reason_code="vendor"), 422, field="reason")
    problem(move(api, cid, "on_hold", reason_code="vendor", reason="   "), 422, field="reason")
    resp = move(api, cid, "on_hold", reason_code="vendor", reason="Waiting for the courier")
    assert resp.status_code == 200, resp.text
    held = resp.json()
    assert held["status"] == "on_hold" and held["status_category"] == "pending"
    assert held["hold"] == {"reason_code": "vendor", "reason": "Waiting for the courier"}

    clock.advance(timedelta(minutes=1))
    resp = move(api, cid, "in_progress")
    assert resp.status_code == 200, resp.text
    assert resp.json()["hold"] is None

    clock.advance(timedelta(minutes=1))
    problem(move(api, cid, "resolved"), 422, field="resolution", contains="resolution")
    problem(move(api, cid, "resolved", resolution=" "), 422, field="resolution")
    resp = move(api, cid, "resolved", resolution="Replaced the toner")
    assert resp.status_code == 200, resp.text
    resolved = resp.json()
    assert resolved["resolution"] == "Replaced the toner"
    assert resolved["resolved_at"] == iso(clock.now())

    clock.advance(timedelta(minutes=1))
    body = problem(move(api, cid, "closed"), 409, contains="agent")
    assert body["allowed"] == ["in_progress"]
    assert api.get(f"{CASES}/{cid}").json()["status"] == "resolved"

    resp = move(lead, cid, "closed")
    assert resp.status_code == 200, resp.text
    closed = resp.json()
    assert closed["status"] == "closed" and closed["closed_at"] == iso(clock.now())
    assert api.get(f"{CASES}/{cid}").json()["allowed_transitions"] == []
    body = problem(move(lead, cid, "in_progress"), 409)
    assert body["allowed"] == []

    trail = [e for e in events(api, cid) if e["action"] == "case.status_changed"]
    assert [(e["data"]["from"], e["data"]["to"]) for e in trail] == [
        ("open", "in_progress"), ("in_progress", "on_hold"), ("on_hold", "in_progress"),
        ("in_progress", "resolved"), ("resolved", "closed"),
    ]
    assert trail[1]["data"]["reason_code"] == "vendor"
    assert trail[1]["data"]["reason"] == "Waiting for the courier"
    assert trail[3]["data"]["resolution"] == "Replaced the toner"
    assert trail[4]["actor_label"].startswith("lead")


def test_refused_transition_is_a_problem_and_leaves_case_unchanged(api: Any, clock: Any) -> None:
    create(api)
    body = problem(move(api, "CASE-1", "done"), 409, contains="done")
    assert body["allowed"] == ["in_progress", "on_hold", "resolved"]
    problem(move(api, "CASE-1", "open"), 409)
    problem(api.post(f"{CASES}/CASE-1/transitions", json={}), 422, field="to")
    problem(api.post(f"{CASES}/CASE-1/transitions", json={"to": "in_progress", "why": "x"}),
            422, field="why")

    assert move(api, "CASE-1", "in_progress").status_code == 200
    before = api.get(f"{CASES}/CASE-1").json()
    trail = events(api, "CASE-1")
    clock.advance(timedelta(hours=1))
    problem(move(api, "CASE-1", "on_hold", reason_code="vendor"), 422, field="reason")
    problem(move(api, "CASE-1", "resolved"), 422, field="resolution")
    body = problem(move(api, "CASE-1", "closed"), 409)
    assert body["allowed"] == ["on_hold", "resolved"]
    problem(move(api, "CASE-1", "nowhere"), 409)
    assert api.get(f"{CASES}/CASE-1").json() == before
    assert events(api, "CASE-1") == trail


def test_allowed_transitions_by_role_and_reopen(api: Any, clock: Any) -> None:
    lead = api.as_role("lead")
    admin = api.as_role("admin")
    create(api)
    assert api.get(f"{CASES}/CASE-1").json()["allowed_transitions"] == [
        "in_progress", "on_hold", "resolved"]
    assert move(api, "CASE-1", "resolved", resolution="done").status_code == 200
    assert api.get(f"{CASES}/CASE-1").json()["allowed_transitions"] == ["in_progress"]
    for boss in (lead, admin):
        assert boss.get(f"{CASES}/CASE-1").json()["allowed_transitions"] == [
            "closed", "in_progress"]

    clock.advance(timedelta(hours=2))
    resp = move(api, "CASE-1", "in_progress")
    assert resp.status_code == 200, resp.text
    case = resp.json()
    assert case["status"] == "in_progress"
    assert case["reopen_count"] == 1
    assert case["resolved_at"] is None
    assert case["updated_at"] == iso(clock.now())
    assert move(api, "CASE-1", "resolved", resolution="really").status_code == 200
    assert move(api, "CASE-1", "in_progress").json()["reopen_count"] == 2
    assert api.get(f"{CASES}/CASE-1").json()["reopen_count"] == 2


# -- messages ----------------------------------------------------------------------------------


def test_first_public_reply_sets_first_response_once(api: Any, clock: Any) -> None:
    create(api)
    clock.advance(timedelta(minutes=10))
    note = api.post(f"{CASES}/CASE-1/messages", json={"body": "Looks like toner",
                                                      "visibility": "internal"})
    assert note.status_code == 201, note.text
    assert note.json()["visibility"] == "internal"
    assert api.get(f"{CASES}/CASE-1").json()["first_response_at"] is None

    clock.advance(timedelta(minutes=10))
    replied_at = clock.now()
    reply = api.post(f"{CASES}/CASE-1/messages", json={"body": "We are on it"})
    assert reply.status_code == 201, reply.text
    assert reply.json()["visibility"] == "public"
    assert reply.json()["author_kind"] == "agent"
    assert reply.json()["author_name"] == "agent@example.com"
    assert api.get(f"{CASES}/CASE-1").json()["first_response_at"] == iso(replied_at)

    clock.advance(timedelta(minutes=10))
    assert api.post(f"{CASES}/CASE-1/messages", json={"body": "Fixed?"}).status_code == 201
    detail = api.get(f"{CASES}/CASE-1").json()
    assert detail["first_response_at"] == iso(replied_at)
    assert detail["updated_at"] == iso(clock.now())
    assert [(m["body"], m["visibility"]) for m in detail["messages"]] == [
        ("Looks like toner", "internal"), ("We are on it", "public"), ("Fixed?", "public")]
    times = [m["created_at"] for m in detail["messages"]]
    assert times == sorted(times) and len(set(times)) == 3


def test_message_event_carries_body_hash_and_bad_messages_are_422(api: Any) -> None:
    create(api)
    text = "Your password is reset — log in with the link we sent."
    msg = api.post(f"{CASES}/CASE-1/messages", json={"body": text}).json()
    event = events(api, "CASE-1")[-1]
    assert event["action"] == "message.added"
    assert event["data"]["message_id"] == msg["id"]
    assert event["data"]["visibility"] == "public"
    assert event["data"]["body_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert text not in str(event["data"])

    for body, field in [({}, "body"), ({"body": ""}, "body"), ({"body": "   "}, "body"),
                        ({"body": "hi", "visibility": "secret"}, "visibility"),
                        ({"body": "hi", "to": "x"}, "to")]:
        problem(api.post(f"{CASES}/CASE-1/messages", json=body), 422, field=field,
                contains=field)
    assert len(api.get(f"{CASES}/CASE-1").json()["messages"]) == 1
    assert actions(api, "CASE-1") == ["case.created", "message.added"]


# -- events ------------------------------------------------------------------------------------


def test_case_events_form_a_hash_chain_in_order(api: Any, clock: Any) -> None:
    create(api)
    for step in range(3):
        clock.advance(timedelta(minutes=1))
        api.patch(f"{CASES}/CASE-1", json={"tags": [f"t{step}"]})
    clock.advance(timedelta(minutes=1))
    api.post(f"{CASES}/CASE-1/messages", json={"body": "hello"})
    create(api, subject="Another case")  # its events must not show up in CASE-1's trail

    trail = events(api, "case-000001")
    assert [e["action"] for e in trail] == ["case.created", *["case.updated"] * 3,
                                            "message.added"]
    assert all(e["case_id"] == "CASE-000001" and e["scope"] == "case:1" for e in trail)
    assert [e["seq"] for e in trail] == [1, 2, 3, 4, 5]
    assert trail[0]["prev_hash"] == audit_chain.GENESIS
    for earlier, later in itertools.pairwise(trail):
        assert later["prev_hash"] == earlier["hash"]
        assert later["occurred_at"] > earlier["occurred_at"]
        assert later["id"] > earlier["id"]
    # A client can re-check each hash from what the API shows.
    for e in trail:
        fields = {**e, "case_number": 1,
                  "occurred_at": datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00"))}
        assert audit_chain.event_hash(e["prev_hash"], fields) == e["hash"]

    # Paging with the cursor gives the same events, each once.
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = api.get(f"{CASES}/CASE-1/events", params=params).json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == trail
    problem(api.get(f"{CASES}/CASE-1/events", params={"limit": 0}), 422, field="limit")


def test_whole_audit_trail_is_for_leads_only(api: Any) -> None:
    create(api)
    body = problem(api.get("/api/v1/audit/events"), 403)
    assert "agent" in body["detail"]
    lead = api.as_role("lead")
    resp = lead.get("/api/v1/audit/events")
    assert resp.status_code == 200, resp.text
    found = resp.json()["items"]
    assert "case.created" in [e["action"] for e in found]
    assert "user.created" in [e["action"] for e in found]
    ids = [e["id"] for e in found]
    assert ids == sorted(ids)
    only = lead.get("/api/v1/audit/events", params={"action": "case.created",
                                                    "actor": "agent@example.com"}).json()
    assert [e["case_id"] for e in only["items"]] == ["CASE-000001"]


def test_messages_carry_attachments_in_and_out(api: Any) -> None:
    import base64

    number = api.post(CASES, json={"subject": "Receipt attached"}).json()["id"]
    receipt = b"%PDF-1.4 receipt bytes"
    sent = api.post(
        f"{CASES}/{number}/messages",
        json={
            "visibility": "internal",
            "attachments": [
                {
                    "filename": "receipt.pdf",
                    "content_type": "application/pdf",
                    "content_base64": base64.b64encode(receipt).decode(),
                }
            ],
        },
    )
    assert sent.status_code == 201, sent.text
    [file] = sent.json()["attachments"]
    assert (file["filename"], file["size"]) == ("receipt.pdf", len(receipt))
    detail = api.get(f"{CASES}/{number}").json()
    assert detail["messages"][-1]["attachments"] == [file]
    got = api.get(file["url"])
    assert got.status_code == 200 and got.content == receipt
    assert got.headers["content-disposition"].startswith("attachment;")
    assert api.get("/api/v1/attachments/999999").status_code == 404
    assert api.client.get(file["url"]).status_code == 401  # no token, no file


def test_bad_attachments_are_refused_and_nothing_is_stored(api: Any) -> None:
    number = api.post(CASES, json={"subject": "Receipt attached"}).json()["id"]
    bad = api.post(
        f"{CASES}/{number}/messages",
        json={"body": "see file", "attachments": [{"filename": "x.pdf", "content_base64": "%%"}]},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "attachments[0].content_base64"
    assert "not valid base64" in bad.json()["detail"]
    empty = api.post(f"{CASES}/{number}/messages", json={"body": "  "})
    assert empty.status_code == 422
    assert api.get(f"{CASES}/{number}").json()["messages"] == []
