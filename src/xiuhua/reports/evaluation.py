"""The workbook of a field-evaluation standard (考评标准): the layout its import reads (level
columns, 分值, 扣分标准, 适用点位, 事项代码), so an exported standard imports again as it is."""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any

from openpyxl import Workbook

from xiuhua.reports.common import append_row

WIDTHS = (10, 14, 14, 40, 8, 22, 40, 10)


def standard_workbook(name: str, rows: Sequence[Sequence[Any]]) -> bytes:
    """``rows``: the header, then one row per item."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "考评标准"
    for row in rows:
        append_row(sheet, row)
    for n, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + n)].width = width
    book.properties.title = name
    out = BytesIO()
    book.save(out)
    return out.getvalue()
