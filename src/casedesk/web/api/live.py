"""``/api/v1/cases/{id}/live``: new messages of a case as they are written, for agents.

Two forms of the same stream, for the console and for scripts:

- ``GET`` answers ``text/event-stream`` (Server-Sent Events, ``EventSource`` in a browser):
  one ``event: message`` per new message with its JSON as ``data`` and its id as ``id``, so a
  reconnecting ``EventSource`` resumes after ``Last-Event-ID``; ``?since=<message id>`` replays
  from there (default: only what is new), and a comment every 15 s keeps proxies open;
- ``WS`` sends ``{"type": "message", "message": …}`` frames (``?since=`` as above).

Both admit staff only: ``Authorization: Bearer <API token>``, or the console's session cookie
(a WebSocket with the cookie must come from this site's origin). Internal notes are included;
a customer's portal session or chat token is refused. Wake-ups come from ``channels.chat_bus``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, HTTPException, Request, WebSocket
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from casedesk.channels import chat
from casedesk.channels.chat_bus import ChatBus
from casedesk.config_channels import chat_settings
from casedesk.context import Context
from casedesk.services import cases, sessions, users
from casedesk.web.deps import STAFF

router = APIRouter(tags=["cases"])
SESSION_COOKIE = "casedesk_session"  # the console's (web.ui.auth.STAFF)
KEEPALIVE_SECONDS = 15.0


def bus_of(app: Any) -> ChatBus:
    """This process's chat bus, started on first use (stopped by the chat router's lifespan)."""
    bus: ChatBus | None = getattr(app.state, "chat_bus", None)
    if bus is None:
        ctx: Context = app.state.ctx
        bus = ChatBus(ctx.db, poll_interval=chat_settings(ctx.config).poll_interval)
        bus.start()
        app.state.chat_bus = bus
    return bus


def staff_user(ctx: Context, headers: Any, cookies: dict[str, str]) -> int | None:
    """The id of the active staff user behind a bearer token or a console session."""
    now = ctx.clock.now()
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found = users.authenticate_token(ctx.db, token.strip(), now=now)
        return found.id if found is not None and found.role in STAFF else None
    cookie = cookies.get(SESSION_COOKIE, "")
    signed_in = sessions.resolve_user(ctx.db, cookie, now=now) if cookie else None
    if signed_in is None or signed_in[1].role not in STAFF:
        return None
    return signed_in[1].id


def _same_site(ws: WebSocket, base_url: str) -> bool:
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser
    netloc = urlsplit(origin).netloc.lower()
    return netloc in (ws.headers.get("host", "").lower(), urlsplit(base_url).netloc.lower())


def _case_number(ctx: Context, ref: str) -> int:
    return cases.get_case(ctx.db, ctx.config, ref).number


async def _start(ctx: Context, ref: str, since: int | None) -> tuple[int, int]:
    number = await run_in_threadpool(_case_number, ctx, ref)
    if since is None or since < 0:
        since = await run_in_threadpool(chat.newest_message_id, ctx.db, number)
    return number, since


@router.get("/api/v1/cases/{ticket_id}/live", response_class=StreamingResponse)
async def live_events(ticket_id: str, request: Request, since: int | None = None) -> Any:
    """Server-Sent Events: every new message of the case (internal notes included)."""
    ctx: Context = request.app.state.ctx
    user = await run_in_threadpool(staff_user, ctx, request.headers, dict(request.cookies))
    if user is None:
        raise HTTPException(401, "Send a staff API token or sign in to the console")
    last = request.headers.get("last-event-id", "")
    number, since = await _start(ctx, ticket_id, int(last) if last.isdigit() else since)
    bus = bus_of(request.app)

    async def stream() -> AsyncIterator[str]:
        watch = bus.watch(number)
        seen = since
        try:
            yield "retry: 3000\n\n"
            watch.wake()
            while not await request.is_disconnected():
                if not await watch.wait(KEEPALIVE_SECONDS):
                    yield ": keepalive\n\n"
                    continue
                found = await run_in_threadpool(
                    chat.messages_after, ctx.db, number, seen, public_only=False
                )
                for m in found:
                    seen = max(seen, m.id)
                    data = json.dumps(m.as_json(ctx.config))
                    yield f"id: {m.id}\nevent: message\ndata: {data}\n\n"
        finally:
            bus.unwatch(watch)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.websocket("/api/v1/cases/{ticket_id}/live")
async def live_socket(ws: WebSocket, ticket_id: str, since: int | None = None) -> None:
    """The same stream over a WebSocket (receive-only; ``ping`` frames get ``pong``)."""
    ctx: Context = ws.app.state.ctx
    user = await run_in_threadpool(staff_user, ctx, ws.headers, dict(ws.cookies))
    uses_cookie = "authorization" not in ws.headers
    if user is None or (uses_cookie and not _same_site(ws, ctx.settings.base_url)):
        await ws.close(4401, "staff only: send an API token or sign in to the console")
        return
    try:
        number, seen = await _start(ctx, ticket_id, since)
    except Exception:
        await ws.close(4404, "no such case")
        return
    bus = bus_of(ws.app)
    await ws.accept()
    watch = bus.watch(number)
    watch.wake()

    async def read() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect()
            if message.get("text") and '"ping"' in message["text"]:
                await ws.send_text('{"type": "pong"}')

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            while True:
                if not await watch.wait(KEEPALIVE_SECONDS):
                    continue
                found = await run_in_threadpool(
                    chat.messages_after, ctx.db, number, seen, public_only=False
                )
                for m in found:
                    seen = max(seen, m.id)
                    await ws.send_text(
                        json.dumps({"type": "message", "message": m.as_json(ctx.config)})
                    )
    except* (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        bus.unwatch(watch)
