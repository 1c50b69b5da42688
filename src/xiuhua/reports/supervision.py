"""The 督办通知单 of a supervision order as a Word document, in the circular's GB/T 9704 layout
(the styles and page of :mod:`xiuhua.reports.make_template`): 发文机关标志 in red, the document
number over the red line, the title, the addressed unit, the matter, the time limit, the issuer
and date. Typed input in (:class:`~xiuhua.domain.reports.OrderNoticeInput`), bytes out."""

from __future__ import annotations

import io
import re

from docx import Document

from xiuhua.domain.calendar import local_zone
from xiuhua.domain.reports import OrderNoticeInput
from xiuhua.reports.make_template import page, para, styles

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text)


def _day(found: OrderNoticeInput, which: str) -> str:
    moment = (found.issued_at if which == "issued" else found.due_at).astimezone(local_zone())
    return f"{moment.year}年{moment.month}月{moment.day}日"


def order_notice(found: OrderNoticeInput) -> bytes:
    doc = Document()
    styles(doc)
    page(doc)
    para(doc, "发文机关标志", _clean(f"{found.issuer}"))
    para(doc, "发文字号", found.number)
    para(doc, "公文标题", "督办通知单")
    para(doc, "主送机关", _clean(f"{found.unit}："))
    para(doc, "公文正文", _clean(f"现将“{found.title}”列为{found.level}督办事项（来源：{found.origin}），"
                              f"请你单位于{_day(found, 'due')}前（{found.time_limit}）办结并书面回复。"))
    for line in _clean(found.content).splitlines() or [""]:
        para(doc, "公文正文", line)
    para(doc, "公文正文", "回复须写明办理情况、完成时间和责任人，并附相关照片或材料；经审核采纳的回复方视为已回复。")
    para(doc, "发文机关署名", "\t" + _clean(found.issuer))
    para(doc, "发文机关署名", "\t" + _day(found, "issued"))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
