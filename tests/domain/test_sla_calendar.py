"""Example tests of business calendars and the SLA clock: hours, holidays, DST, pauses, config."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from casedesk.domain.errors import InvalidInput
from casedesk.domain.sla import (
    Calendar,
    CalendarError,
    add_business_time,
    business_time_between,
    calendar_from_config,
    due_with_pauses,
    elapsed_with_pauses,
    is_working,
    next_opening,
    remaining_with_pauses,
)

LON = ZoneInfo("Europe/London")
NYC = ZoneInfo("America/New_York")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def lon(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LON)


def nyc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NYC)


def make(hours: dict[str, list[str]], tz: str = "Europe/London", **holidays: object) -> Calendar:
    table: dict[str, object] = {"id": "t", "timezone": tz, "hours": hours}
    if holidays:
        table["holidays"] = holidays
    return calendar_from_config(table)


OFFICE = make({"mon-fri": ["09:00-17:00"]})
LUNCH = make({"mon-fri": ["09:00-12:30", "13:30-17:30"]}, country="GB", subdiv="ENG")
ENGLAND = make({"mon-fri": ["09:00-17:00"]}, country="GB", subdiv="ENG", extra=["2026-12-24"])
NEW_YORK = make({"mon-fri": ["09:00-17:00"]}, "America/New_York", country="US")
NIGHTS = make({"mon-fri": ["22:00-24:00"], "tue-sat": ["00:00-02:00"]})
EVERY_DAY = make({"mon-sun": ["09:00-17:00"]})


# ---- a naive reference: step minute by minute over local wall-clock time ----------------------


def _working_ref(calendar: Calendar, at: datetime) -> bool:
    local = at.astimezone(calendar.tz)
    second = local.hour * 3600 + local.minute * 60 + local.second
    if calendar.is_holiday(local.date()):
        return False
    for start, end in calendar.hours[local.weekday()]:
        low = start.hour * 3600 + start.minute * 60
        high = (end.hour * 3600 + end.minute * 60) or 86_400
        if low <= second < high:
            return True
    return False


def add_ref(calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
    at, left = start.astimezone(UTC), duration // M
    while left:
        left -= _working_ref(calendar, at)
        at += M
    return at


def between_ref(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    at, total = start.astimezone(UTC), timedelta(0)
    while at < end:
        total += M * _working_ref(calendar, at)
        at += M
    return total


# ---- adding working time -----------------------------------------------------------------------


def test_friday_evening_plus_one_hour_is_monday_ten() -> None:
    assert add_business_time(OFFICE, lon(2026, 6, 5, 17), H) == lon(2026, 6, 8, 10)


def test_result_is_utc_and_may_end_exactly_at_closing() -> None:
    due = add_business_time(OFFICE, lon(2026, 6, 5, 16), H)
    assert due == lon(2026, 6, 5, 17)
    assert due.tzinfo is UTC


def test_lunch_break_is_skipped() -> None:
    assert add_business_time(LUNCH, lon(2026, 6, 1, 12), H) == lon(2026, 6, 1, 14)
    assert business_time_between(LUNCH, lon(2026, 6, 1, 9), lon(2026, 6, 1, 18)) == 7.5 * H


def test_christmas_holidays_and_boxing_day_substitute_are_skipped() -> None:
    # 24th extra, 25th Christmas (Fri), weekend, 28th Boxing Day (substitute day)
    assert add_business_time(ENGLAND, lon(2026, 12, 23, 16), 2 * H) == lon(2026, 12, 29, 10)
    assert ENGLAND.is_holiday(date(2026, 12, 28))


def test_start_inside_a_holiday_waits_for_the_next_working_day() -> None:
    assert add_business_time(ENGLAND, lon(2026, 12, 25, 11), H) == lon(2026, 12, 29, 10)
    assert next_opening(ENGLAND, lon(2026, 12, 25, 11)) == lon(2026, 12, 29, 9)
    assert not is_working(ENGLAND, lon(2026, 12, 25, 11))


def test_across_year_end_loads_the_next_years_holidays() -> None:
    # 2027-01-01 is a Friday bank holiday
    assert add_business_time(ENGLAND, lon(2026, 12, 31, 16), 2 * H) == lon(2027, 1, 4, 10)
    assert business_time_between(ENGLAND, lon(2026, 12, 31), lon(2027, 1, 5)) == 16 * H


def test_zero_duration_is_the_start_when_working_else_the_next_opening() -> None:
    assert add_business_time(OFFICE, lon(2026, 6, 1, 10), timedelta(0)) == lon(2026, 6, 1, 10)
    assert add_business_time(OFFICE, lon(2026, 6, 1, 17), timedelta(0)) == lon(2026, 6, 2, 9)
    assert add_business_time(OFFICE, lon(2026, 6, 6, 12), timedelta(0)) == lon(2026, 6, 8, 9)


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        # Europe/London: 29 March and 25 October 2026
        (lon(2026, 3, 27, 16), 2 * H, lon(2026, 3, 30, 10)),
        (lon(2026, 10, 23, 16), 2 * H, lon(2026, 10, 26, 10)),
        (lon(2026, 3, 27, 9), 40 * H, lon(2026, 4, 2, 17)),
        # America/New_York: 8 March and 1 November 2026
        (nyc(2026, 3, 6, 16), 2 * H, nyc(2026, 3, 9, 10)),
        (nyc(2026, 10, 30, 16, 30), H, nyc(2026, 11, 2, 9, 30)),
    ],
)
def test_office_hours_across_dst_changes(
    start: datetime, duration: timedelta, due: datetime
) -> None:
    calendar = OFFICE if start.tzinfo is LON else NEW_YORK
    assert add_business_time(calendar, start, duration) == due
    assert business_time_between(calendar, start, due) == duration


def test_a_dst_change_day_still_has_eight_working_hours() -> None:
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        start = datetime.combine(day, time(0), LON)
        assert business_time_between(EVERY_DAY, start, start + 2 * timedelta(days=1)) == 16 * H
        assert EVERY_DAY.day_total(day) == 8 * H
    assert add_business_time(EVERY_DAY, lon(2026, 10, 24, 16), 2 * H) == lon(2026, 10, 25, 10)


def test_24x7_counts_real_elapsed_time_across_dst() -> None:
    always = Calendar.always()
    assert always.id == "24x7"
    assert add_business_time(always, lon(2026, 3, 29), 24 * H) == lon(2026, 3, 30, 1)
    assert business_time_between(always, lon(2026, 10, 25), lon(2026, 10, 26)) == 25 * H
    assert is_working(always, lon(2026, 12, 25, 3))


def test_whole_day_hours_with_holidays_follow_real_time_on_dst_days() -> None:
    calendar = make({"mon-sun": ["00:00-24:00"]}, extra=["2026-01-01"])
    assert not calendar.continuous
    assert calendar.day_total(date(2026, 3, 29)) == 23 * H
    assert calendar.day_total(date(2026, 10, 25)) == 25 * H
    assert add_business_time(calendar, lon(2026, 3, 29), 24 * H) == lon(2026, 3, 30, 1)


def test_night_shift_across_new_york_dst_changes() -> None:
    calendar = make({"sun": ["00:00-03:00"]}, "America/New_York")
    assert calendar.day_total(date(2026, 3, 8)) == 2 * H  # 02:00-03:00 does not exist
    assert calendar.day_total(date(2026, 11, 1)) == 4 * H  # 01:00-02:00 happens twice
    assert calendar.day_total(date(2026, 11, 8)) == 3 * H
    assert add_business_time(calendar, nyc(2026, 3, 8), 2 * H) == nyc(2026, 3, 8, 3)


def test_interval_starting_inside_a_spring_gap_starts_when_the_gap_ends() -> None:
    calendar = make({"sun": ["02:30-04:00"]}, "America/New_York")
    assert calendar.day_spans(date(2026, 3, 8)) == [
        (datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 3, 8, 8, tzinfo=UTC))
    ]


def test_split_shift_across_midnight() -> None:
    assert add_business_time(NIGHTS, lon(2026, 6, 1, 23), 2 * H) == lon(2026, 6, 2, 1)
    assert add_business_time(NIGHTS, lon(2026, 6, 5, 23), 3 * H) == lon(2026, 6, 6, 2)
    assert add_business_time(NIGHTS, lon(2026, 6, 5, 23), 3 * H + M) == lon(2026, 6, 8, 22, 1)
    assert is_working(NIGHTS, lon(2026, 6, 2, 0))
    assert not is_working(NIGHTS, lon(2026, 6, 1, 0))  # Monday 00:00: Sunday night is off
    assert business_time_between(NIGHTS, lon(2026, 6, 1), lon(2026, 6, 8)) == 20 * H


@pytest.mark.parametrize(
    ("calendar", "start", "duration"),
    [
        (LUNCH, lon(2026, 3, 20, 15, 17), 400 * H),
        (NEW_YORK, nyc(2026, 10, 1, 8), 400 * H + 7 * M),
        (NIGHTS, lon(2026, 10, 20, 23, 30), 97 * H),
        (make({"sun-thu": ["08:00-16:00"]}, "Asia/Dubai"), lon(2026, 12, 30), 120 * H),
    ],
    ids=["london-lunch", "new-york", "nights", "dubai-sun-thu"],
)
def test_long_durations_match_minute_stepping(
    calendar: Calendar, start: datetime, duration: timedelta
) -> None:
    due = add_business_time(calendar, start, duration)
    assert due == add_ref(calendar, start, duration)
    assert business_time_between(calendar, start, due) == duration
    assert business_time_between(calendar, start, due + 50 * H) == between_ref(
        calendar, start, due + 50 * H
    )


def test_between_is_zero_for_an_empty_or_reversed_range() -> None:
    assert business_time_between(OFFICE, lon(2026, 6, 1, 12), lon(2026, 6, 1, 12)) == timedelta(0)
    assert business_time_between(OFFICE, lon(2026, 6, 1, 12), lon(2026, 6, 1, 10)) == timedelta(0)


def test_decades_long_duration_is_fast_and_consistent() -> None:
    start = lon(2026, 1, 5, 9)
    due = add_business_time(LUNCH, start, 20_000 * H)
    assert due.year in (2035, 2036)
    assert business_time_between(LUNCH, start, due) == 20_000 * H


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_business_time(OFFICE, datetime(2026, 6, 1, 9), H),
        lambda: business_time_between(OFFICE, lon(2026, 6, 1), datetime(2026, 6, 2)),
        lambda: is_working(OFFICE, datetime(2026, 6, 1, 9)),
        lambda: next_opening(OFFICE, datetime(2026, 6, 1, 9)),
        lambda: elapsed_with_pauses(
            OFFICE, lon(2026, 6, 1), lon(2026, 6, 2), [(datetime(2026, 6, 1), None)]
        ),
        lambda: add_business_time(OFFICE, lon(2026, 6, 1, 9), -H),
    ],
)
def test_naive_datetimes_and_negative_durations_are_rejected(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


# ---- pauses ------------------------------------------------------------------------------------


def test_elapsed_excludes_pauses_and_an_open_pause_runs_to_the_end() -> None:
    start, end = lon(2026, 6, 1, 9), lon(2026, 6, 3, 17)
    assert elapsed_with_pauses(OFFICE, start, end, []) == 24 * H
    closed = [
        (lon(2026, 6, 1, 16), lon(2026, 6, 2, 10)),
        (lon(2026, 6, 2, 9, 30), lon(2026, 6, 2, 11)),
    ]
    assert elapsed_with_pauses(OFFICE, start, end, closed) == 21 * H
    assert elapsed_with_pauses(OFFICE, start, end, [(lon(2026, 6, 3, 12), None)]) == 19 * H
    assert elapsed_with_pauses(OFFICE, start, end, [(lon(2026, 6, 4), None)]) == 24 * H


def test_due_with_pauses_moves_by_the_paused_working_time() -> None:
    start, now = lon(2026, 6, 1, 9), lon(2026, 6, 2, 12)
    pauses = [(lon(2026, 6, 1, 15), lon(2026, 6, 2, 11))]  # 2h + 2h of working time paused
    assert due_with_pauses(OFFICE, start, 8 * H, [], now) == lon(2026, 6, 1, 17)
    assert due_with_pauses(OFFICE, start, 8 * H, pauses, now) == lon(2026, 6, 2, 13)
    assert due_with_pauses(OFFICE, start, 4 * H, pauses, now) == lon(2026, 6, 1, 13)
    assert due_with_pauses(OFFICE, start, 6 * H, pauses, now) == lon(2026, 6, 1, 15)


def test_an_open_pause_stops_the_clock() -> None:
    start, now = lon(2026, 6, 1, 9), lon(2026, 6, 2, 12)
    pauses = [(lon(2026, 6, 1, 15), None)]
    assert due_with_pauses(OFFICE, start, 8 * H, pauses, now) is None
    assert remaining_with_pauses(OFFICE, start, 8 * H, pauses, now) == 2 * H
    assert remaining_with_pauses(OFFICE, start, 8 * H, [], now) == -3 * H


def test_pauses_after_now_are_rejected() -> None:
    with pytest.raises(ValueError, match="after now"):
        due_with_pauses(OFFICE, lon(2026, 6, 1, 9), H, [(lon(2026, 6, 3), None)], lon(2026, 6, 2))


# ---- configuration -----------------------------------------------------------------------------

LONDON_TOML = """
[[calendars]]
id = "london"
timezone = "Europe/London"
hours = { mon-fri = ["09:00-12:30", "13:30-17:30"], sat = ["10:00-14:00"] }
holidays = { country = "GB", subdiv = "ENG", extra = ["2026-12-24", 2026-12-31], years = [2026] }
"""


def test_the_documented_toml_shape_parses() -> None:
    calendar = calendar_from_config(tomllib.loads(LONDON_TOML)["calendars"][0])
    assert calendar.id == "london"
    assert calendar.hours[0] == ((time(9), time(12, 30)), (time(13, 30), time(17, 30)))
    assert calendar.hours[5] == ((time(10), time(14)),)
    assert calendar.hours[6] == ()
    assert calendar.holidays == {date(2026, 12, 24), date(2026, 12, 31)}
    assert calendar.weekly_hours == 41.5 * H
    assert calendar.is_holiday(date(2026, 12, 25)) and calendar.is_holiday(date(2030, 12, 25))


def test_config_equals_direct_construction_and_touching_intervals_merge() -> None:
    parsed = make({"mon": ["09:00-12:00", "12:00-17:00"], "tue": ["22:00-24:00"]})
    direct = Calendar("t", "Europe/London", {0: [(time(9), time(17))], 1: [(time(22), time(0))]})
    assert parsed == direct
    assert hash(parsed) == hash(direct)


def test_day_ranges_wrap_and_lists_are_allowed() -> None:
    assert set(make({"fri-mon": ["09:00-10:00"]}).hours) == set(range(7))
    assert [wd for wd, h in make({"fri-mon": ["09:00-10:00"]}).hours.items() if h] == [0, 4, 5, 6]
    assert [wd for wd, h in make({"mon,Wednesday": ["09:00-10:00"]}).hours.items() if h] == [0, 2]


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (
            {"hours": {"mon-fri": ["09:00-13:00", "12:00-17:00"]}},
            ("hours", "mon-fri", 1),
            "overlaps",
        ),
        (
            {"hours": {"mon-fri": ["09:00-12:00"], "wed": ["11:00-14:00"]}},
            ("hours", "wed", 0),
            "overlaps",
        ),
        ({"hours": {"mon": ["17:00-09:00"]}}, ("hours", "mon", 0), "not before"),
        ({"hours": {"mon": ["09:00-09:00"]}}, ("hours", "mon", 0), "not before"),
        ({"hours": {"mon": ["9am-5pm"]}}, ("hours", "mon", 0), "like '09:00-17:30'"),
        ({"hours": {"mon": ["09:00-25:00"]}}, ("hours", "mon", 0), "impossible"),
        ({"hours": {"mon": ["24:00-24:00"]}}, ("hours", "mon", 0), "impossible"),
        ({"hours": {"mon": "09:00"}}, ("hours", "mon", 0), "not an interval"),
        ({"hours": {"mon-frx": ["09:00-17:00"]}}, ("hours", "mon-frx"), "unknown day"),
        ({"hours": {"mon": []}}, ("hours",), "no working hours"),
        ({"hours": {}}, ("hours",), "as a table"),
        ({"timezone": "Europe/Londn"}, ("timezone",), "IANA"),
        ({"timezone": ""}, ("timezone",), "non-empty"),
        ({"holidays": {"country": "XX"}}, ("holidays", "country"), "unknown country"),
        ({"holidays": {"country": "GB", "subdiv": "XYZ"}}, ("holidays", "subdiv"), "ENG"),
        ({"holidays": {"subdiv": "ENG"}}, ("holidays", "subdiv"), "needs a country"),
        ({"holidays": {"extra": ["2026-13-01"]}}, ("holidays", "extra", 0), "2026-12-24"),
        ({"holidays": {"years": ["2026"]}}, ("holidays", "years", 0), "not a year"),
        ({"holidays": {"region": "x"}}, ("holidays", "region"), "unknown key"),
        ({"colour": "red"}, ("colour",), "unknown key"),
    ],
)
def test_config_errors_name_the_path_and_the_fix(
    change: dict[str, object], path: tuple[object, ...], words: str
) -> None:
    table = {"id": "x", "timezone": "Europe/London", "hours": {"mon": ["09:00-17:00"]}} | change
    with pytest.raises(CalendarError) as caught:
        calendar_from_config(table)
    assert caught.value.path == path
    assert words in caught.value.message


def test_calendar_error_is_an_invalid_input_with_a_readable_path() -> None:
    with pytest.raises(CalendarError) as caught:
        make({"mon-fri": ["09:00-12:00", "11:00-13:00"]})
    error = caught.value
    assert isinstance(error, InvalidInput) and isinstance(error, ValueError)
    assert str(error).startswith("hours.mon-fri[1]: 11:00-13:00 overlaps 09:00-12:00")


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(CalendarError, match="overlaps"):
        Calendar("x", "UTC", {0: [(time(9), time(12)), (time(11), time(13))]})
    with pytest.raises(CalendarError, match="weekdays are 0"):
        Calendar("x", "UTC", {7: [(time(9), time(12))]})
    with pytest.raises(CalendarError, match="no working hours"):
        Calendar("x", "UTC", {})
    assert not is_working(OFFICE, lon(2026, 6, 1, 17))  # intervals are half-open
