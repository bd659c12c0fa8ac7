"""``create_app``: the ASGI application with every router, page and error handler."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from casedesk import __version__
from casedesk.context import Context
from casedesk.web import problems
from casedesk.web.api import (
    attachments,
    audit,
    cases,
    channels,
    chat,
    chat_files,
    meta,
    notifications,
    people,
    phone,
    reports,
    sla,
)
from casedesk.web.ui import admin, console, portal
from casedesk.web.ui import errors as page_errors
from casedesk.web.ui import reports as report_pages
from casedesk.web.ui.security import SecurityHeaders

STATIC = Path(__file__).parent / "ui" / "static"
ROUTERS = (
    cases,
    attachments,
    sla,
    people,
    audit,
    channels,
    chat,
    chat_files,
    phone,
    notifications,
    reports,
    meta,
    console,
    admin,
    portal,
    report_pages,
)


def create_app(ctx: Context | None = None) -> FastAPI:
    """The app for ``ctx``, or for the environment's settings when none is given (uvicorn
    ``--factory`` calls it that way in every worker process)."""
    app = FastAPI(
        title="casedesk",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx or Context.from_settings()
    problems.install(app)
    page_errors.install(app)  # HTML error pages and sign-in redirects under the page prefixes
    app.add_middleware(SecurityHeaders)
    for module in ROUTERS:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
