"""The circular (考核通报) of the two-level assessment: the city's ranking of its districts and
departments, or a district's ranking of its streets and the units it dispatched to, as a short
Word document (``xiuhua assess --period P --district CODE --format docx``). It takes the JSON of
:func:`xiuhua.services.districts.area_assessment` and nothing else."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

BODY_FONT, TITLE_FONT = "仿宋_GB2312", "方正小标宋简体"
AREA_WORDS = {"city": ("区（县）", "市直部门"), "district": ("街道", "派遣单位")}


def _font(run: Any, name: str, size: float) -> None:
    run.font.name, run.font.size = name, Pt(size)
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _paragraph(doc: Any, text: str, *, size: float = 16, font: str = BODY_FONT, centred: bool = False) -> None:
    paragraph = doc.add_paragraph()
    if centred:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run(text), font, size)


def _score(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "样本不足"


def _table(doc: Any, head: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = doc.add_table(rows=1, cols=len(head))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        _font(cell.paragraphs[0].add_run(text), BODY_FONT, 12)
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            _font(cell.paragraphs[0].add_run(text), BODY_FONT, 12)


def _rank(value: int | None) -> str:
    return str(value) if value is not None else "—"


def render(figures: Mapping[str, Any]) -> bytes:
    """The circular of one city's or district's assessment (see the module docstring)."""
    area_word, unit_word = AREA_WORDS[figures["level"]]
    doc = Document()
    _paragraph(doc, f"{figures['name']}城市管理考核通报", size=22, font=TITLE_FONT, centred=True)
    _paragraph(doc, f"（{figures['period']}）", centred=True)
    areas, units = figures["areas"], figures["units"]
    ranked = [a for a in areas if a["rank"] is not None]
    lead = (f"本期{area_word}考核以辖区内案件的处置情况计分，{len(ranked)} 个{area_word}参与排名"
            + (f"，{ranked[0]['name']}列第一。" if ranked else "。"))
    _paragraph(doc, lead)
    _paragraph(doc, f"一、{area_word}排名", font="黑体")
    _table(doc, ("名次", area_word, "得分", "等级", "应办结数", "派遣数"),
           [(_rank(a["rank"]), a["name"], _score(a["score"]), a["grade"] or "—", str(a["due"]),
             str(a["dispatched"])) for a in areas])
    _paragraph(doc, f"二、{unit_word}排名", font="黑体")
    _table(doc, ("名次", "单位", "得分", "等级", "应办结数", "派遣数"),
           [(_rank(u["rank"]), u["unit_name"], _score(u["score"]), u["grade"] or "—", str(u["due"]),
             str(u["dispatched"])) for u in units])
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
