from __future__ import annotations

from pathlib import Path

from docx import Document

from tests.transcripts.bilu.samples import CASE, sealed
from transcripts.bilu.render_docx import write_docx
from transcripts.bilu.seal import ServerKey


def test_docx_has_the_text_and_on_every_page_the_case_number_page_numbers_and_hash(tmp_path: Path) -> None:
    printable, seal = sealed(ServerKey.generate())
    path = tmp_path / "b.docx"
    write_docx(printable, path)
    doc = Document(str(path))
    texts = [p.text for p in doc.paragraphs]
    assert texts[: len(printable.blocks)] == [b.text for b in printable.blocks]
    assert texts[len(printable.blocks)].startswith("【签署记录】")
    (section,) = doc.sections  # one section: its head and foot are on every page
    assert not section.different_first_page_header_footer
    head = section.header.paragraphs[0]
    assert f"案号：{CASE}" in head.text
    fields = [el.text.strip() for el in head._p.iter() if el.tag.endswith("}instrText") and el.text]
    assert fields == ["PAGE", "NUMPAGES"]
    assert seal.sha256 in section.footer.paragraphs[0].text
    assert len(doc.inline_shapes) == 1  # the applicant's handwritten signature
    assert doc.core_properties.keywords == seal.sha256
    east_asia = doc.styles["Normal"].element.rPr.rFonts.get(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia"
    )
    assert east_asia == "宋体"
