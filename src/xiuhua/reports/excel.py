"""The assessment workbook (考核报表, .xlsx): an overview, one sheet per subject with the same
columns as the JSON (Chinese headers), the manual entries, the corrections of published periods
booked into the period (更正) and a trend of the last 12 months with a chart.

Cells keep the unrounded values of the JSON; rates are fractions shown with a percentage number
format, scores with two decimals. Every sheet has a frozen header row (and its name columns), a
filter and column widths fitted to the content. Every row goes through
:func:`~xiuhua.services.tabular.append_row`: text from data (entry items, names, reasons) that a
spreadsheet would take for a formula stays text.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal
from xiuhua.domain.assessment import MIN_YEAR, AssessmentConfig, Period, scoped_figures
from xiuhua.domain.calendar import SHANGHAI
from xiuhua.domain.choices import RegionLevel, Role
from xiuhua.domain.city import City
from xiuhua.reports.circular import city_row
from xiuhua.services.assessment import assess_period
from xiuhua.services.tabular import append_row

INT, PCT, DEC2, DEC3, MONEY = "0", "0.00%", "0.00", "0.000", "#,##0.00"
DATE, TIME = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"
MAX_WIDTH = 50
TREND_MONTHS = 12


def _level(value: str | None) -> str | None:
    return RegionLevel(value).label if value else None


def _role(value: str | None) -> str | None:
    return Role(value).label if value else None


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else "是" if value else "否"


def _local(value: str | None) -> datetime | None:
    """Excel has no time zones: Shanghai wall-clock time."""
    return datetime.fromisoformat(value).astimezone(SHANGHAI).replace(tzinfo=None) if value else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Column:
    key: str  # in the JSON row
    header: str
    number_format: str | None = None
    show: Callable[[Any], Any] | None = None  # a label for a code, a local time for an ISO string


@dataclass(frozen=True)
class SheetSpec:
    title: str
    key: str  # the list in the figures
    columns: tuple[Column, ...]
    frozen_columns: int = 0


def _counts(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(key, header, INT) for key, header in pairs)


def _rates(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(key, header, PCT) for key, header in pairs)


UNITS = SheetSpec("处置单位", "units", (
    Column("unit_code", "单位代码"), Column("unit_name", "单位名称"),
    *_counts(("dispatched", "派遣数"), ("handled", "处置数"), ("handled_on_time", "按期处置数"),
             ("overdue_unhandled", "超期未处置数"), ("due", "应处置数"), ("returned", "退回数"),
             ("reworked", "返工数"), ("checked_ok", "核查通过数"), ("closed", "结案数"),
             ("closed_on_time", "按期结案数"), ("should_close", "应结案数"), ("supervised", "督办数"),
             ("rated", "评价数"), ("satisfied", "满意数")),
    *_rates(("on_time_rate", "按期处置率"), ("rework_rate", "返工率"), ("close_rate", "结案率"),
            ("on_time_close_rate", "按期结案率"), ("satisfaction_rate", "满意率")),
    Column("deductions", "扣分", DEC2), Column("bonus", "加分", DEC2), Column("score", "得分", DEC2),
    Column("grade", "等级"), Column("rank", "排名", INT), Column("insufficient", "样本不足", show=_yes_no),
    Column("reward", "奖补金额（元）", MONEY),
), frozen_columns=2)
REGIONS = SheetSpec("区域", "regions", (
    Column("region_code", "区域代码"), Column("level", "层级", show=_level), Column("name", "区域名称"),
    *_counts(("reported", "受理数"), ("filed", "立案数"), ("closed", "结案数"), ("closed_on_time", "按期结案数"),
             ("overdue_open", "超期未结数")),
    Column("on_time_close_rate", "按期结案率", PCT), Column("density_per_km2", "立案密度（件/平方千米）", DEC2),
    Column("area_km2", "面积（平方千米）", DEC3),
), frozen_columns=3)
INSPECTORS = SheetSpec("监督员", "inspectors", (
    Column("login", "账号"), Column("name", "姓名"),
    *_counts(("reports", "上报数"), ("valid_reports", "有效上报数"), ("verifications", "核实数"),
             ("checks", "核查数"), ("checks_on_time", "按时核查数")),
    *_rates(("valid_report_rate", "有效上报率"), ("check_on_time_rate", "按时核查率")),
), frozen_columns=2)
STAFF = SheetSpec("指挥中心人员", "staff", (
    Column("login", "账号"), Column("name", "姓名"), Column("role", "角色", show=_role),
    *_counts(("filed", "立案数"), ("filed_on_time", "按时立案数"), ("dispatched", "派遣数"),
             ("dispatched_on_time", "按时派遣数"), ("dispatched_not_returned", "派遣未退回数")),
    *_rates(("filing_on_time_rate", "按时立案率"), ("dispatch_on_time_rate", "按时派遣率"),
            ("dispatch_accuracy", "派遣准确率")),
), frozen_columns=2)
TOP_CATEGORIES = SheetSpec("高发问题", "top_categories", (
    Column("region_code", "区域代码"), Column("region_name", "区域名称"), Column("category_code", "类别代码"),
    Column("name", "问题类别"), Column("filed", "立案数", INT),
), frozen_columns=2)
ENTRIES = SheetSpec("扣分加分", "entries", (  # ``kind`` is shown by its label
    Column("id", "编号", INT), Column("kind_label", "类型"), Column("unit_code", "单位代码"),
    Column("unit_name", "单位名称"), Column("date", "日期", DATE, _day), Column("item", "考核事项"),
    Column("points", "分值", DEC2), Column("photo_id", "证据照片"), Column("period", "所属月份"),
    Column("booked_period", "计入周期"), Column("adjusts", "调整的已发布周期"), Column("entered_by", "登记人"),
    Column("entered_at", "登记时间", TIME, _local),
))
SUBJECT_SHEETS = {spec.key: spec for spec in (UNITS, REGIONS, INSPECTORS, STAFF)}


def subject_label(subject: str | None) -> str | None:
    """处置单位, 区域, 监督员, 指挥中心人员 — as the subjects' sheets are named."""
    spec = SUBJECT_SHEETS.get(subject or "")
    return spec.title if spec else subject


def measure_label(subject: str, measure: str) -> str:
    """The Chinese name of a count, as its column is headed (派遣数, 立案数 …)."""
    spec = SUBJECT_SHEETS.get(subject)
    return next((c.header for c in spec.columns if c.key == measure), measure) if spec else measure


CORRECTIONS = SheetSpec("更正", "corrections", (  # corrections of published periods booked here
    Column("id", "编号", INT), Column("period", "被更正周期"), Column("booked_period", "计入周期"),
    Column("subject", "对象", show=subject_label), Column("code", "代码"), Column("name", "名称"),
    Column("measure", "指标代码"), Column("measure_label", "指标"),
    *_counts(("published_value", "发布值"), ("previous_value", "更正前"), ("live_value", "更正后"),
             ("change", "增减")),
    Column("reason", "原因"), Column("booked_by", "登记人"), Column("booked_at", "登记时间", TIME, _local),
))
SHEETS = (UNITS, REGIONS, INSPECTORS, STAFF, TOP_CATEGORIES, ENTRIES, CORRECTIONS)
TREND = SheetSpec("近12个月趋势", "trend", (
    Column("month", "月份"),
    *_counts(("reported", "受理数"), ("filed", "立案数"), ("closed", "结案数"), ("closed_on_time", "按期结案数"),
             ("overdue_open", "超期未结数")),
    Column("on_time_close_rate", "按期结案率", PCT),
))


# --- writing --------------------------------------------------------------------------------

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def display_width(text: str) -> int:
    """Columns a text takes: Chinese (wide) characters count twice."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def shown(value: Any, number_format: str | None) -> str:
    """Roughly what Excel shows, for sizing the column."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if number_format == PCT:
            return f"{value * 100:.2f}%"
        if number_format in (DEC2, MONEY):
            return f"{value:,.2f}"
        if number_format == DEC3:
            return f"{value:.3f}"
    if isinstance(value, datetime):
        return "2026-01-01 00:00"
    return str(value)


def write_table(ws: Worksheet, spec: SheetSpec, rows: Sequence[Mapping[str, Any]]) -> None:
    append_row(ws, [c.header for c in spec.columns])
    for row in rows:
        append_row(ws, [c.show(row.get(c.key)) if c.show else row.get(c.key) for c in spec.columns])
    for index, column in enumerate(spec.columns, 1):
        cells = [ws.cell(row=r, column=index) for r in range(2, len(rows) + 2)]
        for cell in cells:
            if column.number_format:
                cell.number_format = column.number_format
        width = max([display_width(column.header), *(display_width(shown(c.value, column.number_format))
                                                      for c in cells)])
        ws.column_dimensions[get_column_letter(index)].width = min(width + 2, MAX_WIDTH)
    for cell in ws[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.freeze_panes = ws.cell(row=2, column=spec.frozen_columns + 1).coordinate
    ws.auto_filter.ref = ws.dimensions


def overview(ws: Worksheet, figures: Mapping[str, Any]) -> None:
    ws.title = "概况"
    published = figures.get("published")
    rows = [("考核周期", figures["period"]), ("起始时间", _local(figures["start"])),
            ("截止时间", _local(figures["end"])), ("数据截至", _local(figures.get("as_of"))),
            ("周期已结束", _yes_no(figures.get("complete"))), ("已发布（冻结）", _yes_no(published)),
            ("发布时间", _local(figures.get("published_at"))), ("发布人", figures.get("published_by")),
            ("说明", "比率为未经舍入的原值，以百分比格式显示；得分保留两位小数；时间为北京时间。")]
    for label, value in rows:
        append_row(ws, [label, value])
        if isinstance(value, datetime):
            ws.cell(row=ws.max_row, column=2).number_format = TIME
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 16, 60
    for cell in ws["A"]:
        cell.font = HEADER_FONT


def trend_chart(ws: Worksheet, months: int) -> None:
    """Case counts (left axis) and the on-time close rate (right axis) per month."""
    counts = LineChart()
    counts.title, counts.y_axis.title = "近12个月全市案件与按期结案率", "件"
    counts.add_data(Reference(ws, min_col=2, max_col=4, min_row=1, max_row=months + 1), titles_from_data=True)
    counts.set_categories(Reference(ws, min_col=1, min_row=2, max_row=months + 1))
    rate = LineChart()
    rate.add_data(Reference(ws, min_col=7, min_row=1, max_row=months + 1), titles_from_data=True)
    rate.y_axis.axId, rate.y_axis.title, rate.y_axis.number_format = 200, "按期结案率", "0%"
    rate.y_axis.scaling.min, rate.y_axis.scaling.max, rate.y_axis.crosses = 0, 1, "max"
    for axis in (counts.x_axis, counts.y_axis, rate.y_axis):
        axis.delete = False  # openpyxl hides axes by default
    for series in (*counts.series, *rate.series):
        series.smooth = False
    counts += rate
    counts.width, counts.height = 24, 12
    ws.add_chart(counts, "I2")


def workbook_bytes(figures: Mapping[str, Any], trend: Sequence[Mapping[str, Any]]) -> bytes:
    book = Workbook()
    overview(book.active, figures)
    names = {r["region_code"]: r["name"] for r in figures["regions"]}
    lists = {**figures, "top_categories": [{**t, "region_name": names.get(t["region_code"])}
                                            for t in figures["top_categories"]],
             "corrections": [{**c, "measure_label": measure_label(c["subject"], c["measure"])}
                             for c in figures.get("corrections", [])]}
    for spec in SHEETS:
        write_table(book.create_sheet(spec.title), spec, lists.get(spec.key, []))
    sheet = book.create_sheet(TREND.title)
    write_table(sheet, TREND, trend)
    if trend:
        trend_chart(sheet, len(trend))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- gathering ------------------------------------------------------------------------------


def trend_months(period: Period, at: datetime | None) -> list[Period]:
    """The 12 months up to the period's last one, without months not yet begun at ``at``."""
    last = period.first_month + len(period.months()) - 1
    months = [Period.of("month", last - i) for i in range(TREND_MONTHS - 1, -1, -1)]
    return [m for m in months if m.first_month >= MIN_YEAR * 12 and (at is None or m.start <= at)]


def trend(session: Session, city: City, period: Period, config: AssessmentConfig, at: datetime | None,
          known: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The city's figures month by month (published months are read frozen, not recomputed;
    ``known`` figures are reused)."""
    done = known or {}
    return [{**city_row(done.get(m.label) or assess_period(session, city, m.label, config, at)), "month": m.label}
            for m in trend_months(period, at)]


def workbook(session: Session, city: City, period_text: str, config: AssessmentConfig, at: datetime,
             viewer: Principal | None = None) -> bytes:
    """The period's workbook (.xlsx bytes), with the people's figures ``viewer`` may see."""
    period = Period.parse(period_text)
    figures = assess_period(session, city, period.label, config, at)
    return workbook_bytes(scoped_figures(figures, viewer),
                          trend(session, city, period, config, at, {period.label: figures}))
