"""Two ``casedesk serve`` processes on one database: chat messages reach the right socket.

On PostgreSQL through LISTEN/NOTIFY: the bus's poller is set to a minute, so only NOTIFY can
deliver within the few seconds the test waits. On SQLite (no NOTIFY) through the poller."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import httpx
from websockets.sync.client import connect

from casedesk.context import Context
from tests.chat.conftest import Visitor, ws_url
from tests.chat.servers import serve_processes


def test_messages_cross_processes(
    ctx: Context, db_url: str, staff_token: str, tmp_path: Path
) -> None:
    config = tmp_path / "casedesk.toml"
    poll = 60 if db_url.startswith("postgresql") else 0.2
    config.write_text(f"[chat]\npoll_interval = {poll}\n")
    env = {
        "CASEDESK_DATABASE_URL": db_url,
        "CASEDESK_CONFIG": str(config),
        "CASEDESK_SECRET_KEY": "shared-by-every-process",
    }
    with ExitStack() as stack:
        a, b = stack.enter_context(serve_processes(env, tmp_path, 2))
        visitor = Visitor(a)
        stack.callback(visitor.close)
        visitor.hello(name="Ann", email="ann@example.com")
        visitor.say("hello from process A", "m1")
        visitor.until("case")

        auth = {"Authorization": f"Bearer {staff_token}"}
        agent = stack.enter_context(
            connect(ws_url(b, "/api/v1/cases/CASE-000001/live"), additional_headers=auth)
        )
        visitor.say("can process B hear me?", "m2")
        heard = json.loads(agent.recv(timeout=5))
        assert heard["message"]["body"] == "can process B hear me?"

        reply = httpx.post(
            f"{b}/api/v1/cases/CASE-000001/messages",
            json={"body": "Yes, from process B"},
            headers=auth,
        )
        assert reply.status_code == 201
        assert visitor.until("message")["message"]["body"] == "Yes, from process B"
        assert json.loads(agent.recv(timeout=5))["message"]["body"] == "Yes, from process B"

        # The same chat token resumes the case on the other process.
        again = Visitor(b)
        stack.callback(again.close)
        assert again.hello(token=visitor.token)["case"]["case_id"] == "CASE-000001"
