"""The demo's face check wiring: script fields, enrolment of the script's photos, the fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.attendance.enrolment import load_templates
from court.config import load_config
from court.core.cases import NewParticipant, create_case, create_hearing, load_hearing
from court.core.events import EventType
from court.demo.faces import FaceDemoUnavailable, prepare_face_demo
from court.demo.script import HearingScript, ScriptError, load_script
from court.live.session import HearingSession
from devices.clock import ScaledClock
from tests.court.helpers import SHORT_SCRIPT
from tests.devices.face.helpers import material


def _hearing(sessions: sessionmaker[Session], script_path: Path) -> tuple[int, HearingScript]:
    config = load_config()
    script = load_script(script_path, config.room)
    case_id = create_case(
        sessions,
        case_number=script.case_number,
        cause=script.cause,
        commission="",
        participants=[NewParticipant(p.role, p.name, p.organization, p.seat) for p in script.participants],
    )
    return create_hearing(sessions, case_id, room="第一仲裁庭"), script


def test_script_photo_fields() -> None:
    script = load_script(SHORT_SCRIPT, load_config().room)
    zhang = next(p for p in script.participants if p.name == "张伟")
    assert (zhang.photo, zhang.door_photo, zhang.door_view) == ("obama.jpg", "obama2.jpg", "")
    zhou = next(p for p in script.participants if p.name == "周强")
    assert zhou.door_view == "rotate+jpeg"


def test_a_bad_door_view_is_named(tmp_path: Path) -> None:
    text = SHORT_SCRIPT.read_text(encoding="utf-8").replace(
        'door_view = "rotate+jpeg"', 'door_view = "sepia"'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ScriptError, match=r"door_view: unknown step 'sepia'"):
        load_script(bad, load_config().room)


def test_prepare_enrols_and_plans_the_door(tmp_path: Path, sqlite_store: sessionmaker[Session]) -> None:
    hearing_id, script = _hearing(sqlite_store, SHORT_SCRIPT)
    hearing = load_hearing(sqlite_store, hearing_id)
    demo = prepare_face_demo(sqlite_store, hearing, script, SHORT_SCRIPT, material().parent, print)
    by_name = {p.name: p.id for p in hearing.participants}
    assert [pid for pid, _ in demo.doors] == [by_name["张伟"], by_name["周强"]]
    assert demo.by_hand == ()
    enrolled = {t.key for t in load_templates(sqlite_store, by_name.values())}
    assert enrolled == {by_name["张伟"], by_name["周强"], by_name["吴强"]}


def test_a_missing_photo_makes_the_face_check_unavailable(
    tmp_path: Path, sqlite_store: sessionmaker[Session]
) -> None:
    text = SHORT_SCRIPT.read_text(encoding="utf-8").replace('photo = "astronaut.png"', 'photo = "nobody.jpg"')
    script_path = tmp_path / "script.toml"
    script_path.write_text(text, encoding="utf-8")
    hearing_id, script = _hearing(sqlite_store, script_path)
    with pytest.raises(FaceDemoUnavailable, match=r"nobody\.jpg"):
        prepare_face_demo(
            sqlite_store,
            load_hearing(sqlite_store, hearing_id),
            script,
            script_path,
            material().parent,
            print,
        )


def test_the_session_logs_issues_but_never_as_presence(sqlite_store: sessionmaker[Session]) -> None:
    hearing_id, _ = _hearing(sqlite_store, SHORT_SCRIPT)
    session = HearingSession(
        sqlite_store,
        hearing_id,
        devices=None,  # type: ignore[arg-type]  # logging an issue touches no device
        clock=ScaledClock(),
        recording=None,  # type: ignore[arg-type]
        announcement=None,  # type: ignore[arg-type]
        room_name="第一仲裁庭",
    )
    event = session.record_attendance_issue(
        EventType.ATTENDANCE_UNKNOWN_FACE,
        {"similarity": 0.2, "frames": 3, "reason": "未识别的人员，未予放行"},
    )
    assert event.type == EventType.ATTENDANCE_UNKNOWN_FACE
    with pytest.raises(ValueError, match="not an attendance issue"):
        session.record_attendance_issue(EventType.ATTENDANCE_PRESENT, {"similarity": 0.9})
    # Naming the candidate does not make the issue a presence: only attendance.present/absent do.
    session.record_attendance_issue(
        EventType.ATTENDANCE_UNDECIDED,
        {"similarity": 0.55, "frames": 3, "candidate_id": 1, "candidate": "张伟", "reason": "需书记员核对"},
    )
    from sqlalchemy import select

    from court.db.models import Attendance

    with sqlite_store() as s:
        assert s.scalars(select(Attendance)).all() == []


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    from court.db.engine import close_store, open_store

    factory = open_store(f"sqlite:///{tmp_path / 'court.db'}")
    yield factory
    close_store(factory)
