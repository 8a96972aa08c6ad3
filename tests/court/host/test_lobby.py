"""The remote parties' lobby as a state machine: every transition it does not list is refused, naming
the party's state, and the host answers a refusal with its error code (the API's 409)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.config import load_config
from court.core.cases import NewParticipant, ParticipantInfo, create_case, create_hearing
from court.core.events import EventType
from court.core.roles import Role
from court.host.errors import HostError
from court.host.host import HearingHost
from court.host.lobby import (
    TRANSITIONS,
    Lobby,
    LobbyAction,
    LobbyRefused,
    RemoteState,
    next_state,
)
from tests.court.helpers import write_test_config
from tests.devices.clocks import ManualClock

S = RemoteState
ALLOWED = {
    LobbyAction.CHECK_PASSED: {
        S.UNVERIFIED: S.LOBBY,
        S.REJECTED: S.LOBBY,
        S.LOBBY: S.LOBBY,
        S.ADMITTED: S.ADMITTED,
        S.CONNECTED: S.CONNECTED,
        S.LEFT: S.LEFT,
    },
    LobbyAction.ADMIT: {
        S.LOBBY: S.ADMITTED,
        S.REJECTED: S.ADMITTED,
        S.ADMITTED: S.ADMITTED,
        S.CONNECTED: S.CONNECTED,
        S.LEFT: S.LEFT,
    },
    LobbyAction.REJECT: {s: S.REJECTED for s in (S.LOBBY, S.ADMITTED, S.CONNECTED, S.LEFT, S.REJECTED)},
    LobbyAction.CONNECT: {S.ADMITTED: S.CONNECTED, S.CONNECTED: S.CONNECTED, S.LEFT: S.CONNECTED},
    LobbyAction.DISCONNECT: {S.CONNECTED: S.LEFT},
}
"""Written out again on purpose: a change to the lobby's rules must be a change to this test too."""

REFUSED = [(action, state) for action in LobbyAction for state in RemoteState if state not in ALLOWED[action]]


def test_the_table_is_the_documented_one() -> None:
    assert {a: dict(t) for a, t in TRANSITIONS.items()} == ALLOWED


@pytest.mark.parametrize(("action", "state"), [(a, s) for a in ALLOWED for s in ALLOWED[a]])
def test_allowed_transitions(action: LobbyAction, state: RemoteState) -> None:
    assert next_state(state, action) is ALLOWED[action][state]


@pytest.mark.parametrize(("action", "state"), REFUSED)
def test_every_other_transition_is_refused_naming_the_state(action: LobbyAction, state: RemoteState) -> None:
    with pytest.raises(LobbyRefused) as refused:
        next_state(state, action)
    assert refused.value.state is state and refused.value.action is action
    assert state.value in str(refused.value) and state.label in str(refused.value)
    expected = {
        S.UNVERIFIED: "not_in_lobby",
    }.get(state, "not_admitted" if action is LobbyAction.CONNECT else "not_connected")
    assert refused.value.code == expected


def _participant(pid: int = 7) -> ParticipantInfo:
    return ParticipantInfo(
        id=pid, role=Role.APPLICANT, name="张伟", organization="", seat_id=None, remote=True
    )


@pytest.fixture
def lobby() -> Iterator[Lobby]:
    lobby = Lobby(ManualClock())
    yield lobby
    lobby.close()


def test_nobody_is_admitted_or_connected_before_the_face_check(lobby: Lobby) -> None:
    for command in (lobby.admit, lobby.connect, lambda pid: lobby.reject(pid, "x")):
        with pytest.raises(LobbyRefused) as refused:
            command(7)
        assert refused.value.code == "not_in_lobby" and refused.value.state is S.UNVERIFIED
    assert lobby.state(7) is S.UNVERIFIED and lobby.parties() == []


def test_connect_only_once_admitted_and_never_when_rejected(lobby: Lobby) -> None:
    party = lobby.check_passed(_participant(), 0.8, session_id=1)
    assert party.state is S.LOBBY
    with pytest.raises(LobbyRefused) as early:
        lobby.connect(7, 1)
    assert (early.value.code, early.value.state) == ("not_admitted", S.LOBBY)
    lobby.reject(7, "身份存疑")
    with pytest.raises(LobbyRefused) as rejected:
        lobby.connect(7, 1)
    assert (rejected.value.code, rejected.value.state) == ("not_admitted", S.REJECTED)
    assert lobby.check_passed(_participant(), 0.9, session_id=2) is party  # tries again: same devices
    assert party.state is S.LOBBY


def test_rejoin_after_a_drop_on_the_same_devices(lobby: Lobby) -> None:
    party = lobby.check_passed(_participant(), 0.8, session_id=1)
    lobby.admit(7)
    with pytest.raises(LobbyRefused) as not_connected:
        lobby.disconnect(7, "x")
    assert not_connected.value.state is S.ADMITTED
    assert lobby.connect(7, 1).state is S.CONNECTED
    assert lobby.disconnect(7, "网络中断").state is S.LEFT
    with pytest.raises(LobbyRefused):
        lobby.disconnect(7, "again")
    camera = party.camera
    assert lobby.connect(7).state is S.CONNECTED and party.camera is camera
    assert [p.participant.id for p in lobby.in_hearing()] == [7]


def test_only_the_checked_login_session_connects(lobby: Lobby) -> None:
    lobby.check_passed(_participant(), 0.8, session_id=1)
    lobby.admit(7)
    with pytest.raises(LobbyRefused) as other:
        lobby.connect(7, session_id=2)
    assert other.value.code == "face_check_required"
    assert lobby.state(7) is S.ADMITTED


def test_the_host_answers_refusals_with_its_codes(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path, model_cache: Path
) -> None:
    config = load_config(write_test_config(tmp_path, model_cache))
    case_id = create_case(
        sqlite_sessions,
        case_number="测劳人仲案字〔2026〕第31号",
        cause="劳动报酬争议",
        commission=config.room.commission,
        participants=[NewParticipant(Role.APPLICANT, "张伟", remote=True)],
    )
    host = HearingHost(
        sqlite_sessions, create_hearing(sqlite_sessions, case_id, room=config.room.name), config
    )
    applicant = host.hearing.participants[0]
    try:
        with pytest.raises(HostError) as unchecked:
            host.admit(applicant.id, actor="clerk:test")
        assert unchecked.value.code == "not_in_lobby"
        host.remote_checked(
            applicant.id, admitted=True, similarity=0.8, report={"reason": "ok"}, session_id=1
        )
        with pytest.raises(HostError) as waiting:
            host.connect(applicant.id, 1)
        assert waiting.value.code == "not_admitted"
        host.reject(applicant.id, "身份存疑", actor="clerk:test")
        with pytest.raises(HostError) as rejected:
            host.connect(applicant.id, 1)
        assert rejected.value.code == "not_admitted"
        host.disconnected(applicant.id, "closed")  # not connected: nothing to record, no error
    finally:
        host.shutdown("test end")
    types = [e.type for e in host.timeline.events()]
    assert types == [
        EventType.ATTENDANCE_REMOTE_CHECK,
        EventType.REMOTE_LOBBY,
        EventType.REMOTE_REJECTED,
    ]
