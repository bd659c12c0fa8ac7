"""Reports for leads and admins: the registry of report builders and the query they take.

Each report is a module ``reports_<name>.py`` with ``TITLE``, ``TABLES`` and
``build(ctx, query) -> Report``; figures are aggregated in SQL (see ``reports_common``). The web
layer turns a ``Report`` into JSON or one of its tables into CSV (``web/report_params.py``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import ModuleType
from typing import Any

from casedesk.context import Context
from casedesk.domain.errors import InvalidInput, NotFound
from casedesk.services import (
    reports_backlog,
    reports_bottlenecks,
    reports_patterns,
    reports_sla,
    reports_timelines,
)
from casedesk.services.reports_common import (
    FILTERS,
    SLICES,
    Report,
    ReportQuery,
    Table,
    default_period,
)

__all__ = ["FILTERS", "REPORTS", "Report", "ReportQuery", "Table", "parse_query", "run"]


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    tables: tuple[str, ...]
    build: Callable[[Context, ReportQuery], Report]


def _spec(name: str, module: ModuleType) -> ReportSpec:
    return ReportSpec(name, module.TITLE, tuple(module.TABLES), module.build)


REPORTS: dict[str, ReportSpec] = {
    "timelines": _spec("timelines", reports_timelines),
    "bottlenecks": _spec("bottlenecks", reports_bottlenecks),
    "sla": _spec("sla", reports_sla),
    "backlog": _spec("backlog", reports_backlog),
    "patterns": _spec("patterns", reports_patterns),
}


def _instant(value: str, field: str, *, end: bool) -> datetime:
    """An ISO date or date-time; a bare date as ``until`` means the end of that day."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"{field} must be a date (2026-01-31) or an ISO date-time, not {value!r}", field=field
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_query(params: Mapping[str, str], *, now: datetime) -> ReportQuery:
    """A ``ReportQuery`` from query-string parameters; the period defaults to the last 30 days."""
    unknown = set(params) - set(FILTERS) - {"format"}
    if unknown:
        raise InvalidInput(
            f"unknown parameter {sorted(unknown)[0]!r}; reports take {', '.join(FILTERS)}",
            field=sorted(unknown)[0],
        )
    since, until = default_period(now)
    if params.get("until"):
        until = _instant(params["until"], "until", end=True)
    if params.get("since"):
        since = _instant(params["since"], "since", end=False)
    elif params.get("until"):
        since = until - (now - default_period(now)[0])
    values: dict[str, Any] = {k: params[k] for k in SLICES if params.get(k)}
    return ReportQuery(
        since=since,
        until=until,
        now=now,
        by=params.get("by") or None,
        interval=params.get("interval") or "day",
        calendar=params.get("calendar") or None,
        **values,
    )


def run(ctx: Context, name: str, query: ReportQuery) -> Report:
    spec = REPORTS.get(name)
    if spec is None:
        raise NotFound(f"no report {name!r}; reports: {', '.join(REPORTS)}")
    return spec.build(ctx, query)


def to_json(report: Report) -> dict[str, Any]:
    q = report.query
    return {
        "report": report.name,
        "title": report.title,
        "period": {"since": q.since.isoformat(), "until": q.until.isoformat()},
        "generated_at": q.now.isoformat(),
        "filters": q.filters,
        "by": q.by,
        "interval": q.interval,
        "summary": report.summary,
        "notes": report.notes,
        "tables": {
            name: {
                "title": t.title,
                "columns": t.columns,
                "rows": t.as_dicts(),
                "chart": t.chart,
                "units": t.units,
            }
            for name, t in report.tables.items()
        },
    }


def table_of(report: Report, name: str | None) -> Table:
    if not name:
        return next(iter(report.tables.values()))
    if name not in report.tables:
        raise InvalidInput(
            f"report {report.name} has no table {name!r}; tables: {', '.join(report.tables)}",
            field="table",
        )
    return report.tables[name]


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None else _csv_value(v) for v in row])
    return out.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # a spreadsheet must not run customer text as a formula
    return value
