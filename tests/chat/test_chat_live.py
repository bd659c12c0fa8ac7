"""Agents' live stream of a case (``/api/v1/cases/{id}/live``, SSE and WebSocket) and the
widget's files, against casedesk under uvicorn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from casedesk.config import AppConfig, Settings
from casedesk.context import Context
from casedesk.db.session import Database
from casedesk.services import sessions, users
from casedesk.web.app import create_app
from tests.chat.conftest import Visitor, ws_url
from tests.conftest import SETUP


def sse_events(response: httpx.Response, count: int) -> list[dict[str, Any]]:
    """The first ``count`` message events of an open event stream."""
    found: list[dict[str, Any]] = []
    event: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(("id:", "event:", "data:")):
            key, _, value = line.partition(":")
            event[key] = value.strip()
        elif not line and event.get("event") == "message":
            found.append({"id": int(event["id"]), **json.loads(event["data"])})
            event = {}
            if len(found) == count:
                return found
    return found


def test_agents_follow_a_chat_live_over_sse(server: str, visitors: list, staff) -> None:
    v = Visitor(server)
    visitors.append(v)
    v.hello(name="Ann", email="ann@example.com")
    first = v.say("first words", "m1")["message"]
    with staff.stream("GET", "/api/v1/cases/CASE-000001/live") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        v.say("are you there?", "m2")
        staff.post(
            "/api/v1/cases/CASE-000001/messages", json={"body": "note", "visibility": "internal"}
        )
        got = sse_events(stream, 2)
    assert [(e["body"], e["visibility"]) for e in got] == [
        ("are you there?", "public"),
        ("note", "internal"),
    ]
    # A reconnecting EventSource resumes after Last-Event-ID, replaying what it missed.
    headers = {"Last-Event-ID": str(first["id"])}
    with staff.stream("GET", "/api/v1/cases/CASE-000001/live", headers=headers) as stream:
        assert [e["body"] for e in sse_events(stream, 2)] == ["are you there?", "note"]


def test_agents_follow_over_a_websocket_and_only_staff_may(
    ctx: Context, server: str, visitors: list, staff_token: str, staff: httpx.Client
) -> None:
    v = Visitor(server)
    visitors.append(v)
    v.hello(name="Ann", email="ann@example.com")
    v.say("hello", "m1")
    auth = {"Authorization": f"Bearer {staff_token}"}
    url = ws_url(server, "/api/v1/cases/case-000001/live")
    with connect(url, additional_headers=auth, open_timeout=5) as agent:
        v.say("typing to you live", "m2")
        frame = json.loads(agent.recv(timeout=5))
        assert frame["type"] == "message"
        assert frame["message"]["body"] == "typing to you live"
        agent.send('{"type": "ping"}')
        assert json.loads(agent.recv(timeout=5)) == {"type": "pong"}

    anonymous = httpx.get(f"{server}/api/v1/cases/CASE-000001/live", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    # A visitor's chat token is not a staff credential.
    as_visitor = {"Authorization": f"Bearer {v.token}"}
    refused = httpx.get(f"{server}/api/v1/cases/CASE-000001/live", headers=as_visitor)
    assert refused.status_code == 401
    for headers in ({}, as_visitor):
        with pytest.raises(InvalidStatus) as denied:
            connect(ws_url(server, "/api/v1/cases/CASE-000001/live"), additional_headers=headers)
        assert denied.value.response.status_code == 403
    assert staff.get("/api/v1/cases/CASE-000404/live").status_code == 404

    # The console's session cookie is enough, over a WebSocket only from this site's pages.
    amy = users.get_user(ctx.db, "amy@example.com")
    console = sessions.start(
        ctx.db, kind="user", principal_id=amy.id, actor=SETUP, now=ctx.clock.now()
    )
    cookie = {"Cookie": f"casedesk_session={console.token}"}
    with httpx.stream(
        "GET", f"{server}/api/v1/cases/CASE-000001/live", headers=cookie, timeout=5
    ) as stream:
        assert stream.status_code == 200
    live = ws_url(server, "/api/v1/cases/CASE-000001/live")
    with connect(live, additional_headers=cookie, origin=server, open_timeout=5) as agent:
        v.say("seen by the console", "m3")
        assert json.loads(agent.recv(timeout=5))["message"]["body"] == "seen by the console"
    with pytest.raises(InvalidStatus) as cross_site:
        connect(live, additional_headers=cookie, origin="https://evil.example.net")
    assert cross_site.value.response.status_code == 403


def test_the_widget_is_served_as_one_script(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/unused.db"
    app = create_app(Context(Settings(database_url=url), AppConfig(), Database(url)))
    with TestClient(app) as client:
        script = client.get("/static/chat/widget.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert "/api/v1/channels/chat" in script.text
        assert client.get("/static/chat/widget.css").status_code == 200
        demo = client.get("/static/chat/demo.html")
        assert '<script src="/static/chat/widget.js" data-casedesk' in demo.text
