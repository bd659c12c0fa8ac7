"""``/api/v1/cases``: create, list, read, change, transition and message cases."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from casedesk.context import Context
from casedesk.domain.errors import InvalidInput
from casedesk.domain.lifecycle import TransitionRequest
from casedesk.services import audit_queries, case_queries, cases, customers, responses
from casedesk.services.messages import attachments, attachments_by_message
from casedesk.web.deps import Principal, context, json_response, staff
from casedesk.web.schemas import (
    AttachmentIn,
    CaseDetail,
    CaseIn,
    CaseOut,
    CasePage,
    CasePatch,
    EventOut,
    EventPage,
    MessageIn,
    MessageOut,
    ResponseOut,
    TransitionIn,
)
from casedesk.web.uploads import attachment

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
Ctx = Annotated[Context, Depends(context)]
Staff = Annotated[Principal, Depends(staff)]


@router.post("", status_code=201, response_model=CaseOut)
def create_case(
    body: CaseIn,
    ctx: Ctx,
    who: Staff,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Open a case. A retry with the same ``Idempotency-Key`` returns the first case."""
    idem = None
    if idempotency_key:
        fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        idem = cases.Idempotency(f"user:{who.user.id}", idempotency_key, fingerprint)
    data = cases.NewCase(
        **body.model_dump(exclude={"customer"}),
        customer=customers.CustomerInput(**body.customer.model_dump()) if body.customer else None,
    )
    case = cases.create_case(
        ctx.db, ctx.config, data, actor=who.actor, now=ctx.clock.now(), idempotency=idem
    )
    out = CaseOut.of(case, ctx.config)
    return json_response(out, 201, headers={"Location": f"/api/v1/cases/{out.id}"})


@router.get("", response_model=CasePage)
def list_cases(
    ctx: Ctx,
    who: Staff,
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    status_category: Annotated[list[str], Query()] = [],  # noqa: B006
    channel: Annotated[list[str], Query()] = [],  # noqa: B006
    priority: Annotated[list[str], Query()] = [],  # noqa: B006
    assignee: str | None = None,
    team: str | None = None,
    tag: str | None = None,
    category: str | None = None,
    customer_id: int | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: str = "-created",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=case_queries.MAX_LIMIT)] = 50,
) -> Response:
    """The queue, filtered; ``next_cursor`` continues where this page ended."""
    filters = case_queries.CaseFilter(
        status=status,
        status_category=status_category,
        channel=channel,
        priority=priority,
        assignee=assignee,
        team=team,
        tag=tag,
        category=category,
        customer_id=customer_id,
        q=q,
    )
    page = case_queries.list_cases(
        ctx.db, filters, sort=sort, cursor=cursor, limit=limit, me=who.user.id
    )
    return json_response(
        CasePage(
            items=[CaseOut.of(c, ctx.config) for c in page.items], next_cursor=page.next_cursor
        )
    )


def _detail(ctx: Context, who: Principal, ref: str) -> CaseDetail:
    case = cases.get_case(ctx.db, ctx.config, ref)
    base = CaseOut.of(case, ctx.config)
    thread = cases.messages(ctx.db, case.number)
    files = attachments_by_message(ctx.db, [m.id for m in thread])
    return CaseDetail(
        **base.model_dump(),
        messages=[MessageOut.of(m, files.get(m.id, ())) for m in thread],
        allowed_transitions=ctx.config.lifecycle.allowed_targets(
            case.status, who.actor.workflow_role
        ),
    )


@router.get("/{ticket_id}", response_model=CaseDetail)
def get_case(ticket_id: str, ctx: Ctx, who: Staff) -> Response:
    """One case with its messages; the ticket ID is matched in any letter case."""
    return json_response(_detail(ctx, who, ticket_id))


@router.patch("/{ticket_id}", response_model=CaseOut)
def update_case(ticket_id: str, body: CasePatch, ctx: Ctx, who: Staff) -> Response:
    """Change fields; only the fields sent are touched (``null`` clears team or assignee)."""
    changes = body.model_dump(exclude_unset=True)
    case = cases.update_case(
        ctx.db, ctx.config, ticket_id, changes, actor=who.actor, now=ctx.clock.now()
    )
    return json_response(CaseOut.of(case, ctx.config))


@router.post("/{ticket_id}/transitions", response_model=CaseOut)
def transition_case(ticket_id: str, body: TransitionIn, ctx: Ctx, who: Staff) -> Response:
    """Move the case to another status; 409 names the allowed targets, 422 a missing reason."""
    request = TransitionRequest(body.reason_code, body.reason, body.resolution)
    case = cases.transition_case(
        ctx.db, ctx.config, ticket_id, body.to, request, actor=who.actor, now=ctx.clock.now()
    )
    return json_response(CaseOut.of(case, ctx.config))


@router.post("/{ticket_id}/messages", status_code=201, response_model=MessageOut)
def add_message(ticket_id: str, body: MessageIn, ctx: Ctx, who: Staff) -> Response:
    """A public reply to the customer (e-mailed with its attachments when the customer has an
    address) or an internal note. A message needs a body, attachments, or both."""
    files = [_decoded(i, a) for i, a in enumerate(body.attachments)]
    new = cases.NewMessage(body=body.body, visibility=body.visibility, attachments=files)
    message = cases.add_message(
        ctx.db, ctx.config, ticket_id, message=new, actor=who.actor, now=ctx.clock.now()
    )
    return json_response(MessageOut.of(message, attachments(ctx.db, [message.id])), 201)


MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def _decoded(index: int, a: AttachmentIn) -> cases.NewAttachment:
    where = f"attachments[{index}].content_base64"
    try:
        content = base64.b64decode(a.content_base64, validate=True)
    except binascii.Error as exc:
        raise InvalidInput(f"'{a.filename}' is not valid base64: {exc}", field=where) from exc
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(f"'{a.filename}' is larger than 10 MiB", field=where)
    return attachment(a.filename, a.content_type, content)


@router.get("/{ticket_id}/responses", response_model=list[ResponseOut])
def saved_responses(ticket_id: str, ctx: Ctx, who: Staff) -> list[ResponseOut]:
    """The configured saved responses with their placeholders filled for this case and the
    caller (to adapt and send as a message)."""
    case = cases.get_case(ctx.db, ctx.config, ticket_id)
    filled = responses.for_case(ctx.config, case, agent_name=who.user.name)
    return [ResponseOut(id=r.id, name=r.name, visibility=r.visibility, body=r.body) for r in filled]


@router.get("/{ticket_id}/events", response_model=EventPage)
def case_events(
    ticket_id: str,
    ctx: Ctx,
    who: Staff,
    cursor: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> EventPage:
    """The audit trail of one case, oldest first."""
    number = cases.get_case(ctx.db, ctx.config, ticket_id).number
    events, nxt = audit_queries.events(ctx.db, case_number=number, after=cursor, limit=limit)
    return EventPage(
        items=[EventOut.of(e, ctx.config) for e in events], next_cursor=str(nxt) if nxt else None
    )
