"""The self-evaluation report (自评价报告, .docx): a period's field evaluation against a chosen
standard — the scores by heading with the change from the last period, the worst points with
their deductions and photos, and the rectification rate of the cases the deductions became —
written from a :class:`~xiuhua.domain.reports.SelfEvaluationInput` (no database here)."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt

from xiuhua.domain.reports import SelfEvaluationInput, WorstPoint
from xiuhua.reports.common import period_name

PHOTO_WIDTH_MM = 70
MAX_PHOTOS = 3  # per point


def score_text(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "—"


def change_text(value: float | None) -> str:
    if value is None:
        return "—"
    return "持平" if abs(value) < 0.005 else f"{'上升' if value > 0 else '下降'} {abs(value):.2f} 分"


def summary(found: SelfEvaluationInput) -> str:
    name = period_name(found.period)
    if found.score is None:
        return f"{name}，{found.city_name}未按“{found.standard_name}”开展实地考评，或考评尚未发布。"
    text = f"{name}，{found.city_name}对照“{found.standard_name}”开展实地自查考评，综合得分 {found.score:.2f} 分"
    if found.change is not None:
        text += f"，较上期{change_text(found.change)}"
    return text + "。"


def rectification(found: SelfEvaluationInput) -> str:
    rate = found.rectification_rate
    if rate is None:
        return "本期考评未发现需整改的问题。"
    return (f"本期考评扣分问题 {found.deductions} 个，均已转为整改案件；截至报告日已整改 {found.rectified} 个"
            f"（其中按期整改 {found.rectified_on_time} 个），整改率 {rate * 100:.1f}%。")


def _table(doc: DocumentObject, headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        cell.text = header
        cell.paragraphs[0].runs[0].bold = True
    for row in rows:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = value


def _point(doc: DocumentObject, i: int, point: WorstPoint) -> None:
    doc.add_paragraph(f"{i}. {point.name}（{point.street}，{point.kind}）：{point.score:.2f} 分")
    for item in point.deductions:
        doc.add_paragraph(item, style="List Bullet")
    for photo in point.photos[:MAX_PHOTOS]:
        doc.add_picture(io.BytesIO(photo), width=Mm(PHOTO_WIDTH_MM))


def self_evaluation(found: SelfEvaluationInput) -> bytes:
    """The report as .docx bytes."""
    doc = Document()
    doc.styles["Normal"].font.size = Pt(12)
    title = doc.add_heading(f"{found.city_name}{period_name(found.period)}城市管理自评价报告", level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(summary(found))
    doc.add_heading("一、分项得分", level=1)
    _table(doc, ("考评项目", "本期得分", "上期得分", "变化", "考评点位"),
           [(h.heading, score_text(h.score), score_text(h.previous), change_text(h.change), str(h.points))
            for h in found.headings])
    doc.add_heading("二、得分最低的点位", level=1)
    if not found.worst:
        doc.add_paragraph("本期无扣分点位。")
    for i, point in enumerate(found.worst, 1):
        _point(doc, i, point)
    doc.add_heading("三、问题整改情况", level=1)
    doc.add_paragraph(rectification(found))
    signed = doc.add_paragraph(f"{found.issuer}\n{found.at.year}年{found.at.month}月{found.at.day}日")
    signed.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    props = doc.core_properties
    props.title, props.subject = f"{period_name(found.period)}自评价报告", found.standard_name
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
