"""``/console/cases/new``: a case logged by hand, including a phone call's details.

A phone call becomes a case with channel ``phone``; the caller's number is the customer's
phone. The call itself (number, direction, duration, notes) is stored through the phone
channel's ``log_call`` when that exists, and until then as the case's first internal note, in
the same transaction as the case.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from casedesk.domain.errors import DomainError, InvalidInput
from casedesk.services import cases, console_features, customers, users
from casedesk.services.console_queries import assignable_staff
from casedesk.services.messages import NewMessage
from casedesk.web.ui import csrf, forms
from casedesk.web.ui.auth import StaffSession, console_user
from casedesk.web.ui.forms import form_data, optional, text
from casedesk.web.ui.pages import ctx_of, flash, redirect, render

router = APIRouter(
    dependencies=[Depends(console_user), Depends(csrf.protect)], include_in_schema=False
)
MANUAL_CHANNELS = ("phone", "console", "email", "chat", "portal")


def _form_page(
    request: Request,
    form: FormData | dict[str, str],
    error: str = "",
    field: str = "",
    status: int = 200,
) -> Response:
    ctx = ctx_of(request)
    return render(
        request,
        "console/new_case.html",
        {
            "form": form,
            "error": error,
            "error_field": field,
            "channels": MANUAL_CHANNELS,
            "teams": users.list_teams(ctx.db),
            "staff": assignable_staff(ctx.db),
            "categories": ctx.config.cases.categories,
            "field_defs": ctx.config.cases.fields,
            "nav": "new",
        },
        status_code=status,
    )


@router.get("/console/cases/new")
def new_case_form(
    request: Request, channel: str = "phone", who: StaffSession = Depends(console_user)
) -> Response:
    defaults = {
        "channel": channel if channel in MANUAL_CHANNELS else "phone",
        "priority": "normal",
        "assignee": str(who.user.id),
        "call_direction": "inbound",
    }
    return _form_page(request, defaults)


def _customer(form: FormData) -> customers.CustomerInput | None:
    name, email = optional(form, "customer_name"), optional(form, "customer_email")
    phone = optional(form, "customer_phone")
    if text(form, "channel") == "phone" and not phone:
        phone = optional(form, "call_number")
    if not (name or email or phone):
        return None
    return customers.CustomerInput(name=name, email=email, phone=phone)


def build_case(request: Request, form: FormData) -> tuple[cases.NewCase, forms.CallDetails | None]:
    ctx = ctx_of(request)
    channel = text(form, "channel", "console")
    if channel not in MANUAL_CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(MANUAL_CHANNELS)}", field="channel")
    call = forms.call_details(form) if channel == "phone" else None
    native_call = console_features.lookup("channels.phone", "log_call") is not None
    first = None
    if call is not None and not native_call:
        first = NewMessage(body=call.as_note(), visibility="internal", channel="phone")
    assignee = text(form, "assignee")
    data = cases.NewCase(
        subject=text(form, "subject")[:300],
        description=text(form, "description")[:100_000],
        channel=channel,
        customer=_customer(form),
        priority=text(form, "priority", "normal"),
        category=optional(form, "category"),
        tags=forms.tags(text(form, "tags")),
        custom_fields={
            k: v for k, v in forms.custom_fields(ctx.config, form).items() if v is not None
        },
        team=optional(form, "team"),
        assignee=int(assignee) if assignee.isdigit() else None,
        first_message=first,
    )
    return data, call if native_call else None


@router.post("/console/cases/new")
def create(
    request: Request,
    who: StaffSession = Depends(console_user),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    try:
        data, native_call = build_case(request, form)
        case = cases.create_case(ctx.db, ctx.config, data, actor=who.actor, now=ctx.clock.now())
    except DomainError as exc:
        field = str(exc.extra.get("field", ""))
        return _form_page(request, form, exc.detail, field, status=exc.status)
    tid = cases.ticket_id(ctx.config, case.number)
    response = redirect(f"/console/cases/{tid}")
    if native_call is not None:
        try:
            console_features.log_phone_call(ctx, tid, native_call.as_dict(), who.actor)
        except DomainError as exc:  # the case stands; say what became of the call
            flash(
                response,
                request,
                f"Created {tid}, but the call was not logged: {exc.detail}",
                "error",
            )
            return response
    return flash(response, request, f"Created {tid}.")
