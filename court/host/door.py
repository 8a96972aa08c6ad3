"""Attendance during the server's one-click start (办案规则 Art. 41): remote parties who passed the
face check and were admitted, those the clerk confirmed in person, and the door terminal's face check
for the in-room parties not yet accounted for.

The clerk may confirm someone before the start (noted, then recorded at the attendance step), while
the door check runs (it records the confirmation in order), or after (recorded at once as a late
arrival).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from court.attendance.arrivals import Arrival
from court.core.cases import ParticipantInfo
from court.core.events import EventType
from court.core.timeline import Timeline
from court.host.errors import HostError
from court.host.lobby import Lobby, RemoteState
from court.live.assembly import AssembledHearing
from devices.clock import Clock

if TYPE_CHECKING:
    from court.attendance.face_check import FaceAttendance


class DoorAttendance:
    """The clerk's confirmations and the door check of one hearing. Thread-safe: the console calls in
    while the start thread waits for arrivals."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        face: Mapping[str, Any],
        clock: Clock,
        timeline: Timeline,
        lobby: Lobby,
    ) -> None:
        """``face``: the config's ``[face]`` table."""
        self._sessions = sessions
        self._face = face
        self._clock = clock
        self._timeline = timeline
        self._lobby = lobby
        self._confirmed: dict[int, str] = {}
        self._door: FaceAttendance | None = None
        self._awaited: list[ParticipantInfo] = []
        """The in-room parties the door check waits for (while it runs)."""
        self._passed: dict[int, str] = {}
        """Who of them has come so far, and how (``face`` or ``clerk``)."""
        self._deadline = 0.0
        self._lock = threading.Lock()

    @property
    def door_open(self) -> bool:
        return self._door is not None

    def state(self) -> dict[str, Any] | None:
        """The running door check for the console: who is still expected, who has passed and how,
        and the hearing-clock seconds left before it ends by itself; None when none runs."""
        with self._lock:
            if self._door is None:
                return None
            awaited = list(self._awaited)
            passed = dict(self._passed)
            deadline = self._deadline
        return {
            "remaining": max(0.0, round(deadline - self._clock.now(), 1)),
            "expected": [_person(p) for p in awaited if p.id not in passed],
            "passed": [{**_person(p), "method": passed[p.id]} for p in awaited if p.id in passed],
        }

    def confirm(
        self, participant: ParticipantInfo, reason: str, assembled: AssembledHearing | None, *, actor: str
    ) -> None:
        """The clerk confirms someone in person (with a reason, logged): at once when the attendance
        step has passed, else at the attendance step of the start."""
        reason = reason.strip()
        if not reason:
            raise HostError("reason_required", "人工确认到庭须写明理由 (a reason is required)")
        with self._lock:
            if assembled is not None and assembled.session.lifecycle.attendance_checked:
                assembled.session.record_presence(participant, method="clerk", note=reason)
                return
            door = self._door
            if door is not None and any(p.id == participant.id for p in self._awaited):
                door.confirm(participant.id, reason)  # the door check records it in order
                return
            # Before the start, or someone the door does not wait for (a remote party who is in the
            # room after all): recorded when the door check ends.
            self._confirmed[participant.id] = reason
        self._timeline.append(
            EventType.ATTENDANCE_CONFIRMATION_NOTED,
            {"participant_id": participant.id, "name": participant.name, "reason": reason},
            actor=actor,
        )

    def end(self, *, actor: str) -> None:
        """The clerk closes the attendance step: whoever has not come is absent (they can still be
        confirmed in person later, as a late arrival)."""
        door = self._door
        if door is None:
            raise HostError("no_door_check", "当前没有进行中的到庭核验 (no door check is running)")
        self._timeline.append(EventType.ATTENDANCE_DOOR_CLOSED, {"reason": "书记员结束到庭核验"}, actor=actor)
        door.stop()

    def check(self, assembled: AssembledHearing) -> _StartAttendance:
        """The attendance step of ``assembled``'s one-click start."""
        return _StartAttendance(self, assembled)

    def _known_arrivals(self) -> Iterator[Arrival]:
        """Remote parties admitted (and on line or about to be) and the clerk's confirmations so far."""
        remotes = [
            r for r in self._lobby.parties() if r.state in (RemoteState.ADMITTED, RemoteState.CONNECTED)
        ]
        with self._lock:
            confirmed = dict(self._confirmed)
        for party in remotes:
            party.presence_recorded = True
            yield Arrival(
                party.participant.id, method="face", similarity=party.similarity, note="远程人脸核验通过"
            )
        for participant_id, reason in confirmed.items():
            yield Arrival(participant_id, method="clerk", note=reason)

    def _take_confirmed(self) -> dict[int, str]:
        with self._lock:
            confirmed, self._confirmed = self._confirmed, {}
        return confirmed

    def _door_arrivals(
        self, assembled: AssembledHearing, waiting: Sequence[ParticipantInfo]
    ) -> Iterator[Arrival]:
        """The door terminal's face check for the in-room parties not yet accounted for, until all
        have come, the clerk ends it, or ``[face] timeout`` passes."""
        terminal = assembled.session.devices.face_terminal
        if terminal is None or not waiting:
            return
        try:
            from court.attendance.enrolment import load_templates
            from court.attendance.face_check import FaceAttendance, face_settings
            from devices.face import shared_analyzer

            templates = load_templates(self._sessions, [p.id for p in waiting])
            if not templates:
                return  # no ID photo enrolled for anyone awaited: the clerk confirms in person
            analyzer = shared_analyzer()
        except Exception as exc:  # no face models: the clerk confirms in person
            self._timeline.append(
                EventType.ATTENDANCE_DOOR_UNAVAILABLE, {"reason": f"{type(exc).__name__}: {exc}"}
            )
            return
        settings = face_settings(self._face)
        door = FaceAttendance(
            terminal,
            templates,
            self._clock,
            analyzer=analyzer,
            settings=settings,
            report=assembled.session.record_attendance_issue,
        )
        self._timeline.append(
            EventType.ATTENDANCE_DOOR_OPEN,
            {"participants": [p.id for p in waiting], "timeout": settings.timeout},
        )
        with self._lock:
            self._door = door
            self._awaited = list(waiting)
            self._passed = {}
            self._deadline = self._clock.now() + settings.timeout
        try:
            for arrival in door.arrivals(waiting):
                with self._lock:
                    self._passed[arrival.participant_id] = arrival.method
                yield arrival
        finally:
            with self._lock:
                self._door = None
                self._awaited = []
                self._passed = {}


class _StartAttendance:
    """The :class:`~court.attendance.arrivals.AttendanceCheck` of one start: who is known to be here
    first, then the door check for the in-room parties still awaited."""

    def __init__(self, door: DoorAttendance, assembled: AssembledHearing) -> None:
        self._door = door
        self._assembled = assembled

    def arrivals(self, expected: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        wanted = {p.id for p in expected}
        found: set[int] = set()
        for arrival in self._door._known_arrivals():
            if arrival.participant_id in wanted:
                found.add(arrival.participant_id)
                yield arrival
        waiting = [p for p in expected if p.id not in found and not p.remote]
        for arrival in self._door._door_arrivals(self._assembled, waiting):
            found.add(arrival.participant_id)
            yield arrival
        # Confirmations the door did not take (made while it ran, for someone it did not wait for).
        for participant_id, reason in self._door._take_confirmed().items():
            if participant_id in wanted and participant_id not in found:
                found.add(participant_id)
                yield Arrival(participant_id, method="clerk", note=reason)


def _person(p: ParticipantInfo) -> dict[str, Any]:
    return {"participant_id": p.id, "name": p.name, "role": p.role.value, "role_label": p.role.label}
