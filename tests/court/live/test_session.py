"""The session controller in-process: faults during the one-click start, and the Art. 41 order."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.attendance.arrivals import ClerkConfirmation
from court.config import Config, load_config
from court.core.cases import NewParticipant, create_case, create_hearing
from court.core.events import EventType
from court.core.lifecycle import HearingState, InvalidTransition, Phase
from court.core.roles import Role
from court.live.assembly import assemble_session, build_announcement
from court.live.room import SimulationInputs
from court.live.session import HearingSession, StartupFailed
from devices.clock import ScaledClock
from devices.recording import verify_recording
from devices.simulated.room import SimulatedRoom
from tests.court.helpers import write_test_config


@pytest.fixture
def config(tmp_path: Path, model_cache: Path) -> Config:
    loaded = load_config(write_test_config(tmp_path, model_cache, segment_seconds=1.0))
    recording = replace(loaded.recording, root=tmp_path / "recording", backup=tmp_path / "backup")
    # The start's order and faults are under test here, not the live transcript.
    transcription = replace(loaded.transcription, enabled=False)
    return replace(loaded, recording=recording, transcription=transcription)


def _session(
    sessions: sessionmaker[Session], config: Config
) -> tuple[HearingSession, SimulatedRoom, list[int]]:
    case_id = create_case(
        sessions,
        case_number="测劳人仲案字〔2026〕第9号",
        cause="工伤保险待遇争议",
        commission=config.room.commission,
        participants=[
            NewParticipant(Role.PRESIDING_ARBITRATOR, "王建国", seat_id="presiding"),
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.RESPONDENT, "李娜", seat_id="respondent"),
        ],
    )
    hearing_id = create_hearing(sessions, case_id, room=config.room.name)
    assembled = assemble_session(
        sessions,
        hearing_id,
        config,
        ScaledClock(speed=8),
        build_announcement(config),
        simulation=SimulationInputs(names={"applicant": "张伟"}),
    )
    session, room = assembled.session, assembled.simulated
    assert room is not None
    parties = [p.id for p in session.hearing.participants if p.role.is_party_side]
    return session, room, parties


def test_broken_camera_is_reported_and_the_rest_records(
    sqlite_sessions: sessionmaker[Session], config: Config
) -> None:
    session, room, parties = _session(sqlite_sessions, config)
    room.camera("cam-respondent").break_("网线断开 cable unplugged")
    report = session.one_click_start(ClerkConfirmation(parties[:1]))
    try:
        assert any("cam-respondent" in fault for fault in report.faults)
        events = session.timeline.events()
        fault = next(e for e in events if e.type == EventType.DEVICE_FAULT)
        assert fault.payload["device"] == "cam-respondent" and "cable unplugged" in fault.payload["detail"]
        assert report.absent == ("被申请人 李娜",)
        session.open()
        session.clock.sleep_until(session.clock.now() + 3)
        session.close()
    finally:
        session.shutdown("test end")
    types = [e.type for e in session.timeline.events()]
    assert EventType.RECORDING_INTERRUPTED in types
    assert verify_recording(config.recording.root).ok
    assert session.state is HearingState.CLOSED


def test_no_working_camera_fails_loudly(sqlite_sessions: sessionmaker[Session], config: Config) -> None:
    session, room, parties = _session(sqlite_sessions, config)
    for camera_id in room.cameras:
        room.camera(camera_id).break_("断电 no power")
    try:
        with pytest.raises(StartupFailed, match="no camera is working"):
            session.one_click_start(ClerkConfirmation(parties))
    finally:
        session.shutdown("test end")
    failed = [e for e in session.timeline.events() if e.type == EventType.STARTUP_FAILED]
    assert failed and failed[0].payload["step"] == "device_check"
    with pytest.raises(InvalidTransition):
        session.open()


def test_unwritable_recording_store_fails_loudly(
    sqlite_sessions: sessionmaker[Session], config: Config, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the recording folder should be", encoding="utf-8")
    config = replace(config, recording=replace(config.recording, root=blocker / "recording"))
    session, _, parties = _session(sqlite_sessions, config)
    try:
        with pytest.raises(StartupFailed, match="recording could not start"):
            session.one_click_start(ClerkConfirmation(parties))
    finally:
        session.shutdown("test end")
    assert [e.payload["step"] for e in session.timeline.events() if e.type == EventType.STARTUP_FAILED] == [
        "recording"
    ]


def test_state_survives_a_new_controller(sqlite_sessions: sessionmaker[Session], config: Config) -> None:
    session, _, parties = _session(sqlite_sessions, config)
    try:
        session.one_click_start(ClerkConfirmation(parties))
        session.open()
        session.change_phase(Phase.EVIDENCE)
        session.recess("当事人申请休庭")
    finally:
        session.shutdown("test end")
    from court.core.lifecycle import Lifecycle

    replayed = Lifecycle.replay((e.type, e.payload) for e in session.timeline.events())
    assert (replayed.state, replayed.phase) == (HearingState.RECESS, Phase.EVIDENCE)
