"""Chat files honour ``[chat] allowed_origins`` like the chat socket: a site not allowed to
embed the chat cannot send files into it, an allowed one reads the answer (CORS)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.db.tables import Attachment
from tests.chat.conftest import CHAT_CONFIG, Visitor

SHOP = "https://shop.example.com"


@pytest.fixture
def config() -> AppConfig:
    return parse_config(CHAT_CONFIG + f'allowed_origins = ["{SHOP}"]\n')


def _send(server: str, token: str, origin: str) -> httpx.Response:
    return httpx.post(
        f"{server}/api/v1/channels/chat/files",
        data={"token": token, "client_id": "f1"},
        files={"file": ("receipt.pdf", b"%PDF-1.4 receipt", "application/pdf")},
        headers={"Origin": origin},
        timeout=10,
    )


def test_only_allowed_sites_send_files(ctx: Context, server: str, visitors: list[Visitor]) -> None:
    ann = Visitor(server, origin=SHOP)
    visitors.append(ann)
    ann.hello(name="Ann", email="ann@example.com")
    ann.say("Where is my refund?", "m1")
    assert ann.token is not None

    elsewhere = _send(server, ann.token, "https://evil.example.net")
    assert elsewhere.status_code == 403
    assert "access-control-allow-origin" not in elsewhere.headers
    with ctx.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 0

    allowed = _send(server, ann.token, SHOP)
    assert allowed.status_code == 201
    assert allowed.headers["access-control-allow-origin"] == SHOP
