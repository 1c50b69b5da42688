"""The progress workbook of a plan (专项行动推进情况表): a summary sheet, then a sheet per section
(the plan's top-level nodes) with every task under it, its row filled in its status's colour.
Typed input in (:class:`~xiuhua.domain.reports.PlanWorkbookInput`), bytes out; no database."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from xiuhua.domain.calendar import local_zone
from xiuhua.domain.plans import STATUS_COLOURS, TaskStatus
from xiuhua.domain.reports import PlanSheetRow, PlanWorkbookInput
from xiuhua.reports.common import append_row

COLUMNS = ("序号", "任务", "工作内容", "牵头单位", "配合单位", "责任人", "完成时限", "完成进度(%)",
           "状态", "滞后(百分点)")
WIDTHS = (8, 30, 40, 16, 20, 14, 14, 12, 10, 12)
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(code: str, title: str, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", f"{code} {title}")[:28].strip() or code
    name, n = base, 2
    while name in used:
        name, n = f"{base[:26]}{n}", n + 1
    used.add(name)
    return name


def _header(ws: Worksheet, values: Sequence[str]) -> None:
    append_row(ws, values)
    for cell in ws[ws.max_row]:
        cell.font, cell.fill = BOLD, HEADER_FILL


def _row(ws: Worksheet, r: PlanSheetRow) -> None:
    append_row(ws, [r.code, r.title, r.content, r.lead_unit, r.cooperating, r.responsible, r.deadline,
                    round(r.progress, 1), r.status.label if r.status else "", r.lag])
    if r.status is not None:
        fill = PatternFill("solid", fgColor=STATUS_COLOURS[r.status])
        for cell in ws[ws.max_row]:
            cell.fill = fill
    else:
        for cell in ws[ws.max_row]:
            cell.font = BOLD


def _summary(ws: Worksheet, found: PlanWorkbookInput, sections: list[tuple[PlanSheetRow, list[PlanSheetRow]]]
             ) -> None:
    append_row(ws, [found.plan_name])
    ws["A1"].font = Font(bold=True, size=14)
    append_row(ws, [f"截至 {found.at.astimezone(local_zone()):%Y-%m-%d %H:%M}"])
    append_row(ws, [])
    _header(ws, ["板块", "任务数", *[s.label for s in TaskStatus], "平均进度(%)"])
    for head, rows in sections:
        tasks = [r for r in rows if r.status is not None]
        mean = sum(r.progress for r in tasks) / len(tasks) if tasks else 0.0
        append_row(ws, [f"{head.code} {head.title}", len(tasks),
                        *[sum(r.status is s for r in tasks) for s in TaskStatus], round(mean, 1)])
    ws.column_dimensions["A"].width = 36


def _sections(rows: Sequence[PlanSheetRow]) -> list[tuple[PlanSheetRow, list[PlanSheetRow]]]:
    found: list[tuple[PlanSheetRow, list[PlanSheetRow]]] = []
    for r in rows:
        if "." not in r.code:
            found.append((r, [r]))
        elif found:
            found[-1][1].append(r)
    return found


def plan_workbook(found: PlanWorkbookInput) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "汇总"
    sections = _sections(found.rows)
    _summary(summary, found, sections)
    used = {"汇总"}
    for head, rows in sections:
        ws = book.create_sheet(_sheet_title(head.code, head.title, used))
        _header(ws, COLUMNS)
        for r in rows:
            _row(ws, r)
        for i, width in enumerate(WIDTHS):
            ws.column_dimensions[chr(ord("A") + i)].width = width
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
