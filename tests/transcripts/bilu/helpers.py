"""Altering exported files as a forger would: the text edited in place, the hash footer left alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

from docx import Document
from pypdf import PdfReader, PdfWriter


def alter_txt(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def alter_docx(path: Path, old: str, new: str) -> None:
    doc = Document(str(path))
    for paragraph in doc.paragraphs:
        for run in paragraph.runs:
            if old in run.text:
                run.text = run.text.replace(old, new, 1)
                doc.save(str(path))
                return
    raise AssertionError(f"{old!r} not in {path}")


def alter_json(path: Path, old: str, new: str) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for item in data["text"]:
        if old in item["text"]:
            item["text"] = item["text"].replace(old, new, 1)
            path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            return
    raise AssertionError(f"{old!r} not in {path}")


def swap_first_pdf_glyphs(path: Path) -> None:
    """Swap the first two characters of the first line of page 1 in the content stream itself
    (the commission's name: 示范 → 范示); the page bands are drawn last and stay untouched."""
    writer = PdfWriter(clone_from=PdfReader(str(path)))
    page = writer.pages[0]
    contents = page.get_contents()
    assert contents is not None
    data = contents.get_data()
    match = re.search(rb"\((\\\d{3})(\\\d{3})", data)
    assert match is not None
    data = data[: match.start()] + b"(" + match[2] + match[1] + data[match.end() :]
    contents.set_data(data)
    page.replace_contents(contents)
    with path.open("wb") as out:
        writer.write(out)
