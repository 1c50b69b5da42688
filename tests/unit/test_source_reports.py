"""The composite ranking in the workbook and the circular (a section per score source, the sources
each unit used), and the self-evaluation report (自评价报告), all written from hand-built inputs."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from docx import Document
from openpyxl import load_workbook
from PIL import Image

from tests.unit.test_report_writers import AT, FIGURES, OCTOBER, report_input
from xiuhua.domain.reports import HeadingScore, SelfEvaluationInput, WorstPoint, source_sections
from xiuhua.reports.circular import circular
from xiuhua.reports.excel import workbook
from xiuhua.reports.self_evaluation import self_evaluation


def cases(score: float | None, due: int) -> dict[str, Any]:
    return {"name": "cases", "score": score, "weight": 0.5,
            "figures": {"due": due, "minimum_due": 5, "insufficient": score is None, "on_time_rate": 0.75}}


def survey(score: float | None, answers: int) -> dict[str, Any]:
    return {"name": "survey", "score": score, "weight": 0.2,
            "figures": {"answers": answers, "minimum_answers": 30, "insufficient": score is None, "mean": 70.0}}


COMPOSITE = {**FIGURES, "units": [
    {**FIGURES["units"][0], "sources": [cases(92.5, 8), survey(None, 12)]},
    {**FIGURES["units"][1], "sources": [cases(80.25, 6), survey(81.0, 41)]},
    {**FIGURES["units"][2], "sources": [cases(None, 2), survey(None, 0)], "score": None},
]}


def with_sources(fmt: str) -> Any:
    return replace(report_input(fmt), figures=COMPOSITE, sources=source_sections(COMPOSITE))


def test_the_sections_follow_the_units_sources_and_none_without_them() -> None:
    sections = source_sections(COMPOSITE)
    assert [(s.name, s.label, s.scored) for s in sections] == [("cases", "案件处置", 2), ("survey", "问卷调查", 1)]
    assert [r.unit_name for r in sections[1].rows] == ["环卫处", "市政处", "园林处"]
    assert source_sections(FIGURES) == ()


def test_the_workbook_has_a_sheet_per_source() -> None:
    book = load_workbook(io.BytesIO(workbook(with_sources("xlsx"))))
    rows = list(book["评分来源-问卷调查"].iter_rows(values_only=True))
    assert rows[0][:5] == ("单位代码", "单位名称", "权重", "来源得分", "依据")
    assert "答卷数" in rows[0] and "样本不足" in rows[0]
    assert rows[1][:5] == ("U-HW", "环卫处", 0.2, None, "答卷 12 份（最低 30 份），样本不足")
    assert rows[2][3] == 81.0
    assert "评分来源-案件处置" in book.sheetnames
    assert not [n for n in load_workbook(io.BytesIO(workbook(report_input("xlsx")))).sheetnames
                if n.startswith("评分来源")]


def text_of(content: bytes) -> str:
    doc = Document(io.BytesIO(content))
    return "\n".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for row in t.rows
                                                         for c in row.cells])


def test_the_circular_names_the_sources_each_unit_used_and_has_a_part_per_source() -> None:
    text = text_of(circular(with_sources("docx")))
    assert "本期实行综合考评" in text
    assert "案件处置（问卷调查无数据）" in text  # 环卫处: too few answers
    assert "案件处置、问卷调查" in text  # 市政处
    assert "1. 案件处置：3个单位计入本来源，2个有数据" in text
    assert "2. 问卷调查：3个单位计入本来源，1个有数据" in text
    assert "答卷 41 份（最低 30 份）" in text and "应处置 2 件（最低 5 件），样本不足" in text
    assert "各评分来源均无数据" in text
    plain = text_of(circular(report_input("docx")))
    assert "综合考评" not in plain and "评分来源" not in plain  # the composite off: as before


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 60, 60)).save(out, format="JPEG")
    return out.getvalue()


def test_the_self_evaluation_report_is_written_from_a_plain_input() -> None:
    found = SelfEvaluationInput(
        period=OCTOBER, standard_name="省城市管理考核标准（2026 版）", city_name="示例市",
        issuer="示例市城市管理委员会", at=AT, score=86.5, previous_score=88.0,
        headings=(HeadingScore("干净", 90.0, 85.5, 40), HeadingScore("有序", 78.25, 80.0, 35),
                  HeadingScore("安全", None, 92.0, 0)),
        worst=(WorstPoint("人民路（中山路—解放路）", "主次干道", "东城街道", 55.0,
                          ("路面积水 ×2（−4 分）", "店外经营 ×1（−5 分）"), (jpeg(), jpeg())),),
        deductions=20, rectified=17, rectified_on_time=15)
    assert found.rectification_rate == 0.85 and found.change == -1.5
    doc = Document(io.BytesIO(self_evaluation(found)))
    text = text_of(self_evaluation(found))
    assert "示例市2026年10月城市管理自评价报告" in text
    assert "对照“省城市管理考核标准（2026 版）”开展实地自查考评，综合得分 86.50 分，较上期下降 1.50 分" in text
    assert "干净\n90.00\n85.50\n上升 4.50 分\n40" in text
    assert "安全\n—\n92.00\n—\n0" in text
    assert "人民路（中山路—解放路）（东城街道，主次干道）：55.00 分" in text and "店外经营 ×1（−5 分）" in text
    assert len(doc.inline_shapes) == 2  # the worst point's photos
    assert "整改 17 个（其中按期整改 15 个），整改率 85.0%" in text
    empty = replace(found, score=None, previous_score=None, worst=(), deductions=0, rectified=0,
                    rectified_on_time=0)
    text = text_of(self_evaluation(empty))
    assert "未按“省城市管理考核标准（2026 版）”开展实地考评" in text and "本期无扣分点位" in text
    assert "本期考评未发现需整改的问题" in text
