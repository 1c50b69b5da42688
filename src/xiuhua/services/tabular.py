"""Tabular files: reading the CSV files administrators edit (units, rules, taxonomy) with
errors that name the line; reading and writing spreadsheets (.xlsx) safely — an import reads
values and refuses formulas (a writer keeps text from data as text:
:func:`xiuhua.reports.common.append_row`)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from xiuhua.domain.errors import BatchInvalid, InvalidInput

T = TypeVar("T")


def read_text(path: Path, encoding: str | None = None) -> str:
    try:
        return path.read_text(encoding=encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"文件“{path.name}”无法按 {encoding or 'UTF-8'} 解码："
                           f"第 {exc.start} 字节附近（可用 --encoding GBK 指定编码）",
                           code="invalid_encoding") from None
    except LookupError:
        raise InvalidInput(f"未知的文字编码“{encoding}”", code="invalid_encoding") from None


def read_csv(text: str, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows with their line numbers; the header must name every required column."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"CSV 缺少列：{', '.join(missing)}（第 1 行表头）", code="missing_columns")
    reader.fieldnames = header
    rows = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if None in row:
            raise InvalidInput(f"第 {reader.line_num} 行的列数多于表头", code="invalid_csv")
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    return rows


def checked_rows(rows: Sequence[tuple[int, dict[str, str]]], check: Callable[[dict[str, str]], T],
                 what: str, code: str, key: str | None = None) -> list[T]:
    """Every row through ``check`` (which raises ValueError saying what is wrong), or — if any
    row is wrong — BatchInvalid with one line per bad row, naming its line (and ``key``)."""
    items: list[T] = []
    problems: list[str] = []
    for line, row in rows:
        try:
            items.append(check(row))
        except ValueError as exc:
            where = f"第 {line} 行（{row.get(key) or '空'}）" if key else f"第 {line} 行"
            problems.append(f"{where}：{exc}")
    if problems:
        raise BatchInvalid(f"{what}有 {len(problems)} 处错误，未导入", problems, code=code)
    return items


# --- spreadsheets (.xlsx) -------------------------------------------------------------------

FORMULA_CELL = "formula_cell"


def _column_of(cell: Any, index: int) -> str:
    return get_column_letter(getattr(cell, "column", None) or index)


def xlsx_rows(source: Path | bytes | BinaryIO, sheet: str | None = None) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, plain values) of a workbook's sheet (the first unless named). Values only:
    a formula cell is refused naming its sheet, row and column (its cached result may be
    anything the sender's spreadsheet computed, or nothing)."""
    book = _open_book(source)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise InvalidInput(f"工作簿中没有工作表“{sheet}”", code="missing_sheet")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        for number, cells in enumerate(ws.iter_rows(), 1):
            values = []
            for index, cell in enumerate(cells, 1):
                if cell.data_type == "f" or isinstance(cell.value, ArrayFormula | DataTableFormula):
                    raise InvalidInput(f"工作表“{ws.title}”第 {number} 行 {_column_of(cell, index)} 列是公式，"
                                       f"请粘贴为数值后再导入", code=FORMULA_CELL)
                values.append(cell.value)
            yield number, tuple(values)
    finally:
        book.close()


def _open_book(source: Path | bytes | BinaryIO) -> Any:
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return load_workbook(data, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise InvalidInput("文件不是有效的 Excel 工作簿（.xlsx）", code="invalid_xlsx") from None


def cell_text(value: Any) -> str:
    """A cell's value as the text a CSV would hold: 12 not 12.0, dates as ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_xlsx(source: Path | bytes | BinaryIO, required: Sequence[str],
              sheet: str | None = None) -> list[tuple[int, dict[str, str]]]:
    """The rows of a sheet as :func:`read_csv` gives them (row numbers, text by header), so an
    import takes either file; the header (row 1) must name every required column."""
    rows = xlsx_rows(source, sheet)
    first = next(rows, None)
    header = [cell_text(v) for v in first[1]] if first else []
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"工作表缺少列：{', '.join(missing)}（第 1 行表头）", code="missing_columns")
    found = []
    for number, values in rows:
        texts = [cell_text(v) for v in values]
        if not any(texts):
            continue
        extra = [t for t in texts[len(header):] if t]
        if extra or any(t and not header[i] for i, t in enumerate(texts[:len(header)])):
            raise InvalidInput(f"第 {number} 行的列数多于表头", code="invalid_xlsx")
        found.append((number, {h: t for h, t in zip(header, texts, strict=False) if h}))
    return found
