"""Assessment (绩效评价): the monthly indicators of handling units, regions, inspectors and the
command center, scores, grades and ranks — pure formulas over plain records.

Every figure is a count of *items* (a case, with the assignment it concerns and the instant it
counted), so each figure can be listed case by case: the drill-down of a measure is exactly the
items it counts. Periods are [start, end) in Asia/Shanghai; only events before ``end`` count.

Handling unit U, period P (see the assessment issue for the full wording):

- ``dispatched``: ``dispatch`` events to U in P;
- ``handled`` / ``handled_on_time``: U's assignments handled (``feedback``) in P / at or before
  their deadline; ``returned``: U's assignments returned in P;
- ``overdue_unhandled``: U's assignments with :func:`~xiuhua.domain.lifecycle.overdue_at` at
  ``end`` (an assignment overdue at several month-ends counts in each month);
- ``due`` = handled + overdue_unhandled; ``should_close`` = closed + overdue_unhandled;
- ``reworked`` / ``checked_ok``: ``check_fail`` / ``check_pass`` events in P on U's assignments;
- ``closed``: cases closed in P whose last assignment was U's; ``closed_on_time``: those in
  which every handled assignment of U was on time;
- ``supervised``: ``supervise`` events in P while U held the case;
- ``rated`` / ``satisfied``: ``rate`` events in P on cases whose last assignment was U's.

A unit's score is the weighted mean of its score sources (:mod:`xiuhua.domain.sources`); the
``cases`` source, defined here, scores the rates above.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from itertools import pairwise
from typing import Any

from xiuhua.domain.access import PEOPLE_SUBJECTS, Principal, sees_person_figures
from xiuhua.domain.calendar import TimeLimit, WorkCalendar, local_zone
from xiuhua.domain.choices import (
    Action,
    AssessedKind,
    AssignmentEnd,
    AssignmentKind,
    CancelReason,
    Rating,
    RegionLevel,
    Role,
    Source,
    UnitKind,
)
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.lifecycle import Assignment, overdue_at
from xiuhua.domain.sources import (
    Scored,
    SourceResult,
    UnitFacts,
    WeightedSource,
    composite,
    config_error,
    config_number,
    parse_sources,
    register_source,
    score_unit,
)

# --- periods --------------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_STEP_MONTHS = {"month": 1, "quarter": 3, "year": 12}
MIN_YEAR, MAX_YEAR = 1949, 2999


def _month_start(index: int) -> datetime:
    """The first instant of month number ``index`` (year * 12 + month - 1), in Shanghai."""
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=local_zone())


def month_label(day: date | datetime) -> str:
    """``2026-10`` for any day (or instant, taken in Shanghai) of October 2026."""
    if isinstance(day, datetime):
        day = day.astimezone(local_zone()).date()
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class Period:
    """A month ``2026-10``, quarter ``2026Q4`` or year ``2026``, as [start, end) in Shanghai."""

    label: str
    kind: str  # month / quarter / year
    first_month: int  # year * 12 + month - 1 of its first month

    @classmethod
    def parse(cls, text: str) -> Period:
        text = (text or "").strip()
        m = _MONTH.match(text) or _QUARTER.match(text) or _YEAR.match(text)
        if m and MIN_YEAR <= int(m[1]) <= MAX_YEAR:
            year = int(m[1])
            if m.re is _YEAR:
                return cls.of("year", year * 12)
            if m.re is _QUARTER:
                return cls.of("quarter", year * 12 + (int(m[2]) - 1) * 3)
            if 1 <= int(m[2]) <= 12:
                return cls.of("month", year * 12 + int(m[2]) - 1)
        raise InvalidInput(f"考核周期“{text}”无效，应为月（2026-10）、季度（2026Q4）或年（2026）",
                           code="invalid_period")

    @classmethod
    def of(cls, kind: str, first_month: int) -> Period:
        year, month = divmod(first_month, 12)
        label = {"month": f"{year:04d}-{month + 1:02d}", "quarter": f"{year:04d}Q{month // 3 + 1}",
                 "year": f"{year:04d}"}[kind]
        return cls(label, kind, first_month)

    @cached_property
    def start(self) -> datetime:
        return _month_start(self.first_month)

    @cached_property
    def end(self) -> datetime:
        return _month_start(self.first_month + _STEP_MONTHS[self.kind])

    @cached_property
    def _utc(self) -> tuple[datetime, datetime]:
        return self.start.astimezone(UTC), self.end.astimezone(UTC)

    def months(self) -> list[str]:
        """The labels of the months the period covers."""
        return [Period.of("month", self.first_month + i).label for i in range(_STEP_MONTHS[self.kind])]

    def shift(self, steps: int) -> Period:
        """The period ``steps`` periods of the same kind later (earlier when negative)."""
        return Period.of(self.kind, self.first_month + steps * _STEP_MONTHS[self.kind])

    def cutoff(self, as_of: datetime | None) -> datetime:
        """Where counting stops: the end, or ``as_of`` while the period is running (UTC)."""
        end = self.end.astimezone(UTC)
        return min(end, as_of.astimezone(UTC)) if as_of is not None else end

    def contains(self, t: datetime) -> bool:
        start, end = self._utc  # comparing UTC instants skips the time-zone lookups
        return start <= t < end


class Measure(StrEnum):
    """A counted figure (its JSON key); see the module docstring for what each counts."""

    DISPATCHED = "dispatched"
    HANDLED = "handled"
    HANDLED_ON_TIME = "handled_on_time"
    OVERDUE_UNHANDLED = "overdue_unhandled"
    DUE = "due"
    RETURNED = "returned"
    REWORKED = "reworked"
    CHECKED_OK = "checked_ok"
    CLOSED = "closed"
    CLOSED_ON_TIME = "closed_on_time"
    SHOULD_CLOSE = "should_close"
    SUPERVISED = "supervised"
    RATED = "rated"
    SATISFIED = "satisfied"
    REPORTED = "reported"
    FILED = "filed"
    OVERDUE_OPEN = "overdue_open"
    REPORTS = "reports"
    VALID_REPORTS = "valid_reports"
    VERIFICATIONS = "verifications"
    CHECKS = "checks"
    CHECKS_ON_TIME = "checks_on_time"
    FILED_ON_TIME = "filed_on_time"
    DISPATCHED_ON_TIME = "dispatched_on_time"
    DISPATCHED_NOT_RETURNED = "dispatched_not_returned"


class Subject(StrEnum):
    """Who the figures are of (the JSON key of their rows)."""

    UNITS = "units"
    REGIONS = "regions"
    INSPECTORS = "inspectors"
    STAFF = "staff"


# --- configuration --------------------------------------------------------------------------

RATES: dict[str, tuple[Measure, tuple[Measure, ...]]] = {
    # rate -> (numerator, measures summed for the denominator)
    "on_time_rate": (Measure.HANDLED_ON_TIME, (Measure.DUE,)),
    "rework_rate": (Measure.REWORKED, (Measure.REWORKED, Measure.CHECKED_OK)),
    "close_rate": (Measure.CLOSED, (Measure.SHOULD_CLOSE,)),
    "on_time_close_rate": (Measure.CLOSED_ON_TIME, (Measure.SHOULD_CLOSE,)),
    "satisfaction_rate": (Measure.SATISFIED, (Measure.RATED,)),
}


@dataclass(frozen=True)
class Term:
    """One term of the score: a rate (or 1 − rate when ``invert``) with its weight."""

    rate: str
    weight: Fraction
    invert: bool = False


DEFAULT_TERMS = (Term("on_time_rate", Fraction(2, 5)), Term("close_rate", Fraction(3, 10)),
                 Term("rework_rate", Fraction(3, 10), invert=True))
DEFAULT_MINIMUM_DUE = 5
LONGER_BY_MONTHS, LONGER_AS_PERIOD = "months", "period"


@dataclass(frozen=True)
class AssessmentConfig:
    terms: tuple[Term, ...] = DEFAULT_TERMS
    grades: tuple[tuple[str, Fraction], ...] = (("A", Fraction(90)), ("B", Fraction(75)),
                                                ("C", Fraction(60)), ("D", Fraction(40)))
    lowest_grade: str = "E"
    minimum_due: int = DEFAULT_MINIMUM_DUE
    check_limit: str = "2wh"
    task_calendar: str = "default"
    filing_limit: str = "0.5wh"
    dispatch_limit: str = "0.5wh"
    center_calendar: str = "default"
    top_categories: int = 5
    # ``[[sources]]`` of the file; None without it: the ``cases`` source alone (``terms`` and
    # ``minimum_due`` above, weight 1) and the JSON as before sources existed (no ``sources``)
    sources: tuple[WeightedSource, ...] | None = None
    # ``[composite]``: a quarter or year with sources is ranked by the mean of its months'
    # composites ("months") or counted as one period ("period"); the bonus points by place in a
    # special action (专项行动: the first gets action_bonus[0] …)
    longer_periods: str = "months"
    action_bonus: tuple[Fraction, ...] = ()

    @property
    def by_months(self) -> bool:
        """Is a quarter's or year's score the mean of its months' composites?"""
        return self.sources is not None and self.longer_periods == LONGER_BY_MONTHS

    def score_sources(self) -> tuple[WeightedSource, ...]:
        """The sources the score is the weighted mean of."""
        if self.sources is not None:
            return self.sources
        return (WeightedSource(CASES, Fraction(1), CasesSource(self.terms, self.minimum_due)),)


def _term(raw: Any) -> Term:
    if not isinstance(raw, dict) or raw.get("rate") not in RATES:
        raise config_error(f"评分项的 rate 须为 {', '.join(RATES)} 之一")
    weight = config_number(raw.get("weight"), f"评分项 {raw['rate']} 的 weight")
    if weight <= 0:
        raise config_error(f"评分项 {raw['rate']} 的 weight 须大于 0")
    return Term(raw["rate"], weight, bool(raw.get("invert", False)))


def _terms(raw: Any, default: tuple[Term, ...]) -> tuple[Term, ...]:
    if raw is None:
        return default
    if not isinstance(raw, list):
        raise config_error("terms 须为评分项（[[score.terms]] 或 [[sources.terms]]）的列表")
    return tuple(_term(t) for t in raw)


def _minimum_due(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise config_error("minimum_due 须为非负整数")
    return raw


def _grades(raw: Any) -> tuple[tuple[str, Fraction], ...]:
    if not isinstance(raw, list) or not all(isinstance(g, list) and len(g) == 2 for g in raw):
        raise config_error("grades 须为 [等级, 最低分] 的列表，如 [[\"A\", 90], [\"B\", 75]]")
    grades = tuple((str(g[0]), config_number(g[1], f"等级 {g[0]} 的最低分")) for g in raw)
    if any(a[1] <= b[1] for a, b in pairwise(grades)):
        raise config_error("grades 须按最低分从高到低排列")
    return grades


def _limit(raw: Any, default: str) -> str:
    return TimeLimit.parse(str(raw)).text if raw is not None else default


def _composite(raw: Any) -> dict[str, Any]:
    """``[composite]``: ``longer_periods`` ("months" or "period") and ``action_bonus`` (points by place)."""
    if not isinstance(raw, dict):
        raise config_error("composite 须为表 [composite]")
    unknown = sorted(set(raw) - {"longer_periods", "action_bonus"})
    if unknown:
        raise config_error(f"[composite] 不认识的设置：{'、'.join(unknown)}（可用：longer_periods、action_bonus）")
    longer = raw.get("longer_periods", LONGER_BY_MONTHS)
    if longer not in (LONGER_BY_MONTHS, LONGER_AS_PERIOD):
        raise config_error(f"longer_periods 须为 \"{LONGER_BY_MONTHS}\"（各月综合得分的平均）或 "
                           f"\"{LONGER_AS_PERIOD}\"（按整个周期计算）")
    points = raw.get("action_bonus", [])
    if not isinstance(points, list):
        raise config_error("action_bonus 须为按名次的加分列表，如 [1, 0.5, 0.3]")
    bonus = tuple(config_number(p, f"action_bonus 第 {i} 名的加分") for i, p in enumerate(points, 1))
    if any(not 0 < p <= 100 for p in bonus):
        raise config_error("action_bonus 的加分须大于 0、不超过 100")
    return {"longer_periods": longer, "action_bonus": bonus}


def parse_config(text: str) -> AssessmentConfig:
    """The configuration from ``assessment.toml`` text; missing keys keep their defaults."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise config_error(f"TOML 格式错误：{exc}") from None
    base = AssessmentConfig()
    inspectors, center = raw.get("inspectors", {}), raw.get("center", {})
    top = raw.get("regions", {}).get("top_categories", base.top_categories)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise config_error("top_categories 须为正整数")
    return AssessmentConfig(
        terms=_terms(raw.get("score", {}).get("terms"), base.terms),
        grades=_grades(raw["grades"]) if "grades" in raw else base.grades,
        lowest_grade=str(raw.get("lowest_grade", base.lowest_grade)),
        minimum_due=_minimum_due(raw.get("minimum_due", base.minimum_due)),
        check_limit=_limit(inspectors.get("check_limit"), base.check_limit),
        task_calendar=str(inspectors.get("calendar", base.task_calendar)),
        filing_limit=_limit(center.get("filing_limit"), base.filing_limit),
        dispatch_limit=_limit(center.get("dispatch_limit"), base.dispatch_limit),
        center_calendar=str(center.get("calendar", base.center_calendar)),
        top_categories=top,
        sources=parse_sources(raw["sources"], raw) if "sources" in raw else None,
        **_composite(raw.get("composite", {})),
    )


# --- input records --------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRecord:
    case_no: str
    source: Source
    category_code: str
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    reported_at: datetime
    filed_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: CancelReason | None = None


@dataclass(frozen=True)
class EventRecord:
    case_no: str
    seq: int
    action: Action
    at: datetime
    actor: str | None = None
    unit: str | None = None  # data.unit (dispatch, check_fail, supervise)
    value: str | None = None  # data.value (rate)


@dataclass(frozen=True)
class Person:
    login: str
    name: str
    role: Role | None


@dataclass(frozen=True)
class RegionRecord:
    code: str
    level: RegionLevel
    name: str
    area_m2: float


_KIND_OF_UNIT = {UnitKind.DEPARTMENT: AssessedKind.DEPARTMENT, UnitKind.COMMUNITY: AssessedKind.COMMUNITY,
                 UnitKind.CONTRACTOR: AssessedKind.CONTRACTOR, UnitKind.COMPANY: AssessedKind.COMPANY}
ZONE_REGION = "zone"  # the kind of a development zone's street-level region


def assessed_kind(unit_kind: str, region_kind: str | None = None) -> AssessedKind | None:
    """The kind a unit is weighted as: a street office is a street, or a zone when its region is
    a development zone; the command center is not assessed (None)."""
    if unit_kind == UnitKind.STREET_OFFICE:
        return AssessedKind.ZONE if region_kind == ZONE_REGION else AssessedKind.STREET
    return _KIND_OF_UNIT.get(UnitKind(unit_kind)) if unit_kind in UnitKind.values() else None


@dataclass(frozen=True)
class Entry:
    """A manual entry counted in the period: a spot-check deduction or bonus points."""

    unit_code: str
    kind: str  # deduction / bonus
    points: float


MAX_BAND_RANK = 10_000  # more ranks than any city has handling units
MAX_BAND_AMOUNT = 1e9  # yuan, either way


@dataclass(frozen=True)
class RewardBand:
    """以奖代补: ``amount`` (yuan; negative for a penalty) for ranks rank_from..rank_to."""

    rank_from: int
    rank_to: int
    amount: float


@dataclass
class PeriodData:
    """Everything one period needs, pulled from the store by the service."""

    period: Period
    cases: Mapping[str, CaseRecord]  # every case referred to below
    assignments: Mapping[str, Sequence[Assignment]]  # complete, by seq, for every touched case
    events: Sequence[EventRecord]  # the assessed events in the period (others are ignored)
    history: Mapping[str, Sequence[EventRecord]]  # dispatch/check_fail/verify events (any time)
    units: Mapping[str, str]  # units to list: code -> name
    regions: Mapping[str, RegionRecord]
    category_names: Mapping[str, str]
    people: Mapping[str, Person]
    calendars: Mapping[str, WorkCalendar]
    entries: Sequence[Entry] = ()
    reward_bands: Sequence[RewardBand] = ()
    as_of: datetime | None = None  # assess a period still running as it stands at this instant
    unit_kinds: Mapping[str, AssessedKind] = field(default_factory=dict)  # units weighted by kind
    loaded: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # source -> unit -> its input

    @property
    def cutoff(self) -> datetime:
        """Where the period's counting stops: its end, or ``as_of`` while it is running."""
        return self.period.cutoff(self.as_of)


# --- items and tallies ----------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One counted thing: a case, the assignment concerned (if any) and when it counted."""

    case_no: str
    seq: int | None
    at: datetime


M = Measure
UNIT_MEASURES = (M.DISPATCHED, M.HANDLED, M.HANDLED_ON_TIME, M.OVERDUE_UNHANDLED, M.DUE, M.RETURNED,
                 M.REWORKED, M.CHECKED_OK, M.CLOSED, M.CLOSED_ON_TIME, M.SHOULD_CLOSE, M.SUPERVISED,
                 M.RATED, M.SATISFIED)
REGION_MEASURES = (M.REPORTED, M.FILED, M.CLOSED, M.CLOSED_ON_TIME, M.OVERDUE_OPEN)
INSPECTOR_MEASURES = (M.REPORTS, M.VALID_REPORTS, M.VERIFICATIONS, M.CHECKS, M.CHECKS_ON_TIME)
STAFF_MEASURES = (M.FILED, M.FILED_ON_TIME, M.DISPATCHED, M.DISPATCHED_ON_TIME, M.DISPATCHED_NOT_RETURNED)
MEASURES: dict[Subject, tuple[Measure, ...]] = {
    Subject.UNITS: UNIT_MEASURES, Subject.REGIONS: REGION_MEASURES, Subject.INSPECTORS: INSPECTOR_MEASURES,
    Subject.STAFF: STAFF_MEASURES}
CENTER_ROLES = frozenset({Role.ACCEPTOR, Role.SHIFT_LEADER, Role.DISPATCHER})
SATISFIED = frozenset({Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value})


def scoped_figures(figures: Mapping[str, Any], viewer: Principal | None) -> dict[str, Any]:
    """The figures as ``viewer`` may see them: the people's rows (``inspectors``, ``staff``)
    and the corrections of people's counts only where :func:`sees_person_figures` allows
    (the lists stay, possibly empty); ``None`` (the server's own operator, the CLI) sees all."""
    if viewer is None:
        return dict(figures)
    found = {subject: [r for r in figures.get(subject, []) if sees_person_figures(viewer, subject, r.get("login"))]
             for subject in PEOPLE_SUBJECTS if subject in figures}
    if "corrections" in figures:
        found["corrections"] = [c for c in figures["corrections"] if c["subject"] not in PEOPLE_SUBJECTS
                                or sees_person_figures(viewer, c["subject"], c["code"])]
    return {**figures, **found}


Tally = dict[Subject, dict[str, dict[Measure, list[Item]]]]  # subject -> code -> measure -> items


def _tally() -> Tally:
    return {subject: defaultdict(lambda: defaultdict(list)) for subject in MEASURES}


class Timeliness:
    """Whether a step was done within its limit on a working calendar (limits parsed once)."""

    def __init__(self, calendars: Mapping[str, WorkCalendar]) -> None:
        self.calendars = calendars
        self._limits: dict[tuple[str, str], tuple[WorkCalendar, TimeLimit]] = {}

    def limit(self, calendar: str, limit: str) -> tuple[WorkCalendar, TimeLimit]:
        key = (calendar, limit)
        if key not in self._limits:
            cal = self.calendars.get(calendar)
            if cal is None:
                raise InvalidInput(f"考核配置引用了未知的工作日历“{calendar}”", code="unknown_calendar")
            self._limits[key] = (cal, TimeLimit.parse(limit))
        return self._limits[key]

    def in_time(self, calendar: str, limit: str, start: datetime, done: datetime) -> bool:
        """Done within ``limit`` of ``start`` on ``calendar``."""
        cal, parsed = self.limit(calendar, limit)
        if (done - start).total_seconds() <= parsed.seconds:
            return True  # counted time never exceeds elapsed time: no need to ask the calendar
        return done <= cal.deadline(start, parsed)


def region_codes(grid_code: str | None, street_code: str | None, community_code: str | None,
                 regions: Mapping[str, RegionRecord]) -> list[str]:
    """The city, street, community and grid a case was filed in; a case without a grid counts
    in the city when the city is the only one."""
    if not grid_code:
        cities = [r.code for r in regions.values() if r.level is RegionLevel.CITY]
        return cities[:1] if len(cities) == 1 else []
    codes = [grid_code[:6], street_code, community_code, grid_code]
    return [c for c in codes if c]


def is_inspector(actor: str | None, source: Source | None, people: Mapping[str, Person]) -> bool:
    """An inspector's report: by a user with the inspector role, or (for a login no longer
    known) a report whose source is the inspectors'."""
    person = people.get(actor or "")
    if person is not None:
        return person.role is Role.INSPECTOR
    return actor is not None and source is Source.INSPECTOR


def valid_report(filed_at: datetime | None, cancelled_at: datetime | None,
                 cancel_reason: CancelReason | None, end: datetime) -> bool:
    """Filed before the end, and not cancelled as invalid before it."""
    if filed_at is None or filed_at >= end:
        return False
    invalid = cancel_reason is CancelReason.INVALID
    return not (invalid and cancelled_at is not None and cancelled_at < end)


class _Counter:
    """Counts the items of one period; holds the lookups the rules share."""

    def __init__(self, data: PeriodData, config: AssessmentConfig) -> None:
        self.data, self.config, self.tally = data, config, _tally()
        self.end = data.cutoff
        self.timeliness = Timeliness(data.calendars)

    def add(self, subject: Subject, code: str | None, measure: Measure, item: Item) -> None:
        if code:
            self.tally[subject][code][measure].append(item)

    def assignment(self, case_no: str, seq: int) -> Assignment | None:
        found = self.data.assignments.get(case_no, ())
        return next((a for a in found if a.seq == seq), None)

    def last(self, case_no: str) -> Assignment | None:
        found = self.data.assignments.get(case_no, ())
        return found[-1] if found else None

    def in_time(self, calendar: str, limit: str, start: datetime, done: datetime) -> bool:
        return self.timeliness.in_time(calendar, limit, start, done)

    def region_codes(self, case_no: str) -> list[str]:
        """The city, street, community and grid the case was filed in."""
        case = self.data.cases.get(case_no)
        if case is None:
            return []
        return region_codes(case.grid_code, case.street_code, case.community_code, self.data.regions)


# --- the rules ------------------------------------------------------------------------------


def _count_assignments(c: _Counter) -> None:
    """handled, handled_on_time, returned and overdue_unhandled (units); overdue_open (regions)."""
    period = c.data.period
    for case_no, found in c.data.assignments.items():
        for a in found:
            item = Item(case_no, a.seq, a.ended_at or c.end)
            if a.ended_at is not None and period.contains(a.ended_at) and a.ended_at < c.end:
                if a.ended is AssignmentEnd.HANDLED:
                    c.add(Subject.UNITS, a.unit_code, Measure.HANDLED, item)
                    if a.on_time:
                        c.add(Subject.UNITS, a.unit_code, Measure.HANDLED_ON_TIME, item)
                elif a.ended is AssignmentEnd.RETURNED:
                    c.add(Subject.UNITS, a.unit_code, Measure.RETURNED, item)
            if overdue_at(a, c.end):
                overdue = Item(case_no, a.seq, c.end)
                c.add(Subject.UNITS, a.unit_code, Measure.OVERDUE_UNHANDLED, overdue)
                for code in c.region_codes(case_no):
                    c.add(Subject.REGIONS, code, Measure.OVERDUE_OPEN, overdue)


def _ordinal(c: _Counter, e: EventRecord) -> int:
    """How many events of this action the case had up to and including ``e`` (1 for the first)."""
    return sum(1 for h in c.data.history.get(e.case_no, ()) if h.action is e.action and h.seq <= e.seq)


def _nth(c: _Counter, case_no: str, kind: AssignmentKind, n: int) -> Assignment | None:
    found = [a for a in c.data.assignments.get(case_no, ()) if a.kind is kind]
    return found[n - 1] if 0 < n <= len(found) else None


def _dispatch_start(c: _Counter, e: EventRecord) -> datetime:
    """Dispatching is timed from filing, or from the last return before this dispatch."""
    case = c.data.cases[e.case_no]
    starts = [case.filed_at or case.reported_at]
    starts += [a.ended_at for a in c.data.assignments.get(e.case_no, ())
               if a.ended is AssignmentEnd.RETURNED and a.ended_at is not None and a.ended_at <= e.at]
    return max(starts)


def _on_dispatch(c: _Counter, e: EventRecord) -> None:
    opened = _nth(c, e.case_no, AssignmentKind.DISPATCH, _ordinal(c, e))
    item = Item(e.case_no, opened.seq if opened else None, e.at)
    c.add(Subject.UNITS, e.unit, Measure.DISPATCHED, item)
    c.add(Subject.STAFF, e.actor, Measure.DISPATCHED, item)
    limit = c.config.dispatch_limit
    if c.in_time(c.config.center_calendar, limit, _dispatch_start(c, e), e.at):
        c.add(Subject.STAFF, e.actor, Measure.DISPATCHED_ON_TIME, item)
    returned = (opened is not None and opened.ended is AssignmentEnd.RETURNED
                and opened.ended_at is not None and opened.ended_at < c.end)
    if not returned:
        c.add(Subject.STAFF, e.actor, Measure.DISPATCHED_NOT_RETURNED, item)


def _checked_assignment(c: _Counter, e: EventRecord) -> Assignment | None:
    """The handled assignment a check judged: for a fail, the one before the rework it opened."""
    if e.action is Action.CHECK_PASS:
        return c.last(e.case_no)
    rework = _nth(c, e.case_no, AssignmentKind.REWORK, _ordinal(c, e))
    return c.assignment(e.case_no, rework.seq - 1) if rework else None


def _on_check(c: _Counter, e: EventRecord) -> None:
    checked = _checked_assignment(c, e)
    item = Item(e.case_no, checked.seq if checked else None, e.at)
    measure = Measure.REWORKED if e.action is Action.CHECK_FAIL else Measure.CHECKED_OK
    c.add(Subject.UNITS, checked.unit_code if checked else e.unit, measure, item)
    c.add(Subject.INSPECTORS, e.actor, Measure.CHECKS, item)
    fed = checked.ended_at if checked else None
    if fed is not None and c.in_time(c.config.task_calendar, c.config.check_limit, fed, e.at):
        c.add(Subject.INSPECTORS, e.actor, Measure.CHECKS_ON_TIME, item)


def _on_supervise(c: _Counter, e: EventRecord) -> None:
    held = [a for a in c.data.assignments.get(e.case_no, ()) if a.started_at <= e.at]
    c.add(Subject.UNITS, e.unit, Measure.SUPERVISED, Item(e.case_no, held[-1].seq if held else None, e.at))


def _on_rate(c: _Counter, e: EventRecord) -> None:
    last = c.last(e.case_no)
    if last is None:
        return
    item = Item(e.case_no, last.seq, e.at)
    c.add(Subject.UNITS, last.unit_code, Measure.RATED, item)
    if e.value in SATISFIED:
        c.add(Subject.UNITS, last.unit_code, Measure.SATISFIED, item)


def _on_close(c: _Counter, e: EventRecord) -> None:
    found = c.data.assignments.get(e.case_no, ())
    handled = [a for a in found if a.ended is AssignmentEnd.HANDLED]
    last = found[-1] if found else None
    item = Item(e.case_no, last.seq if last else None, e.at)
    for code in c.region_codes(e.case_no):
        c.add(Subject.REGIONS, code, Measure.CLOSED, item)
        if all(a.on_time for a in handled):
            c.add(Subject.REGIONS, code, Measure.CLOSED_ON_TIME, item)
    if last is None:
        return
    c.add(Subject.UNITS, last.unit_code, Measure.CLOSED, item)
    if all(a.on_time for a in handled if a.unit_code == last.unit_code):
        c.add(Subject.UNITS, last.unit_code, Measure.CLOSED_ON_TIME, item)


def _is_inspector(c: _Counter, e: EventRecord) -> bool:
    case = c.data.cases.get(e.case_no)
    return is_inspector(e.actor, case.source if case is not None else None, c.data.people)


def _valid_report(c: _Counter, case_no: str) -> bool:
    case = c.data.cases.get(case_no)
    return case is not None and valid_report(case.filed_at, case.cancelled_at, case.cancel_reason, c.end)


def _on_report(c: _Counter, e: EventRecord) -> None:
    item = Item(e.case_no, None, e.at)
    for code in c.region_codes(e.case_no):
        c.add(Subject.REGIONS, code, Measure.REPORTED, item)
    if _is_inspector(c, e):
        c.add(Subject.INSPECTORS, e.actor, Measure.REPORTS, item)
        if _valid_report(c, e.case_no):
            c.add(Subject.INSPECTORS, e.actor, Measure.VALID_REPORTS, item)


def _filing_start(c: _Counter, e: EventRecord) -> datetime:
    """Filing is timed from the report, or from the last on-site verification before it."""
    verified = [h.at for h in c.data.history.get(e.case_no, ())
                if h.action is Action.VERIFY and h.seq < e.seq]
    return max([c.data.cases[e.case_no].reported_at, *verified])


def _on_file(c: _Counter, e: EventRecord) -> None:
    item = Item(e.case_no, None, e.at)
    for code in c.region_codes(e.case_no):
        c.add(Subject.REGIONS, code, Measure.FILED, item)
    c.add(Subject.STAFF, e.actor, Measure.FILED, item)
    if c.in_time(c.config.center_calendar, c.config.filing_limit, _filing_start(c, e), e.at):
        c.add(Subject.STAFF, e.actor, Measure.FILED_ON_TIME, item)


def _on_verify(c: _Counter, e: EventRecord) -> None:
    c.add(Subject.INSPECTORS, e.actor, Measure.VERIFICATIONS, Item(e.case_no, None, e.at))


EVENT_RULES: dict[Action, Callable[[_Counter, EventRecord], None]] = {
    Action.REPORT: _on_report,
    Action.VERIFY: _on_verify,
    Action.FILE: _on_file,
    Action.DISPATCH: _on_dispatch,
    Action.CHECK_FAIL: _on_check,
    Action.CHECK_PASS: _on_check,
    Action.SUPERVISE: _on_supervise,
    Action.RATE: _on_rate,
    Action.CLOSE: _on_close,
}
ASSESSED_ACTIONS = tuple(EVENT_RULES)
# events whose earlier history the rules read (ordinals, verifications before filing)
HISTORY_ACTIONS = (Action.DISPATCH, Action.CHECK_FAIL, Action.VERIFY)
NEEDS_HISTORY = (Action.DISPATCH, Action.CHECK_FAIL, Action.FILE)


def count_items(data: PeriodData, config: AssessmentConfig) -> Tally:
    """Every item of the period, by subject, code and measure (``due``, ``should_close`` too)."""
    counter = _Counter(data, config)
    _count_assignments(counter)
    for e in sorted(data.events, key=lambda e: (e.case_no, e.seq)):
        rule = EVENT_RULES.get(e.action)
        if rule is not None and data.period.contains(e.at) and e.at < counter.end:
            rule(counter, e)
    add_derived(counter.tally)
    return counter.tally


Counts = dict[Subject, dict[str, dict[Measure, int]]]  # subject -> code -> measure -> count
CategoryCounts = dict[str, dict[str, int]]  # region -> category -> cases filed


def new_counts() -> Counts:
    return {subject: defaultdict(lambda: defaultdict(int)) for subject in MEASURES}


def add_derived(found: Counts | Tally) -> None:
    """``due`` and ``should_close`` of every unit from what they sum (counts, or item lists)."""
    measures: Any
    for measures in found[Subject.UNITS].values():
        measures[Measure.DUE] = measures[Measure.HANDLED] + measures[Measure.OVERDUE_UNHANDLED]
        measures[Measure.SHOULD_CLOSE] = measures[Measure.CLOSED] + measures[Measure.OVERDUE_UNHANDLED]


def tally_counts(tally: Tally) -> Counts:
    """The counts of a tally of items."""
    counts = new_counts()
    for subject, codes in tally.items():
        for code, measures in codes.items():
            for measure, items in measures.items():
                counts[subject][code][measure] = len(items)
    return counts


def _categories() -> CategoryCounts:
    return defaultdict(lambda: defaultdict(int))


def categories_of(tally: Tally, data: PeriodData) -> CategoryCounts:
    """Cases filed in the period by region and category."""
    found = _categories()
    for code, measures in tally[Subject.REGIONS].items():
        for item in measures.get(Measure.FILED, ()):
            found[code][data.cases[item.case_no].category_code] += 1
    return found


@dataclass
class PeriodGroups:
    """The period's events and assignments grouped by what the rules ask of them (by the
    database: :func:`xiuhua.store.assessment.period_counts`); each row ends with its count ``n``.
    ``sure``: on time by elapsed time alone; where not, ``timed_from`` and ``done`` are the
    instants the working calendar judges."""

    ended: list[Any]  # unit_code, ended, on_time
    open_at_end: list[tuple[Assignment, Any]]  # candidates for overdue, with grid/street/community
    dispatch: list[Any]  # unit, actor, not_returned, sure, timed_from, done
    filed: list[list[Any]]  # (grid_code, street_code, community_code), (city, street_code, category_code),
    #                         (actor, sure, timed_from, done)
    reported: list[list[Any]]  # (grid_code, street_code, community_code),
    #                            (actor, source, filed_before, invalid_before)
    verified: list[Any]  # actor
    checks: list[list[Any]]  # (action, unit), (actor, sure, timed_from, done); timed_from NULL: nothing handled
    supervised: list[Any]  # unit
    rated: list[Any]  # unit, value
    closed: list[list[Any]]  # (grid_code, street_code, community_code, all_on_time), (unit, unit_on_time)


def count_groups(groups: PeriodGroups, data: PeriodData,
                 config: AssessmentConfig) -> tuple[Counts, CategoryCounts]:
    """The counts of the period from its grouped rows, by the same rules as :func:`count_items`."""
    counts, categories = new_counts(), _categories()
    timeliness, end = Timeliness(data.calendars), data.cutoff

    def add(subject: Subject, code: str | None, measure: Measure, n: int = 1) -> None:
        if code:
            counts[subject][code][measure] += n

    by_place: dict[tuple[str | None, ...], dict[Measure, int]] = defaultdict(lambda: defaultdict(int))

    def at_place(row: Any, measure: Measure) -> None:
        by_place[(row.grid_code, row.street_code, row.community_code)][measure] += row.n

    def on_time(r: Any, calendar: str, limit: str) -> bool:
        return bool(r.sure) or (r.timed_from is not None
                                and timeliness.in_time(calendar, limit, r.timed_from, r.done))

    for r in groups.ended:
        if r.ended == AssignmentEnd.HANDLED.value:
            add(Subject.UNITS, r.unit_code, Measure.HANDLED, r.n)
            if r.on_time:
                add(Subject.UNITS, r.unit_code, Measure.HANDLED_ON_TIME, r.n)
        else:
            add(Subject.UNITS, r.unit_code, Measure.RETURNED, r.n)
    for a, place in groups.open_at_end:
        if overdue_at(a, end):
            add(Subject.UNITS, a.unit_code, Measure.OVERDUE_UNHANDLED)
            by_place[(place.grid_code, place.street_code, place.community_code)][Measure.OVERDUE_OPEN] += 1
    for r in groups.dispatch:
        add(Subject.UNITS, r.unit, Measure.DISPATCHED, r.n)
        add(Subject.STAFF, r.actor, Measure.DISPATCHED, r.n)
        if on_time(r, config.center_calendar, config.dispatch_limit):
            add(Subject.STAFF, r.actor, Measure.DISPATCHED_ON_TIME, r.n)
        if r.not_returned:
            add(Subject.STAFF, r.actor, Measure.DISPATCHED_NOT_RETURNED, r.n)
    places, by_category, staff = groups.filed
    for r in places:
        at_place(r, Measure.FILED)
    for r in by_category:  # the city and street levels of region_codes
        codes = [r.city, r.street_code] if r.city else region_codes(None, None, None, data.regions)
        for code in filter(None, codes):
            categories[code][r.category_code] += r.n
    for r in staff:
        add(Subject.STAFF, r.actor, Measure.FILED, r.n)
        if on_time(r, config.center_calendar, config.filing_limit):
            add(Subject.STAFF, r.actor, Measure.FILED_ON_TIME, r.n)
    places, people = groups.reported
    for r in places:
        at_place(r, Measure.REPORTED)
    for r in people:
        if is_inspector(r.actor, Source(r.source), data.people):
            add(Subject.INSPECTORS, r.actor, Measure.REPORTS, r.n)
            if r.filed_before and not r.invalid_before:
                add(Subject.INSPECTORS, r.actor, Measure.VALID_REPORTS, r.n)
    for r in groups.verified:
        add(Subject.INSPECTORS, r.actor, Measure.VERIFICATIONS, r.n)
    by_unit, by_actor = groups.checks
    for r in by_unit:
        add(Subject.UNITS, r.unit, Measure.REWORKED if r.action == Action.CHECK_FAIL.value else Measure.CHECKED_OK,
            r.n)
    for r in by_actor:
        add(Subject.INSPECTORS, r.actor, Measure.CHECKS, r.n)
        if on_time(r, config.task_calendar, config.check_limit):
            add(Subject.INSPECTORS, r.actor, Measure.CHECKS_ON_TIME, r.n)
    for r in groups.supervised:
        add(Subject.UNITS, r.unit, Measure.SUPERVISED, r.n)
    for r in groups.rated:
        add(Subject.UNITS, r.unit, Measure.RATED, r.n)
        if r.value in SATISFIED:
            add(Subject.UNITS, r.unit, Measure.SATISFIED, r.n)
    places, by_unit = groups.closed
    for r in places:
        at_place(r, Measure.CLOSED)
        if r.all_on_time:
            at_place(r, Measure.CLOSED_ON_TIME)
    for r in by_unit:
        add(Subject.UNITS, r.unit, Measure.CLOSED, r.n)
        if r.unit_on_time:
            add(Subject.UNITS, r.unit, Measure.CLOSED_ON_TIME, r.n)
    for (grid, street, community), measures in by_place.items():
        for code in region_codes(grid, street, community, data.regions):
            for measure, n in measures.items():
                add(Subject.REGIONS, code, measure, n)
    add_derived(counts)
    return counts, categories


# --- rates, scores, grades, ranks -----------------------------------------------------------


def ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def unit_rates(counts: Mapping[Measure, int]) -> dict[str, Fraction | None]:
    return {name: ratio(counts[num], sum(counts[d] for d in den)) for name, (num, den) in RATES.items()}


def terms_score(rates: Mapping[str, Fraction | None], terms: Sequence[Term]) -> Fraction | None:
    """The weighted mean of the non-null terms × 100 (None if all are null)."""
    found = [(t.weight, 1 - v if t.invert else v) for t in terms if (v := rates.get(t.rate)) is not None]
    weight = sum((w for w, _ in found), Fraction(0))
    if not weight:
        return None
    return sum((w * v for w, v in found), Fraction(0)) / weight * 100


def score(rates: Mapping[str, Fraction | None], config: AssessmentConfig,
          deductions: Fraction = Fraction(0), bonus: Fraction = Fraction(0)) -> Fraction | None:
    """The weighted mean of the non-null terms × 100 − deductions + bonus (None if all are null)."""
    value = terms_score(rates, config.terms)
    return value - deductions + bonus if value is not None else None


# --- the cases source -----------------------------------------------------------------------

CASES = "cases"


@dataclass(frozen=True)
class CaseFigures:
    """What the ``cases`` source scored a unit by: the cases due, the minimum, the terms' rates."""

    due: int
    minimum_due: int
    rates: tuple[tuple[str, Fraction | None], ...]

    @property
    def insufficient(self) -> bool:
        return self.due < self.minimum_due

    def as_json(self) -> dict[str, Any]:
        return {"due": self.due, "minimum_due": self.minimum_due, "insufficient": self.insufficient,
                **{rate: _float(value) for rate, value in self.rates}}


@dataclass(frozen=True)
class CasesSource:
    """Case handling (案件处置): the weighted mean of rate terms; no data when fewer cases were
    due than ``minimum_due`` (样本不足) or every term is null."""

    terms: tuple[Term, ...] = DEFAULT_TERMS
    minimum_due: int = DEFAULT_MINIMUM_DUE

    def result(self, unit: UnitFacts) -> SourceResult:
        counts = _counts(unit.counts, UNIT_MEASURES)
        rates = unit_rates(counts)
        figures = CaseFigures(counts[Measure.DUE], self.minimum_due,
                              tuple(dict.fromkeys((t.rate, rates[t.rate]) for t in self.terms)))
        return SourceResult(None if figures.insufficient else terms_score(rates, self.terms), figures)


_CASES_KEYS = frozenset({"terms", "minimum_due"})


def parse_cases_source(table: Mapping[str, Any], file: Mapping[str, Any]) -> CasesSource:
    """``terms`` (``[[sources.terms]]``) and ``minimum_due`` of the source; where left out, the
    file's ``[[score.terms]]`` and ``minimum_due`` (or their defaults)."""
    unknown = sorted(set(table) - _CASES_KEYS)
    if unknown:
        raise config_error(f"评分来源 {CASES} 不认识的设置：{'、'.join(unknown)}（可用：terms、minimum_due）")
    terms = _terms(table.get("terms"), _terms(file.get("score", {}).get("terms"), DEFAULT_TERMS))
    return CasesSource(terms, _minimum_due(table.get("minimum_due", file.get("minimum_due", DEFAULT_MINIMUM_DUE))))


register_source(CASES, parse_cases_source)


def published_score(value: Fraction) -> Decimal:
    """The published score: rounded half up to 2 decimals (ranks and grades go by it)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def grade(value: Decimal, config: AssessmentConfig) -> str:
    for name, minimum in config.grades:
        if Fraction(value) >= minimum:
            return name
    return config.lowest_grade


def competition_ranks(scores: Mapping[str, Decimal]) -> dict[str, int]:
    """Descending; ties share a rank and the next rank skips (1, 2, 2, 4)."""
    ordered = sorted(scores.values(), reverse=True)
    return {code: ordered.index(value) + 1 for code, value in scores.items()}


def band_amount(rank: int | None, bands: Iterable[RewardBand]) -> float | None:
    if rank is None:
        return None
    return next((b.amount for b in bands if b.rank_from <= rank <= b.rank_to), None)


def _float(value: Fraction | None) -> float | None:
    return float(value) if value is not None else None


def _points(entries: Iterable[Entry], code: str, kind: str) -> Fraction:
    return sum((Fraction(str(e.points)) for e in entries if e.unit_code == code and e.kind == kind),
               Fraction(0))


def _counts(found: Mapping[Measure, int], measures: Sequence[Measure]) -> dict[Measure, int]:
    return {m: found.get(m, 0) for m in measures}


def _json_counts(counts: Mapping[Measure, int]) -> dict[str, int]:
    return {m.value: n for m, n in counts.items()}


def _json_rates(rates: Mapping[str, Fraction | None]) -> dict[str, float | None]:
    return {name: _float(value) for name, value in rates.items()}


@dataclass(frozen=True)
class UnitRow:
    """A handling unit's figures: counts, rates, manual points, the published score (2 decimals),
    grade, rank and reward; ``sources`` only when the configuration lists ``[[sources]]``."""

    unit_code: str
    unit_name: str
    counts: Mapping[Measure, int]  # UNIT_MEASURES
    rates: Mapping[str, Fraction | None]  # RATES
    deductions: Fraction
    bonus: Fraction
    score: Decimal | None
    grade: str | None
    insufficient: bool
    sources: tuple[Scored, ...] | None = None
    rank: int | None = None
    reward: float | None = None
    # a quarter or year by the mean of its months: each month's published composite (None: not scored)
    months: tuple[tuple[str, Decimal | None], ...] | None = None

    def as_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "unit_code": self.unit_code, "unit_name": self.unit_name, **_json_counts(self.counts),
            **_json_rates(self.rates), "deductions": float(self.deductions), "bonus": float(self.bonus),
            "score": float(self.score) if self.score is not None else None, "grade": self.grade,
            "rank": self.rank, "insufficient": self.insufficient, "reward": self.reward,
        }
        if self.sources is not None:
            row["sources"] = [s.as_json() for s in self.sources]
        if self.months is not None:
            row["monthly_scores"] = {m: float(v) if v is not None else None for m, v in self.months}
        return row


def _unit_row(code: str, name: str, found: Mapping[Measure, int], data: PeriodData,
              config: AssessmentConfig) -> UnitRow:
    counts = _counts(found, UNIT_MEASURES)
    deductions, bonus = _points(data.entries, code, "deduction"), _points(data.entries, code, "bonus")
    facts = UnitFacts(code, data.unit_kinds.get(code), counts,
                      {name: by_unit[code] for name, by_unit in data.loaded.items() if code in by_unit})
    scored = score_unit(config.score_sources(), facts)
    raw = composite(scored, deductions, bonus)
    # as before sources: too few cases due, whatever the rates; with sources: none has data
    insufficient = counts[Measure.DUE] < config.minimum_due if config.sources is None else raw is None
    shown = published_score(raw) if raw is not None else None
    return UnitRow(code, name, counts, unit_rates(counts), deductions, bonus, shown,
                   grade(shown, config) if shown is not None else None, insufficient,
                   tuple(scored) if config.sources is not None else None)


def unit_rows(counts: Counts, data: PeriodData, config: AssessmentConfig) -> list[UnitRow]:
    """Every listed unit with counts, rates, points, score, grade, rank and reward; ranked first."""
    found = counts[Subject.UNITS]
    codes = set(data.units) | set(found) | {e.unit_code for e in data.entries}
    rows = [_unit_row(code, data.units.get(code, code), found.get(code, {}), data, config) for code in codes]
    return ranked_rows(rows, data.reward_bands)


def ranked_rows(rows: Iterable[UnitRow], bands: Sequence[RewardBand]) -> list[UnitRow]:
    """The rows with their competition ranks by score and their reward bands; ranked first."""
    found = list(rows)
    ranks = competition_ranks({r.unit_code: r.score for r in found if r.score is not None})
    ranked = [replace(r, rank=ranks.get(r.unit_code), reward=band_amount(ranks.get(r.unit_code), bands))
              for r in found]
    return sorted(ranked, key=lambda r: (r.rank is None, r.rank or 0, r.unit_code))


def by_months(rows: Iterable[UnitRow], monthly: Mapping[str, Mapping[str, Decimal | None]],
              config: AssessmentConfig, bands: Sequence[RewardBand]) -> list[UnitRow]:
    """A quarter's or year's units scored by the mean of their months' published composites
    (``monthly``: month -> unit -> score; the months a unit was not scored in are left out),
    graded, ranked and given their reward bands; a unit scored in no month is not ranked. The
    months' composites already hold their deductions and bonus points."""
    found = []
    for row in rows:
        months = tuple((m, by_unit.get(row.unit_code)) for m, by_unit in monthly.items())
        scores = [Fraction(v) for _, v in months if v is not None]
        shown = published_score(sum(scores, Fraction(0)) / len(scores)) if scores else None
        found.append(replace(row, score=shown, grade=grade(shown, config) if shown is not None else None,
                             insufficient=shown is None, months=months))
    return ranked_rows(found, bands)


@dataclass(frozen=True)
class Placing:
    """A unit's place in a special action (专项行动) and the bonus points it earns."""

    unit_code: str
    place: int
    points: Fraction


def action_placings(ranking: Sequence[str], config: AssessmentConfig) -> list[Placing]:
    """The bonus of a special action's ranking (first place first) by ``action_bonus``: places
    beyond the configured list earn nothing; a unit named twice is refused."""
    if not config.action_bonus:
        raise InvalidInput("assessment.toml 未设置专项行动排名加分（[composite] action_bonus）",
                           code="no_action_bonus")
    if not ranking:
        raise InvalidInput("请按名次列出单位", code="empty_ranking")
    twice = sorted({c for c in ranking if ranking.count(c) > 1})
    if twice:
        raise InvalidInput(f"单位 {'、'.join(twice)} 重复", code="duplicate_unit")
    return [Placing(code, i, config.action_bonus[i - 1])
            for i, code in enumerate(ranking, 1) if i <= len(config.action_bonus)]


# --- regions, categories, people ------------------------------------------------------------

LEVEL_ORDER = {level: i for i, level in enumerate(RegionLevel)}


def _level_of(code: str, data: PeriodData) -> RegionLevel:
    known = data.regions.get(code)
    if known is not None:
        return known.level
    return {6: RegionLevel.CITY, 9: RegionLevel.STREET, 12: RegionLevel.COMMUNITY}.get(
        len(code), RegionLevel.GRID)


@dataclass(frozen=True)
class RegionRow:
    """A region's figures: counts, on-time close rate and cases filed per km²."""

    region_code: str
    level: RegionLevel
    name: str | None
    counts: Mapping[Measure, int]  # REGION_MEASURES
    area_km2: float | None

    @property
    def on_time_close_rate(self) -> Fraction | None:
        c = self.counts
        return ratio(c[Measure.CLOSED_ON_TIME], c[Measure.CLOSED] + c[Measure.OVERDUE_OPEN])

    @property
    def density_per_km2(self) -> float | None:
        return self.counts[Measure.FILED] / self.area_km2 if self.area_km2 else None

    def as_json(self) -> dict[str, Any]:
        return {"region_code": self.region_code, "level": self.level.value, "name": self.name,
                **_json_counts(self.counts), "on_time_close_rate": _float(self.on_time_close_rate),
                "density_per_km2": self.density_per_km2, "area_km2": self.area_km2}


def _region_row(code: str, found: Mapping[Measure, int], data: PeriodData) -> RegionRow:
    region = data.regions.get(code)
    return RegionRow(code, _level_of(code, data), region.name if region else None,
                     _counts(found, REGION_MEASURES), region.area_m2 / 1e6 if region is not None else None)


def _with_districts(found: Mapping[str, Mapping[Measure, int]], data: PeriodData,
                    ) -> Mapping[str, Mapping[Measure, int]]:
    """A district's figures are the sum of its streets' (a located case lies in one street);
    a city without districts is left as it is."""
    districts = [c for c, r in data.regions.items() if r.level is RegionLevel.DISTRICT]
    if not districts:
        return found
    merged = dict(found)
    for district in districts:
        total: dict[Measure, int] = defaultdict(int)
        for code, region in data.regions.items():
            if region.level is RegionLevel.STREET and code.startswith(district):
                for measure, n in found.get(code, {}).items():
                    total[measure] += n
        merged[district] = dict(total)
    return merged


def region_rows(counts: Counts, data: PeriodData) -> list[RegionRow]:
    found = _with_districts(counts[Subject.REGIONS], data)
    rows = [_region_row(code, found.get(code, {}), data) for code in set(data.regions) | set(found)]
    return sorted(rows, key=lambda r: (LEVEL_ORDER[r.level], r.region_code))


@dataclass(frozen=True)
class CategoryRow:
    """One of the most filed categories (高发问题) of the city or a street."""

    region_code: str
    category_code: str
    name: str
    filed: int

    def as_json(self) -> dict[str, Any]:
        return {"region_code": self.region_code, "category_code": self.category_code, "name": self.name,
                "filed": self.filed}


def top_categories(categories: CategoryCounts, data: PeriodData, config: AssessmentConfig,
                   regions: Sequence[RegionRow]) -> list[CategoryRow]:
    """The most filed categories of the city and of each street (development zone)."""
    result = []
    for row in regions:
        if row.level not in (RegionLevel.CITY, RegionLevel.STREET):
            continue
        by_category = categories.get(row.region_code, {})
        ranked = sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))[:config.top_categories]
        result += [CategoryRow(row.region_code, code, data.category_names.get(code, code), filed)
                   for code, filed in ranked]
    return result


def _people(data: PeriodData, found: Counts, subject: Subject, roles: frozenset[Role]) -> list[str]:
    listed = {p.login for p in data.people.values() if p.role in roles}
    return sorted(listed | set(found[subject]))


@dataclass(frozen=True)
class InspectorRow:
    """An inspector's (监督员) figures: reports, valid reports, verifications and checks."""

    login: str
    name: str | None
    counts: Mapping[Measure, int]  # INSPECTOR_MEASURES

    @property
    def rates(self) -> dict[str, Fraction | None]:
        c = self.counts
        return {"valid_report_rate": ratio(c[Measure.VALID_REPORTS], c[Measure.REPORTS]),
                "check_on_time_rate": ratio(c[Measure.CHECKS_ON_TIME], c[Measure.CHECKS])}

    def as_json(self) -> dict[str, Any]:
        return {"login": self.login, "name": self.name, **_json_counts(self.counts), **_json_rates(self.rates)}


def inspector_rows(found: Counts, data: PeriodData) -> list[InspectorRow]:
    rows = []
    for login in _people(data, found, Subject.INSPECTORS, frozenset({Role.INSPECTOR})):
        person = data.people.get(login)
        rows.append(InspectorRow(login, person.name if person else None,
                                 _counts(found[Subject.INSPECTORS].get(login, {}), INSPECTOR_MEASURES)))
    return rows


@dataclass(frozen=True)
class StaffRow:
    """A command-center person's figures: filing and dispatching, on time and accurate."""

    login: str
    name: str | None
    role: Role | None
    counts: Mapping[Measure, int]  # STAFF_MEASURES

    @property
    def rates(self) -> dict[str, Fraction | None]:
        c = self.counts
        return {"filing_on_time_rate": ratio(c[Measure.FILED_ON_TIME], c[Measure.FILED]),
                "dispatch_on_time_rate": ratio(c[Measure.DISPATCHED_ON_TIME], c[Measure.DISPATCHED]),
                "dispatch_accuracy": ratio(c[Measure.DISPATCHED_NOT_RETURNED], c[Measure.DISPATCHED])}

    def as_json(self) -> dict[str, Any]:
        return {"login": self.login, "name": self.name, "role": self.role.value if self.role else None,
                **_json_counts(self.counts), **_json_rates(self.rates)}


def staff_rows(found: Counts, data: PeriodData) -> list[StaffRow]:
    rows = []
    for login in _people(data, found, Subject.STAFF, CENTER_ROLES):
        person = data.people.get(login)
        rows.append(StaffRow(login, person.name if person else None, person.role if person else None,
                             _counts(found[Subject.STAFF].get(login, {}), STAFF_MEASURES)))
    return rows


# --- the whole period -----------------------------------------------------------------------


def _json(rows: Iterable[UnitRow | RegionRow | CategoryRow | InspectorRow | StaffRow]) -> list[dict[str, Any]]:
    return [r.as_json() for r in rows]


@dataclass
class Assessment:
    period: Period
    units: list[UnitRow]
    regions: list[RegionRow]
    top_categories: list[CategoryRow]
    inspectors: list[InspectorRow]
    staff: list[StaffRow]
    tally: Tally | None = field(repr=False)  # the items, when counted item by item
    cutoff: datetime

    def figures(self) -> dict[str, Any]:
        """The JSON figures: period, start, end, units, regions, top_categories, people."""
        return {"period": self.period.label, "start": self.period.start.isoformat(),
                "end": self.period.end.isoformat(), "as_of": _iso(self.cutoff),
                "complete": self.cutoff == self.period.end, "units": _json(self.units),
                "regions": _json(self.regions), "top_categories": _json(self.top_categories),
                "inspectors": _json(self.inspectors), "staff": _json(self.staff)}

    def items(self, subject: str, code: str, measure: str) -> list[Item]:
        """The items behind one figure (``subject`` and ``measure`` as the API names them)."""
        known = MEASURES[Subject(subject)] if subject in MEASURES else ()
        if measure not in known:
            raise InvalidInput(f"未知的考核指标“{measure}”，可选：{'、'.join(known)}", code="unknown_measure")
        if self.tally is None:
            raise ValueError("this assessment was counted without its items")
        found = self.tally[Subject(subject)].get(code, {}).get(Measure(measure), [])
        return sorted(found, key=lambda i: (i.at, i.case_no, i.seq or 0))


def summarize(data: PeriodData, config: AssessmentConfig, counts: Counts, categories: CategoryCounts,
              tally: Tally | None = None) -> Assessment:
    """Rows, rates, scores, grades and ranks from the period's counts. ``data`` needs only what
    names and lists the subjects (units, regions, people, entries, bands), not the cases."""
    regions = region_rows(counts, data)
    return Assessment(data.period, unit_rows(counts, data, config), regions,
                      top_categories(categories, data, config, regions), inspector_rows(counts, data),
                      staff_rows(counts, data), tally, data.cutoff)


def assess(data: PeriodData, config: AssessmentConfig) -> Assessment:
    """The period counted item by item (every figure can be listed case by case)."""
    tally = count_items(data, config)
    return summarize(data, config, tally_counts(tally), categories_of(tally, data), tally)


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(local_zone()).isoformat() if t is not None else None


def item_row(item: Item, data: PeriodData) -> dict[str, Any]:
    """One drill-down row: the case and the assignment behind a counted figure (Shanghai times)."""
    case = data.cases.get(item.case_no)
    a = next((x for x in data.assignments.get(item.case_no, ()) if x.seq == item.seq), None)
    row: dict[str, Any] = {
        "case_no": item.case_no, "assignment_seq": item.seq, "at": _iso(item.at),
        "category_code": case.category_code if case else None,
        "grid_code": case.grid_code if case else None,
        "unit_code": None, "kind": None, "started_at": None, "deadline": None, "deadline_at_end": None,
        "ended": None, "ended_at": None, "handled_at": None, "on_time": None,
    }
    if a is not None:
        row.update({
            "unit_code": a.unit_code, "kind": a.kind.value, "started_at": _iso(a.started_at),
            "deadline": _iso(a.deadline), "deadline_at_end": _iso(a.deadline_at(data.cutoff)),
            "ended": a.ended.value, "ended_at": _iso(a.ended_at), "handled_at": _iso(a.handled_at),
            "on_time": a.on_time,
        })
    return row
