"""(Re)build the editable Word template of the monthly circular (月度通报) from code:
``python -m xiuhua.reports.make_template [PATH]`` (default: the shipped ``templates/circular.docx``).

The layout follows GB/T 9704-2012 (党政机关公文格式): A4; type area 156 mm × 225 mm (margins
37 mm top, 35 mm bottom, 28 mm left, 26 mm right); body 3号 (16 pt) 仿宋_GB2312 on a document
grid of 22 lines × 28 characters; title 2号 (22 pt) 方正小标宋简体 centred; red 发文机关标志 35 mm
below the top of the type area and a red separator line under the 发文字号; 一级标题 黑体,
二级标题 楷体; page numbers “— 1 —” in 4号 (14 pt) 宋体, odd pages right and even pages left,
one character in; 发文机关署名 and 成文日期 at the end; the 抄送 / 印发 block (版记).

Every font is set for East Asian text too (``w:eastAsia`` in ``w:rFonts``) on the document
defaults and on every style, and the font table names a fallback (仿宋_GB2312 → FangSong …) so
Word and WPS render the Chinese text on machines without the GB2312 fonts. The content is
docxtpl (Jinja) tags filled by :mod:`xiuhua.reports.circular`; an office may edit the text,
styles and tags in Word or WPS and drop the file into the data directory as ``circular.docx``.
The output is byte-for-byte reproducible (fixed timestamps), so the shipped template is checked
against this code by the tests.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from lxml import etree

TEMPLATE = Path(__file__).parent / "templates" / "circular.docx"

FANGSONG, HEITI, KAITI, XIAOBIAOSONG, SONGTI = "仿宋_GB2312", "黑体", "楷体_GB2312", "方正小标宋简体", "宋体"
# font -> (fallback named in the font table, panose)
FONTS = {
    FANGSONG: ("FangSong", "02010609030101010101"),
    HEITI: ("SimHei", "02010609060101010101"),
    KAITI: ("KaiTi", "02010609030101010101"),
    XIAOBIAOSONG: ("小标宋", "02000000000000000000"),
    SONGTI: ("SimSun", "02010600030101010101"),
}
RED = RGBColor(0xFF, 0x00, 0x00)
BODY_SIZE = 16  # 3号
LINE = Pt(28.95)  # 22 lines in the 225 mm type area
GRID_LINE_PITCH = "579"  # twentieths of a point: 28.95 pt
# 28 characters in 156 mm = 15.79 pt each: 3号 condensed by 0.25 pt. (A character grid would do
# it in Word, but LibreOffice gives every 16 pt character two 15.79 pt cells.)
CONDENSED = "-5"  # twentieths of a point
TEXT_WIDTH = Mm(156)
FIXED_TIME = (2026, 1, 1, 0, 0, 0)

# the schema order of the children of w:pPr and w:rPr (Word refuses files that break it)
PPR_ORDER = ("pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
             "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
             "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
             "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
             "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr",
             "sectPr", "pPrChange")
TBLPR_ORDER = ("tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
               "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook")
RPR_ORDER = ("rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
             "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing",
             "w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText",
             "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath")


# --- low-level OOXML helpers ----------------------------------------------------------------


def put(parent: Any, tag: str, order: Sequence[str], **attrs: str) -> Any:
    """The child ``w:tag`` of ``parent`` (created in schema order if missing), with ``attrs`` set."""
    child = parent.find(qn(f"w:{tag}"))
    if child is None:
        child = OxmlElement(f"w:{tag}")
        later = [qn(f"w:{t}") for t in order[order.index(tag) + 1:]]
        successor = next((c for c in parent if c.tag in later), None)
        if successor is None:
            parent.append(child)
        else:
            successor.addprevious(child)
    for name, value in attrs.items():
        child.set(qn(f"w:{name}"), value)
    return child


def set_fonts(rpr: Any, font: str) -> None:
    """Latin, East Asian and complex-script fonts all ``font`` (theme fonts, which would take
    precedence, removed); Chinese as the East Asian language."""
    fonts = put(rpr, "rFonts", RPR_ORDER, ascii=font, hAnsi=font, eastAsia=font, cs=font, hint="eastAsia")
    for theme in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{theme}"), None)
    put(rpr, "lang", RPR_ORDER, val="en-US", eastAsia="zh-CN")


def border(ppr: Any, side: str, size: int, color: str = "000000", space: int = 1) -> None:
    """A paragraph border line: ``size`` in eighths of a point."""
    edges = put(ppr, "pBdr", PPR_ORDER)
    line = OxmlElement(f"w:{side}")
    for name, value in (("val", "single"), ("sz", str(size)), ("space", str(space)), ("color", color)):
        line.set(qn(f"w:{name}"), value)
    edges.append(line)


# --- styles ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StyleSpec:
    style_id: str
    name: str  # as Word and WPS show it
    font: str = FANGSONG
    size: float = BODY_SIZE
    align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.JUSTIFY
    indent_chars: int = 0  # first-line indent
    grid: bool = True  # on the 22-line grid; off for tables, the issuer mark and the footer
    color: RGBColor | None = None
    outline: int | None = None
    before: Any = None
    after: Any = None


STYLES = (
    StyleSpec("XhBody", "公文正文", indent_chars=2),
    StyleSpec("XhIssuer", "发文机关标志", XIAOBIAOSONG, 36, WD_ALIGN_PARAGRAPH.CENTER, grid=False, color=RED,
              before=Mm(35)),
    StyleSpec("XhDocNo", "发文字号", align=WD_ALIGN_PARAGRAPH.CENTER, before=LINE * 2),
    StyleSpec("XhTitle", "公文标题", XIAOBIAOSONG, 22, WD_ALIGN_PARAGRAPH.CENTER, before=LINE * 2, after=LINE),
    StyleSpec("XhAddressee", "主送机关"),
    StyleSpec("XhHeading1", "一级标题", HEITI, indent_chars=2, outline=0),
    StyleSpec("XhHeading2", "二级标题", KAITI, indent_chars=2, outline=1),
    StyleSpec("XhSignature", "发文机关署名", align=WD_ALIGN_PARAGRAPH.LEFT),
    StyleSpec("XhTableHead", "表格标题行", HEITI, 10.5, WD_ALIGN_PARAGRAPH.CENTER, grid=False),
    StyleSpec("XhTableText", "表格文字", FANGSONG, 10.5, WD_ALIGN_PARAGRAPH.CENTER, grid=False),
    StyleSpec("XhNote", "版记", FANGSONG, 14, WD_ALIGN_PARAGRAPH.LEFT, grid=False),
    StyleSpec("XhPageNumber", "页码", SONGTI, 14, WD_ALIGN_PARAGRAPH.RIGHT, grid=False),
)
# 发文机关署名 and 成文日期 are centred on one axis, the date ending about four characters in
SIGNATURE_AXIS = Pt(334)


def document_defaults(doc: DocumentObject) -> None:
    """Normal: 仿宋_GB2312 3号, justified, exactly one grid line per line, no paragraph spacing."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, FANGSONG)
    put(rpr, "sz", RPR_ORDER, val=str(BODY_SIZE * 2))  # the character grid counts in body characters
    put(rpr, "szCs", RPR_ORDER, val=str(BODY_SIZE * 2))
    put(defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")), "spacing", PPR_ORDER, after="0", line="240",
        lineRule="auto")
    normal = doc.styles["Normal"]
    set_fonts(normal.element.get_or_add_rPr(), FANGSONG)
    put(normal.element.rPr, "spacing", RPR_ORDER, val=CONDENSED)
    normal.font.size = Pt(BODY_SIZE)
    fmt = normal.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, LINE
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.widow_control = False
    for style in doc.styles:
        if style.type == WD_STYLE_TYPE.TABLE and style.element.rPr is not None:
            set_fonts(style.element.rPr, FANGSONG)


def add_style(doc: DocumentObject, spec: StyleSpec) -> None:
    style = doc.styles.add_style(spec.name, WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = spec.style_id
    style.base_style = doc.styles["Normal"]
    style.quick_style = True
    set_fonts(style.element.get_or_add_rPr(), spec.font)
    style.font.size = Pt(spec.size)
    style.font.color.rgb = spec.color
    fmt = style.paragraph_format
    fmt.alignment = spec.align
    fmt.space_before, fmt.space_after = spec.before, spec.after
    ppr = style.element.get_or_add_pPr()
    if spec.indent_chars:
        put(ppr, "ind", PPR_ORDER, firstLineChars=str(spec.indent_chars * 100),
            firstLine=str(spec.indent_chars * BODY_SIZE * 20))
    if not spec.grid:
        put(ppr, "snapToGrid", PPR_ORDER, val="0")
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    if spec.outline is not None:
        fmt.keep_with_next = True
        put(ppr, "outlineLvl", PPR_ORDER, val=str(spec.outline))


def styles(doc: DocumentObject) -> None:
    document_defaults(doc)
    for spec in STYLES:
        add_style(doc, spec)
    doc.styles["发文字号"].element.get_or_add_pPr()
    border(doc.styles["发文字号"].element.pPr, "bottom", 12, "FF0000", space=4)  # the red separator line
    doc.styles["发文机关署名"].paragraph_format.tab_stops.add_tab_stop(SIGNATURE_AXIS, WD_TAB_ALIGNMENT.CENTER)
    note = doc.styles["版记"].paragraph_format
    note.left_indent = note.right_indent = Pt(14)
    note.tab_stops.add_tab_stop(TEXT_WIDTH - Pt(28), WD_TAB_ALIGNMENT.RIGHT)


# --- page -----------------------------------------------------------------------------------


def page(doc: DocumentObject) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(24)
    grid = put(section._sectPr, "docGrid", ("docGrid",))
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), GRID_LINE_PITCH)
    doc.settings.odd_and_even_pages_header_footer = True
    page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)


def field_run(paragraph: Paragraph, kind: str, text: str | None = None) -> None:
    run = paragraph.add_run()
    if text is not None:
        instr = OxmlElement("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = text
        run._r.append(instr)
        return
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    run._r.append(char)


def page_number(paragraph: Paragraph, align: WD_ALIGN_PARAGRAPH) -> None:
    """“— 1 —”: odd pages on the right, even pages on the left, one character (14 pt) in."""
    paragraph.style = "页码"
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        fmt.right_indent = Pt(14)
    else:
        fmt.left_indent = Pt(14)
    paragraph.add_run("— ")
    field_run(paragraph, "begin")
    field_run(paragraph, "", " PAGE ")
    field_run(paragraph, "separate")
    paragraph.add_run("1")
    field_run(paragraph, "end")
    paragraph.add_run(" —")


# --- content --------------------------------------------------------------------------------


def para(doc: DocumentObject, style: str, text: str = "") -> Paragraph:
    return doc.add_paragraph(text, style=doc.styles[style])


def control(doc: DocumentObject, statement: str) -> None:
    """A paragraph holding only a docxtpl ``{%p … %}`` statement (it vanishes when rendered)."""
    para(doc, "公文正文", f"{{%p {statement} %}}")


def cell_text(cell: Any, text: str, style: Any) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.style = style
    paragraph.add_run(text)


def table(doc: DocumentObject, loop: str, columns: Sequence[tuple[str, float, str]]) -> None:
    """A grid table: a header row, then one row per item of ``loop`` (``x in items``)."""
    grid = doc.add_table(rows=4, cols=len(columns))
    grid.style = doc.styles["Table Grid"]
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    head, text = doc.styles["表格标题行"], doc.styles["表格文字"]
    var = loop.split(" in ")[0].strip()
    for i, (header, width_mm, field) in enumerate(columns):
        grid.columns[i].width = Mm(width_mm)
        for r, (value, style) in enumerate(((header, head), ("", text), (f"{{{{ {var}.{field} }}}}", text),
                                            ("", text))):
            cell = grid.rows[r].cells[i]
            cell.width = Mm(width_mm)
            cell_text(cell, value, style)
    cell_text(grid.rows[1].cells[0], f"{{%tr for {loop} %}}", text)
    cell_text(grid.rows[3].cells[0], "{%tr endfor %}", text)
    margins = put(grid._tbl.tblPr, "tblCellMar", TBLPR_ORDER)
    for side in ("left", "right"):  # 1 mm instead of Word's 1.9 mm: narrow columns keep their figures
        put(margins, side, ("top", "left", "bottom", "right"), w="57", type="dxa")
    put(grid.rows[0]._tr.get_or_add_trPr(), "tblHeader", ("cantSplit", "tblHeader"))
    put(grid.rows[2]._tr.get_or_add_trPr(), "cantSplit", ("cantSplit", "tblHeader"))


def masthead(doc: DocumentObject) -> None:
    """版头 and the opening: 发文机关标志, 发文字号 over the red line, title, 主送机关."""
    para(doc, "发文机关标志", "{{r issuer_mark }}")  # “X市城市管理指挥中心文件”, sized to fit one line
    para(doc, "发文字号", "{{ doc_no }}")
    para(doc, "公文标题", "{{ title }}")
    para(doc, "主送机关", "{{ addressee }}：")
    para(doc, "公文正文", "{{ opening }}")


def overview(doc: DocumentObject) -> None:
    para(doc, "一级标题", "一、总体情况")
    para(doc, "公文正文", "{{ summary }}")
    para(doc, "二级标题", "（一）高发问题")
    para(doc, "公文正文", "{{ top_sentence }}")
    control(doc, "if top_categories")
    table(doc, "c in top_categories", [("序号", 16, "no"), ("问题类别", 80, "name"), ("立案数（件）", 30, "filed"),
                                       ("占全市立案", 30, "share")])
    control(doc, "endif")
    para(doc, "二级标题", "（二）各街道（片区）情况")
    control(doc, "if streets")
    table(doc, "s in streets", [("街道（片区）", 46, "name"), ("受理（件）", 22, "reported"),
                                ("立案（件）", 22, "filed"), ("结案（件）", 22, "closed"),
                                ("超期未结（件）", 22, "overdue_open"), ("按期结案率", 22, "on_time_close_rate")])
    control(doc, "else")
    para(doc, "公文正文", "本期无街道（片区）数据。")
    control(doc, "endif")


RANKING_COLUMNS = [("名次", 10, "rank"), ("单位", 36, "unit_name"), ("应处置（件）", 14, "due"),
                   ("按期处置率", 18, "on_time_rate"), ("结案率", 18, "close_rate"), ("返工率", 17, "rework_rate"),
                   ("扣分", 10, "deductions"), ("加分", 10, "bonus"), ("得分", 14, "score"), ("等级", 9, "grade")]


def ranking(doc: DocumentObject) -> None:
    para(doc, "一级标题", "二、处置单位考核排名")
    para(doc, "公文正文", "{{ ranking_sentence }}")
    control(doc, "if ranked")
    table(doc, "u in ranked", RANKING_COLUMNS)
    control(doc, "endif")
    para(doc, "公文正文", "{{ best_worst }}")
    control(doc, "if insufficient")
    para(doc, "公文正文", "{{ insufficient_sentence }}")
    control(doc, "for u in insufficient")
    para(doc, "公文正文", "{{ u.text }}")
    control(doc, "endfor")
    control(doc, "endif")
    control(doc, "if composite")  # 综合考评: the sources each unit used, then a part per source
    para(doc, "公文正文", "{{ composite_sentence }}")
    table(doc, "u in composite", [("名次", 10, "rank"), ("单位", 40, "unit_name"), ("综合得分", 18, "score"),
                                  ("所用评分来源", 82, "used")])
    control(doc, "for s in sources")
    para(doc, "公文正文", "{{ s.sentence }}")
    table(doc, "r in s.rows", [("单位", 40, "unit_name"), ("权重", 14, "weight"), ("来源得分", 20, "score"),
                               ("依据", 76, "basis")])
    control(doc, "endfor")
    control(doc, "endif")


def entries_and_overdue(doc: DocumentObject) -> None:
    para(doc, "一级标题", "三、{{ entries_heading }}")
    control(doc, "if entries")
    para(doc, "公文正文", "{{ entries_sentence }}")
    table(doc, "e in entries", [("单位", 36, "unit_name"), ("类型", 10, "kind"), ("考核事项", 44, "item"),
                                ("日期", 24, "date"), ("分值", 12, "points"), ("备注", 30, "note")])
    control(doc, "else")
    para(doc, "公文正文", "本期无考核检查扣分、加分。")
    control(doc, "endif")
    control(doc, "if corrections_sentence")  # corrections of earlier published months
    para(doc, "公文正文", "{{ corrections_sentence }}")
    control(doc, "endif")
    control(doc, "if corrections")
    table(doc, "k in corrections", [("被更正周期", 30, "period"), ("单位", 34, "unit_name"), ("指标", 24, "measure"),
                                    ("发布值", 17, "published"), ("更正前", 17, "previous"), ("更正后", 17, "live"),
                                    ("增减", 17, "change")])
    control(doc, "endif")
    para(doc, "一级标题", "四、超期未处置案件")
    para(doc, "公文正文", "{{ overdue_sentence }}")
    control(doc, "if overdue")
    table(doc, "o in overdue", [("序号", 9, "no"), ("案件编号", 34, "case_no"), ("问题类别", 29, "category"),
                                ("责任单位", 32, "unit_name"), ("处置时限", 28, "deadline"),
                                ("超期时长", 24, "overdue_by")])
    control(doc, "endif")


REQUIREMENTS = (
    "各责任单位要对照本通报，认真分析超期、返工案件的原因，对超期未处置案件逐件落实责任人和"
    "办结时限，尽快处置到位，并将处置结果按时反馈指挥中心。",
    "各单位主要负责同志要亲自过问考核排名靠后、按期处置率偏低的问题，举一反三，完善工作机制，"
    "切实提高城市管理问题的处置效率和质量。",
)


def closing(doc: DocumentObject) -> None:
    """工作要求, 发文机关署名, 成文日期 and the 版记 (抄送, 印发机关和印发日期)."""
    para(doc, "一级标题", "五、工作要求")
    for text in REQUIREMENTS:
        para(doc, "公文正文", text)
    para(doc, "公文正文")
    para(doc, "公文正文")
    para(doc, "发文机关署名", "\t{{ issuer }}")
    para(doc, "发文机关署名", "\t{{ signed_on }}")
    para(doc, "公文正文")
    copy_to = para(doc, "版记", "抄送：{{ copy_to }}。")
    border(copy_to._p.get_or_add_pPr(), "top", 8)  # 0.35 mm: the first and last lines are heavier
    border(copy_to._p.get_or_add_pPr(), "bottom", 6)
    printed = para(doc, "版记", "{{ printer }}\t{{ printed_on }}印发")
    border(printed._p.get_or_add_pPr(), "bottom", 8)


# --- the file -------------------------------------------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def font_table(xml: bytes) -> bytes:
    """Declare the Chinese fonts with their fallbacks (``w:altName``) and GB2312 charset."""
    root = etree.fromstring(xml)
    for name, (fallback, panose) in FONTS.items():
        font = etree.SubElement(root, f"{{{W_NS}}}font", {f"{{{W_NS}}}name": name})
        for tag, value in (("altName", fallback), ("panose1", panose), ("charset", "86"),
                           ("family", "modern"), ("pitch", "variable")):
            etree.SubElement(font, f"{{{W_NS}}}{tag}", {f"{{{W_NS}}}val": value})
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def reproducible(docx: bytes) -> bytes:
    """The same package with fixed timestamps and the font table completed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/fontTable.xml":
                data = font_table(data)
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def build() -> bytes:
    """The template, as the bytes of a .docx file."""
    doc = Document()
    props = doc.core_properties
    props.title, props.subject, props.author = "城市管理工作考核情况通报（模板）", "月度通报", "Xiuhua"
    props.last_modified_by, props.language, props.revision = "Xiuhua", "zh-CN", 1
    props.created = props.modified = datetime(*FIXED_TIME)
    styles(doc)
    page(doc)
    for part in (masthead, overview, ranking, entries_and_overdue, closing):
        part(doc)
    buffer = io.BytesIO()
    doc.save(buffer)
    return reproducible(buffer.getvalue())


def main(argv: Sequence[str] = ()) -> None:
    path = Path(argv[0]) if argv else TEMPLATE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build())
    print(f"模板已生成：{path}")


if __name__ == "__main__":
    main(sys.argv[1:])
