"""``/api/v1/cases/{id}/sla``: the SLA ledger of a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from casedesk.context import Context
from casedesk.services import cases, sla
from casedesk.web.deps import Principal, context, staff
from casedesk.web.schemas_ops import SlaLedgerOut

router = APIRouter(prefix="/api/v1/cases", tags=["sla"])


@router.get("/{ticket_id}/sla", response_model=SlaLedgerOut)
def case_sla(
    ticket_id: str,
    ctx: Annotated[Context, Depends(context)],
    _: Annotated[Principal, Depends(staff)],
) -> SlaLedgerOut:
    """Every SLA clock of the case: target, due time, running and paused segments (with the
    status that paused them), warnings, breach and escalations fired, and policy changes."""
    number = cases.get_case(ctx.db, ctx.config, ticket_id).number
    return SlaLedgerOut.model_validate(
        {"case_id": cases.ticket_id(ctx.config, number), "clocks": sla.ledger_of(ctx, number)}
    )
