"""``/admin``: configuration pages for admins.

Every route of this router and the routers it includes requires the admin role
(``admin_user``) and a CSRF token on unsafe methods. People (users, teams, API tokens) live in
``admin_people``, the effective configuration (workflow, SLA, notifications, channels) in
``admin_config``, operations (quarantine, dead letters, audit trail) in ``admin_ops``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from casedesk.services import console_features, users
from casedesk.web.ui import admin_config, admin_ops, admin_people, csrf
from casedesk.web.ui.auth import StaffSession, admin_user
from casedesk.web.ui.pages import ctx_of, render

router = APIRouter(
    dependencies=[Depends(admin_user), Depends(csrf.protect)], include_in_schema=False
)
router.include_router(admin_people.router)
router.include_router(admin_config.router)
router.include_router(admin_ops.router)


@router.get("/admin")
def overview(request: Request, who: StaffSession = Depends(admin_user)) -> Response:
    ctx = ctx_of(request)
    staff = users.list_users(ctx.db)
    return render(
        request,
        "admin/index.html",
        {
            "nav": "admin",
            "section": "overview",
            "user_count": sum(1 for u in staff if u.active),
            "team_count": len(users.list_teams(ctx.db)),
            "status_count": len(ctx.config.lifecycle.statuses),
            "policy_count": len(ctx.config.sla.get("policies", [])),
            "destination_count": len(ctx.config.notify.get("destinations", [])),
            "dead_letters": console_features.dead_letters(ctx, limit=100),
            "quarantine": console_features.quarantine(ctx, limit=100),
        },
    )
