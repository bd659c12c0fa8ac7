"""Files in the live chat: a visitor's file becomes a public message on the chat's case, shows
live in the chat, reaches staff, downloads only for its own chat, and bad uploads get a clear
error with nothing stored."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from casedesk.config import AppConfig, parse_config
from casedesk.context import Context
from casedesk.db.tables import Attachment, Message
from tests.chat.conftest import CHAT_CONFIG, Visitor

SCREENSHOT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


@pytest.fixture
def config() -> AppConfig:
    return parse_config(CHAT_CONFIG + "max_file_bytes = 4096\n")


def _started(server: str, visitors: list[Visitor], email: str = "ann@example.com") -> Visitor:
    v = Visitor(server)
    visitors.append(v)
    v.hello(name="Ann", email=email)
    v.say("My voucher code is rejected", "m1")
    return v


def _send(
    server: str, token: str | None, content: bytes = SCREENSHOT, client_id: str = "f1", **kw: str
) -> httpx.Response:
    data = {"client_id": client_id, **kw}
    if token is not None:
        data["token"] = token
    return httpx.post(
        f"{server}/api/v1/channels/chat/files",
        data=data,
        files={"file": ("voucher.png", content, "image/png")},
        headers={"Origin": "https://shop.example.com"},
        timeout=10,
    )


def _download(server: str, token: str, attachment_id: int) -> httpx.Response:
    return httpx.post(
        f"{server}/api/v1/channels/chat/files/{attachment_id}/download",
        data={"token": token},
        timeout=10,
    )


def _files(ctx: Context) -> int:
    with ctx.db.read() as s:
        return s.scalar(select(func.count()).select_from(Attachment)) or 0


def test_a_file_joins_the_chat_live_and_downloads_intact(
    ctx: Context, server: str, visitors: list[Visitor], staff: httpx.Client
) -> None:
    ann = _started(server, visitors)
    assert ann.token is not None
    sent = _send(server, ann.token, caption="this is what I see")
    assert sent.status_code == 201, sent.text
    assert sent.headers["access-control-allow-origin"] == "https://shop.example.com"
    message = sent.json()["message"]
    assert message["body"] == "this is what I see"
    [file] = message["files"]
    assert file["filename"] == "voucher.png" and file["size"] == len(SCREENSHOT)
    # the visitor's own socket shows it (another tab of the chat would too)
    live = ann.until("message", timeout=5)
    assert live["message"]["files"] == [file]
    # staff see it on the case, like any attachment
    case = staff.get(f"/api/v1/cases/{live['message']['case_id']}").json()
    assert any(m["body"] == "this is what I see" for m in case["messages"])
    got = _download(server, ann.token, file["id"])
    assert got.status_code == 200 and got.content == SCREENSHOT
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"


def test_a_resent_file_is_stored_once(ctx: Context, server: str, visitors: list[Visitor]) -> None:
    ann = _started(server, visitors)
    assert ann.token is not None
    first = _send(server, ann.token, client_id="f-retry")
    again = _send(server, ann.token, client_id="f-retry")
    assert first.status_code == again.status_code == 201
    assert first.json()["message"]["id"] == again.json()["message"]["id"]
    assert _files(ctx) == 1


def test_files_of_another_chat_stay_out_of_reach(
    ctx: Context, server: str, visitors: list[Visitor]
) -> None:
    ann = _started(server, visitors)
    bob = _started(server, visitors, email="bob@example.com")
    assert ann.token is not None and bob.token is not None
    file_id = _send(server, ann.token).json()["message"]["files"][0]["id"]
    assert _download(server, bob.token, file_id).status_code == 404
    assert _download(server, "forged.token.value", file_id).status_code == 401


def test_bad_uploads_get_a_clear_error_and_store_nothing(
    ctx: Context, server: str, visitors: list[Visitor]
) -> None:
    ann = _started(server, visitors)
    assert ann.token is not None
    too_big = _send(server, ann.token, content=bytes(5000))
    assert too_big.status_code == 400 and "larger than 4 KiB" in too_big.json()["detail"]
    empty = _send(server, ann.token, content=b"")
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    no_token = _send(server, None)
    assert no_token.status_code == 401
    assert no_token.headers["access-control-allow-origin"] == "https://shop.example.com"
    bad_id = _send(server, ann.token, client_id="no spaces allowed")
    assert bad_id.status_code == 422 and "client_id" in bad_id.json()["detail"]
    huge = httpx.post(
        f"{server}/api/v1/channels/chat/files",
        data={"token": ann.token, "client_id": "f9"},
        files={"file": ("big.bin", bytes(200_000), "application/octet-stream")},
        timeout=10,
    )
    assert huge.status_code == 413
    assert _files(ctx) == 0
    with ctx.db.read() as s:  # only the typed first message is on the case
        assert s.scalar(select(func.count()).select_from(Message)) == 1


def test_a_file_needs_a_started_chat(server: str, visitors: list[Visitor]) -> None:
    v = Visitor(server)
    visitors.append(v)
    v.hello(name="Ann", email="ann@example.com")
    assert v.token is not None
    answer = _send(server, v.token)
    assert answer.status_code == 409 and "send a message first" in answer.json()["detail"]
