"""Who is signed in to a web front end: session cookies, the signed-in principal and role
checks for pages.

A ``Realm`` names one front end's sign-in: its cookie, its login page and the kind of principal
its sessions belong to. The console and admin share the staff realm (``kind="user"``); the
portal defines its own realm with ``kind="customer"`` and reuses ``set_session_cookie``,
``session_token``, ``services.sessions`` and the CSRF protection unchanged.

Pages depend on ``staff_page(...)``: an anonymous browser is sent to the login page (htmx
requests get ``HX-Redirect``), a signed-in user without the role gets a 403 page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, Request
from fastapi.responses import Response

from casedesk.db.tables import User
from casedesk.domain.actors import Actor
from casedesk.services import sessions
from casedesk.web.ui import csrf
from casedesk.web.ui.pages import ctx_of, is_secure


@dataclass(frozen=True)
class Realm:
    name: str  # rate-limit realm: "staff" | "portal"
    kind: str  # principal kind of its sessions: "user" | "customer"
    cookie: str
    login_path: str
    home_path: str


STAFF = Realm("staff", "user", "casedesk_session", "/console/login", "/console")


class LoginRequired(Exception):
    def __init__(self, realm: Realm, next_url: str) -> None:
        super().__init__(realm.login_path)
        self.realm = realm
        self.next_url = next_url


class PageForbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StaffSession:
    user: User
    actor: Actor
    session: sessions.SessionInfo

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"

    @property
    def is_lead(self) -> bool:
        return self.user.role in ("admin", "lead")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def session_token(request: Request, realm: Realm) -> str:
    return request.cookies.get(realm.cookie, "")


def set_session_cookie(
    response: Response, request: Request, realm: Realm, token: str, lifetime: timedelta
) -> None:
    """HttpOnly, SameSite=Lax, Secure over HTTPS; lives as long as the session may (relative
    to the browser's clock, so a skewed clock cannot keep or drop it early)."""
    response.set_cookie(
        realm.cookie,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )
    csrf.bind(request, realm.cookie, token)


def clear_session_cookie(response: Response, realm: Realm) -> None:
    response.delete_cookie(realm.cookie, path="/")


def _next_url(request: Request) -> str:
    if request.method != "GET" or request.headers.get("hx-request"):
        current = request.headers.get("hx-current-url", "")
        path = current.split("://", 1)[-1]
        path = "/" + path.split("/", 1)[1] if "/" in path else ""
        return path or STAFF.home_path
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


def current_staff(request: Request) -> StaffSession | None:
    """The signed-in staff user of this request, looked up once per request."""
    if hasattr(request.state, "staff"):
        staff: StaffSession | None = request.state.staff
        return staff
    ctx = ctx_of(request)
    found = sessions.resolve_user(ctx.db, session_token(request, STAFF), now=ctx.clock.now())
    staff = None
    if found is not None:
        info, user = found
        actor = Actor(kind="user", id=user.id, label=user.email, role=user.role, origin="console")
        staff = StaffSession(user, actor, info)
    request.state.staff = staff
    return staff


def signed_in(request: Request) -> StaffSession:
    staff = current_staff(request)
    if staff is None:
        raise LoginRequired(STAFF, _next_url(request))
    return staff


def staff_page(*roles: str) -> Callable[..., StaffSession]:
    """A dependency admitting signed-in staff whose role is in ``roles``."""

    def check(who: StaffSession = Depends(signed_in)) -> StaffSession:
        if who.user.role not in roles:
            raise PageForbidden(
                f"This page needs the role {' or '.join(roles)}; you are signed in as "
                f"{who.user.role}."
            )
        return who

    return check


console_user = staff_page("admin", "lead", "agent")
admin_user = staff_page("admin")
