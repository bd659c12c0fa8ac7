"""``/api/v1/channels/chat/files``: a chat visitor sends a file into the chat and downloads the
files of their own chat (``channels.chat_files``).

The widget runs on other sites. Both routes are plain form POSTs with the chat token as a form
field, so browsers send them without a CORS preflight, and answer with
``Access-Control-Allow-Origin`` for a site allowed to embed the chat (any site unless
``[chat] allowed_origins`` names them). No cookies are involved: the token is the credential.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from casedesk.channels import chat, chat_files
from casedesk.channels.live_rules import FloodGate
from casedesk.config_channels import ChatSettings, chat_settings
from casedesk.context import Context
from casedesk.domain.errors import DomainError, InvalidInput
from casedesk.services.messages import NewAttachment
from casedesk.web.api.chat import CLIENT_ID, allowed_origin
from casedesk.web.api.live import bus_of
from casedesk.web.downloads import attachment_response
from casedesk.web.problems import problem
from casedesk.web.uploads import attachment

router = APIRouter(tags=["channels"])
FORM_OVERHEAD = 64 * 1024  # the token, client id and caption around the file
_gates: dict[str, FloodGate] = {}  # per chat: files share the typed messages' rate limit


def _origin_allowed(request: Request, settings: ChatSettings, base_url: str) -> bool:
    own = {base_url, f"{request.url.scheme}://{request.url.netloc}"}
    return allowed_origin(request.headers.get("origin", ""), own, settings)


def _cors(request: Request, settings: ChatSettings, base_url: str) -> dict[str, str]:
    origin = request.headers.get("origin", "")
    if not origin or not _origin_allowed(request, settings, base_url):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _refusal(exc: DomainError, cors: dict[str, str]) -> JSONResponse:
    answer = problem(exc.status, exc.title, exc.detail, **exc.extra)
    answer.headers.update(cors)
    return answer


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _gate(session: chat.ChatSessionView, settings: ChatSettings) -> None:
    if len(_gates) > 10_000:
        _gates.clear()
    gate = _gates.setdefault(session.key, FloodGate(settings.rate_messages, settings.rate_per))
    wait = gate.take(time.monotonic())
    if wait:
        raise chat.ChatRefused(
            "rate_limited", f"slow down: send again in {wait:.1f} s", retry_after=round(wait, 1)
        )


@router.post("/api/v1/channels/chat/files", status_code=201)
async def send_file(request: Request) -> Response:
    """Form fields ``token``, ``client_id``, ``file`` and an optional ``caption``; the file
    becomes a public message on the chat's case (a resend with the same ``client_id`` is
    stored once). 201 with the message as the chat socket shows it."""
    ctx: Context = request.app.state.ctx
    settings = chat_settings(ctx.config)
    cors = _cors(request, settings, ctx.settings.base_url)
    if not _origin_allowed(request, settings, ctx.settings.base_url):
        return problem(403, "Forbidden", "this site may not embed the chat")
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():  # the size is checked before anything is read or spooled
        answer = problem(411, "Length required", "send the upload with a Content-Length")
        answer.headers.update(cors)
        return answer
    if int(declared) > settings.max_file_bytes + FORM_OVERHEAD:
        detail = f"a file may be at most {settings.max_file_bytes // 1024} KiB"
        answer = problem(413, "Content too large", detail, limit=settings.max_file_bytes)
        answer.headers.update(cors)
        return answer
    try:
        if not settings.enabled:
            raise chat.ChatRefused("disabled", "live chat is turned off")
        form = await request.form(max_files=1, max_fields=4)
        upload = form.get("file")
        client_id, caption = _text(form, "client_id"), _text(form, "caption")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("choose a file to send", field="file")
        if not CLIENT_ID.match(client_id):
            raise InvalidInput("give a client_id (1-64 letters, digits, -_.:)", field="client_id")
        if len(caption) > settings.max_message_chars:
            raise InvalidInput("the caption is too long", field="caption")
        content = await upload.read(settings.max_file_bytes + 1)
        new = attachment(upload.filename, upload.content_type, content)
        posted = await run_in_threadpool(
            _send, ctx, settings, _text(form, "token"), new, caption, client_id
        )
    except DomainError as exc:
        return _refusal(exc, cors)
    bus_of(request.app).announce(posted.case_number)
    stored = await run_in_threadpool(chat.get_message, ctx.db, posted.message_id)
    body = {"message": stored.as_json(ctx.config) if stored else None}
    return JSONResponse(body, status_code=201, headers=cors)


def _send(
    ctx: Context,
    settings: ChatSettings,
    token: str,
    upload: NewAttachment,
    caption: str,
    client_id: str,
) -> chat.Posted:
    now = ctx.clock.now()
    session = chat_files.started(ctx.db, ctx.config, ctx.settings.secret_key, token, now=now)
    _gate(session, settings)
    return chat_files.send_file(
        ctx.db, ctx.config, session, upload, caption=caption, client_id=client_id, now=now
    )


@router.post("/api/v1/channels/chat/files/{attachment_id}/download")
async def download_file(attachment_id: int, request: Request) -> Response:
    """Form field ``token``: the file's bytes when it belongs to a public message of that
    visitor's chat; 404 for any other file."""
    ctx: Context = request.app.state.ctx
    settings = chat_settings(ctx.config)
    cors = _cors(request, settings, ctx.settings.base_url)
    if not _origin_allowed(request, settings, ctx.settings.base_url):
        return problem(403, "Forbidden", "this site may not embed the chat")
    try:
        form = await request.form(max_files=0, max_fields=2)
        token = _text(form, "token")
        found = await run_in_threadpool(_file, ctx, token, attachment_id)
    except DomainError as exc:
        return _refusal(exc, cors)
    return attachment_response(found.filename, found.content or b"", headers=cors)


def _file(ctx: Context, token: str, attachment_id: int) -> Any:
    now = ctx.clock.now()
    session = chat_files.started(ctx.db, ctx.config, ctx.settings.secret_key, token, now=now)
    return chat_files.visitor_file(ctx.db, session, attachment_id)
