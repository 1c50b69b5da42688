"""The workbook and the circular are written from a plain :class:`ReportInput` built by hand:
no database, no service — what the assessment service gathers is all they read."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from docx import Document
from openpyxl import load_workbook

from xiuhua.domain.assessment import Period
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.reports import ReportInput, city_row
from xiuhua.reports import render_report
from xiuhua.reports.circular import circular
from xiuhua.reports.excel import workbook

AT = datetime(2026, 11, 3, 9, 0, tzinfo=local_zone())
OCTOBER = Period.parse("2026-10")


def unit(code: str, name: str, rank: int | None, score: float, **counts: Any) -> dict[str, Any]:
    found = {"unit_code": code, "unit_name": name, "dispatched": 4, "handled": 3, "handled_on_time": 3,
             "overdue_unhandled": 1, "due": 4, "returned": 0, "reworked": 0, "checked_ok": 3, "closed": 3,
             "closed_on_time": 3, "on_time_rate": 0.75, "close_rate": 0.75, "rework_rate": 0.0,
             "deductions": 0.0, "bonus": 0.0, "score": score, "grade": "良好", "rank": rank,
             "insufficient": rank is None, "reward": None}
    return {**found, **counts}


def city(name: str, reported: int, filed: int, rate: float | None) -> dict[str, Any]:
    return {"region_code": "C", "level": "city", "name": name, "reported": reported, "filed": filed,
            "closed": filed - 1, "closed_on_time": filed - 2, "overdue_open": 1, "on_time_close_rate": rate,
            "density_per_km2": None, "area_km2": None}


FIGURES: dict[str, Any] = {
    "period": "2026-10", "start": OCTOBER.start.isoformat(), "end": OCTOBER.end.isoformat(),
    "as_of": OCTOBER.end.isoformat(), "complete": True, "published": False, "published_at": None,
    "published_by": None,
    "units": [unit("U-HW", "环卫处", 1, 92.5), unit("U-SZ", "市政处", 2, 80.25),
              unit("U-YL", "园林处", None, 0.0, due=2)],
    "regions": [city("示例市", 40, 30, 0.9)],
    "top_categories": [{"region_code": "C", "category_code": "0101", "name": "暴露垃圾", "filed": 12}],
    "inspectors": [], "staff": [],
    "entries": [{"id": 1, "kind": "deduction", "kind_label": "扣分", "unit_code": "U-SZ", "unit_name": "市政处",
                 "date": "2026-10-12", "item": "=井盖缺失未处置", "points": 2.0, "photo_id": None,
                 "period": "2026-10", "booked_period": "2026-10", "adjusts": None, "entered_by": "leader",
                 "entered_at": "2026-10-12T10:00:00+08:00"}],
    "corrections": [],
}
OVERDUE = ({"case_no": "20261025000001", "category_code": "0101", "unit_code": "U-SZ",
            "deadline_at_end": "2026-10-30T17:00:00+08:00"},)


def report_input(fmt: str) -> ReportInput:
    trend = tuple({**city_row(FIGURES), "month": m} for m in ("2026-09", "2026-10"))
    return ReportInput(fmt, OCTOBER, FIGURES, AT, trend=trend if fmt == "xlsx" else (),
                       previous=city("示例市", 50, 25, 0.8) if fmt == "docx" else None, overdue=OVERDUE,
                       center_name="示例市城市管理指挥中心", category_names={"0101": "暴露垃圾"},
                       unit_names={"U-SZ": "市政处"})


def test_the_workbook_is_written_from_a_plain_input() -> None:
    book = load_workbook(io.BytesIO(workbook(report_input("xlsx"))))
    units = list(book["处置单位"].iter_rows(values_only=True))
    assert units[0][:2] == ("单位代码", "单位名称")
    assert [r[1] for r in units[1:]] == ["环卫处", "市政处", "园林处"]
    entry = book["扣分加分"]["F2"]
    assert (entry.value, entry.quotePrefix) == ("=井盖缺失未处置", True)  # text from data stays text
    trend = list(book["近12个月趋势"].iter_rows(values_only=True))
    assert [r[0] for r in trend[1:]] == ["2026-09", "2026-10"]
    assert book["概况"]["B1"].value == "2026-10"


def test_the_circular_is_written_from_a_plain_input() -> None:
    doc = Document(io.BytesIO(circular(report_input("docx"))))
    text = "\n".join([p.text for p in doc.paragraphs]
                     + [c.text for t in doc.tables for row in t.rows for c in row.cells])
    assert "示例市城市管理指挥中心" in text
    assert "2026年10月，全市共受理城市管理问题40件，较上月减少10件（下降20.0%）" in text
    assert "按期结案率90.00%，较上月上升10.00个百分点" in text
    assert "本期得分最高的单位是环卫处（92.50分）" in text
    assert "全市立案数量居前1位的问题依次为：暴露垃圾（12件）。" in text
    assert "20261025000001" in text and "市政处" in text
    assert render_report(report_input("docx"))[:2] == b"PK"


def test_the_writers_import_the_domain_only_and_not_each_other() -> None:
    import ast
    from pathlib import Path

    import xiuhua.reports

    folder = Path(xiuhua.reports.__file__).parent
    for name, sibling in (("excel", "circular"), ("circular", "excel"), ("common", "excel")):
        tree = ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        ours = {m for m in imported if m.startswith("xiuhua.")}
        assert all(m.startswith(("xiuhua.domain.", "xiuhua.reports.common")) for m in ours), (name, ours)
        assert f"xiuhua.reports.{sibling}" not in imported and "sqlalchemy.orm" not in imported
