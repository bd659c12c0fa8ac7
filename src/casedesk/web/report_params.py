"""Reading a report query from a request and answering with JSON or CSV; shared by the API
(``/api/v1/reports``) and the pages (``/reports``)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from fastapi import Request, Response

from casedesk.context import Context
from casedesk.services import reports
from casedesk.services.reports_common import ReportQuery

CSV = "text/csv"


def report_query(ctx: Context, params: Mapping[str, str]) -> ReportQuery:
    return reports.parse_query(dict(params), now=ctx.clock.now())


def wants_csv(request: Request) -> bool:
    if request.query_params.get("format") == "csv":
        return True
    accept = request.headers.get("accept", "")
    return CSV in accept and "application/json" not in accept.split(CSV)[0]


def csv_response(report: reports.Report, table: str | None) -> Response:
    chosen = reports.table_of(report, table)
    filename = (
        f"{report.name}-{chosen.name}-{report.query.since:%Y%m%d}-{report.query.until:%Y%m%d}.csv"
    )
    return Response(
        reports.to_csv(chosen),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Report-Tables": ", ".join(report.tables),
        },
    )


def respond(request: Request, report: reports.Report) -> Response:
    if wants_csv(request):
        return csv_response(report, request.query_params.get("table"))
    body = reports.to_json(report)
    table = request.query_params.get("table")
    if table:
        chosen = reports.table_of(report, table)
        body["tables"] = {chosen.name: body["tables"][chosen.name]}
    return Response(json.dumps(body, default=str), media_type="application/json")
