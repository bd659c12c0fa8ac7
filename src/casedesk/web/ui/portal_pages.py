"""The portal's pages for a signed-in customer: their requests, one request with its public
messages, a new request, replies, accepting a resolution or reopening, attachments, account.

Each route calls one function of ``channels.portal_cases`` with the signed-in customer, which
answers "no such case" for anyone else's case; domain errors are shown on the page with what
was typed kept. Forms carry a one-time ``submission_id`` so a resend stores nothing twice.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from casedesk.channels import portal, portal_cases
from casedesk.config_channels import portal_settings
from casedesk.domain.errors import DomainError
from casedesk.services.case_rows import ticket_id
from casedesk.services.messages import NewAttachment
from casedesk.web.downloads import attachment_response
from casedesk.web.ui.forms import form_data, text
from casedesk.web.ui.pages import ctx_of, flash, redirect
from casedesk.web.ui.portal_session import PortalSession, customer_page, error_page, page
from casedesk.web.uploads import read_uploads

MAX_FORM_OVERHEAD = 2 * 1024 * 1024  # the text fields of a form, beyond its files


async def body_limit(request: Request) -> None:
    """Refuse an upload larger than the configured attachments allow, before reading it."""
    if request.method != "POST":
        return
    limits = portal_settings(ctx_of(request).config)
    most = limits.max_attachments * limits.max_attachment_bytes + MAX_FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > most:
        raise HTTPException(
            413,
            f"That is too much to upload at once: at most {limits.max_attachments} files of "
            f"{limits.max_attachment_bytes // 1024} KiB each.",
        )


router = APIRouter()  # included by ``portal``, whose dependencies check size, CSRF and sign-in
Customer = PortalSession


async def uploads(request: Request, form: FormData) -> list[NewAttachment]:
    """The files of a form, each read only up to the configured limit."""
    limits = portal_settings(ctx_of(request).config)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    return await read_uploads(
        files, max_files=limits.max_attachments, max_bytes=limits.max_attachment_bytes
    )


@router.get("/portal")
def my_requests(
    request: Request, before: int | None = None, who: Customer = Depends(customer_page)
) -> Response:
    ctx = ctx_of(request)
    found, more = portal_cases.my_cases(ctx.db, who.customer, before=before)
    return page(request, "cases.html", {"cases": found, "more": more, "nav": "cases"})


def _new_form(
    request: Request,
    form: FormData | dict[str, str],
    error: str = "",
    field: str = "",
    status: int = 200,
) -> Response:
    ctx = ctx_of(request)
    limits = portal_settings(ctx.config)
    return page(
        request,
        "new_case.html",
        {
            "form": form,
            "error": error,
            "error_field": field,
            "categories": ctx.config.cases.categories,
            "submission_id": text(form, "submission_id") or portal_cases.new_submission_id(),
            "max_files": limits.max_attachments,
            "max_kib": limits.max_attachment_bytes // 1024,
            "nav": "new",
        },
        status_code=status,
    )


@router.get("/portal/cases/new")
def new_request_form(request: Request, who: Customer = Depends(customer_page)) -> Response:
    return _new_form(request, {})


@router.post("/portal/cases/new")
async def new_request(
    request: Request, who: Customer = Depends(customer_page), form: FormData = Depends(form_data)
) -> Response:
    ctx = ctx_of(request)
    try:
        files = await uploads(request, form)
        number = portal_cases.submit(
            ctx.db,
            ctx.config,
            who.customer,
            subject=text(form, "subject"),
            description=text(form, "description"),
            category=text(form, "category") or None,
            attachments=files,
            submission_id=text(form, "submission_id"),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return _new_form(request, form, exc.detail, str(exc.extra.get("field", "")), exc.status)
    tid = ticket_id(ctx.config, number)
    return flash(redirect(f"/portal/cases/{tid}"), request, f"Thank you. Your request is {tid}.")


def _case_page(
    request: Request,
    who: Customer,
    ref: str,
    form: FormData | dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    ctx = ctx_of(request)
    try:
        view = portal_cases.my_case(ctx.db, ctx.config, who.customer, ref)
    except DomainError as exc:
        return error_page(request, exc)
    return page(
        request,
        "case.html",
        {
            "case": view.case,
            "view": view,
            "form": form or {},
            "error": error,
            "submission_id": portal_cases.new_submission_id(),
            "nav": "cases",
        },
        status_code=status,
    )


@router.get("/portal/cases/{ref}")
def show_request(request: Request, ref: str, who: Customer = Depends(customer_page)) -> Response:
    return _case_page(request, who, ref)


@router.post("/portal/cases/{ref}/reply")
async def reply(
    request: Request,
    ref: str,
    who: Customer = Depends(customer_page),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    try:
        files = await uploads(request, form)
        result = portal_cases.reply(
            ctx.db,
            ctx.config,
            who.customer,
            ref,
            body=text(form, "body"),
            attachments=files,
            submission_id=text(form, "submission_id"),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        if exc.status == 404:
            return error_page(request, exc)
        return _case_page(request, who, ref, form, exc.detail, exc.status)
    assert result.case_number is not None
    tid = ticket_id(ctx.config, result.case_number)
    note = "Your reply was sent."
    if result.outcome == "followup":
        note = f"That request was closed, so we opened {tid} for your message."
    return flash(redirect(f"/portal/cases/{tid}"), request, note)


@router.post("/portal/cases/{ref}/accept")
def accept(request: Request, ref: str, who: Customer = Depends(customer_page)) -> Response:
    ctx = ctx_of(request)
    try:
        case = portal_cases.accept(ctx.db, ctx.config, who.customer, ref, now=ctx.clock.now())
    except DomainError as exc:
        return error_page(request, exc)
    tid = ticket_id(ctx.config, case.number)
    return flash(redirect(f"/portal/cases/{tid}"), request, f"Thank you. {tid} is closed.")


@router.post("/portal/cases/{ref}/reopen")
def reopen(
    request: Request,
    ref: str,
    who: Customer = Depends(customer_page),
    form: FormData = Depends(form_data),
) -> Response:
    ctx = ctx_of(request)
    try:
        case = portal_cases.reopen(
            ctx.db,
            ctx.config,
            who.customer,
            ref,
            comment=text(form, "comment"),
            submission_id=text(form, "submission_id"),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return error_page(request, exc)
    tid = ticket_id(ctx.config, case.number)
    return flash(
        redirect(f"/portal/cases/{tid}"), request, f"{tid} is open again; tell us more below."
    )


@router.get("/portal/cases/{ref}/attachments/{attachment_id}")
def download(
    request: Request, ref: str, attachment_id: int, who: Customer = Depends(customer_page)
) -> Response:
    ctx = ctx_of(request)
    try:
        found = portal_cases.attachment(ctx.db, ctx.config, who.customer, ref, attachment_id)
    except DomainError as exc:
        return error_page(request, exc)
    return attachment_response(found.filename, found.content or b"")


@router.get("/portal/account")
def account(request: Request, who: Customer = Depends(customer_page)) -> Response:
    ctx = ctx_of(request)
    has = portal.has_password(ctx.db, who.customer.id)
    return page(request, "account.html", {"has_password": has, "error": "", "nav": "account"})


@router.post("/portal/account/password")
def set_password(
    request: Request, who: Customer = Depends(customer_page), form: FormData = Depends(form_data)
) -> Response:
    ctx = ctx_of(request)
    password = form.get("password")
    try:
        portal.set_password(
            ctx.db, who.customer, password if isinstance(password, str) else "", now=ctx.clock.now()
        )
    except DomainError as exc:
        has = portal.has_password(ctx.db, who.customer.id)
        return page(
            request,
            "account.html",
            {"has_password": has, "error": exc.detail, "nav": "account"},
            status_code=exc.status,
        )
    return flash(redirect("/portal/account"), request, "Your password is saved.")
