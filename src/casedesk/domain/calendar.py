"""Business calendars: weekly working hours in a timezone, minus public and extra holidays.

A ``Calendar`` turns any local date into its working intervals as UTC instants; the SLA clock
arithmetic in ``sla.py`` runs on top of that. ``calendar_from_config`` reads the
``[[calendars]]`` TOML table and names the key path to fix in every ``CalendarError``.

Wall-clock intervals are converted with zoneinfo, so a 09:00-17:00 day is 8 real hours even on a
DST-change day, while a 00:00-24:00 day lasts 23 or 25 real hours then. A wall time skipped by a
spring-forward gap maps to the instant the gap ends; a repeated wall time maps to its first
occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from casedesk.domain.errors import InvalidInput

ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)
WEEK = timedelta(days=7)
_DAY_SECONDS = 86_400
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Path = tuple[str | int, ...]
Interval = tuple[time, time]
"""(start, end) local wall-clock times; an end of ``time(0)`` means 24:00 (midnight)."""
UtcSpan = tuple[datetime, datetime]


def format_path(path: Path) -> str:
    """``("hours", "mon-fri", 1)`` -> ``hours.mon-fri[1]``."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


class CalendarError(InvalidInput, ValueError):
    """A calendar definition that cannot work; ``path`` locates the key inside the calendar."""

    title = "Invalid calendar"

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{format_path(path)}: {message}" if path else message, path=path)


@lru_cache(maxsize=2048)
def _public_holidays(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays_lib.country_holidays(country, subdiv=subdiv, years=year))


def _check_holiday_source(country: str, subdiv: str | None) -> None:
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        raise CalendarError(
            ("holidays", "country"),
            f"unknown country {country!r}; use an ISO 3166 code the holidays package knows, "
            "e.g. 'GB', 'US', 'DE', 'FR'",
        )
    try:
        holidays_lib.country_holidays(country, subdiv=subdiv)
    except NotImplementedError:
        known = ", ".join(supported[country])
        hint = f"use one of {known}" if known else f"{country} has none, remove subdiv"
        raise CalendarError(
            ("holidays", "subdiv"), f"unknown subdivision {subdiv!r} of {country}; {hint}"
        ) from None


def _seconds(value: time, path: Path) -> int:
    if value.tzinfo is not None or value.microsecond:
        raise CalendarError(path, "use plain local times without timezone or microseconds")
    return value.hour * 3600 + value.minute * 60 + value.second


def _hhmm(second: int) -> str:
    return f"{second // 3600:02d}:{second % 3600 // 60:02d}"


def _normalise_day(weekday: int, spans: Sequence[Interval]) -> tuple[tuple[int, int], ...]:
    """Validate one weekday's intervals and return them as sorted, merged second ranges."""
    ranges: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(spans):
        path: Path = ("hours", DAY_NAMES[weekday], i)
        low, high = _seconds(start, path), _seconds(end, path)
        high = high or _DAY_SECONDS  # 00:00 as an end can only mean midnight
        if low >= high:
            raise CalendarError(path, f"start {_hhmm(low)} is not before end {_hhmm(high)}")
        ranges.append((low, high))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for low, high in ranges:
        if merged and low < merged[-1][1]:
            raise CalendarError(
                ("hours", DAY_NAMES[weekday]),
                f"{_hhmm(low)}-{_hhmm(high)} overlaps {_hhmm(merged[-1][0])}-"
                f"{_hhmm(merged[-1][1])}; make the intervals of a day disjoint",
            )
        if merged and low == merged[-1][1]:
            merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return tuple(merged)


@dataclass(frozen=True)
class Calendar:
    """Working hours per weekday (0=Mon..6=Sun) in ``timezone``, minus holidays.

    ``holidays`` are explicit local dates; ``country``/``subdiv`` add public holidays from the
    holidays package, computed per year on first use.
    """

    id: str
    timezone: str
    hours: Mapping[int, Sequence[Interval]] = field(hash=False)
    holidays: frozenset[date] = frozenset()
    country: str | None = None
    subdiv: str | None = None
    tz: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _spans: tuple[tuple[tuple[int, int], ...], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _nominal: tuple[timedelta, ...] = field(init=False, repr=False, compare=False, hash=False)
    continuous: bool = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(
                ("timezone",),
                f"unknown timezone {self.timezone!r}; use an IANA name like 'Europe/London'",
            ) from None
        unknown = set(self.hours) - set(range(7))
        if unknown:
            raise CalendarError(("hours",), f"weekdays are 0 (Mon) to 6 (Sun), not {unknown}")
        spans = tuple(_normalise_day(wd, self.hours.get(wd, ())) for wd in range(7))
        if not any(spans):
            raise CalendarError(
                ("hours",),
                'no working hours at all; give at least one day, e.g. mon = ["09:00-17:00"]',
            )
        if self.country is not None:
            _check_holiday_source(self.country, self.subdiv)
        elif self.subdiv is not None:
            raise CalendarError(("holidays", "subdiv"), "a subdivision needs a country; add one")
        hours = {
            wd: tuple((_clock(low), _clock(high)) for low, high in spans[wd]) for wd in range(7)
        }
        nominal = tuple(sum((timedelta(seconds=h - lo) for lo, h in day), ZERO) for day in spans)
        always = all(day == ((0, _DAY_SECONDS),) for day in spans)
        set_ = object.__setattr__
        set_(self, "hours", hours)
        set_(self, "holidays", frozenset(self.holidays))
        set_(self, "tz", tz)
        set_(self, "_spans", spans)
        set_(self, "_nominal", nominal)
        set_(self, "continuous", always and not self.holidays and self.country is None)

    @classmethod
    def always(cls) -> Calendar:
        """The 24x7 calendar: every instant is working time."""
        return cls("24x7", "UTC", {wd: [(time(0), time(0))] for wd in range(7)})

    @property
    def weekly_hours(self) -> timedelta:
        """Nominal working time of a week without holidays or DST changes."""
        return sum(self._nominal, ZERO)

    def is_holiday(self, day: date) -> bool:
        if day in self.holidays:
            return True
        return self.country is not None and day in _public_holidays(
            self.country, self.subdiv, day.year
        )

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def wall_to_utc(self, day: date, second: int) -> datetime:
        """The UTC instant of local ``day`` + ``second`` seconds (86400 = next midnight)."""
        naive = datetime.combine(day, time()) + timedelta(seconds=second)
        utc = naive.replace(tzinfo=self.tz).astimezone(UTC)
        if utc.astimezone(self.tz).replace(tzinfo=None) == naive:
            return utc
        return self._gap_end(naive)

    def _gap_end(self, naive: datetime) -> datetime:
        # zoneinfo exposes no transition list: bisect for the instant the offset changes.
        # fold=1 reads the gap time with the later offset, giving an instant before the change.
        low = naive.replace(tzinfo=self.tz, fold=1).astimezone(UTC)
        high = naive.replace(tzinfo=self.tz, fold=0).astimezone(UTC)
        before = low.astimezone(self.tz).utcoffset()
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self.tz).utcoffset() == before:
                low = middle
            else:
                high = middle
        return high.replace(microsecond=0)  # tzdata changes happen on whole seconds

    def day_spans(self, day: date) -> list[UtcSpan]:
        """The working intervals of local ``day`` as ordered, non-empty UTC spans."""
        ranges = self._spans[day.weekday()]
        if not ranges or self.is_holiday(day):
            return []
        out = []
        for low, high in ranges:
            start, end = self.wall_to_utc(day, low), self.wall_to_utc(day, high)
            if end > start:
                out.append((start, end))
        return out

    def day_total(self, day: date) -> timedelta:
        nominal = self._nominal[day.weekday()]
        if not nominal or self.is_holiday(day):
            return ZERO
        if self.wall_to_utc(day + ONE_DAY, 0) - self.wall_to_utc(day, 0) == ONE_DAY:
            return nominal
        return sum((end - start for start, end in self.day_spans(day)), ZERO)

    def week_total(self, first: date) -> timedelta:
        """Working time of the seven local days from ``first``."""
        days = [first + timedelta(days=i) for i in range(7)]
        # A week whose midnights are 7x24h apart holds no DST change (two cancelling changes
        # inside one week do not occur in tzdata), so every interval has its nominal length.
        if self.wall_to_utc(first + WEEK, 0) - self.wall_to_utc(first, 0) != WEEK:
            return sum((self.day_total(day) for day in days), ZERO)
        lost = sum((self._nominal[d.weekday()] for d in days if self.is_holiday(d)), ZERO)
        return self.weekly_hours - lost

    def total_between_days(self, first: date, stop: date) -> timedelta:
        """Working time of the whole local days ``first`` .. ``stop`` (exclusive)."""
        total, day = ZERO, first
        while day + WEEK <= stop:
            total += self.week_total(day)
            day += WEEK
        while day < stop:
            total += self.day_total(day)
            day += ONE_DAY
        return total


def _clock(second: int) -> time:
    return time(second // 3600 % 24, second % 3600 // 60, second % 60)


_DAY_INDEX = {name: i for names in (DAY_NAMES, _FULL_NAMES) for i, name in enumerate(names)}
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CALENDAR_KEYS = ("id", "timezone", "hours", "holidays")
_HOLIDAY_KEYS = ("country", "subdiv", "extra", "years")


def _check_keys(table: Mapping[str, object], allowed: Sequence[str], path: Path) -> None:
    for key in table:
        if key not in allowed:
            raise CalendarError(
                (*path, key), f"unknown key {key!r}; expected one of {', '.join(allowed)}"
            )


def _text(table: Mapping[str, object], key: str, example: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CalendarError((key,), f"give a non-empty string, e.g. {key} = {example!r}")
    return value.strip()


def _parse_days(key: str, path: Path) -> list[int]:
    days: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(end not in _DAY_INDEX for end in ends):
            raise CalendarError(
                path,
                f"unknown day {part!r}; use mon, tue, wed, thu, fri, sat, sun, a range like "
                "'mon-fri' or 'sun-thu', or a list like 'mon,wed'",
            )
        first, last = _DAY_INDEX[ends[0]], _DAY_INDEX[ends[-1]]
        days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
    return days


def _parse_interval(text: object, path: Path) -> tuple[int, int]:
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(path, f"{text!r} is not an interval; write it like '09:00-17:30'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise CalendarError(
            path, f"{text!r} has an impossible time; use 00:00-23:59, and 24:00 only as an end"
        )
    low, high = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if low >= high:
        raise CalendarError(
            path,
            f"start {_hhmm(low)} is not before end {_hhmm(high)}; an interval cannot pass "
            "midnight: end it at 24:00 and start the next day at 00:00",
        )
    return low, high


def _parse_hours(raw: object) -> dict[int, list[Interval]]:
    if not isinstance(raw, Mapping) or not raw:
        raise CalendarError(
            ("hours",), 'give working hours as a table, e.g. hours = { mon-fri = ["09:00-17:00"] }'
        )
    found: dict[int, list[tuple[int, int, Path]]] = {wd: [] for wd in range(7)}
    for key, spans in raw.items():
        days = _parse_days(str(key), ("hours", key))
        if isinstance(spans, str):
            spans = [spans]
        if not isinstance(spans, list):
            raise CalendarError(("hours", key), 'give a list of intervals, e.g. ["09:00-17:00"]')
        for i, text in enumerate(spans):
            low, high = _parse_interval(text, ("hours", key, i))
            for wd in days:
                found[wd].append((low, high, ("hours", key, i)))
    for wd, items in found.items():
        items.sort(key=lambda item: item[:2])
        for (lo1, hi1, path1), (lo2, hi2, path2) in pairwise(items):
            if lo2 < hi1:
                raise CalendarError(
                    path2,
                    f"{_hhmm(lo2)}-{_hhmm(hi2)} overlaps {_hhmm(lo1)}-{_hhmm(hi1)} "
                    f"({format_path(path1)}) on {_FULL_NAMES[wd]}; make them not overlap",
                )
    hours = {wd: [(_clock(lo), _clock(hi)) for lo, hi, _ in items] for wd, items in found.items()}
    if not any(hours.values()):
        raise CalendarError(("hours",), "no working hours at all; give at least one interval")
    return hours


def _parse_date(value: object, path: Path) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarError(path, f"{value!r} is not a date; write it as 2026-12-24")


def _parse_years(value: object) -> list[int]:
    items = value if isinstance(value, list) else [value]
    years: list[int] = []
    for i, year in enumerate(items):
        if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
            path: Path = ("holidays", "years", i)[: 3 if isinstance(value, list) else 2]
            raise CalendarError(path, f"{year!r} is not a year; write e.g. years = [2026, 2027]")
        years.append(year)
    return years


def calendar_from_config(table: Mapping[str, object]) -> Calendar:
    """Build a ``Calendar`` from one ``[[calendars]]`` table of the TOML config.

    ``holidays.years`` only preloads those years; any other year loads on first use.
    """
    _check_keys(table, _CALENDAR_KEYS, ())
    cal_id = _text(table, "id", "london")
    timezone = _text(table, "timezone", "Europe/London")
    hours = _parse_hours(table.get("hours"))
    raw = table.get("holidays", {})
    if not isinstance(raw, Mapping):
        raise CalendarError(("holidays",), 'give a table, e.g. { country = "GB", subdiv = "ENG" }')
    _check_keys(raw, _HOLIDAY_KEYS, ("holidays",))
    country, subdiv = raw.get("country"), raw.get("subdiv")
    for key, value in (("country", country), ("subdiv", subdiv)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise CalendarError(("holidays", key), f"{key} must be a code such as 'GB' or 'ENG'")
    extra = raw.get("extra", [])
    if not isinstance(extra, list):
        raise CalendarError(("holidays", "extra"), 'give a list of dates, e.g. ["2026-12-24"]')
    dates = frozenset(_parse_date(v, ("holidays", "extra", i)) for i, v in enumerate(extra))
    country = country.strip().upper() if isinstance(country, str) else None
    subdiv = subdiv.strip() if isinstance(subdiv, str) else None
    calendar = Calendar(cal_id, timezone, hours, dates, country=country, subdiv=subdiv)
    if "years" in raw:
        for year in _parse_years(raw["years"]):
            calendar.is_holiday(date(year, 1, 1))
    return calendar
