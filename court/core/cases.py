"""Cases, their participants and hearings: creating them and reading them back as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.roles import Role
from court.core.timeutil import as_utc
from court.db.models import Case, Hearing, Participant


class CaseError(Exception):
    """A case or hearing that does not exist or cannot be created as asked."""


@dataclass(frozen=True)
class ParticipantInfo:
    id: int
    role: Role
    name: str
    organization: str
    seat_id: str | None
    remote: bool

    @property
    def label(self) -> str:
        return f"{self.role.label} {self.name}"


@dataclass(frozen=True)
class HearingInfo:
    id: int
    case_id: int
    case_number: str
    cause: str
    commission: str
    livestream_allowed: bool
    kind: str
    room: str
    clock_origin: datetime | None
    recording_root: str | None
    participants: tuple[ParticipantInfo, ...]

    def participant(self, participant_id: int) -> ParticipantInfo:
        for participant in self.participants:
            if participant.id == participant_id:
                return participant
        raise CaseError(f"participant {participant_id} is not in case {self.case_number}")


@dataclass(frozen=True)
class NewParticipant:
    role: Role
    name: str
    organization: str = ""
    seat_id: str | None = None
    remote: bool = False
    id_photo: bytes | None = None


def create_case(
    sessions: sessionmaker[Session],
    *,
    case_number: str,
    cause: str,
    commission: str,
    participants: list[NewParticipant],
    livestream_allowed: bool = False,
) -> int:
    if not case_number.strip():
        raise CaseError("a case needs its case number (案号)")
    with sessions.begin() as session:
        if session.scalar(select(Case.id).where(Case.case_number == case_number)) is not None:
            raise CaseError(f"case {case_number} already exists")
        case = Case(
            case_number=case_number,
            cause=cause,
            commission=commission,
            livestream_allowed=livestream_allowed,
            participants=[
                Participant(
                    role=p.role.value,
                    name=p.name,
                    organization=p.organization,
                    seat_id=p.seat_id,
                    remote=p.remote,
                    id_photo=p.id_photo,
                )
                for p in participants
            ],
        )
        session.add(case)
        session.flush()
        return case.id


def case_exists(sessions: sessionmaker[Session], case_number: str) -> bool:
    with sessions() as session:
        return session.scalar(select(Case.id).where(Case.case_number == case_number)) is not None


def create_hearing(sessions: sessionmaker[Session], case_id: int, *, room: str, kind: str = "hearing") -> int:
    if kind not in ("hearing", "mediation"):
        raise CaseError(f"unknown hearing kind {kind!r} (hearing or mediation)")
    with sessions.begin() as session:
        if session.get(Case, case_id) is None:
            raise CaseError(f"no case with id {case_id}")
        hearing = Hearing(case_id=case_id, room=room, kind=kind)
        session.add(hearing)
        session.flush()
        return hearing.id


def load_hearing(sessions: sessionmaker[Session], hearing_id: int) -> HearingInfo:
    with sessions() as session:
        hearing = session.get(Hearing, hearing_id)
        if hearing is None:
            raise CaseError(f"no hearing with id {hearing_id} in this store")
        case = hearing.case
        return HearingInfo(
            id=hearing.id,
            case_id=case.id,
            case_number=case.case_number,
            cause=case.cause,
            commission=case.commission,
            livestream_allowed=case.livestream_allowed,
            kind=hearing.kind,
            room=hearing.room,
            clock_origin=as_utc(hearing.clock_origin) if hearing.clock_origin else None,
            recording_root=hearing.recording_root,
            participants=tuple(
                ParticipantInfo(
                    id=p.id,
                    role=Role(p.role),
                    name=p.name,
                    organization=p.organization,
                    seat_id=p.seat_id,
                    remote=p.remote,
                )
                for p in case.participants
            ),
        )


def set_clock_origin(
    sessions: sessionmaker[Session], hearing_id: int, origin: datetime, recording_root: str
) -> None:
    with sessions.begin() as session:
        hearing = session.get(Hearing, hearing_id)
        if hearing is None:
            raise CaseError(f"no hearing with id {hearing_id}")
        if hearing.clock_origin is not None:
            raise CaseError(f"hearing {hearing_id} has already been started")
        hearing.clock_origin = origin
        hearing.recording_root = recording_root
