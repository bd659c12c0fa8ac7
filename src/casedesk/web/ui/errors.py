"""Errors on web pages: a sign-in redirect, or an HTML error page instead of problem+json.

``install`` runs after ``problems.install``: requests under a page prefix (``/console``,
``/admin``; the portal adds ``/portal`` with ``PAGE_PREFIXES.append``) get HTML, every other
request keeps the RFC 9457 problem details of the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from casedesk.domain.errors import DomainError
from casedesk.web.ui import csrf
from casedesk.web.ui.auth import LoginRequired, PageForbidden
from casedesk.web.ui.pages import redirect, render

PAGE_PREFIXES: list[str] = ["/console", "/admin"]
Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page(request: Request) -> bool:
    path = request.url.path
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = f"{exc.realm.login_path}?next={quote(exc.next_url, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return redirect(target)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    return error_page(request, 403, "Not allowed", exc.message)


async def _csrf(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CsrfFailed)
    return error_page(
        request,
        403,
        "Form expired",
        f"This form could not be accepted ({exc.reason}). Go back, reload the page and try again.",
    )


CsrfFailed = csrf.CsrfFailed
TITLES = {401: "Sign-in needed", 403: "Not allowed", 404: "Not found", 405: "Not allowed"}


def _wrap(original: Handler | None) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_page(request) or original is None:
            if isinstance(exc, DomainError):
                return error_page(request, exc.status, exc.title, exc.detail)
            if isinstance(exc, StarletteHTTPException):
                title = TITLES.get(exc.status_code, "Error")
                return error_page(request, exc.status_code, title, str(exc.detail))
            if isinstance(exc, RequestValidationError):
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                )
                return error_page(request, 422, "Invalid input", detail)
        assert original is not None
        return await original(request, exc)

    return handle


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageForbidden, _forbidden)
    app.add_exception_handler(CsrfFailed, _csrf)
    for exc_type in (DomainError, StarletteHTTPException, RequestValidationError):
        original = app.exception_handlers.get(exc_type)
        app.add_exception_handler(exc_type, _wrap(original))  # type: ignore[arg-type]
