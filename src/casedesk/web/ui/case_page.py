"""``/console/cases/{id}``: one case — its facts, timeline, reply and note, transitions, fields.

Every change posts to one route that calls one ``services.cases`` function and redirects back
(post/redirect/get), so a reload never repeats it. A rejected change re-renders the page with
the error beside the form and what was typed kept. The page polls ``…/live`` every few
seconds; it answers 204 while the case is unchanged (one indexed read of the newest audit event
id) and otherwise swaps in the new header, timeline and SLA timers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from casedesk.db.tables import Case
from casedesk.domain.errors import DomainError, NotFound
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import (
    audit_queries,
    case_queries,
    cases,
    console_features,
    console_queries,
    messages,
    responses,
    users,
)
from casedesk.services.messages import NewMessage
from casedesk.web.downloads import attachment_response
from casedesk.web.ui import csrf, forms, timeline
from casedesk.web.ui.auth import StaffSession, console_user
from casedesk.web.ui.forms import form_data, optional, text
from casedesk.web.ui.pages import ctx_of, flash, redirect, render, render_fragment

router = APIRouter(
    dependencies=[Depends(console_user), Depends(csrf.protect)], include_in_schema=False
)
POLL_SECONDS = 5
CHAT_POLL_SECONDS = 2
MAX_EVENTS = 1000


def _case(request: Request, ref: str) -> Case:
    ctx = ctx_of(request)
    return cases.get_case(ctx.db, ctx.config, ref)


def _url(request: Request, case: Case) -> str:
    return f"/console/cases/{cases.ticket_id(ctx_of(request).config, case.number)}"


def _transitions(request: Request, who: StaffSession, case: Case) -> list[dict[str, Any]]:
    wf = ctx_of(request).config.lifecycle
    role = who.actor.workflow_role
    out = []
    for target in wf.allowed_targets(case.status, role):
        t = wf.find(case.status, target, role)
        out.append(
            {
                "to": target,
                "name": wf.status(target).name,
                "category": wf.category(target),
                "requires": sorted(t.requires) if t else [],
            }
        )
    return out


def live_context(request: Request, who: StaffSession, case: Case) -> dict[str, Any]:
    """What the live parts of the page show: header facts, timeline, SLA, transitions."""
    ctx = ctx_of(request)
    wf = ctx.config.lifecycle
    msgs = messages.messages(ctx.db, case.number)
    events, _ = audit_queries.events(ctx.db, case_number=case.number, limit=MAX_EVENTS)
    files = messages.attachments(ctx.db, [m.id for m in msgs])
    status_name = lambda s: wf.status(s).name if wf.has_status(s) else s  # noqa: E731
    return {
        "case": case,
        "entries": timeline.build(msgs, events, files, status_name),
        "timers": console_features.case_timers(ctx, case.number),
        "sla_configured": console_features.sla_configured(ctx),
        "transitions": _transitions(request, who, case),
        "hold_reasons": wf.hold_reasons,
        "version": max((e.id for e in events), default=0),
        "poll_seconds": CHAT_POLL_SECONDS if case.channel == "chat" else POLL_SECONDS,
        "case_url": _url(request, case),
        "error_for": "",
        "error": "",
        "form": {},
    }


def render_case(
    request: Request,
    who: StaffSession,
    case: Case,
    *,
    status_code: int = 200,
    error_for: str = "",
    error: str = "",
    form: FormData | None = None,
) -> Response:
    ctx = ctx_of(request)
    context = live_context(request, who, case)
    other: list[Case] = []
    if case.customer_id is not None:
        page = case_queries.list_cases(
            ctx.db, case_queries.CaseFilter(customer_id=case.customer_id), limit=11
        )
        other = [c for c in page.items if c.number != case.number][:10]
    context.update(
        {
            "other_cases": other,
            "calls": console_features.phone_calls(ctx, cases.ticket_id(ctx.config, case.number)),
            "staff": console_queries.assignable_staff(ctx.db),
            "teams": users.list_teams(ctx.db),
            "categories": ctx.config.cases.categories,
            "field_defs": ctx.config.cases.fields,
            "responses": responses.for_case(ctx.config, case, agent_name=who.user.name),
            "error_for": error_for,
            "error": error,
            "form": form or {},
            "nav": "queue",
        }
    )
    return render(request, "console/case.html", context, status_code=status_code)


@router.get("/console/cases/{ref}")
def case_view(ref: str, request: Request, who: StaffSession = Depends(console_user)) -> Response:
    case = _case(request, ref)
    canonical = cases.ticket_id(ctx_of(request).config, case.number)
    if ref != canonical:
        return redirect(f"/console/cases/{canonical}", 307)
    return render_case(request, who, case)


@router.get("/console/cases/{ref}/live")
def case_live(
    ref: str,
    request: Request,
    v: int = 0,
    s: str = "",
    who: StaffSession = Depends(console_user),
) -> Response:
    """204 while the case is unchanged; otherwise the fresh live parts (htmx out-of-band)."""
    ctx = ctx_of(request)
    number = cases.case_number(ctx.config, ref)
    if console_queries.case_version(ctx.db, number) == v:
        return Response(status_code=204)
    case = _case(request, ref)
    context = live_context(request, who, case)
    context["status_changed"] = s != case.status
    html = render_fragment(request, "console/_case_live.html", context)
    return Response(html, media_type="text/html")


def _back(request: Request, case: Case, anchor: str = "") -> Response:
    return redirect(_url(request, case) + (f"#{anchor}" if anchor else ""))


@router.post("/console/cases/{ref}/messages")
async def post_message(
    ref: str,
    request: Request,
    who: StaffSession = Depends(console_user),
    form: FormData = Depends(form_data),
) -> Response:
    from starlette.concurrency import run_in_threadpool

    visibility = text(form, "visibility", "public")
    try:
        files = await forms.attachments(form)
    except DomainError as exc:
        case = await run_in_threadpool(_case, request, ref)
        return await run_in_threadpool(
            render_case,
            request,
            who,
            case,
            status_code=422,
            error_for="message",
            error=exc.detail,
            form=form,
        )
    return await run_in_threadpool(_add_message, request, who, ref, form, visibility, files)


def _add_message(
    request: Request,
    who: StaffSession,
    ref: str,
    form: FormData,
    visibility: str,
    files: list[messages.NewAttachment],
) -> Response:
    ctx = ctx_of(request)
    case = _case(request, ref)
    message = NewMessage(body=text(form, "body"), visibility=visibility, attachments=files)
    try:
        cases.add_message(
            ctx.db,
            ctx.config,
            case.number,
            message=message,
            actor=who.actor,
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return render_case(
            request,
            who,
            case,
            status_code=exc.status,
            error_for="message",
            error=exc.detail,
            form=form,
        )
    done = "Reply sent." if visibility == "public" else "Note added."
    return flash(_back(request, case, "latest"), request, done)


@router.post("/console/cases/{ref}/transition")
def post_transition(
    ref: str,
    request: Request,
    who: StaffSession = Depends(console_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    case = _case(request, ref)
    to = text(form, "to")
    move = TransitionRequest(
        optional(form, "reason_code"), optional(form, "reason"), optional(form, "resolution")
    )
    try:
        case = cases.transition_case(
            ctx.db, ctx.config, case.number, to, move, actor=who.actor, now=ctx.clock.now()
        )
    except DomainError as exc:
        return render_case(
            request,
            who,
            case,
            status_code=exc.status,
            error_for=f"transition:{to}",
            error=exc.detail,
            form=form,
        )
    name = ctx.config.lifecycle.status(case.status).name
    return flash(_back(request, case), request, f"Moved to {name}.")


def field_changes(request: Request, form: FormData) -> dict[str, Any]:
    """The fields the agent changed on the form (compared with the values it was rendered
    with), so saving never reverts what someone else changed meanwhile."""
    config = ctx_of(request).config
    changes: dict[str, Any] = {}
    for name in ("assignee", "team", "priority", "category", "tags"):
        if name not in form:
            continue
        new, orig = text(form, name), text(form, f"orig_{name}")
        if new == orig:
            continue
        if name == "tags":
            changes[name] = forms.tags(new)
        elif name == "assignee":
            changes[name] = int(new) if new.isdigit() else None
        elif name == "priority":
            changes[name] = new
        else:
            changes[name] = new or None
    custom = forms.custom_fields(config, form, only_changed=True)
    if custom:
        changes["custom_fields"] = custom
    return changes


@router.post("/console/cases/{ref}/fields")
def post_fields(
    ref: str,
    request: Request,
    who: StaffSession = Depends(console_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    case = _case(request, ref)
    try:
        changes = field_changes(request, form)
        if changes:
            case = cases.update_case(
                ctx.db, ctx.config, case.number, changes, actor=who.actor, now=ctx.clock.now()
            )
    except DomainError as exc:
        return render_case(
            request,
            who,
            case,
            status_code=exc.status,
            error_for="fields",
            error=exc.detail,
            form=form,
        )
    message = "Saved." if changes else "Nothing to save: no field was changed."
    return flash(_back(request, case), request, message, "ok" if changes else "info")


@router.post("/console/cases/{ref}/take")
def take(ref: str, request: Request, who: StaffSession = Depends(console_user)) -> Response:
    """Assign the case to the signed-in agent."""
    ctx = ctx_of(request)
    case = _case(request, ref)
    cases.update_case(
        ctx.db,
        ctx.config,
        case.number,
        {"assignee": who.user.id},
        actor=who.actor,
        now=ctx.clock.now(),
    )
    return flash(_back(request, case), request, "Assigned to you.")


@router.get("/console/attachments/{attachment_id}")
def download(
    attachment_id: int, request: Request, who: StaffSession = Depends(console_user)
) -> Response:
    """An attachment's bytes, always as a download (never rendered by the browser)."""
    found = console_queries.attachment(ctx_of(request).db, attachment_id)
    if found is None or found.content is None:
        raise NotFound("no such attachment, or its content was over the size limit")
    return attachment_response(found.filename, found.content)
