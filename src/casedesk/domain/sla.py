"""SLA clock arithmetic over business calendars: pure functions over aware datetimes.

Every function takes timezone-aware datetimes, returns UTC ones and never reads the wall clock.
Working time is counted over the calendar's intervals (``calendar.py``); long spans are summed a
week at a time, so the cost grows with the number of weeks, never with minutes.

Intervals are half-open: an instant at the end of an interval is not working time, and a due time
may fall exactly on the end of an interval (Friday 16:00 + 1h on a 09-17 day is Friday 17:00).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

from casedesk.domain.calendar import (
    ONE_DAY,
    ZERO,
    Calendar,
    CalendarError,
    UtcSpan,
    calendar_from_config,
)

__all__ = [
    "Calendar",
    "CalendarError",
    "Pause",
    "add_business_time",
    "business_time_between",
    "calendar_from_config",
    "due_with_pauses",
    "elapsed_with_pauses",
    "is_working",
    "next_opening",
    "remaining_with_pauses",
]

Pause = tuple[datetime, datetime | None]
"""A stopped stretch of the clock: (start, end); end None while it still runs."""


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _spans_from(calendar: Calendar, at: datetime) -> Iterator[UtcSpan]:
    """Working spans ending after ``at``, in order, from the local day of ``at`` onwards."""
    day = calendar.local_date(at) - ONE_DAY
    while True:
        for start, end in calendar.day_spans(day):
            if end > at:
                yield start, end
        day += ONE_DAY


def is_working(calendar: Calendar, at: datetime) -> bool:
    """Whether the SLA clock runs at instant ``at``."""
    at = _utc(at, "at")
    return calendar.continuous or next_opening(calendar, at) == at


def next_opening(calendar: Calendar, at: datetime) -> datetime:
    """The first working instant at or after ``at`` (``at`` itself when it is working)."""
    at = _utc(at, "at")
    if calendar.continuous:
        return at
    start, _ = next(_spans_from(calendar, at))
    return max(start, at)


def add_business_time(calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
    """The instant ``duration`` of working time after ``start``.

    The clock starts at the next opening when ``start`` is outside working hours; a zero
    duration gives that opening.
    """
    start = _utc(start, "start")
    if duration < ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    if calendar.continuous:
        return start + duration
    if not duration:
        return next_opening(calendar, start)
    remaining = duration
    day = calendar.local_date(start) - ONE_DAY
    unclipped = day + 2 * ONE_DAY  # spans of this day and later all lie after `start`
    while True:
        for low, high in calendar.day_spans(day):
            if high <= start:
                continue
            low = max(low, start)
            if remaining <= high - low:
                return low + remaining
            remaining -= high - low
        day += ONE_DAY
        if day >= unclipped:
            day, remaining = _skip_weeks(calendar, day, remaining)


def _skip_weeks(calendar: Calendar, day: date, remaining: timedelta) -> tuple[date, timedelta]:
    """Consume whole weeks from local ``day`` while they end before ``remaining`` runs out."""
    while remaining > calendar.weekly_hours:
        week = calendar.week_total(day)
        if week >= remaining:  # a DST week can hold more than the nominal hours
            break
        remaining -= week
        day += timedelta(days=7)
    return day, remaining


def business_time_between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """Working time elapsed in ``[start, end)``; zero when ``end <= start``."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        return ZERO
    if calendar.continuous:
        return end - start
    first, last = calendar.local_date(start), calendar.local_date(end)
    total = ZERO
    for day in sorted({first - ONE_DAY, first, last, last + ONE_DAY}):
        for low, high in calendar.day_spans(day):
            total += max(ZERO, min(high, end) - max(low, start))
    # the local days strictly between those of `start` and `end` lie wholly inside the range
    return total + calendar.total_between_days(first + ONE_DAY, last)


def _pause_spans(pauses: Sequence[Pause], open_until: datetime) -> list[UtcSpan]:
    """Pauses as sorted, merged UTC spans; a running pause lasts until ``open_until``."""
    spans: list[UtcSpan] = []
    for i, (low, high) in enumerate(pauses):
        low = _utc(low, f"pauses[{i}] start")
        high = max(open_until, low) if high is None else _utc(high, f"pauses[{i}] end")
        if high < low:
            raise ValueError(f"pauses[{i}] ends at {high.isoformat()} before it starts")
        spans.append((low, high))
    spans.sort()
    merged: list[UtcSpan] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return merged


def elapsed_with_pauses(
    calendar: Calendar, start: datetime, end: datetime, pauses: Sequence[Pause]
) -> timedelta:
    """Working time in ``[start, end)`` minus the paused stretches (a running one ends at end)."""
    start, end = _utc(start, "start"), _utc(end, "end")
    total = business_time_between(calendar, start, end)
    for low, high in _pause_spans(pauses, end):
        total -= business_time_between(calendar, max(low, start), min(high, end))
    return total


def _check_known_by(pauses: Sequence[Pause], now: datetime) -> None:
    for i, (low, high) in enumerate(pauses):
        for name, moment in (("start", low), ("end", high)):
            if moment is not None and _utc(moment, f"pauses[{i}] {name}") > now:
                raise ValueError(f"pauses[{i}] {name} lies after now ({now.isoformat()})")


def due_with_pauses(
    calendar: Calendar,
    start: datetime,
    target: timedelta,
    pauses: Sequence[Pause],
    now: datetime,
) -> datetime | None:
    """When ``target`` working time will have run since ``start``, given the pauses so far.

    ``None`` while a pause is running: the clock is stopped, so there is no due time. Pauses
    must be known by ``now``; a later pause moves the due time and needs a new call.
    """
    start, now = _utc(start, "start"), _utc(now, "now")
    if target < ZERO:
        raise ValueError(f"target must not be negative, got {target}")
    _check_known_by(pauses, now)
    if any(high is None for _, high in pauses):
        return None
    remaining, clock = target, start
    for low, high in _pause_spans(pauses, now):
        if high <= clock:
            continue
        low = max(low, clock)
        due = add_business_time(calendar, clock, remaining)
        if due <= low:
            return due
        remaining -= business_time_between(calendar, clock, low)
        clock = high
    return add_business_time(calendar, clock, remaining)


def remaining_with_pauses(
    calendar: Calendar,
    start: datetime,
    target: timedelta,
    pauses: Sequence[Pause],
    now: datetime,
) -> timedelta:
    """Working time left of ``target`` at ``now``; negative once breached. Works while paused."""
    return target - elapsed_with_pauses(calendar, start, now, pauses)
