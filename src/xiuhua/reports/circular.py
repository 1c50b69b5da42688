"""The monthly circular (月度通报) as a Word document: the period's figures put into sentences and
tables, rendered into the editable GB/T 9704 template (:mod:`xiuhua.reports.make_template`).

Every figure comes from the :class:`~xiuhua.domain.reports.ReportInput` the assessment service
gathers (no database here): the period's figures (frozen once it is published) and the previous
period's city row, for the month-on-month changes; the overdue cases are the items behind the
units' ``overdue_unhandled``; the corrections of earlier
published months booked into the period are listed after the manual entries (the units' in a
table, the others counted and left to the workbook). The wording lives here and
in the template; an office that wants other wording edits a copy of the template and puts it in
the data directory as ``circular.docx``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from docx import Document
from docxtpl import DocxTemplate, RichText

from xiuhua.domain.assessment import Period
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import RegionLevel
from xiuhua.domain.reports import ProgrammeSection, ReportInput, SourceSection, city_row
from xiuhua.domain.sources import source_label
from xiuhua.reports.common import basis_text, measure_label, period_name

TEMPLATE = Path(__file__).parent / "templates" / "circular.docx"
TEMPLATE_FILE = "circular.docx"  # an office's own template, in the data directory
MARK_SIZE, MARK_WIDTH_PT = 36, 430  # 发文机关标志: points, and the width it may take (type area 442 pt)
PREVIOUS = {"month": "上月", "quarter": "上季度", "year": "上年"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # not allowed in XML (\t and \n are kept)


# --- formatting -----------------------------------------------------------------------------


def percent(value: float | None) -> str:
    return f"{value * 100:.2f}%" if value is not None else "—"


def points(value: float) -> str:
    return f"{value:g}"


def day_text(t: datetime) -> str:
    """成文日期 in Arabic numerals (GB/T 9704-2012): 2026年11月3日."""
    d = t.astimezone(local_zone())
    return f"{d.year}年{d.month}月{d.day}日"


def local_text(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if iso else "—"


def duration_text(delta: timedelta) -> str:
    """Natural time: 3天5小时, 5小时20分钟, 40分钟."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分钟" if minutes else f"{hours}小时"
    return f"{minutes}分钟"


def count_change(current: int, previous: int | None, ref: str) -> str:
    if previous is None:
        return f"{ref}无可比数据"
    diff = current - previous
    if diff == 0:
        return f"与{ref}持平"
    word, grow = ("增加", "增长") if diff > 0 else ("减少", "下降")
    share = f"（{grow}{abs(diff) / previous * 100:.1f}%）" if previous else ""
    return f"较{ref}{word}{abs(diff)}件{share}"


def rate_change(current: float | None, previous: float | None, ref: str) -> str:
    if current is None or previous is None:
        return f"{ref}无可比数据"
    diff = round((current - previous) * 100, 2)
    if diff == 0:
        return f"与{ref}持平"
    return f"较{ref}{'上升' if diff > 0 else '下降'}{abs(diff):.2f}个百分点"


# --- the parts of the circular --------------------------------------------------------------


def issuer(center_name: str | None, city_name: str) -> str:
    """The command center, under the city's name: X市城市管理指挥中心."""
    center = center_name if center_name is not None else "城市管理指挥中心"
    return center if center.startswith(city_name) else f"{city_name}{center}"


def issuer_mark(office: str) -> RichText:
    """发文机关标志 “…文件” on one line of the 156 mm type area: at most 36 pt, smaller for long names."""
    text = _CONTROL.sub(" ", f"{office}文件")
    width = sum(1 if ord(ch) > 0x2E7F else 0.5 for ch in text)  # in characters of the mark's size
    size = min(MARK_SIZE, int(MARK_WIDTH_PT / width))
    return RichText(text, size=size * 2)  # half points; font and colour come from the paragraph style


def doc_no(city_name: str, period: Period) -> str:
    """发文字号 such as X城管通〔2026〕10号 (the month's number; 季通 / 年通 for longer periods)."""
    short = city_name.removesuffix("市") or city_name
    year, month = divmod(period.first_month, 12)
    kind, number = {"month": ("", month + 1), "quarter": ("季", month // 3 + 1), "year": ("年", 1)}[period.kind]
    return f"{short}城管{kind}通〔{year}〕{number}号"


def summary(period: Period, current: Mapping[str, Any], previous: Mapping[str, Any] | None,
            complete: bool, as_of: datetime) -> str:
    ref = PREVIOUS[period.kind]
    prev: Mapping[str, Any] = previous or {}
    counts = [f"{label}{current[key]}件，{count_change(current[key], prev.get(key), ref)}"
              for label, key in (("受理城市管理问题", "reported"), ("立案", "filed"), ("结案", "closed"))]
    rate = current["on_time_close_rate"]
    so_far = "" if complete else f"（数据截至{day_text(as_of)}{as_of.astimezone(local_zone()):%H:%M}）"
    text = (f"{period_name(period)}{so_far}，全市共{'；'.join(counts)}；按期结案率{percent(rate)}，"
            f"{rate_change(rate, prev.get('on_time_close_rate'), ref)}。")
    return text + f"截至期末，超期未结案件{current['overdue_open']}件。"


def top_rows(figures: Mapping[str, Any], city: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = [t for t in figures["top_categories"] if t["region_code"] == city["region_code"]]
    return [{"no": i, "name": t["name"], "filed": t["filed"],
             "share": percent(t["filed"] / city["filed"] if city["filed"] else None)}
            for i, t in enumerate(rows, 1)]


def top_sentence(top: Sequence[Mapping[str, Any]]) -> str:
    if not top:
        return "本期全市无立案案件。"
    listed = "、".join(f"{t['name']}（{t['filed']}件）" for t in top)
    return f"全市立案数量居前{len(top)}位的问题依次为：{listed}。"


def street_rows(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"name": r["name"] or r["region_code"], "reported": r["reported"], "filed": r["filed"],
             "closed": r["closed"], "overdue_open": r["overdue_open"],
             "on_time_close_rate": percent(r["on_time_close_rate"])}
            for r in figures["regions"] if r["level"] == RegionLevel.STREET.value]


def ranked_rows(units: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"rank": u["rank"], "unit_name": u["unit_name"], "due": u["due"],
             "on_time_rate": percent(u["on_time_rate"]), "close_rate": percent(u["close_rate"]),
             "rework_rate": percent(u["rework_rate"]), "deductions": points(u["deductions"]),
             "bonus": points(u["bonus"]), "score": f"{u['score']:.2f}", "grade": u["grade"]}
            for u in units if u["rank"] is not None]


def _named(units: Sequence[Mapping[str, Any]]) -> str:
    names = "、".join(u["unit_name"] for u in units)
    score = f"{units[0]['score']:.2f}分"
    return f"{names}（{'均为' if len(units) > 1 else ''}{score}）"


def best_worst(units: Sequence[Mapping[str, Any]]) -> str:
    """Who ranks first and who ranks last (ties named together)."""
    ranked = [u for u in units if u["rank"] is not None]
    if not ranked:
        return "本期无单位参与排名。"
    best = [u for u in ranked if u["rank"] == 1]
    last = max(u["rank"] for u in ranked)
    if last == 1:
        return f"本期得分最高的单位是{_named(best)}。"
    worst = [u for u in ranked if u["rank"] == last]
    return (f"本期得分最高的单位是{_named(best)}，予以通报表扬；得分最低的单位是{_named(worst)}，"
            f"请认真分析原因，切实整改。")


def insufficient_rows(units: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    small = [u for u in units if u["insufficient"]]
    return [{"text": f"{i}. {u['unit_name']}：派遣{u['dispatched']}件，应处置{u['due']}件，"
                     f"按期处置{u['handled_on_time']}件，结案{u['closed']}件。"}
            for i, u in enumerate(small, 1)]


def used_sources(unit: Mapping[str, Any]) -> str:
    """The sources a unit's composite used (those with data), and those without data."""
    used = "、".join(source_label(s["name"]) for s in unit.get("sources") or () if s["score"] is not None)
    missing = "、".join(source_label(s["name"]) for s in unit.get("sources") or () if s["score"] is None)
    return (used or "无") + (f"（{missing}无数据）" if missing else "")


def composite_rows(units: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every unit a source weighs: its rank, composite and the sources it used."""
    return [{"rank": u["rank"] or "—", "unit_name": u["unit_name"],
             "score": f"{u['score']:.2f}" if u["score"] is not None else "—", "used": used_sources(u)}
            for u in units if u.get("sources")]


def _score(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "无数据"


def source_parts(sections: Sequence[SourceSection]) -> list[dict[str, Any]]:
    """A section per score source: a sentence and each unit's weight, score and basis."""
    return [{"sentence": f"{i}. {s.label}：{len(s.rows)}个单位计入本来源，{s.scored}个有数据"
                         f"{'，其余样本不足或无数据，按其他来源重新加权' if s.scored < len(s.rows) else ''}。",
             "rows": [{"unit_name": r.unit_name, "weight": f"{r.weight:g}", "score": _score(r.score),
                       "basis": basis_text(s.name, r.figures)} for r in s.rows]}
            for i, s in enumerate(sections, 1)]


def entry_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"unit_name": e["unit_name"] or e["unit_code"], "kind": e["kind_label"], "item": e["item"],
             "date": e["date"], "points": points(e["points"]),
             "note": f"调整{Period.parse(e['adjusts']).label}考核" if e["adjusts"] else ""}
            for e in entries]


def correction_rows(corrections: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The units' corrections, as the table lists them."""
    return [{"period": period_name(Period.parse(c["period"])), "unit_name": c["name"] or c["code"],
             "measure": measure_label("units", c["measure"]), "published": c["published_value"],
             "previous": c["previous_value"], "live": c["live_value"], "change": f"{c['change']:+d}"}
            for c in corrections if c["subject"] == "units"]


def corrections_sentence(corrections: Sequence[Mapping[str, Any]]) -> str:
    if not corrections:
        return ""
    periods = "、".join(period_name(Period.parse(p)) for p in sorted({c["period"] for c in corrections}))
    reasons = "、".join(dict.fromkeys(c["reason"] for c in corrections))
    units = sum(1 for c in corrections if c["subject"] == "units")
    others = len(corrections) - units
    text = (f"已发布的{periods}考核数据因{reasons}发生变化，本期列示更正共{len(corrections)}项，"
            f"已发布的考核结果不变。")
    where = "见考核报表“更正”工作表"
    if not units:
        return f"{text}更正均为区域、监督员和指挥中心人员指标，{where}。"
    rest = f"；区域、监督员和指挥中心人员指标{others}项{where}" if others else ""
    return f"{text}其中处置单位指标{units}项如下{rest}："


def overdue_rows(items: Sequence[Mapping[str, Any]], found: ReportInput, units: Sequence[Mapping[str, Any]],
                 as_of: datetime) -> list[dict[str, Any]]:
    """Ordered as the ranking lists the units, then by deadline."""
    order = {u["unit_code"]: i for i, u in enumerate(units)}
    names = {u["unit_code"]: u["unit_name"] for u in units}
    ordered = sorted(items, key=lambda r: (order.get(r["unit_code"], len(order)), r["deadline_at_end"] or "",
                                           r["case_no"]))
    return [{"no": i, "case_no": r["case_no"], "category": _category(found, r["category_code"]),
             "unit_name": names.get(r["unit_code"]) or _unit_name(found, r["unit_code"]),
             "deadline": local_text(r["deadline_at_end"]),
             "overdue_by": duration_text(as_of - datetime.fromisoformat(r["deadline_at_end"]))
             if r["deadline_at_end"] else "—"}
            for i, r in enumerate(ordered, 1)]


def _category(found: ReportInput, code: str | None) -> str:
    return found.category_names.get(code or "") or code or "—"


def _unit_name(found: ReportInput, code: str | None) -> str:
    return found.unit_names.get(code or "") or code or "—"


# --- context and rendering ------------------------------------------------------------------


def context(found: ReportInput) -> dict[str, Any]:
    """Everything the template shows, as text."""
    figures, at = found.figures, found.at
    period = Period.parse(figures["period"])
    complete = figures.get("complete", True)
    as_of = datetime.fromisoformat(figures["as_of"]) if figures.get("as_of") else period.end
    current = city_row(figures)
    city_name = current["name"] or "本市"
    office, name = issuer(found.center_name, city_name), period_name(period)
    units, entries = figures["units"], figures.get("entries", [])
    corrections = figures.get("corrections", [])
    top, overdue_list = top_rows(figures, current), overdue_rows(found.overdue, found, units, as_of)
    return {
        "issuer": office, "issuer_mark": issuer_mark(office), "doc_no": doc_no(city_name, period),
        "city_name": city_name, "period_name": name,
        "title": f"关于{name}城市管理工作\n考核情况的通报", "addressee": "各有关单位",  # two balanced lines
        "opening": f"按照数字化城市管理“一月一考核、一月一通报”工作要求，现将{name}全市城市管理问题处置"
                   f"考核情况通报如下。",
        "summary": summary(period, current, found.previous, complete, as_of),
        "top_categories": top, "top_sentence": top_sentence(top), "streets": street_rows(figures),
        "ranked": ranked_rows(units), "ranking_sentence": _ranking_sentence(units),
        "best_worst": best_worst(units), "insufficient": insufficient_rows(units),
        "insufficient_sentence": "以下单位本期应处置案件少于规定的最低数量，样本不足，不参与排名："
                                 if not found.sources else "以下单位本期各评分来源均无数据，不参与排名：",
        "composite": composite_rows(units) if found.sources else [],
        "composite_sentence": "本期实行综合考评：综合得分为各评分来源得分按权重的加权平均（只计有数据的来源），"
                              "再计入扣分、加分。各单位所用评分来源如下：",
        "sources": source_parts(found.sources),
        "entries": entry_rows(entries),
        "entries_sentence": _entries_sentence(entries),
        "entries_heading": f"考核检查扣分、加分{'及数据更正' if corrections else ''}情况",
        "corrections": correction_rows(corrections), "corrections_sentence": corrections_sentence(corrections),
        "overdue": overdue_list, "overdue_sentence": _overdue_sentence(overdue_list, complete, as_of),
        "signed_on": day_text(at), "copy_to": f"{city_name}人民政府办公室", "printer": office,
        "printed_on": day_text(at),
    }


def _entries_sentence(entries: Sequence[Mapping[str, Any]]) -> str:
    adjustments = sum(1 for e in entries if e["adjusts"])
    of_which = f"，其中对已发布考核周期的调整{adjustments}项" if adjustments else ""
    return f"本期考核检查扣分、加分共{len(entries)}项{of_which}："


def _ranking_sentence(units: Sequence[Mapping[str, Any]]) -> str:
    ranked = sum(1 for u in units if u["rank"] is not None)
    small = sum(1 for u in units if u["insufficient"])
    tail = f"，另有{small}个单位样本不足、不参与排名" if small else ""
    return (f"本期纳入考核的处置单位{len(units)}个，参与排名{ranked}个{tail}。得分由各项考核指标加权计算，"
            f"并计入考核检查扣分、加分，排名如下：")


def _overdue_sentence(rows: Sequence[Mapping[str, Any]], complete: bool, as_of: datetime) -> str:
    when = "期末" if complete else day_text(as_of)
    if not rows:
        return f"截至{when}，无超期未处置案件。"
    units = len({r["unit_name"] for r in rows})
    return f"截至{when}，{units}个单位共有超期未处置案件{len(rows)}件，请相关单位限期处置："


def clean(value: Any) -> Any:
    """Strings without the control characters XML refuses, through lists and dicts."""
    if isinstance(value, str):
        return _CONTROL.sub(" ", value)
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    return value


def render(values: Mapping[str, Any], template: Path | None = None) -> bytes:
    doc = DocxTemplate(str(template or TEMPLATE))
    doc.render(clean(dict(values)), autoescape=True)
    props = doc.docx.core_properties
    props.title, props.subject = str(values.get("title", "")).replace("\n", ""), "月度通报"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def circular(found: ReportInput, template: Path | None = None) -> bytes:
    """The period's circular (.docx bytes), signed on the day of ``found.at``, with the people's
    figures the viewer may see (the corrections it mentions) and, when the work programme has
    anything to report, its section 重点任务推进情况."""
    data = render(context(found), template)
    if found.programme is None or found.programme.empty:
        return data
    return with_programme(data, found.programme)


PROGRAMME_HEADING = "重点任务推进情况"
_NUMERALS = "一二三四五六七八九十"


def programme_paragraphs(section: ProgrammeSection) -> list[tuple[str, str]]:
    """(style, text) of the section 重点任务推进情况: lagging tasks, late projects, red orders by
    unit, paused tasks, each a sub-heading and a line per item."""
    parts = [("（{n}）滞后任务", section.lagging_tasks), ("（{n}）滞后项目", section.late_projects),
             ("（{n}）红色督办事项", section.red_orders), ("（{n}）暂停任务", section.paused_tasks)]
    found: list[tuple[str, str]] = []
    n = 0
    for heading, lines in parts:
        if not lines:
            continue
        found.append(("二级标题", heading.format(n=_NUMERALS[n])))
        n += 1
        found += [("公文正文", f"{i}. {line.unit}：{line.title}（{line.detail}）") for i, line in enumerate(lines, 1)]
    return found


def with_programme(data: bytes, section: ProgrammeSection) -> bytes:
    """Insert 重点任务推进情况 before the circular's closing heading (工作要求), renumbering it."""
    doc = Document(io.BytesIO(data))
    closing = next((p for p in doc.paragraphs if p.style is not None and p.style.name == "一级标题"
                    and p.text.endswith("工作要求")), None)
    if closing is None:
        return data
    number = closing.text.split("、", 1)[0]
    index = _NUMERALS.find(number)
    closing.insert_paragraph_before(f"{number}、{PROGRAMME_HEADING}", style=doc.styles["一级标题"])
    for style, text in programme_paragraphs(section):
        closing.insert_paragraph_before(_CONTROL.sub(" ", text), style=doc.styles[style])
    if 0 <= index < len(_NUMERALS) - 1:
        for run in closing.runs:
            run.text = run.text.replace(f"{number}、", f"{_NUMERALS[index + 1]}、", 1)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
