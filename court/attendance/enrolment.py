"""Enrolling participants' ID photos (uploaded with the case) and reading their face templates back.

The photo is checked before anything is written (exactly one usable face, large and sharp enough):
a rejected photo changes nothing and the error says what is wrong with it. Photos and embeddings
stay with the case and go with it; the audit log records that a photo was enrolled, never the
photo or the embedding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import CaseError
from court.core.events import EventType
from court.db.face import FaceTemplateRow
from court.db.models import AuditLog, Participant
from devices.face import (
    MODEL_NAME,
    FaceAnalyzer,
    FaceTemplate,
    PhotoRejected,
    decode_image,
    embedding_from_bytes,
    embedding_to_bytes,
)

MAX_PHOTO_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Enrolment:
    participant_id: int
    photo_sha256: str
    face_px: float
    sharpness: float


def enrol_participant(
    sessions: sessionmaker[Session],
    participant_id: int,
    photo: bytes,
    analyzer: FaceAnalyzer,
    *,
    actor: str = "clerk",
) -> Enrolment:
    """Check ``photo`` (JPEG/PNG bytes) and make it the participant's ID photo and face template,
    replacing any earlier one. Raises :class:`devices.face.PhotoRejected` for an unusable photo and
    :class:`CaseError` for an unknown participant; in both cases nothing is changed."""
    if len(photo) > MAX_PHOTO_BYTES:
        raise PhotoRejected(
            "too_large", f"照片文件过大（{len(photo) // 1024} KB，至多 10 MB）(photo file too large)"
        )
    with sessions() as session:
        if session.get(Participant, participant_id) is None:
            raise CaseError(f"no participant with id {participant_id}")
    face = analyzer.enrol(decode_image(photo))
    digest = hashlib.sha256(photo).hexdigest()
    with sessions.begin() as session:
        participant = session.get(Participant, participant_id)
        if participant is None:
            raise CaseError(f"no participant with id {participant_id}")
        participant.id_photo = photo
        session.execute(delete(FaceTemplateRow).where(FaceTemplateRow.participant_id == participant_id))
        session.add(
            FaceTemplateRow(
                case_id=participant.case_id,
                participant_id=participant_id,
                model=MODEL_NAME,
                embedding=embedding_to_bytes(face.embedding),
                photo_sha256=digest,
                face_px=round(face.quality.face_px, 1),
                sharpness=round(face.quality.sharpness, 1),
                enrolled_by=actor,
            )
        )
        session.add(
            AuditLog(
                actor=actor,
                action=EventType.FACE_ENROLLED,
                detail={"participant_id": participant_id, "photo_sha256": digest},
            )
        )
    return Enrolment(participant_id, digest, face.quality.face_px, face.quality.sharpness)


def load_templates(sessions: sessionmaker[Session], participant_ids: Iterable[int]) -> list[FaceTemplate]:
    """The enrolled templates of these participants (of the current model), keyed by participant id."""
    ids = list(participant_ids)
    if not ids:
        return []
    with sessions() as session:
        rows = session.execute(
            select(FaceTemplateRow.participant_id, FaceTemplateRow.embedding).where(
                FaceTemplateRow.participant_id.in_(ids), FaceTemplateRow.model == MODEL_NAME
            )
        ).all()
    return [FaceTemplate(pid, embedding_from_bytes(data)) for pid, data in rows]


def enrolled(sessions: sessionmaker[Session], participant_ids: Iterable[int]) -> set[int]:
    return {key for t in load_templates(sessions, participant_ids) if isinstance(key := t.key, int)}


def forget_face(sessions: sessionmaker[Session], participant_id: int, *, actor: str = "clerk") -> int:
    """Delete a participant's ID photo and templates (on request); returns the templates removed."""
    with sessions.begin() as session:
        participant = session.get(Participant, participant_id)
        if participant is None:
            raise CaseError(f"no participant with id {participant_id}")
        participant.id_photo = None
        rows = session.scalars(
            select(FaceTemplateRow).where(FaceTemplateRow.participant_id == participant_id)
        )
        removed = 0
        for row in rows.all():
            session.delete(row)
            removed += 1
        session.add(
            AuditLog(actor=actor, action=EventType.FACE_FORGOTTEN, detail={"participant_id": participant_id})
        )
    return removed
