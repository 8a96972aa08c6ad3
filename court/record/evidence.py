"""The evidence store: uploaded files checked, hashed and kept under the hearing's folder.

A file is judged by its bytes, not its label: the type is sniffed from the magic bytes and must
agree with the declared media type and the file name's extension, and be on the allow-list. The
upload is streamed to a temporary file in the destination folder while it is hashed and counted,
so a rejected file leaves nothing behind and an accepted one is renamed into place atomically
(``hearing-<id>/<sha256[:16]>-<name>``). The filing is then an ``evidence.submitted`` event on the
hearing's timeline; putting it on screen is ``evidence.presented`` (read by the 笔录).
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import CaseError
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import Timeline, TimelineEvent
from court.core.timeutil import as_utc
from court.db.models import Evidence, Hearing, Participant

EVIDENCE_SUBMITTED = EventType.EVIDENCE_SUBMITTED
EVIDENCE_PRESENTED = EventType.EVIDENCE_PRESENTED
MAX_BYTES = 50 * 2**20
_CHUNK = 2**20
_SNIFF_BYTES = 64


@dataclass(frozen=True)
class EvidenceInfo:
    id: int
    hearing_id: int
    case_id: int
    title: str
    filename: str
    """The sanitized name as uploaded (without the hash prefix of the stored file)."""
    media_type: str
    """As sniffed from the bytes."""
    size: int
    sha256: str
    submitted_by: int | None
    """The participant who filed it; None for staff."""
    submitter: str
    uploaded_at: datetime
    stored_path: Path
    """Absolute path of the stored file."""


class EvidenceRejected(Exception):
    """An upload that is not stored. ``code``: too_large, empty, type_not_allowed, type_mismatch, bad_name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class EvidenceNotFound(KeyError):
    """No evidence with that id (a KeyError, so ``except KeyError`` callers keep working)."""

    def __init__(self, evidence_id: int) -> None:
        super().__init__(evidence_id)
        self.evidence_id = evidence_id
        self.message = f"没有编号为 {evidence_id} 的证据 (no evidence with id {evidence_id})"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class _Kind:
    media_type: str
    extensions: tuple[str, ...]
    """The first is used when a name comes without an extension."""
    aliases: tuple[str, ...] = ()
    """Other media types browsers and phones declare for it."""


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ALLOWED: tuple[_Kind, ...] = (
    _Kind("application/pdf", (".pdf",), ("application/x-pdf",)),
    _Kind("image/jpeg", (".jpg", ".jpeg", ".jpe"), ("image/jpg", "image/pjpeg")),
    _Kind("image/png", (".png",), ("image/x-png",)),
    _Kind("image/gif", (".gif",)),
    _Kind("image/webp", (".webp",)),
    _Kind("video/mp4", (".mp4", ".m4v"), ("video/x-m4v",)),
    _Kind("video/quicktime", (".mov", ".qt")),
    _Kind("audio/mp4", (".m4a",), ("audio/x-m4a", "audio/m4a", "audio/aac")),
    _Kind("audio/mpeg", (".mp3",), ("audio/mp3", "audio/x-mp3", "audio/mpeg3", "audio/x-mpeg")),
    _Kind("audio/wav", (".wav",), ("audio/x-wav", "audio/wave", "audio/vnd.wave")),
    _Kind("audio/ogg", (".ogg", ".oga", ".opus"), ("application/ogg", "audio/opus", "audio/x-ogg")),
    _Kind(DOCX, (".docx",)),
    _Kind(XLSX, (".xlsx",)),
    _Kind("text/plain", (".txt",)),
)
_BY_TYPE = {kind.media_type: kind for kind in ALLOWED}
# What a browser sends when it does not know: says nothing either way.
_UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
_MAX_NAME_BYTES = 180
"""The stored name is ``<16 hex>-<name>``: kept well under the 255-byte limit of file systems."""


def store_evidence(
    sessions: sessionmaker[Session],
    timeline: Timeline,
    root: Path,
    *,
    hearing_id: int,
    title: str,
    filename: str,
    declared_type: str,
    data: BinaryIO,
    submitted_by: int | None,
    submitter: str,
    max_bytes: int = MAX_BYTES,
    actor: str,
) -> EvidenceInfo:
    """Check and store one uploaded file and append ``evidence.submitted``.

    Raises :class:`EvidenceRejected` for a file that is refused (nothing is written then),
    :class:`CaseError` for an unknown hearing or a submitter outside its case, and ValueError for a
    timeline of another hearing."""
    if timeline.hearing_id != hearing_id:
        raise ValueError(f"the timeline is of hearing {timeline.hearing_id}, not {hearing_id}")
    name = safe_filename(filename)
    with sessions() as session:
        hearing = session.get(Hearing, hearing_id)
        if hearing is None:
            raise CaseError(f"没有编号为 {hearing_id} 的庭审 (no hearing with id {hearing_id})")
        case_id = hearing.case_id
        if submitted_by is not None:
            participant = session.get(Participant, submitted_by)
            if participant is None or participant.case_id != case_id:
                raise CaseError(
                    f"提交人 {submitted_by} 不属于该案件 "
                    f"(participant {submitted_by} is not in the case of hearing {hearing_id})"
                )
            if not submitter:
                submitter = f"{Role(participant.role).label} {participant.name}"

    folder = (root / f"hearing-{hearing_id}").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    # The temporary file lives in the destination folder, so the final rename is atomic.
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    temp = Path(temp_name)
    created: Path | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            size, digest = _copy(data, out, max_bytes)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise EvidenceRejected("empty", "文件为空 (the file is empty)")
        sniffed = sniff(temp)
        name = _check_type(name, declared_type, sniffed)
        final = folder / f"{digest[:16]}-{name}"
        if final.exists():
            # The same bytes under the same name: already on disk, keep the first copy untouched.
            temp.unlink()
        else:
            os.replace(temp, final)
            created = final
            _fsync_dir(folder)
        clean_title = " ".join(title.split())[:300] or name
        with sessions.begin() as session:
            row = Evidence(
                case_id=case_id,
                hearing_id=hearing_id,
                submitted_by=submitted_by,
                submitter=submitter[:200],
                title=clean_title,
                filename=name,
                media_type=sniffed,
                size=size,
                sha256=digest,
                stored_path=str(final),
            )
            session.add(row)
            session.flush()
            info = _info(row)
        try:
            timeline.append(
                EVIDENCE_SUBMITTED,
                {
                    "evidence_id": info.id,
                    "title": info.title,
                    "filename": info.filename,
                    "media_type": info.media_type,
                    "size": info.size,
                    "sha256": info.sha256,
                    "submitted_by": info.submitted_by,
                    "submitter": info.submitter,
                },
                actor=actor,
            )
        except BaseException:
            # No event, no filing: the row goes too, so the store never holds evidence the record lacks.
            with sessions.begin() as session:
                orphan = session.get(Evidence, info.id)
                if orphan is not None:
                    session.delete(orphan)
            raise
        return info
    except BaseException:
        temp.unlink(missing_ok=True)
        if created is not None:
            created.unlink(missing_ok=True)
        raise


def list_evidence(sessions: sessionmaker[Session], hearing_id: int) -> list[EvidenceInfo]:
    """The hearing's evidence in the order it was filed."""
    with sessions() as session:
        rows = session.scalars(
            select(Evidence).where(Evidence.hearing_id == hearing_id).order_by(Evidence.id)
        )
        return [_info(row) for row in rows]


def get_evidence(sessions: sessionmaker[Session], evidence_id: int) -> EvidenceInfo:
    with sessions() as session:
        row = session.get(Evidence, evidence_id)
        if row is None or row.hearing_id is None:
            raise EvidenceNotFound(evidence_id)
        return _info(row)


def present_evidence(timeline: Timeline, info: EvidenceInfo, *, actor: str) -> TimelineEvent:
    """Put a filed exhibit on screen: ``evidence.presented``. Only evidence filed for this hearing:
    the 笔录 of a hearing cites what was filed in it."""
    if info.hearing_id != timeline.hearing_id:
        raise ValueError(
            f"证据 {info.id} 不属于本次庭审 (evidence {info.id} was filed for hearing {info.hearing_id}, "
            f"not {timeline.hearing_id})"
        )
    # The id is what the 笔录 reads; title and hash ride along so the record still says what was
    # shown should the row ever be gone.
    return timeline.append(
        EVIDENCE_PRESENTED,
        {"evidence_id": info.id, "title": info.title, "filename": info.filename, "sha256": info.sha256},
        actor=actor,
    )


# -- checks ------------------------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_filename(filename: str) -> str:
    """The last path component, without control or reserved characters, leading dots or excess
    length (the extension kept). Raises ``EvidenceRejected("bad_name")`` when nothing is left."""
    # Browsers on Windows send C:\\fakepath\\x.pdf; strip any folder of either kind.
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", filename))[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = _UNSAFE.sub("_", base)
    base = " ".join(base.split()).lstrip(". ").rstrip(". ")
    if not base or not any(c.isalnum() for c in base):
        raise EvidenceRejected("bad_name", f"文件名无效 (bad file name {filename[:60]!r})")
    stem, ext = os.path.splitext(base)
    if len(ext.encode("utf-8")) > 16:
        stem, ext = base, ""
    while len((stem + ext).encode("utf-8")) > _MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    if not stem:
        raise EvidenceRejected("bad_name", f"文件名无效 (bad file name {filename[:60]!r})")
    return stem + ext


def sniff(path: Path) -> str:
    """The media type the bytes say; ``application/octet-stream`` when none is recognized."""
    with path.open("rb") as f:
        head = f.read(_SNIFF_BYTES)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video/quicktime"  # QuickTime files from before ftyp
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or _mpeg_audio_frame(head):
        return "audio/mpeg"
    if head.startswith(b"PK\x03\x04"):
        return _office(path)
    if head.startswith(b"MZ") or head.startswith(b"\x7fELF"):
        return "application/x-executable"
    if _utf8_text(path):
        return "text/plain"
    return "application/octet-stream"


def _mpeg_audio_frame(head: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, and layer bits not 00 (00 is AAC's ADTS).
    return len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0


def _office(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "application/zip"
    if "[Content_Types].xml" not in names:
        return "application/zip"
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return "application/zip"  # another Office Open XML kind (pptx, …): not on the list


def _utf8_text(path: Path) -> bool:
    """Valid UTF-8 throughout with no control characters other than tab, newlines and form feed."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    allowed = {"\t", "\n", "\r", "\f", "\ufeff"}
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                text = decoder.decode(chunk)
                if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
                    return False
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _check_type(name: str, declared_type: str, sniffed: str) -> str:
    """The file name to keep (with an extension added when it had none); raises EvidenceRejected
    when the bytes are not an allowed type or disagree with the declared type or the extension."""
    ext = os.path.splitext(name)[1].lower()
    declared = declared_type.split(";")[0].strip().lower()
    claimed_by_ext = next((k for k in ALLOWED if ext in k.extensions), None)
    claimed_by_type = (
        None
        if declared in _UNDECLARED
        else next((k for k in ALLOWED if declared == k.media_type or declared in k.aliases), None)
    )
    kind = _BY_TYPE.get(sniffed)
    if kind is None:
        claimed = claimed_by_ext or claimed_by_type
        if claimed is not None:
            hint = "；文本文件须为 UTF-8 编码" if claimed.media_type == "text/plain" else ""
            raise EvidenceRejected(
                "type_mismatch",
                f"文件内容与其类型不符{hint} (the file's content does not match its type: "
                f"named {ext or '(none)'}, declared {declared or '(none)'})",
            )
        raise EvidenceRejected(
            "type_not_allowed",
            f"不接受此类文件，请提交 PDF、图片、音视频、Word/Excel 或文本文件 "
            f"(file type not allowed: {ext or declared or 'unknown'})",
        )
    if declared not in _UNDECLARED and claimed_by_type is not kind:
        raise EvidenceRejected(
            "type_mismatch",
            f"文件内容与声明的类型不符 (content is {sniffed}, declared {declared})",
        )
    if ext and ext not in kind.extensions:
        raise EvidenceRejected(
            "type_mismatch",
            f"文件内容与扩展名不符 (content is {sniffed}, but the name ends in {ext})",
        )
    if not ext:
        name += kind.extensions[0]
    return name


def _copy(data: BinaryIO, out: BinaryIO, max_bytes: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := data.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise EvidenceRejected(
                "too_large",
                f"文件过大，至多 {_human(max_bytes)} (file too large: over {_human(max_bytes)})",
            )
        digest.update(chunk)
        out.write(chunk)
    return size, digest.hexdigest()


def _human(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:g} MB"
    if size >= 2**10:
        return f"{size / 2**10:g} KB"
    return f"{size} B"


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder entry is on disk (evidence, like the timeline).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _info(row: Evidence) -> EvidenceInfo:
    assert row.hearing_id is not None
    return EvidenceInfo(
        id=row.id,
        hearing_id=row.hearing_id,
        case_id=row.case_id,
        title=row.title,
        filename=row.filename,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        submitted_by=row.submitted_by,
        submitter=row.submitter,
        uploaded_at=as_utc(row.uploaded_at),
        stored_path=Path(row.stored_path),
    )
