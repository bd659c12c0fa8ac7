"""RFC 9457 problem details for every error the API returns, and the problem types they name.

A problem whose title is its status's standard phrase ("Not found") has the type
``about:blank``; one with a title of its own ("Transition not allowed") names a problem type,
``/api/problems/<slug>``, which clients can branch on and people can open for its meaning.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from casedesk.domain.errors import DomainError

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "/api/problems/"
# The problem types with a title of their own: title -> (status, what it means and what to do).
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "Transition not allowed": (
        409,
        "The workflow does not allow this status change from the case's current status, or not "
        "for your role. `allowed` lists the statuses you may move the case to.",
    ),
    "Transition requirement missing": (
        422,
        "The status change needs something the request did not give: a reason code and text "
        "for On Hold, a resolution note for Resolved. `detail` names it.",
    ),
    "Invalid input": (
        422,
        "A field is missing or not valid. `detail` (and `errors` or `field`) names the field "
        "and what it accepts.",
    ),
    "Invalid calendar": (
        422,
        "A business-hours calendar in the request or config is not valid. `detail` explains.",
    ),
    "Replayed request": (
        409,
        "A signed webhook request was already taken in. Sign a retry again with a new "
        "timestamp; the message itself is never taken twice.",
    ),
    "Not configured": (
        503,
        "The feature is enabled but a secret it needs is not set on the server. `detail` names "
        "the variable.",
    ),
    "Phone channel not configured": (
        503,
        "The Twilio auth token is not set on the server, so calls cannot be verified. `detail` "
        "names the variable.",
    ),
    "Chat refused": (
        400,
        "The chat cannot go on as asked; `code` says why (an unknown or expired chat token is "
        "answered with 401: start the chat again).",
    ),
    "Sign-in link not valid": (
        409,
        "The portal sign-in link was already used, has expired or was never issued. Ask for a "
        "new one.",
    ),
}

# Phrases RFC 9110 renamed after Python's HTTPStatus took its names.
_ALSO_STANDARD = {413: ("content too large",), 422: ("unprocessable content",)}


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def problem_type(status: int, title: str) -> str:
    """``about:blank`` for a title that is the status's standard phrase, else the problem
    type the title names."""
    standard = {_phrase(status).lower(), *_ALSO_STANDARD.get(status, ())}
    return "about:blank" if title.lower() in standard else TYPE_PREFIX + slug(title)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    kind = problem_type(status, title)
    body = {"type": kind, "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


_WHERE = ("body", "query", "path", "header", "cookie")


def _location(loc: tuple[Any, ...]) -> str:
    # The first part names where the input was (body, query, ...); the rest is the field.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in _WHERE else [str(p) for p in loc]
    return ".".join(parts) or "request"


router = APIRouter(tags=["meta"])


@router.get(TYPE_PREFIX + "{name}")
def problem_type_page(name: str) -> JSONResponse:
    """What a problem type means and what to do about it."""
    title = next((t for t in PROBLEM_TYPES if slug(t) == name), None)
    if title is None:
        return problem(404, "Not found", f"there is no problem type {name!r}")
    status, meaning = PROBLEM_TYPES[title]
    return JSONResponse(
        {"type": TYPE_PREFIX + name, "title": title, "status": status, "description": meaning}
    )


def install(app: FastAPI) -> None:
    app.include_router(router)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, instance=request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _location(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid input", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
        }
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem(
            exc.status_code,
            titles.get(exc.status_code) or _phrase(exc.status_code),
            detail,
            instance=request.url.path,
        )
