"""One attendance state per person, folded from the timeline: a late presence replaces the absence
written at the attendance step, the method is what really happened (door face check, remote face
check, the clerk in person with the reason, absent), and nobody is both present and absent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from court.attendance.state import AttendanceFact, attendance_state, read_attendance
from court.core.cases import NewParticipant, ParticipantInfo, create_case, create_hearing, load_hearing
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import Timeline
from devices.clock import ScaledClock

ORIGIN = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def people() -> tuple[ParticipantInfo, ...]:
    return (
        ParticipantInfo(1, Role.PRESIDING_ARBITRATOR, "王建国", "", "presiding", False),
        ParticipantInfo(2, Role.APPLICANT, "张伟", "", None, True),
        ParticipantInfo(3, Role.APPLICANT_AGENT, "孙丽", "", "applicant-agent", False),
        ParticipantInfo(4, Role.RESPONDENT_AGENT, "周强", "", "respondent-agent", False),
        ParticipantInfo(5, Role.WITNESS, "吴强", "", "witness", False),
    )


def fact(seq: int, kind: EventType, **payload: object) -> AttendanceFact:
    return AttendanceFact(seq, kind, float(seq), ORIGIN + timedelta(seconds=seq), payload)


def present(
    seq: int, pid: int, method: str, note: str = "", similarity: float | None = None
) -> AttendanceFact:
    extra: dict[str, object] = {"similarity": similarity} if similarity is not None else {}
    return fact(seq, EventType.ATTENDANCE_PRESENT, participant_id=pid, method=method, note=note, **extra)


def absent(seq: int, pid: int) -> AttendanceFact:
    return fact(
        seq, EventType.ATTENDANCE_ABSENT, participant_id=pid, method="absent", note="到庭核验结束时未到"
    )


def test_one_state_per_party_with_the_method_that_happened() -> None:
    facts = [
        present(10, 4, "face", "人脸核验通过", similarity=0.81),
        present(11, 3, "clerk", "书记员人工核验：当面核对身份证件"),
        absent(12, 2),
        absent(13, 5),
        fact(14, EventType.ATTENDANCE_CHECKED, present=["孙丽", "周强"], absent=["张伟", "吴强"]),
        present(30, 2, "face", "远程人脸核验通过", similarity=0.72),  # admitted after the start
    ]
    states = {s.participant_id: s for s in attendance_state(people(), facts)}
    assert set(states) == {2, 3, 4, 5}, "the tribunal's attendance is not checked"
    assert (states[4].status, states[4].method, states[4].late) == ("present", "door_face", False)
    assert states[4].similarity == 0.81 and states[4].method_label == "门口人脸核验"
    assert (states[3].method, states[3].reason) == ("clerk", "当面核对身份证件")
    assert states[3].method_label == "书记员当面确认"
    assert (states[2].status, states[2].method, states[2].late) == ("present", "remote_face", True)
    assert states[2].at == ORIGIN + timedelta(seconds=30)
    assert (states[5].status, states[5].method, states[5].status_label) == ("absent", "absent", "缺席")


def test_before_the_attendance_step_everyone_is_expected_and_a_presence_is_never_undone() -> None:
    states = {s.participant_id: s for s in attendance_state(people(), [])}
    assert {s.status for s in states.values()} == {"expected"}
    facts = [present(5, 3, "clerk", "当面核对"), absent(6, 3), present(7, 3, "face", "人脸核验通过")]
    only = next(s for s in attendance_state(people(), facts) if s.participant_id == 3)
    assert (only.status, only.method, only.reason) == ("present", "clerk", "当面核对")


def test_read_from_the_store(sqlite_sessions: sessionmaker[Session], tmp_path: Path) -> None:
    case_id = create_case(
        sqlite_sessions,
        case_number="测劳人仲案字〔2026〕第31号",
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.APPLICANT, "张伟", remote=True),
            NewParticipant(Role.RESPONDENT_AGENT, "周强", seat_id="respondent-agent"),
        ],
    )
    hearing_id = create_hearing(sqlite_sessions, case_id, room="第一仲裁庭")
    hearing = load_hearing(sqlite_sessions, hearing_id)
    ids = {p.role: p.id for p in hearing.participants}
    timeline = Timeline(sqlite_sessions, hearing_id, ScaledClock(1.0, origin=ORIGIN))
    timeline.append(
        EventType.ATTENDANCE_ABSENT,
        {"participant_id": ids[Role.APPLICANT], "name": "张伟", "role": "applicant", "method": "absent"},
    )
    timeline.append(EventType.ATTENDANCE_CHECKED, {"present": [], "absent": ["张伟"]})
    timeline.append(
        EventType.UTTERANCE, {"role": "clerk", "text": "请稍候", "start": 1, "end": 2, "source": "x"}
    )
    timeline.append(
        EventType.ATTENDANCE_PRESENT,
        {
            "participant_id": ids[Role.APPLICANT],
            "name": "张伟",
            "role": "applicant",
            "method": "face",
            "note": "远程人脸核验通过",
        },
    )
    states = read_attendance(sqlite_sessions, hearing_id, hearing.participants)
    assert [(s.name, s.status, s.method, s.late) for s in states] == [
        ("张伟", "present", "remote_face", True),
        ("周强", "expected", "expected", False),
    ]
    assert states[0].to_json(with_similarity=False)["similarity"] is None
