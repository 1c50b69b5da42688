"""Working-time arithmetic: working days, 调休, working hours, time limits and deadlines."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xiuhua.domain.calendar import (
    DEFAULT_PERIODS,
    LimitUnit,
    SeasonalSchedule,
    TimeLimit,
    WorkCalendar,
    WorkPeriod,
    YearSchedule,
    YearSource,
    local_zone,
    parse_schedule,
)
from xiuhua.domain.errors import InvalidInput

STANDARD_DAY = 27_000


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
       microsecond: int = 0) -> datetime:
    """A local (Asia/Shanghai) instant."""
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=local_zone())


def local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


def period(text: str) -> WorkPeriod:
    return WorkPeriod.parse(text)


SUMMER = SeasonalSchedule((5, 1), (9, 30), (period("08:00-12:00"), period("14:30-18:00")))
WINTER = SeasonalSchedule((10, 1), (4, 30), (period("09:00-12:00"), period("13:00-17:00")))
COMMAND_CENTER_PERIODS = (period("00:00-24:00"),)


@pytest.fixture
def cal() -> WorkCalendar:
    return WorkCalendar()


def due(calendar: WorkCalendar, start: datetime, limit: str) -> datetime:
    return local(calendar.deadline(start, TimeLimit.parse(limit)))


# --- the spec's worked examples ------------------------------------------------------------


def test_case_dispatched_friday_1700_with_4_working_hours_is_due_monday_noon(
        cal: WorkCalendar) -> None:
    assert due(cal, at(2026, 10, 16, 17, 0), "4wh") == at(2026, 10, 19, 12, 0)


def test_one_working_day_from_the_eve_of_national_day_runs_across_the_golden_week(
        cal: WorkCalendar) -> None:
    # Wed 09-30 10:00 leaves 6 h that day; Oct 1–7 is the holiday; 1.5 h more on Thu 10-08.
    assert due(cal, at(2026, 9, 30, 10, 0), "1wd") == at(2026, 10, 8, 10, 0)


def test_half_an_hour_from_exactly_noon_ends_at_1400(cal: WorkCalendar) -> None:
    assert due(cal, at(2026, 10, 14, 12, 0), "0.5wh") == at(2026, 10, 14, 14, 0)


def test_a_full_day_from_friday_closing_time_ends_at_next_working_day_closing_time(
        cal: WorkCalendar) -> None:
    assert due(cal, at(2026, 10, 16, 17, 30), "7.5wh") == at(2026, 10, 19, 17, 30)
    assert due(cal, at(2026, 10, 16, 17, 30), "1wd") == at(2026, 10, 19, 17, 30)


def test_deadline_may_be_noon_or_closing_time_but_never_opening_time(
        cal: WorkCalendar) -> None:
    assert due(cal, at(2026, 10, 14, 8, 30), "3.5wh") == at(2026, 10, 14, 12, 0)
    assert due(cal, at(2026, 10, 14, 8, 0), "7.5wh") == at(2026, 10, 14, 17, 30)
    assert due(cal, at(2026, 10, 14, 11, 0), "1wh") == at(2026, 10, 14, 12, 0)


def test_deadlines_are_returned_in_utc(cal: WorkCalendar) -> None:
    result = cal.deadline(at(2026, 10, 16, 17, 0), TimeLimit.parse("4wh"))
    assert result.tzinfo is UTC
    assert result == datetime(2026, 10, 19, 4, 0, tzinfo=UTC)


def test_start_given_in_another_time_zone_is_read_as_the_same_instant(
        cal: WorkCalendar) -> None:
    start = datetime(2026, 10, 16, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    assert due(cal, start, "4wh") == at(2026, 10, 19, 12, 0)


def test_microseconds_are_counted_exactly(cal: WorkCalendar) -> None:
    start = at(2026, 10, 14, 9, 0, 0, 250_000)
    assert due(cal, start, "1wh") == at(2026, 10, 14, 10, 0, 0, 250_000)
    assert cal.counted_seconds(start, at(2026, 10, 14, 9, 0, 1), True) == 0


# --- working days, holidays and 调休 --------------------------------------------------------


def test_2026_make_up_working_days_are_exactly_the_official_ones(cal: WorkCalendar) -> None:
    weekend_workdays = [d for d in _days_of(2026) if d.weekday() >= 5 and cal.is_workday(d)]
    assert weekend_workdays == [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
                                date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10)]


def test_2026_national_day_holiday_is_october_1_to_7(cal: WorkCalendar) -> None:
    days_off = [d for d in _days_of(2026) if d.month == 10 and not cal.is_workday(d)]
    assert days_off[:7] == [date(2026, 10, day) for day in range(1, 8)]
    assert cal.is_workday(date(2026, 10, 8))
    assert cal.periods_on(date(2026, 10, 5)) == []


def test_spring_festival_2026_is_off_from_february_15_to_23(cal: WorkCalendar) -> None:
    assert not any(cal.is_workday(date(2026, 2, day)) for day in range(15, 24))
    assert cal.is_workday(date(2026, 2, 24))


def test_ordinary_weekdays_work_and_weekends_rest(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2026, 11, 27))  # Friday
    assert not cal.is_workday(date(2026, 11, 28))  # Saturday
    assert not cal.is_workday(date(2026, 11, 29))  # Sunday


def test_case_dispatched_before_a_make_up_saturday_is_due_that_saturday(
        cal: WorkCalendar) -> None:
    assert due(cal, at(2026, 10, 9, 17, 0), "4wh") == at(2026, 10, 10, 12, 0)


def test_2026_is_an_official_year_and_2031_is_not(cal: WorkCalendar) -> None:
    assert cal.is_official_year(2026)
    assert not cal.is_official_year(2031)
    assert WorkCalendar(schedules=[YearSchedule(2031, {})]).is_official_year(2031)
    assert not WorkCalendar(schedules=[YearSchedule(2031, {}, official=False)]).is_official_year(2031)


# --- city overrides ------------------------------------------------------------------------


def test_city_declares_a_monday_a_holiday_and_the_deadline_moves_to_tuesday() -> None:
    city = WorkCalendar(overrides={date(2026, 10, 19): False})
    assert due(city, at(2026, 10, 16, 17, 0), "4wh") == at(2026, 10, 20, 12, 0)


def test_city_declares_a_saturday_a_working_day() -> None:
    city = WorkCalendar(overrides={date(2026, 10, 17): True})
    assert due(city, at(2026, 10, 16, 17, 0), "4wh") == at(2026, 10, 17, 12, 0)


def test_with_overrides_returns_a_new_calendar_and_keeps_the_old_one(
        cal: WorkCalendar) -> None:
    city = cal.with_overrides({date(2026, 10, 19): False}, [YearSchedule(2031, {})])
    assert not city.is_workday(date(2026, 10, 19))
    assert cal.is_workday(date(2026, 10, 19))
    assert city.is_official_year(2031) and not cal.is_official_year(2031)
    assert city.name == cal.name and city.periods == cal.periods
    again = city.with_overrides({date(2026, 10, 19): True})
    assert again.is_workday(date(2026, 10, 19)) and again.is_official_year(2031)


def test_overrides_must_map_dates_to_booleans() -> None:
    with pytest.raises(InvalidInput):
        WorkCalendar(overrides={datetime(2026, 10, 19, tzinfo=UTC): False})
    with pytest.raises(InvalidInput):
        WorkCalendar(overrides={date(2026, 10, 19): "holiday"})  # type: ignore[dict-item]


# --- provisional years: a product message, never a Python warning ------------------------


def test_a_provisional_year_is_computed_without_any_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calendar = WorkCalendar("城区")
        assert calendar.is_workday(date(2031, 3, 3))
        due(calendar, at(2030, 12, 31, 10, 0), "3wd")
        WorkCalendar(seven_day=True, periods=COMMAND_CENTER_PERIODS).is_workday(date(2031, 3, 3))


def test_provisional_years_between_two_instants_are_named() -> None:
    calendar = WorkCalendar()
    assert calendar.provisional_years(at(2026, 12, 30), at(2027, 1, 5)) == [2027]
    assert calendar.provisional_years(at(2026, 3, 1), at(2026, 3, 2)) == []
    imported = WorkCalendar(schedules=[YearSchedule(2027, {})])
    assert imported.provisional_years(at(2026, 12, 30), at(2027, 1, 5)) == []
    center = WorkCalendar(seven_day=True, periods=COMMAND_CENTER_PERIODS)
    assert center.provisional_years(at(2030, 1, 1), at(2031, 1, 1)) == []


@pytest.mark.parametrize("year", [1, 827, 944, 1949, 2101, 9999])
def test_years_outside_the_calendar_are_refused_not_guessed(year: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InvalidInput) as caught:
            WorkCalendar().is_workday(date(year, 3, 3))
    assert caught.value.code == "year_out_of_range"
    assert WorkCalendar(seven_day=True, periods=COMMAND_CENTER_PERIODS).is_workday(date(year, 3, 3))


# --- schedules -----------------------------------------------------------------------------


def test_default_working_hours_are_0830_1200_and_1330_1730(cal: WorkCalendar) -> None:
    assert [str(p) for p in DEFAULT_PERIODS] == ["08:30–12:00", "13:30–17:30"]
    assert cal.periods_on(date(2026, 10, 14)) == [
        (at(2026, 10, 14, 8, 30), at(2026, 10, 14, 12, 0)),
        (at(2026, 10, 14, 13, 30), at(2026, 10, 14, 17, 30)),
    ]
    assert cal.counted_seconds(at(2026, 10, 14, 0, 0), at(2026, 10, 15, 0, 0), True) == 27_000


def test_summer_hours_apply_from_may_to_september() -> None:
    calendar = WorkCalendar(seasonal=[SUMMER])
    assert due(calendar, at(2026, 7, 1, 11, 0), "2wh") == at(2026, 7, 1, 15, 30)
    assert due(calendar, at(2026, 9, 30, 17, 0), "1wh") == at(2026, 9, 30, 18, 0)
    assert due(calendar, at(2026, 10, 8, 11, 0), "2wh") == at(2026, 10, 8, 14, 30)


def test_a_winter_schedule_may_wrap_the_year_end() -> None:
    calendar = WorkCalendar(seasonal=[SUMMER, WINTER])
    assert [str(p) for p in calendar.periods_for(date(2026, 1, 15))] == ["09:00–12:00",
                                                                         "13:00–17:00"]
    assert calendar.periods_for(date(2026, 5, 15)) == SUMMER.periods
    boundaries = {(4, 30): WINTER, (5, 1): SUMMER, (9, 30): SUMMER, (10, 1): WINTER,
                  (12, 31): WINTER, (1, 1): WINTER}
    for (month, day), season in boundaries.items():
        assert calendar.periods_for(date(2026, month, day)) == season.periods
    assert due(calendar, at(2026, 12, 1, 11, 0), "2wh") == at(2026, 12, 1, 14, 0)


def test_overlapping_seasons_are_refused() -> None:
    with pytest.raises(InvalidInput, match="重叠"):
        WorkCalendar(seasonal=[SUMMER, SeasonalSchedule((9, 1), (10, 31), DEFAULT_PERIODS)])


@pytest.mark.parametrize("md", [(13, 1), (2, 30), (0, 5), (4, 31)])
def test_impossible_season_dates_are_refused(md: tuple[int, int]) -> None:
    with pytest.raises(InvalidInput):
        SeasonalSchedule(md, (12, 31), DEFAULT_PERIODS)


def test_periods_are_sorted_and_overlaps_refused() -> None:
    calendar = WorkCalendar(periods=[period("13:30-17:30"), period("08:30-12:00")])
    assert calendar.periods == DEFAULT_PERIODS
    with pytest.raises(InvalidInput, match="重叠"):
        WorkCalendar(periods=[period("08:30-12:00"), period("11:00-17:30")])
    with pytest.raises(InvalidInput):
        WorkCalendar(periods=[])


@pytest.mark.parametrize("start, end", [(time(12, 0), time(8, 30)), (time(9, 0), time(9, 0)),
                                        (time(0, 0, 0, 5), time(1, 0))])
def test_a_period_must_start_before_it_ends(start: time, end: time) -> None:
    with pytest.raises(InvalidInput):
        WorkPeriod(start, end)


def test_a_period_may_end_at_2400_written_as_midnight() -> None:
    whole_day = WorkPeriod.parse("00:00-24:00")
    assert whole_day == WorkPeriod(time(0, 0), time(0, 0))
    assert whole_day.seconds == 86_400
    assert str(whole_day) == "00:00–24:00"
    assert WorkPeriod.parse("18:00–24:00").end_seconds == 86_400


@pytest.mark.parametrize("text", ["08:30", "8:3x-12:00", "08:30-25:00", "a-b-c"])
def test_bad_period_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        WorkPeriod.parse(text)


# --- seven-day calendar (command center) ---------------------------------------------------


def command_center() -> WorkCalendar:
    return WorkCalendar("指挥中心", seven_day=True, periods=COMMAND_CENTER_PERIODS,
                        standard_day_seconds=86_400)


def test_command_center_works_through_weekends_and_holidays() -> None:
    calendar = command_center()
    assert calendar.is_workday(date(2026, 10, 3)) and calendar.is_workday(date(2026, 10, 4))
    assert due(calendar, at(2026, 10, 3, 22, 0), "4wh") == at(2026, 10, 4, 2, 0)
    assert due(calendar, at(2026, 10, 3, 22, 0), "2wh") == at(2026, 10, 4, 0, 0)
    assert calendar.counted_seconds(at(2026, 10, 1), at(2026, 10, 8), True) == 7 * 86_400


def test_command_center_day_shift_calendar_ignores_holidays() -> None:
    calendar = WorkCalendar("指挥中心", seven_day=True, periods=[period("08:00-20:00")])
    assert due(calendar, at(2026, 10, 1, 19, 0), "2wh") == at(2026, 10, 2, 9, 0)


def test_working_days_use_the_calendar_standard_day() -> None:
    assert command_center().parse_limit("1wd").seconds == 86_400
    assert TimeLimit.parse("1wd", 28_800).seconds == 28_800


# --- natural hours and days ----------------------------------------------------------------


def test_natural_hours_and_days_count_from_the_start_itself(cal: WorkCalendar) -> None:
    assert due(cal, at(2026, 10, 16, 17, 0), "24h") == at(2026, 10, 17, 17, 0)
    assert due(cal, at(2026, 9, 30, 10, 0), "3d") == at(2026, 10, 3, 10, 0)
    assert due(cal, at(2026, 10, 14, 12, 0), "0.5h") == at(2026, 10, 14, 12, 30)


def test_counted_seconds_natural_and_working(cal: WorkCalendar) -> None:
    friday, monday = at(2026, 10, 16, 17, 0), at(2026, 10, 19, 12, 0)
    assert cal.counted_seconds(friday, monday, True) == 4 * 3600
    assert cal.counted_seconds(friday, monday, False) == 67 * 3600
    assert cal.counted_seconds(monday, friday, True) == 0
    assert cal.counted_seconds(friday, friday, False) == 0


def test_suspension_keeps_the_remaining_working_time(cal: WorkCalendar) -> None:
    deadline = cal.deadline(at(2026, 10, 14, 9, 0), TimeLimit.parse("1wd"))
    remaining = cal.counted_seconds(at(2026, 10, 14, 15, 0), deadline, True)
    assert remaining == 3 * 3600  # 4.5 h used of 7.5 h
    resumed = cal.add(at(2026, 10, 16, 16, 30), remaining, True)
    assert local(resumed) == at(2026, 10, 19, 10, 30)


def test_adding_nothing_returns_the_start(cal: WorkCalendar) -> None:
    assert cal.add(at(2026, 10, 17, 3, 0), 0, True) == at(2026, 10, 17, 3, 0)


@pytest.mark.parametrize("seconds", [-1, 10**12, 1.5, True])
def test_bad_durations_are_refused(cal: WorkCalendar, seconds: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        cal.add(at(2026, 10, 14, 9, 0), seconds, True)
    assert caught.value.code == "invalid_duration"


# --- naive datetimes -----------------------------------------------------------------------


def test_naive_datetimes_are_refused(cal: WorkCalendar) -> None:
    naive, aware = datetime(2026, 10, 16, 17, 0), at(2026, 10, 16, 17, 0)
    calls = [lambda: cal.deadline(naive, TimeLimit.parse("4wh")),
             lambda: cal.add(naive, 60, False),
             lambda: cal.counted_seconds(naive, aware, True),
             lambda: cal.counted_seconds(aware, naive, False)]
    for call in calls:
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.code == "naive_datetime"


# --- time limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, canonical, unit, seconds", [
    ("4wh", "4wh", LimitUnit.WORKING_HOURS, 14_400),
    ("4.0wh", "4wh", LimitUnit.WORKING_HOURS, 14_400),
    ("4WH", "4wh", LimitUnit.WORKING_HOURS, 14_400),
    ("007wh", "7wh", LimitUnit.WORKING_HOURS, 25_200),
    ("0.5wh", "0.5wh", LimitUnit.WORKING_HOURS, 1_800),
    ("0.50wh", "0.5wh", LimitUnit.WORKING_HOURS, 1_800),
    ("1.5wd", "1.5wd", LimitUnit.WORKING_DAYS, 40_500),
    ("15wd", "15wd", LimitUnit.WORKING_DAYS, 405_000),
    ("100Wd", "100wd", LimitUnit.WORKING_DAYS, 2_700_000),
    ("24h", "24h", LimitUnit.HOURS, 86_400),
    ("3d", "3d", LimitUnit.DAYS, 259_200),
    ("0.0002wh", "0.0002wh", LimitUnit.WORKING_HOURS, 1),  # 0.72 s rounds to 1 s
    ("3650d", "3650d", LimitUnit.DAYS, 3650 * 86_400),
    ("3650wd", "3650wd", LimitUnit.WORKING_DAYS, 3650 * STANDARD_DAY),
])
def test_time_limits_are_parsed_and_normalised(text: str, canonical: str, unit: LimitUnit,
                                               seconds: int) -> None:
    limit = TimeLimit.parse(text)
    assert (limit.text, limit.unit, limit.seconds, str(limit)) == (canonical, unit, seconds,
                                                                   canonical)
    assert limit.working == (unit in (LimitUnit.WORKING_HOURS, LimitUnit.WORKING_DAYS))
    assert TimeLimit.parse(limit.text) == limit


@pytest.mark.parametrize("text", [
    "", "0wh", "0.0wh", "-1wh", "-0.5wd", "4", "wh", "4x", "4hours", "4 wh", " 4wh", "4wh ",
    "4 WH", "4\twh", "4wh\n", "nanwh", "NaNwh", "infwh", "1e3wh", "4.wh", ".5wh", "4wh4",
    "1,5wh", "4.5.1wh", "３wh", "4ｗｈ", "0.0001wh", "3651d", "3650.5d", "87601h", "3651wd",
    "27376wh", "99999999999999999999wh", "1" * 40 + "wh",
])
def test_bad_time_limits_are_refused_naming_the_text(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        TimeLimit.parse(text)
    assert caught.value.code == "invalid_time_limit"
    assert f"“{text}”" in caught.value.message


def test_a_time_limit_cannot_grant_zero_seconds() -> None:
    with pytest.raises(InvalidInput):
        TimeLimit("0wh", LimitUnit.WORKING_HOURS, 0)


@pytest.mark.parametrize("standard_day", [0, -1, 86_401])
def test_a_standard_day_must_be_between_one_second_and_a_day(standard_day: int) -> None:
    with pytest.raises(InvalidInput):
        TimeLimit.parse("1wd", standard_day)
    with pytest.raises(InvalidInput):
        WorkCalendar(standard_day_seconds=standard_day)


def test_unit_labels_are_chinese() -> None:
    assert [u.label for u in LimitUnit] == ["工作小时", "工作日", "小时", "天"]


# --- official schedule files ---------------------------------------------------------------


SCHEDULE_2031 = """\ufeff# 2031 年部分节假日安排（示例，不是真实通知）
date,type,name

2031-01-01,holiday,元旦
2031-01-22,休,春节
2031-01-23,假,春节
2031-01-26,上班,春节调休
2031-02-08,班
2030-12-28,workday,元旦调休
2031-04-05,休息,"清明节, 扫墓"
"""

# The State Council's notices for 2025 (国办发明电〔2024〕12号) and 2026 (国办发明电〔2025〕7号),
# as an office copies them: the days off as ranges, the make-up working days one by one.
NOTICE_2025 = """date,type,name
2025-01-01,休,元旦
2025-01-28..2025-02-04,休,春节
2025-01-26,班,春节调休
2025-02-08,班,春节调休
2025-04-04..2025-04-06,休,清明节
2025-05-01..2025-05-05,休,劳动节
2025-04-27,班,劳动节调休
2025-05-31..2025-06-02,休,端午节
2025-10-01..2025-10-08,休,国庆节、中秋节
2025-09-28,班,国庆节调休
2025-10-11,班,国庆节调休
"""
NOTICE_2026 = """# no header: the layout copied from the notice
2026-01-01..2026-01-03,休,元旦
2026-01-04,班,元旦调休
2026-02-15..2026-02-23,休,春节
2026-02-14,班,春节调休
2026-02-28,班,春节调休
2026-04-04..2026-04-06,休,清明节
2026-05-01..2026-05-05,休,劳动节
2026-05-09,班,劳动节调休
2026-06-19..2026-06-21,休,端午节
2026-09-25..2026-09-27,休,中秋节
2026-10-01..2026-10-07,休,国庆节
2026-09-20,班,国庆节调休
2026-10-10,班,国庆节调休
"""
# A made-up 2027 notice (test data only: the real one is not published yet). Its days differ
# from the package's guesses (02-05 to 02-10 with "observed" days, 06-09, no make-up days).
FICTIONAL_2027 = """date,type,name
2026-12-27,班,元旦调休（跨年）
2027-01-01..2027-01-03,holiday,元旦
2027-02-06..2027-02-12,休,春节
2027-02-20,班,春节调休
2027-04-05,休
2027-05-01..2027-05-05,休,劳动节
2027-05-08,workday,劳动节调休
2027-06-09,休,端午节
2027-09-15,休
2027-10-01..2027-10-07,休,国庆节
2027-10-09,班,国庆节调休
"""


def _file_rule(text: str, year: int) -> dict[date, bool]:
    """Every day of ``year`` by the file's rule, read independently of the parser: listed 休
    days off, listed 班 days working, every other weekday working, every other weekend off."""
    listed: dict[date, bool] = {}
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) < 2 or not fields[0][:1].isdigit():
            continue
        first, _, last = fields[0].partition("..")
        day, end = date.fromisoformat(first), date.fromisoformat(last or first)
        while day <= end:
            listed[day] = fields[1] in ("班", "workday", "上班")
            day += timedelta(days=1)
    return {d: listed.get(d, d.weekday() < 5) for d in _days_of(year)}


def _imported(text: str, year: int | None = None, partial: bool = False,
              base: WorkCalendar | None = None) -> WorkCalendar:
    schedule = parse_schedule(text, year).schedule(partial=partial)
    return (base or WorkCalendar()).with_overrides({}, [schedule])


@pytest.mark.parametrize("text, year", [(NOTICE_2025, 2025), (NOTICE_2026, 2026),
                                        (FICTIONAL_2027, 2027)])
def test_an_imported_year_is_exactly_its_file_on_every_day(text: str, year: int) -> None:
    calendar = _imported(text)
    table = _file_rule(text, year)
    assert {d: calendar.is_workday(d) for d in _days_of(year)} == table
    assert calendar.is_official_year(year) and calendar.summary(year).source is YearSource.IMPORTED


@pytest.mark.parametrize("text, year", [(NOTICE_2025, 2025), (NOTICE_2026, 2026)])
def test_2025_and_2026_match_the_official_notices_day_by_day(text: str, year: int,
                                                             cal: WorkCalendar) -> None:
    # The shipped calendar (the holidays package) and the notice agree on all 365 days.
    table = _file_rule(text, year)
    assert [d for d in _days_of(year) if cal.is_workday(d) != table[d]] == []
    assert cal.summary(year).source is YearSource.PACKAGE


def test_no_guess_of_the_package_survives_an_imported_year() -> None:
    guessed = WorkCalendar()
    assert not guessed.is_workday(date(2027, 2, 10))  # the package's 春节（补假）
    assert not guessed.is_official_year(2027)
    calendar = _imported(FICTIONAL_2027)
    assert calendar.is_workday(date(2027, 2, 5))  # the package's 除夕 guess: not in the file
    assert not calendar.is_workday(date(2027, 2, 12))
    assert calendar.is_workday(date(2027, 2, 20))  # a make-up Saturday
    assert calendar.summary(2027).makeup_workdays == 3
    assert calendar.holiday_name(date(2027, 2, 8)) == "春节"
    assert calendar.holiday_name(date(2027, 2, 13)) is None  # a plain Saturday


def test_a_row_in_another_year_is_an_override_of_that_year() -> None:
    parsed = parse_schedule(FICTIONAL_2027)
    assert parsed.year == 2027 and parsed.other_year_days == [date(2026, 12, 27)]
    calendar = _imported(FICTIONAL_2027)
    assert calendar.is_workday(date(2026, 12, 27))  # a Sunday
    assert not calendar.is_workday(date(2026, 12, 26))  # the rest of 2026 as the package says
    assert calendar.is_workday(date(2026, 10, 10)) and not calendar.is_workday(date(2026, 10, 5))


def test_city_overrides_still_apply_on_top_of_an_imported_year() -> None:
    calendar = _imported(FICTIONAL_2027, base=WorkCalendar(overrides={
        date(2027, 2, 12): True, date(2027, 3, 3): False}))
    assert calendar.is_workday(date(2027, 2, 12)) and not calendar.is_workday(date(2027, 3, 3))


def test_a_file_lacking_statutory_holidays_is_refused_naming_them() -> None:
    parsed = parse_schedule(SCHEDULE_2031)
    assert parsed.missing == ("劳动节", "端午节", "中秋节", "国庆节")
    with pytest.raises(InvalidInput) as caught:
        parsed.schedule()
    assert caught.value.code == "incomplete_schedule"
    assert "劳动节、端午节、中秋节、国庆节" in caught.value.message and "--partial" in caught.value.message


def test_two_rows_of_2027_no_longer_make_2027_official() -> None:
    # The bug this replaces: the two rows were added on top of the package's guesses (02-08 to
    # 02-10, 06-09 stayed days off) and 2027 was called official.
    parsed = parse_schedule("date,type,name\n2027-02-08,休,春节\n2027-02-20,班,春节调休\n")
    assert parsed.missing == ("元旦", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
    with pytest.raises(InvalidInput):
        parsed.schedule()
    partial = _imported("2027-02-08,休,春节\n2027-02-20,班,春节调休\n", partial=True)
    assert not partial.is_official_year(2027) and partial.summary(2027).status_label == "暂定"


def test_a_partial_import_leaves_the_year_provisional_with_its_days_as_overrides() -> None:
    calendar = _imported(SCHEDULE_2031, partial=True)
    guessed = WorkCalendar()
    assert not calendar.is_official_year(2031)
    assert calendar.summary(2031).source is YearSource.PARTIAL
    assert calendar.is_workday(date(2031, 1, 26))  # a Sunday made a working day
    assert not calendar.is_workday(date(2031, 1, 22))
    may_day = [date(2031, 5, d) for d in range(1, 6)]  # not in the file: the package's guess
    assert [calendar.is_workday(d) for d in may_day] == [guessed.is_workday(d) for d in may_day]


def test_holidays_are_recognised_by_their_day_when_rows_carry_no_name() -> None:
    text = ("2027-01-01,休\n2027-02-06,休\n2027-04-05,休\n2027-05-01,休\n2027-06-09,休\n"
            "2027-09-15,休\n2027-10-01,休\n")
    assert parse_schedule(text).missing == ()
    assert parse_schedule(text.replace("2027-09-15,休\n", "2027-09-16,休\n")).missing == ("中秋节",)


def test_the_notice_year_is_the_year_most_rows_fall_in_or_the_one_given() -> None:
    text = "date,type\n2026-12-26,班\n2026-12-27,班\n2027-01-01,休\n"
    assert parse_schedule(text).year == 2026
    chosen = parse_schedule(text, year=2027)
    assert chosen.year == 2027 and chosen.other_year_days == [date(2026, 12, 26), date(2026, 12, 27)]
    assert parse_schedule("2026-12-31,休\n2027-01-01,休\n").year == 2027  # a tie: the later
    with pytest.raises(InvalidInput, match="没有 2028 年"):
        parse_schedule(text, year=2028)


def test_a_range_row_gives_every_day_and_its_name() -> None:
    parsed = parse_schedule("2027-10-01..2027-10-07,休,国庆节\n", year=2027)
    assert sorted(parsed.days) == [date(2027, 10, d) for d in range(1, 8)]
    assert set(parsed.names.values()) == {"国庆节"} and not any(parsed.days.values())


@pytest.mark.parametrize("text, line", [
    ("date,kind\n2031-01-01,holiday\n", 1),
    ("when,type\n2031-01-01,holiday\n", 1),
    ("date,type\n2031-01-01,holiday\n2031/01/02,holiday\n", 3),
    ("date,type\n2031-02-30,holiday\n", 2),
    ("date,type\n20310101,holiday\n", 2),
    ("date,type\n# comment\n\n2031-01-01,vacation\n", 4),
    ("date,type\n2031-01-01\n", 2),
    ("date,type,name\n2031-01-01,holiday,元旦,extra\n", 2),
    ("date,type\n2031-01-01,holiday\n2031-01-02,holiday\n2031-01-01,workday\n", 4),
    ("date,type\n2031-01-01..2031-01-03,休\n2031-01-03,班\n", 3),
    ("date,type\n2031-01-05..2031-01-03,休\n", 2),
    ("date,type\n2031-01-01..2031-03-01,休\n", 2),
    ("date,type\n0827-01-01,休\n", 2),
    ("date,type,name\n2031-01-01,休," + "元" * 51 + "\n", 2),
])
def test_schedule_file_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_schedule(text)
    assert caught.value.code == "invalid_schedule_file"
    assert f"第 {line} 行" in caught.value.message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "date,type\n\n"])
def test_empty_schedule_file_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_schedule(text)


def test_duplicate_date_error_names_both_lines() -> None:
    text = "date,type\n2031-01-01,holiday\n2031-01-01,workday\n"
    with pytest.raises(InvalidInput, match=r"第 3 行.*第 2 行"):
        parse_schedule(text)


_YEAR_2027 = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]


@settings(max_examples=60)
@given(listed=st.dictionaries(st.sampled_from(_YEAR_2027), st.booleans(), max_size=40),
       city=st.dictionaries(st.sampled_from(_YEAR_2027), st.booleans(), max_size=5))
def test_any_imported_year_follows_the_file_rule_under_the_city_overrides(
        listed: dict[date, bool], city: dict[date, bool]) -> None:
    festivals = {date(2027, 1, 1), date(2027, 2, 6), date(2027, 4, 5), date(2027, 5, 1),
                 date(2027, 6, 9), date(2027, 9, 15), date(2027, 10, 1)}
    days = {**listed, **dict.fromkeys(festivals, False)}
    text = "".join(f"{d.isoformat()},{'班' if w else '休'}\n" for d, w in sorted(days.items()))
    calendar = _imported(text, base=WorkCalendar(overrides=city))
    for day in _YEAR_2027:
        expected = city.get(day, days.get(day, day.weekday() < 5))
        assert calendar.is_workday(day) is expected, day


# --- sanity for bulk use (no timing: speed targets live in bench/) --------------------------


def test_many_deadlines_and_a_decade_long_limit_are_computed(cal: WorkCalendar) -> None:
    limits = [TimeLimit.parse(t) for t in ("0.5wh", "2wh", "4wh", "1wd", "3wd", "15wd", "24h")]
    start = at(2026, 1, 5, 9, 0)
    results = [cal.deadline(start + timedelta(minutes=37 * i), limits[i % len(limits)])
               for i in range(5_000)]
    assert all(r > start for r in results)
    quiet = WorkCalendar()
    decade = quiet.deadline(start, TimeLimit.parse("3650wd"))
    assert quiet.counted_seconds(start, decade, True) == 3650 * STANDARD_DAY


# --- properties ----------------------------------------------------------------------------

CALENDARS = [
    WorkCalendar(),
    WorkCalendar("seasonal", seasonal=[SUMMER, WINTER]),
    WorkCalendar("overrides", overrides={date(2026, 10, 19): False, date(2026, 10, 17): True}),
    WorkCalendar("指挥中心", seven_day=True, periods=COMMAND_CENTER_PERIODS),
    WorkCalendar("夜班", seven_day=True, periods=[period("00:00-06:00"), period("20:00-24:00")]),
]
calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23, 59),
                        timezones=st.just(local_zone()))
whole_second_instants = instants.map(lambda moment: moment.replace(microsecond=0))
amounts = st.integers(min_value=1, max_value=15 * STANDARD_DAY)
PROPERTY = settings(derandomize=True, max_examples=200, deadline=None)


def _inside_a_working_period(calendar: WorkCalendar, moment: datetime) -> bool:
    moment = local(moment)
    days = (moment.date() - timedelta(days=1), moment.date())
    return any(start < moment <= end for day in days for start, end in calendar.periods_on(day))


@PROPERTY
@given(calendars, instants, instants, amounts, st.booleans())
def test_deadlines_are_monotonic_in_start(calendar: WorkCalendar, a: datetime, b: datetime,
                                          seconds: int, working: bool) -> None:
    first, second = min(a, b), max(a, b)
    assert calendar.add(first, seconds, working) <= calendar.add(second, seconds, working)


@PROPERTY
@given(calendars, instants, amounts, amounts, st.booleans())
def test_deadlines_are_monotonic_in_limit(calendar: WorkCalendar, start: datetime, a: int,
                                          b: int, working: bool) -> None:
    shorter, longer = min(a, b), max(a, b)
    assert calendar.add(start, shorter, working) <= calendar.add(start, longer, working)


@PROPERTY
@given(calendars, instants, amounts, amounts, st.booleans())
def test_adding_two_limits_equals_adding_their_sum(calendar: WorkCalendar, start: datetime,
                                                   a: int, b: int, working: bool) -> None:
    twice = calendar.add(calendar.add(start, a, working), b, working)
    assert twice == calendar.add(start, a + b, working)


@PROPERTY
@given(calendars, instants, amounts)
def test_working_deadlines_lie_inside_a_working_period(calendar: WorkCalendar,
                                                        start: datetime, seconds: int) -> None:
    deadline = calendar.add(start, seconds, True)
    assert deadline > start
    assert _inside_a_working_period(calendar, deadline)


@PROPERTY
@given(calendars, instants, amounts, st.booleans())
def test_counted_time_up_to_the_deadline_is_the_limit(calendar: WorkCalendar, start: datetime,
                                                      seconds: int, working: bool) -> None:
    assert calendar.counted_seconds(start, calendar.add(start, seconds, working),
                                    working) == seconds


@PROPERTY
@given(calendars, whole_second_instants, whole_second_instants, whole_second_instants)
def test_counted_time_is_additive(calendar: WorkCalendar, a: datetime, b: datetime,
                                  c: datetime) -> None:
    first, middle, last = sorted((a, b, c))
    total = calendar.counted_seconds(first, last, True)
    assert total == (calendar.counted_seconds(first, middle, True)
                     + calendar.counted_seconds(middle, last, True))
    assert total <= calendar.counted_seconds(first, last, False)


@PROPERTY
@given(calendars, instants, st.sampled_from(["0.5wh", "4wh", "1wd", "2.5wd", "15wd", "24h",
                                             "3d"]))
def test_deadline_equals_adding_the_limit_seconds(calendar: WorkCalendar, start: datetime,
                                                  text: str) -> None:
    limit = calendar.parse_limit(text)
    deadline = calendar.deadline(start, limit)
    assert deadline == calendar.add(start, limit.seconds, limit.working)
    assume(limit.working)
    assert calendar.counted_seconds(start, deadline, True) == limit.seconds


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]
