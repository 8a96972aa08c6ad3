"""The 笔录 as a Word document (python-docx): A4, one paragraph per block, the case number and page
numbers in the page header and the version's hash in the page footer — so on every page — and the
handwritten signatures beside their lines in the signature record.

Word documents do not embed fonts here: the text names a CJK font (宋体 by default, the usual face of
Chinese legal documents) and the reader's system supplies it (LibreOffice maps it to an installed
CJK font such as WenQuanYi).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph

from transcripts.bilu.layout import SIGNATURE_PAGE_HEADING, SIGNATURE_RECORD_MARK, Block
from transcripts.bilu.printable import Printable


@dataclass(frozen=True)
class DocxStyle:
    east_asian_font: str = "宋体"
    latin_font: str = "Times New Roman"
    body_pt: float = 12.0
    title_pt: float = 18.0
    band_pt: float = 8.0
    signature_height_cm: float = 1.2
    """Height of a handwritten signature image in the signature record."""


def _font(element: object, style: DocxStyle) -> None:
    r_pr = element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = r_pr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        r_pr.append(fonts)
    fonts.set(qn("w:eastAsia"), style.east_asian_font)
    fonts.set(qn("w:ascii"), style.latin_font)
    fonts.set(qn("w:hAnsi"), style.latin_font)


def _field(paragraph: Paragraph, instruction: str, placeholder: str, size: Pt) -> None:
    """A Word field (PAGE, NUMPAGES): Word and LibreOffice fill in the number on every page."""
    for kind, text in (("begin", None), ("instr", instruction), ("separate", None), ("text", placeholder)):
        run = paragraph.add_run()
        run.font.size = size
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {text} "
            run._r.append(instr)
        elif kind == "text":
            run.text = text or ""
        else:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
    end = paragraph.add_run()
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), "end")
    end._r.append(char)


def _paragraph_style(paragraph: Paragraph, block: Block, style: DocxStyle) -> None:
    fmt = paragraph.paragraph_format
    fmt.space_after = Pt(4)
    fmt.line_spacing = 1.5
    if block.kind in ("org", "title"):
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if block.kind == "heading":
        fmt.space_before = Pt(10)
        fmt.keep_with_next = True
    if block.kind == "note":
        fmt.left_indent = Cm(0.74)
    if block.kind == "signer":
        fmt.space_before = Pt(14)
    if block.kind == "heading" and block.text == SIGNATURE_PAGE_HEADING:
        fmt.page_break_before = True
    if block.text.startswith(SIGNATURE_RECORD_MARK):
        fmt.space_before = Pt(18)


def write_docx(printable: Printable, path: Path, style: DocxStyle | None = None) -> None:
    style = style or DocxStyle()
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = style.latin_font
    normal.font.size = Pt(style.body_pt)
    _font(normal.element, style)

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2.2)
    section.left_margin, section.right_margin = Cm(2.6), Cm(2.4)
    section.different_first_page_header_footer = False
    band = Pt(style.band_pt)

    head = section.header.paragraphs[0]
    head.paragraph_format.tab_stops.add_tab_stop(Cm(16.0), WD_TAB_ALIGNMENT.RIGHT)
    run = head.add_run(printable.head + "\t第 ")
    run.font.size = band
    _field(head, "PAGE", "1", band)
    head.add_run(" 页 共 ").font.size = band
    _field(head, "NUMPAGES", "1", band)
    head.add_run(" 页").font.size = band
    foot = section.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    foot.add_run(printable.foot).font.size = band

    images = {r.seal_code: r.image for r in printable.signatures if r.image}
    for block in (*printable.blocks, *printable.record_blocks()):
        paragraph = doc.add_paragraph()
        _paragraph_style(paragraph, block, style)
        run = paragraph.add_run(block.text)
        if block.kind == "title":
            run.font.size = Pt(style.title_pt)
            run.bold = True
        elif block.kind in ("org", "heading"):
            run.bold = True
        code = block.text.rsplit("签章 ", 1)[-1] if "签章 " in block.text else ""
        image = images.get(code)
        if image is not None:
            paragraph.add_run("　").add_picture(io.BytesIO(image), height=Cm(style.signature_height_cm))

    props = doc.core_properties
    props.title = f"{printable.case_number} {printable.title}"
    props.subject = printable.foot
    props.keywords = printable.sha256 or "draft"
    props.identifier = printable.case_number
    doc.save(str(path))
