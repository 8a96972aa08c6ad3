"""The hearing host on the real simulated room: a remote party checked, admitted, connected, dropped
and back; phases; the caucus; the public stream; the close locking the 笔录."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.config import Config, load_config
from court.core.cases import NewParticipant, create_case, create_hearing
from court.core.events import EventType
from court.core.lifecycle import HearingState, Phase
from court.core.roles import Role
from court.live.host import HearingHost, HostError, HostStatus, RemoteState
from devices.recording import verify_recording
from tests.court.helpers import write_test_config


@pytest.fixture
def config(tmp_path: Path, model_cache: Path) -> Config:
    loaded = load_config(write_test_config(tmp_path, model_cache, segment_seconds=1.0))
    recording = replace(loaded.recording, root=tmp_path / "recording", backup=tmp_path / "backup")
    transcription = replace(loaded.transcription, enabled=False)
    return replace(loaded, recording=recording, transcription=transcription)


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    from court.db.engine import close_store, open_store

    factory = open_store(f"sqlite:///{tmp_path / 'court.db'}")
    yield factory
    close_store(factory)


def _hearing(sessions: sessionmaker[Session], config: Config, *, livestream: bool = False) -> int:
    case_id = create_case(
        sessions,
        case_number=f"测劳人仲案字〔2026〕第{int(livestream) + 20}号",
        cause="劳动报酬争议",
        commission=config.room.commission,
        livestream_allowed=livestream,
        participants=[
            NewParticipant(Role.PRESIDING_ARBITRATOR, "王建国", seat_id="presiding"),
            NewParticipant(Role.APPLICANT, "张伟", remote=True),
            NewParticipant(Role.RESPONDENT, "李娜", seat_id="respondent"),
        ],
    )
    return create_hearing(sessions, case_id, room=config.room.name)


def _wait(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_remote_party_through_a_hearing(sqlite_sessions: sessionmaker[Session], config: Config) -> None:
    hearing_id = _hearing(sqlite_sessions, config)
    host = HearingHost(sqlite_sessions, hearing_id, config)
    applicant = next(p for p in host.hearing.participants if p.role is Role.APPLICANT)
    respondent = next(p for p in host.hearing.participants if p.role is Role.RESPONDENT)

    with pytest.raises(HostError) as refused:
        host.connect(applicant.id)
    assert refused.value.code == "not_in_lobby"
    assert host.remote_checked(applicant.id, admitted=False, similarity=None, report={"reason": "x"}) is None
    party = host.remote_checked(
        applicant.id, admitted=True, similarity=0.81, report={"reason": "ok"}, session_id=7
    )
    assert party is not None and party.state is RemoteState.LOBBY
    with pytest.raises(HostError):
        host.connect(applicant.id)  # not admitted yet
    host.admit(applicant.id, actor="clerk:test")
    host.confirm_presence(respondent.id, "当面核对身份证", actor="clerk:test")

    host.start()
    assert host.wait_started(120) is HostStatus.RUNNING, host.error
    try:
        with pytest.raises(HostError) as other_session:
            host.connect(applicant.id, session_id=8)  # a re-sent code: the face check again first
        assert other_session.value.code == "face_check_required"
        host.connect(applicant.id, session_id=7)
        frame = np.full((480, 640, 3), 90, np.uint8)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(4800) / 48000)).astype(np.float32)
        for _ in range(40):  # two seconds of the party's media
            party.camera.push(frame)
            party.microphone.push(tone[:1920], 48000)
            time.sleep(0.05)
        host.open()
        host.change_phase(Phase.MEDIATION)
        host.start_caucus("respondent", actor="arbitrator:test")
        assert not host.hears(applicant.id)
        time.sleep(1.5)
        host.end_caucus(actor="arbitrator:test")
        assert host.hears(applicant.id)
        host.disconnected(applicant.id, "网络中断 (network lost)")
        assert party.state is RemoteState.LEFT
        time.sleep(3.0)  # the recording notes the gap
        host.connect(applicant.id)
        for _ in range(30):
            party.camera.push(frame)
            party.microphone.push(tone[:1920], 48000)
            time.sleep(0.05)
        with pytest.raises(HostError) as not_approved:
            host.set_public(True, "", actor="clerk:test")
        assert not_approved.value.code == "not_approved"
        host.close()
    finally:
        host.shutdown("test end")

    events = host.timeline.events()
    types = [e.type for e in events]
    order = [
        types.index(t)
        for t in (EventType.RECORDING_STARTED, EventType.ATTENDANCE_PRESENT, EventType.RULES_STARTED)
    ]
    assert order == sorted(order)
    present = {
        e.payload["participant_id"]: e.payload for e in events if e.type == EventType.ATTENDANCE_PRESENT
    }
    assert present[applicant.id]["method"] == "face" and present[applicant.id]["similarity"] == 0.81
    assert present[respondent.id]["method"] == "clerk"
    caucus = [e for e in events if e.type.startswith("caucus.")]
    assert [e.type for e in caucus] == [EventType.CAUCUS_STARTED, EventType.CAUCUS_ENDED]
    held = {
        e.payload["source"]
        for e in events
        if e.type == EventType.RECORDING_INTERRUPTED and "caucus" in str(e.payload.get("reason", ""))
    }
    assert {"mic-respondent", f"remote-{applicant.id}"} <= held
    for segment in (e.payload for e in events if e.type == EventType.RECORDING_SEGMENT):
        if segment["source"] == "mic-respondent":  # no sound of the caucus was recorded
            assert segment["end"] <= caucus[0].t + 0.5 or segment["start"] >= caucus[1].t - 0.5
    segments = {e.payload["source"] for e in events if e.type == EventType.RECORDING_SEGMENT}
    assert {f"remote-{applicant.id}", f"remote-{applicant.id}-cam"} <= segments
    interrupted = [e for e in events if e.type == EventType.RECORDING_INTERRUPTED]
    assert any(str(e.payload.get("source", "")).startswith(f"remote-{applicant.id}") for e in interrupted)
    assert EventType.BILU_LOCKED in types
    assert host.lifecycle.state in (HearingState.CLOSED, HearingState.SIGNING)
    assert verify_recording(host.config.recording.root).ok


def test_lifecycle_refusals_are_host_errors(sqlite_sessions: sessionmaker[Session], config: Config) -> None:
    host = HearingHost(sqlite_sessions, _hearing(sqlite_sessions, config), config)
    with pytest.raises(HostError) as not_running:
        host.open()
    assert not_running.value.code == "not_running"
    host.start()
    assert host.wait_started(120) is HostStatus.RUNNING, host.error
    try:
        with pytest.raises(HostError) as again:
            host.start()
        assert again.value.code == "already_started"
        with pytest.raises(HostError) as early:
            host.change_phase(Phase.DEBATE)  # not opened yet
        assert early.value.code == "invalid_transition"
    finally:
        host.shutdown("test end")


def test_a_restarted_server_carries_on_with_the_hearing(
    sqlite_sessions: sessionmaker[Session], config: Config
) -> None:
    hearing_id = _hearing(sqlite_sessions, config)
    first = HearingHost(sqlite_sessions, hearing_id, config)
    first.start()
    assert first.wait_started(120) is HostStatus.RUNNING, first.error
    first.open()
    first.shutdown("进程退出 (server stopped)")

    second = HearingHost(sqlite_sessions, hearing_id, config)  # a new server process
    assert second.lifecycle.state is HearingState.IN_SESSION
    second.start()
    assert second.wait_started(120) is HostStatus.RUNNING, second.error
    try:
        second.change_phase(Phase.INVESTIGATION)
        time.sleep(1.5)
        second.close()
    finally:
        second.shutdown("test end")
    types = [e.type for e in second.timeline.events()]
    assert types.count(EventType.RECORDING_STARTED) >= 2
    assert EventType.PROCESS_RESTARTED in types and types.index(EventType.PROCESS_RESTARTED) > types.index(
        EventType.HEARING_OPENED
    )
    assert verify_recording(second.config.recording.root).ok


def test_the_door_terminal_checks_the_in_room_parties_at_the_start(
    sqlite_sessions: sessionmaker[Session], config: Config, model_cache: Path
) -> None:
    from court.attendance.enrolment import enrol_participant
    from court.demo.face_material import encode_jpeg, ensure_material, material_folder, portrait
    from court.live.assembly import AssembledHearing, assemble_hearing
    from devices.face import shared_analyzer

    folder = ensure_material(material_folder(model_cache), ["obama.jpg", "obama2.jpg", "biden.jpg"])
    hearing_id = _hearing(sqlite_sessions, config)
    host_probe = HearingHost(sqlite_sessions, hearing_id, config)
    respondent = next(p for p in host_probe.hearing.participants if p.role is Role.RESPONDENT)
    enrol_participant(
        sqlite_sessions, respondent.id, encode_jpeg(portrait(folder, "obama.jpg")), shared_analyzer()
    )

    def with_visitors(*args: object, **kwargs: object) -> AssembledHearing:
        assembled = assemble_hearing(*args, **kwargs)  # type: ignore[arg-type]
        assert assembled.simulated is not None
        door = assembled.simulated.face_terminal
        now = assembled.session.clock.now()
        door.arrive(portrait(folder, "biden.jpg", zoom=2.1), at_t=now + 1.0, duration=4.0)  # a stranger
        door.arrive(portrait(folder, "obama2.jpg", zoom=2.1), at_t=now + 6.5, duration=8.0)
        return assembled

    host = HearingHost(sqlite_sessions, hearing_id, config, assemble=with_visitors)
    host.start()
    assert host.wait_started(180) is HostStatus.RUNNING, host.error
    host.shutdown("test end")
    events = host.timeline.events()
    types = [e.type for e in events]
    assert EventType.ATTENDANCE_DOOR_OPEN in types
    present = [e.payload for e in events if e.type == EventType.ATTENDANCE_PRESENT]
    assert [(p["participant_id"], p["method"]) for p in present] == [(respondent.id, "face")]
    assert (
        types.index(EventType.ATTENDANCE_PRESENT)
        < types.index(EventType.ATTENDANCE_CHECKED)
        < types.index(EventType.RULES_STARTED)
    )
    assert not any(e.type == EventType.ATTENDANCE_PRESENT and e.payload.get("name") == "张伟" for e in events)


def test_a_failed_start_can_be_run_again_in_full(
    sqlite_sessions: sessionmaker[Session], config: Config
) -> None:
    from court.live.assembly import AssembledHearing, assemble_hearing

    attempts: list[AssembledHearing] = []

    def first_without_cameras(*args: object, **kwargs: object) -> AssembledHearing:
        assembled = assemble_hearing(*args, **kwargs)  # type: ignore[arg-type]
        if not attempts:
            assert assembled.simulated is not None
            for camera_id in assembled.simulated.cameras:
                assembled.simulated.camera(camera_id).break_("断电 no power")
        attempts.append(assembled)
        return assembled

    hearing_id = _hearing(sqlite_sessions, config)
    host = HearingHost(sqlite_sessions, hearing_id, config, assemble=first_without_cameras)
    host.start()
    assert host.wait_started(120) is HostStatus.FAILED
    assert "no camera" in host.error
    assert host.lifecycle.state is HearingState.PREPARING
    host.start()  # the power is back: the clerk presses the button again
    assert host.wait_started(120) is HostStatus.RUNNING, host.error
    try:
        host.open()  # attendance and discipline were done by the second start, in order
    finally:
        host.shutdown("test end")
    types = [e.type for e in host.timeline.events()]
    assert types.count(EventType.HEARING_PREPARING) == 2
    retry = types.index(EventType.STARTUP_RETRIED)
    assert (
        types.index(EventType.STARTUP_FAILED)
        < retry
        < types.index(EventType.ATTENDANCE_CHECKED)
        < types.index(EventType.RULES_PLAYED)
    )
    assert (
        "override_reason"
        not in next(e for e in host.timeline.events() if e.type == EventType.HEARING_OPENED).payload
    )
