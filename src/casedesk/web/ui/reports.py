"""``/reports``: report pages with charts for leads and admins (signed in to the console).

Each report page shows its filter form and, for every table of the report, a chart drawn by
the vendored Chart.js from the table beside it (``static/reports/reports.js`` reads the
numbers from the cells) and a CSV link carrying the same filters. The figures come from the
same ``services.reports`` as ``/api/v1/reports``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from casedesk.domain import case_fields
from casedesk.domain.errors import NotFound
from casedesk.services import reports, users
from casedesk.services.reports_calendar import calendars
from casedesk.services.reports_common import SLICES
from casedesk.web.report_params import csv_response, report_query
from casedesk.web.ui import errors as page_errors
from casedesk.web.ui.auth import StaffSession, staff_page
from casedesk.web.ui.pages import ctx_of, duration_text, render

lead_page = staff_page("admin", "lead")
if "/reports" not in page_errors.PAGE_PREFIXES:  # HTML error pages, not problem+json
    page_errors.PAGE_PREFIXES.append("/reports")
router = APIRouter(dependencies=[Depends(lead_page)], include_in_schema=False)

PAGE_PARAMS = ("since", "until", *SLICES, "by", "interval", "calendar")


def _params(request: Request) -> dict[str, str]:
    return {k: v for k in PAGE_PARAMS if (v := request.query_params.get(k, "").strip())}


def _choices(request: Request) -> dict[str, Any]:
    ctx = ctx_of(request)
    return {
        "teams": [t.name for t in users.list_teams(ctx.db)],
        "channels": list(case_fields.CHANNELS),
        "priorities": list(case_fields.PRIORITIES),
        "categories": list(ctx.config.cases.categories),
        "calendars": sorted(calendars(ctx.config)),
        "slices": list(SLICES),
    }


def cell(value: Any, units: str, column: str) -> str:
    """A cell as people read it: durations in days/hours/minutes, rates in percent."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else ""
    if units == "seconds" and column.endswith("_s") and isinstance(value, (int, float)):
        return duration_text(value)
    if column == "reopen_rate" and isinstance(value, float):
        return f"{value * 100:.1f}%"
    return str(value)


@router.get("/reports")
def index(request: Request, who: StaffSession = Depends(lead_page)) -> Response:
    return render(
        request,
        "reports/index.html",
        {"nav": "reports", "reports": list(reports.REPORTS.values()), "params": _params(request)},
    )


@router.get("/reports/{name}.csv")
def report_csv(name: str, request: Request, who: StaffSession = Depends(lead_page)) -> Response:
    report = _run(request, name)
    return csv_response(report, request.query_params.get("table"))


@router.get("/reports/{name}")
def report_page(name: str, request: Request, who: StaffSession = Depends(lead_page)) -> Response:
    report = _run(request, name)
    params = _params(request)
    return render(
        request,
        "reports/report.html",
        {
            "nav": "reports",
            "report": report,
            "reports": list(reports.REPORTS.values()),
            "params": params,
            "choices": _choices(request),
            "csv_url": lambda table: (
                f"/reports/{name}.csv?" + urlencode({**params, "table": table})
            ),
            "api_url": f"/api/v1/reports/{name}?" + urlencode(params),
            "cell": cell,
        },
    )


def _run(request: Request, name: str) -> reports.Report:
    if name not in reports.REPORTS:
        raise NotFound(f"no report {name!r}")
    ctx = ctx_of(request)
    return reports.run(ctx, name, report_query(ctx, _params(request)))
