from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.transcripts.bilu.samples import CASE, document, facts, recognized, sealed
from transcripts.bilu import BiluDocument, RecognizedLine, apply_corrections, build_document
from transcripts.bilu.render_pdf import PdfFontError, register_font, write_pdf
from transcripts.bilu.seal import ServerKey
from transcripts.bilu.signatures import squeeze
from transcripts.bilu.verify import extract


def long_document() -> BiluDocument:
    text = "考勤记录证明申请人每周工作超过五十小时。"
    lines = [
        RecognizedLine(
            f"x{i}", "applicant_agent", "申请人代理人", f"第{i}句：{text}", 320 + i / 10, 320 + i / 10
        )
        for i in range(160)
    ]
    return build_document(facts(), apply_corrections([*recognized(), *lines]))


def test_pdf_text_reads_back_and_every_page_has_case_page_and_hash(tmp_path: Path) -> None:
    doc = long_document()
    printable, seal = sealed(ServerKey.generate(), doc)
    path = tmp_path / "b.pdf"
    write_pdf(printable, path)
    extracted = extract(path)
    pages = len(extracted.bands)
    assert pages >= 4
    for number, band in enumerate(extracted.bands, start=1):
        flat = squeeze(band)
        assert squeeze(f"案号：{CASE}") in flat
        assert f"第{number}页共{pages}页" in flat
        assert f"SHA-256：{seal.sha256}" in flat
    body = squeeze("".join(extracted.body))
    expected = squeeze("".join(b.text for b in printable.blocks))
    assert body.startswith(expected)  # CJK text comes back character for character
    assert "首席仲裁员：现在开庭。" in body


def test_a_draft_says_so_on_every_page(tmp_path: Path) -> None:
    printable, _ = sealed(ServerKey.generate())
    draft = dataclasses.replace(printable, version=None, sha256=None, signatures=(), version_seal=None)
    path = tmp_path / "d.pdf"
    write_pdf(draft, path)
    assert all("草稿" in band for band in extract(path).bands)


def test_a_font_that_cannot_be_embedded_says_what_to_install(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    with pytest.raises(PdfFontError, match="fonts-wqy-microhei"):
        register_font(bad)
    printable, _ = sealed(ServerKey.generate(), document())
    with pytest.raises(PdfFontError):
        write_pdf(printable, tmp_path / "x.pdf", font_path=bad)
