"""``/api/v1/channels/email``: the signed inbound webhook and the quarantine (admins).

``POST /inbound`` takes one raw MIME message as the body (``message/rfc822``,
``application/octet-stream`` or ``text/plain``), authenticated as ``channels.email.webhook``
describes, and answers what became of it. ``GET /quarantine`` lists held messages,
``GET /quarantine/{qid}/raw`` returns one's bytes, ``POST /quarantine/{qid}/reprocess`` runs it
through the intake again.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from casedesk.channels.email import quarantine, webhook
from casedesk.channels.email.inbound import Received, TemporaryFailure, take
from casedesk.config_email import email_settings
from casedesk.context import Context
from casedesk.services.case_rows import ticket_id
from casedesk.web.deps import Principal, admins, context, json_response, read_body
from casedesk.web.problems import problem

router = APIRouter(prefix="/api/v1/channels/email", tags=["channels"])
Ctx = Annotated[Context, Depends(context)]
Admin = Annotated[Principal, Depends(admins)]
MIME_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")


class IntakeOut(BaseModel):
    outcome: str  # created | threaded | followup | duplicate | noise_recorded | quarantined
    case: str | None = None
    message_id: str | None = None  # the e-mail's Message-ID
    quarantine_id: int | None = None
    reason: str | None = None


class QuarantineOut(BaseModel):
    id: int
    received_at: datetime
    source: str
    kind: str
    reason: str
    sender: str
    subject: str
    message_id: str | None
    size: int
    status: str
    attempts: int
    reprocessed_at: datetime | None
    outcome: str | None
    case: str | None


class QuarantineList(BaseModel):
    items: list[QuarantineOut]
    next_before: int | None  # pass as ``before`` for the next (older) page


def _out(ctx: Context, result: Received) -> IntakeOut:
    return IntakeOut(
        outcome=result.outcome,
        case=ticket_id(ctx.config, result.case_number) if result.case_number else None,
        message_id=result.email_id,
        quarantine_id=result.quarantine_id,
        reason=result.reason,
    )


@router.post("/inbound", response_model=IntakeOut)
async def inbound_email(request: Request, ctx: Ctx) -> Response:
    """One raw MIME message from a mail provider, signed with the shared secret."""
    settings = email_settings(ctx.config)
    where = request.url.path
    if settings.webhook is None:
        return problem(
            404,
            "Not found",
            "the inbound e-mail webhook is not enabled ([email] inbound_webhook)",
            instance=where,
        )
    secret = os.environ.get(settings.webhook.secret_env, "")
    if not secret:
        return problem(
            503,
            "Not configured",
            f"the webhook secret variable {settings.webhook.secret_env} is not set",
            instance=where,
        )
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in MIME_TYPES:
        return problem(
            415,
            "Unsupported media type",
            f"send the raw message as {' or '.join(MIME_TYPES)}",
            instance=where,
        )
    body = await read_body(request, settings.max_message_bytes * 2)
    if body is None:
        return problem(
            413,
            "Content too large",
            f"a message may have at most {settings.max_message_bytes} bytes",
            instance=where,
        )
    now = ctx.clock.now()
    try:
        digest = webhook.verify(
            settings.webhook,
            secret,
            body=body,
            now=now,
            timestamp=request.headers.get(webhook.TIMESTAMP_HEADER),
            signature=request.headers.get(webhook.SIGNATURE_HEADER),
        )
        await run_in_threadpool(webhook.check_not_seen, ctx.db, digest)
    except webhook.Refused as exc:
        title = "Forbidden" if exc.status == 403 else "Replayed request"
        return problem(exc.status, title, exc.detail, instance=where)
    try:
        result = await run_in_threadpool(take, ctx, body, source="webhook")
    except TemporaryFailure as exc:
        response = problem(503, "Service unavailable", str(exc), instance=where)
        response.headers["Retry-After"] = "60"
        return response
    await run_in_threadpool(webhook.remember, ctx.db, digest, settings.webhook, now=now)
    return json_response(_out(ctx, result))


@router.get("/quarantine", response_model=QuarantineList)
def list_quarantine(
    ctx: Ctx,
    _: Admin,
    status: Literal["held", "reprocessed", "all"] = "held",
    kind: Annotated[str | None, Query(description=", ".join(quarantine.KINDS))] = None,
    before: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Quarantined messages, newest first, without their bytes."""
    items = quarantine.list_quarantined(
        ctx.db, limit=limit, status=None if status == "all" else status, kind=kind, before=before
    )
    out = [
        QuarantineOut(
            **{k: v for k, v in vars(i).items() if k != "case_number"},
            case=ticket_id(ctx.config, i.case_number) if i.case_number else None,
        )
        for i in items
    ]
    next_before = items[-1].id if len(items) == limit else None
    return json_response(QuarantineList(items=out, next_before=next_before))


@router.get("/quarantine/{qid}/raw")
def quarantined_raw(qid: int, ctx: Ctx, _: Admin) -> Response:
    """The message's bytes as received (``message/rfc822``)."""
    raw = quarantine.raw_message(ctx.db, qid)
    headers = {"Content-Disposition": f'attachment; filename="quarantine-{qid}.eml"'}
    return Response(raw, media_type="message/rfc822", headers=headers)


@router.post("/quarantine/{qid}/reprocess", response_model=IntakeOut)
def reprocess_quarantined(qid: int, ctx: Ctx, admin: Admin) -> Response:
    """Run a held message through the intake again (409 when it is still refused)."""
    try:
        result = quarantine.reprocess(ctx, qid, actor=admin.actor)
    except TemporaryFailure as exc:
        return problem(503, "Service unavailable", str(exc), instance=f"/quarantine/{qid}")
    return json_response(_out(ctx, result))
