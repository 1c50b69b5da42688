"""Key projects (重点项目): phases, the warning colour and the schedule lag.

A project has a planned start and finish (dates), a lead unit (牵头单位), a phase
(``preparation`` → ``tendering`` → ``construction`` → ``completed`` → ``accepted``) and an
accepted progress (percent: only progress reports the office accepted count).

- **Started** means it reached ``construction`` (its actual start is recorded then).
- **Colour**, evaluated at an instant (:func:`colour`):

  - not started: ``green`` up to the end of its planned start day, ``yellow`` from then on
    (开工滞后), ``red`` three months after the planned start (same day of the month, or the
    month's last day);
  - started and not finished: by the schedule lag, as for the plan's tasks: lag > 10 points
    ``yellow``, lag > 30 ``red``; past the planned finish and not finished ``red``;
  - finished (``completed`` / ``accepted``, or accepted at 100 %): ``green``.

- **Time progress** = natural time elapsed since 00:00 of the planned start day ÷ time from
  then to 24:00 of the planned finish day, in the city's zone (``calendar.local_zone``),
  clamped to 0–100 %; **lag** = time progress − accepted progress, in percentage points,
  computed exactly (integer seconds and ``Decimal``: 61 of 122 days is 50, not
  50.000000000000004).
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import ProjectColour, ProjectKind, ProjectPhase
from xiuhua.domain.errors import ActionRefused, InvalidInput

LAGGING_POINTS = Decimal(10)  # lag above this: yellow
SERIOUS_POINTS = Decimal(30)  # lag above this: red
RED_AFTER_MONTHS = 3  # not started this long after the planned start: red
PHASES = tuple(ProjectPhase)
STARTED = frozenset({ProjectPhase.CONSTRUCTION, ProjectPhase.COMPLETED, ProjectPhase.ACCEPTED})
FINISHED = frozenset({ProjectPhase.COMPLETED, ProjectPhase.ACCEPTED})
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Project:
    """A key project as the rules need it (investments in yuan)."""

    id: int
    name: str
    kind: ProjectKind
    lead_unit: str
    planned_start: date
    planned_finish: date
    phase: ProjectPhase = ProjectPhase.PREPARATION
    progress: int = 0  # accepted progress, percent
    actual_start: date | None = None
    actual_finish: date | None = None
    planned_investment: int = 0
    completed_investment: int = 0

    @property
    def started(self) -> bool:
        return self.phase in STARTED

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED or self.progress >= 100


@dataclass(frozen=True)
class Schedule:
    """A project's standing at an instant: time progress and lag in points (exact), colour,
    and whether it started later than planned (开工滞后)."""

    time_progress: Decimal
    lag: Decimal
    colour: ProjectColour
    started_late: bool
    reason: str  # why the colour, in Chinese ("" when green)


def check_dates(planned_start: date, planned_finish: date) -> None:
    if planned_finish < planned_start:
        raise InvalidInput("计划竣工日期不能早于计划开工日期", code="project_dates")


def window(project: Project) -> tuple[datetime, datetime]:
    """From 00:00 of the planned start day to 24:00 of the planned finish day, local time."""
    zone = local_zone()
    start = datetime.combine(project.planned_start, time(), zone)
    end = datetime.combine(project.planned_finish + timedelta(days=1), time(), zone)
    return start, end


def time_progress(project: Project, at: datetime) -> Decimal:
    """Elapsed natural time ÷ the planned duration, in percent (0–100), exact."""
    start, end = window(project)
    total = _seconds(end - start)
    elapsed = min(max(_seconds(at - start), 0), total)
    return Decimal(elapsed * 100) / Decimal(total)


def _seconds(delta: timedelta) -> int:
    return delta.days * 86_400 + delta.seconds  # whole seconds: microseconds do not count


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time(), local_zone())


def schedule(project: Project, at: datetime, *, lagging: Decimal = LAGGING_POINTS,
             serious: Decimal = SERIOUS_POINTS) -> Schedule:
    """The project's time progress, lag and colour at ``at`` (see the module's rules)."""
    progress = time_progress(project, at)
    lag = progress - Decimal(project.progress)
    late = _started_late(project, at)
    if project.finished:
        return Schedule(progress, lag, ProjectColour.GREEN, late, "")
    if not project.started:
        return _not_started(project, progress, lag, late, at)
    return Schedule(progress, lag, *_lag_colour(project, lag, at, lagging, serious))


def _started_late(project: Project, at: datetime) -> bool:
    if project.actual_start is not None:
        return project.actual_start > project.planned_start
    return at >= _local_start(project.planned_start + timedelta(days=1))


def _not_started(project: Project, progress: Decimal, lag: Decimal, late: bool,
                 at: datetime) -> Schedule:
    red_from = _local_start(add_months(project.planned_start, RED_AFTER_MONTHS))
    if at >= red_from:
        return Schedule(progress, lag, ProjectColour.RED, True,
                        f"计划 {project.planned_start:%Y-%m-%d} 开工，超过三个月仍未开工")
    if late:
        return Schedule(progress, lag, ProjectColour.YELLOW, True,
                        f"计划 {project.planned_start:%Y-%m-%d} 开工，至今未开工")
    return Schedule(progress, lag, ProjectColour.GREEN, False, "")


def _lag_colour(project: Project, lag: Decimal, at: datetime, lagging: Decimal,
                serious: Decimal) -> tuple[ProjectColour, bool, str]:
    late = _started_late(project, at)
    if at >= window(project)[1]:
        return ProjectColour.RED, late, f"已过计划竣工日期 {project.planned_finish:%Y-%m-%d} 仍未完工"
    shown = lag.quantize(Decimal("0.1"))
    if lag > serious:
        return ProjectColour.RED, late, f"进度滞后 {shown} 个百分点（严重滞后）"
    if lag > lagging:
        return ProjectColour.YELLOW, late, f"进度滞后 {shown} 个百分点"
    return ProjectColour.GREEN, late, ""


def colour(project: Project, at: datetime) -> ProjectColour:
    return schedule(project, at).colour


def due_in_year(projects: Iterable[Project], year: int, at: datetime
                ) -> list[tuple[Project, Schedule]]:
    """The projects planned to finish in ``year``, each with its standing at ``at``, by
    planned finish."""
    found = [(p, schedule(p, at)) for p in projects if p.planned_finish.year == year]
    return sorted(found, key=lambda pair: (pair[0].planned_finish, pair[0].id))


# --- progress reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressReport:
    """What a lead unit reports: percent done, optionally the phase reached, the investment
    completed so far (yuan) and the day it started or finished (default: the report's day)."""

    percent: int
    phase: ProjectPhase | None = None
    completed_investment: int | None = None
    on: date | None = None  # the day the phase was reached


def check_report(project: Project, report: ProgressReport) -> None:
    """Refuse a report that could never be accepted: percent out of 0–100, a phase before the
    project's, investment below zero."""
    if not 0 <= report.percent <= 100:
        raise InvalidInput("完成进度须在 0–100 之间", code="project_percent")
    if report.phase is not None and PHASES.index(report.phase) < PHASES.index(project.phase):
        raise ActionRefused(f"项目已处于“{project.phase.label}”阶段，不能退回“{report.phase.label}”",
                            code="project_phase_back")
    if report.completed_investment is not None and report.completed_investment < 0:
        raise InvalidInput("完成投资不能为负数", code="project_investment")


def accept(project: Project, report: ProgressReport, reported_on: date) -> Project:
    """The project after the office accepted ``report`` (reported on ``reported_on``): its
    progress, phase, investment and the actual start and finish days."""
    check_report(project, report)
    phase = report.phase or project.phase
    if report.percent >= 100 and phase not in FINISHED:
        phase = ProjectPhase.COMPLETED
    day = report.on or reported_on
    start = project.actual_start
    if start is None and phase in STARTED:
        start = day
    finish = project.actual_finish
    if finish is None and phase in FINISHED:
        finish = day
    invested = project.completed_investment if report.completed_investment is None \
        else report.completed_investment
    percent = 100 if phase in FINISHED else report.percent
    return replace(project, phase=phase, progress=percent, actual_start=start,
                   actual_finish=finish, completed_investment=invested)


# --- the circular's rows ---------------------------------------------------------------------


@dataclass(frozen=True)
class LateProject:
    """One row of the circular's 重点任务推进情况 (late projects): a project yellow or red at
    the month's end, with why."""

    project_id: int
    name: str
    kind: str  # Chinese label
    lead_unit: str  # unit code
    lead_unit_name: str
    planned_start: date
    actual_start: date | None
    planned_finish: date
    phase: str  # Chinese label
    progress: int  # accepted, percent
    time_progress: Decimal
    lag: Decimal
    colour: ProjectColour
    started_late: bool
    reason: str
