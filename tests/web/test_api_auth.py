"""Who may call the API: bearer tokens, their revocation and storage, and role checks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text

TOKENS = "/api/v1/tokens"


def problem(resp: Any, status: int, *, contains: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem response and return its body."""
    where = f"{resp.request.method} {resp.request.url} -> {resp.status_code} {resp.text}"
    assert resp.status_code == status, where
    assert resp.headers["content-type"].startswith("application/problem+json"), where
    body = resp.json()
    assert body["status"] == status and body["title"], where
    assert isinstance(body["detail"], str) and len(body["detail"]) >= 10, where
    if contains is not None:
        assert contains in body["detail"], where
    return body


def unauthorized(resp: Any, contains: str) -> None:
    body = problem(resp, 401, contains=contains)
    assert body["title"] == "Unauthorized"
    assert resp.headers["www-authenticate"] == "Bearer"


def test_requests_without_a_bearer_token_are_401(api: Any) -> None:
    client = api.client
    for headers in ({}, {"Authorization": "Basic YWdlbnQ6cHc="}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer   "}, {"Authorization": api.token}):
        unauthorized(client.get("/api/v1/cases", headers=headers), "Authorization: Bearer")
    unauthorized(client.post("/api/v1/cases", json={"subject": "x"}), "Bearer")
    unauthorized(client.get("/api/v1/users/me"), "Bearer")
    unauthorized(client.get("/api/v1/audit/events"), "Bearer")
    # Nothing was created by the refused POST.
    assert api.get("/api/v1/cases").json()["items"] == []


def test_unknown_token_is_401_and_scheme_is_case_insensitive(api: Any) -> None:
    client = api.client
    for token in ("cdk_not-a-real-token", api.token + "x", api.token[:-1]):
        resp = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
        unauthorized(resp, "unknown or revoked")
    resp = client.get("/api/v1/users/me", headers={"Authorization": f"bearer {api.token}"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["email"] == "agent@example.com"


def test_revoked_token_is_refused_at_once(api: Any, clock: Any) -> None:
    issued = api.post(TOKENS, json={"label": "ci-bot"})
    assert issued.status_code == 201, issued.text
    bot = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert api.client.get("/api/v1/users/me", headers=bot).status_code == 200

    clock.advance(timedelta(minutes=3))
    resp = api.delete(f"{TOKENS}/{issued.json()['id']}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["revoked_at"] == clock.now().isoformat().replace("+00:00", "Z")
    unauthorized(api.client.get("/api/v1/users/me", headers=bot), "revoked")
    unauthorized(api.client.post("/api/v1/cases", json={"subject": "x"}, headers=bot),
                 "revoked")
    # The caller's own token still works, and lists the revoked one as revoked.
    listed = {t["label"]: t for t in api.get(TOKENS).json()}
    assert listed["ci-bot"]["revoked_at"] is not None
    assert listed["agent-token"]["revoked_at"] is None

    # Revoking twice is harmless and keeps the first time.
    clock.advance(timedelta(minutes=1))
    again = api.delete(f"{TOKENS}/{issued.json()['id']}")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == resp.json()["revoked_at"]

    # A token can revoke itself; the very next request is refused.
    own = listed["agent-token"]["id"]
    assert api.delete(f"{TOKENS}/{own}").status_code == 200
    unauthorized(api.get("/api/v1/users/me"), "revoked")


def test_tokens_are_stored_hashed(api: Any, ctx: Any) -> None:
    admin = api.as_role("admin")
    secrets = [api.token, admin.token]
    for label in ("one", "two"):
        resp = api.post(TOKENS, json={"label": label})
        assert resp.status_code == 201, resp.text
        secrets.append(resp.json()["token"])
    assert len(set(secrets)) == 4 and all(len(s) >= 32 for s in secrets)

    with ctx.db.read() as s:
        rows = [dict(r) for r in s.execute(text("SELECT * FROM api_tokens")).mappings()]
        audit = [str(dict(r)) for r in
                 s.execute(text("SELECT * FROM audit_events")).mappings()]
    assert len(rows) == 4
    for secret in secrets:
        for row in rows:
            assert all(secret not in str(value) for value in row.values()), row
        assert all(secret not in event for event in audit)
    for row in rows:
        assert len(row["token_hash"]) == 64
        assert len(row["hint"]) <= 12
    # The short hint is all a listing shows.
    listed = api.get(TOKENS).json()
    assert [t["label"] for t in listed] == ["agent-token", "one", "two"]
    agents = [secrets[0], *secrets[2:]]
    for t, secret in zip(listed, agents, strict=True):
        assert "token" not in t
        assert secret.startswith(t["hint"]) and len(t["hint"]) < len(secret) // 3


def test_last_used_at_is_recorded(api: Any, clock: Any) -> None:
    issued = api.post(TOKENS, json={"label": "script"}).json()
    assert issued["last_used_at"] is None
    assert issued["created_at"] == clock.now().isoformat().replace("+00:00", "Z")

    clock.advance(timedelta(hours=2))
    used_at = clock.now().isoformat().replace("+00:00", "Z")
    script = {"Authorization": f"Bearer {issued['token']}"}
    assert api.client.get("/api/v1/cases", headers=script).status_code == 200
    listed = {t["label"]: t for t in api.get(TOKENS).json()}
    assert listed["script"]["last_used_at"] == used_at
    assert listed["agent-token"]["last_used_at"] == used_at

    clock.advance(timedelta(hours=1))
    assert api.client.get("/api/v1/cases", headers=script).status_code == 200
    later = {t["label"]: t for t in api.get(TOKENS).json()}
    assert later["script"]["last_used_at"] == clock.now().isoformat().replace("+00:00", "Z")


def test_roles_guard_admin_endpoints(api: Any) -> None:
    lead = api.as_role("lead")
    admin = api.as_role("admin")
    user = {"email": "new@example.com", "name": "New", "role": "agent"}
    for who in (api, lead):
        role = "agent" if who is api else "lead"
        body = problem(who.post("/api/v1/users", json=user), 403, contains=role)
        assert body["title"] == "Forbidden"
        assert "admin" in body["detail"]
        problem(who.post("/api/v1/teams", json={"name": "Tier 9"}), 403, contains="admin")
        problem(who.get("/api/v1/audit/verify"), 403)
    # Nothing was created by the refused calls.
    assert "new@example.com" not in [u["email"] for u in api.get("/api/v1/users").json()]
    assert api.get("/api/v1/teams").json() == []

    assert admin.post("/api/v1/teams", json={"name": "Tier 9"}).status_code == 201
    assert admin.post("/api/v1/users", json={**user, "team": "Tier 9"}).status_code == 201
    assert "new@example.com" in [u["email"] for u in api.get("/api/v1/users").json()]
    # Reading the audit trail is for leads and admins.
    problem(api.get("/api/v1/audit/events"), 403)
    assert lead.get("/api/v1/audit/events").status_code == 200
    assert admin.get("/api/v1/audit/events").status_code == 200


def test_only_admins_revoke_other_peoples_tokens(api: Any) -> None:
    colleague = api.as_role("agent")
    admin = api.as_role("admin")
    theirs = colleague.post(TOKENS, json={"label": "theirs"}).json()
    problem(api.delete(f"{TOKENS}/{theirs['id']}"), 404, contains=str(theirs["id"]))
    problem(api.delete(f"{TOKENS}/999999"), 404)
    bearer = {"Authorization": f"Bearer {theirs['token']}"}
    assert api.client.get("/api/v1/users/me", headers=bearer).status_code == 200
    # An agent cannot see another user's tokens either.
    assert theirs["id"] not in [t["id"] for t in api.get(TOKENS).json()]

    resp = admin.delete(f"{TOKENS}/{theirs['id']}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["revoked_at"] is not None
    unauthorized(api.client.get("/api/v1/users/me", headers=bearer), "revoked")


def test_health_and_openapi_need_no_token(api: Any) -> None:
    resp = api.client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"
    assert resp.json()["database"] in ("sqlite", "postgresql")

    spec = api.client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/cases"])
    assert {"get", "patch"} <= set(paths["/api/v1/cases/{ticket_id}"])
    for route in ("/api/v1/cases/{ticket_id}/transitions", "/api/v1/cases/{ticket_id}/messages"):
        assert "post" in paths[route]
    assert "get" in paths["/api/v1/cases/{ticket_id}/events"]
    assert "get" in paths["/api/v1/audit/events"]
