"""``/portal``: the customers' self-service portal; this module signs them in and out.

- ``/portal/login``: ask for an e-mailed sign-in link, or sign in with a password;
- ``/portal/auth/{token}``: the link's landing page. It only shows a button: the link is
  spent by the ``POST /portal/auth`` it sends, so mail scanners that fetch links do not use it
  up;
- ``/portal/logout``.

Every sign-in opens a fresh server-side session (``services.sessions``, kind ``customer``)
with the ``casedesk_portal`` cookie. Password sign-ins share the console's per-address and
per-client rate limit (realm ``portal``). The case pages are in ``portal_pages``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from casedesk.channels import portal
from casedesk.channels.live_rules import verify_token
from casedesk.config_channels import portal_settings
from casedesk.domain.errors import DomainError
from casedesk.services import sessions
from casedesk.services.customers import CustomerRecord
from casedesk.web.ui import csrf, portal_pages
from casedesk.web.ui.auth import (
    clear_session_cookie,
    client_ip,
    session_token,
    set_session_cookie,
)
from casedesk.web.ui.forms import form_data, text
from casedesk.web.ui.pages import ctx_of, flash, local_path, redirect
from casedesk.web.ui.portal_session import (
    REALM,
    current_customer,
    page,
    portal_enabled,
)

# The upload limit is checked before the CSRF check reads the form; 64 MiB is the hard cap of
# any portal request body.
router = APIRouter(
    dependencies=[
        Depends(portal_enabled),
        Depends(portal_pages.body_limit),
        Depends(csrf.protect),
    ],
    include_in_schema=False,
    max_body_size=64 * 1024 * 1024,
)
router.include_router(portal_pages.router)


def _login(
    request: Request,
    *,
    next_url: str,
    email: str = "",
    error: str = "",
    password_error: str = "",
    status: int = 200,
) -> Response:
    csrf.new_pre_session(request)
    response = page(
        request,
        "login.html",
        {
            "next_url": next_url,
            "email": email,
            "error": error,
            "password_error": password_error,
        },
        status_code=status,
    )
    csrf.ensure_pre_session(request, response)
    return response


@router.get("/portal/login")
def login_form(request: Request, next: str = "") -> Response:
    next_url = local_path(next, REALM.home_path)
    if current_customer(request) is not None:
        return redirect(next_url)
    return _login(request, next_url=next_url)


def _wait_text(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"Too many attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


@router.post("/portal/login/link")
def ask_for_link(request: Request, form: FormData = Depends(form_data)) -> Response:
    ctx = ctx_of(request)
    email = text(form, "email")[:320]
    next_url = local_path(text(form, "next"), REALM.home_path)
    try:
        asked = portal.request_link(
            ctx.db,
            ctx.config,
            ctx.settings,
            email=email,
            ip=client_ip(request),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return _login(request, next_url=next_url, email=email, error=exc.detail, status=422)
    if asked.wait is not None:
        error = _wait_text(asked.wait.total_seconds())
        return _login(request, next_url=next_url, email=email, error=error, status=429)
    minutes = int(portal_settings(ctx.config).link_ttl.total_seconds() // 60)
    return page(request, "link_sent.html", {"email": email, "minutes": minutes})


@router.get("/portal/auth/{token}")
def link_landing(request: Request, token: str) -> Response:
    """The page a sign-in link opens: a button that spends the link."""
    ctx = ctx_of(request)
    genuine = verify_token(ctx.settings.secret_key, portal.PURPOSE, token)
    error = "" if genuine else "This sign-in link is not valid. Ask for a new one."
    csrf.new_pre_session(request)
    response = page(
        request,
        "confirm.html",
        {"token": token, "error": error},
        status_code=200 if genuine else 400,
    )
    csrf.ensure_pre_session(request, response)
    return response


@router.post("/portal/auth")
def redeem(request: Request, form: FormData = Depends(form_data)) -> Response:
    ctx = ctx_of(request)
    try:
        customer = portal.redeem_link(
            ctx.db, ctx.config, ctx.settings, text(form, "token"), now=ctx.clock.now()
        )
    except DomainError as exc:
        csrf.new_pre_session(request)
        response = page(
            request, "confirm.html", {"token": "", "error": exc.detail}, status_code=409
        )
        csrf.ensure_pre_session(request, response)
        return response
    return _signed_in(request, customer, REALM.home_path)


def _signed_in(request: Request, customer: CustomerRecord, next_url: str) -> Response:
    ctx = ctx_of(request)
    now = ctx.clock.now()
    issued = sessions.start(
        ctx.db,
        kind=REALM.kind,
        principal_id=customer.id,
        actor=portal.customer_actor(customer),
        now=now,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    response = redirect(next_url)
    set_session_cookie(response, request, REALM, issued.token, issued.expires_at - now)
    return flash(response, request, f"Signed in as {customer.email or customer.name}.")


@router.post("/portal/login/password")
def password_login(request: Request, form: FormData = Depends(form_data)) -> Response:
    ctx = ctx_of(request)
    now = ctx.clock.now()
    email = text(form, "email")[:320]
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    next_url = local_path(text(form, "next"), REALM.home_path)
    ip = client_ip(request)
    wait = sessions.login_blocked(ctx.db, realm=REALM.name, email=email, ip=ip, now=now)
    if wait is not None:
        error = _wait_text(wait.total_seconds())
        return _login(request, next_url=next_url, email=email, password_error=error, status=429)
    customer = portal.authenticate_password(ctx.db, email, password) if password else None
    if customer is None:
        sessions.record_failure(ctx.db, realm=REALM.name, email=email, ip=ip, now=now)
        return _login(
            request,
            next_url=next_url,
            email=email,
            password_error="That e-mail and password do not match.",
            status=401,
        )
    sessions.clear_failures(ctx.db, realm=REALM.name, email=email)
    return _signed_in(request, customer, next_url)


@router.post("/portal/logout")
def logout(request: Request) -> Response:
    ctx = ctx_of(request)
    token = session_token(request, REALM)
    who = current_customer(request)
    if token and who is not None:
        sessions.end(ctx.db, token, actor=who.actor, now=ctx.clock.now())
    response = redirect(REALM.login_path)
    clear_session_cookie(response, REALM)
    request.state.portal = None
    return flash(response, request, "You are signed out.", "info")
