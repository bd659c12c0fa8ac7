"""``create_app``: the ASGI application with every router and error handler."""

from __future__ import annotations

from fastapi import FastAPI

from casedesk import __version__
from casedesk.context import Context
from casedesk.web import problems
from casedesk.web.api import audit, cases, meta, people


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
    for module in (cases, people, audit, meta):
        app.include_router(module.router)
    return app
