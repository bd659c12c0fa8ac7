"""Signing in and out of the console: sessions, cookies, rate limiting and CSRF."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from casedesk.db.ui_tables import WebSession
from casedesk.services import accounts, sessions
from tests.conftest import SETUP
from tests.ui.conftest import PASSWORD, Browser, Browsers, make_user


def test_anonymous_console_redirects_to_login_with_next(browsers: Browsers) -> None:
    b = browsers.anonymous()
    resp = b.get("/console?status=any&q=printer")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/console/login?next=/console%3Fstatus%3Dany%26q%3Dprinter"
    page = b.get(resp.headers["location"])
    assert page.status_code == 200
    assert 'name="next" value="/console?status=any&amp;q=printer"' in page.text
    # htmx requests are told where to go instead of getting the login page as a fragment
    hx = b.get("/console", headers={"HX-Request": "true"})
    assert hx.status_code == 401
    assert hx.headers["hx-redirect"].startswith("/console/login?next=")


def test_the_site_root_leads_to_the_console_sign_in(browsers: Browsers) -> None:
    b = browsers.anonymous()
    root = b.get("/")
    assert root.status_code == 303 and root.headers["location"] == "/console"
    assert b.get("/console").headers["location"].startswith("/console/login")


def test_sign_in_sets_a_hardened_cookie_and_lands_on_next(browsers: Browsers, ctx: Any) -> None:
    user = make_user(ctx, "agent", "pat@example.com")
    b = browsers.anonymous()
    resp = b.login("PAT@example.com", next="/console/cases/new")
    assert resp.status_code == 303, resp.text
    assert resp.headers["location"] == "/console/cases/new"
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith("casedesk_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http test server, http base URL
    assert b.get("/console").status_code == 200
    # Only the hash of the token is stored; the session belongs to the user.
    token = b.client.cookies["casedesk_session"]
    with ctx.db.read() as s:
        row = s.scalar(select(WebSession))
    assert row.token_hash == sessions.digest(token) and token not in row.token_hash
    assert (row.principal_kind, row.principal_id) == ("user", user.id)
    # Sign-in is in the audit trail.
    events = b.get("/console").text  # still signed in
    assert "Sign out" in events


def test_cookie_is_secure_when_served_over_https(browsers: Browsers, ctx: Any) -> None:
    make_user(ctx, "agent", "sec@example.com")
    b = browsers.anonymous(base_url="https://testserver")
    page = b.client.get("/console/login")
    assert "Secure" in page.headers["set-cookie"]  # the pre-session cookie
    resp = b.login("sec@example.com")
    assert resp.status_code == 303
    assert "Secure" in resp.headers["set-cookie"]
    # Behind a TLS-terminating proxy the base URL says https.
    ctx.settings.base_url = "https://help.example.com"
    c = browsers.anonymous()
    assert "Secure" in c.client.get("/console/login").headers["set-cookie"]


def test_open_redirects_after_sign_in_are_refused(browsers: Browsers, ctx: Any) -> None:
    make_user(ctx, "agent", "nav@example.com")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        b = browsers.anonymous()
        resp = b.login("nav@example.com", next=evil)
        assert resp.status_code == 303
        assert resp.headers["location"] == "/console", evil


def test_wrong_password_and_unknown_user_look_the_same(browsers: Browsers, ctx: Any) -> None:
    make_user(ctx, "agent", "real@example.com")
    b = browsers.anonymous()
    wrong = b.login("real@example.com", "not the password")
    unknown = b.login("ghost@example.com", "not the password")
    for resp in (wrong, unknown):
        assert resp.status_code == 401
        assert "do not match an active account" in resp.text
        assert "casedesk_session" not in resp.headers.get("set-cookie", "")
    assert 'value="real@example.com"' in wrong.text  # the e-mail is kept in the form


def test_deactivated_user_cannot_sign_in_and_loses_sessions(browsers: Browsers, ctx: Any) -> None:
    b = browsers.signed_in("agent", "leaver@example.com")
    assert b.get("/console").status_code == 200
    accounts.set_active(ctx.db, user_id=b.user.id, active=False, actor=SETUP, now=ctx.clock.now())
    assert b.get("/console").status_code == 303  # the live session ended at once
    assert browsers.anonymous().login("leaver@example.com").status_code == 401


def test_rate_limit_per_email_then_forgiven_after_window(browsers: Browsers, ctx: Any) -> None:
    make_user(ctx, "agent", "target@example.com")
    b = browsers.anonymous()
    for _ in range(sessions.MAX_FAILURES_PER_EMAIL):
        assert b.login("target@example.com", "guess-guess").status_code == 401
    # Now even the right password is refused, with the wait in minutes.
    blocked = b.login("target@example.com")
    assert blocked.status_code == 429
    assert "Too many failed sign-ins. Try again in 15 minutes." in blocked.text
    # Another e-mail from the same address is not blocked by this e-mail's failures.
    make_user(ctx, "agent", "other@example.com")
    assert b.login("other@example.com").status_code == 303
    ctx.clock.advance(sessions.FAILURE_WINDOW + timedelta(seconds=1))
    assert browsers.anonymous().login("target@example.com").status_code == 303


def test_rate_limit_per_address_across_emails(browsers: Browsers, ctx: Any) -> None:
    make_user(ctx, "agent", "victim@example.com")
    b = browsers.anonymous()
    for i in range(sessions.MAX_FAILURES_PER_IP):
        assert b.login(f"spray{i}@example.com", "guess-guess").status_code == 401
    assert b.login("victim@example.com").status_code == 429


def test_success_forgives_earlier_failures_of_that_email(browsers: Browsers, ctx: Any) -> None:
    make_user(ctx, "agent", "typo@example.com")
    b = browsers.anonymous()
    for _ in range(sessions.MAX_FAILURES_PER_EMAIL - 1):
        b.login("typo@example.com", "typo-typo")
    assert b.login("typo@example.com").status_code == 303
    c = browsers.anonymous()
    for _ in range(sessions.MAX_FAILURES_PER_EMAIL - 1):
        assert c.login("typo@example.com", "typo-typo").status_code == 401
    assert c.login("typo@example.com").status_code == 303


def test_sign_out_revokes_the_session_server_side(agent: Browser, ctx: Any) -> None:
    stolen = agent.client.cookies["casedesk_session"]
    resp = agent.post("/console/logout")
    assert resp.status_code == 303 and resp.headers["location"] == "/console/login"
    assert (
        'casedesk_session=""' in resp.headers["set-cookie"]
        or "Max-Age=0" in resp.headers["set-cookie"]
    )
    # A copy of the old cookie no longer works.
    agent.client.cookies.set("casedesk_session", stolen)
    assert agent.get("/console").status_code == 303
    with ctx.db.read() as s:
        assert s.scalar(select(WebSession.revoked_at)) == ctx.clock.now()


def test_sessions_expire_when_idle_and_at_their_lifetime(agent: Browser, ctx: Any) -> None:
    ctx.clock.advance(sessions.IDLE - timedelta(minutes=1))
    assert agent.get("/console").status_code == 200  # activity keeps it alive
    ctx.clock.advance(sessions.IDLE - timedelta(minutes=1))
    assert agent.get("/console").status_code == 200
    ctx.clock.advance(sessions.IDLE + timedelta(minutes=1))
    assert agent.get("/console").status_code == 303  # idle too long


def test_absolute_lifetime_ends_even_an_active_session(agent: Browser, ctx: Any) -> None:
    step = sessions.IDLE / 2
    elapsed = timedelta(0)
    while elapsed + step < sessions.LIFETIME:
        ctx.clock.advance(step)
        elapsed += step
        assert agent.get("/console").status_code == 200
    ctx.clock.advance(sessions.LIFETIME - elapsed + timedelta(seconds=1))
    assert agent.get("/console").status_code == 303


def test_unsafe_requests_need_the_csrf_token(agent: Browser) -> None:
    missing = agent.post("/console/cases/new", {"subject": "x", "csrf_token": ""})
    assert missing.status_code == 403 and "Form expired" in missing.text
    wrong = agent.post("/console/cases/new", {"subject": "x", "csrf_token": "0" * 64})
    assert wrong.status_code == 403
    # The token of another browser does not work in this one.
    forged = agent.post(
        "/console/cases/new", {"subject": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403 and "another site" in forged.text
    # htmx sends it as a header instead of a field.
    ok = agent.client.post(
        "/console/views",
        data={"name": "mine", "query": "status=any"},
        headers={"X-CSRF-Token": agent.csrf, "Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text


def test_login_form_itself_is_csrf_protected(browsers: Browsers, ctx: Any) -> None:
    make_user(ctx, "agent", "csrf@example.com")
    b = browsers.anonymous()
    resp = b.client.post(
        "/console/login",
        data={"email": "csrf@example.com", "password": PASSWORD},
        follow_redirects=False,
    )
    assert resp.status_code == 403


def test_pages_carry_security_headers(agent: Browser) -> None:
    resp = agent.get("/console")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["cache-control"] == "no-store"
    # The API keeps its own responses (no page headers there).
    assert "content-security-policy" not in agent.client.get("/healthz").headers


def test_session_service_for_customers_too(ctx: Any) -> None:
    """The portal reuses sessions with principal kind "customer"; kinds never mix."""
    issued = sessions.start(
        ctx.db, kind="customer", principal_id=42, actor=SETUP, now=ctx.clock.now()
    )
    found = sessions.resolve(ctx.db, issued.token, kind="customer", now=ctx.clock.now())
    assert found is not None and found.principal_id == 42
    assert sessions.resolve(ctx.db, issued.token, kind="user", now=ctx.clock.now()) is None
    assert sessions.resolve_user(ctx.db, issued.token, now=ctx.clock.now()) is None
    assert sessions.revoke_all(ctx.db, kind="customer", principal_id=42, now=ctx.clock.now()) == 1
    assert sessions.resolve(ctx.db, issued.token, kind="customer", now=ctx.clock.now()) is None
