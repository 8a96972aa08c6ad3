"""The evidence store: type sniffing, limits, hashing, the timeline events, nothing left on rejection."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import CaseError, NewParticipant, create_case, create_hearing, load_hearing
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import Timeline, TimelineEvent
from court.db.models import Evidence
from court.record.bilu import Bilu
from court.record.evidence import (
    DOCX,
    XLSX,
    EvidenceInfo,
    EvidenceNotFound,
    EvidenceRejected,
    get_evidence,
    list_evidence,
    present_evidence,
    safe_filename,
    store_evidence,
)
from devices.clock import ScaledClock
from transcripts.bilu.model import Note

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(32)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(32)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(32)
TEXT = "劳动合同约定月工资 8000 元。\n".encode()


def _office(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<document/>")
    return buffer.getvalue()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The evidence folder (the SQLite store lives beside it in tmp_path)."""
    return tmp_path / "evidence"


@pytest.fixture
def hearing(sessions: sessionmaker[Session]) -> tuple[int, int, Timeline]:
    """(hearing id, the applicant's participant id, the hearing's timeline)."""
    case_id = create_case(
        sessions,
        case_number="示劳人仲案字〔2026〕第118号",
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.RESPONDENT, "李娜", organization="示范科技有限公司"),
        ],
    )
    hearing_id = create_hearing(sessions, case_id, room="第一仲裁庭")
    applicant = load_hearing(sessions, hearing_id).participants[0].id
    return hearing_id, applicant, Timeline(sessions, hearing_id, ScaledClock())


def _store(
    sessions: sessionmaker[Session],
    timeline: Timeline,
    root: Path,
    data: bytes,
    filename: str,
    declared: str = "",
    *,
    submitted_by: int | None = None,
    max_bytes: int = 50 * 2**20,
) -> EvidenceInfo:
    return store_evidence(
        sessions,
        timeline,
        root,
        hearing_id=timeline.hearing_id,
        title="劳动合同",
        filename=filename,
        declared_type=declared,
        data=io.BytesIO(data),
        submitted_by=submitted_by,
        submitter="",
        max_bytes=max_bytes,
        actor=f"party:{submitted_by}" if submitted_by else "clerk:wang",
    )


def _leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_store_hash_row_and_event(
    sessions: sessionmaker[Session], hearing: tuple[int, int, Timeline], root: Path
) -> None:
    hearing_id, applicant, timeline = hearing
    info = _store(
        sessions, timeline, root, PDF, "C:\\fakepath\\劳动合同.pdf", "application/pdf", submitted_by=applicant
    )
    digest = hashlib.sha256(PDF).hexdigest()
    assert info.sha256 == digest and info.size == len(PDF)
    assert info.media_type == "application/pdf" and info.filename == "劳动合同.pdf"
    assert info.submitter == "申请人 张伟" and info.submitted_by == applicant
    assert info.stored_path == (root / f"hearing-{hearing_id}" / f"{digest[:16]}-劳动合同.pdf").resolve()
    assert info.stored_path.read_bytes() == PDF
    assert _leftovers(root) == [info.stored_path]

    assert get_evidence(sessions, info.id) == info
    assert list_evidence(sessions, hearing_id) == [info]
    [event] = timeline.events()
    assert event.type == EventType.EVIDENCE_SUBMITTED and event.actor == f"party:{applicant}"
    assert dict(event.payload) == {
        "evidence_id": info.id,
        "title": "劳动合同",
        "filename": "劳动合同.pdf",
        "media_type": "application/pdf",
        "size": len(PDF),
        "sha256": digest,
        "submitted_by": applicant,
        "submitter": "申请人 张伟",
    }

    shown = present_evidence(timeline, info, actor="clerk:wang")
    assert shown.type == EventType.EVIDENCE_PRESENTED and shown.payload["evidence_id"] == info.id
    # The 笔录 reads the presented exhibit back from the row.
    document = Bilu(sessions, hearing_id, timeline=timeline).draft()
    notes = [i for section in document.sections for i in section.items if isinstance(i, Note)]
    assert [n.text for n in notes if n.kind == "evidence"] == [
        f"出示证据：劳动合同（申请人 张伟 提交），SHA-256：{digest}"
    ]


@pytest.mark.parametrize(
    ("data", "filename", "declared", "media_type"),
    [
        (PNG, "photo.png", "image/png", "image/png"),
        (JPEG, "IMG_0001.JPG", "image/jpeg", "image/jpeg"),
        (WAV, "录音.wav", "audio/x-wav", "audio/wav"),
        (MP4, "video.mp4", "video/mp4", "video/mp4"),
        (MP3, "call.mp3", "audio/mpeg", "audio/mpeg"),
        (_office("word"), "合同.docx", "", DOCX),
        (_office("xl"), "工资表.xlsx", "application/octet-stream", XLSX),
        (TEXT, "说明.txt", "text/plain; charset=utf-8", "text/plain"),
        (PNG, "screenshot", "", "image/png"),
    ],
    ids=["png", "jpeg", "wav", "mp4", "mp3", "docx", "xlsx", "text", "no-extension"],
)
def test_accepted_types(
    sessions: sessionmaker[Session],
    hearing: tuple[int, int, Timeline],
    root: Path,
    data: bytes,
    filename: str,
    declared: str,
    media_type: str,
) -> None:
    _hearing_id, _applicant, timeline = hearing
    info = _store(sessions, timeline, root, data, filename, declared)
    assert info.media_type == media_type
    assert info.stored_path.suffix  # a name without an extension gets the sniffed one
    assert info.submitted_by is None and info.submitter == ""


@pytest.mark.parametrize(
    ("data", "filename", "declared", "code"),
    [
        (TEXT, "合同.pdf", "application/pdf", "type_mismatch"),  # a text file named .pdf
        (TEXT, "合同.pdf", "", "type_mismatch"),
        (PDF, "合同.pdf", "image/png", "type_mismatch"),
        (PNG, "photo.jpg", "", "type_mismatch"),
        (b"MZ\x90\x00" + bytes(60), "report.pdf", "application/pdf", "type_mismatch"),
        (b"MZ\x90\x00" + bytes(60), "setup.exe", "application/x-msdownload", "type_not_allowed"),
        (_office("ppt"), "slides.pptx", "", "type_not_allowed"),
        ("工资".encode("gbk") + b"\x00\x01", "说明.txt", "text/plain", "type_mismatch"),
        (b"", "empty.pdf", "application/pdf", "empty"),
        (PDF, "../..", "application/pdf", "bad_name"),
        (PDF, "", "application/pdf", "bad_name"),
    ],
    ids=[
        "text-as-pdf",
        "text-as-pdf-undeclared",
        "pdf-declared-png",
        "png-named-jpg",
        "exe-as-pdf",
        "exe",
        "pptx",
        "gbk-text",
        "empty",
        "dots",
        "no-name",
    ],
)
def test_rejections_leave_nothing(
    sessions: sessionmaker[Session],
    hearing: tuple[int, int, Timeline],
    root: Path,
    data: bytes,
    filename: str,
    declared: str,
    code: str,
) -> None:
    hearing_id, _applicant, timeline = hearing
    with pytest.raises(EvidenceRejected) as excinfo:
        _store(sessions, timeline, root, data, filename, declared)
    assert excinfo.value.code == code
    assert "(" in str(excinfo.value)  # Chinese message with its English gloss
    assert _leftovers(root) == []
    assert list_evidence(sessions, hearing_id) == []
    assert timeline.events() == []


def test_too_large_stops_early(
    sessions: sessionmaker[Session], hearing: tuple[int, int, Timeline], root: Path
) -> None:
    hearing_id, _applicant, timeline = hearing
    with pytest.raises(EvidenceRejected) as excinfo:
        _store(sessions, timeline, root, PDF + bytes(4096), "big.pdf", max_bytes=1024)
    assert excinfo.value.code == "too_large" and "1 KB" in str(excinfo.value)
    assert _leftovers(root) == [] and list_evidence(sessions, hearing_id) == []
    # Exactly at the limit is fine.
    info = _store(sessions, timeline, root, PDF, "small.pdf", max_bytes=len(PDF))
    assert info.size == len(PDF)


def test_the_same_file_twice_and_misc_errors(
    sessions: sessionmaker[Session], hearing: tuple[int, int, Timeline], root: Path
) -> None:
    hearing_id, _applicant, timeline = hearing
    first = _store(sessions, timeline, root, PDF, "合同.pdf")
    second = _store(sessions, timeline, root, PDF, "合同.pdf")
    assert first.id != second.id and first.stored_path == second.stored_path
    assert _leftovers(root) == [first.stored_path]
    assert [e.type for e in timeline.events()] == [EventType.EVIDENCE_SUBMITTED] * 2

    with pytest.raises(EvidenceNotFound, match="no evidence with id 999"):
        get_evidence(sessions, 999)
    with pytest.raises(KeyError):
        get_evidence(sessions, 999)
    with pytest.raises(CaseError, match="not in the case"):
        _store(sessions, timeline, root, PDF, "x.pdf", submitted_by=999)
    other = Timeline(sessions, create_hearing(sessions, first.case_id, room="第二仲裁庭"), ScaledClock())
    with pytest.raises(ValueError, match="filed for hearing"):
        present_evidence(other, first, actor="clerk:wang")
    with sessions() as session:
        assert len(session.scalars(select(Evidence)).all()) == 2
    assert hearing_id == first.hearing_id


def test_a_failed_event_takes_the_row_and_file_back(
    sessions: sessionmaker[Session], hearing: tuple[int, int, Timeline], root: Path
) -> None:
    hearing_id, _applicant, _timeline = hearing

    class Broken(Timeline):
        def append(self, *args: object, **kwargs: object) -> TimelineEvent:
            raise RuntimeError("store down")

    broken = Broken(sessions, hearing_id, ScaledClock())
    with pytest.raises(RuntimeError, match="store down"):
        _store(sessions, broken, root, PDF, "合同.pdf")
    assert _leftovers(root) == [] and list_evidence(sessions, hearing_id) == []


def test_safe_filename() -> None:
    assert safe_filename("/etc/passwd") == "passwd"
    assert safe_filename("..\\..\\合同 （终稿）.pdf") == "合同 （终稿）.pdf"
    assert safe_filename("a\u202eFDP.exe") == "aFDP.exe"  # no right-to-left override tricks
    assert safe_filename('x<>:"|?*.pdf') == "x_______.pdf"
    long = safe_filename("长" * 200 + ".pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= 180
    with pytest.raises(EvidenceRejected):
        safe_filename("...")
