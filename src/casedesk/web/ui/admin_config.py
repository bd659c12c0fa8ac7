"""``/admin/workflow``, ``/admin/sla``, ``/admin/notifications``, ``/admin/channels``: the
effective configuration as the running process understood it (read-only: the TOML file is the
source of truth), plus a "send test" for notification destinations and channel health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from casedesk.domain.case_fields import CHANNELS
from casedesk.domain.errors import DomainError
from casedesk.services import console_features, console_queries
from casedesk.web.ui import csrf
from casedesk.web.ui.auth import StaffSession, admin_user
from casedesk.web.ui.forms import form_data, text
from casedesk.web.ui.pages import ctx_of, flash, redirect, render

router = APIRouter(
    dependencies=[Depends(admin_user), Depends(csrf.protect)], include_in_schema=False
)
SECRET_HINTS = ("password", "secret", "token", "key", "webhook_url")


def redact(value: Any, key: str = "") -> Any:
    """Config values for display: names of environment variables stay, anything that looks
    like a secret written into the file is hidden."""
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    lowered = key.lower()
    if (
        isinstance(value, str)
        and not lowered.endswith("_env")
        and any(h in lowered for h in SECRET_HINTS)
    ):
        return "•••• (hidden)"
    return value


@router.get("/admin/workflow")
def workflow_page(request: Request) -> Response:
    config = ctx_of(request).config
    wf = config.lifecycle
    return render(
        request,
        "admin/workflow.html",
        {
            "nav": "admin",
            "section": "workflow",
            "workflow": wf,
            "transitions": [
                {
                    "from": [wf.status(s).name for s in sorted(t.sources)],
                    "to": wf.status(t.target).name,
                    "by": sorted(t.by),
                    "requires": sorted(t.requires),
                }
                for t in wf.transitions
            ],
            "auto_close_after": config.workflow.auto_close_after,
            "tickets": config.tickets,
            "categories": config.cases.categories,
            "field_defs": config.cases.fields,
        },
    )


@router.get("/admin/sla")
def sla_page(request: Request) -> Response:
    ctx = ctx_of(request)
    config = ctx.config
    effective = console_features.sla_policies(ctx)
    return render(
        request,
        "admin/sla.html",
        {
            "nav": "admin",
            "section": "sla",
            "calendars": redact(config.calendars),
            "policies": effective
            if effective is not None
            else redact(config.sla.get("policies", [])),
            "built_in": effective is not None and "policies" not in config.sla,
            "sla_other": redact({k: v for k, v in config.sla.items() if k != "policies"}),
        },
    )


@router.get("/admin/notifications")
def notifications_page(request: Request) -> Response:
    ctx = ctx_of(request)
    notify = ctx.config.notify
    return render(
        request,
        "admin/notifications.html",
        {
            "nav": "admin",
            "section": "notifications",
            "destinations": redact(notify.get("destinations", [])),
            "routes": redact(notify.get("routes", [])),
            "can_test": console_features.lookup("services.notifications", "send_test") is not None,
        },
    )


@router.post("/admin/notifications/test")
def send_test(
    request: Request,
    who: StaffSession = Depends(admin_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    destination = text(form, "destination")
    known = {str(d.get("id")) for d in ctx.config.notify.get("destinations", [])}
    back = redirect("/admin/notifications")
    if destination not in known:
        return flash(back, request, f"No destination '{destination}' in the config.", "error")
    try:
        result = console_features.send_test(ctx, destination, who.actor)
    except DomainError as exc:
        return flash(back, request, exc.detail, "error")
    if result is None:
        return flash(back, request, "Test notifications are not available yet.", "error")
    delivered, message = result
    return flash(back, request, message, "ok" if delivered else "error")


@router.get("/admin/channels")
def channels_page(request: Request) -> Response:
    ctx = ctx_of(request)
    config = ctx.config
    return render(
        request,
        "admin/channels.html",
        {
            "nav": "admin",
            "section": "channels",
            "settings": {
                "E-mail": redact(config.email),
                "Phone": redact(config.phone),
                "Chat": redact(config.chat),
                "Portal": redact(config.portal),
            },
            "health": console_features.channel_health(ctx),
            "latest": console_queries.last_case_per_channel(ctx.db, CHANNELS),
        },
    )
