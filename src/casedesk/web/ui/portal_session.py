"""Who is signed in to the portal: the customer realm of the shared web sessions.

The portal reuses the console's machinery unchanged: ``services.sessions`` (principal kind
``customer``), the ``Realm`` cookie helpers of ``web.ui.auth`` (HttpOnly, SameSite=Lax, Secure
over HTTPS) and ``web.ui.csrf`` (the ``casedesk_portal`` cookie is one of its binding cookies).
Pages depend on ``customer_page``: an anonymous browser is sent to ``/portal/login``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from casedesk.channels import portal
from casedesk.config_channels import portal_settings
from casedesk.domain.actors import Actor
from casedesk.domain.errors import DomainError
from casedesk.services import sessions
from casedesk.services.customers import CustomerRecord
from casedesk.web.ui.auth import LoginRequired, Realm, session_token
from casedesk.web.ui.errors import PAGE_PREFIXES
from casedesk.web.ui.pages import ctx_of, local_path, render

REALM = Realm("portal", "customer", "casedesk_portal", "/portal/login", "/portal")
if "/portal" not in PAGE_PREFIXES:  # HTML errors and the security headers cover the portal
    PAGE_PREFIXES.append("/portal")


@dataclass(frozen=True)
class PortalSession:
    customer: CustomerRecord
    actor: Actor
    session: sessions.SessionInfo


def current_customer(request: Request) -> PortalSession | None:
    """The signed-in customer of this request, looked up once per request."""
    if hasattr(request.state, "portal"):
        found: PortalSession | None = request.state.portal
        return found
    ctx = ctx_of(request)
    info = sessions.resolve(
        ctx.db, session_token(request, REALM), kind=REALM.kind, now=ctx.clock.now()
    )
    who = None
    if info is not None:
        customer = portal.customer_by_id(ctx.db, info.principal_id)
        if customer is not None:
            who = PortalSession(customer, portal.customer_actor(customer), info)
    request.state.portal = who
    return who


def customer_page(request: Request) -> PortalSession:
    """A dependency admitting a signed-in customer; others go to the sign-in page."""
    who = current_customer(request)
    if who is None:
        query = f"?{request.url.query}" if request.url.query else ""
        target = request.url.path + query if request.method == "GET" else REALM.home_path
        raise LoginRequired(REALM, local_path(target, REALM.home_path))
    return who


async def portal_enabled(request: Request) -> None:
    if not portal_settings(ctx_of(request).config).enabled:
        raise HTTPException(404, "The self-service portal is turned off")


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A portal page, with the signed-in customer (if any) for the layout."""
    who = current_customer(request)
    values = {"customer": who.customer if who else None, "nav": ""}
    values.update(context or {})
    return render(request, f"portal/{template}", values, status_code=status_code)


def error_page(request: Request, exc: DomainError) -> HTMLResponse:
    return page(
        request,
        "error.html",
        {"status": exc.status, "title": exc.title, "detail": exc.detail},
        status_code=exc.status,
    )
