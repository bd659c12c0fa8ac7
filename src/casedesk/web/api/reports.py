"""``/api/v1/reports``: report figures as JSON or CSV (leads and admins).

JSON by default; ``Accept: text/csv`` (or ``?format=csv``) returns one table of the report as
CSV: ``?table=`` names it, the report's first table otherwise, and the ``X-Report-Tables``
header lists them all. Every report takes the same period and slice filters (see
``services.reports_common.ReportQuery``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from casedesk.context import Context
from casedesk.services import reports
from casedesk.web.api import search
from casedesk.web.deps import Principal, context, leads
from casedesk.web.report_params import report_query, respond

router = APIRouter()
router.include_router(search.router)
api = APIRouter(prefix="/api/v1/reports", tags=["reports"])

Ctx = Annotated[Context, Depends(context)]
Lead = Annotated[Principal, Depends(leads)]


@api.get("")
def index(ctx: Ctx, who: Lead) -> dict[str, object]:
    """The reports there are, with their tables and the filters they take."""
    return {
        "reports": [
            {
                "name": r.name,
                "title": r.title,
                "tables": list(r.tables),
                "url": f"{api.prefix}/{r.name}",
            }
            for r in reports.REPORTS.values()
        ],
        "filters": list(reports.FILTERS),
    }


@api.get("/{name}")
def report(name: str, request: Request, ctx: Ctx, who: Lead) -> Response:
    """One report for the period and slice in the query string."""
    query = report_query(ctx, request.query_params)
    return respond(request, reports.run(ctx, name, query))


router.include_router(api)
