"""What a period's workbook (考核报表) and circular (月度通报) show, as one plain input built by the
assessment service (:func:`~xiuhua.services.assessment.report_input`): the writers in
:mod:`xiuhua.reports` read nothing else (no database, no service).

The figures are the period's JSON (:func:`~xiuhua.services.assessment.assess_period`, frozen
once published) as the viewer may see them (:func:`~xiuhua.domain.assessment.scoped_figures`),
so the files always say what the JSON says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xiuhua.domain.assessment import Period
from xiuhua.domain.choices import RegionLevel
from xiuhua.domain.plans import TaskStatus

REPORT_FORMATS = ("xlsx", "docx")


def city_row(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The city's region row of a period's figures (zeros when the city has no city-level region)."""
    found = next((r for r in figures["regions"] if r["level"] == RegionLevel.CITY.value), None)
    return found or {"region_code": None, "name": None, "reported": 0, "filed": 0, "closed": 0,
                     "closed_on_time": 0, "overdue_open": 0, "on_time_close_rate": None}


@dataclass(frozen=True)
class ReportInput:
    """Everything one report of a period shows. ``fmt`` says which: the workbook (``xlsx``) needs
    ``trend``, the circular (``docx``) ``previous``, ``overdue`` and the names; the other parts
    are left empty."""

    fmt: str
    period: Period
    figures: Mapping[str, Any]  # the period's JSON, scoped to the viewer
    at: datetime  # when the report is made: the circular is signed on its day
    # workbook: the city's region row per month of the last 12 (``month`` added), oldest first
    trend: tuple[Mapping[str, Any], ...] = ()
    # circular: the previous period's city region row (month-on-month changes), None before MIN_YEAR
    previous: Mapping[str, Any] | None = None
    # circular: the drill-down rows (item rows) behind every unit's ``overdue_unhandled``
    overdue: tuple[Mapping[str, Any], ...] = ()
    center_name: str | None = None  # the active command center's name (the issuer)
    category_names: Mapping[str, str] = field(default_factory=dict)  # matter code -> name
    unit_names: Mapping[str, str] = field(default_factory=dict)  # every unit's code -> name
    programme: ProgrammeSection | None = None  # circular: 重点任务推进情况 (None or empty: left out)

    @property
    def label(self) -> str:
        return self.period.label


# --- the work programme: the progress workbook and the circular's section ----------------------


@dataclass(frozen=True)
class PlanSheetRow:
    """One row of the progress workbook (a task, or a section / grouping node)."""

    code: str
    title: str
    content: str
    lead_unit: str  # the unit's name
    cooperating: str  # names, 、-separated
    responsible: str
    deadline: str
    progress: float  # percent
    status: TaskStatus | None  # None for a grouping node
    lag: float | None  # percentage points


@dataclass(frozen=True)
class PlanWorkbookInput:
    """The progress workbook the office sends weekly and monthly: a sheet per section (the
    plan's top-level nodes), a colour per status, a summary sheet."""

    plan_name: str
    at: datetime
    rows: tuple[PlanSheetRow, ...]


@dataclass(frozen=True)
class ProgrammeLine:
    """A line of the circular's 重点任务推进情况: a task, a project or an order, with its unit."""

    unit: str  # the unit's name
    title: str
    detail: str  # e.g. 滞后 30.4 个百分点, 红色督办


@dataclass(frozen=True)
class ProgrammeSection:
    """重点任务推进情况: lagging tasks, late projects (from the projects feature), red orders by
    unit and the tasks paused by the office."""

    lagging_tasks: tuple[ProgrammeLine, ...] = ()
    late_projects: tuple[ProgrammeLine, ...] = ()
    red_orders: tuple[ProgrammeLine, ...] = ()
    paused_tasks: tuple[ProgrammeLine, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.lagging_tasks or self.late_projects or self.red_orders or self.paused_tasks)


@dataclass(frozen=True)
class OrderNoticeInput:
    """The 督办通知单 of one supervision order (Word, the circular's GB/T 9704 layout)."""

    issuer: str  # e.g. X市城市管理委员会办公室
    number: str  # 督办〔2026〕17号
    unit: str  # the addressed unit's name
    title: str
    content: str
    origin: str  # what it was raised from, in Chinese (专项任务 1.2 …)
    issued_at: datetime
    due_at: datetime
    time_limit: str  # as the pages show it (10 个工作日)
    level: str  # 蓝色 / 黄色 / 红色
