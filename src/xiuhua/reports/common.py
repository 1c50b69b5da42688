"""What the workbook (:mod:`~xiuhua.reports.excel`) and the circular (:mod:`~xiuhua.reports.circular`)
share, so that neither imports the other: the subjects' columns (the Chinese name of every
measure), period names, and the safe way to append a row of data to a sheet."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

from xiuhua.domain.assessment import Period
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import RegionLevel, Role

QUARTERS = "一二三四"
# A text starting with one of these is read as a formula by Excel, LibreOffice or WPS
# (CSV/formula injection, OWASP): written from data, it must stay text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def period_name(period: Period) -> str:
    """2026年10月, 2026年第四季度, 2026年度."""
    year, month = divmod(period.first_month, 12)
    if period.kind == "month":
        return f"{year}年{month + 1}月"
    if period.kind == "quarter":
        return f"{year}年第{QUARTERS[month // 3]}季度"
    return f"{year}年度"


# --- cells ----------------------------------------------------------------------------------


def text_cell(cell: Cell) -> Cell:
    """Keep a cell written from data as what it is: a string that a spreadsheet would take for
    a formula is stored as a string cell with Excel's quote prefix (shown unchanged, never
    evaluated, and still text when edited).
    Numbers, dates and booleans are left alone (reward amounts may be negative)."""
    value = cell.value
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def append_row(ws: Worksheet, values: Iterable[Any]) -> None:
    """Append a row of data to a sheet: every xlsx writer adds its rows through this
    (characters XML cannot carry become spaces; text a spreadsheet would read as a formula
    stays text: :func:`text_cell`)."""
    row = [ILLEGAL_CHARACTERS_RE.sub(" ", v) if isinstance(v, str) else v for v in values]
    ws.append(row)
    for cell in ws[ws.max_row]:
        text_cell(cell)


# --- columns --------------------------------------------------------------------------------

INT, PCT, DEC2, DEC3, MONEY = "0", "0.00%", "0.00", "0.000", "#,##0.00"
DATE, TIME = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"


def level_label(value: str | None) -> str | None:
    return RegionLevel(value).label if value else None


def role_label(value: str | None) -> str | None:
    return Role(value).label if value else None


def yes_no(value: bool | None) -> str | None:
    return None if value is None else "是" if value else "否"


def local_time(value: str | None) -> datetime | None:
    """Excel has no time zones: Shanghai wall-clock time."""
    return datetime.fromisoformat(value).astimezone(local_zone()).replace(tzinfo=None) if value else None


def day_value(value: str | None) -> date | None:
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


def count_columns(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(key, header, INT) for key, header in pairs)


def rate_columns(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(key, header, PCT) for key, header in pairs)


UNITS = SheetSpec("处置单位", "units", (
    Column("unit_code", "单位代码"), Column("unit_name", "单位名称"),
    *count_columns(("dispatched", "派遣数"), ("handled", "处置数"), ("handled_on_time", "按期处置数"),
             ("overdue_unhandled", "超期未处置数"), ("due", "应处置数"), ("returned", "退回数"),
             ("reworked", "返工数"), ("checked_ok", "核查通过数"), ("closed", "结案数"),
             ("closed_on_time", "按期结案数"), ("should_close", "应结案数"), ("supervised", "督办数"),
             ("rated", "评价数"), ("satisfied", "满意数")),
    *rate_columns(("on_time_rate", "按期处置率"), ("rework_rate", "返工率"), ("close_rate", "结案率"),
            ("on_time_close_rate", "按期结案率"), ("satisfaction_rate", "满意率")),
    Column("deductions", "扣分", DEC2), Column("bonus", "加分", DEC2), Column("score", "得分", DEC2),
    Column("grade", "等级"), Column("rank", "排名", INT), Column("insufficient", "样本不足", show=yes_no),
    Column("reward", "奖补金额（元）", MONEY),
), frozen_columns=2)
REGIONS = SheetSpec("区域", "regions", (
    Column("region_code", "区域代码"), Column("level", "层级", show=level_label), Column("name", "区域名称"),
    *count_columns(("reported", "受理数"), ("filed", "立案数"), ("closed", "结案数"), ("closed_on_time", "按期结案数"),
             ("overdue_open", "超期未结数")),
    Column("on_time_close_rate", "按期结案率", PCT), Column("density_per_km2", "立案密度（件/平方千米）", DEC2),
    Column("area_km2", "面积（平方千米）", DEC3),
), frozen_columns=3)
INSPECTORS = SheetSpec("监督员", "inspectors", (
    Column("login", "账号"), Column("name", "姓名"),
    *count_columns(("reports", "上报数"), ("valid_reports", "有效上报数"), ("verifications", "核实数"),
             ("checks", "核查数"), ("checks_on_time", "按时核查数")),
    *rate_columns(("valid_report_rate", "有效上报率"), ("check_on_time_rate", "按时核查率")),
), frozen_columns=2)
STAFF = SheetSpec("指挥中心人员", "staff", (
    Column("login", "账号"), Column("name", "姓名"), Column("role", "角色", show=role_label),
    *count_columns(("filed", "立案数"), ("filed_on_time", "按时立案数"), ("dispatched", "派遣数"),
             ("dispatched_on_time", "按时派遣数"), ("dispatched_not_returned", "派遣未退回数")),
    *rate_columns(("filing_on_time_rate", "按时立案率"), ("dispatch_on_time_rate", "按时派遣率"),
            ("dispatch_accuracy", "派遣准确率")),
), frozen_columns=2)
TOP_CATEGORIES = SheetSpec("高发问题", "top_categories", (
    Column("region_code", "区域代码"), Column("region_name", "区域名称"), Column("category_code", "类别代码"),
    Column("name", "问题类别"), Column("filed", "立案数", INT),
), frozen_columns=2)
ENTRIES = SheetSpec("扣分加分", "entries", (  # ``kind`` is shown by its label
    Column("id", "编号", INT), Column("kind_label", "类型"), Column("unit_code", "单位代码"),
    Column("unit_name", "单位名称"), Column("date", "日期", DATE, day_value), Column("item", "考核事项"),
    Column("points", "分值", DEC2), Column("photo_id", "证据照片"), Column("period", "所属月份"),
    Column("booked_period", "计入周期"), Column("adjusts", "调整的已发布周期"), Column("entered_by", "登记人"),
    Column("entered_at", "登记时间", TIME, local_time),
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


# --- score sources (综合考评) ------------------------------------------------------------------

FIGURE_LABELS = {  # the figures of the score sources, as the workbook's headers name them
    "due": "应处置数", "minimum_due": "最低应处置数", "insufficient": "样本不足",
    "on_time_rate": "按期处置率", "close_rate": "结案率", "rework_rate": "返工率",
    "on_time_close_rate": "按期结案率", "satisfaction_rate": "满意率",
    "answers": "答卷数", "minimum_answers": "最低答卷数", "mean": "答卷平均分",
}


def figure_label(key: str) -> str:
    return FIGURE_LABELS.get(key, key)


def basis_text(name: str, figures: Mapping[str, Any]) -> str:
    """What a source scored a unit by, in a few words (the circular's 依据 column)."""
    small = "，样本不足" if figures.get("insufficient") else ""
    if name == "cases":
        return f"应处置 {figures.get('due', 0)} 件（最低 {figures.get('minimum_due', 0)} 件）{small}"
    if name == "survey":
        return f"答卷 {figures.get('answers', 0)} 份（最低 {figures.get('minimum_answers', 0)} 份）{small}"
    shown = "，".join(f"{figure_label(k)} {v}" for k, v in figures.items()
                     if k != "insufficient" and not isinstance(v, dict | list))
    return f"{shown}{small}" or "—"
