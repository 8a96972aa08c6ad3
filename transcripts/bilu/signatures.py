"""Signatures on a frozen version: the sealed statements, and how an export prints them.

A :class:`SignatureRecord` is one signer's act on one version — signed (by a handwritten signature
drawn on screen and/or a confirmation tied to their login and face check) or refused with a reason —
with its time and device. Its :meth:`~SignatureRecord.statement` is what the server seals; an export
prints each record as one line ending in the first characters of its seal (the signature record),
which :mod:`transcripts.bilu.verify` reads back and matches against the record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from transcripts.bilu.layout import SIGN_METHOD_LABELS, SIGNATURE_RECORD_MARK, Block, full_time
from transcripts.bilu.model import Person, person_from_dict, person_to_dict
from transcripts.bilu.seal import SEAL_CODE_LENGTH

SIGN_METHODS = ("handwritten", "login", "face")


@dataclass(frozen=True, slots=True)
class VersionSeal:
    """A locked version's identity as sealed by the server."""

    hearing_id: int
    case_number: str
    version: int
    sha256: str
    locked_at: datetime
    locked_by: str
    key_id: str
    seal: str

    def statement(self) -> dict[str, Any]:
        return version_statement(
            self.hearing_id, self.case_number, self.version, self.sha256, self.locked_at, self.locked_by
        )


def version_statement(
    hearing_id: int, case_number: str, version: int, sha256: str, locked_at: datetime, locked_by: str
) -> dict[str, Any]:
    return {
        "type": "bilu.version",
        "hearing_id": hearing_id,
        "case_number": case_number,
        "version": version,
        "sha256": sha256,
        "locked_at": locked_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "locked_by": locked_by,
    }


@dataclass(frozen=True, slots=True)
class SignatureRecord:
    hearing_id: int
    case_number: str
    version: int
    sha256: str
    """Content hash of the version signed: the signer saw exactly this text."""
    signer: Person
    refused: bool
    at: datetime
    device: str
    methods: tuple[str, ...] = ()
    login: str = ""
    face_similarity: float | None = None
    reason: str = ""
    """Why the signer refused (required for a refusal)."""
    image_sha256: str = ""
    key_id: str = ""
    seal: str = ""
    image: bytes | None = field(default=None, compare=False, repr=False)
    face_check_seq: int | None = None
    """The hearing-record event of the face check the signer passed just before signing."""

    def statement(self) -> dict[str, Any]:
        # The face check's event is named only where there was one, so the statements sealed before
        # it was recorded read back (and verify) unchanged.
        extra: dict[str, Any] = {} if self.face_check_seq is None else {"face_check_seq": self.face_check_seq}
        return {
            "type": "bilu.signature",
            "hearing_id": self.hearing_id,
            "case_number": self.case_number,
            "version": self.version,
            "sha256": self.sha256,
            "signer": person_to_dict(self.signer),
            "status": "refused" if self.refused else "signed",
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "device": self.device,
            "methods": list(self.methods),
            "login": self.login,
            "face_similarity": self.face_similarity,
            "reason": self.reason,
            "image_sha256": self.image_sha256,
            **extra,
        }

    @property
    def seal_code(self) -> str:
        return self.seal[:SEAL_CODE_LENGTH]

    def image_matches(self) -> bool:
        if self.image is None:
            return not self.image_sha256
        return hashlib.sha256(self.image).hexdigest() == self.image_sha256


def record_from_statement(statement: Mapping[str, Any], *, key_id: str, seal: str) -> SignatureRecord:
    """Rebuild a record from a sealed statement (e.g. from a JSON export); raises on a malformed one."""
    similarity = statement.get("face_similarity")
    check = statement.get("face_check_seq")
    return SignatureRecord(
        hearing_id=int(statement["hearing_id"]),
        case_number=str(statement["case_number"]),
        version=int(statement["version"]),
        sha256=str(statement["sha256"]),
        signer=person_from_dict(statement["signer"]),
        refused=statement["status"] == "refused",
        at=datetime.fromisoformat(str(statement["at"])),
        device=str(statement["device"]),
        methods=tuple(str(m) for m in statement.get("methods", ())),
        login=str(statement.get("login", "")),
        face_similarity=float(similarity) if similarity is not None else None,
        reason=str(statement.get("reason", "")),
        image_sha256=str(statement.get("image_sha256", "")),
        key_id=key_id,
        seal=seal,
        face_check_seq=int(check) if check is not None else None,
    )


def record_line(record: SignatureRecord, offset_minutes: int) -> str:
    when = full_time(record.at, offset_minutes)
    who = record.signer.label
    if record.refused:
        return (
            f"{who}：拒绝签名，{when}，理由：{record.reason}，设备：{record.device}，签章 {record.seal_code}"
        )
    methods = "、".join(SIGN_METHOD_LABELS.get(m, m) for m in record.methods)
    if record.face_similarity is not None and "face" in record.methods:
        methods += f"（相似度 {record.face_similarity:.2f}）"
    return f"{who}：已签名，{when}，{methods}，设备：{record.device}，签章 {record.seal_code}"


def signature_record_blocks(
    version: int | None,
    sha256: str | None,
    signers: Sequence[Person],
    records: Sequence[SignatureRecord],
    offset_minutes: int,
) -> tuple[Block, ...]:
    """The signature record printed after the signature page: one line per signer, in the
    signature page's order (signed, refused, or still to sign)."""
    if version is None or sha256 is None:
        return (Block("heading", f"{SIGNATURE_RECORD_MARK}草稿未锁定，不能签署"),)
    blocks = [Block("heading", f"{SIGNATURE_RECORD_MARK}版本 {version}　SHA-256：{sha256}")]
    by_signer: dict[tuple[str, str], list[SignatureRecord]] = {}
    for record in records:
        by_signer.setdefault((record.signer.role, record.signer.name), []).append(record)
    listed: set[tuple[str, str]] = set()
    for person in signers:
        key = (person.role, person.name)
        listed.add(key)
        mine = by_signer.get(key, [])
        if not mine:
            blocks.append(Block("note", f"{person.label}：待签名"))
        blocks.extend(Block("note", record_line(r, offset_minutes)) for r in sorted(mine, key=lambda r: r.at))
    for key, extra in by_signer.items():
        if key not in listed:
            blocks.extend(Block("note", record_line(r, offset_minutes)) for r in extra)
    return tuple(blocks)


@dataclass(frozen=True, slots=True)
class PrintedSignature:
    """A signature line as read back from an export (whitespace removed)."""

    who: str
    status: str
    """``signed``, ``refused`` or ``pending``."""
    time: str = ""
    """``YYYY-MM-DDHH:MM:SS`` (whitespace removed)."""
    seal_code: str = ""


_ENTRY = re.compile(
    r"(?P<who>[^：]+?)：(?:(?P<pending>待签名)|(?P<status>已签名|拒绝签名)，"
    r"(?P<time>\d{4}-\d{2}-\d{2}\d{2}:\d{2}:\d{2})，.*?签章(?P<seal>[0-9a-f]{"
    + str(SEAL_CODE_LENGTH)
    + r"}))"
)
_HEAD = re.compile(r"【签署记录】(?:版本(?P<version>\d+)SHA-256：(?P<sha>[0-9a-f]{64})|草稿未锁定，不能签署)")


def squeeze(text: str) -> str:
    """Remove all whitespace: PDF text comes back with its lines broken wherever they wrapped."""
    return re.sub(r"\s+", "", text)


def parse_signature_record(text: str) -> tuple[int | None, str | None, list[PrintedSignature], str]:
    """Read a printed signature record: (version, sha256, entries, leftover text that is no entry)."""
    flat = squeeze(text)
    head = _HEAD.match(flat)
    if head is None:
        return None, None, [], flat
    version = int(head["version"]) if head["version"] else None
    position = head.end()
    entries: list[PrintedSignature] = []
    while position < len(flat):
        match = _ENTRY.match(flat, position)
        if match is None:
            return version, head["sha"], entries, flat[position:]
        if match["pending"]:
            entries.append(PrintedSignature(match["who"], "pending"))
        else:
            status = "signed" if match["status"] == "已签名" else "refused"
            entries.append(PrintedSignature(match["who"], status, match["time"], match["seal"]))
        position = match.end()
    return version, head["sha"], entries, ""
