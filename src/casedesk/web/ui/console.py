"""``/console``: the agents' unified queue, saved views and bulk actions.

The queue is one keyset page from ``case_queries.list_cases`` (or, when SLA policies exist,
the SLA module's page ordered by due time): no OFFSET, no count over all cases, so the first
page costs the same at a hundred cases and at a million. Bulk actions call the same service
function per case as the single actions on the case page, each in its own transaction, and
report per case what failed.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from casedesk.config import AppConfig
from casedesk.domain.case_fields import CHANNELS
from casedesk.domain.errors import DomainError
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import (
    case_queries,
    cases,
    console_features,
    customers,
    saved_views,
    users,
)
from casedesk.services.console_queries import assignable_staff, customer_by_email
from casedesk.web.ui import case_page, csrf, login, new_case
from casedesk.web.ui.auth import StaffSession, console_user
from casedesk.web.ui.forms import QueueQuery, form_data, optional, queue_query, text, values
from casedesk.web.ui.pages import ctx_of, flash, local_path, redirect, render

queue_router = APIRouter(dependencies=[Depends(console_user), Depends(csrf.protect)])

PAGE_SIZE = 50
MAX_BULK = 200
SORTS = {
    "sla": "SLA due first",
    "-created": "Newest first",
    "created": "Oldest first",
    "-updated": "Recently updated",
    "-priority": "Highest priority",
}


def _sort(query: QueueQuery, sla_available: bool) -> str:
    if query.sort in SORTS and (query.sort != "sla" or sla_available):
        return query.sort
    return "sla" if sla_available else "-created"


def _page(request: Request, who: StaffSession, query: QueueQuery) -> tuple[object, str, str]:
    """The page of cases, the sort used and a notice when a filter could not be applied."""
    ctx = ctx_of(request)
    sla_available = console_features.sla_queue_available(ctx)
    sort = _sort(query, sla_available)
    notice = ""
    customer_id = None
    if query.q and "@" in query.q and " " not in query.q:
        customer = customer_by_email(ctx.db, query.q)
        if customer is not None:
            customer_id = customer.id
            query.q, notice = "", f"Cases of {customer.name or customer.email}"
    if customer_id is None and query.customer_id.isdigit():
        try:
            customer = customers.get(ctx.db, int(query.customer_id))
            notice = f"Cases of {customer.name or customer.email}"
        except DomainError:
            notice = "No such customer."
    f = query.case_filter(ctx.config, customer_id=customer_id)
    cursor = query.cursor or None
    if sort == "sla" or query.sla:
        page = console_features.sla_queue_page(
            ctx, f, sla_state=query.sla or None, cursor=cursor, limit=PAGE_SIZE, me=who.user.id
        )
        if page is not None:
            return page, "sla", notice
        if query.sla:
            notice = "SLA filters need SLA policies; showing cases regardless of SLA state."
        sort = "-created" if sort == "sla" else sort
    page = case_queries.list_cases(
        ctx.db, f, sort=sort, cursor=cursor, limit=PAGE_SIZE, me=who.user.id
    )
    return page, sort, notice


def builtin_views(config: AppConfig) -> list[tuple[str, str, str]]:
    wf = config.lifecycle

    def of(category: str) -> str:
        return "&".join(f"status={s}" for s in wf.ids_in(category))

    return [
        ("mine", "My open cases", "/console?status=unsolved&assignee=me"),
        ("unassigned", "Unassigned", "/console?status=unsolved&assignee=none"),
        ("open", "All open cases", "/console?status=unsolved"),
        ("pending", "On hold", f"/console?{of('pending')}"),
        ("solved", "Solved", f"/console?{of('solved')}"),
        ("all", "All cases", "/console?status=any"),
    ]


def _active_view(request: Request, query: QueueQuery, config: AppConfig) -> str:
    named = text(request.query_params, "view_name")
    if named.isdigit():
        return f"saved:{named}"
    if query.is_default:
        return "open"
    mine = sorted(query.params(sort="", cursor=""))
    for key, _, url in builtin_views(config):
        if sorted(parse_qsl(url.split("?", 1)[1])) == mine:
            return key
    return ""


def bulk_targets(config: AppConfig, role: str) -> list[dict[str, object]]:
    """Statuses the role may move some case to, with what such a move needs."""
    wf = config.lifecycle
    out: dict[str, set[str]] = {}
    for t in wf.transitions:
        if role in t.by:
            out.setdefault(t.target, set()).update(t.requires)
    return [
        {"id": s.id, "name": s.name, "requires": sorted(out[s.id])}
        for s in wf.statuses
        if s.id in out
    ]


@queue_router.get("/console")
def queue(request: Request, who: StaffSession = Depends(console_user)) -> Response:
    ctx = ctx_of(request)
    params = request.query_params
    view_id = text(params, "view")
    if view_id.isdigit():
        view = saved_views.get_view(ctx.db, who.user.id, int(view_id))
        return redirect(f"/console?{view.query or 'status=any'}&view_name={view.id}")
    query = queue_query(params)
    if query.q and not query.cursor:
        jump = _ticket_jump(request, query.q)
        if jump is not None:
            return jump
    active = _active_view(request, query, ctx.config)
    saved = saved_views.list_views(ctx.db, who.user.id)
    page, sort, notice = _page(request, who, query)
    items = page.items  # type: ignore[attr-defined]
    context = {
        "query": query,
        "cases": items,
        "next_cursor": page.next_cursor,  # type: ignore[attr-defined]
        "sort": sort,
        "sorts": SORTS,
        "notice": notice,
        "sla_states": console_features.queue_states(ctx, [c.number for c in items]),
        "sla_available": console_features.sla_queue_available(ctx),
        "channels": CHANNELS,
        "teams": users.list_teams(ctx.db),
        "staff": assignable_staff(ctx.db),
        "workflow": ctx.config.lifecycle,
        "categories": ctx.config.cases.categories,
        "views": saved,
        "current_query": saved_views.clean_query(request.url.query),
        "builtin_views": builtin_views(ctx.config),
        "active_view": active,
        "title": dict((k, label) for k, label, _ in builtin_views(ctx.config)).get(active, "Cases"),
        "bulk_targets": bulk_targets(ctx.config, who.actor.workflow_role),
        "nav": "queue",
    }
    if active.startswith("saved:"):
        views = {str(v.id): v.name for v in saved}
        context["title"] = views.get(active[6:], "Cases")
    if request.headers.get("hx-target") == "queue-results":
        return render(request, "console/_queue_results.html", context)
    return render(request, "console/queue.html", context)


def _ticket_jump(request: Request, q: str) -> Response | None:
    ctx = ctx_of(request)
    try:
        number = cases.case_number(ctx.config, q.strip())
    except DomainError:
        return None
    if not q.strip()[:1].isalpha():
        return None  # a bare number is a search, not a ticket ID
    try:
        case = cases.get_case(ctx.db, ctx.config, number)
    except DomainError:
        return None
    url = f"/console/cases/{cases.ticket_id(ctx.config, case.number)}"
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return redirect(url)


# -- saved views -------------------------------------------------------------------------------


@queue_router.post("/console/views")
def save_view(
    request: Request,
    who: StaffSession = Depends(console_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    try:
        view = saved_views.save_view(
            ctx.db,
            user_id=who.user.id,
            name=text(form, "name"),
            query=text(form, "query"),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return flash(redirect(f"/console?{text(form, 'query')}"), request, exc.detail, "error")
    response = redirect(f"/console?{view.query or 'status=any'}&view_name={view.id}")
    return flash(response, request, f"Saved the view “{view.name}”.")


@queue_router.post("/console/views/{view_id}/delete")
def delete_view(
    view_id: int, request: Request, who: StaffSession = Depends(console_user)
) -> Response:
    ctx = ctx_of(request)
    saved_views.delete_view(ctx.db, user_id=who.user.id, view_id=view_id)
    return flash(redirect("/console"), request, "Deleted the saved view.", "info")


# -- bulk actions ------------------------------------------------------------------------------


def _bulk_one(request: Request, who: StaffSession, form: FormData, number: int) -> None:
    ctx = ctx_of(request)
    action = text(form, "action")
    now = ctx.clock.now()
    if action == "assign":
        assignee = text(form, "assignee")
        assignee_ref: str | int | None = who.user.id if assignee == "me" else (assignee or None)
        cases.update_case(
            ctx.db, ctx.config, number, {"assignee": assignee_ref}, actor=who.actor, now=now
        )
    elif action == "priority":
        cases.update_case(
            ctx.db,
            ctx.config,
            number,
            {"priority": text(form, "priority")},
            actor=who.actor,
            now=now,
        )
    elif action == "transition":
        request_ = TransitionRequest(
            optional(form, "reason_code"), optional(form, "reason"), optional(form, "resolution")
        )
        cases.transition_case(
            ctx.db, ctx.config, number, text(form, "to"), request_, actor=who.actor, now=now
        )
    else:
        raise ValueError(action)


@queue_router.post("/console/bulk")
def bulk(
    request: Request,
    who: StaffSession = Depends(console_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    back = local_path(text(form, "back"), "/console")
    numbers = [int(v) for v in values(form, "case") if v.isdigit()][:MAX_BULK]
    action = text(form, "action")
    if not numbers:
        return flash(redirect(back), request, "Select at least one case first.", "error")
    if action not in ("assign", "priority", "transition"):
        return flash(redirect(back), request, "Choose what to do with the selection.", "error")
    done, failed = 0, []
    for number in numbers:
        try:
            _bulk_one(request, who, form, number)
            done += 1
        except DomainError as exc:
            failed.append(f"{cases.ticket_id(ctx.config, number)}: {exc.detail}")
    response = redirect(back)
    if done:
        flash(response, request, f"Updated {done} case{'s' if done != 1 else ''}.")
    if failed:
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        flash(
            response,
            request,
            f"{len(failed)} not changed — " + "; ".join(failed[:3]) + more,
            "error",
        )
    return response


# Everything under /console: sign-in first (open to anonymous browsers), then the pages that
# need a signed-in staff user (each router checks that before its CSRF check).
router = APIRouter(include_in_schema=False)


@router.get("/")
def home() -> Response:
    """The address ``casedesk serve`` prints: staff land in the console (or its sign-in)."""
    return redirect("/console")


router.include_router(login.router)
router.include_router(queue_router)
router.include_router(new_case.router)  # /console/cases/new before /console/cases/{ref}
router.include_router(case_page.router)
