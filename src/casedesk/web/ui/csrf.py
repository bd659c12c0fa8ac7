"""CSRF protection for every form and htmx request of the web front ends.

The token is bound to a cookie the attacker's page cannot read: HMAC(secret key, cookie name
and value) over the session cookie of the signed-in principal, or, before sign-in, over a
random pre-session cookie. Forms carry it in a hidden ``csrf_token`` field; htmx sends it in
the ``X-CSRF-Token`` header (``hx-headers`` on ``<body>``). Unsafe requests must also come
from this site when the browser says where they come from (``Origin``). ``protect`` is a
router dependency, so no route of a protected router can forget the check.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

FIELD = "csrf_token"
HEADER = "x-csrf-token"
PRE_SESSION_COOKIE = "casedesk_presession"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Cookies a CSRF token may be bound to, in order of preference: staff session, customer
# session (the portal registers its cookie here), pre-session.
BINDING_COOKIES: list[str] = ["casedesk_session", "casedesk_portal", PRE_SESSION_COOKIE]


class CsrfFailed(Exception):
    """An unsafe request without a valid CSRF token or from another origin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _secret(request: Request) -> str:
    return str(request.app.state.ctx.settings.secret_key)


def token_for(secret: str, cookie: str, value: str) -> str:
    mac = hmac.new(secret.encode(), f"csrf:{cookie}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()


def token_for_request(request: Request) -> str:
    """The token this browser's forms carry; empty when no binding cookie exists yet (the
    login page sets the pre-session cookie first with ``ensure_pre_session``)."""
    bound = getattr(request.state, "csrf_binding", None)
    if bound is not None:
        name, value = bound
        return token_for(_secret(request), name, value)
    for name in BINDING_COOKIES:
        value = request.cookies.get(name)
        if value:
            return token_for(_secret(request), name, value)
    return ""


def bind(request: Request, cookie: str, value: str) -> None:
    """Make forms rendered in this request use a cookie just set on the response."""
    request.state.csrf_binding = (cookie, value)


def ensure_pre_session(request: Request, response: Response) -> None:
    """Give an anonymous browser the random cookie its login form's token is bound to."""
    if request.cookies.get(PRE_SESSION_COOKIE):
        return
    value = getattr(request.state, "csrf_binding", (None, None))[1] or secrets.token_urlsafe(24)
    from casedesk.web.ui.pages import is_secure

    response.set_cookie(
        PRE_SESSION_COOKIE,
        value,
        max_age=86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def new_pre_session(request: Request) -> str:
    value = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(24)
    bind(request, PRE_SESSION_COOKIE, value)
    return value


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        referer = request.headers.get("referer")
        if not referer:
            return origin != "null"
        origin = referer
    netloc = urlsplit(origin).netloc.lower()
    base = urlsplit(str(request.app.state.ctx.settings.base_url)).netloc.lower()
    return netloc in (request.headers.get("host", "").lower(), base)


async def protect(request: Request) -> None:
    """Refuse an unsafe request whose token does not match one of this browser's cookies."""
    if request.method in SAFE_METHODS:
        return
    if not _same_origin(request):
        raise CsrfFailed("the request came from another site")
    sent = request.headers.get(HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else ""
    if not sent:
        raise CsrfFailed("the form had no CSRF token")
    secret = _secret(request)
    for name in BINDING_COOKIES:
        value = request.cookies.get(name)
        if value and hmac.compare_digest(sent, token_for(secret, name, value)):
            return
    raise CsrfFailed("the form's CSRF token does not match this browser's session")
