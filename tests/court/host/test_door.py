"""The start's door check as the console sees it: only the in-room parties are awaited, with the time
left; it ends by itself once all of them have come (one by face, one confirmed in person); a remote
party the clerk confirms while it runs is recorded when it ends, never refused.

The face terminal and its models are stubbed: what is tested is the door's bookkeeping, not faces
(tests/court/host/test_host.py runs the real door check)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from court.attendance.arrivals import Arrival
from court.core.cases import ParticipantInfo
from court.core.events import EventType
from court.core.roles import Role
from court.host.door import DoorAttendance
from court.host.lobby import Lobby
from devices.clock import ScaledClock

APPLICANT = ParticipantInfo(2, Role.APPLICANT, "张伟", "", None, True)
AGENT = ParticipantInfo(3, Role.APPLICANT_AGENT, "孙丽", "", "applicant-agent", False)
RESPONDENT_AGENT = ParticipantInfo(4, Role.RESPONDENT_AGENT, "周强", "", "respondent-agent", False)


class StubDoor:
    """Stands for FaceAttendance: the test lets people pass; the clerk's confirmations queue up."""

    passing: queue.SimpleQueue[int] = queue.SimpleQueue()

    def __init__(self, *args: Any, settings: Any, **kwargs: Any) -> None:
        self.settings = settings
        self.manual: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self.stopped = threading.Event()

    def confirm(self, participant_id: int, reason: str) -> None:
        self.manual.put((participant_id, reason))

    def stop(self) -> None:
        self.stopped.set()

    def arrivals(self, expected: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        wanted = {p.id for p in expected}
        found: set[int] = set()
        while found != wanted and not self.stopped.is_set():
            try:
                pid, reason = self.manual.get(timeout=0.02)
                if pid in wanted:
                    found.add(pid)
                    yield Arrival(pid, method="clerk", note=f"书记员人工核验：{reason}")
            except queue.Empty:
                pass
            try:
                pid = self.passing.get_nowait()
                found.add(pid)
                yield Arrival(pid, method="face", similarity=0.8, note="人脸核验通过")
            except queue.Empty:
                pass


class Log:
    def __init__(self) -> None:
        self.types: list[EventType] = []

    def append(self, event_type: EventType, payload: Any = None, **kwargs: Any) -> Any:
        self.types.append(event_type)
        return SimpleNamespace(type=event_type, payload=payload)


@pytest.fixture
def door(monkeypatch: pytest.MonkeyPatch) -> DoorAttendance:
    import court.attendance.enrolment as enrolment
    import court.attendance.face_check as face_check
    import devices.face as face

    monkeypatch.setattr(face_check, "FaceAttendance", StubDoor)
    monkeypatch.setattr(enrolment, "load_templates", lambda sessions, ids: [object()])
    monkeypatch.setattr(face, "shared_analyzer", lambda: object())
    clock = ScaledClock(1.0)
    return DoorAttendance(None, {"timeout": 120.0}, clock, Log(), Lobby(clock))  # type: ignore[arg-type]


def assembled() -> Any:
    session = SimpleNamespace(
        devices=SimpleNamespace(face_terminal=object()),
        record_attendance_issue=lambda *a: None,
        lifecycle=SimpleNamespace(attendance_checked=False),
    )
    return SimpleNamespace(session=session)


def until(predicate: Any, what: str) -> None:
    for _ in range(500):
        if predicate():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_door_awaits_in_room_parties_shows_time_left_and_ends_by_itself(door: DoorAttendance) -> None:
    room = assembled()
    found: list[Arrival] = []
    check = door.check(room)
    worker = threading.Thread(
        target=lambda: found.extend(check.arrivals([APPLICANT, AGENT, RESPONDENT_AGENT])), daemon=True
    )
    worker.start()
    until(lambda: door.state() is not None, "the door to open")
    state = door.state()
    assert state is not None
    assert [p["participant_id"] for p in state["expected"]] == [AGENT.id, RESPONDENT_AGENT.id]
    assert 100 < state["remaining"] <= 120
    assert state["expected"][0]["role_label"] == "申请人代理人"

    # The remote applicant is in the room after all: confirmed now, recorded when the door ends.
    door.confirm(APPLICANT, "本人到庭，当面核对身份证件", room, actor="clerk")
    door.confirm(AGENT, "当面核对身份证件", room, actor="clerk")
    until(lambda: (s := door.state()) is not None and len(s["passed"]) == 1, "the agent to be confirmed")
    assert door.state()["passed"][0]["method"] == "clerk"  # type: ignore[index]
    StubDoor.passing.put(RESPONDENT_AGENT.id)
    worker.join(10)
    assert not worker.is_alive(), "the door check did not end once everyone awaited had come"
    assert door.state() is None
    assert [(a.participant_id, a.method) for a in found] == [
        (AGENT.id, "clerk"),
        (RESPONDENT_AGENT.id, "face"),
        (APPLICANT.id, "clerk"),
    ]
    assert found[-1].note == "本人到庭，当面核对身份证件"


def test_the_clerk_ends_the_door_check_early(door: DoorAttendance) -> None:
    room = assembled()
    found: list[Arrival] = []
    check = door.check(room)
    worker = threading.Thread(
        target=lambda: found.extend(check.arrivals([AGENT, RESPONDENT_AGENT])), daemon=True
    )
    worker.start()
    until(lambda: door.state() is not None, "the door to open")
    door.end(actor="clerk")
    worker.join(10)
    assert not worker.is_alive() and found == [] and door.state() is None
