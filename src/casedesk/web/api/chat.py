"""``WS /api/v1/channels/chat``: the live chat socket the embeddable widget talks to.

The protocol (JSON text frames; documented in docs/channels-chat-phone-portal.md):

- client ``{"type": "hello", "token"?, "name"?, "email"?, "since"?, "page"?}`` first, within
  15 s; server ``{"type": "welcome", "token", "name", "email", "case"}`` and the transcript
  (public messages newer than ``since``) as ``message`` frames;
- client ``{"type": "message", "body", "client_id"}``; server ``{"type": "ack", "client_id",
  "message"}`` once it is stored (a resend with the same ``client_id`` is stored once);
- server ``{"type": "message", "message"}`` for every new public message of the case, whoever
  wrote it; ``{"type": "case", …}`` when the chat moves to a (follow-up) case;
- ``{"type": "error", "code", "detail", "client_id"?}`` for a message that was not stored
  (``too_large``, ``rate_limited`` with ``retry_after``, ``invalid``, ``unavailable``); the
  connection stays open. Closing codes: 4401 bad or expired token, 4403 origin not allowed or
  chat turned off, 4408 no hello in time, 4429 flooding, 1009 frame too large.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from casedesk.channels import chat, chat_presence
from casedesk.channels.chat_bus import ChatBus, Watch
from casedesk.channels.live_rules import FloodGate
from casedesk.config_channels import ChatSettings, chat_settings
from casedesk.context import Context
from casedesk.domain.errors import DomainError
from casedesk.web.api import live
from casedesk.web.api.live import bus_of


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    bus: ChatBus | None = getattr(app.state, "chat_bus", None)
    if bus is not None:
        await run_in_threadpool(bus.stop)
        app.state.chat_bus = None


router = APIRouter(tags=["channels"], lifespan=_lifespan)
router.include_router(live.router)

log = logging.getLogger("casedesk.chat")
HELLO_SECONDS = 15.0
CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def allowed_origin(origin: str, own: set[str], settings: ChatSettings) -> bool:
    """Any site may embed the widget unless ``[chat] allowed_origins`` names the sites;
    casedesk's own pages (``own``) always may."""
    if not settings.allowed_origins:
        return True
    origin = origin.lower().rstrip("/")
    return origin in settings.allowed_origins or origin in {o.lower().rstrip("/") for o in own}


def origin_allowed(ws: WebSocket, settings: ChatSettings, base_url: str) -> bool:
    own = {base_url, f"{ws.url.scheme.replace('ws', 'http')}://{ws.headers.get('host', '')}"}
    return allowed_origin(ws.headers.get("origin", ""), own, settings)


@router.websocket("/api/v1/channels/chat")
async def chat_socket(ws: WebSocket) -> None:
    ctx: Context = ws.app.state.ctx
    settings = chat_settings(ctx.config)
    if not settings.enabled:
        await ws.close(4403, "live chat is turned off")
        return
    if not origin_allowed(ws, settings, ctx.settings.base_url):
        await ws.close(4403, "this site may not embed the chat")
        return
    await ws.accept()
    await VisitorSocket(ws, ctx, settings, bus_of(ws.app)).run()


class VisitorSocket:
    """One visitor's connection: the hello, then messages in and out until it closes."""

    def __init__(self, ws: WebSocket, ctx: Context, settings: ChatSettings, bus: ChatBus):
        self.ws, self.ctx, self.settings, self.bus = ws, ctx, settings, bus
        self.session: chat.ChatSessionView | None = None
        self.watch: Watch | None = None
        self.watching = asyncio.Event()
        self.seen: dict[int, int] = {}  # newest message id sent, per case
        self.sent: set[int] = set()  # ids already sent as acks
        self.gate = FloodGate(settings.rate_messages, settings.rate_per)
        self.frames = FloodGate(60, 10.0)  # any frame, pings included
        self.send_lock = asyncio.Lock()
        self.presence_at = float("-inf")  # when this socket last recorded its presence
        # Enough for the longest message in JSON with every character escaped.
        self.max_frame = settings.max_message_chars * 6 + 4096

    async def send(self, data: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(data))

    async def error(self, code: str, detail: str, **extra: Any) -> None:
        await self.send({"type": "error", "code": code, "detail": detail, **extra})

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await self.ws.close(code, reason)

    async def run(self) -> None:
        try:
            if not await self.hello():
                return
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.outbound)
                await self.inbound()
                tg.cancel_scope.cancel()
        except* WebSocketDisconnect:
            pass  # the visitor left; whatever they sent before is stored
        finally:
            if self.watch is not None:
                self.bus.unwatch(self.watch)
            await self._presence(leaving=True)

    async def frame(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next JSON object from the client; ``None`` after the socket closed."""
        with anyio.fail_after(timeout):
            message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        if self.frames.take(time.monotonic()) and self.frames.flooding():
            await self.close(4429, "too many frames")
            return None
        text = message.get("text")
        if text is None:
            await self.error("invalid", "send JSON text frames")
            return {}
        if len(text) > self.max_frame:
            await self.close(1009, "frame too large")
            return None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            await self.error("invalid", "send one JSON object per frame")
            return {}
        return data

    async def hello(self) -> bool:
        """Wait for a hello that starts or resumes a chat; False when the socket is done."""
        deadline = time.monotonic() + HELLO_SECONDS
        while True:
            try:
                data = await self.frame(max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                await self.close(4408, "say hello first")
                return False
            if data is None:
                return False
            if data.get("type") != "hello":
                await self.error("invalid", "say hello first: {type: 'hello', name, email}")
                continue
            try:
                self.session = await run_in_threadpool(self._start, data)
            except chat.ChatRefused as exc:
                await self.error(exc.code, exc.detail)
                await self.close(4401, exc.detail[:120])
                return False
            except DomainError as exc:
                await self.error("invalid", exc.detail, field=exc.extra.get("field"))
                continue
            await self.welcome(data.get("since"))
            return True

    def _start(self, data: dict[str, Any]) -> chat.ChatSessionView:
        ctx, now = self.ctx, self.ctx.clock.now()
        page = str(data.get("page") or "")[:1000]
        ip = self.ws.client.host if self.ws.client else ""
        who = None
        if data.get("name") or data.get("email") or not data.get("token"):
            who = chat.visitor(data.get("name"), data.get("email"))
        secret = ctx.settings.secret_key
        token = data.get("token")
        if isinstance(token, str) and token:
            return chat.resume(
                ctx.db, ctx.config, secret, token, now=now, who=who, page_url=page, ip=ip
            )
        assert who is not None
        return chat.begin(secret, who, now=now, page_url=page, ip=ip)

    async def welcome(self, since: Any) -> None:
        session = self.session
        assert session is not None
        facts = None
        if session.case_number is not None:
            facts = await run_in_threadpool(
                chat.case_facts, self.ctx.db, self.ctx.config, session.case_number
            )
        await self.send(
            {
                "type": "welcome",
                "token": session.token,
                "name": session.visitor.name,
                "email": session.visitor.email,
                "case": facts,
                "max_message_chars": self.settings.max_message_chars,
                "max_file_bytes": self.settings.max_file_bytes,
            }
        )
        if session.case_number is not None:
            start = since if isinstance(since, int) and since > 0 else 0
            self.seen[session.case_number] = start
            self._watch(session.case_number)
            await self._presence()
            await self.push()

    async def _presence(self, *, leaving: bool = False) -> None:
        """Tell replies whether this visitor is here to read them (``chat_presence``); at
        most every ``KEEP_EVERY`` seconds while connected, and once on leaving."""
        session = self.session
        if session is None or session.session_id is None:
            return
        clock = time.monotonic()
        if not leaving and clock - self.presence_at < chat_presence.KEEP_EVERY:
            return
        self.presence_at = clock
        mark = chat_presence.leave if leaving else chat_presence.arrive
        try:
            await run_in_threadpool(mark, self.ctx.db, session.session_id, self.ctx.clock.now())
        except Exception:  # presence is advisory: never break the chat over it
            log.warning("chat presence not recorded", exc_info=True)

    def _watch(self, case_number: int) -> None:
        if self.watch is None:
            self.watch = self.bus.watch(case_number)
            self.watching.set()
        elif self.watch.case_number != case_number:
            self.bus.move(self.watch, case_number)
        self.watch.wake()

    async def push(self) -> None:
        """Send the case's public messages this socket has not sent yet."""
        if self.watch is None:
            return
        number = self.watch.case_number
        after = self.seen.get(number, 0)
        found = await run_in_threadpool(
            chat.messages_after,
            self.ctx.db,
            number,
            after,
            public_only=True,
            limit=self.settings.history,
        )
        for m in found:
            if m.id not in self.sent:
                await self.send({"type": "message", "message": m.as_json(self.ctx.config)})
            self.seen[number] = max(self.seen.get(number, 0), m.id)

    async def outbound(self) -> None:
        try:
            await self.watching.wait()
            while True:
                assert self.watch is not None
                if await self.watch.wait(25.0):
                    await self.push()
        except (WebSocketDisconnect, RuntimeError):
            return

    async def inbound(self) -> None:
        while True:
            data = await self.frame()
            if data is None:
                return
            kind = data.get("type")
            if kind == "ping":
                await self.send({"type": "pong"})
                await self._presence()
            elif kind == "message":
                if not await self.message(data):
                    return
            elif data:
                await self.error("invalid", f"unknown frame type {str(kind)[:40]!r}")

    async def message(self, data: dict[str, Any]) -> bool:
        """Store one visitor message; False when the connection was closed for flooding."""
        client_id, body = data.get("client_id"), data.get("body")
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            await self.error("invalid", "a message needs a client_id (1-64 letters, digits, -_.:)")
            return True
        if not isinstance(body, str):
            await self.error("invalid", "a message needs a body", client_id=client_id)
            return True
        limit = self.settings.max_message_chars
        if len(body) > limit:
            await self.error(
                "too_large",
                f"a chat message holds at most {limit} characters; this one has {len(body)}",
                client_id=client_id,
                limit=limit,
            )
            return True
        wait = self.gate.take(time.monotonic())
        if wait:
            if self.gate.flooding():
                await self.close(4429, "too many messages")
                return False
            await self.error(
                "rate_limited",
                f"slow down: send again in {wait:.1f} s (nothing was stored)",
                client_id=client_id,
                retry_after=round(wait, 1),
            )
            return True
        await self._store(client_id, body)
        return True

    async def _store(self, client_id: str, body: str) -> None:
        assert self.session is not None
        ctx = self.ctx
        try:
            posted = await run_in_threadpool(
                chat.post,
                ctx.db,
                ctx.config,
                self.session,
                body=body,
                client_id=client_id,
                now=ctx.clock.now(),
            )
        except chat.ChatRefused as exc:
            await self.error(exc.code, exc.detail, client_id=client_id)
            return
        except DomainError as exc:
            await self.error("invalid", exc.detail, client_id=client_id)
            return
        except Exception:
            await self.error(
                "unavailable", "your message could not be stored; try again", client_id=client_id
            )
            raise
        moved = self.session.case_number != posted.session.case_number
        first = self.session.session_id is None
        self.session = posted.session
        if first:
            await self._presence()
        self.sent.add(posted.message_id)
        stored = await run_in_threadpool(chat.get_message, ctx.db, posted.message_id)
        ack: dict[str, Any] = {"type": "ack", "client_id": client_id}
        if stored is not None:
            ack["message"] = stored.as_json(ctx.config)
        await self.send(ack)
        if moved or self.watch is None:
            facts = await run_in_threadpool(chat.case_facts, ctx.db, ctx.config, posted.case_number)
            await self.send({"type": "case", "case": facts})
            self._watch(posted.case_number)
        self.bus.announce(posted.case_number)
