"""``GET /api/v1/attachments/{id}``: the bytes of an attachment for staff, as a download."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from casedesk.context import Context
from casedesk.domain.errors import NotFound
from casedesk.services import console_queries
from casedesk.web.deps import Principal, context, staff
from casedesk.web.downloads import attachment_response

router = APIRouter(prefix="/api/v1/attachments", tags=["cases"])


@router.get("/{attachment_id}", response_class=Response)
def download(
    attachment_id: int,
    ctx: Annotated[Context, Depends(context)],
    who: Annotated[Principal, Depends(staff)],
) -> Response:
    """An attachment of any message (staff see internal notes too); 404 when it does not exist
    or its content was over the size limit when it arrived (only its name and size were kept)."""
    found = console_queries.attachment(ctx.db, attachment_id)
    if found is None or found.content is None:
        raise NotFound(f"no attachment {attachment_id} with content")
    return attachment_response(found.filename, found.content)
