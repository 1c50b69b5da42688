"""The work programme (专项行动): plans, tasks, progress and the one status rule.

A plan holds sections, tasks and sub-tasks numbered ``1`` / ``1.1`` / ``1.1.1`` (depth ≤ 4).
A task runs from 00:00 of its start date to its deadline: a date (the deadline is 24:00 of
that day) or a working-time limit from the start, converted to an instant by the calendar
(:func:`due_instant`). The lead unit reports progress; the office accepts or returns each
report; **only accepted reports count**.

The status at an instant (:func:`task_status`), in this order:

- ``closed`` once the office signed the task off; ``paused`` while paused;
- ``completed`` once an accepted report reached 100 % (or the target value);
- ``not_started`` before 00:00 of the start date;
- ``seriously_lagging`` past the deadline; else by the lag, in percentage points, time
  progress − accepted progress: > 30 ``seriously_lagging``, > 10 ``lagging`` (thresholds
  configurable, :class:`Thresholds`); a milestone past its due date (24:00) that no accepted
  report reached makes it at least ``lagging``; else ``on_track``.

Time progress = elapsed natural time since 00:00 of the start date ÷ the time from then to the
deadline, in local time (``calendar.local_zone()``), exact: integer seconds and
:class:`~fractions.Fraction`, so a lag of 30 points is 30, never 30.000000000000004.

For the month's figures a paused task keeps the status it had when paused
(:func:`figure_status`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from xiuhua.domain.assessment import Term, ratio, terms_score
from xiuhua.domain.calendar import TimeLimit, WorkCalendar, day_start
from xiuhua.domain.choices import LabelledEnum
from xiuhua.domain.errors import ActionRefused, InvalidInput
from xiuhua.domain.sources import SourceResult, UnitFacts, config_error, config_number, register_source

MAX_DEPTH = 4
HUNDRED = Fraction(100)


class TaskStatus(LabelledEnum):
    NOT_STARTED = "not_started"
    ON_TRACK = "on_track"
    LAGGING = "lagging"
    SERIOUSLY_LAGGING = "seriously_lagging"
    COMPLETED = "completed"
    CLOSED = "closed"
    PAUSED = "paused"

    @property
    def colour(self) -> str:
        return STATUS_COLOURS[self]

    @property
    def is_active(self) -> bool:
        """Running and judged by its lag: the denominator of the lag rate."""
        return self in ACTIVE


ACTIVE = frozenset({TaskStatus.ON_TRACK, TaskStatus.LAGGING, TaskStatus.SERIOUSLY_LAGGING})
LAGGING = frozenset({TaskStatus.LAGGING, TaskStatus.SERIOUSLY_LAGGING})

# One colour per status: the plan tree, the task page and the progress workbook (RGB hex).
STATUS_COLOURS: dict[TaskStatus, str] = {
    TaskStatus.NOT_STARTED: "D9D9D9",
    TaskStatus.ON_TRACK: "C6EFCE",
    TaskStatus.LAGGING: "FFEB9C",
    TaskStatus.SERIOUSLY_LAGGING: "FFC7CE",
    TaskStatus.COMPLETED: "BDD7EE",
    TaskStatus.CLOSED: "A6A6A6",
    TaskStatus.PAUSED: "E4DFEC",
}


class ReportState(LabelledEnum):
    """A progress report: sent by the lead unit, then accepted or returned by the office."""

    SENT = "sent"
    ACCEPTED = "accepted"
    RETURNED = "returned"


@dataclass(frozen=True)
class Thresholds:
    """Lag thresholds in percentage points: lag > ``lagging`` → lagging, > ``serious`` →
    seriously lagging."""

    lagging: Fraction = Fraction(10)
    serious: Fraction = Fraction(30)

    def __post_init__(self) -> None:
        if not 0 <= self.lagging <= self.serious:
            raise InvalidInput("滞后阈值须满足 0 ≤ 滞后 ≤ 严重滞后", code="invalid_thresholds")


@dataclass(frozen=True)
class Milestone:
    name: str
    due: date


@dataclass(frozen=True)
class AcceptedReport:
    """A progress report the office accepted: when it was sent and accepted, the progress it
    reports (percent, 0–100) and the milestones it says were reached."""

    sent_at: datetime
    accepted_at: datetime
    percent: Fraction
    milestones: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Pause:
    """A pause by the office, from ``start`` until ``end`` (None: still paused)."""

    start: datetime
    end: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True)
class TaskFacts:
    """What the status rule reads of a task."""

    start: date
    due: datetime  # the deadline instant (see due_instant)
    reports: tuple[AcceptedReport, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    pauses: tuple[Pause, ...] = ()
    closed_at: datetime | None = None

    @property
    def begins(self) -> datetime:
        return day_start(self.start)


@dataclass(frozen=True)
class TaskState:
    """A task's status at an instant, with the figures that decided it."""

    status: TaskStatus
    progress: Fraction  # accepted progress, percent
    time_progress: Fraction | None  # percent; None before the start
    lag: Fraction | None  # percentage points; None when not judged by lag
    overdue_milestones: tuple[str, ...] = ()

    @property
    def lag_decimal(self) -> Decimal | None:
        """The lag to one decimal, as the pages and the workbook print it."""
        if self.lag is None:
            return None
        return (Decimal(self.lag.numerator) / Decimal(self.lag.denominator)).quantize(Decimal("0.1"))


def due_instant(start: date, deadline: date | TimeLimit, calendar: WorkCalendar) -> datetime:
    """The deadline as an instant: 24:00 of a date deadline, or the start (00:00 of the start
    date) plus a time limit counted by ``calendar`` (working or natural)."""
    if isinstance(deadline, TimeLimit):
        return calendar.deadline(day_start(start), deadline)
    return day_start(deadline + timedelta(days=1))


def percent_of(value: Fraction, target: Fraction | None) -> Fraction:
    """The percent a reported value reaches of the target value (capped at 100)."""
    if target is None or target <= 0:
        raise InvalidInput("该任务没有数值目标，请填写完成百分比", code="no_target_value")
    return min(HUNDRED, value * HUNDRED / target)


def check_percent(percent: Fraction) -> Fraction:
    if not 0 <= percent <= 100:
        raise InvalidInput("完成进度须在 0 到 100 之间", code="invalid_progress")
    return percent


def accepted_by(facts: TaskFacts, at: datetime) -> list[AcceptedReport]:
    """The reports accepted by ``at``, oldest sent first."""
    return sorted((r for r in facts.reports if r.accepted_at <= at), key=lambda r: r.sent_at)


def progress_at(facts: TaskFacts, at: datetime) -> Fraction:
    """Accepted progress at ``at``: that of the latest-sent report accepted by then."""
    found = accepted_by(facts, at)
    return found[-1].percent if found else Fraction(0)


def completed_at(facts: TaskFacts, at: datetime | None = None) -> datetime | None:
    """When the task was completed: the sending of the first report, accepted (by ``at``),
    that reached 100 %."""
    reports = facts.reports if at is None else accepted_by(facts, at)
    done = [r.sent_at for r in reports if r.percent >= HUNDRED]
    return min(done) if done else None


def time_progress(facts: TaskFacts, at: datetime) -> Fraction:
    """Elapsed natural time since 00:00 of the start date ÷ the time from then to the deadline,
    in percent (exact; 0 before the start, 100 from the deadline on)."""
    begins = facts.begins
    total = _seconds(facts.due - begins)
    if total <= 0:
        return HUNDRED
    elapsed = max(0, _seconds(at - begins))
    return min(HUNDRED, Fraction(elapsed * 100, total))


def _seconds(delta: timedelta) -> int:
    return delta.days * 86_400 + delta.seconds


def reached_milestones(facts: TaskFacts, at: datetime) -> frozenset[str]:
    names: set[str] = set()
    for report in accepted_by(facts, at):
        names |= report.milestones
        if report.percent >= HUNDRED:
            names |= {m.name for m in facts.milestones}
    return frozenset(names)


def overdue_milestones(facts: TaskFacts, at: datetime) -> tuple[str, ...]:
    """Milestones past their due date (24:00) that no accepted report reached by ``at``."""
    reached = reached_milestones(facts, at)
    return tuple(m.name for m in facts.milestones
                 if day_start(m.due + timedelta(days=1)) <= at and m.name not in reached)


def task_state(facts: TaskFacts, at: datetime, thresholds: Thresholds = Thresholds()) -> TaskState:
    """The status of a task at ``at`` (see the module's rule) with its figures."""
    progress = progress_at(facts, at)
    if facts.closed_at is not None and facts.closed_at <= at:
        return TaskState(TaskStatus.CLOSED, progress, None, None)
    if any(p.covers(at) for p in facts.pauses):
        return TaskState(TaskStatus.PAUSED, progress, None, None)
    if progress >= HUNDRED:
        return TaskState(TaskStatus.COMPLETED, progress, None, None)
    if at < facts.begins:
        return TaskState(TaskStatus.NOT_STARTED, progress, None, None)
    elapsed = time_progress(facts, at)
    lag = elapsed - progress
    late = overdue_milestones(facts, at)
    return TaskState(_by_lag(facts, at, lag, late, thresholds), progress, elapsed, lag, late)


def _by_lag(facts: TaskFacts, at: datetime, lag: Fraction, late: tuple[str, ...],
            thresholds: Thresholds) -> TaskStatus:
    if at >= facts.due or lag > thresholds.serious:
        return TaskStatus.SERIOUSLY_LAGGING
    if lag > thresholds.lagging or late:
        return TaskStatus.LAGGING
    return TaskStatus.ON_TRACK


def task_status(facts: TaskFacts, at: datetime, thresholds: Thresholds = Thresholds()) -> TaskStatus:
    return task_state(facts, at, thresholds).status


def figure_status(facts: TaskFacts, at: datetime, thresholds: Thresholds = Thresholds()) -> TaskStatus:
    """The status the month's figures count: a task paused at ``at`` keeps the status it had
    just before its pause began."""
    status = task_status(facts, at, thresholds)
    if status is not TaskStatus.PAUSED:
        return status
    pause = next(p for p in facts.pauses if p.covers(at))
    before = pause.start - timedelta(microseconds=1)
    return figure_status(_without_pause(facts, pause), before, thresholds)


def _without_pause(facts: TaskFacts, pause: Pause) -> TaskFacts:
    return TaskFacts(facts.start, facts.due, facts.reports, facts.milestones,
                     tuple(p for p in facts.pauses if p is not pause), facts.closed_at)


def on_time(facts: TaskFacts) -> bool:
    """Completed by its deadline (by the sending of the completing, accepted report)."""
    done = completed_at(facts)
    return done is not None and done <= facts.due


# --- the office's actions on reports and tasks ------------------------------------------------


def check_review(state: ReportState) -> None:
    """Only a sent report is accepted or returned, once."""
    if state is not ReportState.SENT:
        raise ActionRefused(f"该进度报告{state.label}，不能再审核", code="report_reviewed")


def check_pause(paused: bool, closed: bool) -> None:
    if closed:
        raise ActionRefused("任务已销号，不能暂停", code="task_closed")
    if paused:
        raise ActionRefused("任务已暂停", code="task_paused")


def check_resume(paused: bool) -> None:
    if not paused:
        raise ActionRefused("任务未暂停", code="task_not_paused")


def check_report(paused: bool, closed: bool) -> None:
    if closed:
        raise ActionRefused("任务已销号，不能再报送进度", code="task_closed")
    if paused:
        raise ActionRefused("任务已暂停，暂不能报送进度", code="task_paused")


def check_reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(f"{what}须写明原因", code="reason_required")
    return text


# --- numbering and unit names of an imported plan ----------------------------------------------

_CODE_RE = re.compile(r"[1-9][0-9]*(?:\.[1-9][0-9]*)*")


def parent_code(code: str) -> str | None:
    return code.rsplit(".", 1)[0] if "." in code else None


def depth(code: str) -> int:
    return code.count(".") + 1


def numbering_problem(code: str, seen: Sequence[str]) -> str | None:
    """Why ``code`` cannot follow the codes ``seen`` (in the order of the table), or None: a
    code is 1 / 1.1 / 1.1.1 (at most MAX_DEPTH levels), new, its parent already listed and the
    next number under it."""
    if not _CODE_RE.fullmatch(code):
        return f"序号“{code}”格式不对，应为 1、1.1、1.1.1 这样的编号"
    if depth(code) > MAX_DEPTH:
        return f"序号“{code}”层级过深（最多 {MAX_DEPTH} 级）"
    if code in seen:
        return f"序号“{code}”重复"
    parent = parent_code(code)
    if parent is not None and parent not in seen:
        return f"序号“{code}”的上级“{parent}”不存在或不在它之前"
    siblings = [c for c in seen if parent_code(c) == parent]
    expected = int(siblings[-1].rsplit(".", 1)[-1]) + 1 if siblings else 1
    last = int(code.rsplit(".", 1)[-1])
    if last != expected:
        want = f"{parent}.{expected}" if parent else str(expected)
        return f"序号“{code}”不连续，应为“{want}”"
    return None


def split_units(text: str) -> list[str]:
    """The unit names of a 牵头单位 / 配合单位 cell (separated by 、，, ; or spaces)."""
    return [p for p in re.split(r"[、，,;；\s]+", text.strip()) if p]


@dataclass(frozen=True)
class UnitNames:
    """How names written in a plan map to unit codes: the units' own names and aliases
    (``城管局`` = ``城市管理局``)."""

    by_name: dict[str, str] = field(default_factory=dict)  # name -> code
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> unit code

    def code_for(self, name: str) -> str | None:
        name = name.strip()
        return self.by_name.get(name) or self.aliases.get(name)


# --- the ``tasks`` score source ---------------------------------------------------------------

TASKS = "tasks"
TASK_RATES = ("task_on_time_rate", "order_on_time_rate", "lag_free_rate")
DEFAULT_TASK_WEIGHTS: tuple[tuple[str, Fraction], ...] = (
    ("task_on_time_rate", Fraction(1, 2)), ("order_on_time_rate", Fraction(3, 10)),
    ("lag_free_rate", Fraction(1, 5)))


@dataclass(frozen=True)
class TaskLine:
    """One task a unit leads, as the month's figures see it."""

    plan_id: int
    code: str
    title: str
    due_in_period: bool  # its deadline falls in the period
    on_time: bool  # completed by its deadline (accepted progress)
    status: TaskStatus  # at the period's end (a paused task: its status when paused)

    def as_json(self) -> dict[str, object]:
        return {"plan_id": self.plan_id, "code": self.code, "title": self.title,
                "due_in_period": self.due_in_period, "on_time": self.on_time,
                "status": self.status.value}


@dataclass(frozen=True)
class OrderLine:
    """One supervision order addressed to a unit, due in the period."""

    order_id: int
    number: str
    title: str
    on_time: bool  # an accepted reply sent before the deadline

    def as_json(self) -> dict[str, object]:
        return {"order_id": self.order_id, "number": self.number, "title": self.title,
                "on_time": self.on_time}


@dataclass(frozen=True)
class UnitProgramme:
    """What the ``tasks`` source reads of one lead unit (``PeriodData.loaded["tasks"][code]``)."""

    tasks: tuple[TaskLine, ...] = ()
    orders: tuple[OrderLine, ...] = ()
    cooperating: tuple[TaskLine, ...] = ()  # listed, not scored


@dataclass(frozen=True)
class TaskFigures:
    tasks_due: int
    tasks_on_time: int
    orders_due: int
    orders_on_time: int
    judged: int  # on_track, lagging or seriously_lagging at the period's end
    lagging: int
    lines: UnitProgramme

    @property
    def rates(self) -> dict[str, Fraction | None]:
        lag = ratio(self.lagging, self.judged)
        return {"task_on_time_rate": ratio(self.tasks_on_time, self.tasks_due),
                "order_on_time_rate": ratio(self.orders_on_time, self.orders_due),
                "lag_free_rate": None if lag is None else 1 - lag}

    def as_json(self) -> dict[str, object]:
        return {"tasks_due": self.tasks_due, "tasks_on_time": self.tasks_on_time,
                "orders_due": self.orders_due, "orders_on_time": self.orders_on_time,
                "judged": self.judged, "lagging": self.lagging,
                **{k: None if v is None else float(v) for k, v in self.rates.items()},
                "tasks": [t.as_json() for t in self.lines.tasks],
                "orders": [o.as_json() for o in self.lines.orders],
                "cooperating": [t.as_json() for t in self.lines.cooperating]}


def task_figures(lines: UnitProgramme) -> TaskFigures:
    due = [t for t in lines.tasks if t.due_in_period]
    judged = [t for t in lines.tasks if t.status.is_active]
    return TaskFigures(len(due), sum(t.on_time for t in due), len(lines.orders),
                       sum(o.on_time for o in lines.orders), len(judged),
                       sum(t.status in LAGGING for t in judged), lines)


@dataclass(frozen=True)
class TasksSource:
    """The work programme (专项行动): task on-time rate, order on-time rate and 1 − lag rate."""

    weights: tuple[tuple[str, Fraction], ...] = DEFAULT_TASK_WEIGHTS

    def result(self, unit: UnitFacts) -> SourceResult:
        figures = task_figures(unit.loaded.get(TASKS, UnitProgramme()))
        # 100 × Σ w·r ÷ Σ w over the terms with a rate (null terms left out), as the cases source
        terms = [Term(name, weight) for name, weight in self.weights]
        return SourceResult(terms_score(figures.rates, terms), figures)


def parse_tasks_source(table: Mapping[str, Any], file: Mapping[str, Any]) -> TasksSource:
    """``weights = { task_on_time_rate = 0.5, order_on_time_rate = 0.3, lag_free_rate = 0.2 }``"""
    unknown = sorted(set(table) - {"weights"})
    if unknown:
        raise config_error(f"评分来源 {TASKS} 不认识的设置：{'、'.join(unknown)}（可用：weights）")
    raw = table.get("weights")
    if raw is None:
        return TasksSource()
    if not isinstance(raw, dict) or set(raw) - set(TASK_RATES) or not raw:
        raise config_error(f"评分来源 {TASKS} 的 weights 须为表，键为 {', '.join(TASK_RATES)}")
    weights = tuple((k, config_number(raw[k], f"评分来源 {TASKS} 的 weights.{k} ")) for k in TASK_RATES
                    if k in raw)
    if any(w < 0 for _, w in weights):
        raise config_error(f"评分来源 {TASKS} 的权重不能为负")
    return TasksSource(weights)


register_source(TASKS, parse_tasks_source)


# --- cells of an imported plan ----------------------------------------------------------------

_DATE_RES = (re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"),)
_PERSON_RE = re.compile(r"(.+?)\s*[（(](.+?)[)）]\s*")
_TARGET_RE = re.compile(r".*?(\d+(?:\.\d+)?)\s*([^\d\s.]{1,4})\s*$")


def parse_day(text: str) -> date | None:
    """2026-06-30, 2026/6/30, 2026.6.30 or 2026年6月30日; None if it is none of them."""
    for pattern in _DATE_RES:
        m = pattern.fullmatch(text.strip())
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                return None
    return None


def parse_deadline(text: str) -> date | TimeLimit:
    """A 完成时限 cell: a date, or a time limit from the start (``60wd`` working days)."""
    day = parse_day(text)
    if day is not None:
        return day
    try:
        return TimeLimit.parse(text.strip())
    except InvalidInput:
        raise InvalidInput(f"“{text}”不是日期（如 2026-06-30）或时限（如 60wd）",
                           code="invalid_deadline") from None


def parse_person(text: str) -> tuple[str, str | None]:
    """张三（科长） -> (张三, 科长)"""
    m = _PERSON_RE.fullmatch(text.strip())
    return (m[1].strip(), m[2].strip()) if m else (text.strip(), None)


def parse_target(text: str) -> tuple[Decimal, str] | None:
    """改造老旧小区 12 个 -> (12, 个); None when it names no number with a unit."""
    m = _TARGET_RE.fullmatch(text.strip())
    return (Decimal(m[1]), m[2]) if m else None
