"""One hearing running inside the server: the session (room, recording, transcript, director and
program feed) driven by the clerk's console, and the remote parties joining over the network.

The host is what the web layer talks to; it takes and gives plain values. Every fact goes to the
hearing's timeline first, through one :class:`Timeline` shared with the session, so the console,
the 笔录 and the recording index all read the same record.

A remote party goes: face check passed → ``lobby`` → the clerk admits → ``admitted`` → their
media connects → ``connected`` → (dropped) ``left`` → may connect again with the same devices, so
the recording shows a gap, never a second source.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from court.attendance.arrivals import Arrival
from court.config import Config
from court.core.cases import HearingInfo, ParticipantInfo, load_hearing, set_clock_origin
from court.core.events import EventType
from court.core.lifecycle import HearingState, InvalidTransition, Lifecycle, Phase
from court.core.timeline import Timeline, TimelineEvent, read_events
from court.live.announcement import Announcement
from court.live.assembly import AssembledHearing, assemble_hearing
from court.live.session import StartupFailed
from court.live.transcription import remote_source
from court.record.bilu import Bilu, lock_if_closed
from court.record.evidence import EvidenceInfo
from court.record.evidence import present_evidence as _present_evidence
from devices.broadcast.mix import AudioMixer, AudioSubscription
from devices.broadcast.push import PushCamera, PushMicrophone
from devices.clock import WallClock
from devices.interfaces import DisplayContent
from devices.media import AudioChunk, Image
from devices.tts import MandarinSynthesizer

log = logging.getLogger(__name__)

WHOLE_FEED = "*"
CAUCUS_HOLD = "caucus"
"""The recorder hold of a caucus: independent of device faults and other holds."""


class HostError(Exception):
    """A request the hearing cannot carry out now; ``code`` for the API, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class HostStatus(StrEnum):
    IDLE = "idle"
    """Nothing running in this process (before the start, or after a server restart)."""
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"
    CLOSED = "closed"


_RESUMABLE = (HearingState.IN_SESSION, HearingState.RECESS)
"""States a hearing can be in when the server stops under it: the start button carries on."""


class RemoteState(StrEnum):
    LOBBY = "lobby"
    ADMITTED = "admitted"
    CONNECTED = "connected"
    LEFT = "left"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return _REMOTE_LABELS[self]


_REMOTE_LABELS = {
    RemoteState.LOBBY: "等候入庭",
    RemoteState.ADMITTED: "已准许入庭",
    RemoteState.CONNECTED: "在线",
    RemoteState.LEFT: "已断开",
    RemoteState.REJECTED: "未准许入庭",
}


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
            "state_label": self.state.label,
            "similarity": self.similarity,
        }


class HearingHost:
    """One hearing in this process. Thread-safe: API handlers, the start thread and media threads
    all call in."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        hearing_id: int,
        config: Config,
        *,
        key_path: Path | None = None,
        assemble: Callable[..., AssembledHearing] = assemble_hearing,
    ) -> None:
        self.sessions = sessions
        self.hearing_id = hearing_id
        self.hearing: HearingInfo = load_hearing(sessions, hearing_id)
        root = config.recording.root / f"hearing-{hearing_id}"
        backup = config.recording.backup / f"hearing-{hearing_id}" if config.recording.backup else None
        self.config = replace(config, recording=replace(config.recording, root=root, backup=backup))
        self.key_path = key_path
        self._assemble_fn = assemble
        origin = self.hearing.clock_origin
        if origin is None:
            origin = datetime.now(UTC)
            set_clock_origin(sessions, hearing_id, origin, str(root))
        self.clock = WallClock(origin)
        self.timeline = Timeline(sessions, hearing_id, self.clock)
        self.mixer = AudioMixer(self.clock)
        self.status = HostStatus.IDLE
        self.error = ""
        self.public_live = False
        self.caucus: dict[str, Any] | None = None
        self._assembled: AssembledHearing | None = None
        self._remotes: dict[int, RemoteParty] = {}
        self._confirmed: dict[int, str] = {}
        self._door: Any = None
        """The door terminal's face check while the start's attendance step runs (FaceAttendance)."""
        self._lock = threading.RLock()
        self._start_thread: threading.Thread | None = None

    # -- reading ---------------------------------------------------------------------------------------

    @property
    def lifecycle(self) -> Lifecycle:
        if self._assembled is not None:
            return self._assembled.session.lifecycle
        return Lifecycle.replay((e.type, e.payload) for e in read_events(self.sessions, self.hearing_id))

    @property
    def assembled(self) -> AssembledHearing | None:
        return self._assembled

    def remotes(self) -> list[RemoteParty]:
        with self._lock:
            return list(self._remotes.values())

    def remote(self, participant_id: int) -> RemoteParty | None:
        with self._lock:
            return self._remotes.get(participant_id)

    def snapshot(self) -> dict[str, Any]:
        lifecycle = self.lifecycle
        assembled = self._assembled
        director: dict[str, Any] | None = None
        devices: list[dict[str, Any]] = []
        if assembled is not None:
            live = assembled.live
            director = {
                "camera": live.director.camera,
                "mode": live.director.mode.value,
                "caption": live.feed.caption,
                "masks": {k: v.value for k, v in live.feed.masks().items()},
                "cameras": sorted(live.director.cameras),
            }
            faults = assembled.session.recording.faults()
            devices = [{"source": source, "fault": fault} for source, fault in sorted(faults.items())]
        return {
            "hearing_id": self.hearing_id,
            "case_number": self.hearing.case_number,
            "cause": self.hearing.cause,
            "kind": self.hearing.kind,
            "state": lifecycle.state.value,
            "state_label": lifecycle.state.label,
            "phase": lifecycle.phase.value if lifecycle.phase else None,
            "phase_label": lifecycle.phase.label if lifecycle.phase else None,
            "host": self.status.value,
            "error": self.error,
            "livestream_allowed": self.hearing.livestream_allowed,
            "public_live": self.public_live,
            "caucus": self.caucus,
            "door_check": self._door is not None,
            "director": director,
            "devices": devices,
            "remotes": [r.to_json() for r in self.remotes()],
        }

    # -- the one-click start ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the room on a worker thread (models load, devices check, recording, attendance,
        discipline); progress is the timeline's ``startup.*`` events."""
        with self._lock:
            if self.status in (HostStatus.STARTING, HostStatus.RUNNING):
                raise HostError("already_started", "庭审已经启动 (the hearing is already started)")
            state = self.lifecycle.state
            if state in (HearingState.SCHEDULED, HearingState.PREPARING):
                # In preparation: a start that failed or was cut off by a crash runs again in full.
                target = self._run_start
            elif state in _RESUMABLE:
                target = self._run_recover
            else:
                raise HostError(
                    "bad_state", f"庭审状态为{state.label}，不能一键启动 (cannot start from {state.value})"
                )
            self.status = HostStatus.STARTING
            self.error = ""
            self._start_thread = threading.Thread(target=target, name="one-click", daemon=True)
            self._start_thread.start()

    def wait_started(self, timeout: float | None = None) -> HostStatus:
        thread = self._start_thread
        if thread is not None:
            thread.join(timeout)
        return self.status

    def _run_start(self) -> None:
        try:
            assembled = self._assemble()
            if assembled.session.state is HearingState.PREPARING:
                self.timeline.append(
                    EventType.STARTUP_RETRIED,
                    {"reason": "上次启动未完成，重新一键启动 (the last start did not finish)"},
                )
                # Segments a crash left open are kept and flagged before recording starts again.
                assembled.session.recording.recover(self.timeline, "上次启动时未关闭的录制段 (left open)")
            assembled.session.one_click_start(_HostAttendance(self))
            with self._lock:
                self.status = HostStatus.RUNNING
        except StartupFailed as exc:
            self._failed(str(exc))
        except Exception as exc:  # the clerk must see why, and the record must say so
            log.exception("one-click start failed")
            self._failed(f"{type(exc).__name__}: {exc}")
            try:
                self.timeline.append(EventType.STARTUP_FAILED, {"step": "server", "reason": str(exc)})
            except Exception:
                log.exception("could not log the failed start")

    def _run_recover(self) -> None:
        """The server stopped mid-hearing (a crash, a restart): repair the recording folder (open
        segments kept and flagged), record the restart, and carry on from the recorded state."""
        try:
            assembled = self._assemble()
            session = assembled.session
            state = session.state
            self.timeline.append(
                EventType.PROCESS_RESTARTED,
                {"state": state.value, "reason": "服务器重启后恢复 (server restarted)"},
            )
            session.carry_on("服务器中断时未关闭的录制段 (open at the server's stop)")
            with self._lock:
                self.status = HostStatus.RUNNING
        except Exception as exc:
            log.exception("resuming the hearing failed")
            self._failed(f"{type(exc).__name__}: {exc}")

    def _failed(self, why: str) -> None:
        with self._lock:
            self.status = HostStatus.FAILED
            self.error = why
        if self._assembled is not None:
            self._assembled.session.shutdown(f"startup failed: {why}")
            self._assembled = None

    def _assemble(self) -> AssembledHearing:
        synthesizer = MandarinSynthesizer(
            cache_dir=self.config.models.cache_dir / "tts", assets_dir=self.config.models.tts_assets
        )
        announcement = Announcement.from_config(self.config, synthesizer)
        announcement.warm()
        assembled: AssembledHearing = self._assemble_fn(
            self.sessions,
            self.hearing_id,
            self.config,
            self.clock,
            announcement,
            consumers=[self.mixer.feed],
            timeline=self.timeline,
            transcribe_while=lambda: self.caucus is None,
        )
        with self._lock:
            self._assembled = assembled
            for party in self._remotes.values():
                if party.state in (RemoteState.ADMITTED, RemoteState.CONNECTED, RemoteState.LEFT):
                    self._wire(party)
        return assembled

    # -- the hearing proper ----------------------------------------------------------------------------

    def open(self) -> TimelineEvent:
        return self._lifecycle_step(lambda s: s.open())

    def change_phase(self, phase: Phase, reason: str | None = None) -> TimelineEvent:
        return self._lifecycle_step(lambda s: s.change_phase(phase, reason))

    def recess(self, reason: str) -> TimelineEvent:
        return self._lifecycle_step(lambda s: s.recess(reason))

    def resume(self) -> TimelineEvent:
        return self._lifecycle_step(lambda s: s.resume())

    def close(self) -> TimelineEvent:
        """Close the hearing: the last words are decoded, the recording closed, the 笔录 locked for
        signing, the devices released."""
        event = self._lifecycle_step(lambda s: s.close())
        assembled = self._assembled
        with self._lock:
            self.status = HostStatus.CLOSED
            self.public_live = False
            for party in self._remotes.values():
                party.camera.detach("闭庭 (hearing closed)")
                party.microphone.detach("闭庭 (hearing closed)")
        if assembled is not None:
            assembled.session.devices.close()
        lock_if_closed(self.sessions, self.hearing_id, key_path=self.key_path)
        return event

    def shutdown(self, reason: str) -> None:
        """The server is stopping: close the recording properly (the hearing can resume later)."""
        assembled, self._assembled = self._assembled, None
        if assembled is not None:
            assembled.session.shutdown(reason)
        for party in self.remotes():
            party.camera.close()
            party.microphone.close()

    def _lifecycle_step(self, step: Callable[[Any], TimelineEvent]) -> TimelineEvent:
        assembled = self._assembled
        if assembled is None or self.status is not HostStatus.RUNNING:
            raise HostError("not_running", "庭审尚未启动或已结束 (the hearing is not running)")
        try:
            return step(assembled.session)
        except InvalidTransition as exc:
            raise HostError("invalid_transition", str(exc)) from None

    # -- attendance ------------------------------------------------------------------------------------

    def confirm_presence(self, participant_id: int, reason: str, *, actor: str) -> None:
        """The clerk confirms someone in person (with a reason, logged): at once when the
        attendance step has passed, else at the attendance step of the start."""
        participant = self._participant(participant_id)
        if not reason.strip():
            raise HostError("reason_required", "人工确认到庭须写明理由 (a reason is required)")
        with self._lock:
            assembled = self._assembled
            if assembled is not None and assembled.session.lifecycle.attendance_checked:
                assembled.session.record_presence(participant, method="clerk", note=reason.strip())
                return
            door = self._door
            if door is not None:  # the door check is running: it records the confirmation in order
                door.confirm(participant_id, reason.strip())
                return
            self._confirmed[participant_id] = reason.strip()
        self.timeline.append(
            EventType.ATTENDANCE_CONFIRMATION_NOTED,
            {"participant_id": participant_id, "name": participant.name, "reason": reason.strip()},
            actor=actor,
        )

    def end_door_check(self, *, actor: str) -> None:
        """The clerk closes the attendance step: whoever has not come is absent (they can still be
        confirmed in person later, as a late arrival)."""
        door = self._door
        if door is None:
            raise HostError("no_door_check", "当前没有进行中的到庭核验 (no door check is running)")
        self.timeline.append(EventType.ATTENDANCE_DOOR_CLOSED, {"reason": "书记员结束到庭核验"}, actor=actor)
        door.stop()

    def _door_arrivals(self, waiting: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        """The door terminal's face check for the in-room parties not yet accounted for, until all
        have come, the clerk ends it, or ``[face] timeout`` passes."""
        assembled = self._assembled
        terminal = assembled.session.devices.face_terminal if assembled is not None else None
        if terminal is None or not waiting:
            return
        try:
            from court.attendance.enrolment import load_templates
            from court.attendance.face_check import FaceAttendance, face_settings
            from devices.face import shared_analyzer

            templates = load_templates(self.sessions, [p.id for p in waiting])
            if not templates:
                return  # no ID photo enrolled for anyone awaited: the clerk confirms in person
            analyzer = shared_analyzer()
        except Exception as exc:  # no face models: the clerk confirms in person
            self.timeline.append(
                EventType.ATTENDANCE_DOOR_UNAVAILABLE, {"reason": f"{type(exc).__name__}: {exc}"}
            )
            return
        assert assembled is not None
        settings = face_settings(self.config.face)
        door = FaceAttendance(
            terminal,
            templates,
            self.clock,
            analyzer=analyzer,
            settings=settings,
            report=assembled.session.record_attendance_issue,
        )
        self.timeline.append(
            EventType.ATTENDANCE_DOOR_OPEN,
            {"participants": [p.id for p in waiting], "timeout": settings.timeout},
        )
        with self._lock:
            self._door = door
        try:
            yield from door.arrivals(waiting)
        finally:
            with self._lock:
                self._door = None

    def _arrivals(self) -> Iterator[Arrival]:
        with self._lock:
            remotes = [
                r for r in self._remotes.values() if r.state in (RemoteState.ADMITTED, RemoteState.CONNECTED)
            ]
            confirmed = dict(self._confirmed)
        for party in remotes:
            party.presence_recorded = True
            yield Arrival(
                party.participant.id, method="face", similarity=party.similarity, note="远程人脸核验通过"
            )
        for participant_id, reason in confirmed.items():
            yield Arrival(participant_id, method="clerk", note=reason)

    # -- remote parties --------------------------------------------------------------------------------

    def remote_checked(
        self,
        participant_id: int,
        *,
        admitted: bool,
        similarity: float | None,
        report: dict[str, Any],
        session_id: int | None = None,
    ) -> RemoteParty | None:
        """The result of a remote party's face check: passed → the lobby; failed → logged, for the
        clerk (the party may try again)."""
        participant = self._participant(participant_id)
        self.timeline.append(
            EventType.ATTENDANCE_REMOTE_CHECK,
            {
                **report,
                "participant_id": participant_id,
                "name": participant.name,
                "role": participant.role.value,
            },
            actor=f"party:{participant_id}",
        )
        if not admitted:
            return None
        with self._lock:
            party = self._remotes.get(participant_id)
            if party is None:
                party = RemoteParty(
                    participant,
                    RemoteState.LOBBY,
                    similarity,
                    PushCamera(f"remote-{participant_id}-cam", self.clock),
                    PushMicrophone(f"remote-{participant_id}", self.clock),
                )
                self._remotes[participant_id] = party
            elif party.state is RemoteState.REJECTED:
                party.state = RemoteState.LOBBY
            party.similarity = similarity
            party.session_id = session_id
        self.timeline.append(EventType.REMOTE_LOBBY, party.to_json(), actor=f"party:{participant_id}")
        return party

    def face_similarity(self, participant_id: int, session_id: int | None) -> float | None:
        """The similarity of the party's passed face check, if it was passed in this login session:
        a signature made from another session records the login only."""
        party = self.remote(participant_id)
        if party is None or party.session_id != session_id:
            return None
        return party.similarity

    def admit(self, participant_id: int, *, actor: str) -> RemoteParty:
        party = self._require_remote(participant_id)
        with self._lock:
            if party.state is RemoteState.LOBBY or party.state is RemoteState.REJECTED:
                party.state = RemoteState.ADMITTED
            if self._assembled is not None:
                self._wire(party)
            record_now = (
                self._assembled is not None
                and self._assembled.session.lifecycle.attendance_checked
                and not party.presence_recorded
            )
            if record_now:
                party.presence_recorded = True
        self.timeline.append(EventType.REMOTE_ADMITTED, party.to_json(), actor=actor)
        if record_now and self._assembled is not None:
            self._assembled.session.record_presence(
                party.participant, method="face", similarity=party.similarity, note="远程人脸核验通过"
            )
        return party

    def reject(self, participant_id: int, reason: str, *, actor: str) -> RemoteParty:
        party = self._require_remote(participant_id)
        with self._lock:
            party.state = RemoteState.REJECTED
        party.camera.detach("未准许入庭 (not admitted)")
        party.microphone.detach("未准许入庭 (not admitted)")
        self.timeline.append(EventType.REMOTE_REJECTED, {**party.to_json(), "reason": reason}, actor=actor)
        return party

    def connect(self, participant_id: int, session_id: int | None = None) -> RemoteParty:
        """The party's media is connecting: only once admitted, and only from the session that
        passed the face check."""
        party = self._require_remote(participant_id)
        if session_id is not None and party.session_id != session_id:
            raise HostError(
                "face_check_required", "请先完成人脸核验 (this session has not passed the face check)"
            )
        with self._lock:
            if party.state not in (RemoteState.ADMITTED, RemoteState.CONNECTED, RemoteState.LEFT):
                raise HostError("not_admitted", "书记员尚未准许入庭，请在等候室等候 (wait to be admitted)")
            party.state = RemoteState.CONNECTED
        self.timeline.append(EventType.REMOTE_CONNECTED, party.to_json(), actor=f"party:{participant_id}")
        return party

    def disconnected(self, participant_id: int, reason: str) -> None:
        party = self.remote(participant_id)
        if party is None or party.state is not RemoteState.CONNECTED:
            return
        with self._lock:
            party.state = RemoteState.LEFT
        party.camera.detach(reason)
        party.microphone.detach(reason)
        self.timeline.append(EventType.REMOTE_DISCONNECTED, {**party.to_json(), "reason": reason})

    def _wire(self, party: RemoteParty) -> None:
        """Their track becomes their role's channel: recorded, transcribed, and a camera for the
        director (once)."""
        assembled = self._assembled
        if assembled is None or party.wired:
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

    def _require_remote(self, participant_id: int) -> RemoteParty:
        party = self.remote(participant_id)
        if party is None:
            raise HostError(
                "not_in_lobby", "该当事人尚未通过人脸核验 (the party has not passed the face check)"
            )
        return party

    def _participant(self, participant_id: int) -> ParticipantInfo:
        for participant in self.hearing.participants:
            if participant.id == participant_id:
                return participant
        raise HostError("unknown_participant", f"本案没有参与人 {participant_id} (no such participant)")

    # -- the program feed, masks, the public stream ----------------------------------------------------

    def direct(
        self, action: str, *, camera: str | None, seconds: float | None, reason: str, actor: str
    ) -> None:
        live = self._running().live
        try:
            if action == "auto":
                live.resume(reason, actor=actor)
            elif action == "manual":
                live.manual(reason, camera, actor=actor)
            elif action == "select" and camera:
                live.select(camera, reason, actor=actor)
            elif action == "lock" and camera:
                live.lock(camera, seconds or 30.0, reason, actor=actor)
            else:
                raise HostError("bad_action", f"无法执行的导播操作 {action!r} (unknown director action)")
        except (KeyError, ValueError) as exc:
            raise HostError("bad_camera", f"没有这个机位 (no such camera): {exc}") from None

    def mask(self, target: str, mode: str | None, reason: str, *, actor: str) -> None:
        live = self._running().live
        try:
            if mode is None:
                live.unmask(target, reason, actor=actor)
            else:
                live.mask(target, mode, reason, actor=actor)
        except Exception as exc:
            raise HostError("bad_mask", f"无法遮蔽 (cannot mask): {exc}") from None

    def set_public(self, on: bool, reason: str, *, actor: str) -> None:
        """Approve the public stream (only for a case approved for livestream) or cut it (kill switch)."""
        if on and not self.hearing.livestream_allowed:
            raise HostError(
                "not_approved", "本案未获准公开直播 (the case is not approved for a public livestream)"
            )
        with self._lock:
            self.public_live = on
        self.timeline.append(
            EventType.LIVESTREAM_STARTED if on else EventType.LIVESTREAM_STOPPED,
            {"reason": reason, "audience": "public"},
            actor=actor,
        )

    def _running(self) -> AssembledHearing:
        assembled = self._assembled
        if assembled is None or self.status is not HostStatus.RUNNING:
            raise HostError("not_running", "庭审尚未启动或已结束 (the hearing is not running)")
        return assembled

    # -- evidence on screen ----------------------------------------------------------------------------

    def present_evidence(self, info: EvidenceInfo, *, actor: str) -> TimelineEvent:
        """Put a filed exhibit on every screen: ``evidence.presented`` (the parties' and viewers' pages
        follow the timeline) and, while the room runs, the room display — the picture itself for an
        image, its title and hash otherwise."""
        event = _present_evidence(self.timeline, info, actor=actor)
        assembled = self._assembled
        if assembled is not None and self.status is HostStatus.RUNNING:
            picture = _evidence_picture(info)
            submitter = f"提交人：{info.submitter}" if info.submitter else ""
            lines = [info.filename, submitter, f"SHA-256 {info.sha256[:16]}…"]
            if picture is None and not info.media_type.startswith("image/"):
                lines.append("请在终端查看原件")
            content = DisplayContent(
                title=f"证据：{info.title}", text="\n".join(x for x in lines if x), image=picture
            )
            assembled.session.show(content, "evidence")
        return event

    # -- mediation: the private talk with one side -----------------------------------------------------

    def start_caucus(self, side: str, *, actor: str) -> None:
        """背靠背: the arbitrator talks with one side alone. The other side neither sees nor hears it,
        nothing of it is streamed, transcribed or recorded as sound (the pictures are, the live feed
        is slated); the record says when, not what."""
        if side not in ("applicant", "respondent"):
            raise HostError(
                "bad_side", "背靠背调解须指明申请人方或被申请人方 (side: applicant or respondent)"
            )
        assembled = self._running()
        with self._lock:
            if self.caucus is not None:
                raise HostError("caucus_running", "背靠背调解正在进行 (a caucus is already running)")
            self.caucus = {"side": side, "started": round(self.clock.now(), 3)}
        assembled.live.mask(WHOLE_FEED, "slate", "背靠背调解 (caucus)", actor=actor)
        assembled.session.recording.hold_audio("背靠背调解，不录音 (caucus: not recorded)", CAUCUS_HOLD)
        self.timeline.append(EventType.CAUCUS_STARTED, {"side": side}, actor=actor)

    def end_caucus(self, *, actor: str) -> None:
        assembled = self._running()
        with self._lock:
            if self.caucus is None:
                raise HostError("no_caucus", "没有进行中的背靠背调解 (no caucus is running)")
            side = self.caucus["side"]
            self.caucus = None
        assembled.session.recording.release_audio("背靠背调解结束 (caucus ended)", CAUCUS_HOLD)
        assembled.live.unmask(WHOLE_FEED, "背靠背调解结束 (caucus ended)", actor=actor)
        self.timeline.append(EventType.CAUCUS_ENDED, {"side": side}, actor=actor)

    def hears(self, participant_id: int) -> bool:
        """Whether a remote party may hear and see the hearing now (not during the other side's
        caucus)."""
        caucus = self.caucus
        if caucus is None:
            return True
        party = self.remote(participant_id)
        if party is None:
            return False
        side = "applicant" if party.participant.role.value.startswith("applicant") else "respondent"
        return bool(side == caucus["side"])

    def listen(self, exclude: Collection[str] = ()) -> GatedAudio:
        """The hearing's sound for one listener. ``exclude`` names a party's own channel (they hear
        everyone but themselves); during a caucus only its side hears, viewers and the public hear
        silence."""
        party = next((r for r in self.remotes() if r.audio_source in exclude), None)
        if party is not None:
            pid = party.participant.id
            return GatedAudio(self.mixer.subscribe(exclude=exclude), lambda: self.hears(pid))
        return GatedAudio(self.mixer.subscribe(exclude=exclude), lambda: self.caucus is None)

    # -- the transcript and the 笔录 ---------------------------------------------------------------------

    def bilu(self) -> Bilu:
        return Bilu(self.sessions, self.hearing_id, timeline=self.timeline, key_path=self.key_path)


_MAX_PICTURE_PIXELS = 60_000_000
"""Larger images are not decoded for the room display (a decompression bomb must not stall the room)."""


def _evidence_picture(info: EvidenceInfo, max_size: tuple[int, int] = (1920, 1080)) -> Image | None:
    """The exhibit as a BGR picture for the room display (scaled to fit ``max_size``), or None when it
    is not an image or cannot be read."""
    if not info.media_type.startswith("image/"):
        return None
    from PIL import Image as PILImage

    try:
        with PILImage.open(info.stored_path) as img:
            width, height = img.size
            if width * height > _MAX_PICTURE_PIXELS:
                log.warning("evidence %s too large to show (%dx%d)", info.id, width, height)
                return None
            img.draft("RGB", max_size)  # JPEG: decode at a reduced scale
            rgb = img.convert("RGB")
            rgb.thumbnail(max_size)
            return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[:, :, ::-1])
    except Exception:
        log.exception("could not decode evidence %s for the display", info.id)
        return None


class GatedAudio:
    """A listener's sound, silenced while they may not hear (the other side's caucus)."""

    def __init__(self, source: AudioSubscription, allowed: Callable[[], bool]) -> None:
        self._source = source
        self._allowed = allowed

    def get(self, timeout: float | None = None) -> AudioChunk | None:
        chunk = self._source.get(timeout)
        if chunk is None or self._allowed():
            return chunk
        return AudioChunk(np.zeros_like(chunk.samples), chunk.sample_rate, chunk.t)

    def close(self) -> None:
        self._source.close()


class _HostAttendance:
    """The start's attendance step in the server: remote parties who passed the face check and were
    admitted, and those the clerk confirmed in person."""

    def __init__(self, host: HearingHost) -> None:
        self.host = host

    def arrivals(self, expected: Sequence[ParticipantInfo]) -> Iterator[Arrival]:
        wanted = {p.id for p in expected}
        found: set[int] = set()
        for arrival in self.host._arrivals():
            if arrival.participant_id in wanted:
                found.add(arrival.participant_id)
                yield arrival
        waiting = [p for p in expected if p.id not in found and not p.remote]
        yield from self.host._door_arrivals(waiting)


class HearingHosts:
    """The hearings running in this server process, one host each, made on first use."""

    def __init__(
        self, sessions: sessionmaker[Session], config: Config, *, key_path: Path | None = None
    ) -> None:
        self.sessions = sessions
        self.config = config
        self.key_path = key_path
        self._hosts: dict[int, HearingHost] = {}
        self._lock = threading.Lock()

    def get(self, hearing_id: int) -> HearingHost:
        with self._lock:
            host = self._hosts.get(hearing_id)
            if host is None:
                host = HearingHost(self.sessions, hearing_id, self.config, key_path=self.key_path)
                self._hosts[hearing_id] = host
            return host

    def running(self, hearing_id: int) -> HearingHost | None:
        with self._lock:
            return self._hosts.get(hearing_id)

    def shutdown(self, reason: str) -> None:
        with self._lock:
            hosts = list(self._hosts.values())
        for host in hosts:
            host.shutdown(reason)
