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
from xiuhua.domain.sources import source_label

REPORT_FORMATS = ("xlsx", "docx")


def city_row(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The city's region row of a period's figures (zeros when the city has no city-level region)."""
    found = next((r for r in figures["regions"] if r["level"] == RegionLevel.CITY.value), None)
    return found or {"region_code": None, "name": None, "reported": 0, "filed": 0, "closed": 0,
                     "closed_on_time": 0, "overdue_open": 0, "on_time_close_rate": None}


@dataclass(frozen=True)
class SourceRow:
    """One unit's result from one score source: its weight for the unit's kind, the source's
    score (None: no data) and the figures it scored by (the JSON's ``figures``)."""

    unit_code: str
    unit_name: str
    weight: float
    score: float | None
    figures: Mapping[str, Any]


@dataclass(frozen=True)
class SourceSection:
    """A score source's section of the circular and sheet of the workbook: its units, ranked order."""

    name: str
    label: str
    rows: tuple[SourceRow, ...]

    @property
    def scored(self) -> int:
        return sum(1 for r in self.rows if r.score is not None)


def source_sections(figures: Mapping[str, Any]) -> tuple[SourceSection, ...]:
    """One section per source of the units' ``sources`` (in the file's order), the units in the
    ranking's order; none when the figures have no sources (the composite is off)."""
    rows: dict[str, list[SourceRow]] = {}
    for unit in figures.get("units", []):
        for s in unit.get("sources") or ():
            rows.setdefault(s["name"], []).append(SourceRow(unit["unit_code"], unit["unit_name"], s["weight"],
                                                            s["score"], s["figures"]))
    return tuple(SourceSection(name, source_label(name), tuple(found)) for name, found in rows.items())


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
    # both: a section per score source when the composite is on (``source_sections``)
    sources: tuple[SourceSection, ...] = ()
    programme: ProgrammeSection | None = None  # circular: 重点任务推进情况 (None or empty: left out)

    @property
    def label(self) -> str:
        return self.period.label


# --- the self-evaluation report (自评价报告) ---------------------------------------------------
# A period's field evaluation against a chosen standard, as the city reports it upwards. The
# evaluation service (rounds, standards: the evaluation feature) fills it; the writer is
# :mod:`xiuhua.reports.self_evaluation`.


@dataclass(frozen=True)
class HeadingScore:
    """A top heading of the standard (e.g. 干净 / 整洁 / 有序 / 安全): the city's score under it
    (0–100) this period and the last (None: not evaluated), and the points sampled."""

    heading: str
    score: float | None
    previous: float | None
    points: int

    @property
    def change(self) -> float | None:
        return self.score - self.previous if self.score is not None and self.previous is not None else None


@dataclass(frozen=True)
class WorstPoint:
    """One of the lowest-scoring evaluation points: what it is, its score, the deductions made
    there and their photos (the image bytes, loaded by the service: the writer reads no files)."""

    name: str
    kind: str  # 主次干道, 公园 …
    street: str
    score: float
    deductions: tuple[str, ...]  # e.g. "路面积水 ×2（−4 分）"
    photos: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class SelfEvaluationInput:
    """Everything the self-evaluation report of a period shows."""

    period: Period
    standard_name: str  # the standard evaluated against, e.g. 省城市管理考核标准（2026 版）
    city_name: str
    issuer: str
    at: datetime  # when the report is made
    score: float | None  # the city's field score this period
    previous_score: float | None  # and the last period's
    headings: tuple[HeadingScore, ...]
    worst: tuple[WorstPoint, ...]
    deductions: int  # deductions that became rectification cases
    rectified: int  # of those, closed by the report's day
    rectified_on_time: int  # of those, closed on time

    @property
    def rectification_rate(self) -> float | None:
        return self.rectified / self.deductions if self.deductions else None

    @property
    def change(self) -> float | None:
        if self.score is None or self.previous_score is None:
            return None
        return self.score - self.previous_score


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
