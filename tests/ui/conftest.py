"""Fixtures for the server-rendered pages: browsers (TestClients with their own cookie jars)
signed in as a role, with the CSRF token their forms carry."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from casedesk.context import Context
from casedesk.services import users
from casedesk.web.app import create_app
from casedesk.web.ui import csrf
from tests.conftest import SETUP

PASSWORD = "correct horse battery"
_ids = itertools.count()


class Browser:
    """One browser: a cookie jar, a user, and helpers that post forms like the pages do."""

    def __init__(self, ctx: Context, client: TestClient) -> None:
        self.ctx = ctx
        self.client = client
        self.user: Any = None

    @property
    def csrf(self) -> str:
        for name in csrf.BINDING_COOKIES:
            value = self.client.cookies.get(name)
            if value:
                return csrf.token_for(self.ctx.settings.secret_key, name, value)
        return ""

    def login(self, email: str, password: str = PASSWORD, **extra: str) -> Any:
        page = self.client.get("/console/login")
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        data = {"email": email, "password": password, "csrf_token": token.group(1), **extra}
        return self.client.post("/console/login", data=data, follow_redirects=False)

    def get(self, url: str, **kw: Any) -> Any:
        kw.setdefault("follow_redirects", False)
        return self.client.get(url, **kw)

    def post(self, url: str, data: Any = None, **kw: Any) -> Any:
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf)
        kw.setdefault("follow_redirects", False)
        return self.client.post(url, data=data, **kw)


def make_user(ctx: Context, role: str, email: str | None = None, **kw: Any) -> Any:
    return users.create_user(
        ctx.db,
        email=email or f"{role}{next(_ids)}@example.com",
        name=kw.pop("name", f"{role.title()} {next(_ids)}"),
        role=role,
        password=kw.pop("password", PASSWORD),
        actor=SETUP,
        now=ctx.clock.now(),
        **kw,
    )


class Browsers:
    def __init__(self, ctx: Context, app: Any) -> None:
        self.ctx = ctx
        self.app = app
        self._clients: list[TestClient] = []

    def anonymous(self, base_url: str = "http://testserver") -> Browser:
        client = TestClient(self.app, raise_server_exceptions=True, base_url=base_url)
        client.__enter__()
        self._clients.append(client)
        return Browser(self.ctx, client)

    def signed_in(self, role: str, email: str | None = None, **kw: Any) -> Browser:
        user = make_user(self.ctx, role, email, **kw)
        browser = self.anonymous()
        resp = browser.login(user.email)
        assert resp.status_code == 303, resp.text
        browser.user = user
        return browser

    def close(self) -> None:
        for c in self._clients:
            c.__exit__(None, None, None)


@pytest.fixture
def browsers(ctx: Context) -> Iterator[Browsers]:
    b = Browsers(ctx, create_app(ctx))
    yield b
    b.close()


@pytest.fixture
def agent(browsers: Browsers) -> Browser:
    return browsers.signed_in("agent", "agent@example.com", name="Alex Agent")


@pytest.fixture
def admin(browsers: Browsers) -> Browser:
    return browsers.signed_in("admin", "admin@example.com", name="Ada Admin")
