"""The 笔录 (hearing record): corrected lines, the standardized document, its exports, seals and
verification — plain values in and out; :mod:`court.record.bilu` wires it to a hearing's store.

- :mod:`~transcripts.bilu.corrections` — the clerk's corrections replayed with their history
- :mod:`~transcripts.bilu.build` — the document from the hearing's facts and lines
- :mod:`~transcripts.bilu.layout` — its blocks, canonical text and content hash
- :mod:`~transcripts.bilu.render_txt`, :mod:`~transcripts.bilu.render_docx`,
  :mod:`~transcripts.bilu.render_pdf`, :mod:`~transcripts.bilu.json_form`, :mod:`~transcripts.bilu.akn`
- :mod:`~transcripts.bilu.seal`, :mod:`~transcripts.bilu.signatures` — sealed versions and signatures
- :mod:`~transcripts.bilu.verify` — an exported file checked against the record
- :mod:`~transcripts.bilu.effort` — how many characters a clerk must change
"""

from __future__ import annotations

from pathlib import Path

from transcripts.bilu.build import PHASE_HEADINGS, EvidenceShown, HearingFacts, Milestone, build_document
from transcripts.bilu.corrections import (
    MARKS,
    AddLine,
    Correction,
    CorrectionError,
    CorrectionRequest,
    Decision,
    EditRole,
    EditText,
    Line,
    Mark,
    Merge,
    RecognizedLine,
    Split,
    Transcript,
    Unmark,
    apply_corrections,
)
from transcripts.bilu.layout import Block, canonical_text, content_sha256, document_blocks
from transcripts.bilu.model import AttendanceEntry, BiluDocument, Header, Note, Person, Section, Speech
from transcripts.bilu.printable import Printable
from transcripts.bilu.signatures import SignatureRecord, VersionSeal

EXPORT_FORMATS = ("docx", "pdf", "txt", "json", "akn")


def write_export(printable: Printable, fmt: str, path: Path) -> None:
    """Write ``printable`` as ``fmt`` (one of :data:`EXPORT_FORMATS`) to ``path``."""
    if fmt == "txt":
        from transcripts.bilu.render_txt import write_txt

        write_txt(printable, path)
    elif fmt == "docx":
        from transcripts.bilu.render_docx import write_docx

        write_docx(printable, path)
    elif fmt == "pdf":
        from transcripts.bilu.render_pdf import write_pdf

        write_pdf(printable, path)
    elif fmt == "json":
        from transcripts.bilu.json_form import write_json

        write_json(printable, path)
    elif fmt == "akn":
        from transcripts.bilu.akn import write_akn

        write_akn(printable, path)
    else:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")


__all__ = [
    "EXPORT_FORMATS",
    "MARKS",
    "PHASE_HEADINGS",
    "AddLine",
    "AttendanceEntry",
    "BiluDocument",
    "Block",
    "Correction",
    "CorrectionError",
    "CorrectionRequest",
    "Decision",
    "EditRole",
    "EditText",
    "EvidenceShown",
    "Header",
    "HearingFacts",
    "Line",
    "Mark",
    "Merge",
    "Milestone",
    "Note",
    "Person",
    "Printable",
    "RecognizedLine",
    "Section",
    "SignatureRecord",
    "Speech",
    "Split",
    "Transcript",
    "Unmark",
    "VersionSeal",
    "apply_corrections",
    "build_document",
    "canonical_text",
    "content_sha256",
    "document_blocks",
    "write_export",
]
