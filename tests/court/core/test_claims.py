"""One room per running hearing, on SQLite and PostgreSQL: the claim, its lease, the fencing token on
every append, the rooms' registration, and the migration that brings the tables."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from court.config import RoomsConfig
from court.core import claims
from court.core.cases import NewParticipant, create_case, create_hearing
from court.core.claims import ClaimRefused, claim_hearing
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import Timeline, read_events
from court.db.models import Event
from court.host.rooms import RoomBusy, RoomNode, dead_here, rooms
from devices.clock import ScaledClock

ORIGIN = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def _hearing(sessions: sessionmaker[Session], number: int = 1) -> int:
    case_id = create_case(
        sessions,
        case_number=f"示劳人仲案字〔2026〕第{number}号",
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant")],
    )
    return create_hearing(sessions, case_id, room="第一仲裁庭")


def _at(seconds: float) -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + timedelta(seconds=seconds)


def _claim(sessions: sessionmaker[Session], hearing_id: int, room: str, **kw: object) -> claims.Claim:
    claim, _ = claim_hearing(
        sessions,
        hearing_id,
        room=room,
        node=f"{room}-node",
        lease_seconds=10,
        **kw,  # type: ignore[arg-type]
    )
    return claim


def test_one_room_holds_a_hearing_and_a_stale_writer_cannot_append(sessions: sessionmaker[Session]) -> None:
    hearing_id = _hearing(sessions)
    a = _claim(sessions, hearing_id, "第一仲裁庭")
    assert a.generation == 1
    writer_a = Timeline(sessions, hearing_id, ScaledClock(origin=ORIGIN))
    writer_a.claim = a
    assert writer_a.append(EventType.HEARING_PREPARING, t=0.0).fence == 1

    with pytest.raises(ClaimRefused, match="第一仲裁庭") as refused:
        _claim(sessions, hearing_id, "第二仲裁庭")
    assert refused.value.code == claims.HELD_ELSEWHERE and refused.value.room == "第一仲裁庭"
    # Another node's request without a claim is refused too while the room holds the hearing.
    with pytest.raises(ClaimRefused, match="第一仲裁庭"):
        Timeline(sessions, hearing_id, ScaledClock(origin=ORIGIN)).append(EventType.HEARING_CLOSED, t=1.0)

    # Room A stops beating; once its lease has lapsed, room B takes over under a new generation.
    b, previous = claim_hearing(
        sessions, hearing_id, room="第二仲裁庭", node="b", lease_seconds=10, now=_at(11)
    )
    assert (b.generation, previous and previous.room) == (2, "第一仲裁庭")
    writer_b = Timeline(sessions, hearing_id, ScaledClock(origin=ORIGIN))
    writer_b.claim = b
    writer_b.append(
        EventType.PROCESS_CLAIMED, {"room": b.room, "generation": 2, "previous_room": "第一仲裁庭"}
    )

    # A wakes up: its next append is refused and nothing of it is stored.
    with pytest.raises(ClaimRefused, match="第二仲裁庭") as lost:
        writer_a.append(EventType.HEARING_CLOSED, t=2.0)
    assert lost.value.code == claims.LEASE_LOST
    events = list(read_events(sessions, hearing_id))
    assert [(e.type, e.fence) for e in events] == [
        (EventType.HEARING_PREPARING, 1),
        (EventType.PROCESS_CLAIMED, 2),
    ]
    with sessions() as session:
        assert session.scalar(select(Event.fence).where(Event.seq == 2)) == 2

    # Released (closed): anyone may write again (signatures from any room); the last holder still can.
    assert claims.release(sessions, b)
    assert not claims.release(sessions, a)
    Timeline(sessions, hearing_id, ScaledClock(origin=ORIGIN)).append(EventType.HEARING_SIGNING, t=3.0)
    assert writer_b.append(EventType.HEARING_ARCHIVED, t=4.0).fence == 2
    with pytest.raises(ClaimRefused):
        writer_a.append(EventType.HEARING_ARCHIVED, t=5.0)


def test_the_same_node_claims_again_and_renewal_keeps_the_lease(sessions: sessionmaker[Session]) -> None:
    hearing_id = _hearing(sessions)
    first = _claim(sessions, hearing_id, "第一仲裁庭")
    assert _claim(sessions, hearing_id, "第一仲裁庭") == first
    # Renewed at +8 s: at +11 s (past the first expiry) it is still held.
    assert claims.renew(sessions, "第一仲裁庭-node", 10, now=datetime.now(UTC) + timedelta(seconds=8)) == {
        hearing_id
    }
    with pytest.raises(ClaimRefused):
        claim_hearing(sessions, hearing_id, room="第二仲裁庭", node="b", lease_seconds=10, now=_at(11))


def test_a_takeover_can_be_refused(sessions: sessionmaker[Session]) -> None:
    hearing_id = _hearing(sessions)
    _claim(sessions, hearing_id, "第一仲裁庭")

    def not_here(previous: claims.Holder) -> None:
        raise ClaimRefused(claims.STORE_NOT_SHARED, f"录像在「{previous.room}」", previous.room)

    with pytest.raises(ClaimRefused, match="录像在「第一仲裁庭」"):
        claim_hearing(
            sessions,
            hearing_id,
            room="第二仲裁庭",
            node="b",
            lease_seconds=10,
            now=_at(11),
            may_take_over=not_here,
        )
    held = claims.holder(sessions, hearing_id)
    assert held is not None and (held.room, held.generation) == ("第一仲裁庭", 1)


@pytest.mark.parametrize("later", [0, 11], ids=["first claim", "takeover after expiry"])
def test_two_rooms_starting_at_once_one_wins(sessions: sessionmaker[Session], later: float) -> None:
    hearing_id = _hearing(sessions)
    if later:
        _claim(sessions, hearing_id, "第九仲裁庭")
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt(room: str) -> None:
        barrier.wait()
        try:
            _claim(sessions, hearing_id, room, now=_at(later))
            outcomes.append("won")
        except ClaimRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(f"第{i}仲裁庭",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused"] * 3 + ["won"]
    held = claims.holder(sessions, hearing_id)
    assert held is not None and held.generation == (2 if later else 1)


def test_a_room_is_served_by_one_process(sessions: sessionmaker[Session]) -> None:
    settings = RoomsConfig(lease_seconds=1.0, heartbeat_seconds=0.2)
    first = RoomNode(sessions, "第一仲裁庭", settings, url="http://a:8000")
    first.register()
    first.start_heartbeat()
    try:
        with pytest.raises(RoomBusy, match="第一仲裁庭"):
            RoomNode(sessions, "第一仲裁庭", settings).register(patience=1.5, say=lambda _: None)
    finally:
        first._stop.set()  # stops beating as if killed: no clean stop
    said: list[str] = []
    second = RoomNode(sessions, "第一仲裁庭", settings, url="http://b:8000")
    second.register(say=said.append)
    assert said and "等待" in said[0]
    (info,) = rooms(sessions)
    assert (info.node, info.url, info.stopped_at) == (second.node, "http://b:8000", None)
    second.stop()
    assert rooms(sessions)[0].stopped_at is not None


def test_migration_adds_and_removes_the_tables(store_url: str, tmp_path: Path) -> None:
    """A store from before (0005) with a timeline: after the upgrade its events have no fence and
    rooms can claim; the downgrade removes the tables and keeps the events."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from court.db.engine import MIGRATIONS, close_store, create_store_engine, open_store

    engine = create_store_engine(store_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))

    def to(revision: str, step: Callable[[AlembicConfig, str], None]) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    to("0005", command.upgrade)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO cases (id, case_number, cause, commission, livestream_allowed, livestream_note,"
                " created_at) VALUES (1, '示劳人仲案字〔2026〕第1号', '劳动报酬争议', '', false, '', :now)"
            ),
            {"now": ORIGIN},
        )
        connection.execute(
            text(
                "INSERT INTO hearings (id, case_id, kind, room, created_at)"
                " VALUES (1, 1, 'hearing', '', :now)"
            ),
            {"now": ORIGIN},
        )
        connection.execute(
            text(
                "INSERT INTO events (hearing_id, seq, t, wall, type, payload, actor)"
                " VALUES (1, 1, 0.0, :now, 'hearing.preparing', '{}', 'system')"
            ),
            {"now": ORIGIN},
        )
    sessions = open_store(store_url)
    try:
        assert [e.fence for e in read_events(sessions, 1)] == [None]
        claim = _claim(sessions, 1, "第一仲裁庭")
        timeline = Timeline(sessions, 1, ScaledClock(origin=ORIGIN))
        timeline.claim = claim
        timeline.append(EventType.HEARING_CLOSED, t=1.0)
    finally:
        close_store(sessions)
    to("0005", command.downgrade)
    tables = set(inspect(engine).get_table_names())
    assert not {"rooms", "hearing_leases"} & tables
    assert "fence" not in {c["name"] for c in inspect(engine).get_columns("events")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events")).scalar() == 2
    to("head", command.upgrade)
    engine.dispose()


def test_a_room_restarted_on_the_same_machine_carries_on_at_once(sessions: sessionmaker[Session]) -> None:
    """The room's previous process on this machine is gone (kill -9, then the restart): its fresh
    heartbeat and lease are not waited out; another room still waits for the lease."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    settings = RoomsConfig(lease_seconds=30, heartbeat_seconds=5)
    crashed = RoomNode(
        sessions, "第一仲裁庭", settings, node=f"{socket.gethostname()[:40]}:{dead.pid}:dead00"
    )
    crashed.register()
    hearing_id = _hearing(sessions)
    crashed.claim(hearing_id)
    assert dead_here(crashed.node) and not dead_here(RoomNode(sessions, "x", settings).node)

    other = RoomNode(sessions, "第二仲裁庭", settings)
    other.register()
    with pytest.raises(ClaimRefused, match="第一仲裁庭"):
        other.claim(hearing_id)
    said: list[str] = []
    restarted = RoomNode(sessions, "第一仲裁庭", settings)
    restarted.register(say=said.append, patience=0)
    assert not said
    claim, previous = restarted.claim(hearing_id)
    assert claim.generation == 2 and previous is not None and previous.node == crashed.node
