"""What every report shares: the query (period, filters, slice), the result shape (named tables
with chart hints) and the SQL building blocks that differ between PostgreSQL and SQLite
(durations, day/week buckets, percentiles).

Aggregation happens in the database: Python only receives one row per group. Percentiles are
``percentile_cont`` on PostgreSQL; on SQLite the same interpolated value is computed with
``ROW_NUMBER``/``COUNT`` windows that keep the two rows around the rank of each group, so both
engines give identical figures.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.orm import Session

from casedesk.db.session import Database
from casedesk.db.tables import Case, CaseTag, Team, User
from casedesk.domain import case_fields
from casedesk.domain.errors import InvalidInput

SLICES = ("team", "agent", "channel", "priority", "category", "tag")
FILTERS = ("since", "until", *SLICES, "by", "interval", "calendar", "table")
DEFAULT_DAYS = 30
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class ReportQuery:
    """A period ``[since, until)`` and filters; ``by`` splits figures by one slice."""

    since: datetime
    until: datetime
    now: datetime
    team: str | None = None
    agent: str | None = None
    channel: str | None = None
    priority: str | None = None
    category: str | None = None
    tag: str | None = None
    by: str | None = None
    interval: str = "day"
    calendar: str | None = None

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise InvalidInput("until must be after since", field="until")
        if self.by is not None and self.by not in SLICES:
            raise InvalidInput(f"by must be one of {', '.join(SLICES)}", field="by")
        if self.interval not in ("day", "week"):
            raise InvalidInput("interval must be day or week", field="interval")
        if self.priority is not None:
            case_fields.priority_rank(self.priority)

    @property
    def filters(self) -> dict[str, str]:
        return {k: v for k in SLICES if (v := getattr(self, k)) is not None}


def default_period(now: datetime, days: int = DEFAULT_DAYS) -> tuple[datetime, datetime]:
    """The last ``days`` days, up to and including this second (``until`` is exclusive)."""
    until = now.replace(microsecond=0) + timedelta(seconds=1)
    return until - timedelta(days=days), until


@dataclass
class Table:
    """One table of a report; ``chart`` tells the pages how to draw it (``line``, ``bar``,
    ``stacked``, or ``None`` for a plain table), ``x`` the label column and ``series`` the
    value columns."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    chart: str | None = None
    x: str | None = None
    series: list[str] = field(default_factory=list)
    units: str = ""  # "seconds" when the series are durations

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class Report:
    name: str
    title: str
    query: ReportQuery
    tables: dict[str, Table] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, table: Table) -> Table:
        self.tables[table.name] = table
        return table


# -- filters and slices ---------------------------------------------------------------------


def case_conditions(q: ReportQuery) -> list[ColumnElement[bool]]:
    """The slice filters of ``q`` as conditions on ``cases``."""
    out: list[ColumnElement[bool]] = []
    if q.team is not None:
        if q.team == "none":
            out.append(Case.team_id.is_(None))
        else:
            out.append(Case.team_id == select(Team.id).where(Team.name == q.team).scalar_subquery())
    if q.agent is not None:
        if q.agent == "none":
            out.append(Case.assignee_id.is_(None))
        elif q.agent.isdigit():
            out.append(Case.assignee_id == int(q.agent))
        else:
            agent = select(User.id).where(User.email == q.agent.lower()).scalar_subquery()
            out.append(Case.assignee_id == agent)
    if q.channel is not None:
        out.append(Case.channel == q.channel)
    if q.priority is not None:
        out.append(Case.priority == case_fields.priority_rank(q.priority))
    if q.category is not None:
        out.append(Case.category.is_(None) if q.category == "none" else Case.category == q.category)
    if q.tag is not None:
        tagged = select(CaseTag.case_number).where(CaseTag.tag == q.tag.lower())
        out.append(Case.number.in_(tagged))
    return out


def with_slice(query: Select[Any], by: str | None) -> tuple[Select[Any], ColumnElement[Any]]:
    """``query`` (over ``cases``) joined as the slice needs, and the slice's label column
    (a constant "all" without ``by``). A case with several tags counts once per tag."""
    if by is None:
        return query, literal("all")
    if by == "team":
        return query.outerjoin(Team, Team.id == Case.team_id), func.coalesce(Team.name, NONE_LABEL)
    if by == "agent":
        return query.outerjoin(User, User.id == Case.assignee_id), func.coalesce(
            User.email, NONE_LABEL
        )
    if by == "tag":
        return query.outerjoin(CaseTag, CaseTag.case_number == Case.number), func.coalesce(
            CaseTag.tag, NONE_LABEL
        )
    if by == "priority":
        return query, Case.priority.expression  # a rank; slice_label names it
    if by == "category":
        return query, func.coalesce(Case.category, NONE_LABEL)
    return query, Case.channel.expression


def slice_label(by: str | None, value: Any) -> str:
    if by == "priority" and value is not None:
        return case_fields.priority_name(int(value))
    return str(value)


# -- dialect helpers ------------------------------------------------------------------------


@contextmanager
def read(db: Database) -> Iterator[Session]:
    """A read transaction tuned for one report's aggregate queries: on PostgreSQL without JIT
    (compiling a report's plans costs more than running them) and with room to sort in memory."""
    with db.read() as s:
        if db.is_postgresql:
            s.execute(text("SET LOCAL jit = off"))
            s.execute(text("SET LOCAL work_mem = '64MB'"))
        yield s


def seconds_between(dialect: str, end: Any, start: Any) -> ColumnElement[float]:
    """``end - start`` in seconds (float)."""
    if dialect == "postgresql":
        return func.extract("epoch", end - start).cast(Float)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def epoch(dialect: str, at: Any) -> ColumnElement[float]:
    """Unix seconds of a timestamp column."""
    if dialect == "postgresql":
        return func.extract("epoch", at).cast(Float)
    return (func.julianday(at) - 2440587.5) * 86400.0


def bucket(dialect: str, at: Any, interval: str) -> ColumnElement[str]:
    """The UTC day (or the Monday of the week) of ``at`` as ``YYYY-MM-DD`` text."""
    if dialect == "postgresql":
        return func.to_char(func.date_trunc(interval, func.timezone("UTC", at)), "YYYY-MM-DD")
    if interval == "week":
        return func.date(at, "weekday 0", "-6 days")
    return func.date(at)


def bucket_labels(since: datetime, until: datetime, interval: str) -> list[str]:
    """Every bucket label of the period, so days without cases show as zero."""
    day = since.date()
    if interval == "week":
        day -= timedelta(days=day.weekday())
    step = timedelta(days=7 if interval == "week" else 1)
    out = []
    while datetime.combine(day, datetime.min.time(), since.tzinfo) < until:
        out.append(day.isoformat())
        day += step
    return out


@dataclass(frozen=True)
class Stats:
    n: int
    avg: float | None
    p50: float | None
    p90: float | None


def grouped_stats(
    s: Session, dialect: str, values: Select[Any], *, ps: Sequence[float] = (0.5, 0.9)
) -> dict[Any, Stats]:
    """Count, mean, median and 90th percentile of ``v`` per ``g``; ``values`` selects the two
    labelled columns ``g`` and ``v`` (rows with a NULL ``v`` are ignored)."""
    sub = values.subquery()
    g, v = sub.c.g, sub.c.v
    if dialect == "postgresql":
        query = (
            select(
                g,
                func.count(v),
                func.avg(v),
                *(func.percentile_cont(p).within_group(v) for p in ps),
            )
            .where(v.is_not(None))
            .group_by(g)
        )
    else:
        ranked = (
            select(
                g.label("g"),
                v.label("v"),
                (func.row_number().over(partition_by=g, order_by=v) - 1).label("i"),
                func.count().over(partition_by=g).label("n"),
            )
            .where(v.is_not(None))
            .subquery()
        )
        query = select(
            ranked.c.g,
            func.max(ranked.c.n),
            func.avg(ranked.c.v),
            *(_interpolated(ranked, p) for p in ps),
        ).group_by(ranked.c.g)
    out = {}
    for row in s.execute(query):
        n, avg, *pcts = row[1:]
        out[row[0]] = Stats(int(n), _num(avg), *(_num(p) for p in pcts[:2]))
    return out


def _interpolated(ranked: Any, p: float) -> ColumnElement[float]:
    """percentile_cont(p) from ranked rows: the two values around rank (n-1)p, weighted.
    (SQLite only: its CAST to INTEGER truncates, which is the floor of a positive rank.)"""
    idx = (ranked.c.n - 1) * p
    floor_ = cast(idx, Integer)
    frac = idx - floor_
    return func.sum(
        case(
            (ranked.c.i == floor_, ranked.c.v * (1 - frac)),
            (ranked.c.i == floor_ + 1, ranked.c.v * frac),
            else_=0.0,
        )
    )


def _num(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def in_period(column: Any, q: ReportQuery) -> ColumnElement[bool]:
    return and_(column >= q.since, column < q.until)
