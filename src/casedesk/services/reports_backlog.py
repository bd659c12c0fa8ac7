"""Backlog: the cases still open right now by age and status, and the workload of each agent and
team. A snapshot at the report's ``now``; the period does not apply, the slice filters do.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import case, func, literal, select

from casedesk.context import Context
from casedesk.db.tables import Case, Team, User
from casedesk.services.reports_common import (
    NONE_LABEL,
    Report,
    ReportQuery,
    Table,
    case_conditions,
    read,
    seconds_between,
)

TITLE = "Backlog"
TABLES = ("age", "agents", "teams")
OPEN_CATEGORIES = ("new", "open", "pending")
# (label, lower bound in days): a case falls in the last bucket whose bound its age reaches.
AGE_BUCKETS = (
    ("< 1 day", 0),
    ("1-3 days", 1),
    ("3-7 days", 3),
    ("7-14 days", 7),
    ("14-30 days", 14),
    ("30+ days", 30),
)


def build(ctx: Context, q: ReportQuery) -> Report:
    report = Report("backlog", TITLE, q)
    report.add(_age(ctx, q))
    report.add(_workload(ctx, q, "agents"))
    report.add(_workload(ctx, q, "teams"))
    report.notes.append("Backlog is a snapshot of the cases open now; the period is not used.")
    return report


def _open(ctx: Context) -> Any:
    # By status, not category: (status, number) is indexed, the category is not.
    return Case.status.in_(ctx.config.lifecycle.ids_in(*OPEN_CATEGORIES))


def _age_bucket(q: ReportQuery) -> Any:
    whens = [
        (Case.created_at > q.now - timedelta(days=days), label)
        for (label, _), (_, days) in pairwise(AGE_BUCKETS)
    ]
    return case(*whens, else_=literal(AGE_BUCKETS[-1][0]))


def _age(ctx: Context, q: ReportQuery) -> Table:
    workflow = ctx.config.lifecycle
    statuses = [s.id for s in workflow.statuses if s.category in OPEN_CATEGORIES]
    table = Table(
        "age",
        "Open cases by age and status",
        ["age", *statuses, "total"],
        chart="stacked",
        x="age",
        series=statuses,
    )
    age = _age_bucket(q)
    with read(ctx.db) as s:
        rows = s.execute(
            select(age.label("age"), Case.status, func.count())
            .where(_open(ctx), *case_conditions(q))
            .group_by(age, Case.status)
        ).all()
    counts: dict[str, dict[str, int]] = {}
    for label, status, n in rows:
        counts.setdefault(label, {})[status] = int(n)
        if status not in statuses:  # a status the config no longer lists
            statuses.append(status)
            table.columns.insert(-1, status)
    for label, _ in AGE_BUCKETS:
        c = counts.get(label, {})
        table.rows.append([label, *(c.get(st, 0) for st in statuses), sum(c.values())])
    return table


def _workload(ctx: Context, q: ReportQuery, by: str) -> Table:
    dialect = ctx.db.dialect
    name = (
        func.coalesce(User.email, NONE_LABEL)
        if by == "agents"
        else func.coalesce(Team.name, NONE_LABEL)
    )
    table = Table(
        by,
        "Open cases per agent" if by == "agents" else "Open cases per team",
        [
            "agent" if by == "agents" else "team",
            "open_total",
            "new",
            "in_progress",
            "pending",
            "urgent",
            "high",
            "oldest_age_s",
        ],
        chart="stacked",
        x="agent" if by == "agents" else "team",
        series=["new", "in_progress", "pending"],
    )
    query = select(
        name.label("name"),
        func.count(),
        *(
            func.sum(case((Case.status_category == cat, 1), else_=0))
            for cat in ("new", "open", "pending")
        ),
        func.sum(case((Case.priority == 3, 1), else_=0)),
        func.sum(case((Case.priority == 2, 1), else_=0)),
        func.max(seconds_between(dialect, literal(q.now), Case.created_at)),
    ).where(_open(ctx), *case_conditions(q))
    query = query.select_from(Case)
    if by == "agents":
        query = query.outerjoin(User, User.id == Case.assignee_id)
    else:
        query = query.outerjoin(Team, Team.id == Case.team_id)
    query = query.group_by(name).order_by(func.count().desc(), name)
    with read(ctx.db) as s:
        for row in s.execute(query):
            label, total, new, open_, pending, urgent, high, oldest = row
            table.rows.append(
                [
                    label,
                    int(total),
                    int(new or 0),
                    int(open_ or 0),
                    int(pending or 0),
                    int(urgent or 0),
                    int(high or 0),
                    round(float(oldest), 1) if oldest is not None else None,
                ]
            )
    return table
