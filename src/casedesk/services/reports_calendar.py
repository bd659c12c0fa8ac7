"""Business time in SQL: a calendar's working intervals stored as rows, so reports measure
durations in working time for every case without a Python loop per case.

``report_calendar_spans`` holds each working interval (Unix seconds) with the working seconds
before it. Working time up to an instant is then W(t) = cum + (min(t, end) - start) of the last
interval starting at or before t, and business time between two instants is W(b) - W(a): the
same figure as ``domain.sla.business_time_between`` (tests check both agree), at the cost of two
index lookups. Spans are built from the config's ``Calendar`` on first use and rebuilt when its
definition changes or time runs past the covered days.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from casedesk.config import AppConfig
from casedesk.config_sla import sla_settings
from casedesk.db.report_tables import CalendarSpan, ReportCalendar
from casedesk.db.session import Database
from casedesk.db.tables import Case
from casedesk.domain.errors import InvalidInput
from casedesk.domain.sla import Calendar
from casedesk.services.reports_common import epoch

ALWAYS = "24x7"
SLACK_DAYS = 60  # spans reach this far past today, so they are rebuilt every two months


def calendars(config: AppConfig) -> dict[str, Calendar]:
    try:
        return dict(sla_settings(config).calendars)
    except ValueError:  # a config the checks refuse: reports fall back to calendar time
        return {ALWAYS: Calendar.always()}


def choose(config: AppConfig, calendar_id: str | None) -> Calendar:
    """The calendar asked for, else the first one the config defines, else 24x7."""
    known = calendars(config)
    if calendar_id:
        if calendar_id not in known:
            raise InvalidInput(
                f"no calendar {calendar_id!r}; known: {', '.join(sorted(known))}", field="calendar"
            )
        return known[calendar_id]
    defined = [c for c in known.values() if c.id != ALWAYS]
    return defined[0] if defined else known.get(ALWAYS, Calendar.always())


def fingerprint(calendar: Calendar) -> str:
    """A stable digest of what the spans depend on (frozensets sorted: their order varies)."""
    shape = {
        "id": calendar.id,
        "tz": calendar.timezone,
        "hours": {str(k): [[str(a), str(b)] for a, b in v] for k, v in calendar.hours.items()},
        "holidays": sorted(d.isoformat() for d in calendar.holidays),
        "country": calendar.country,
        "subdiv": calendar.subdiv,
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()


def spans_between(calendar: Calendar, first: date, last: date) -> list[dict[str, Any]]:
    """The working intervals of local days ``first``..``last`` with running totals; touching
    intervals (midnight on a 24h day) are merged."""
    merged: list[list[int]] = []
    day = first
    while day <= last:
        for start, end in calendar.day_spans(day):
            a, b = int(start.timestamp()), int(end.timestamp())
            if merged and merged[-1][1] == a:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        day += timedelta(days=1)
    rows, total = [], 0
    for a, b in merged:
        rows.append({"calendar_id": calendar.id, "start_s": a, "end_s": b, "cum_s": total})
        total += b - a
    return rows


def ensure_spans(db: Database, calendar: Calendar, *, now: datetime) -> None:
    """Make the stored spans of ``calendar`` current and covering every case's lifetime."""
    digest = fingerprint(calendar)
    with db.read() as s:
        stored = s.get(ReportCalendar, calendar.id)
        oldest = s.scalar(select(func.min(Case.created_at)))
    first = ((oldest or now) - timedelta(days=2)).date()
    need_last = (now + timedelta(days=2)).date()
    if (
        stored is not None
        and stored.fingerprint == digest
        and stored.first_day <= first
        and stored.last_day >= need_last
    ):
        return
    first = date(first.year, 1, 1)  # whole years: fewer rebuilds as older cases appear
    last = (now + timedelta(days=SLACK_DAYS)).date()
    rows = spans_between(calendar, first, last)
    try:
        with db.write() as s:
            s.execute(delete(CalendarSpan).where(CalendarSpan.calendar_id == calendar.id))
            s.execute(delete(ReportCalendar).where(ReportCalendar.calendar_id == calendar.id))
            for i in range(0, len(rows), 5000):
                s.execute(insert(CalendarSpan), rows[i : i + 5000])
            s.add(
                ReportCalendar(
                    calendar_id=calendar.id,
                    fingerprint=digest,
                    first_day=first,
                    last_day=last,
                    built_at=now.astimezone(UTC),
                )
            )
    except IntegrityError:
        pass  # another process built the same spans a moment ago


def worked_until(dialect: str, calendar_id: str, at: Any) -> ColumnElement[float]:
    """W(at): working seconds of the calendar from its first span up to ``at``."""
    t = epoch(dialect, at)
    sp = CalendarSpan
    return (
        select(sp.cum_s + case((t < sp.end_s, t - sp.start_s), else_=sp.end_s - sp.start_s))
        .where(sp.calendar_id == calendar_id, sp.start_s <= t)
        .order_by(sp.start_s.desc())
        .limit(1)
        .correlate_except(sp)
        .scalar_subquery()
    )


def business_seconds(dialect: str, calendar_id: str, end: Any, start: Any) -> ColumnElement[float]:
    return worked_until(dialect, calendar_id, end) - worked_until(dialect, calendar_id, start)
