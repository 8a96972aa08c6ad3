"""The remote parties' lobby as an explicit state machine (in the pattern of :mod:`court.core.lifecycle`).

    unverified | rejected → lobby             the face check passed (someone admitted stays put)
    lobby | rejected → admitted               the clerk admits (someone admitted stays put)
    admitted | connected | left → connected   their media connects (a new connection replaces one)
    connected → left                          the connection dropped
    any but unverified → rejected             the clerk turns them away

Every command checks the party's current state first and raises :class:`LobbyRefused`, naming that
state, when :data:`TRANSITIONS` does not allow it: nobody is admitted before passing the face check,
nobody connects before being admitted, a rejected party stays out until the face check and the clerk
let them in again. A party whose connection dropped may connect again on the same devices, so the
recording shows a gap, never a second source.

The lobby keeps the parties and their pushed devices; the host writes the timeline and wires admitted
parties into the running hearing (:func:`wire`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from court.core.cases import ParticipantInfo
from court.live.transcription import remote_source
from devices.broadcast.push import PushCamera, PushMicrophone
from devices.clock import Clock

if TYPE_CHECKING:
    from court.live.assembly import AssembledHearing


class RemoteState(StrEnum):
    UNVERIFIED = "unverified"
    """Before the face check passed: not in the lobby at all (never listed)."""
    LOBBY = "lobby"
    ADMITTED = "admitted"
    CONNECTED = "connected"
    LEFT = "left"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return _REMOTE_LABELS[self]


_REMOTE_LABELS = {
    RemoteState.UNVERIFIED: "未通过人脸核验",
    RemoteState.LOBBY: "等候入庭",
    RemoteState.ADMITTED: "已准许入庭",
    RemoteState.CONNECTED: "在线",
    RemoteState.LEFT: "已断开",
    RemoteState.REJECTED: "未准许入庭",
}

REMOVED_LABEL = "已请出庭审"

IN_HEARING = frozenset({RemoteState.ADMITTED, RemoteState.CONNECTED, RemoteState.LEFT})
"""Admitted at some point and not rejected since: their channels belong to the hearing."""


class LobbyAction(StrEnum):
    CHECK_PASSED = "pass the face check"
    ADMIT = "admit"
    REJECT = "reject"
    CONNECT = "connect"
    DISCONNECT = "drop the connection"


_S = RemoteState
TRANSITIONS: Mapping[LobbyAction, Mapping[RemoteState, RemoteState]] = {
    # A passed check again (a new login session) keeps an admitted party where they are, and gives
    # a rejected party another chance in the lobby.
    LobbyAction.CHECK_PASSED: {
        _S.UNVERIFIED: _S.LOBBY,
        _S.REJECTED: _S.LOBBY,
        _S.LOBBY: _S.LOBBY,
        _S.ADMITTED: _S.ADMITTED,
        _S.CONNECTED: _S.CONNECTED,
        _S.LEFT: _S.LEFT,
    },
    # Admitting someone already in is harmless (two clerks, a double click): they stay where they are.
    LobbyAction.ADMIT: {
        _S.LOBBY: _S.ADMITTED,
        _S.REJECTED: _S.ADMITTED,
        _S.ADMITTED: _S.ADMITTED,
        _S.CONNECTED: _S.CONNECTED,
        _S.LEFT: _S.LEFT,
    },
    LobbyAction.REJECT: {s: _S.REJECTED for s in RemoteState if s is not _S.UNVERIFIED},
    # A new connection replaces the old one; after a drop the party comes back on the same devices.
    LobbyAction.CONNECT: {_S.ADMITTED: _S.CONNECTED, _S.CONNECTED: _S.CONNECTED, _S.LEFT: _S.CONNECTED},
    LobbyAction.DISCONNECT: {_S.CONNECTED: _S.LEFT},
}
"""Action → {state it is allowed from: the state it leads to}; anything else is refused."""


NOT_CHECKED = "该当事人尚未通过人脸核验 (the party has not passed the face check)"
NOT_ADMITTED = "书记员尚未准许入庭，请在等候室等候 (wait to be admitted)"


class LobbyRefused(Exception):
    """A lobby command the party's current state does not allow. ``code`` and ``message`` are what
    the web API answers (the host turns this into its :class:`~court.host.errors.HostError`)."""

    def __init__(self, action: LobbyAction, state: RemoteState, code: str, message: str) -> None:
        super().__init__(f"cannot {action.value} while the party is {state.value} ({state.label}): {message}")
        self.action = action
        self.state = state
        self.code = code
        self.message = message


def next_state(state: RemoteState, action: LobbyAction) -> RemoteState:
    """Where ``action`` leads from ``state``; :class:`LobbyRefused` when it is not allowed."""
    target = TRANSITIONS[action].get(state)
    if target is not None:
        return target
    if state is RemoteState.UNVERIFIED:
        raise LobbyRefused(action, state, "not_in_lobby", NOT_CHECKED)
    if action is LobbyAction.CONNECT:
        raise LobbyRefused(action, state, "not_admitted", NOT_ADMITTED)
    raise LobbyRefused(action, state, "not_connected", "该当事人当前未连线 (the party is not connected)")


@dataclass
class RemoteParty:
    participant: ParticipantInfo
    state: RemoteState
    similarity: float | None
    camera: PushCamera
    microphone: PushMicrophone
    wired: bool = False
    presence_recorded: bool = False
    session_id: int | None = None
    """The login session that passed the face check: another session (a re-sent code, a second
    device) must pass it again before its media may enter."""
    receiver: Any = None
    """What the media side keeps for this party across reconnections (one per party)."""
    removed_reason: str | None = None
    """Why the clerk removed the party from the hearing (rejected after being in it), else None."""

    @property
    def audio_source(self) -> str:
        return remote_source(self.participant.id)

    @property
    def video_source(self) -> str:
        return f"{remote_source(self.participant.id)}-cam"

    def to_json(self) -> dict[str, Any]:
        return {
            "participant_id": self.participant.id,
            "name": self.participant.name,
            "role": self.participant.role.value,
            "role_label": self.participant.role.label,
            "state": self.state.value,
            "state_label": REMOVED_LABEL if self.removed_reason is not None else self.state.label,
            "similarity": self.similarity,
            "removed": self.removed_reason is not None,
        }


class Lobby:
    """The remote parties of one hearing. Thread-safe: API handlers and media threads call in."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._parties: dict[int, RemoteParty] = {}
        self._lock = threading.Lock()

    def parties(self) -> list[RemoteParty]:
        with self._lock:
            return list(self._parties.values())

    def get(self, participant_id: int) -> RemoteParty | None:
        with self._lock:
            return self._parties.get(participant_id)

    def state(self, participant_id: int) -> RemoteState:
        party = self.get(participant_id)
        return RemoteState.UNVERIFIED if party is None else party.state

    def in_hearing(self) -> list[RemoteParty]:
        with self._lock:
            return [p for p in self._parties.values() if p.state in IN_HEARING]

    # -- commands: check the state, then move -------------------------------------------------------

    def check_passed(
        self, participant: ParticipantInfo, similarity: float | None, session_id: int | None
    ) -> RemoteParty:
        """The party passed the face check from ``session_id``: into the lobby (devices made once)."""
        with self._lock:
            party = self._parties.get(participant.id)
            if party is None:
                party = RemoteParty(
                    participant,
                    next_state(RemoteState.UNVERIFIED, LobbyAction.CHECK_PASSED),
                    similarity,
                    PushCamera(f"remote-{participant.id}-cam", self._clock),
                    PushMicrophone(f"remote-{participant.id}", self._clock),
                )
                self._parties[participant.id] = party
            else:
                party.state = next_state(party.state, LobbyAction.CHECK_PASSED)
            party.similarity = similarity
            party.session_id = session_id
            return party

    def admit(self, participant_id: int) -> RemoteParty:
        with self._lock:
            party = self._move_locked(participant_id, LobbyAction.ADMIT)
            party.removed_reason = None
            return party

    def reject(self, participant_id: int, reason: str) -> RemoteParty:
        """Not admitted from the lobby, or removed from the hearing (``reason`` is kept for the
        party's page) when they were in it."""
        with self._lock:
            before = self._parties.get(participant_id)
            was_in = before is not None and before.state in IN_HEARING
            party = self._move_locked(participant_id, LobbyAction.REJECT)
            party.removed_reason = reason if was_in else None
        party.camera.detach(reason)
        party.microphone.detach(reason)
        return party

    def connect(self, participant_id: int, session_id: int | None = None) -> RemoteParty:
        """Only from the login session that passed the face check (when one is named)."""
        with self._lock:
            party = self._parties.get(participant_id)
            if party is not None and session_id is not None and party.session_id != session_id:
                raise LobbyRefused(
                    LobbyAction.CONNECT,
                    party.state,
                    "face_check_required",
                    "请先完成人脸核验 (this session has not passed the face check)",
                )
            return self._move_locked(participant_id, LobbyAction.CONNECT)

    def disconnect(self, participant_id: int, reason: str) -> RemoteParty:
        party = self._move(participant_id, LobbyAction.DISCONNECT)
        party.camera.detach(reason)
        party.microphone.detach(reason)
        return party

    # -- the devices --------------------------------------------------------------------------------

    def detach_all(self, reason: str) -> None:
        for party in self.parties():
            party.camera.detach(reason)
            party.microphone.detach(reason)

    def close(self) -> None:
        for party in self.parties():
            party.camera.close()
            party.microphone.close()

    def _move(self, participant_id: int, action: LobbyAction) -> RemoteParty:
        with self._lock:
            return self._move_locked(participant_id, action)

    def _move_locked(self, participant_id: int, action: LobbyAction) -> RemoteParty:
        party = self._parties.get(participant_id)
        target = next_state(RemoteState.UNVERIFIED if party is None else party.state, action)
        assert party is not None, "only the face check leads out of unverified, and it makes the party"
        party.state = target
        return party


def wire(assembled: AssembledHearing, party: RemoteParty) -> None:
    """Their track becomes their role's channel: recorded, transcribed, and a camera for the director
    (once: a party who rejoins feeds the same devices)."""
    if party.wired:
        return
    party.wired = True
    session = assembled.session
    if session.transcription is not None:
        session.transcription.add_remote(party.participant, party.audio_source)
    assembled.live.add_remote(
        party.audio_source,
        party.participant.role,
        party.participant.label,
        audio_source=party.audio_source,
        video_source=party.video_source,
    )
    session.recording.add_microphone(party.audio_source, party.microphone)
    session.recording.add_camera(party.video_source, party.camera)
