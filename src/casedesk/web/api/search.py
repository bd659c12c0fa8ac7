"""``GET /api/v1/search``: a ticket ID or e-mail jumps to its case or customer; other text
returns the newest matching cases with where they matched.

Included by ``web/api/reports.py`` so the app needs no new router entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from casedesk.context import Context
from casedesk.domain import case_fields
from casedesk.services import search
from casedesk.web.deps import Principal, context, json_response, staff

router = APIRouter(prefix="/api/v1/search", tags=["search"])


class JumpOut(BaseModel):
    kind: str
    id: str
    label: str
    url: str
    console_url: str


class HitOut(BaseModel):
    id: str
    subject: str
    status: str
    priority: str
    channel: str
    customer: str | None
    updated_at: datetime
    matched: list[str]
    snippet: str


class SearchOut(BaseModel):
    query: str
    jump: JumpOut | None
    hits: list[HitOut]


@router.get("", response_model=SearchOut)
def search_cases(
    ctx: Annotated[Context, Depends(context)],
    who: Annotated[Principal, Depends(staff)],
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """``{"jump": {...}}`` for an exact ticket ID or known e-mail; otherwise ``hits``, newest
    first, each naming where it matched: ``case`` (subject/description), ``message`` (a reply
    or internal note) or ``customer`` (name/e-mail)."""
    found = search.search(ctx.db, ctx.config, q, limit=limit)
    jump = JumpOut(**vars(found.jump)) if found.jump else None
    hits = [
        HitOut(
            id=h.ticket_id,
            subject=h.subject,
            status=h.status,
            priority=case_fields.priority_name(h.priority),
            channel=h.channel,
            customer=h.customer,
            updated_at=h.updated_at,
            matched=h.matched,
            snippet=h.snippet,
        )
        for h in found.hits
    ]
    return json_response(SearchOut(query=q, jump=jump, hits=hits))
