"""Who is present now, one state per person, folded from the timeline (办案规则 Art. 41).

The timeline holds every attendance fact in order: an absence written when the attendance step ended,
a presence written later for the same person (a remote party admitted after the start, someone the
clerk confirmed in person afterwards). Pages must not show both rows: :func:`attendance_state` gives
each party-side participant exactly one :class:`PersonAttendance` — the latest fact wins, and a
presence written after the attendance step is a late arrival — with the method that really happened:
the door terminal's face check, the remote face check, the clerk in person (with the reason), or
absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import ParticipantInfo
from court.core.events import EventType
from court.core.timeutil import as_utc
from court.db.models import Event

METHOD_LABELS = {
    "door_face": "门口人脸核验",
    "remote_face": "远程人脸核验",
    "clerk": "书记员当面确认",
    "absent": "未到庭",
    "expected": "待核验",
}
"""How each attendance method reads for people (Simplified Chinese)."""

STATUS_LABELS = {"present": "到庭", "absent": "缺席", "expected": "待核验"}

CLERK_NOTE_PREFIX = "书记员人工核验："
"""How the door check notes a clerk's confirmation before its reason."""

_FACTS = (EventType.ATTENDANCE_PRESENT, EventType.ATTENDANCE_ABSENT, EventType.ATTENDANCE_CHECKED)


@dataclass(frozen=True, slots=True)
class AttendanceFact:
    """One attendance event as read from the timeline."""

    seq: int
    type: EventType
    t: float
    wall: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PersonAttendance:
    participant_id: int
    name: str
    role: str
    role_label: str
    remote: bool
    status: str
    """``present``, ``absent``, or ``expected`` (the attendance step has not settled them yet)."""
    method: str
    """``door_face``, ``remote_face``, ``clerk``, ``absent`` or ``expected``."""
    reason: str = ""
    """The clerk's reason for a confirmation in person; why absent, when known."""
    similarity: float | None = None
    at: datetime | None = None
    """When the fact was written (UTC)."""
    t: float | None = None
    late: bool = False
    """Present, but recorded after the attendance step ended."""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def method_label(self) -> str:
        return METHOD_LABELS[self.method]

    def to_json(self, *, with_similarity: bool = True) -> dict[str, Any]:
        return {
            "participant_id": self.participant_id,
            "name": self.name,
            "role": self.role,
            "role_label": self.role_label,
            "remote": self.remote,
            "status": self.status,
            "status_label": self.status_label,
            "method": self.method,
            "method_label": self.method_label,
            "reason": self.reason,
            "similarity": self.similarity if with_similarity else None,
            "arrived_at": self.at.isoformat() if self.at is not None else None,
            "t": self.t,
            "late": self.late,
        }


def _method(participant: ParticipantInfo, payload: Mapping[str, Any]) -> tuple[str, str]:
    """The method and reason of a presence."""
    note = str(payload.get("note", ""))
    if payload.get("method") == "face":
        remote = participant.remote or note.startswith("远程")
        return ("remote_face" if remote else "door_face"), ""
    return "clerk", note.removeprefix(CLERK_NOTE_PREFIX).strip()


def attendance_state(
    participants: Sequence[ParticipantInfo], facts: Iterable[AttendanceFact]
) -> list[PersonAttendance]:
    """One state per party-side participant (in the order of ``participants``)."""
    people = {p.id: p for p in participants if p.role.is_party_side}
    latest: dict[int, PersonAttendance] = {}
    checked = False
    for fact in facts:
        if fact.type == EventType.ATTENDANCE_CHECKED:
            checked = True
            continue
        pid = fact.payload.get("participant_id")
        participant = people.get(pid) if isinstance(pid, int) else None
        if participant is None:
            continue
        common: dict[str, Any] = {
            "participant_id": participant.id,
            "name": participant.name,
            "role": participant.role.value,
            "role_label": participant.role.label,
            "remote": participant.remote,
            "at": as_utc(fact.wall),
            "t": fact.t,
        }
        before = latest.get(participant.id)
        if before is not None and before.status == "present":
            continue  # the first presence is when they came; a later absence row never undoes it
        if fact.type == EventType.ATTENDANCE_PRESENT:
            method, reason = _method(participant, fact.payload)
            similarity = fact.payload.get("similarity")
            latest[participant.id] = PersonAttendance(
                **common,
                status="present",
                method=method,
                reason=reason,
                similarity=float(similarity) if isinstance(similarity, int | float) else None,
                late=checked,
            )
        else:
            latest[participant.id] = PersonAttendance(
                **common, status="absent", method="absent", reason=str(fact.payload.get("note", ""))
            )
    out = []
    for participant in people.values():
        state = latest.get(participant.id)
        if state is None:
            state = PersonAttendance(
                participant.id,
                participant.name,
                participant.role.value,
                participant.role.label,
                participant.remote,
                status="expected",
                method="expected",
            )
        out.append(state)
    return out


def read_facts(sessions: sessionmaker[Session], hearing_id: int) -> list[AttendanceFact]:
    """The hearing's attendance events, in order (only those: not the whole timeline)."""
    with sessions() as session:
        rows = session.execute(
            select(Event.seq, Event.type, Event.t, Event.wall, Event.payload)
            .where(Event.hearing_id == hearing_id, Event.type.in_([str(t) for t in _FACTS]))
            .order_by(Event.seq)
        ).all()
    return [AttendanceFact(seq, EventType(kind), t, wall, data or {}) for seq, kind, t, wall, data in rows]


def read_attendance(
    sessions: sessionmaker[Session], hearing_id: int, participants: Sequence[ParticipantInfo]
) -> list[PersonAttendance]:
    """:func:`attendance_state` of the hearing as its timeline stands."""
    return attendance_state(participants, read_facts(sessions, hearing_id))
