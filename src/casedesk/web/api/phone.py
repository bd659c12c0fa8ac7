"""``/api/v1/channels/phone``: the Twilio voice webhook and calls logged by agents.

``POST /twilio`` takes Twilio's form-encoded status callback, checks ``X-Twilio-Signature``
against the auth token in the environment variable named by ``[phone.twilio]
auth_token_env`` before anything else, and answers empty TwiML. ``POST /calls`` logs a call by
hand (staff), ``GET /calls?ticket_id=`` lists a case's call log.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from casedesk.channels import phone, phone_twilio
from casedesk.config_channels import phone_settings
from casedesk.context import Context
from casedesk.db.contact_tables import PhoneCall
from casedesk.domain.errors import DomainError
from casedesk.services.case_rows import ticket_id
from casedesk.services.customers import CustomerInput
from casedesk.web.deps import Principal, context, json_response, read_body, staff
from casedesk.web.problems import problem
from casedesk.web.schemas import CustomerIn, _In

router = APIRouter(prefix="/api/v1/channels/phone", tags=["channels"])
Ctx = Annotated[Context, Depends(context)]
Staff = Annotated[Principal, Depends(staff)]
MAX_WEBHOOK_BYTES = 64 * 1024  # Twilio's callbacks are a few hundred bytes
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _urls(request: Request, ctx: Context, configured: str | None) -> list[str]:
    """The URLs Twilio may have signed: the configured public one, else this request's URL
    as seen here and as seen through ``CASEDESK_BASE_URL`` (behind a proxy)."""
    query = f"?{request.url.query}" if request.url.query else ""
    if configured:
        return [configured if "?" in configured else configured + query]
    base = ctx.settings.base_url.rstrip("/")
    return [str(request.url), f"{base}{request.url.path}{query}"]


@router.post("/twilio", response_class=Response)
async def twilio_webhook(request: Request, ctx: Ctx) -> Response:
    """Twilio's voice status callback: a finished call becomes (or joins) a case."""
    where = request.url.path
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return problem(
            415,
            "Unsupported media type",
            "send the callback as application/x-www-form-urlencoded, as Twilio does",
            instance=where,
        )
    body = await read_body(request, MAX_WEBHOOK_BYTES)
    if body is None:
        return problem(
            413, "Content too large", f"at most {MAX_WEBHOOK_BYTES} bytes", instance=where
        )
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return problem(400, "Bad request", "the form is not valid UTF-8", instance=where)
    settings = phone_settings(ctx.config)
    token = os.environ.get(settings.auth_token_env, "")
    if not token:
        return problem(
            503,
            "Phone channel not configured",
            f"set the Twilio auth token in {settings.auth_token_env} ([phone.twilio] "
            "auth_token_env) to accept calls",
            instance=where,
        )
    sent = request.headers.get(phone_twilio.HEADER)
    urls = _urls(request, ctx, settings.webhook_url)
    if not phone_twilio.valid(token, urls, params, sent):
        detail = (
            "X-Twilio-Signature is missing"
            if not sent
            else "X-Twilio-Signature does not match this request; check the auth token and "
            "[phone.twilio] webhook_url"
        )
        return problem(403, "Forbidden", detail, instance=where)
    try:
        facts = phone.twilio_facts(dict(params))
        result = await run_in_threadpool(phone.receive_twilio, ctx, facts)
    except DomainError as exc:
        return problem(exc.status, exc.title, exc.detail, instance=where, **exc.extra)
    headers = {"X-Casedesk-Outcome": result.outcome}
    if result.case_number is not None:
        headers["X-Casedesk-Case"] = ticket_id(ctx.config, result.case_number)
    return Response(TWIML, 200, headers, media_type="application/xml")


class CallIn(_In):
    ticket_id: str | None = Field(default=None, description="Add the call to this case")
    number: str = Field(min_length=1, max_length=40, description="The customer's number")
    direction: Literal["inbound", "outbound"] = "inbound"
    duration_seconds: int | None = Field(default=None, ge=0, le=86_400)
    notes: str = Field(default="", max_length=20_000)
    recording_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://\S+$")
    transcript: str | None = Field(default=None, max_length=100_000)
    visibility: Literal["public", "internal"] = "internal"
    subject: str | None = Field(default=None, max_length=300, description="For a new case")
    customer: CustomerIn | None = Field(default=None, description="For a new case")
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    category: str | None = Field(default=None, max_length=100)


class CallOut(BaseModel):
    id: int
    case_id: str
    message_id: int | None
    source: str
    direction: str
    number: str
    status: str
    duration_seconds: int | None
    recording_url: str | None
    transcript: str | None
    notes: str
    call_sid: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: PhoneCall, ctx: Context) -> CallOut:
        return cls(
            id=row.id,
            case_id=ticket_id(ctx.config, row.case_number),
            message_id=row.message_id,
            source=row.source,
            direction=row.direction,
            number=row.number,
            status=row.status,
            duration_seconds=row.duration_seconds,
            recording_url=row.recording_url,
            transcript=row.transcript,
            notes=row.notes,
            call_sid=row.call_sid,
            created_at=row.created_at,
        )


class LoggedOut(CallOut):
    created_case: bool


@router.post("/calls", status_code=201, response_model=LoggedOut)
def log_call(
    body: CallIn,
    ctx: Ctx,
    who: Staff,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Log a phone call: on ``ticket_id``'s case, or on a new ``phone`` case. A retry with the
    same ``Idempotency-Key`` returns the first call (200)."""
    facts = phone.CallFacts(
        direction=body.direction,
        number=body.number,
        duration_seconds=body.duration_seconds,
        recording_url=body.recording_url,
        transcript=body.transcript,
        notes=body.notes,
    )
    new_case = None
    if body.ticket_id is None:
        customer = CustomerInput(**body.customer.model_dump()) if body.customer else None
        new_case = phone.NewCaseFields(body.subject, customer, body.priority, body.category)
    logged = phone.log_manual(
        ctx,
        facts,
        actor=who.actor,
        ref=body.ticket_id,
        new_case=new_case,
        visibility=body.visibility,
        idempotency_key=idempotency_key,
    )
    out = LoggedOut(**CallOut.of(logged.call, ctx).model_dump(), created_case=logged.created_case)
    return json_response(out, 200 if logged.replayed else 201)


@router.get("/calls", response_model=list[CallOut])
def list_calls(ticket_id: str, ctx: Ctx, who: Staff) -> list[CallOut]:
    """The call log of one case, oldest first."""
    return [CallOut.of(row, ctx) for row in phone.calls_of(ctx, ticket_id)]
