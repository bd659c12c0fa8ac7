"""Every page route, for every role: anonymous browsers are sent to sign in, agents and leads
get the console but never the admin pages, admins get everything.

The routes are read from the running app, so a page added later is checked by this test
without anyone remembering to add it here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from casedesk.domain.actors import Actor
from casedesk.services import cases, saved_views, users
from casedesk.services.messages import NewAttachment, NewMessage, attachments
from tests.conftest import SETUP
from tests.ui.conftest import Browser, Browsers

PUBLIC = {("GET", "/console/login"), ("POST", "/console/login"), ("POST", "/console/logout")}


def page_routes(app: Any) -> Iterator[tuple[str, str]]:
    def walk(routes: list[Any]) -> Iterator[tuple[str, str]]:
        for r in routes:
            if hasattr(r, "original_router"):
                yield from walk(r.original_router.routes)
            elif getattr(r, "methods", None):
                for method in sorted(r.methods - {"HEAD"}):
                    if r.path.startswith(("/console", "/admin")):
                        yield method, r.path

    yield from sorted(set(walk(app.routes)))


def fixtures(ctx: Any, owner: Browser | None) -> dict[str, str]:
    """Values for the path parameters: a real case, attachment, view, user and token."""
    now = ctx.clock.now()
    actor = Actor(kind="system", label="roles-test")
    case = cases.create_case(
        ctx.db,
        ctx.config,
        cases.NewCase(subject="Role check", channel="phone"),
        actor=actor,
        now=now,
    )
    message = cases.add_message(
        ctx.db,
        ctx.config,
        case.number,
        message=NewMessage(
            body="see file",
            visibility="internal",
            attachments=[NewAttachment("a.txt", "text/plain", b"hello", 5)],
        ),
        actor=actor,
        now=now,
    )
    att = attachments(ctx.db, [message.id])[0]
    someone = users.create_user(
        ctx.db,
        email=f"someone{case.number}@example.com",
        name="Someone",
        role="agent",
        actor=SETUP,
        now=now,
    )
    token = users.create_token(ctx.db, user_id=someone.id, label="t", actor=SETUP, now=now)
    view_owner = owner.user.id if owner is not None else someone.id
    view = saved_views.save_view(ctx.db, user_id=view_owner, name="v", query="status=any", now=now)
    return {
        "ref": cases.ticket_id(ctx.config, case.number),
        "attachment_id": str(att.id),
        "view_id": str(view.id),
        "user_id": str(someone.id),
        "token_id": str(token.record.id),
        "qid": "1",
        "nid": "1",
    }


def _url(path: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        path = path.replace("{" + key + "}", value)
    assert "{" not in path, f"no test value for a parameter of {path}"
    return path


def _request(b: Browser, method: str, url: str) -> Any:
    if method == "GET":
        return b.get(url)
    return b.post(url, {})


def test_route_table_is_what_the_console_offers(browsers: Browsers) -> None:
    routes = set(page_routes(browsers.app))
    assert ("GET", "/console") in routes and ("GET", "/admin") in routes
    assert ("GET", "/console/cases/{ref}") in routes and ("POST", "/admin/users") in routes
    assert len(routes) >= 35


def test_anonymous_is_sent_to_sign_in_everywhere(browsers: Browsers, ctx: Any) -> None:
    b = browsers.anonymous()
    b.client.get("/console/login")  # a pre-session cookie, so CSRF is not what stops a POST
    values = fixtures(ctx, None)
    for method, path in page_routes(browsers.app):
        if (method, path) in PUBLIC:
            continue
        resp = _request(b, method, _url(path, values))
        assert resp.status_code == 303, f"{method} {path}: {resp.status_code}"
        assert resp.headers["location"].startswith("/console/login?next="), f"{method} {path}"


@pytest.mark.parametrize("role", ["agent", "lead"])
def test_agents_and_leads_get_the_console_but_never_admin(
    browsers: Browsers, ctx: Any, role: str
) -> None:
    b = browsers.signed_in(role)
    values = fixtures(ctx, b)
    checked = 0
    for method, path in page_routes(browsers.app):
        if (method, path) in PUBLIC:
            continue
        resp = _request(b, method, _url(path, values))
        where = f"{role} {method} {path}: {resp.status_code}"
        if path.startswith("/admin"):
            assert resp.status_code == 403, where
            assert "This page needs the role admin" in resp.text, where
            assert "text/html" in resp.headers["content-type"], where
        else:
            assert resp.status_code < 500 and resp.status_code not in (401, 403), where
            assert "/console/login" not in resp.headers.get("location", ""), where
        checked += 1
    assert checked >= 30


def test_admins_get_every_page(browsers: Browsers, ctx: Any) -> None:
    b = browsers.signed_in("admin")
    values = fixtures(ctx, b)
    for method, path in page_routes(browsers.app):
        if (method, path) in PUBLIC:
            continue
        resp = _request(b, method, _url(path, values))
        where = f"admin {method} {path}: {resp.status_code} {resp.text[:300]}"
        assert resp.status_code < 500 and resp.status_code not in (401, 403, 404), where
        assert "/console/login" not in resp.headers.get("location", ""), where
    # Admin navigation shows only to admins.
    assert 'href="/admin"' in b.get("/console").text


def test_admin_link_hidden_from_agents(agent: Browser) -> None:
    assert 'href="/admin"' not in agent.get("/console").text
