"""Staff sign-in and sign-out (``/console/login``, ``/console/logout``).

Sign-in checks the rate limit first (per e-mail and per client address, in the database),
then the argon2 password; every failure looks the same to the browser. Success opens a fresh
server-side session (never reusing an earlier cookie) and forgives the e-mail's failures.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from casedesk.domain.actors import Actor
from casedesk.services import sessions, users
from casedesk.web.ui import csrf
from casedesk.web.ui.auth import (
    STAFF,
    clear_session_cookie,
    client_ip,
    current_staff,
    session_token,
    set_session_cookie,
)
from casedesk.web.ui.forms import form_data, text
from casedesk.web.ui.pages import ctx_of, flash, local_path, redirect, render

router = APIRouter(dependencies=[Depends(csrf.protect)], include_in_schema=False)


def _login_page(
    request: Request, *, next_url: str, email: str = "", error: str = "", status: int = 200
) -> Response:
    csrf.new_pre_session(request)
    response = render(
        request,
        "auth/login.html",
        {"next_url": next_url, "email": email, "error": error, "who": None},
        status_code=status,
    )
    csrf.ensure_pre_session(request, response)
    return response


@router.get("/console/login")
def login_form(request: Request, next: str = "") -> Response:
    next_url = local_path(next, STAFF.home_path)
    if current_staff(request) is not None:
        return redirect(next_url)
    return _login_page(request, next_url=next_url)


@router.post("/console/login")
def login(request: Request, form: FormData = Depends(form_data)) -> Response:
    ctx = ctx_of(request)
    now = ctx.clock.now()
    email = text(form, "email")[:320]
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    next_url = local_path(text(form, "next"), STAFF.home_path)
    ip = client_ip(request)
    wait = sessions.login_blocked(ctx.db, realm=STAFF.name, email=email, ip=ip, now=now)
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        return _login_page(
            request,
            next_url=next_url,
            email=email,
            error=f"Too many failed sign-ins. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            status=429,
        )
    user = users.authenticate_password(ctx.db, email, password) if email and password else None
    if user is None:
        sessions.record_failure(ctx.db, realm=STAFF.name, email=email, ip=ip, now=now)
        return _login_page(
            request,
            next_url=next_url,
            email=email,
            error="That e-mail and password do not match an active account.",
            status=401,
        )
    sessions.clear_failures(ctx.db, realm=STAFF.name, email=email)
    actor = Actor(kind="user", id=user.id, label=user.email, role=user.role, origin="console")
    issued = sessions.start(
        ctx.db,
        kind=STAFF.kind,
        principal_id=user.id,
        actor=actor,
        now=now,
        ip=ip,
        user_agent=request.headers.get("user-agent", ""),
    )
    response = redirect(next_url)
    set_session_cookie(response, request, STAFF, issued.token, issued.expires_at - now)
    return response


@router.post("/console/logout")
def logout(request: Request) -> Response:
    ctx = ctx_of(request)
    token = session_token(request, STAFF)
    who = current_staff(request)
    if token and who is not None:
        sessions.end(ctx.db, token, actor=who.actor, now=ctx.clock.now())
    response = redirect(STAFF.login_path)
    clear_session_cookie(response, STAFF)
    request.state.staff = None
    return flash(response, request, "You are signed out.", "info")
