"""The 笔录 as PDF (reportlab), with an embedded CJK font installed from a package.

Why reportlab: it is the long-maintained (since 2000), BSD-licensed PDF library with a C accelerator;
it embeds a subset of a TrueType CJK font, including one face of a ``.ttc`` collection such as
WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``), writes the ToUnicode maps that let the text be
read back out (which :mod:`transcripts.bilu.verify` relies on), and breaks Chinese lines between any
two characters (``wordWrap="CJK"``) while keeping closing punctuation off the line start. It does
not read CFF-outline OpenType fonts (e.g. Noto CJK): pass a TrueType one.

Every page carries, outside the text frame, a head (case number, title, 第 N 页 共 M 页) and a foot
(the version and its SHA-256, or 草稿). :func:`is_band` tells a verifier which text is in those bands.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from PIL import ImageFont
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer

from transcripts.bilu.layout import SIGNATURE_PAGE_HEADING, SIGNATURE_RECORD_MARK, Block, page_label
from transcripts.bilu.printable import Printable

PAGE_WIDTH, PAGE_HEIGHT = A4
TOP_MARGIN, BOTTOM_MARGIN = 2.5 * cm, 2.2 * cm
LEFT_MARGIN, RIGHT_MARGIN = 2.6 * cm, 2.4 * cm
HEAD_Y, FOOT_Y = PAGE_HEIGHT - 1.5 * cm, 1.2 * cm
BAND_TOP, BAND_BOTTOM = PAGE_HEIGHT - 2.0 * cm, 1.8 * cm
"""Text above ``BAND_TOP`` or below ``BAND_BOTTOM`` is a page band, not the 笔录's text."""


class PdfFontError(RuntimeError):
    """The CJK font cannot be embedded; the message says what to install."""


def is_band(y: float, page_height: float = PAGE_HEIGHT) -> bool:
    return y >= page_height - (PAGE_HEIGHT - BAND_TOP) or y <= BAND_BOTTOM


@dataclass(frozen=True)
class PdfStyle:
    body_pt: float = 11.5
    leading: float = 1.65
    """Line height as a multiple of the font size."""
    title_pt: float = 20.0
    heading_pt: float = 13.0
    note_pt: float = 10.5
    band_pt: float = 8.0
    hash_pt: float = 7.0
    signature_height_cm: float = 1.3


def _subfont_index(path: Path) -> int:
    """In a collection, prefer the Simplified Chinese face (Noto's ``… SC``); else the first."""
    if path.suffix.lower() != ".ttc":
        return 0
    for index in range(16):
        try:
            family, _ = ImageFont.truetype(str(path), 12, index=index).getname()
        except OSError:
            break
        if family and (" SC" in family or "Micro Hei" in family or "Zen Hei" in family):
            return index
    return 0


@functools.cache
def register_font(path: Path) -> str:
    """Register ``path`` with reportlab (once) and return its font name."""
    name = "BiluCJK-" + hashlib.sha1(str(path).encode()).hexdigest()[:10]
    try:
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=_subfont_index(path)))
    except (TTFError, OSError) as exc:
        raise PdfFontError(
            f"无法嵌入中文字体 (cannot embed the CJK font {path}: {exc}); the PDF needs a TrueType CJK "
            "font, e.g. `apt-get install fonts-wqy-microhei`, or set COURT_CJK_FONT to one"
        ) from exc
    return name


def default_font() -> Path:
    """The CJK font the room display uses (``COURT_CJK_FONT`` or an installed package's font)."""
    from devices.fonts import FontNotFoundError, find_cjk_font

    try:
        return find_cjk_font()
    except FontNotFoundError as exc:
        raise PdfFontError(str(exc)) from exc


def _styles(font: str, style: PdfStyle) -> dict[str, ParagraphStyle]:
    def make(name: str, size: float, **extra: Any) -> ParagraphStyle:
        return ParagraphStyle(
            name, fontName=font, fontSize=size, leading=size * style.leading, wordWrap="CJK", **extra
        )

    return {
        "org": make("org", style.heading_pt + 1, alignment=TA_CENTER, spaceAfter=4),
        "title": make("title", style.title_pt, alignment=TA_CENTER, spaceAfter=14),
        "meta": make("meta", style.body_pt, spaceAfter=2),
        "heading": make("heading", style.heading_pt, spaceBefore=10, spaceAfter=4),
        "speech": make("speech", style.body_pt, spaceAfter=3),
        "note": make("note", style.note_pt, leftIndent=0.74 * cm, spaceAfter=3),
        "statement": make("statement", style.body_pt, spaceAfter=10),
        "signer": make("signer", style.body_pt, spaceBefore=16, spaceAfter=16),
    }


def _canvas_class(printable: Printable, font: str, style: PdfStyle) -> type[Canvas]:
    class BandedCanvas(Canvas):
        """Holds the pages back until the end, so each can say 共 M 页."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's page reset; not in its stubs

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                self._bands(number, total)
                super().showPage()
            super().save()

        def _bands(self, number: int, total: int) -> None:
            self.saveState()
            self.setFont(font, style.band_pt)
            self.drawString(LEFT_MARGIN, HEAD_Y, printable.head)
            self.drawRightString(PAGE_WIDTH - RIGHT_MARGIN, HEAD_Y, page_label(number, total))
            self.setLineWidth(0.4)
            self.line(LEFT_MARGIN, HEAD_Y - 4, PAGE_WIDTH - RIGHT_MARGIN, HEAD_Y - 4)
            self.line(LEFT_MARGIN, FOOT_Y + 10, PAGE_WIDTH - RIGHT_MARGIN, FOOT_Y + 10)
            self.setFont(font, style.hash_pt)
            self.drawCentredString(PAGE_WIDTH / 2, FOOT_Y, printable.foot)
            self.restoreState()

    return BandedCanvas


def _signature_image(data: bytes, height: float) -> Image:
    with PILImage.open(io.BytesIO(data)) as picture:
        width_px, height_px = picture.size
    image = Image(io.BytesIO(data), width=height * width_px / max(1, height_px), height=height)
    image.hAlign = "LEFT"
    return image


def write_pdf(
    printable: Printable,
    path: Path,
    *,
    font_path: str | os.PathLike[str] | None = None,
    style: PdfStyle | None = None,
) -> None:
    style = style or PdfStyle()
    font = register_font(Path(font_path) if font_path is not None else default_font())
    styles = _styles(font, style)
    story: list[Flowable] = []
    images = {r.seal_code: r.image for r in printable.signatures if r.image}

    def add(block: Block) -> None:
        paragraph = Paragraph(escape(block.text), styles[block.kind])
        if block.kind == "heading" and block.text == SIGNATURE_PAGE_HEADING:
            story.append(PageBreak())
        elif block.text.startswith(SIGNATURE_RECORD_MARK):
            story.append(Spacer(1, 0.6 * cm))
        story.append(paragraph)
        code = block.text.rsplit("签章 ", 1)[-1] if "签章 " in block.text else ""
        image = images.get(code)
        if image is not None:
            story.append(_signature_image(image, style.signature_height_cm * cm))

    for block in (*printable.blocks, *printable.record_blocks()):
        add(block)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        topMargin=TOP_MARGIN,
        bottomMargin=BOTTOM_MARGIN,
        leftMargin=LEFT_MARGIN,
        rightMargin=RIGHT_MARGIN,
        title=f"{printable.case_number} {printable.title}",
        subject=printable.foot,
        keywords=[printable.sha256 or "draft"],
        creator="court bilu",
        invariant=True,
    )
    doc.build(story, canvasmaker=_canvas_class(printable, font, style))
