"""Patterns: the top categories, tags and channels of the last weeks with their week-over-week
change and spikes, and the clusters of similar cases the worker found (``services.patterns``).

Weeks are the seven-day windows ending at the report's ``until`` (this week, then the four
before). A value *spikes* when this week has at least ``SPIKE_MIN`` cases and at least
``SPIKE_FACTOR`` times the mean of the four weeks before.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, literal, select

from casedesk.context import Context
from casedesk.db.report_tables import ReportCluster
from casedesk.db.tables import Case, CaseTag
from casedesk.services.case_rows import ticket_id
from casedesk.services.reports_common import (
    NONE_LABEL,
    Report,
    ReportQuery,
    Table,
    case_conditions,
    read,
)

TITLE = "Patterns"
TABLES = ("categories", "tags", "channels", "clusters")
WEEKS = 5
TOP = 10
SPIKE_MIN = 5
SPIKE_FACTOR = 1.5
WEEK_COLUMNS = ["weeks_4_ago", "weeks_3_ago", "weeks_2_ago", "last_week", "this_week"]


def build(ctx: Context, q: ReportQuery) -> Report:
    report = Report("patterns", TITLE, q)
    for name, column in (
        ("categories", func.coalesce(Case.category, NONE_LABEL)),
        ("tags", CaseTag.tag),
        ("channels", Case.channel),
    ):
        report.add(_trend(ctx, q, name, column))
    report.add(_clusters(ctx))
    report.notes.append(
        f"Weeks end at {q.until.isoformat()}; a spike is >= {SPIKE_MIN} cases this week and >= "
        f"{SPIKE_FACTOR}x the mean of the four weeks before. Clusters cover every case."
    )
    return report


def _week_index(q: ReportQuery) -> Any:
    """0 for this week, 1 for last week ... 4 (cases outside are filtered out)."""
    return case(
        *((Case.created_at >= q.until - timedelta(days=7 * (i + 1)), i) for i in range(WEEKS - 1)),
        else_=literal(WEEKS - 1),
    )


def _trend(ctx: Context, q: ReportQuery, name: str, column: Any) -> Table:
    table = Table(
        name,
        f"Top {name} by week",
        ["value", *WEEK_COLUMNS, "change_pct", "spike"],
        chart="bar",
        x="value",
        series=["last_week", "this_week"],
    )
    week = _week_index(q)
    query = select(column.label("value"), week.label("w"), func.count()).where(
        Case.created_at >= q.until - timedelta(days=7 * WEEKS),
        Case.created_at < q.until,
        *case_conditions(q),
    )
    if name == "tags":
        # The weeks' cases have neighbouring numbers: one range of the tags' primary key.
        lo, hi = _numbers(ctx, q)
        query = (
            query.select_from(Case)
            .join(CaseTag, CaseTag.case_number == Case.number)
            .where(CaseTag.case_number.between(lo, hi))
        )
    query = query.group_by(column, week)
    counts: dict[str, list[int]] = {}
    with read(ctx.db) as s:
        for value, w, n in s.execute(query):
            counts.setdefault(str(value), [0] * WEEKS)[WEEKS - 1 - int(w)] = int(n)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1][-1], -sum(kv[1]), kv[0]))[:TOP]
    for value, weeks in ranked:
        this, last = weeks[-1], weeks[-2]
        before = sum(weeks[:-1]) / (WEEKS - 1)
        change = round((this - last) * 100 / last, 1) if last else None
        spike = this >= SPIKE_MIN and this >= SPIKE_FACTOR * max(before, 1.0)
        table.rows.append([value, *weeks, change, spike])
    return table


def _numbers(ctx: Context, q: ReportQuery) -> tuple[int, int]:
    with read(ctx.db) as s:
        lo, hi = s.execute(
            select(func.min(Case.number), func.max(Case.number)).where(
                Case.created_at >= q.until - timedelta(days=7 * WEEKS), Case.created_at < q.until
            )
        ).one()
    return lo or 0, hi or 0


def _clusters(ctx: Context) -> Table:
    table = Table(
        "clusters",
        "Clusters of similar cases (computed by the worker)",
        [
            "label",
            "cases",
            "previous_window",
            "change_pct",
            "terms",
            "top_category",
            "top_channel",
            "examples",
            "window_start",
            "window_end",
            "computed_at",
        ],
        chart="bar",
        x="label",
        series=["previous_window", "cases"],
    )
    with read(ctx.db) as s:
        rows = s.scalars(
            # growing issues first: a new topic of 50 cases outranks a steady one of 500
            select(ReportCluster).order_by(
                (ReportCluster.size - ReportCluster.previous_size).desc(),
                ReportCluster.size.desc(),
                ReportCluster.id,
            )
        ).all()
    for c in rows:
        change = (
            round((c.size - c.previous_size) * 100 / c.previous_size, 1)
            if c.previous_size
            else None
        )
        table.rows.append(
            [
                c.label,
                c.size,
                c.previous_size,
                change,
                ", ".join(c.terms),
                c.top_category,
                c.top_channel,
                " ".join(ticket_id(ctx.config, n) for n in c.sample),
                c.window_start.isoformat(),
                c.window_end.isoformat(),
                c.computed_at.isoformat(),
            ]
        )
    return table
