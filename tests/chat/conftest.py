"""Fixtures of the chat tests: a real casedesk under uvicorn on loopback, a chat visitor on a
real WebSocket (the ``websockets`` library) and a staff API token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.services import users
from tests.chat.servers import app_server
from tests.conftest import SETUP

CHAT_CONFIG = """
[chat]
poll_interval = 0.1
rate_limit = { messages = 5, per = "10s" }
max_message_chars = 500
"""


@pytest.fixture
def config() -> AppConfig:
    return parse_config(CHAT_CONFIG)


@pytest.fixture
def server(ctx: Context) -> Iterator[str]:
    with app_server(ctx) as url:
        yield url


def ws_url(base: str, path: str = "/api/v1/channels/chat") -> str:
    return base.replace("http://", "ws://") + path


class Visitor:
    """A chat visitor on a real WebSocket, with frame helpers that never wait forever."""

    def __init__(self, base: str, **connect_kw: Any) -> None:
        self._opened = ExitStack()
        self.conn: ClientConnection = self._opened.enter_context(
            connect(ws_url(base), open_timeout=5, **connect_kw)
        )
        self.token: str | None = None

    def send(self, **frame: Any) -> None:
        self.conn.send(json.dumps(frame))

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads(self.conn.recv(timeout=timeout))

    def until(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next frame of ``kind`` (skipping others) whose fields equal ``match``."""
        while True:
            frame = self.recv(timeout)
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def hello(self, **fields: Any) -> dict[str, Any]:
        self.send(type="hello", **fields)
        welcome = self.until("welcome")
        self.token = welcome["token"]
        return welcome

    def say(self, body: str, client_id: str) -> dict[str, Any]:
        self.send(type="message", body=body, client_id=client_id)
        return self.until("ack", client_id=client_id)

    def close(self) -> None:
        self._opened.close()


@pytest.fixture
def visitors(server: str) -> Iterator[list[Visitor]]:
    """Open visitors with ``visitors.append(Visitor(server))``; all closed afterwards."""
    opened: list[Visitor] = []
    yield opened
    for v in opened:
        v.close()


@pytest.fixture
def staff_token(ctx: Context) -> str:
    now = ctx.clock.now()
    user = users.create_user(
        ctx.db, email="amy@example.com", name="Amy", role="agent", actor=SETUP, now=now
    )
    return users.create_token(ctx.db, user_id=user.id, label="t", actor=SETUP, now=now).token


@pytest.fixture
def staff(server: str, staff_token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {staff_token}"}
    with httpx.Client(base_url=server, headers=headers, timeout=10) as client:
        yield client
