"""Enrolment in the store (SQLite and PostgreSQL): checked before written, kept with the case,
deleted with it."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.attendance.enrolment import enrol_participant, enrolled, forget_face, load_templates
from court.core.cases import CaseError, NewParticipant, create_case
from court.core.events import EventType
from court.core.roles import Role
from court.db.face import FaceTemplateRow
from court.db.models import AuditLog, Case, Participant
from court.demo.face_material import encode_jpeg
from devices.face import PhotoRejected, decode_image, distance
from devices.face.degrade import blur
from tests.devices.face.helpers import analyzer, embedding, photo


def _case(sessions: sessionmaker[Session]) -> tuple[int, list[int]]:
    case_id = create_case(
        sessions,
        case_number="测劳人仲案字〔2026〕第44号",
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.RESPONDENT_AGENT, "周强", seat_id="respondent-agent"),
        ],
    )
    with sessions() as session:
        ids = list(
            session.scalars(
                select(Participant.id).where(Participant.case_id == case_id).order_by(Participant.id)
            )
        )
    return case_id, ids


def test_enrol_and_load(sessions: sessionmaker[Session]) -> None:
    _, (zhang, zhou) = _case(sessions)
    photo_bytes = encode_jpeg(photo("obama.jpg"))
    result = enrol_participant(sessions, zhang, photo_bytes, analyzer())
    assert result.participant_id == zhang and result.face_px > 150
    templates = load_templates(sessions, [zhang, zhou])
    assert [t.key for t in templates] == [zhang]
    stored = templates[0].embedding
    assert distance(stored, analyzer().enrol(decode_image(photo_bytes)).embedding) < 1e-5
    assert distance(stored, embedding("obama2.jpg")) < 0.5
    assert enrolled(sessions, [zhang, zhou]) == {zhang}
    with sessions() as session:
        assert session.get(Participant, zhang).id_photo == photo_bytes  # type: ignore[union-attr]
        audit = session.scalars(select(AuditLog).where(AuditLog.action == EventType.FACE_ENROLLED)).one()
        assert audit.detail == {"participant_id": zhang, "photo_sha256": result.photo_sha256}

    # Enrolling again replaces the template.
    enrol_participant(sessions, zhang, encode_jpeg(photo("obama3.jpg")), analyzer())
    assert len(load_templates(sessions, [zhang])) == 1


def test_a_bad_photo_changes_nothing(sessions: sessionmaker[Session]) -> None:
    _, (zhang, _) = _case(sessions)
    enrol_participant(sessions, zhang, encode_jpeg(photo("obama.jpg")), analyzer())
    before = load_templates(sessions, [zhang])[0].embedding
    with pytest.raises(PhotoRejected, match="模糊") as caught:
        enrol_participant(sessions, zhang, encode_jpeg(blur(photo("biden.jpg"), 6.0)), analyzer())
    assert caught.value.code == "blurry"
    with pytest.raises(PhotoRejected, match="无法读取"):
        enrol_participant(sessions, zhang, b"GIF89a-not-really", analyzer())
    after = load_templates(sessions, [zhang])
    assert len(after) == 1 and np.array_equal(after[0].embedding, before)
    with pytest.raises(CaseError, match="no participant"):
        enrol_participant(sessions, 9999, encode_jpeg(photo("obama.jpg")), analyzer())


def test_deleting_the_case_deletes_photos_and_templates(sessions: sessionmaker[Session]) -> None:
    case_id, (zhang, zhou) = _case(sessions)
    enrol_participant(sessions, zhang, encode_jpeg(photo("obama.jpg")), analyzer())
    enrol_participant(sessions, zhou, encode_jpeg(photo("biden.jpg")), analyzer())
    with sessions() as session:
        assert len(session.scalars(select(FaceTemplateRow)).all()) == 2
    with sessions.begin() as session:
        case = session.get(Case, case_id)
        assert case is not None
        session.delete(case)
    with sessions() as session:
        assert session.scalars(select(FaceTemplateRow)).all() == []
        assert session.scalars(select(Participant)).all() == []
    assert load_templates(sessions, [zhang, zhou]) == []


def test_forgetting_a_face_on_request(sessions: sessionmaker[Session]) -> None:
    _, (zhang, _) = _case(sessions)
    enrol_participant(sessions, zhang, encode_jpeg(photo("obama.jpg")), analyzer())
    assert forget_face(sessions, zhang) == 1
    assert load_templates(sessions, [zhang]) == []
    with sessions() as session:
        assert session.get(Participant, zhang).id_photo is None  # type: ignore[union-attr]
