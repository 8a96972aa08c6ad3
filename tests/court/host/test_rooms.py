"""The host as one room of several: its start claims the hearing; another room's start is refused,
naming the room, and a room that cannot see the recording refuses to carry the hearing on after the
first room died (no second recording, no second timeline); the institute view lists the rooms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.config import Config, RoomsConfig, load_config
from court.core import claims
from court.core.claims import ClaimRefused
from court.core.events import EventType
from court.core.timeline import Timeline, read_events
from court.host.host import HearingHost, HostStatus
from court.host.institute import overview
from court.host.rooms import RoomNode
from devices.clock import ScaledClock
from tests.court.helpers import write_test_config
from tests.court.host.test_host import SPEED, _hearing

ROOMS = RoomsConfig(lease_seconds=10, heartbeat_seconds=2)


@pytest.fixture
def config(tmp_path: Path, model_cache: Path) -> Config:
    loaded = load_config(write_test_config(tmp_path, model_cache))
    recording = replace(loaded.recording, root=tmp_path / "room-b-disk", backup=None)
    return replace(loaded, recording=recording, rooms=ROOMS)


def _room_a_ran_it(sessions: sessionmaker[Session], hearing_id: int) -> claims.Claim:
    """Room A claimed the hearing, recorded a segment on its own disk, and died a lease ago."""
    long_ago = lambda: datetime.now(UTC) - timedelta(seconds=60)  # noqa: E731
    claim, _ = claims.claim_hearing(
        sessions, hearing_id, room="第一仲裁庭", node="a", lease_seconds=10, now=long_ago
    )
    timeline = Timeline(sessions, hearing_id, ScaledClock(origin=datetime.now(UTC)))
    timeline.claim = claim
    timeline.append(EventType.PROCESS_CLAIMED, {"room": "第一仲裁庭", "generation": 1})
    timeline.append(EventType.HEARING_PREPARING, t=1.0)
    timeline.append(
        EventType.RECORDING_SEGMENT,
        {
            "manifest_seq": 1,
            "source": "cam-wide",
            "index": 1,
            "file": "cam-wide/cam-wide-000001.mp4",
            "start": 0.0,
            "end": 2.0,
            "sha256": "a" * 64,
            "chain": "b" * 64,
            "status": "ok",
        },
        t=2.0,
    )
    return claim


def test_a_room_that_cannot_see_the_recording_refuses_to_carry_on(
    sqlite_sessions: sessionmaker[Session], config: Config
) -> None:
    hearing_id = _hearing(sqlite_sessions, config)
    _room_a_ran_it(sqlite_sessions, hearing_id)
    before = list(read_events(sqlite_sessions, hearing_id))
    room_b = RoomNode(sqlite_sessions, "第二仲裁庭", ROOMS, url="http://b:8000")
    room_b.register()
    host = HearingHost(sqlite_sessions, hearing_id, config, room=room_b)
    with pytest.raises(ClaimRefused, match="第一仲裁庭") as refused:
        host.start()
    assert refused.value.code == claims.STORE_NOT_SHARED and "录像存储未共享" in refused.value.message
    assert host.status is HostStatus.IDLE
    assert list(read_events(sqlite_sessions, hearing_id)) == before
    held = claims.holder(sqlite_sessions, hearing_id)
    assert held is not None and (held.room, held.generation) == ("第一仲裁庭", 1)
    # The console on room B says where the hearing is and that its node is down.
    where = host.snapshot()["room"]
    assert (where["room"], where["here"], where["down"]) == ("第一仲裁庭", False, True)
    # The institute: room B idle, room A down with the hearing it held.
    view = {room["room"]: room for room in overview(sqlite_sessions, ROOMS.lease_seconds)}
    assert view["第二仲裁庭"]["status"] == "idle"
    assert view["第一仲裁庭"]["status"] == "down" and view["第一仲裁庭"]["hearings"][0]["interrupted"]


def test_a_room_holding_the_hearing_refuses_another_and_releases_it_on_stop(
    sqlite_sessions: sessionmaker[Session], config: Config
) -> None:
    hearing_id = _hearing(sqlite_sessions, config)
    room_a = RoomNode(sqlite_sessions, "第一仲裁庭", ROOMS, url="http://a:8000")
    room_a.register()
    claim, _ = room_a.claim(hearing_id)
    room_b = RoomNode(sqlite_sessions, "第二仲裁庭", ROOMS, url="http://b:8000")
    room_b.register()
    host = HearingHost(sqlite_sessions, hearing_id, config, room=room_b)
    with pytest.raises(ClaimRefused, match="第一仲裁庭") as refused:
        host.start()
    assert refused.value.code == claims.HELD_ELSEWHERE
    view = {room["room"]: room for room in overview(sqlite_sessions, ROOMS.lease_seconds)}
    assert view["第一仲裁庭"]["status"] == "hearing"
    assert view["第一仲裁庭"]["hearings"][0]["console"] == f"http://a:8000/console?hearing={hearing_id}"
    room_a.stop()  # a clean stop lets the hearing go at once
    assert claims.holder(sqlite_sessions, hearing_id).released_at is not None  # type: ignore[union-attr]
    assert not claims.release(sqlite_sessions, claim)
    view = {room["room"]: room for room in overview(sqlite_sessions, ROOMS.lease_seconds)}
    assert view["第一仲裁庭"]["status"] == "stopped"


def test_a_room_that_lost_the_hearing_stops_and_writes_nothing_more(
    sqlite_sessions: sessionmaker[Session], config: Config
) -> None:
    """Room A runs the hearing, stalls past its lease, room B takes it over; A's next beat finds it
    lost: A stops, and nothing it writes reaches the timeline."""
    hearing_id = _hearing(sqlite_sessions, config)
    room_a = RoomNode(sqlite_sessions, "第一仲裁庭", ROOMS)
    room_a.register()
    host = HearingHost(
        sqlite_sessions,
        hearing_id,
        replace(config, transcription=replace(config.transcription, enabled=False)),
        clock=ScaledClock(SPEED),
        room=room_a,
    )
    host.start()
    try:
        assert host.wait_started(120) is HostStatus.RUNNING, host.error
        host.open()
        later = lambda: datetime.now(UTC) + timedelta(seconds=ROOMS.lease_seconds + 1)  # noqa: E731
        taken, previous = claims.claim_hearing(
            sqlite_sessions, hearing_id, room="第二仲裁庭", node="b", lease_seconds=30, now=later
        )
        assert previous is not None and previous.room == "第一仲裁庭" and taken.generation == 2
        with pytest.raises(ClaimRefused, match="第二仲裁庭"):
            host.recess("休庭")
        room_a.beat()
        assert host.status is HostStatus.FAILED and "其他仲裁庭" in host.error
    finally:
        host.shutdown("test end")
    events = list(read_events(sqlite_sessions, hearing_id))
    assert all(e.fence == 1 for e in events if e.seq > 0 and e.fence is not None)
    assert not any(e.type == EventType.HEARING_RECESSED for e in events)
    held = claims.holder(sqlite_sessions, hearing_id)
    assert held is not None and (held.room, held.generation, held.released_at) == ("第二仲裁庭", 2, None)
