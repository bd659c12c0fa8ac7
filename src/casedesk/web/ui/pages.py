"""Rendering server-side pages: the Jinja2 environment, the common page context and flash
messages.

Every template is autoescaped, so customer text is inert wherever it appears; the only markup
inserted unescaped is stored HTML after ``safe_html`` (nh3) has cleaned it. Templates live in
``templates/`` (``base.html`` is the layout every front end extends: console, admin, portal).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import nh3
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from casedesk.context import Context
from casedesk.domain import case_fields
from casedesk.services.case_rows import ticket_id

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
FLASH_COOKIE = "casedesk_flash"


@cache
def static_version(path: str) -> str:
    """A short content hash, appended to static URLs so browsers never run stale assets."""
    try:
        return hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


def static_url(path: str) -> str:
    return f"/static/{path}?v={static_version(path)}"


def safe_html(html: str | None) -> Markup:
    """Stored HTML (already sanitised at intake) cleaned again before display."""
    return Markup(nh3.clean(html or "", link_rel="noopener noreferrer nofollow"))


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_text(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration_text(seconds: float | int | None) -> str:
    if seconds is None:
        return ""
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static=static_url, priorities=case_fields.PRIORITIES)
    env.filters.update(
        iso=iso,
        utc=utc_text,
        safe_html=safe_html,
        duration=duration_text,
        priority_name=case_fields.priority_name,
    )
    return env


ENV = _env()


def ctx_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def page_globals(request: Request) -> dict[str, Any]:
    """What every page can use: the signed-in principal, the CSRF token, helpers bound to the
    running config."""
    from casedesk.web.ui import csrf

    ctx = ctx_of(request)
    workflow = ctx.config.lifecycle
    return {
        "request": request,
        "who": getattr(request.state, "staff", None),
        "csrf_token": csrf.token_for_request(request),
        "tid": lambda number: ticket_id(ctx.config, number),
        "status_name": lambda s: workflow.status(s).name if workflow.has_status(s) else s,
        "now": ctx.clock.now(),
        "flashes": [],
        "nav": "",
        "section": "",
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    values = page_globals(request)
    flashes = read_flashes(request)
    values["flashes"] = flashes
    values.update(context or {})
    html = ENV.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    if flashes:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def render_fragment(request: Request, template: str, context: Mapping[str, Any]) -> str:
    """A partial template as text (for htmx swaps), without consuming flash messages."""
    values = page_globals(request)
    values.update(context)
    return ENV.get_template(template).render(values)


# -- flash messages: a signed cookie carried across one redirect ------------------------------


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), b"flash:" + payload, hashlib.sha256).hexdigest()[:32]


def flash(response: Response, request: Request, text: str, kind: str = "ok") -> Response:
    """Show ``text`` on the next page this browser renders (kind: ok, error, info)."""
    secret = ctx_of(request).settings.secret_key
    pending = getattr(request.state, "pending_flashes", None)
    if pending is None:
        pending = request.state.pending_flashes = read_flashes(request)
    pending.append({"kind": kind, "text": text[:500]})
    current = pending
    payload = base64.urlsafe_b64encode(json.dumps(current[-5:]).encode())
    response.set_cookie(
        FLASH_COOKIE,
        f"{payload.decode()}.{_sign(secret, payload)}",
        max_age=60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )
    return response


def read_flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE, "")
    payload, _, signature = raw.rpartition(".")
    if not payload:
        return []
    secret = ctx_of(request).settings.secret_key
    if not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return []
    return [
        {"kind": str(i.get("kind", "info")), "text": str(i.get("text", ""))}
        for i in items
        if isinstance(i, dict)
    ]


def is_secure(request: Request) -> bool:
    """Cookies get ``Secure`` when this request came over HTTPS or the site is served on an
    https base URL (behind a TLS-terminating proxy)."""
    if request.url.scheme == "https":
        return True
    return ctx_of(request).settings.base_url.lower().startswith("https://")


def redirect(url: str, status_code: int = 303) -> Response:
    return Response(status_code=status_code, headers={"Location": url})


def local_path(url: str | None, default: str) -> str:
    """``url`` if it is a path on this site (never ``//host`` or a scheme), else ``default``;
    stops redirects after sign-in from leading elsewhere."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url
