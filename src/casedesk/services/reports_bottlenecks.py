"""Bottlenecks: how long cases stay in each status, which statuses they wait in longest, On
Hold time by reason code, and the reopen rate.

Stretches come from the audit trail: each ``case.status_changed`` event ends a stretch in its
``from`` status that began at the case's previous status change (or its creation); a case not
yet closed adds its current stretch up to now. The cohort is the cases created in the period.
The events are read from ``report_status_changes``, which a trigger fills from the trail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy import Table as Table_

from casedesk.context import Context
from casedesk.db.report_tables import StatusChange
from casedesk.db.tables import Case, Team, User, UTCDateTime
from casedesk.services.reports_common import (
    Report,
    ReportQuery,
    Stats,
    Table,
    case_conditions,
    grouped_stats,
    in_period,
    read,
    seconds_between,
    slice_label,
    with_slice,
)

TITLE = "Bottlenecks"
TABLES = ("time_in_status", "hold_reasons", "longest_waits", "reopens")
LONGEST = 20


def build(ctx: Context, q: ReportQuery) -> Report:
    report = Report("bottlenecks", TITLE, q)
    with read(ctx.db) as s:
        # The stretches are computed once into a temporary table that every table of the
        # report then aggregates: one pass over the audit trail instead of four.
        st = _stretch_table()
        st.create(s.connection())
        try:
            rows = _stretches(ctx, q, s)
            if rows is not None:
                s.execute(insert(st).from_select([c.name for c in st.columns], rows))
            report.add(_time_in_status(ctx, q, s, st))
            report.add(_hold_reasons(ctx, s, st))
            report.add(_longest_waits(ctx, s, st))
        finally:
            st.drop(s.connection())
        report.add(_reopens(ctx, q, s))
    return report


def _stretch_table() -> Table_:
    return Table_(
        "report_stretches",
        MetaData(),
        Column("number", BigInteger),
        Column("g", String),
        Column("status", String),
        Column("reason", String),
        Column("started", UTCDateTime),
        Column("seconds", Float),
        Column("ongoing", Integer),
        prefixes=["TEMPORARY"],
    )


def _stretches(ctx: Context, q: ReportQuery, s: Any) -> Any:
    """A SELECT of (number, g, status, reason, started, seconds, ongoing): every stretch of a
    cohort case in one status; None when the cohort is empty."""
    dialect = ctx.db.dialect
    cohort_base, label = with_slice(select(Case.number), q.by)
    where = [in_period(Case.created_at, q), *case_conditions(q)]
    lo, hi = s.execute(select(func.min(Case.number), func.max(Case.number)).where(*where)).one()
    if lo is None:
        return None
    cohort = (
        cohort_base.with_only_columns(
            Case.number.label("number"),
            cast(label, String).label("g"),
            Case.created_at.label("created_at"),
            Case.status.label("status"),
            Case.status_category.label("category"),
            Case.hold_reason_code.label("hold_reason"),
        )
        .where(*where)
        .subquery("cohort")
    )
    sc = StatusChange
    c, now = cohort.c, literal(q.now, UTCDateTime)
    # Cohort cases have neighbouring numbers: one range of the table's primary key.
    done = (
        select(
            c.number,
            c.g,
            sc.from_status,
            sc.from_reason,
            sc.started_at,
            seconds_between(dialect, sc.occurred_at, sc.started_at),
            literal(0),
        )
        .join(sc, sc.case_number == c.number)
        .where(sc.case_number.between(lo, hi))
    )
    # The current stretch of a case not closed: since its last change, or its creation.
    last_change = (
        select(func.max(sc.occurred_at)).where(sc.case_number == c.number).scalar_subquery()
    )
    since = func.coalesce(last_change, c.created_at)
    current = select(
        c.number,
        c.g,
        c.status,
        c.hold_reason,
        since,
        seconds_between(dialect, now, since),
        literal(1),
    ).where(c.category != "closed")
    return union_all(done, current)


def _time_in_status(ctx: Context, q: ReportQuery, s: Any, st: Any) -> Table:
    table = Table(
        "time_in_status",
        "Time in each status (seconds; ongoing stretches counted up to now)",
        [
            "slice",
            "status",
            "stretches",
            "cases",
            "ongoing",
            "total_s",
            "avg_s",
            "median_s",
            "p90_s",
        ],
        chart="bar",
        x="status",
        series=["median_s", "p90_s"],
        units="seconds",
    )
    base = [
        st.c.g,
        st.c.status,
        func.count(),
        func.count(func.distinct(st.c.number)),
        func.sum(st.c.ongoing),
        func.sum(st.c.seconds),
    ]
    counts: dict[tuple[Any, str], tuple[Any, ...]] = {}
    stats: dict[tuple[Any, str], Any] = {}
    if ctx.db.is_postgresql:  # one pass: counts and percentiles together
        pct = [func.percentile_cont(p).within_group(st.c.seconds) for p in (0.5, 0.9)]
        query = select(*base, func.avg(st.c.seconds), *pct).group_by(st.c.g, st.c.status)
        for g, status, n, cases, ongoing, total, avg, p50, p90 in s.execute(query):
            counts[(g, status)] = (n, cases, ongoing, total)
            stats[(str(g), status)] = Stats(int(n), _round(avg), _round(p50), _round(p90))
    else:
        for g, status, n, cases, ongoing, total in s.execute(
            select(*base).group_by(st.c.g, st.c.status)
        ):
            counts[(g, status)] = (n, cases, ongoing, total)
        stats = _per_status(s, ctx.db.dialect, st)
    workflow = ctx.config.lifecycle
    order = {sid.id: i for i, sid in enumerate(workflow.statuses)}
    for (g, status), (n, cases, ongoing, total) in sorted(
        counts.items(), key=lambda kv: (str(kv[0][0]), order.get(kv[0][1], 99))
    ):
        stat = stats.get((str(g), status))
        table.rows.append(
            [
                slice_label(q.by, g),
                status,
                int(n),
                int(cases),
                int(ongoing or 0),
                round(float(total or 0), 1),
                stat.avg if stat else None,
                stat.p50 if stat else None,
                stat.p90 if stat else None,
            ]
        )
    return table


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _per_status(s: Any, dialect: str, st: Any) -> dict[tuple[Any, str], Any]:
    """Stats keyed by (slice as text, status): both joined into one group key."""
    sep = "\x1f"
    key = func.coalesce(st.c.g, "") + sep + st.c.status
    found = grouped_stats(s, dialect, select(key.label("g"), st.c.seconds.label("v")))
    out = {}
    for k, stats in found.items():
        g, _, status = str(k).rpartition(sep)
        out[(g, status)] = stats
    return out


def _hold_reasons(ctx: Context, s: Any, st: Any) -> Table:
    pending = ctx.config.lifecycle.ids_in("pending")
    table = Table(
        "hold_reasons",
        "On Hold time by reason code (seconds)",
        ["reason", "stretches", "ongoing", "total_s", "avg_s", "median_s", "p90_s"],
        chart="bar",
        x="reason",
        series=["total_s"],
        units="seconds",
    )
    reason = func.coalesce(st.c.reason, "(none)")
    rows = s.execute(
        select(reason, func.count(), func.sum(st.c.ongoing), func.sum(st.c.seconds))
        .where(st.c.status.in_(pending))
        .group_by(reason)
        .order_by(func.sum(st.c.seconds).desc())
    ).all()
    stats = grouped_stats(
        s,
        ctx.db.dialect,
        select(reason.label("g"), st.c.seconds.label("v")).where(st.c.status.in_(pending)),
    )
    for name, n, ongoing, total in rows:
        stat = stats.get(name)
        table.rows.append(
            [
                name,
                int(n),
                int(ongoing or 0),
                round(float(total or 0), 1),
                stat.avg if stat else None,
                stat.p50 if stat else None,
                stat.p90 if stat else None,
            ]
        )
    return table


def _longest_waits(ctx: Context, s: Any, st: Any) -> Table:
    from casedesk.services.case_rows import ticket_id

    table = Table(
        "longest_waits",
        f"The {LONGEST} longest current waits",
        ["case", "status", "waiting_since", "waited_s", "assignee", "team"],
        units="seconds",
    )
    rows = s.execute(
        select(st.c.number, st.c.status, st.c.started, st.c.seconds, User.email, Team.name)
        .join(Case, Case.number == st.c.number)
        .outerjoin(User, User.id == Case.assignee_id)
        .outerjoin(Team, Team.id == Case.team_id)
        .where(st.c.ongoing == 1, ~st.c.status.in_(_solved(ctx)))
        .order_by(st.c.seconds.desc(), st.c.number)
        .limit(LONGEST)
        .distinct()
    ).all()
    for number, status, started, seconds, email, team in sorted(
        rows, key=lambda r: (-float(r[3]), r[0])
    ):
        when = started.isoformat()
        table.rows.append(
            [ticket_id(ctx.config, number), status, when, round(float(seconds), 1), email, team]
        )
    return table


def _solved(ctx: Context) -> list[str]:
    return ctx.config.lifecycle.ids_in("solved", "closed")


def _reopens(ctx: Context, q: ReportQuery, s: Any) -> Table:
    table = Table(
        "reopens",
        "Reopen rate of cases resolved at least once",
        ["slice", "resolved", "reopened", "reopen_rate"],
        chart="bar",
        x="slice",
        series=["reopen_rate"],
    )
    ever_resolved = or_(
        Case.resolved_at.is_not(None),
        Case.reopen_count > 0,
        Case.status_category.in_(("solved", "closed")),
    )
    base, label = with_slice(select(Case.number), q.by)
    query = (
        base.with_only_columns(
            label.label("g"),
            func.count(func.distinct(Case.number)),
            func.count(func.distinct(case((Case.reopen_count > 0, Case.number)))),
        )
        .where(and_(in_period(Case.created_at, q), ever_resolved), *case_conditions(q))
        .group_by(label)
    )
    for g, resolved, reopened in s.execute(query):
        rate = round(reopened / resolved, 4) if resolved else None
        table.rows.append([slice_label(q.by, g), int(resolved), int(reopened), rate])
    table.rows.sort(key=lambda r: str(r[0]))
    return table
