"""Teams, users, API tokens and customers, as an admin and an agent manage them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

USERS = "/api/v1/users"
TEAMS = "/api/v1/teams"
TOKENS = "/api/v1/tokens"
CUSTOMERS = "/api/v1/customers"


def problem(
    resp: Any, status: int, *, field: str | None = None, contains: str | None = None
) -> dict[str, Any]:
    """Assert an RFC 9457 problem response and return its body."""
    req = resp.request
    where = f"{req.method} {req.url} {req.content.decode()!r} -> {resp.status_code} {resp.text}"
    assert resp.status_code == status, where
    assert resp.headers["content-type"].startswith("application/problem+json"), where
    body = resp.json()
    assert body["status"] == status and body["title"], where
    assert isinstance(body["detail"], str) and len(body["detail"]) >= 10, where
    if contains is not None:
        assert contains in body["detail"], where
    if field is not None:
        fields = [body.get("field"), *(e["field"] for e in body.get("errors", []))]
        assert field in fields, where
    return body


def emails(api: Any) -> list[str]:
    resp = api.get(USERS)
    assert resp.status_code == 200, resp.text
    return [u["email"] for u in resp.json()]


def test_admin_creates_teams_and_users(api: Any, ctx: Any) -> None:
    admin = api.as_role("admin")
    resp = admin.post(TEAMS, json={"name": "Tier 2"})
    assert resp.status_code == 201, resp.text
    team = resp.json()
    assert team["name"] == "Tier 2" and isinstance(team["id"], int)
    problem(admin.post(TEAMS, json={"name": "Tier 2"}), 409, contains="Tier 2")
    problem(admin.post(TEAMS, json={"name": ""}), 422, field="name")
    assert admin.post(TEAMS, json={"name": "Billing"}).status_code == 201
    assert [t["name"] for t in api.get(TEAMS).json()] == ["Billing", "Tier 2"]

    resp = admin.post(
        USERS,
        json={
            "email": "  Lena.Lead@Example.COM ",
            "name": "Lena",
            "role": "lead",
            "team": "Tier 2",
            "password": "correct horse battery",
        },
    )
    assert resp.status_code == 201, resp.text
    lena = resp.json()
    assert lena == {
        "id": lena["id"],
        "email": "lena.lead@example.com",
        "name": "Lena",
        "role": "lead",
        "team": "Tier 2",
        "active": True,
    }
    for role in ("admin", "agent"):
        resp = admin.post(
            USERS, json={"email": f"{role}-new@example.com", "name": role, "role": role}
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["role"] == role and resp.json()["team"] is None
    listed = {u["email"]: u for u in api.get(USERS).json()}
    assert listed["lena.lead@example.com"] == lena
    assert listed["admin-new@example.com"]["role"] == "admin"

    # The password is kept only as a hash.
    with ctx.db.read() as s:
        stored = s.execute(
            text("SELECT password_hash FROM users WHERE email = :e"), {"e": "lena.lead@example.com"}
        ).scalar_one()
    assert stored and "correct horse" not in stored

    # Each creation is in the audit trail, attributed to the admin.
    created = admin.get("/api/v1/audit/events", params={"action": "user.created"}).json()
    by_email = {e["data"]["email"]: e for e in created["items"]}
    assert by_email["lena.lead@example.com"]["data"]["role"] == "lead"
    assert (
        by_email["lena.lead@example.com"]["actor_label"]
        == admin.get("/api/v1/users/me").json()["email"]
    )


def test_invalid_users_are_refused(api: Any) -> None:
    admin = api.as_role("admin")
    base = {"email": "new@example.com", "name": "New", "role": "agent"}
    assert admin.post(USERS, json=base).status_code == 201
    before = emails(api)

    problem(admin.post(USERS, json=base), 409, contains="new@example.com")
    problem(admin.post(USERS, json={**base, "email": "NEW@Example.com"}), 409)
    problem(admin.post(USERS, json={**base, "email": "agent@example.com"}), 409)
    cases: list[tuple[dict[str, Any], str]] = [
        ({**base, "email": "x@example.com", "role": "owner"}, "role"),
        ({**base, "email": "x@example.com", "role": "customer"}, "role"),
        ({**base, "email": "x@example.com", "password": "123456789"}, "password"),
        ({**base, "email": "x@example.com", "password": ""}, "password"),
        ({**base, "email": "not an address"}, "email"),
        ({**base, "email": "@example.com"}, "email"),
        ({**base, "email": "x@example.com", "name": ""}, "name"),
        ({**base, "email": "x@example.com", "admin": True}, "admin"),
        ({"email": "x@example.com", "name": "X"}, "role"),
    ]
    for body, field in cases:
        problem(admin.post(USERS, json=body), 422, field=field)
    resp = admin.post(USERS, json={**base, "email": "ok@example.com", "password": "1234567890"})
    assert resp.status_code == 201, resp.text  # ten characters is enough
    assert emails(api) == sorted([*before, "ok@example.com"])


def test_user_with_unknown_team_is_422(api: Any) -> None:
    admin = api.as_role("admin")
    resp = admin.post(
        USERS, json={"email": "x@example.com", "name": "X", "role": "agent", "team": "Nowhere"}
    )
    problem(resp, 422, field="team", contains="Nowhere")


def test_token_secret_is_shown_once(api: Any) -> None:
    resp = api.post(TOKENS, json={"label": "laptop"})
    assert resp.status_code == 201, resp.text
    issued = resp.json()
    assert issued["token"].startswith(issued["hint"])
    assert issued["label"] == "laptop" and issued["revoked_at"] is None

    listed = api.get(TOKENS)
    assert listed.status_code == 200
    assert issued["token"] not in listed.text
    assert all("token" not in t for t in listed.json())
    mine = {t["id"]: t for t in listed.json()}
    assert {k: mine[issued["id"]][k] for k in mine[issued["id"]]} == {
        k: v for k, v in issued.items() if k != "token"
    }

    fresh = {"Authorization": f"Bearer {issued['token']}"}
    me = api.client.get("/api/v1/users/me", headers=fresh)
    assert me.status_code == 200 and me.json()["email"] == "agent@example.com"

    # Default label, and bad input.
    assert api.post(TOKENS, json={}).json()["label"] == "api"
    problem(api.post(TOKENS, json={"label": ""}), 422, field="label")
    problem(api.post(TOKENS, json={"label": "x", "scope": "all"}), 422, field="scope")


def test_admin_issues_tokens_for_other_users(api: Any) -> None:
    admin = api.as_role("admin")
    agent_id = api.get("/api/v1/users/me").json()["id"]
    for ref in ("agent@example.com", agent_id, str(agent_id)):
        resp = admin.post(TOKENS, json={"label": f"for-{ref}", "user": ref})
        assert resp.status_code == 201, resp.text
        bearer = {"Authorization": f"Bearer {resp.json()['token']}"}
        me = api.client.get("/api/v1/users/me", headers=bearer).json()
        assert me["email"] == "agent@example.com"
    # The tokens belong to the agent: they are in the agent's list, not the admin's.
    assert len(api.get(TOKENS).json()) == 4
    assert [t["label"] for t in admin.get(TOKENS).json()] == ["admin-token"]

    problem(admin.post(TOKENS, json={"user": "ghost@example.com"}), 404, contains="ghost")
    admin_email = admin.get("/api/v1/users/me").json()["email"]
    body = problem(api.post(TOKENS, json={"user": admin_email}), 403, contains="admin")
    assert body["title"] == "Forbidden"
    # Naming yourself is allowed for anyone.
    assert api.post(TOKENS, json={"user": "agent@example.com"}).status_code == 201
    assert [t["label"] for t in admin.get(TOKENS).json()] == ["admin-token"]


def test_customers_are_found_or_created(api: Any) -> None:
    resp = api.post(
        CUSTOMERS,
        json={"name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "+44 20 7946 0958"},
    )
    assert resp.status_code == 201, resp.text
    ada = resp.json()
    assert ada["email"] == "ada@example.com"
    assert ada["phone"] == "+442079460958"
    assert ada["name"] == "Ada Lovelace"

    for again in (
        {"email": "ADA@example.com"},
        {"phone": "+44 (0)20 7946-0958"},
        {"phone": "+442079460958", "name": "Someone else"},
    ):
        resp = api.post(CUSTOMERS, json=again)
        assert resp.status_code in (200, 201), resp.text
        assert resp.json() == ada, again

    ref = api.post(CUSTOMERS, json={"external_ref": "crm-77", "name": "Grace"}).json()
    assert ref["id"] != ada["id"] and ref["name"] == "Grace" and ref["email"] is None
    assert api.post(CUSTOMERS, json={"external_ref": "crm-77"}).json()["id"] == ref["id"]

    assert api.get(f"{CUSTOMERS}/{ada['id']}").json() == ada
    problem(api.get(f"{CUSTOMERS}/999999"), 404, contains="999999")
    problem(api.post(CUSTOMERS, json={}), 422, field="customer")
    problem(api.post(CUSTOMERS, json={"email": "nope"}), 422, field="email")
    problem(api.post(CUSTOMERS, json={"phone": "call me"}), 422, field="phone")
    problem(api.post(CUSTOMERS, json={"email": "a@b.c", "vip": True}), 422, field="vip")

    lead = api.as_role("lead")
    created = lead.get("/api/v1/audit/events", params={"action": "customer.created"}).json()
    assert len(created["items"]) == 2
