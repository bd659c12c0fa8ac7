"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from casedesk.domain.errors import DomainError

MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


_WHERE = ("body", "query", "path", "header", "cookie")


def _location(loc: tuple[Any, ...]) -> str:
    # The first part names where the input was (body, query, ...); the rest is the field.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in _WHERE else [str(p) for p in loc]
    return ".".join(parts) or "request"


def install(app: FastAPI) -> None:
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
            exc.status_code, titles.get(exc.status_code, "Error"), detail, instance=request.url.path
        )
