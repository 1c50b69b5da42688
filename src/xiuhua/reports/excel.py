"""The assessment workbook (考核报表, .xlsx): an overview, one sheet per subject with the same
columns as the JSON (Chinese headers), the manual entries, the corrections of published periods
booked into the period (更正) and a trend of the last 12 months with a chart, written from the
:class:`~xiuhua.domain.reports.ReportInput` the assessment service gathers (no database here).

Cells keep the unrounded values of the JSON; rates are fractions shown with a percentage number
format, scores with two decimals. Every sheet has a frozen header row (and its name columns), a
filter and column widths fitted to the content. Every row goes through
:func:`~xiuhua.reports.common.append_row`: text from data (entry items, names, reasons) that a
spreadsheet would take for a formula stays text.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from xiuhua.domain.reports import ReportInput, SourceSection
from xiuhua.reports.common import (
    DEC2,
    DEC3,
    ENTRIES,
    INSPECTORS,
    INT,
    MONEY,
    PCT,
    REGIONS,
    STAFF,
    TIME,
    TOP_CATEGORIES,
    UNITS,
    Column,
    SheetSpec,
    append_row,
    basis_text,
    count_columns,
    figure_label,
    local_time,
    measure_label,
    subject_label,
    yes_no,
)

MAX_WIDTH = 50

CORRECTIONS = SheetSpec("更正", "corrections", (  # corrections of published periods booked here
    Column("id", "编号", INT), Column("period", "被更正周期"), Column("booked_period", "计入周期"),
    Column("subject", "对象", show=subject_label), Column("code", "代码"), Column("name", "名称"),
    Column("measure", "指标代码"), Column("measure_label", "指标"),
    *count_columns(("published_value", "发布值"), ("previous_value", "更正前"), ("live_value", "更正后"),
             ("change", "增减")),
    Column("reason", "原因"), Column("booked_by", "登记人"), Column("booked_at", "登记时间", TIME, local_time),
))
SHEETS = (UNITS, REGIONS, INSPECTORS, STAFF, TOP_CATEGORIES, ENTRIES, CORRECTIONS)
TREND = SheetSpec("近12个月趋势", "trend", (
    Column("month", "月份"),
    *count_columns(("reported", "受理数"), ("filed", "立案数"), ("closed", "结案数"), ("closed_on_time", "按期结案数"),
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
    rows = [("考核周期", figures["period"]), ("起始时间", local_time(figures["start"])),
            ("截止时间", local_time(figures["end"])), ("数据截至", local_time(figures.get("as_of"))),
            ("周期已结束", yes_no(figures.get("complete"))), ("已发布（冻结）", yes_no(published)),
            ("发布时间", local_time(figures.get("published_at"))), ("发布人", figures.get("published_by")),
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


RATE_FIGURES = frozenset({"on_time_rate", "close_rate", "rework_rate", "on_time_close_rate", "satisfaction_rate"})


def source_sheet(section: SourceSection) -> tuple[SheetSpec, list[dict[str, Any]]]:
    """A score source's sheet (评分来源-<name>): each unit's weight, source score, basis and figures."""
    keys = list(dict.fromkeys(k for r in section.rows for k, v in r.figures.items() if not isinstance(v, dict | list)))
    columns = (Column("unit_code", "单位代码"), Column("unit_name", "单位名称"), Column("weight", "权重", DEC3),
               Column("score", "来源得分", DEC2), Column("basis", "依据"),
               *(Column(f"figure:{k}", figure_label(k), PCT if k in RATE_FIGURES else None,
                        show=yes_no if k == "insufficient" else None) for k in keys))
    rows = [{"unit_code": r.unit_code, "unit_name": r.unit_name, "weight": r.weight, "score": r.score,
             "basis": basis_text(section.name, r.figures), **{f"figure:{k}": r.figures.get(k) for k in keys}}
            for r in section.rows]
    return SheetSpec(f"评分来源-{section.label}"[:31], section.name, columns, frozen_columns=2), rows


def workbook_bytes(figures: Mapping[str, Any], trend: Sequence[Mapping[str, Any]],
                   sources: Sequence[SourceSection] = ()) -> bytes:
    book = Workbook()
    overview(book.active, figures)
    names = {r["region_code"]: r["name"] for r in figures["regions"]}
    lists = {**figures, "top_categories": [{**t, "region_name": names.get(t["region_code"])}
                                            for t in figures["top_categories"]],
             "corrections": [{**c, "measure_label": measure_label(c["subject"], c["measure"])}
                             for c in figures.get("corrections", [])]}
    for spec in SHEETS:
        write_table(book.create_sheet(spec.title), spec, lists.get(spec.key, []))
    for section in sources:
        spec, rows = source_sheet(section)
        write_table(book.create_sheet(spec.title), spec, rows)
    sheet = book.create_sheet(TREND.title)
    write_table(sheet, TREND, trend)
    if trend:
        trend_chart(sheet, len(trend))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def workbook(found: ReportInput) -> bytes:
    """The period's workbook (.xlsx bytes): its figures (as the viewer may see them) and trend."""
    return workbook_bytes(found.figures, found.trend, found.sources)
