"""Signing in to the portal: magic links (signed, expiring, single use, e-mailed through the
outbox), optional passwords, sessions and CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from casedesk.clock import FixedClock
from casedesk.config import parse_config
from casedesk.context import Context
from casedesk.db.contact_tables import PortalLink
from casedesk.db.sla_tables import OutboxItem
from casedesk.db.tables import AuditEvent, Customer
from tests.portal.conftest import PORTAL_CONFIG, Browser, sent_links

Browsers = Callable[[], Browser]


def landing_token(page: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_a_magic_link_signs_in_once(ctx: Context, clock: FixedClock, browser: Browsers) -> None:
    b = browser()
    assert b.get("/portal").headers["location"] == "/portal/login?next=/portal"
    b.get("/portal/login")
    sent = b.post("/portal/login/link", {"email": "Ann@Example.com"})
    assert sent.status_code == 200 and "Check your e-mail" in sent.text
    [link] = sent_links(ctx, "ann@example.com")
    with ctx.db.read() as s:
        mail = s.scalars(select(OutboxItem)).one()
        stored = s.scalars(select(PortalLink)).one()
    assert mail.destination == "smtp" and mail.status == "pending"
    assert link.rsplit("/", 1)[1] not in (stored.token_hash, "")  # only a hash is stored

    landing = b.get(link)  # a mail scanner fetching the link does not spend it
    assert landing.status_code == 200
    token = landing_token(landing.text)
    done = b.post("/portal/auth", {"token": token})
    assert done.status_code == 303
    cookie = done.headers["set-cookie"].lower()
    assert "casedesk_portal=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    home = b.get("/portal")
    assert home.status_code == 200 and "My requests" in home.text
    with ctx.db.read() as s:
        customer = s.scalars(select(Customer)).one()  # created on first sign-in
        assert customer.email == "ann@example.com"
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.scope == f"customer:{customer.id}")
        ).all()
    assert "session.started" in actions

    again = browser()
    again.get(link)
    reused = again.post("/portal/auth", {"token": token})
    assert reused.status_code == 409 and "expired or was already used" in reused.text
    assert again.get("/portal").status_code == 303

    # A link not used in time, a forged one, none at all.
    again.get("/portal/login")
    again.post("/portal/login/link", {"email": "ann@example.com"})
    late = landing_token(again.get(sent_links(ctx, "ann@example.com")[-1]).text)
    clock.advance(timedelta(minutes=16))
    assert again.post("/portal/auth", {"token": late}).status_code == 409
    forged = late[:-3] + ("AAA" if not late.endswith("AAA") else "BBB")
    assert again.get(f"/portal/auth/{forged}").status_code == 400
    assert again.post("/portal/auth", {"token": forged}).status_code == 409
    assert again.post("/portal/auth", {"token": ""}).status_code == 409
    assert again.get("/portal").status_code == 303


def test_link_requests_are_checked_limited_and_tell_nothing(
    ctx: Context, browser: Browsers
) -> None:
    b = browser()
    b.get("/portal/login")
    bad = b.post("/portal/login/link", {"email": "not an address"})
    assert bad.status_code == 422 and "is not an e-mail address" in bad.text
    for _ in range(5):
        assert b.post("/portal/login/link", {"email": "ann@example.com"}).status_code == 200
    limited = b.post("/portal/login/link", {"email": "ann@example.com"})
    assert limited.status_code == 429 and "Too many attempts" in limited.text
    assert len(sent_links(ctx, "ann@example.com")) == 5

    # Without open sign-up, strangers get the same answer and no mail.
    ctx.config = parse_config(PORTAL_CONFIG + "open_signup = false\n")
    answer = b.post("/portal/login/link", {"email": "stranger@example.com"})
    assert answer.status_code == 200 and "Check your e-mail" in answer.text
    assert sent_links(ctx, "stranger@example.com") == []
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 0


def test_password_sign_in_after_setting_one(ctx: Context, browser: Browsers) -> None:
    b = browser()
    b.sign_in("ann@example.com")
    b.get("/portal/account")
    short = b.post("/portal/account/password", {"password": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    assert (
        b.post("/portal/account/password", {"password": "correct horse battery"}).status_code == 303
    )
    b.get("/portal")
    assert b.post("/portal/logout").status_code == 303
    assert b.get("/portal").status_code == 303  # the session ended

    other = browser()
    other.get("/portal/login")
    wrong = other.post(
        "/portal/login/password", {"email": "ann@example.com", "password": "nope nope nope"}
    )
    assert wrong.status_code == 401
    ok = other.post(
        "/portal/login/password", {"email": "ann@example.com", "password": "correct horse battery"}
    )
    assert ok.status_code == 303 and other.get("/portal").status_code == 200
    stranger = browser()
    stranger.get("/portal/login")
    for _ in range(5):
        stranger.post("/portal/login/password", {"email": "bob@example.com", "password": "x" * 12})
    blocked = stranger.post(
        "/portal/login/password", {"email": "bob@example.com", "password": "x" * 12}
    )
    assert blocked.status_code == 429


def test_forms_need_this_browsers_csrf_token(ctx: Context, browser: Browsers) -> None:
    ann, bob = browser(), browser()
    ann.sign_in("ann@example.com")
    bob.sign_in("bob@example.com")
    ann.get("/portal/cases/new")
    bob.get("/portal/cases/new")
    data = {"subject": "x", "description": "y", "submission_id": ann.submission}
    missing = ann.client.post("/portal/cases/new", data=data)
    stolen = ann.client.post("/portal/cases/new", data={**data, "csrf_token": bob.token})
    cross_site = ann.client.post(
        "/portal/cases/new",
        data={**data, "csrf_token": ann.token},
        headers={"Origin": "https://evil.example.net"},
    )
    assert missing.status_code == stolen.status_code == cross_site.status_code == 403
    assert ann.get("/portal").text.count('data-case="') == 0
