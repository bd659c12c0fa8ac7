"""Property-based tests of the SLA clock over fixed and randomly generated calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from casedesk.domain.sla import (
    Calendar,
    add_business_time,
    business_time_between,
    calendar_from_config,
    due_with_pauses,
    elapsed_with_pauses,
    is_working,
    next_opening,
)

FAST = settings(max_examples=200, deadline=None)
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 4 * 366 * 86_400
TICK = timedelta(microseconds=1)
ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Pacific/Chatham",  # DST change at 02:45 local
    "Asia/Kolkata",
]

FIXED = [
    Calendar.always(),
    calendar_from_config(
        {
            "id": "london",
            "timezone": "Europe/London",
            "hours": {"mon-fri": ["09:00-12:30", "13:30-17:30"], "sat": ["10:00-14:00"]},
            "holidays": {"country": "GB", "subdiv": "ENG", "extra": ["2026-12-24"]},
        }
    ),
    calendar_from_config(
        {
            "id": "nights",
            "timezone": "America/New_York",
            "hours": {
                "mon-fri": ["22:00-24:00"],
                "tue-sat": ["00:00-02:00"],
                "sun": ["01:00-03:00"],
            },
            "holidays": {"country": "US"},
        }
    ),
]


@st.composite
def random_calendars(draw: st.DrawFn) -> Calendar:
    """Any zone, 0-3 intervals a day on a 15-minute grid, optional extra holidays."""
    hours: dict[int, list[tuple[time, time]]] = {}
    for weekday in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
        cuts = cuts[: len(cuts) // 2 * 2]
        hours[weekday] = [
            (_quarter(cuts[i]), _quarter(cuts[i + 1])) for i in range(0, len(cuts), 2)
        ]
    if not any(hours.values()):
        hours[draw(st.integers(0, 6))] = [(time(9), time(17))]
    extra = draw(st.frozensets(st.dates(date(2025, 1, 1), date(2029, 1, 1)), max_size=20))
    return Calendar("random", draw(st.sampled_from(ZONES)), hours, extra)


def _quarter(index: int) -> time:
    return time(index // 4 % 24, index % 4 * 15)


calendars = st.one_of(st.sampled_from(FIXED), random_calendars())
instants = st.builds(
    lambda seconds, zone: (EPOCH + timedelta(seconds=seconds)).astimezone(ZoneInfo(zone)),
    st.integers(0, SPAN_SECONDS),
    st.sampled_from(ZONES),
)


def in_order(*instants: datetime) -> list[datetime]:
    # in UTC: Python compares and subtracts datetimes sharing a tzinfo by wall clock, ignoring
    # DST offsets
    return sorted(at.astimezone(UTC) for at in instants)


def durations(calendar: Calendar) -> st.SearchStrategy[timedelta]:
    """Up to ~25 weeks of the calendar's working time, often a few hours."""
    longest = min(int(calendar.weekly_hours.total_seconds()) * 25, 2000 * 3600)
    return st.builds(
        lambda s: timedelta(seconds=s),
        st.one_of(st.integers(0, 12 * 3600), st.integers(0, longest)),
    )


@FAST
@given(st.data())
def test_adding_then_measuring_gives_the_duration_back(data: st.DataObject) -> None:
    calendar = data.draw(calendars)
    start, duration = data.draw(instants), data.draw(durations(calendar))
    due = add_business_time(calendar, start, duration)
    assert due >= start
    assert business_time_between(calendar, start, due) == duration


@FAST
@given(st.data())
def test_due_time_is_inside_working_hours_or_at_an_interval_end(data: st.DataObject) -> None:
    calendar = data.draw(calendars)
    start, duration = data.draw(instants), data.draw(durations(calendar))
    due = add_business_time(calendar, start, duration)
    if duration:
        assert is_working(calendar, due - TICK)
        assert business_time_between(calendar, start, due - TICK) < duration
    else:
        assert is_working(calendar, due)
        assert due == next_opening(calendar, start)


@FAST
@given(st.data())
def test_due_time_grows_strictly_with_the_duration(data: st.DataObject) -> None:
    calendar = data.draw(calendars)
    start = data.draw(instants)
    first, second = sorted([data.draw(durations(calendar)), data.draw(durations(calendar))])
    early, late = (add_business_time(calendar, start, d) for d in (first, second))
    assert early < late if first < second else early == late


@FAST
@given(calendars, instants, instants, instants)
def test_between_is_additive_over_a_split_point(
    calendar: Calendar, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = in_order(a, b, c)
    whole = business_time_between(calendar, a, c)
    assert whole == business_time_between(calendar, a, b) + business_time_between(calendar, b, c)
    assert whole <= c - a


@FAST
@given(calendars, instants)
def test_next_opening_is_working_and_nothing_works_before_it(
    calendar: Calendar, at: datetime
) -> None:
    opening = next_opening(calendar, at)
    assert opening >= at
    assert is_working(calendar, opening)
    assert business_time_between(calendar, at, opening) == timedelta(0)
    assert is_working(calendar, at) == (opening == at)


@st.composite
def pause_lists(draw: st.DrawFn) -> list[tuple[datetime, datetime | None]]:
    pauses: list[tuple[datetime, datetime | None]] = []
    for _ in range(draw(st.integers(0, 4))):
        low = draw(instants)
        length = draw(st.integers(0, 20 * 86_400))
        high = (low.astimezone(UTC) + timedelta(seconds=length)).astimezone(low.tzinfo)
        pauses.append((low, draw(st.sampled_from([None, high]))))
    return pauses


@FAST
@given(calendars, instants, instants, pause_lists())
def test_pauses_never_add_elapsed_time(
    calendar: Calendar,
    start: datetime,
    end: datetime,
    pauses: list[tuple[datetime, datetime | None]],
) -> None:
    start, end = in_order(start, end)
    elapsed = elapsed_with_pauses(calendar, start, end, pauses)
    assert timedelta(0) <= elapsed <= business_time_between(calendar, start, end)
    assert elapsed_with_pauses(calendar, start, end, []) == business_time_between(
        calendar, start, end
    )


@FAST
@given(st.data())
def test_due_with_closed_pauses_is_when_the_unpaused_time_reaches_the_target(
    data: st.DataObject,
) -> None:
    calendar = data.draw(calendars)
    start, target = data.draw(instants), data.draw(durations(calendar))
    pauses = [(low, high) for low, high in data.draw(pause_lists()) if high is not None]
    now = in_order(start, *(high for _, high in pauses))[-1]
    due = due_with_pauses(calendar, start, target, pauses, now)
    assert due is not None and due >= start
    assert elapsed_with_pauses(calendar, start, due, pauses) == target
    if not pauses:
        assert due == add_business_time(calendar, start, target)
    if target:
        assert elapsed_with_pauses(calendar, start, due - TICK, pauses) < target
