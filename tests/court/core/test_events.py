"""The timeline's event catalogue: every event type has a payload type, and a payload that does not fit
it is refused before anything is persisted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import is_typeddict

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.attendance.arrivals import ClerkConfirmation
from court.config import Config
from court.core import payloads
from court.core import timeline as timeline_module
from court.core.cases import NewParticipant, create_case, create_hearing
from court.core.events import PAYLOADS, EventPayloadError, EventType, check_payload
from court.core.lifecycle import Phase
from court.core.roles import Role
from court.core.timeline import Timeline
from devices.clock import ScaledClock
from tests.court.live import test_session as live

# The live session tests' room config with a short discipline (the SQLite store is tests/court's).
config = live.config

PRESENT = {
    "participant_id": 3,
    "name": "张伟",
    "role": "applicant",
    "role_label": "申请人",
    "method": "clerk",
}


def test_every_event_type_has_a_payload_type() -> None:
    assert set(PAYLOADS) == set(EventType)
    for event_type, schema in PAYLOADS.items():
        assert is_typeddict(schema), event_type


def test_not_required_keys_are_seen_as_optional() -> None:
    # A string annotation (``from __future__ import annotations``) would hide NotRequired on 3.11.
    assert {"similarity", "note", "role_label"} <= payloads.AttendancePresent.__optional_keys__
    assert "from" in payloads.HearingPhase.__required_keys__
    assert payloads.AttendanceLivenessFailed.__required_keys__ == {
        "similarity",
        "frames",
        "reason",
        "turn",
        "depth",
    }


def test_a_fitting_payload_passes() -> None:
    check_payload(EventType.ATTENDANCE_PRESENT, PRESENT)
    check_payload(EventType.ATTENDANCE_PRESENT, {**PRESENT, "similarity": 0.81, "note": "人脸核验通过"})
    check_payload(EventType.HEARING_CLOSED, {})
    check_payload(EventType.HEARING_PHASE, {"phase": "evidence", "from": "opening"})


def test_a_missing_required_key_is_refused() -> None:
    payload = {k: v for k, v in PRESENT.items() if k != "name"}
    with pytest.raises(EventPayloadError, match=r"attendance\.present.*missing.*'name'") as refused:
        check_payload(EventType.ATTENDANCE_PRESENT, payload)
    assert isinstance(refused.value, ValueError)
    assert (refused.value.event_type, refused.value.key) == (EventType.ATTENDANCE_PRESENT, "name")


def test_an_undeclared_key_is_refused() -> None:
    with pytest.raises(EventPayloadError, match=r"attendance\.present.*undeclared.*'photo'"):
        check_payload(EventType.ATTENDANCE_PRESENT, {**PRESENT, "photo": "…"})
    with pytest.raises(EventPayloadError, match=r"hearing\.closed.*'reason'"):
        check_payload(EventType.HEARING_CLOSED, {"reason": "x"})


def test_the_timeline_refuses_before_persisting(sqlite_sessions: sessionmaker[Session]) -> None:
    case_id = create_case(
        sqlite_sessions,
        case_number="测劳人仲案字〔2026〕第10号",
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[NewParticipant(Role.APPLICANT, "张伟")],
    )
    timeline = Timeline(
        sqlite_sessions, create_hearing(sqlite_sessions, case_id, room="第一仲裁庭"), ScaledClock()
    )
    heard: list[int] = []
    timeline.subscribe(lambda event: heard.append(event.seq))
    with pytest.raises(EventPayloadError, match="'kind'"):
        timeline.append(EventType.DEVICE_CHECKED, {"device": "cam-wide", "ready": True, "detail": ""})
    assert timeline.events() == [] and heard == []
    timeline.append(
        EventType.DEVICE_CHECKED, {"device": "cam-wide", "kind": "camera", "ready": True, "detail": ""}
    )
    assert [e.seq for e in timeline.events()] == heard == [1]


def test_a_short_hearing_writes_only_payloads_that_fit(
    sqlite_sessions: sessionmaker[Session], config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[EventType] = []

    def check(event_type: EventType, payload: Mapping[str, object]) -> None:
        check_payload(event_type, payload)
        checked.append(event_type)

    monkeypatch.setattr(timeline_module, "check_payload", check)
    session, _, parties = live._session(sqlite_sessions, config)
    try:
        session.one_click_start(ClerkConfirmation(parties[:1]))  # the other party is absent
        session.open()
        session.change_phase(Phase.EVIDENCE)
        session.recess("当事人申请休庭")
        session.resume()
        session.change_phase(Phase.INVESTIGATION, reason="补充调查")
        session.clock.sleep_until(session.clock.now() + 2)
        session.close()
    finally:
        session.shutdown("test end")
    events = session.timeline.events()
    # Every event written went through the check (recording threads append concurrently: any order).
    assert Counter(e.type for e in events) == Counter(checked)
    for event in events:
        check_payload(event.type, event.payload)
    written = {e.type for e in events}
    assert {
        EventType.HEARING_PREPARING,
        EventType.STARTUP_REQUESTED,
        EventType.DEVICE_CHECKED,
        EventType.DISPLAY_SHOWN,
        EventType.RECORDING_STARTED,
        EventType.RECORDING_SEGMENT,
        EventType.ATTENDANCE_PRESENT,
        EventType.ATTENDANCE_ABSENT,
        EventType.ATTENDANCE_CHECKED,
        EventType.RULES_STARTED,
        EventType.RULES_PLAYED,
        EventType.STARTUP_COMPLETED,
        EventType.HEARING_OPENED,
        EventType.HEARING_PHASE,
        EventType.HEARING_RECESSED,
        EventType.HEARING_RESUMED,
        EventType.HEARING_CLOSED,
        EventType.RECORDING_STOPPED,
    } <= written
