"""Reading the CSV files administrators edit (units, rules, taxonomy): one reader, errors that
name the line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

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
