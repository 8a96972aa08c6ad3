"""One hearing running inside the server: the session (room, recording, transcript, director and
program feed) driven by the clerk's console, and the remote parties joining over the network.

The host is the facade the web layer talks to; it takes and gives plain values and raises
:class:`~court.host.errors.HostError` for what cannot be done now. Every fact goes to the hearing's
timeline first, through one :class:`Timeline` shared with the session, so the console, the 笔录 and
the recording index all read the same record. The jobs live beside it: the remote parties' lobby
(:mod:`court.host.lobby`), attendance at the start (:mod:`court.host.door`), the caucus
(:mod:`court.host.caucus`), director and masks (:mod:`court.host.directing`), evidence on the room
display (:mod:`court.host.evidence_display`) and the way back after a restart
(:mod:`court.live.recovery`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from court.config import Config
from court.core.cases import HearingInfo, ParticipantInfo, load_hearing, set_clock_origin
from court.core.claims import STORE_NOT_SHARED, Claim, ClaimRefused, Holder
from court.core.events import EventType
from court.core.lifecycle import HearingState, InvalidTransition, Lifecycle, Phase
from court.core.timeline import Timeline, TimelineEvent, read_events
from court.host import directing
from court.host.caucus import Caucus, GatedAudio
from court.host.door import DoorAttendance
from court.host.errors import HostError
from court.host.evidence_display import evidence_content
from court.host.lobby import Lobby, LobbyRefused, RemoteParty, wire
from court.host.rooms import RoomNode, where
from court.live import recovery
from court.live.assembly import AssembledHearing, assemble_hearing, build_announcement
from court.live.session import HearingSession, StartupFailed
from court.record.bilu import Bilu, lock_if_closed
from court.record.evidence import EvidenceInfo
from court.record.evidence import present_evidence as _present_evidence
from court.record.signer_identity import SignerFaceCheck
from devices.broadcast.mix import AudioMixer
from devices.clock import Clock, WallClock

log = logging.getLogger(__name__)


class HostStatus(StrEnum):
    IDLE = "idle"
    """Nothing running in this process (before the start, or after a server restart)."""
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"
    CLOSED = "closed"


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
        clock: Clock | None = None,
        room: RoomNode | None = None,
    ) -> None:
        """``clock``: the hearing clock (a test runs a simulated room faster); by default real time
        from the hearing's clock origin, so the clock goes on where it was after a server restart.
        ``room``: this process as a room of the institute; the start claims the hearing for it (none:
        a room of its own, nothing to claim)."""
        self.sessions = sessions
        self.hearing_id = hearing_id
        self.hearing: HearingInfo = load_hearing(sessions, hearing_id)
        root = config.recording.root / f"hearing-{hearing_id}"
        backup = config.recording.backup / f"hearing-{hearing_id}" if config.recording.backup else None
        self.config = replace(config, recording=replace(config.recording, root=root, backup=backup))
        self.key_path = key_path
        self.room = room
        self._assemble_fn = assemble
        origin = self.hearing.clock_origin
        if origin is None:
            origin = clock.wall(0.0) if clock is not None else datetime.now(UTC)
            set_clock_origin(sessions, hearing_id, origin, str(root))
        self.clock: Clock = clock if clock is not None else WallClock(origin)
        self.timeline = Timeline(sessions, hearing_id, self.clock)
        self.mixer = AudioMixer(self.clock)
        self.status = HostStatus.IDLE
        self.error = ""
        self.public_live = False
        self.lobby = Lobby(self.clock)
        self.caucus = Caucus(self.clock, self.timeline)
        self.door = DoorAttendance(sessions, self.config.face, self.clock, self.timeline, self.lobby)
        self._assembled: AssembledHearing | None = None
        self._lock = threading.RLock()
        self._start_thread: threading.Thread | None = None
        self._face_checks: dict[tuple[int, int | None], SignerFaceCheck] = {}

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
        return self.lobby.parties()

    def remote(self, participant_id: int) -> RemoteParty | None:
        return self.lobby.get(participant_id)

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
            "caucus": self.caucus.to_json(),
            "door_check": self.door.door_open,
            "director": director,
            "devices": devices,
            "remotes": [r.to_json() for r in self.remotes()],
            "room": self._where(),
        }

    def _where(self) -> dict[str, Any] | None:
        """The room that holds the hearing now (None: none does), and whether it is this one."""
        lease = self.room.settings.lease_seconds if self.room is not None else 15.0
        held = where(self.sessions, self.hearing_id, lease)
        if held is not None:
            held["here"] = self.room is not None and held["node"] == self.room.node
            del held["node"]
        return held

    # -- the one-click start ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the room on a worker thread (models load, devices check, recording, attendance,
        discipline); progress is the timeline's ``startup.*`` events. A hearing the server stopped
        under carries on instead (:mod:`court.live.recovery`)."""
        with self._lock:
            if self.status in (HostStatus.STARTING, HostStatus.RUNNING):
                raise HostError("already_started", "庭审已经启动 (the hearing is already started)")
            state = self.lifecycle.state
            if state in (HearingState.SCHEDULED, HearingState.PREPARING):
                # In preparation: a start that failed or was cut off by a crash runs again in full.
                target = self._run_start
            elif state in recovery.RESUMABLE:
                target = self._run_recover
            else:
                raise HostError(
                    "bad_state", f"庭审状态为{state.label}，不能一键启动 (cannot start from {state.value})"
                )
            self._claim()
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
                recovery.retry_start(
                    assembled.session, "上次启动未完成，重新一键启动 (the last start did not finish)"
                )
            assembled.session.one_click_start(self.door.check(assembled))
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
        try:
            assembled = self._assemble()
            recovery.carry_on_after_restart(
                assembled.session,
                "服务器重启后恢复 (server restarted)",
                "服务器中断时未关闭的录制段 (open at the server's stop)",
            )
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
        self._release()

    # -- the room's claim on the hearing (several rooms on one database) -----------------------------

    def _claim(self) -> None:
        """Claim the hearing for this room before anything runs: refused while another room holds it
        (:class:`~court.core.claims.ClaimRefused`, 409 naming the room); after that room's lease
        lapsed, taken over under a new generation, the first event of which says so."""
        if self.room is None:
            return
        claim, previous = self.room.claim(
            self.hearing_id, may_take_over=self._can_carry_on, on_lost=self._lost
        )
        if self.timeline.claim == claim:
            return
        self.timeline.claim = claim
        payload: dict[str, Any] = {"room": claim.room, "generation": claim.generation}
        if previous is not None:
            payload["previous_room"] = previous.room
        try:
            self.timeline.append(EventType.PROCESS_CLAIMED, payload)
        except BaseException:
            self._release()  # nothing runs here: no room holds it on our account
            raise

    def _can_carry_on(self, previous: Holder) -> None:
        """Another room ran the hearing: carry it on here only if its recording is here too (a shared
        recording store, hardware.md); never a second recording beside the first."""
        from sqlalchemy import select

        from court.db.models import RecordingSegment

        with self.sessions() as session:
            last = session.scalar(
                select(RecordingSegment.file)
                .where(RecordingSegment.hearing_id == self.hearing_id)
                .order_by(RecordingSegment.manifest_seq.desc())
                .limit(1)
            )
        root = self.config.recording.root
        if last is None or ((root / "manifest.jsonl").is_file() and (root / last).is_file()):
            return
        raise ClaimRefused(
            STORE_NOT_SHARED,
            f"该庭审此前在「{previous.room}」进行，其录音录像在本机不可见（录像存储未共享），不能在本庭接续；"
            f"请在「{previous.room}」重新启动后恢复，或按 hardware.md 挂载共享录像存储 "
            f"(the recording is not on a store this room shares)",
            previous.room,
        )

    def _lost(self, claim: Claim) -> None:
        """Another room took the hearing while this process was stalled: stop recording it here (the
        fence already refuses every append from here)."""
        with self._lock:
            self.status = HostStatus.FAILED
            self.error = "本庭对该庭审的主持已失效，已由其他仲裁庭接续 (another room took the hearing)"
            assembled, self._assembled = self._assembled, None
        if assembled is None:
            return
        session = assembled.session
        transcription = session.transcription
        # Each part on its own: their last events are refused by the fence, as they must be.
        stops: list[Callable[[], None]] = [
            lambda: session.recording.stop("主持已失效 (lease lost)"),
            session.devices.close,
        ]
        if transcription is not None:
            stops.insert(1, transcription.stop)
        for stop in stops:
            try:
                stop()
            except Exception:
                log.warning("hearing %s: stopping after the lease was lost", self.hearing_id, exc_info=True)

    def _release(self) -> None:
        claim = self.timeline.claim
        if self.room is not None and claim is not None:
            self.room.release(claim)

    def _assemble(self) -> AssembledHearing:
        announcement = build_announcement(self.config)
        announcement.warm()
        assembled: AssembledHearing = self._assemble_fn(
            self.sessions,
            self.hearing_id,
            self.config,
            self.clock,
            announcement,
            consumers=[self.mixer.feed],
            timeline=self.timeline,
            transcribe_while=lambda: not self.caucus.running,
        )
        with self._lock:
            self._assembled = assembled
            for party in self.lobby.in_hearing():
                wire(assembled, party)
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
            self.lobby.detach_all("闭庭 (hearing closed)")
        if assembled is not None:
            assembled.session.devices.close()
        lock_if_closed(self.sessions, self.hearing_id, key_path=self.key_path, timeline=self.timeline)
        self._release()
        return event

    def shutdown(self, reason: str) -> None:
        """The server is stopping: close the recording properly (the hearing can resume later)."""
        assembled, self._assembled = self._assembled, None
        if assembled is not None:
            assembled.session.shutdown(reason)
        self.lobby.close()
        self._release()

    def _lifecycle_step(self, step: Callable[[HearingSession], TimelineEvent]) -> TimelineEvent:
        assembled = self._running()
        try:
            return step(assembled.session)
        except InvalidTransition as exc:
            raise HostError("invalid_transition", str(exc)) from None

    def _running(self) -> AssembledHearing:
        assembled = self._assembled
        if assembled is None or self.status is not HostStatus.RUNNING:
            raise HostError("not_running", "庭审尚未启动或已结束 (the hearing is not running)")
        return assembled

    # -- attendance ------------------------------------------------------------------------------------

    def confirm_presence(self, participant_id: int, reason: str, *, actor: str) -> None:
        """The clerk confirms someone in person (with a reason, logged): at once when the
        attendance step has passed, else at the attendance step of the start."""
        participant = self._participant(participant_id)
        with self._lock:
            assembled = self._assembled
        self.door.confirm(participant, reason, assembled, actor=actor)

    def end_door_check(self, *, actor: str) -> None:
        """The clerk closes the attendance step: whoever has not come is absent."""
        self.door.end(actor=actor)

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
        checked = self.timeline.append(
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
        if similarity is not None:
            # Kept for signing: a party signs only after a recent check in the session they sign from.
            with self._lock:
                self._face_checks[(participant_id, session_id)] = SignerFaceCheck(
                    similarity, checked.t, session_id, checked.seq
                )
        with _refusals():
            party = self.lobby.check_passed(participant, similarity, session_id)
        self.timeline.append(EventType.REMOTE_LOBBY, party.to_json(), actor=f"party:{participant_id}")
        return party

    def signing_face_check(self, participant_id: int, session_id: int | None) -> SignerFaceCheck | None:
        """The latest face check the party passed in login session ``session_id`` (any age: the
        signing checks how recent it is), or None."""
        with self._lock:
            return self._face_checks.get((participant_id, session_id))

    def face_similarity(self, participant_id: int, session_id: int | None) -> float | None:
        """The similarity of the party's passed face check, if it was passed in this login session:
        a signature made from another session records the login only."""
        party = self.remote(participant_id)
        if party is None or party.session_id != session_id:
            return None
        return party.similarity

    def admit(self, participant_id: int, *, actor: str) -> RemoteParty:
        with self._lock, _refusals():
            party = self.lobby.admit(participant_id)
            assembled = self._assembled
            if assembled is not None:
                wire(assembled, party)
            record_now = (
                assembled is not None
                and assembled.session.lifecycle.attendance_checked
                and not party.presence_recorded
            )
            if record_now:
                party.presence_recorded = True
        self.timeline.append(EventType.REMOTE_ADMITTED, party.to_json(), actor=actor)
        if record_now and assembled is not None:
            assembled.session.record_presence(
                party.participant, method="face", similarity=party.similarity, note="远程人脸核验通过"
            )
        return party

    def reject(self, participant_id: int, reason: str, *, actor: str) -> RemoteParty:
        with _refusals():
            party = self.lobby.reject(participant_id, reason)
        self.timeline.append(EventType.REMOTE_REJECTED, {**party.to_json(), "reason": reason}, actor=actor)
        return party

    def connect(self, participant_id: int, session_id: int | None = None) -> RemoteParty:
        """The party's media is connecting: only once admitted, and only from the session that
        passed the face check."""
        with _refusals():
            party = self.lobby.connect(participant_id, session_id)
        self.timeline.append(EventType.REMOTE_CONNECTED, party.to_json(), actor=f"party:{participant_id}")
        return party

    def disconnected(self, participant_id: int, reason: str) -> None:
        """The party's media connection ended; nothing to record unless they were connected (the
        media side reports every close, also after a rejection)."""
        try:
            party = self.lobby.disconnect(participant_id, reason)
        except LobbyRefused:
            return
        self.timeline.append(EventType.REMOTE_DISCONNECTED, {**party.to_json(), "reason": reason})

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
        directing.direct(live, action, camera=camera, seconds=seconds, reason=reason, actor=actor)

    def mask(self, target: str, mode: str | None, reason: str, *, actor: str) -> None:
        directing.mask(self._running().live, target, mode, reason, actor=actor)

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

    # -- evidence on screen ----------------------------------------------------------------------------

    def present_evidence(self, info: EvidenceInfo, *, actor: str) -> TimelineEvent:
        """Put a filed exhibit on every screen: ``evidence.presented`` (the parties' and viewers' pages
        follow the timeline) and, while the room runs, the room display — the picture itself for an
        image, its title and hash otherwise."""
        event = _present_evidence(self.timeline, info, actor=actor)
        assembled = self._assembled
        if assembled is not None and self.status is HostStatus.RUNNING:
            assembled.session.show(evidence_content(info), "evidence")
        return event

    # -- mediation: the private talk with one side -----------------------------------------------------

    def start_caucus(self, side: str, *, actor: str) -> None:
        """背靠背 with ``side`` (applicant or respondent): see :mod:`court.host.caucus`."""
        self.caucus.start(side, self._running, actor=actor)

    def end_caucus(self, *, actor: str) -> None:
        self.caucus.end(self._running, actor=actor)

    def hears(self, participant_id: int) -> bool:
        """Whether a remote party may hear and see the hearing now (not during the other side's
        caucus)."""
        return self.caucus.hears(self.remote(participant_id))

    def listen(self, exclude: Collection[str] = ()) -> GatedAudio:
        """The hearing's sound for one listener. ``exclude`` names a party's own channel (they hear
        everyone but themselves); during a caucus only its side hears, viewers and the public hear
        silence."""
        party = next((r for r in self.remotes() if r.audio_source in exclude), None)
        return self.caucus.gate(self.mixer.subscribe(exclude=exclude), party)

    # -- the transcript and the 笔录 ---------------------------------------------------------------------

    def bilu(self) -> Bilu:
        return Bilu(self.sessions, self.hearing_id, timeline=self.timeline, key_path=self.key_path)


@contextmanager
def _refusals() -> Iterator[None]:
    """A lobby refusal as the host's error: the API answers it with its code (409)."""
    try:
        yield
    except LobbyRefused as exc:
        raise HostError(exc.code, exc.message) from None
