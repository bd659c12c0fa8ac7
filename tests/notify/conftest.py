"""A real HTTP receiver on loopback standing in for Slack, Teams and webhook endpoints.

``receiver`` records every request (path, headers, JSON body) and answers from a script of
replies (status, headers, body, delay), falling back to ``200 ok``. It can be stopped (the port
then refuses connections) and started again on the same port.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from casedesk.notify.message import CaseNotice


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records requests and plays scripted replies."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(
        self,
        status: int = 200,
        body: bytes | str | dict[str, Any] = b"ok",
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> Receiver:
        """Queue the answer to the next request not yet answered."""
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        self._script.append(Reply(status, body, headers, delay))
        return self

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else Reply()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Recorded("POST", self.path, headers, body))
                reply = receiver._next_reply()
                if reply.delay:
                    receiver._release.wait(reply.delay)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is part of the tests

        self._release.clear()
        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until ``start``."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    rx.start()
    yield rx
    rx.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A client with a short timeout, ignoring proxy settings so traffic stays on loopback."""
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        yield client


def make_notice(**overrides: Any) -> CaseNotice:
    values: dict[str, Any] = {
        "event": "sla.breached",
        "ticket_id": "CASE-000123",
        "case_url": "https://desk.example.com/console/cases/CASE-000123",
        "subject": "Printer on fire",
        "priority": "urgent",
        "status": "In Progress",
        "channel": "email",
        "team": "tier1",
        "assignee": "Alice Agent",
        "customer": "Bob Buyer <bob@example.com>",
        "sla_due": datetime(2026, 3, 2, 14, 30, tzinfo=UTC),
        "detail": "first response breached by 12m",
        "category": "hardware",
        "tags": ("vip", "printer"),
    }
    values.update(overrides)
    return CaseNotice(**values)


@pytest.fixture
def notice() -> CaseNotice:
    return make_notice()
