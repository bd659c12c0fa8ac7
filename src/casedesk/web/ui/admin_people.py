"""``/admin/users``, ``/admin/teams``, ``/admin/tokens``: staff accounts, roles, teams and API
tokens. A new token is shown once, on the page that answers the form, and never again."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from casedesk.domain.errors import DomainError
from casedesk.services import accounts, console_queries, sessions, users
from casedesk.web.ui import csrf
from casedesk.web.ui.auth import StaffSession, admin_user
from casedesk.web.ui.forms import form_data, optional, text
from casedesk.web.ui.pages import ctx_of, flash, redirect, render

router = APIRouter(
    dependencies=[Depends(admin_user), Depends(csrf.protect)], include_in_schema=False
)


def _users_page(
    request: Request, *, form: FormData | None = None, error: str = "", status: int = 200
) -> Response:
    ctx = ctx_of(request)
    return render(
        request,
        "admin/users.html",
        {
            "nav": "admin",
            "section": "users",
            "users": users.list_users(ctx.db),
            "teams": users.list_teams(ctx.db),
            "roles": users.ROLES,
            "form": form or {},
            "error": error,
        },
        status_code=status,
    )


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    return _users_page(request)


@router.post("/admin/users")
def create_user(
    request: Request,
    who: StaffSession = Depends(admin_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    password = form.get("password")
    try:
        user = users.create_user(
            ctx.db,
            email=text(form, "email"),
            name=text(form, "name"),
            role=text(form, "role", "agent"),
            team=optional(form, "team"),
            password=password if isinstance(password, str) and password else None,
            actor=who.actor,
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return _users_page(request, form=form, error=exc.detail, status=exc.status)
    return flash(redirect("/admin/users"), request, f"Added {user.email} ({user.role}).")


@router.post("/admin/users/{user_id}")
def change_user(
    user_id: int,
    request: Request,
    who: StaffSession = Depends(admin_user),
    form: FormData = Depends(form_data),
) -> Response:
    """One change per submit: ``action`` is role, team, deactivate, reactivate or
    end_sessions."""
    ctx = ctx_of(request)
    now = ctx.clock.now()
    action = text(form, "action")
    try:
        if action == "role":
            user = accounts.set_role(
                ctx.db, user_id=user_id, role=text(form, "role"), actor=who.actor, now=now
            )
            message = f"{user.email} is now {user.role}."
        elif action == "team":
            user = accounts.set_team(
                ctx.db, user_id=user_id, team=optional(form, "team"), actor=who.actor, now=now
            )
            message = f"Moved {user.email}."
        elif action in ("deactivate", "reactivate"):
            user = accounts.set_active(
                ctx.db, user_id=user_id, active=action == "reactivate", actor=who.actor, now=now
            )
            message = f"{user.email} is {'active' if user.active else 'deactivated'}."
        elif action == "end_sessions":
            ended = sessions.revoke_all(ctx.db, kind="user", principal_id=user_id, now=now)
            message = f"Ended {ended} session{'s' if ended != 1 else ''}."
        else:
            return flash(redirect("/admin/users"), request, "Unknown action.", "error")
    except DomainError as exc:
        return flash(redirect("/admin/users"), request, exc.detail, "error")
    return flash(redirect("/admin/users"), request, message)


@router.get("/admin/teams")
def teams_page(request: Request, error: str = "") -> Response:
    ctx = ctx_of(request)
    people = users.list_users(ctx.db)
    return render(
        request,
        "admin/teams.html",
        {
            "nav": "admin",
            "section": "teams",
            "teams": users.list_teams(ctx.db),
            "members": {
                t.id: [u for u in people if u.team_id == t.id and u.active]
                for t in users.list_teams(ctx.db)
            },
            "error": error,
        },
    )


@router.post("/admin/teams")
def create_team(
    request: Request,
    who: StaffSession = Depends(admin_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    try:
        team = users.create_team(
            ctx.db, name=text(form, "name"), actor=who.actor, now=ctx.clock.now()
        )
    except DomainError as exc:
        return flash(redirect("/admin/teams"), request, exc.detail, "error")
    return flash(redirect("/admin/teams"), request, f"Created the team {team.name}.")


def _tokens_page(request: Request, *, issued: str = "", issued_for: str = "") -> Response:
    ctx = ctx_of(request)
    return render(
        request,
        "admin/tokens.html",
        {
            "nav": "admin",
            "section": "tokens",
            "tokens": console_queries.all_tokens(ctx.db),
            "users": [u for u in users.list_users(ctx.db) if u.active],
            "issued": issued,
            "issued_for": issued_for,
        },
    )


@router.get("/admin/tokens")
def tokens_page(request: Request) -> Response:
    return _tokens_page(request)


@router.post("/admin/tokens")
def create_token(
    request: Request,
    who: StaffSession = Depends(admin_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    try:
        owner = users.get_user(ctx.db, text(form, "user") or who.user.id)
        issued = users.create_token(
            ctx.db,
            user_id=owner.id,
            label=text(form, "label", "api")[:100] or "api",
            actor=who.actor,
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return flash(redirect("/admin/tokens"), request, exc.detail, "error")
    # Shown once, in this answer only (no redirect: the secret never enters a URL or cookie).
    return _tokens_page(request, issued=issued.token, issued_for=owner.email)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    token_id: int, request: Request, who: StaffSession = Depends(admin_user)
) -> Response:
    ctx = ctx_of(request)
    try:
        row = users.revoke_token(ctx.db, token_id=token_id, actor=who.actor, now=ctx.clock.now())
    except DomainError as exc:
        return flash(redirect("/admin/tokens"), request, exc.detail, "error")
    return flash(redirect("/admin/tokens"), request, f"Revoked the token “{row.label}”.")
