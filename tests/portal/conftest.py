"""Portal test helpers: a browser-like client per customer (its own cookies), signing in by
the magic link read from the outbox, and forms posted with their CSRF token."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.db.sla_tables import OutboxItem
from casedesk.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION = re.compile(r'name="submission_id" value="([^"]+)"')
PORTAL_CONFIG = """
[cases]
categories = ["Billing", "Technical"]

[portal]
max_attachment_bytes = 2048
max_attachments = 2
"""


@pytest.fixture
def config() -> AppConfig:
    return parse_config(PORTAL_CONFIG)


def sent_links(ctx: Context, to: str) -> list[str]:
    """The sign-in links e-mailed to ``to`` (as queued in the outbox), oldest first."""
    with ctx.db.read() as s:
        rows = s.scalars(
            select(OutboxItem)
            .where(OutboxItem.event == "portal.sign_in_link")
            .order_by(OutboxItem.id)
        ).all()
    links = []
    for row in rows:
        message = email.message_from_string(row.payload["raw"], policy=email.policy.default)
        if message["To"] == to:
            found = re.search(r"https?://\S+/portal/auth/(\S+)", message.get_content())  # type: ignore[attr-defined]
            assert found is not None
            links.append(f"/portal/auth/{found.group(1)}")
    return links


class Browser:
    """One customer's browser: cookies, the CSRF token of the last page, form posts."""

    def __init__(self, client: TestClient, ctx: Context) -> None:
        self.client = client
        self.ctx = ctx
        self.token = ""
        self.submission = ""

    def get(self, path: str, **kw: Any):  # type: ignore[no-untyped-def]
        response = self.client.get(path, **kw)
        if found := CSRF.search(response.text):
            self.token = found.group(1)
        if found := SUBMISSION.search(response.text):
            self.submission = found.group(1)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        data = {"csrf_token": self.token, **(data or {})}
        return self.client.post(path, data=data, **kw)

    def sign_in(self, address: str) -> None:
        self.get("/portal/login")
        assert self.post("/portal/login/link", {"email": address}).status_code == 200
        link = sent_links(self.ctx, address)[-1]
        landing = self.get(link)
        token = re.search(r'name="token" value="([^"]+)"', landing.text)
        assert token is not None
        done = self.post("/portal/auth", {"token": token.group(1)})
        assert done.status_code == 303 and done.headers["location"] == "/portal"

    def new_case(self, subject: str = "Printer on fire", **fields: Any) -> str:
        self.get("/portal/cases/new")
        data = {
            "subject": subject,
            "description": "It smokes.",
            "submission_id": self.submission,
            **fields,
        }
        files = data.pop("files", None)
        response = self.post("/portal/cases/new", data, files=files)
        assert response.status_code == 303, response.text
        return str(response.headers["location"]).rsplit("/", 1)[-1]


@pytest.fixture
def app(ctx: Context) -> FastAPI:
    return create_app(ctx)


@pytest.fixture
def browser(app: FastAPI, ctx: Context) -> Iterator[Callable[[], Browser]]:
    """A factory of browsers on the app, each with its own cookies."""
    clients: list[TestClient] = []

    def make() -> Browser:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return Browser(client, ctx)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
