"""Working-time arithmetic: working days, working hours, time limits and deadlines.

Rules (product spec):

* Calendars are computed in Asia/Shanghai. A working day is Monday–Friday, minus the Chinese
  statutory holidays, plus the 调休 make-up working days. Both are seeded from the ``holidays``
  package (``holidays.China``) and the city may override any single date (workday/holiday).
* A year is **official** when the city imported its State Council notice (a
  :class:`YearSchedule` whose file names all seven statutory holidays) or when the package
  carries the notice (the years in its per-year substitution tables,
  ``special_public_holidays``, which also yield ``weekend_workdays``); otherwise it is
  **provisional**: the package guesses the festivals and knows no make-up days.
* For an imported official year the schedule is exactly the file: its 休 days are off, its 班
  days work, every other weekday works and every other weekend day is off (no package guess
  survives). A file's days in another year, and every day of a partial file, are overrides on
  top of that year's rule; the city's own overrides (``calendar set``) come on top of all.
  Years outside :data:`FIRST_YEAR`–:data:`LAST_YEAR` are refused (``year_out_of_range``).
* Working periods default to 08:30–12:00 and 13:30–17:30 (7.5 h); seasonal schedules may
  replace them for a month-day range. A ``seven_day`` calendar (the command center) works
  every day with its own periods. A period ending at ``time(0, 0)`` ends at 24:00, i.e. at
  midnight at the end of its day (``WorkPeriod.parse("00:00-24:00")`` builds one).
* Working periods are half-open on the left, (08:30, 12:00]: counting starts at the next
  working instant, so a positive working deadline may be 12:00 or 17:30, never 08:30/13:30.
  Natural units (``h``, ``d``) count elapsed time from the start itself.
* Arithmetic is exact to the microsecond on absolute (epoch) time; every datetime in and out
  is timezone-aware and results are in UTC.

Performance: each date's working periods are cached per calendar as epoch microseconds with
their total, so long limits skip whole days at the cost of one dict lookup per day.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

from xiuhua.domain.choices import LabelledEnum
from xiuhua.domain.errors import InvalidInput

# The city's local time (XIUHUA_TIMEZONE, always China Standard Time: statutory working time
# is kept in it). Read it through local_zone(); the settings install it with use_local_zone().
_zone = ZoneInfo("Asia/Shanghai")


def local_zone() -> ZoneInfo:
    """The city's local time zone (the ``timezone`` setting)."""
    return _zone


def use_local_zone(name: str) -> None:
    """Install the ``timezone`` setting as the city's local time zone."""
    global _zone
    _zone = ZoneInfo(name)


def local_day(moment: datetime) -> date:
    """The day an instant falls on in Asia/Shanghai."""
    return moment.astimezone(_zone).date()


def day_start(day: date) -> datetime:
    """The first instant of a day in Asia/Shanghai."""
    return datetime.combine(day, time(0), _zone)


# The years the calendar computes (the span the holidays package covers); dates and instants
# taken from outside (query parameters, files) must lie in them too, so that adding a window or
# a time limit (at most MAX_LIMIT_DAYS) or moving between time zones stays far from datetime's
# year 1 and 9999. Other years are refused, never guessed.
FIRST_YEAR, LAST_YEAR = 1950, 2100


def in_supported_years(year: int) -> bool:
    """Whether the calendar computes ``year`` (and dates from outside may lie in it)."""
    return FIRST_YEAR <= year <= LAST_YEAR


def year_days(year: int) -> list[date]:
    """Every day of ``year``, in order."""
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year, 12, 31) - first).days + 1)]


def checked_day(day: date, name: str) -> date:
    """``day`` if it lies in the supported years, else InvalidInput naming ``name``."""
    if not in_supported_years(day.year):
        raise InvalidInput(f"{name} 超出支持的范围（{FIRST_YEAR}–{LAST_YEAR} 年）", code="date_out_of_range")
    return day


def checked_instant(moment: datetime, name: str) -> datetime:
    """An aware instant in the supported years (both as written and in UTC)."""
    checked_day(moment.date(), name)
    if moment.tzinfo is not None:  # within the years as written, so converting cannot overflow
        checked_day(moment.astimezone(UTC).date(), name)
    return moment


STANDARD_DAY_SECONDS = 27_000  # one standard working day: 7.5 h
MAX_LIMIT_DAYS = 3650  # longest accepted limit, in (working or natural) days of its unit

_DAY_SECONDS = 86_400
_US_PER_S = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_MAX_ADD_SECONDS = MAX_LIMIT_DAYS * _DAY_SECONDS

Bounds = tuple[tuple[int, int], ...]  # a day's working periods as epoch microseconds


def check_year(year: int) -> int:
    """``year`` if the calendar can compute it, else a clear refusal (never a guess)."""
    if not in_supported_years(year):
        raise InvalidInput(f"{year} 年超出工作日历支持的范围（{FIRST_YEAR}–{LAST_YEAR} 年）",
                           code="year_out_of_range")
    return year


# --- time limits ----------------------------------------------------------------------------


class LimitUnit(LabelledEnum):
    WORKING_HOURS = "wh"
    WORKING_DAYS = "wd"
    HOURS = "h"
    DAYS = "d"

    @property
    def working(self) -> bool:
        return self in (LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS)


_LIMIT_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?([A-Za-z]+)")
_MAX_LIMIT_TEXT = 32
_LIMIT_HINT = "应为数字加单位，如 4wh、0.5wd、24h、3d（wh 工作小时、wd 工作日、h 小时、d 天）"


@dataclass(frozen=True)
class TimeLimit:
    """A time limit such as ``4wh``; ``seconds`` is the counted time it grants."""

    text: str
    unit: LimitUnit
    seconds: int

    def __post_init__(self) -> None:
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int) \
                or self.seconds <= 0:
            raise _bad_limit(self.text, "时长必须大于零")

    @property
    def working(self) -> bool:
        return self.unit.working

    @classmethod
    def parse(cls, text: str, standard_day_seconds: int = STANDARD_DAY_SECONDS) -> TimeLimit:
        """Parse ``<number><unit>`` (e.g. ``4wh``, ``0.5wd``, ``24h``, ``3d``)."""
        if isinstance(text, str) and isinstance(standard_day_seconds, int):
            return _parse_limit(text, standard_day_seconds)
        return cls._parse(text, standard_day_seconds)

    @classmethod
    def _parse(cls, text: str, standard_day_seconds: int) -> TimeLimit:
        _check_standard_day(standard_day_seconds)
        valid = isinstance(text, str) and len(text) <= _MAX_LIMIT_TEXT
        match = _LIMIT_RE.fullmatch(text) if valid else None
        if match is None:
            raise _bad_limit(text, _LIMIT_HINT)
        try:
            unit = LimitUnit(match[3].lower())
        except ValueError:
            reason = "单位只能是 wh（工作小时）、wd（工作日）、h（小时）或 d（天）"
            raise _bad_limit(text, reason) from None
        value = Decimal(f"{match[1]}.{match[2] or '0'}")
        seconds = _limit_seconds(text, value, unit, standard_day_seconds)
        return cls(f"{format(value.normalize(), 'f')}{unit.value}", unit, seconds)

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=4096)
def _parse_limit(text: str, standard_day_seconds: int) -> TimeLimit:
    # Histories repeat the same few limits millions of times; a TimeLimit is immutable.
    return TimeLimit._parse(text, standard_day_seconds)


def _limit_seconds(text: str, value: Decimal, unit: LimitUnit, standard_day: int) -> int:
    """Whole seconds granted by ``value`` units, refusing zero and absurdly long limits."""
    if value == 0:
        raise _bad_limit(text, "时长必须大于零")
    per_unit = {LimitUnit.WORKING_HOURS: 3600, LimitUnit.WORKING_DAYS: standard_day,
                LimitUnit.HOURS: 3600, LimitUnit.DAYS: _DAY_SECONDS}[unit]
    day = standard_day if unit.working else _DAY_SECONDS
    exact = value * per_unit
    if exact > MAX_LIMIT_DAYS * day:
        raise _bad_limit(text, f"时长过长（不得超过 {MAX_LIMIT_DAYS} 天）")
    seconds = int(exact.to_integral_value(rounding=ROUND_HALF_UP))
    if seconds == 0:
        raise _bad_limit(text, "时长不足 1 秒")
    return seconds


def _bad_limit(text: object, reason: str) -> InvalidInput:
    return InvalidInput(f"时限“{text}”无效：{reason}", code="invalid_time_limit")


def _check_standard_day(seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int) \
            or not 0 < seconds <= _DAY_SECONDS:
        raise InvalidInput(f"标准工作日时长 {seconds} 秒无效：应在 1 到 86400 秒之间",
                           code="invalid_calendar")
    return seconds


# --- working periods and schedules ----------------------------------------------------------


@dataclass(frozen=True)
class WorkPeriod:
    """A daily working period in local time; ``end == time(0, 0)`` means 24:00."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for moment in (self.start, self.end):
            if not isinstance(moment, time) or moment.tzinfo is not None or moment.microsecond:
                raise _bad_period(self, "时刻必须是不带时区、精确到秒的时间")
        if self.start_seconds >= self.end_seconds:
            raise _bad_period(self, "开始时间必须早于结束时间")

    @property
    def start_seconds(self) -> int:
        return _seconds_of_day(self.start)

    @property
    def end_seconds(self) -> int:
        """Seconds after local midnight; 86400 for a period ending at 24:00."""
        return _seconds_of_day(self.end) or _DAY_SECONDS

    @property
    def seconds(self) -> int:
        return self.end_seconds - self.start_seconds

    @classmethod
    def parse(cls, text: str) -> WorkPeriod:
        """Parse ``HH:MM-HH:MM`` (``–`` also accepted); ``24:00`` is a valid end."""
        parts = re.split(r"\s*[-–~]\s*", text.strip())
        if len(parts) != 2:
            raise InvalidInput(f"工作时段“{text}”格式不正确，应为 08:30-12:00",
                               code="invalid_work_period")
        try:
            end = time(0, 0) if parts[1] == "24:00" else time.fromisoformat(parts[1])
            return cls(time.fromisoformat(parts[0]), end)
        except ValueError:
            raise InvalidInput(f"工作时段“{text}”中的时间无效，应为 08:30-12:00",
                               code="invalid_work_period") from None

    def __str__(self) -> str:
        end = "24:00" if self.end_seconds == _DAY_SECONDS else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}–{end}"


def _seconds_of_day(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _bad_period(period: WorkPeriod, reason: str) -> InvalidInput:
    return InvalidInput(f"工作时段 {period.start}–{period.end} 无效：{reason}",
                        code="invalid_work_period")


DEFAULT_PERIODS: tuple[WorkPeriod, ...] = (
    WorkPeriod(time(8, 30), time(12, 0)),
    WorkPeriod(time(13, 30), time(17, 30)),
)


def _checked_periods(periods: Iterable[WorkPeriod]) -> tuple[WorkPeriod, ...]:
    """Periods sorted by start; refuses an empty list and overlapping periods."""
    items = tuple(periods)
    if not items or not all(isinstance(p, WorkPeriod) for p in items):
        raise InvalidInput("工作时段不能为空，且每项必须是工作时段", code="invalid_work_period")
    ordered = tuple(sorted(items, key=lambda p: p.start_seconds))
    for before, after in pairwise(ordered):
        if after.start_seconds < before.end_seconds:
            raise InvalidInput(f"工作时段 {before} 与 {after} 重叠", code="invalid_work_period")
    return ordered


@dataclass(frozen=True)
class SeasonalSchedule:
    """Working periods for an inclusive month-day range, which may wrap the year end."""

    start_md: tuple[int, int]
    end_md: tuple[int, int]
    periods: tuple[WorkPeriod, ...]

    def __post_init__(self) -> None:
        for md in (self.start_md, self.end_md):
            _check_month_day(md)
        object.__setattr__(self, "start_md", tuple(self.start_md))
        object.__setattr__(self, "end_md", tuple(self.end_md))
        object.__setattr__(self, "periods", _checked_periods(self.periods))

    def covers(self, day: date) -> bool:
        md = (day.month, day.day)
        if self.start_md <= self.end_md:
            return self.start_md <= md <= self.end_md
        return md >= self.start_md or md <= self.end_md


def _check_month_day(md: tuple[int, int]) -> None:
    try:
        month, day = md
        date(2000, month, day)  # a leap year, so 02-29 is accepted
    except (TypeError, ValueError):
        raise InvalidInput(f"季节作息的日期 {md!r} 无效，应为（月, 日）",
                           code="invalid_schedule") from None


def _season_table(
        seasonal: Sequence[SeasonalSchedule]) -> dict[tuple[int, int], tuple[WorkPeriod, ...]]:
    """(month, day) -> periods of the season covering it; refuses overlapping seasons."""
    table: dict[tuple[int, int], tuple[WorkPeriod, ...]] = {}
    day = date(2000, 1, 1)
    while day.year == 2000:
        covering = [s for s in seasonal if s.covers(day)]
        if len(covering) > 1:
            raise InvalidInput(f"季节作息在 {day.month} 月 {day.day} 日重叠",
                               code="invalid_schedule")
        if covering:
            table[(day.month, day.day)] = covering[0].periods
        day += timedelta(days=1)
    return table


# --- official holiday data -------------------------------------------------------------------


@lru_cache(maxsize=1)
def _package_official_years() -> frozenset[int]:
    """Years for which ``holidays.China`` carries the State Council's published schedule.

    The package keys each published notice by year in ``special_public_holidays`` (the
    substituted days off and the 调休 weekend workdays they come from); other years only get
    estimated festivals with no make-up days.
    """
    china = holidays.country_holidays("CN")
    tables = getattr(china, "special_public_holidays", None)
    if isinstance(tables, Mapping):
        return frozenset(int(year) for year in tables)
    return frozenset(day.year for day in china.weekend_workdays)  # older package layouts


@cache
def _package_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(statutory days off, weekend make-up workdays) of ``year`` per the holidays package."""
    years = range(max(year - 1, 1), min(year + 1, 9999) + 1)  # neighbours: cross-year 调休
    china = holidays.country_holidays("CN", years=years)
    days_off = frozenset(day for day in china if day.year == year)
    workdays = frozenset(day for day in china.weekend_workdays if day.year == year)
    return days_off, workdays


@lru_cache(maxsize=256)
def package_holiday_names(year: int) -> Mapping[date, str]:
    """The package's zh-CN holiday names of ``year`` (its guesses, for a provisional year)."""
    china = holidays.country_holidays("CN", years=check_year(year), language="zh_CN")
    return MappingProxyType(dict(china.items()))


# The seven statutory holidays, each with the words that name it in a notice.
STATUTORY_HOLIDAYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("元旦", ("元旦",)), ("春节", ("春节",)), ("清明节", ("清明",)),
    ("劳动节", ("劳动节", "五一")), ("端午节", ("端午",)), ("中秋节", ("中秋",)),
    ("国庆节", ("国庆",)),
)
_FIXED_FESTIVALS = {"元旦": (1, 1), "劳动节": (5, 1), "国庆节": (10, 1)}


@lru_cache(maxsize=256)
def festival_days(year: int) -> Mapping[str, date]:
    """The day each statutory holiday falls on in ``year``: 01-01, 05-01 and 10-01, and the
    lunisolar festivals and 清明 as the package computes them (dates, not guesses)."""
    found = {name: date(year, month, day) for name, (month, day) in _FIXED_FESTIVALS.items()}
    for day, name in sorted(package_holiday_names(year).items()):
        if name in ("春节", "清明节", "端午节", "中秋节"):
            found.setdefault(name, day)
    return MappingProxyType(found)


@dataclass(frozen=True)
class YearSchedule:
    """One year's State Council notice as the city imported it.

    ``days`` are the file's rows (ranges expanded; True = 班, False = 休) and ``names`` the
    names they carry. An ``official`` schedule defines its ``year`` exactly; its days in other
    years, and every day of a partial (not official) import, are overrides.
    """

    year: int
    days: Mapping[date, bool]
    names: Mapping[date, str] = field(default_factory=dict)
    official: bool = True
    source: str | None = None  # the imported file's name
    imported_at: datetime | None = None

    def __post_init__(self) -> None:
        check_year(self.year)
        object.__setattr__(self, "days", MappingProxyType(_checked_overrides(self.days)))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))


class YearSource(LabelledEnum):
    """Where a year's working days come from."""

    IMPORTED = "imported"  # the city's imported notice (official)
    PACKAGE = "package"  # the notice as the holidays package carries it (official)
    PARTIAL = "partial"  # some days imported, the rest guessed (provisional)
    ESTIMATE = "estimate"  # the package's guess (provisional)


@dataclass(frozen=True)
class YearSummary:
    """A year of the calendar: official or provisional, its source, and what it counts."""

    year: int
    official: bool
    source: YearSource
    file_name: str | None
    imported_at: datetime | None
    workdays: int  # working days in the year
    holidays: int  # weekdays off (statutory holidays and their bridges)
    makeup_workdays: int  # weekend days that are working days (调休上班)

    @property
    def status_label(self) -> str:
        return "正式" if self.official else "暂定"


# --- the calendar ----------------------------------------------------------------------------


class WorkCalendar:
    """Working days and hours of one calendar, and deadline arithmetic over them."""

    def __init__(self, name: str = "default", *, periods: Sequence[WorkPeriod] = DEFAULT_PERIODS,
                 seasonal: Sequence[SeasonalSchedule] = (), seven_day: bool = False,
                 overrides: Mapping[date, bool] | None = None,
                 schedules: Iterable[YearSchedule] = (),
                 standard_day_seconds: int = STANDARD_DAY_SECONDS) -> None:
        self.name = name
        self.periods = _checked_periods(periods)
        self.seasonal = tuple(seasonal)
        self.seven_day = bool(seven_day)
        self.overrides: Mapping[date, bool] = MappingProxyType(_checked_overrides(overrides))
        by_year = {s.year: s for s in sorted(schedules, key=lambda s: s.year)}
        self.schedules: Mapping[int, YearSchedule] = MappingProxyType(by_year)
        self.standard_day_seconds = _check_standard_day(standard_day_seconds)
        self._exact = {year: s for year, s in by_year.items() if s.official}
        self._file_days = {day: workday for s in by_year.values() for day, workday in s.days.items()
                           if not s.official or day.year != s.year}
        self._names = {day: name for s in by_year.values() for day, name in s.names.items()}
        self._by_md = _season_table(self.seasonal)
        self._days: dict[int, tuple[int, Bounds]] = {}

    def __repr__(self) -> str:
        return (f"WorkCalendar({self.name!r}, periods={[str(p) for p in self.periods]}, "
                f"seasonal={len(self.seasonal)}, seven_day={self.seven_day}, "
                f"overrides={len(self.overrides)}, schedules={sorted(self.schedules)})")

    # -- days ----------------------------------------------------------------------------

    def is_official_year(self, year: int) -> bool:
        """The year's notice is known: imported by the city or carried by the package."""
        return year in self._exact or year in _package_official_years()

    def provisional_years(self, start: datetime, end: datetime) -> list[int]:
        """Provisional years whose days count between two instants (none on a seven-day
        calendar): a deadline computed across them may move when their notice is imported."""
        if self.seven_day:
            return []
        first, last = sorted((local_day(start).year, local_day(end).year))
        return [y for y in range(first, last + 1) if not self.is_official_year(y)]

    def is_workday(self, d: date) -> bool:
        return True if self.seven_day else self._scheduled_workday(d)

    def _scheduled_workday(self, d: date) -> bool:
        """Whether ``d`` works by the overrides and the year's schedule (seven-day aside)."""
        override = self.overrides.get(d)
        if override is None:
            override = self._file_days.get(d)
        if override is not None:
            return override
        exact = self._exact.get(check_year(d.year))
        if exact is not None:
            listed = exact.days.get(d)
            return d.weekday() < 5 if listed is None else listed
        days_off, weekend_workdays = _package_year(d.year)
        if d.weekday() >= 5:
            return d in weekend_workdays
        return d not in days_off

    def holiday_name(self, d: date) -> str | None:
        """The name of the holiday ``d`` is part of, if it is a day off with a name: the
        imported file's name, else (for a year not imported) the package's."""
        if self.is_workday(d):
            return None
        if d in self._names:
            return self._names[d]
        if d.year in self._exact:
            return None
        return package_holiday_names(d.year).get(d)

    def summary(self, year: int) -> YearSummary:
        """The year's status and its counts (by the schedule, whatever ``seven_day`` says)."""
        check_year(year)
        days = year_days(year)
        working = {d: self._scheduled_workday(d) for d in days}
        imported = self.schedules.get(year)
        return YearSummary(
            year=year, official=self.is_official_year(year), source=self._source(year),
            file_name=imported.source if imported else None,
            imported_at=imported.imported_at if imported else None,
            workdays=sum(working.values()),
            holidays=sum(1 for d, w in working.items() if not w and d.weekday() < 5),
            makeup_workdays=sum(1 for d, w in working.items() if w and d.weekday() >= 5))

    def _source(self, year: int) -> YearSource:
        if year in self._exact:
            return YearSource.IMPORTED
        if year in _package_official_years():
            return YearSource.PACKAGE
        return YearSource.PARTIAL if year in self.schedules else YearSource.ESTIMATE

    def periods_for(self, d: date) -> tuple[WorkPeriod, ...]:
        """The schedule in force on ``d`` (seasonal or default), working day or not."""
        return self._by_md.get((d.month, d.day), self.periods)

    def periods_on(self, d: date) -> list[tuple[datetime, datetime]]:
        """Working periods of ``d`` as aware Asia/Shanghai datetimes; empty on days off."""
        if not self.is_workday(d):
            return []
        midnight = datetime.combine(d, time(0, 0), tzinfo=_zone)
        return [(midnight + timedelta(seconds=p.start_seconds),
                 midnight + timedelta(seconds=p.end_seconds)) for p in self.periods_for(d)]

    def parse_limit(self, text: str) -> TimeLimit:
        """Parse a limit with this calendar's standard working day."""
        return TimeLimit.parse(text, self.standard_day_seconds)

    def with_overrides(self, overrides: Mapping[date, bool],
                       schedules: Iterable[YearSchedule] = ()) -> WorkCalendar:
        """A new calendar with the same schedule, these overrides on top of the current ones
        and these imported years in place of the current ones of the same year."""
        return WorkCalendar(
            self.name, periods=self.periods, seasonal=self.seasonal, seven_day=self.seven_day,
            overrides={**self.overrides, **_checked_overrides(overrides)},
            schedules={**self.schedules, **{s.year: s for s in schedules}}.values(),
            standard_day_seconds=self.standard_day_seconds)

    def _day(self, ordinal: int) -> tuple[int, Bounds]:
        """(working microseconds, period bounds in epoch microseconds) of a local date."""
        cached = self._days.get(ordinal)
        if cached is None:
            bounds = tuple((_epoch_us(start), _epoch_us(end))
                           for start, end in self.periods_on(date.fromordinal(ordinal)))
            cached = self._days[ordinal] = (sum(end - start for start, end in bounds), bounds)
        return cached

    # -- arithmetic ----------------------------------------------------------------------

    def deadline(self, start: datetime, limit: TimeLimit) -> datetime:
        """The instant at which the time counted since ``start`` reaches ``limit`` (UTC)."""
        if not isinstance(limit, TimeLimit):
            raise InvalidInput(f"时限“{limit}”无效", code="invalid_time_limit")
        return self.add(start, limit.seconds, limit.working)

    def add(self, start: datetime, seconds: int, working: bool) -> datetime:
        """``start`` plus ``seconds`` of counted time (working or natural), in UTC."""
        start_us, ordinal = _instant(start)
        if isinstance(seconds, bool) or not isinstance(seconds, int) \
                or not 0 <= seconds <= _MAX_ADD_SECONDS:
            raise InvalidInput(f"时长 {seconds} 秒无效：应为 0 到 {_MAX_ADD_SECONDS} 之间的整数",
                               code="invalid_duration")
        if seconds == 0:
            return _from_epoch_us(start_us)
        if not working:
            return _from_epoch_us(start_us + seconds * _US_PER_S)
        return _from_epoch_us(self._add_working(start_us, ordinal, seconds * _US_PER_S))

    def counted_seconds(self, a: datetime, b: datetime, working: bool) -> int:
        """Whole seconds of counted time in (a, b]; 0 when ``b <= a``."""
        a_us, a_ordinal = _instant(a)
        b_us, b_ordinal = _instant(b)
        if b_us <= a_us:
            return 0
        if not working:
            return (b_us - a_us) // _US_PER_S
        return self._working_us(a_us, a_ordinal, b_us, b_ordinal) // _US_PER_S

    def _add_working(self, start_us: int, ordinal: int, remaining: int) -> int:
        """Epoch microseconds where ``remaining`` working microseconds after ``start_us`` end."""
        for period_start, period_end in self._day(ordinal)[1]:
            if start_us >= period_end:
                continue
            begin = max(start_us, period_start)
            if remaining <= period_end - begin:
                return begin + remaining
            remaining -= period_end - begin
        while True:
            ordinal += 1
            total, bounds = self._day(ordinal)
            if remaining > total:
                remaining -= total
                continue
            for period_start, period_end in bounds:
                if remaining <= period_end - period_start:
                    return period_start + remaining
                remaining -= period_end - period_start

    def _working_us(self, a_us: int, a_ordinal: int, b_us: int, b_ordinal: int) -> int:
        """Working microseconds in (a, b], ``a`` before ``b``, days given as local ordinals."""
        total = _overlap(self._day(a_ordinal)[1], a_us, b_us)
        if b_ordinal == a_ordinal:
            return total
        for ordinal in range(a_ordinal + 1, b_ordinal):
            total += self._day(ordinal)[0]
        return total + _overlap(self._day(b_ordinal)[1], a_us, b_us)


def _overlap(bounds: Bounds, low: int, high: int) -> int:
    return sum(max(0, min(end, high) - max(start, low)) for start, end in bounds)


def _checked_overrides(overrides: Mapping[date, bool] | None) -> dict[date, bool]:
    result = dict(overrides or {})
    for day, workday in result.items():
        if isinstance(day, datetime) or not isinstance(day, date) \
                or not isinstance(workday, bool):
            raise InvalidInput(f"日历调整项 {day!r}: {workday!r} 无效：应为 日期 → 是否上班",
                               code="invalid_calendar")
    return result


def _instant(moment: datetime) -> tuple[int, int]:
    """Epoch microseconds and the Asia/Shanghai date ordinal of an aware datetime."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidInput(f"时间“{moment}”缺少时区，无法计算时限", code="naive_datetime")
    return (moment - _EPOCH) // _ONE_US, moment.astimezone(_zone).toordinal()


def _epoch_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _ONE_US


def _from_epoch_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


# --- official schedule files -----------------------------------------------------------------

_WORKDAY_WORDS = frozenset({"workday", "上班", "班", "工作日"})
_HOLIDAY_WORDS = frozenset({"holiday", "休", "休息", "假", "放假"})
_HEADER_WORDS = ({"date", "日期"}, {"type", "类型"}, {"name", "名称"})
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RANGE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\s*(?:\.\.|至)\s*([0-9]{4}-[0-9]{2}-[0-9]{2})")
MAX_NAME_LENGTH = 50
MAX_RANGE_DAYS = 31  # the longest run of days one row may give (a notice's longest is 9)


@dataclass(frozen=True)
class ScheduleFile:
    """A parsed schedule file: the notice ``year`` it belongs to, its days and names, and
    the statutory holidays of that year it does not name (by name or by date)."""

    year: int
    days: Mapping[date, bool]
    names: Mapping[date, str]
    missing: tuple[str, ...]

    def schedule(self, *, partial: bool = False, source: str | None = None,
                 imported_at: datetime | None = None) -> YearSchedule:
        """The schedule to keep; a file lacking a statutory holiday is refused unless
        ``partial`` (a partial import leaves the year provisional: its days are overrides)."""
        if self.missing and not partial:
            raise InvalidInput(
                f"{self.year} 年放假安排缺少法定节假日：{'、'.join(self.missing)}；"
                f"若只想导入其中几天，请选择“部分导入”（--partial），该年仍为暂定",
                code="incomplete_schedule")
        return YearSchedule(self.year, self.days, self.names, official=not partial,
                            source=source, imported_at=imported_at)

    @property
    def other_year_days(self) -> list[date]:
        """Rows outside the notice year (overrides, such as a make-up day in late December)."""
        return sorted(d for d in self.days if d.year != self.year)


def parse_schedule(text: str, year: int | None = None) -> ScheduleFile:
    """Parse an official schedule (CSV ``date,type[,name]``, header optional).

    ``date`` is ``YYYY-MM-DD`` or a range ``YYYY-MM-DD..YYYY-MM-DD``; ``type`` is ``workday``
    (上班/班/工作日) or ``holiday`` (休/休息/假/放假). Blank lines and ``#`` comments are
    skipped. The file belongs to ``year`` or, by default, to the year most of its days fall in
    (the later one on a tie).
    """
    days: dict[date, bool] = {}
    names: dict[date, str] = {}
    first_line: dict[date, int] = {}
    for line_no, fields in _data_rows(text):
        run, workday, name = _schedule_row(line_no, fields)
        for day in run:
            if day in first_line:
                raise _bad_line(line_no, f"日期 {day} 重复（第 {first_line[day]} 行已出现）")
            first_line[day], days[day] = line_no, workday
            if name:
                names[day] = name
    if not days:
        raise InvalidInput("放假安排文件中没有任何日期", code="invalid_schedule_file")
    notice_year = _notice_year(days, year)
    return ScheduleFile(notice_year, MappingProxyType(days), MappingProxyType(names),
                        _missing_holidays(notice_year, days, names))


def _notice_year(days: Mapping[date, bool], year: int | None) -> int:
    counts = Counter(day.year for day in days)
    if year is None:
        return max(counts, key=lambda y: (counts[y], y))
    check_year(year)
    if year not in counts:
        raise InvalidInput(f"放假安排文件中没有 {year} 年的日期", code="invalid_schedule_file")
    return year


def _missing_holidays(year: int, days: Mapping[date, bool],
                      names: Mapping[date, str]) -> tuple[str, ...]:
    """Statutory holidays with no day off in the file, by name or on the festival's day."""
    off = [d for d, workday in days.items() if not workday]
    named = " ".join(names.get(d, "") for d in off)
    festivals = festival_days(year)
    return tuple(holiday for holiday, words in STATUTORY_HOLIDAYS
                 if not any(word in named for word in words)
                 and festivals.get(holiday) not in off)


def _data_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """The rows after an optional ``date,type[,name]`` header."""
    rows = _schedule_rows(text)
    for line_no, fields in rows:
        if fields and fields[0].lower() in _HEADER_WORDS[0]:
            _check_header(line_no, fields)
        elif fields and _ISO_DATE.match(fields[0]):
            yield line_no, fields
        else:
            raise _bad_line(line_no, "表头应为 date,type 或 date,type,name")
        break
    yield from rows


def _schedule_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, stripped fields) of each non-blank, non-comment line."""
    for line_no, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line_no, [field.strip() for field in next(csv.reader([line]))]


def _check_header(line_no: int, fields: list[str]) -> None:
    words = [field.lower() for field in fields]
    if not 2 <= len(words) <= 3 or not all(
            word in allowed for word, allowed in zip(words, _HEADER_WORDS, strict=False)):
        raise _bad_line(line_no, "表头应为 date,type 或 date,type,name")


def _schedule_row(line_no: int, fields: list[str]) -> tuple[list[date], bool, str | None]:
    if len(fields) not in (2, 3):
        raise _bad_line(line_no, f"应有 2 或 3 列（date,type[,name]），实际 {len(fields)} 列")
    raw_type = fields[1].lower()
    name = fields[2] if len(fields) == 3 and fields[2] else None
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise _bad_line(line_no, f"名称过长（不超过 {MAX_NAME_LENGTH} 字）")
    if raw_type in _WORKDAY_WORDS:
        return _row_days(line_no, fields[0]), True, name
    if raw_type in _HOLIDAY_WORDS:
        return _row_days(line_no, fields[0]), False, name
    raise _bad_line(line_no, f"类型“{fields[1]}”无效，应为 workday（班）或 holiday（休）")


def _row_days(line_no: int, raw: str) -> list[date]:
    """The day, or every day of a range ``YYYY-MM-DD..YYYY-MM-DD``, of one row."""
    match = _RANGE.fullmatch(raw)
    first, last = (match[1], match[2]) if match else (raw, raw)
    start, end = _row_date(line_no, first), _row_date(line_no, last)
    if end < start:
        raise _bad_line(line_no, f"日期范围“{raw}”的结束日期早于开始日期")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise _bad_line(line_no, f"日期范围“{raw}”超过 {MAX_RANGE_DAYS} 天")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _row_date(line_no: int, raw: str) -> date:
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise _bad_line(line_no, f"日期“{raw}”无效，应为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD") \
            from None
    if not in_supported_years(day.year):
        raise _bad_line(line_no, f"日期“{raw}”超出工作日历支持的范围（{FIRST_YEAR}–{LAST_YEAR} 年）")
    return day


def _bad_line(line_no: int, reason: str) -> InvalidInput:
    return InvalidInput(f"放假安排文件第 {line_no} 行：{reason}", code="invalid_schedule_file")
