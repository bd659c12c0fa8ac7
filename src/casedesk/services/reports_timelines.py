"""Resolution timelines: time to first response and to resolution (median and 90th percentile,
in calendar and business time) and created / resolved / closed cases per day or week.

Cohorts, as support tools define them: first response over cases *created* in the period (the
first public reply by staff); resolution over cases *resolved* in the period (created to its
latest resolution, "full resolution time"); volume counts each timestamp in its own bucket.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from casedesk.context import Context
from casedesk.db.tables import Case
from casedesk.services import reports_calendar as cal
from casedesk.services.reports_common import (
    Report,
    ReportQuery,
    Stats,
    Table,
    bucket,
    bucket_labels,
    case_conditions,
    grouped_stats,
    in_period,
    read,
    seconds_between,
    slice_label,
    with_slice,
)

TITLE = "Resolution timelines"
TABLES = ("response_times", "volume")
METRICS = (
    ("first_response", Case.first_response_at, Case.created_at),
    ("resolution", Case.resolved_at, Case.created_at),
)


def build(ctx: Context, q: ReportQuery) -> Report:
    report = Report("timelines", TITLE, q)
    calendar = cal.choose(ctx.config, q.calendar)
    business = not calendar.continuous
    if business:
        cal.ensure_spans(ctx.db, calendar, now=q.now)
    report.summary["calendar"] = calendar.id
    report.add(_response_times(ctx, q, calendar.id if business else None))
    report.add(_volume(ctx, q))
    if not business:
        report.notes.append(
            "No business calendar is configured (or 24x7 was chosen): business time equals "
            "calendar time."
        )
    return report


def _stats(ctx: Context, q: ReportQuery, metric: str, calendar_id: str | None) -> dict[str, Any]:
    """{slice: (calendar Stats, business Stats)} of one metric."""
    dialect = ctx.db.dialect
    _, end, start = next(m for m in METRICS if m[0] == metric)
    cohort = Case.created_at if metric == "first_response" else Case.resolved_at
    out: dict[str, Any] = {}
    with read(ctx.db) as s:
        for kind in ("calendar", "business"):
            if kind == "business" and calendar_id is None:
                continue
            value = (
                seconds_between(dialect, end, start)
                if kind == "calendar"
                else cal.business_seconds(dialect, calendar_id or "", end, start)
            )
            base, label = with_slice(select(Case.number), q.by)
            query = base.with_only_columns(label.label("g"), value.label("v")).where(
                in_period(cohort, q), end.is_not(None), *case_conditions(q)
            )
            for g, stats in grouped_stats(s, dialect, query).items():
                out.setdefault(slice_label(q.by, g), {})[kind] = stats
    return out


def _counts(ctx: Context, q: ReportQuery) -> dict[str, int]:
    with read(ctx.db) as s:
        base, label = with_slice(select(Case.number), q.by)
        query = (
            base.with_only_columns(label.label("g"), func.count(func.distinct(Case.number)))
            .where(in_period(Case.created_at, q), *case_conditions(q))
            .group_by(label)
        )
        return {slice_label(q.by, g): int(n) for g, n in s.execute(query)}


def _response_times(ctx: Context, q: ReportQuery, calendar_id: str | None) -> Table:
    first = _stats(ctx, q, "first_response", calendar_id)
    resolution = _stats(ctx, q, "resolution", calendar_id)
    created = _counts(ctx, q)
    table = Table(
        "response_times",
        "Time to first response and to resolution (seconds)",
        [
            "slice",
            "created",
            "responded",
            "first_response_median_s",
            "first_response_p90_s",
            "first_response_business_median_s",
            "first_response_business_p90_s",
            "resolved",
            "resolution_median_s",
            "resolution_p90_s",
            "resolution_business_median_s",
            "resolution_business_p90_s",
        ],
        chart="bar",
        x="slice",
        series=[
            "first_response_median_s",
            "first_response_p90_s",
            "resolution_median_s",
            "resolution_p90_s",
        ],
        units="seconds",
    )
    empty = Stats(0, None, None, None)
    for name in sorted(set(first) | set(resolution) | set(created)):
        f, r = first.get(name, {}), resolution.get(name, {})
        fc, rc = f.get("calendar", empty), r.get("calendar", empty)
        # Without a business calendar, business time is calendar time.
        fb, rb = f.get("business", fc), r.get("business", rc)
        table.rows.append(
            [
                name,
                created.get(name, 0),
                fc.n,
                fc.p50,
                fc.p90,
                fb.p50,
                fb.p90,
                rc.n,
                rc.p50,
                rc.p90,
                rb.p50,
                rb.p90,
            ]
        )
    return table


def _volume(ctx: Context, q: ReportQuery) -> Table:
    dialect = ctx.db.dialect
    counts: dict[str, dict[str, int]] = {}
    with read(ctx.db) as s:
        for name, column in (
            ("created", Case.created_at),
            ("resolved", Case.resolved_at),
            ("closed", Case.closed_at),
        ):
            b = bucket(dialect, column, q.interval)
            query = (
                select(b.label("b"), func.count())
                .where(in_period(column, q), *case_conditions(q))
                .group_by(b)
            )
            for label, n in s.execute(query):
                counts.setdefault(str(label), {})[name] = int(n)
    table = Table(
        "volume",
        f"Created, resolved and closed per {q.interval}",
        [q.interval, "created", "resolved", "closed"],
        chart="line",
        x=q.interval,
        series=["created", "resolved", "closed"],
    )
    for label in bucket_labels(q.since, q.until, q.interval):
        c = counts.get(label, {})
        table.rows.append([label, c.get("created", 0), c.get("resolved", 0), c.get("closed", 0)])
    return table
