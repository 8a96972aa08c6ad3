"""The hearing host on the real simulated room: a remote party checked, admitted, connected, dropped
and back; phases; the caucus; the public stream; the close locking the 笔录.

The hosts run on an injected hearing clock; the tests wait for what the timeline records (with a
timeout) or for hearing time on that clock, never for a fixed stretch of wall time."""

from __future__ import annotations

import threading
from collections.abc import Callable
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
from court.core.timeline import Timeline, TimelineEvent
from court.host.errors import HostError
from court.host.host import HearingHost, HostStatus
from court.host.lobby import RemoteParty, RemoteState
from devices.clock import ScaledClock
from devices.recording import verify_recording
from tests.court.helpers import write_test_config


@pytest.fixture
def config(tmp_path: Path, model_cache: Path) -> Config:
    loaded = load_config(write_test_config(tmp_path, model_cache, segment_seconds=1.0))
    recording = replace(loaded.recording, root=tmp_path / "recording", backup=tmp_path / "backup")
    transcription = replace(loaded.transcription, enabled=False)
    return replace(loaded, recording=recording, transcription=transcription)


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


SPEED = 2.0
"""The simulated room's hearing clock runs this many times faster than real time."""


class _Watch:
    """Waits, with a timeout, until the timeline holds an event: woken by each append, not polling."""

    def __init__(self, timeline: Timeline) -> None:
        self._cond = threading.Condition()
        self._seen: list[TimelineEvent] = []
        timeline.subscribe(self._heard)

    def _heard(self, event: TimelineEvent) -> None:
        with self._cond:
            self._seen.append(event)
            self._cond.notify_all()

    def has(self, predicate: Callable[[TimelineEvent], bool]) -> bool:
        with self._cond:
            return any(predicate(e) for e in self._seen)

    def in_gap(self, source: str) -> bool:
        """Whether the recording's last word on ``source`` is an interruption."""
        with self._cond:
            said = [e for e in self._seen if e.payload.get("source") == source]
        said = [e for e in said if e.type in (EventType.RECORDING_INTERRUPTED, EventType.RECORDING_RESUMED)]
        return bool(said) and said[-1].type == EventType.RECORDING_INTERRUPTED

    def until(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        with self._cond:
            if not self._cond.wait_for(condition, timeout):
                raise AssertionError(f"timed out waiting for {what}")


def _segment(source: str) -> Callable[[TimelineEvent], bool]:
    return lambda e: e.type == EventType.RECORDING_SEGMENT and e.payload.get("source") == source


def _caucus_hold(source: str) -> Callable[[TimelineEvent], bool]:
    return lambda e: (
        e.type == EventType.RECORDING_INTERRUPTED
        and e.payload.get("source") == source
        and "caucus" in str(e.payload.get("reason", ""))
    )


def _feed_until(party: RemoteParty, clock: ScaledClock, done: Callable[[], bool], what: str) -> None:
    """Push the party's camera and microphone at 20 pushes a second of hearing time until ``done``."""
    frame = np.full((480, 640, 3), 90, np.uint8)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(1920) / 48000)).astype(np.float32)
    for _ in range(60 * 20):  # at most a minute of hearing time
        party.camera.push(frame)
        party.microphone.push(tone, 48000)
        if done():
            return
        clock.sleep_until(clock.now() + 0.05)
    raise AssertionError(f"timed out feeding the party's media until {what}")


def test_remote_party_through_a_hearing(sqlite_sessions: sessionmaker[Session], config: Config) -> None:
    hearing_id = _hearing(sqlite_sessions, config)
    clock = ScaledClock(SPEED)
    host = HearingHost(sqlite_sessions, hearing_id, config, clock=clock)
    watch = _Watch(host.timeline)
    applicant = next(p for p in host.hearing.participants if p.role is Role.APPLICANT)
    respondent = next(p for p in host.hearing.participants if p.role is Role.RESPONDENT)
    audio, video = f"remote-{applicant.id}", f"remote-{applicant.id}-cam"

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
        _feed_until(
            party,
            clock,
            lambda: watch.has(_segment(audio)) and watch.has(_segment(video)),
            "a segment of each of the party's sources",
        )
        host.open()
        host.change_phase(Phase.MEDIATION)
        host.start_caucus("respondent", actor="arbitrator:test")
        assert not host.hears(applicant.id)
        watch.until(
            lambda: watch.has(_caucus_hold("mic-respondent")) and watch.has(_caucus_hold(audio)),
            "the caucus hold on the room's and the party's microphones",
        )
        clock.sleep_until(clock.now() + 1.5)  # the caucus talks a while
        host.end_caucus(actor="arbitrator:test")
        assert host.hears(applicant.id)
        host.disconnected(applicant.id, "网络中断 (network lost)")
        assert host.lobby.state(applicant.id) is RemoteState.LEFT
        # The gap is on the record: from the drop, or already from the pause in pushing before it.
        watch.until(lambda: watch.in_gap(video), "the gap in the recording")
        host.connect(applicant.id)
        _feed_until(party, clock, lambda: not watch.in_gap(video), "the recording takes the party back")
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
    caucus = [e for e in events if e.type in (EventType.CAUCUS_STARTED, EventType.CAUCUS_ENDED)]
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
    clock = ScaledClock(SPEED)  # the restarted server's clock goes on from the same origin
    first = HearingHost(sqlite_sessions, hearing_id, config, clock=clock)
    first.start()
    assert first.wait_started(120) is HostStatus.RUNNING, first.error
    first.open()
    first.shutdown("进程退出 (server stopped)")

    second = HearingHost(sqlite_sessions, hearing_id, config, clock=clock)  # a new server process
    watch = _Watch(second.timeline)
    assert second.lifecycle.state is HearingState.IN_SESSION
    second.start()
    assert second.wait_started(120) is HostStatus.RUNNING, second.error
    try:
        phase = second.change_phase(Phase.INVESTIGATION)
        watch.until(
            lambda: watch.has(lambda e: e.type == EventType.RECORDING_SEGMENT and e.seq > phase.seq),
            "a segment recorded after the restart",
        )
        second.close()
    finally:
        second.shutdown("test end")
    types = [e.type for e in second.timeline.events()]
    assert types.count(EventType.RECORDING_STARTED) >= 2
    assert EventType.PROCESS_RESTARTED in types and types.index(EventType.PROCESS_RESTARTED) > types.index(
        EventType.HEARING_OPENED
    )
    # The server takes the demo's way back (court.live.recovery): the outage on the recovered event.
    recovered = next(e for e in second.timeline.events() if e.type == EventType.RECORDING_RECOVERED)
    assert recovered.payload["outage_seconds"] >= 0 and "interrupted_at" in recovered.payload
    assert verify_recording(second.config.recording.root).ok


def test_the_door_terminal_checks_the_in_room_parties_at_the_start(
    sqlite_sessions: sessionmaker[Session], config: Config, model_cache: Path
) -> None:
    from court.attendance.enrolment import enrol_participant
    from court.demo.face_material import encode_jpeg, portrait
    from court.live.assembly import AssembledHearing, assemble_hearing
    from devices.face import shared_analyzer
    from tests.devices.face.helpers import require_material

    folder = require_material(["obama.jpg", "obama2.jpg", "biden.jpg"])
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
