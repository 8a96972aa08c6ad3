"""Storage on both SQLite and PostgreSQL: migrations, the append-only timeline, projections."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import CaseError, NewParticipant, create_case, create_hearing, load_hearing
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import Timeline, export_jsonl
from court.db.engine import StoreError, open_store
from court.db.models import AppendOnlyViolation, Attendance, Base, Event, RecordingSegment
from devices.clock import ScaledClock


def _hearing(sessions: sessionmaker[Session]) -> int:
    case_id = create_case(
        sessions,
        case_number="示劳人仲案字〔2026〕第118号",
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.RESPONDENT, "李娜", organization="示范科技有限公司", seat_id="respondent"),
        ],
    )
    return create_hearing(sessions, case_id, room="第一仲裁庭")


def test_migrations_match_the_models(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        context = MigrationContext.configure(session.connection())
        assert compare_metadata(context, Base.metadata) == []


def test_case_round_trip(sessions: sessionmaker[Session]) -> None:
    hearing_id = _hearing(sessions)
    info = load_hearing(sessions, hearing_id)
    assert info.case_number == "示劳人仲案字〔2026〕第118号"
    assert [p.label for p in info.participants] == ["申请人 张伟", "被申请人 李娜"]
    assert info.livestream_allowed is False
    with pytest.raises(CaseError, match="already exists"):
        _hearing(sessions)
    with pytest.raises(CaseError, match="no hearing"):
        load_hearing(sessions, 999)


def test_timeline_sequence_and_projections(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    hearing_id = _hearing(sessions)
    origin = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    timeline = Timeline(sessions, hearing_id, ScaledClock(origin=origin))
    seen: list[int] = []
    timeline.subscribe(lambda event: seen.append(event.seq))
    timeline.append(EventType.HEARING_PREPARING, t=0.0)
    timeline.append(
        EventType.ATTENDANCE_PRESENT,
        {"name": "张伟", "role": "applicant", "participant_id": 1, "method": "clerk"},
        t=12.5,
    )
    timeline.append(
        EventType.RECORDING_SEGMENT,
        {
            "manifest_seq": 3,
            "source": "cam-wide",
            "index": 1,
            "file": "cam-wide/cam-wide-000001.mp4",
            "start": 0.0,
            "end": 4.0,
            "sha256": "a" * 64,
            "chain": "b" * 64,
            "status": "ok",
        },
        t=4.0,
    )
    assert seen == [1, 2, 3]
    with sessions() as session:
        attendance = session.scalars(select(Attendance)).one()
        assert (attendance.name, attendance.event_seq, attendance.method) == ("张伟", 2, "clerk")
        assert session.scalars(select(RecordingSegment)).one().event_seq == 3

    out = tmp_path / "timeline.jsonl"
    assert export_jsonl(sessions, hearing_id, out) == 3
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines[1]["t"] == 12.5 and lines[1]["wall"].startswith("2026-11-28T01:00:12.500")
    assert lines[1]["name"] == "张伟"


def test_timeline_is_append_only(sessions: sessionmaker[Session]) -> None:
    hearing_id = _hearing(sessions)
    Timeline(sessions, hearing_id, ScaledClock()).append(EventType.HEARING_PREPARING)
    with sessions() as session:
        event = session.scalars(select(Event)).one()
        event.type = EventType.HEARING_OPENED
        with pytest.raises(AppendOnlyViolation):
            session.commit()
    with sessions() as session:
        session.delete(session.scalars(select(Event)).one())
        with pytest.raises(AppendOnlyViolation):
            session.commit()


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("no such thing")
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none")
