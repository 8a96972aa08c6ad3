"""The cases a fresh server starts with on the embedded default, so a clerk can press the button at
once: the demo hearing's case twice — once approved for a public livestream, once not — with the
applicant joining from a phone (remote) and the parties' ID photos enrolled from packaged photos."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.config import Config
from court.core.cases import NewParticipant, case_exists, create_case, create_hearing
from court.core.roles import Role
from court.db.models import Hearing
from court.demo.script import HearingScript, load_script

log = logging.getLogger(__name__)

REMOTE_ROLES = (Role.APPLICANT,)
"""Who joins from a phone in the seeded cases."""


def has_hearings(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return session.scalar(select(Hearing.id).limit(1)) is not None


def seed_cases(
    sessions: sessionmaker[Session],
    config: Config,
    *,
    script_path: Path | None = None,
    enrol_photos: bool = True,
    progress: Callable[[str], None] = print,
) -> list[int]:
    """Create the two demo hearings; returns their ids (livestream approved first)."""
    script = load_script(script_path, config.room)
    hearings = []
    for livestream, suffix in ((True, "（公开）"), (False, "")):
        number = script.case_number + suffix
        n = 1
        while case_exists(sessions, number):
            n += 1
            number = f"{script.case_number}{suffix}（{n}）"
        case_id = create_case(
            sessions,
            case_number=number,
            cause=script.cause,
            commission=config.room.commission,
            livestream_allowed=livestream,
            participants=[
                NewParticipant(
                    p.role,
                    p.name,
                    organization=p.organization,
                    seat_id=None if p.role in REMOTE_ROLES else p.seat,
                    remote=p.role in REMOTE_ROLES,
                )
                for p in script.participants
            ],
        )
        hearing_id = create_hearing(sessions, case_id, room=config.room.name)
        hearings.append(hearing_id)
        progress(f"已建立案件 {number}（庭审 {hearing_id}，{'准予' if livestream else '不'}公开直播）")
        if enrol_photos:
            _enrol(sessions, hearing_id, script, config, progress)
    return hearings


def _enrol(
    sessions: sessionmaker[Session],
    hearing_id: int,
    script: HearingScript,
    config: Config,
    progress: Callable[[str], None],
) -> None:
    try:
        from court.attendance.enrolment import enrol_participant
        from court.core.cases import load_hearing
        from court.demo.face_material import encode_jpeg, ensure_material, material_folder, portrait
        from devices.face import shared_analyzer
    except ImportError as exc:  # without the face packages the clerk confirms attendance by hand
        progress(f"人脸核验不可用 (face packages missing): {exc}")
        return
    hearing = load_hearing(sessions, hearing_id)
    folder = material_folder(config.models.cache_dir)
    wanted = sorted({p.photo for p in script.participants if p.photo})
    try:
        ensure_material(folder, wanted)
        analyzer = shared_analyzer()
        for spec in script.participants:
            if not spec.photo:
                continue
            participant = next(p for p in hearing.participants if p.name == spec.name and p.role == spec.role)
            photo = encode_jpeg(portrait(folder, spec.photo, zoom=2.4))
            enrol_participant(sessions, participant.id, photo, analyzer, actor="seed")
    except Exception as exc:
        progress(f"证件照登记失败，书记员可人工核验 (ID photos not enrolled): {exc}")
        log.warning("seeding photos failed: %s", exc)
