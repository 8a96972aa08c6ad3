"""One hearing's 笔录 wiring — store, hearing, timeline, clock and signing key — that every job
module takes as its first argument (the :class:`~court.record.bilu.Bilu` facade is one).

Here so the jobs share one way of reading the record and one notion of "now" on the hearing clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import load_hearing
from court.core.roles import Role
from court.core.timeline import Timeline
from court.core.timeutil import BEIJING_OFFSET_MINUTES
from court.record.bilu.facts import hearing_facts
from court.record.bilu.projection import Record
from devices.clock import WallClock
from transcripts.bilu.build import build_document
from transcripts.bilu.corrections import Line, Transcript
from transcripts.bilu.model import BiluDocument


class RecordClock:
    """Wall time on the hearing clock, never before the record's last event: a simulated hearing
    runs ahead of real time, and a signature must not be dated before the closing."""

    def __init__(self, origin: datetime, floor: float = 0.0) -> None:
        self._wall = WallClock(origin)
        self.floor = floor

    def now(self) -> float:
        return max(self._wall.now(), self.floor)

    def wall(self, t: float | None = None) -> datetime:
        return self._wall.origin + timedelta(seconds=self.now() if t is None else t)

    def sleep_until(self, t: float) -> None:
        self._wall.sleep_until(t)


class RecordContext:
    """One hearing's store, participants, timeline and signing key, and the record read from them
    (see :class:`~court.record.bilu.Bilu` for the arguments)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        hearing_id: int,
        *,
        timeline: Timeline | None = None,
        key_path: Path | None = None,
        utc_offset_minutes: int = BEIJING_OFFSET_MINUTES,
    ) -> None:
        self.sessions = sessions
        self.hearing_id = hearing_id
        self.hearing = load_hearing(sessions, hearing_id)
        self._clock: RecordClock | None = None
        if timeline is None:
            self._clock = RecordClock(self.hearing.clock_origin or datetime.now().astimezone())
            timeline = Timeline(sessions, hearing_id, self._clock)
        self.timeline = timeline
        self.key_path = key_path
        self.utc_offset_minutes = utc_offset_minutes

    def read_record(self) -> Record:
        record = Record.read(self.sessions, self.hearing)
        if self._clock is not None:
            self._clock.floor = record.last_t
        return record

    def transcript(self) -> Transcript:
        return self.read_record().transcript()

    def lines(self) -> tuple[Line, ...]:
        return self.transcript().lines

    def draft(self) -> BiluDocument:
        record = self.read_record()
        return self.build_document(record, record.transcript())

    def build_document(self, record: Record, transcript: Transcript) -> BiluDocument:
        return build_document(
            hearing_facts(record, self.sessions), transcript, utc_offset_minutes=self.utc_offset_minutes
        )

    def default_actor(self) -> str:
        clerk = next((p for p in self.hearing.participants if p.role is Role.CLERK), None)
        return clerk.label if clerk else Role.CLERK.label
