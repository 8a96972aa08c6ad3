"""The hearing's append-only event timeline, persisted before anything is reported done.

Every fact about a hearing is first an event here: lifecycle steps, device checks, attendance,
recording segments, utterances, camera cuts. Projections (attendance, utterances, recording
segments) are written in the same transaction as their event, so they never disagree with it. While a
room holds the hearing, every append is fenced by that room's claim (:mod:`court.core.claims`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from court.core.claims import Claim, fence
from court.core.events import EventType, check_payload
from court.core.timeutil import as_utc
from court.db.models import Attendance, Event, RecordingSegment, Utterance
from devices.clock import Clock


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    seq: int
    t: float
    wall: datetime
    type: EventType
    payload: Mapping[str, Any]
    actor: str = "system"
    fence: int | None = None
    """The generation of the room's claim it was written under (None: no room held the hearing)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "t": round(self.t, 3),
            "wall": self.wall.isoformat(timespec="milliseconds"),
            "type": self.type,
            "actor": self.actor,
            **{k: v for k, v in self.payload.items() if k not in {"seq", "t", "wall", "type", "actor"}},
        }


Listener = Callable[[TimelineEvent], None]


class Timeline:
    """Appends events for one hearing. Thread-safe: device workers and the controller both append."""

    def __init__(self, sessions: sessionmaker[Session], hearing_id: int, clock: Clock) -> None:
        self._sessions = sessions
        self.hearing_id = hearing_id
        self.clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self.claim: Claim | None = None
        """The room's claim on the hearing while it holds it: every append is checked against it."""

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def append(
        self,
        event_type: EventType,
        payload: Mapping[str, Any] | None = None,
        *,
        actor: str = "system",
        t: float | None = None,
    ) -> TimelineEvent:
        """Persist one event (committed when this returns) and tell the listeners. Raises
        :class:`~court.core.events.EventPayloadError` (nothing persisted) when the payload does not fit
        the event type's payload type, :class:`~court.core.claims.ClaimRefused` (nothing persisted)
        when another room holds the hearing or this one's claim is no longer current."""
        body = dict(payload or {})
        check_payload(event_type, body)
        with self._lock:
            at = self.clock.now() if t is None else t
            wall = self.clock.wall(at)
            with self._sessions.begin() as session:
                token = self.claim.generation if self.claim is not None else None
                last = session.scalar(select(func.max(Event.seq)).where(Event.hearing_id == self.hearing_id))
                seq = 1 if last is None else last + 1
                session.add(
                    Event(
                        hearing_id=self.hearing_id,
                        seq=seq,
                        t=at,
                        wall=wall,
                        type=event_type,
                        payload=body,
                        actor=actor,
                        fence=token,
                    )
                )
                _project(session, self.hearing_id, seq, at, wall, event_type, body)
                # Checked after the write: SQLite takes its write lock there, so the lease read here is
                # the one the commit sees (PostgreSQL locks the lease row). Refused: all rolled back.
                session.flush()
                fence(session, self.hearing_id, self.claim)
            event = TimelineEvent(seq, at, wall, event_type, body, actor, token)
        for listener in list(self._listeners):
            listener(event)
        return event

    def events(self) -> list[TimelineEvent]:
        return list(read_events(self._sessions, self.hearing_id))


def read_events(
    sessions: sessionmaker[Session], hearing_id: int, *, after: int = 0, limit: int | None = None
) -> Iterator[TimelineEvent]:
    """The hearing's events in order; ``after`` a sequence number (for a listener catching up)."""
    with sessions() as session:
        query = (
            select(Event)
            .where(Event.hearing_id == hearing_id, Event.seq > after)
            .order_by(Event.seq)
            .limit(limit)
        )
        rows = session.scalars(query)
        for row in rows:
            yield TimelineEvent(
                row.seq, row.t, as_utc(row.wall), EventType(row.type), row.payload, row.actor, row.fence
            )


def export_jsonl(sessions: sessionmaker[Session], hearing_id: int, path: Path) -> int:
    """Write the timeline as JSON lines; returns the number of events."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for event in read_events(sessions, hearing_id):
            out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
            count += 1
    return count


def _project(
    session: Session,
    hearing_id: int,
    seq: int,
    t: float,
    wall: datetime,
    event_type: EventType,
    payload: Mapping[str, Any],
) -> None:
    if event_type in (EventType.ATTENDANCE_PRESENT, EventType.ATTENDANCE_ABSENT):
        session.add(
            Attendance(
                hearing_id=hearing_id,
                event_seq=seq,
                participant_id=payload.get("participant_id"),
                name=payload["name"],
                role=payload.get("role", ""),
                status="absent" if event_type == EventType.ATTENDANCE_ABSENT else "present",
                method=payload.get("method", "clerk"),
                arrived_at=wall,
                t=t,
                similarity=payload.get("similarity"),
                note=payload.get("note", ""),
            )
        )
    elif event_type == EventType.RECORDING_SEGMENT:
        session.add(
            RecordingSegment(
                hearing_id=hearing_id,
                event_seq=seq,
                manifest_seq=payload["manifest_seq"],
                source=payload["source"],
                index=payload["index"],
                file=payload["file"],
                start=payload["start"],
                end=payload["end"],
                sha256=payload["sha256"],
                chain=payload["chain"],
                status=payload["status"],
                reason=payload.get("reason", ""),
            )
        )
    elif event_type == EventType.UTTERANCE:
        session.add(
            Utterance(
                hearing_id=hearing_id,
                event_seq=seq,
                source=payload["source"],
                role=payload["role"],
                participant_id=payload.get("participant_id"),
                start=payload["start"],
                end=payload["end"],
                text=payload["text"],
                confidence=payload.get("confidence"),
            )
        )
