"""The hearing session controller: wires the devices, the recording and the rules announcement to one
hearing's timeline, and drives the one-click start (一键启动) in the legal order of Art. 41.

Every step is written to the timeline before it is reported done; the lifecycle is replayed from the
timeline, so after a crash and a restart the controller picks up exactly where the record says.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy.orm import Session, sessionmaker

from court.attendance.arrivals import AttendanceCheck
from court.core.cases import HearingInfo, ParticipantInfo, load_hearing
from court.core.events import EventType
from court.core.lifecycle import HearingState, Lifecycle, PendingEvent, Phase
from court.core.timeline import Timeline, TimelineEvent
from court.live.announcement import Announcement
from court.live.recording import HearingRecording
from devices.clock import Clock
from devices.interfaces import (
    Camera,
    Device,
    DeviceKind,
    DeviceStatus,
    Display,
    DisplayContent,
    Microphone,
    Speaker,
)

if TYPE_CHECKING:
    from court.live.transcription import HearingTranscription


class StartupFailed(Exception):
    """The one-click start could not bring the room up; the timeline says which step failed and why."""


@dataclass
class RoomDevices:
    """The room's devices, keyed as the config names them."""

    cameras: Mapping[str, Camera]
    microphones: Mapping[str, Microphone]
    """By seat id: each seat has its own microphone channel."""
    display: Display
    speaker: Speaker
    face_terminal: Camera | None = None

    def all(self) -> list[Device]:
        devices: list[Device] = [*self.cameras.values(), *self.microphones.values()]
        if self.face_terminal is not None:
            devices.append(self.face_terminal)
        devices += [self.display, self.speaker]
        return devices

    def close(self) -> None:
        for device in self.all():
            device.close()


@dataclass(frozen=True)
class StartupReport:
    devices: tuple[DeviceStatus, ...]
    present: tuple[str, ...]
    absent: tuple[str, ...]
    click_to_recording: float
    """Wall seconds from the click to every working source being recorded."""
    click_to_rules_audio: float
    """Wall seconds from the click to the first sample of the discipline going out."""
    faults: tuple[str, ...] = field(default=())


class HearingSession:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        hearing_id: int,
        *,
        devices: RoomDevices,
        clock: Clock,
        recording: HearingRecording,
        announcement: Announcement,
        room_name: str,
        actor: str = "clerk",
        transcription: HearingTranscription | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        """``timeline``: the hearing's one writer when others (the server) append to it too."""
        self.sessions = sessions
        self.hearing: HearingInfo = load_hearing(sessions, hearing_id)
        self.devices = devices
        self.clock = clock
        self.recording = recording
        self.announcement = announcement
        self.room_name = room_name
        self.actor = actor
        self.transcription = transcription
        self.timeline = timeline or Timeline(sessions, hearing_id, clock)
        self.lifecycle = Lifecycle.replay((e.type, e.payload) for e in self.timeline.events())

    @property
    def state(self) -> HearingState:
        return self.lifecycle.state

    # -- the one-click start ---------------------------------------------------------------------

    def one_click_start(self, attendance: AttendanceCheck) -> StartupReport:
        """Device check → room display → recording → attendance → tribunal discipline, in that
        order, each step in the timeline. Raises :class:`StartupFailed` when the room cannot record."""
        click = time.monotonic()
        self._commit(self.lifecycle.prepare())
        self._log(EventType.STARTUP_REQUESTED, {"room": self.room_name})

        statuses = self._check_devices()
        faults = tuple(f"{s.device_id}: {s.detail}" for s in statuses if not s.ready)
        if not any(s.ready for s in statuses if s.kind is DeviceKind.CAMERA):
            self._fail("device_check", "no camera is working, the hearing cannot be recorded")
        if not any(s.ready for s in statuses if s.kind is DeviceKind.MICROPHONE):
            self._fail("device_check", "no microphone is working, the hearing cannot be recorded")

        self._show_scene()

        self.start_transcription()
        try:
            self.recording.start(self.timeline)
        except Exception as exc:
            self._fail("recording", f"the recording could not start: {exc}")
        click_to_recording = time.monotonic() - click

        present, absent = self._check_attendance(attendance)

        playing = self._announce_rules()
        click_to_rules_audio = playing - click

        self._log(EventType.STARTUP_COMPLETED, {"faults": list(faults)})
        return StartupReport(
            devices=tuple(statuses),
            present=tuple(present),
            absent=tuple(absent),
            click_to_recording=click_to_recording,
            click_to_rules_audio=click_to_rules_audio,
            faults=faults,
        )

    def _check_devices(self) -> list[DeviceStatus]:
        statuses = []
        for device in self.devices.all():
            status = device.check()
            statuses.append(status)
            self._log(
                EventType.DEVICE_CHECKED if status.ready else EventType.DEVICE_FAULT,
                {
                    "device": status.device_id,
                    "kind": status.kind.value,
                    "ready": status.ready,
                    "detail": status.detail,
                },
            )
        return statuses

    def _show_scene(self) -> None:
        parties = "；".join(p.label for p in self.hearing.participants if p.role.is_party_side)
        content = DisplayContent(
            title=f"{self.room_name}　{self.hearing.case_number}",
            text=f"案由：{self.hearing.cause}\n{parties}\n{self.state.label}",
        )
        self._display(content, "scene")

    def show(self, content: DisplayContent, what: str) -> None:
        """Put ``content`` on the room display (a fault is logged, never raised); ``what`` names it."""
        self._display(content, what)

    def _display(self, content: DisplayContent, what: str) -> None:
        try:
            self.devices.display.show(content)
        except Exception as exc:  # the display is not evidence: log and carry on
            self._log(EventType.DISPLAY_FAULT, {"what": what, "detail": str(exc)})
            return
        self._log(EventType.DISPLAY_SHOWN, {"what": what, "title": content.title})

    def _check_attendance(self, attendance: AttendanceCheck) -> tuple[list[str], list[str]]:
        expected = [p for p in self.hearing.participants if p.role.is_party_side]
        found: set[int] = set()
        for arrival in attendance.arrivals(expected):
            if arrival.participant_id in found:
                continue
            found.add(arrival.participant_id)
            self.record_presence(
                self.hearing.participant(arrival.participant_id),
                method=arrival.method,
                similarity=arrival.similarity,
                note=arrival.note,
            )
        present = [p.label for p in expected if p.id in found]
        absent = [p.label for p in expected if p.id not in found]
        for participant in expected:
            if participant.id not in found:
                # Nobody confirmed an absence: it is what the step found. A remote party may still
                # join (their presence is then recorded as a late arrival).
                self._log(
                    EventType.ATTENDANCE_ABSENT,
                    {
                        "participant_id": participant.id,
                        "name": participant.name,
                        "role": participant.role.value,
                        "method": "absent",
                        "note": "远程当事人尚未接入" if participant.remote else "到庭核验结束时未到",
                    },
                )
        self._commit(self.lifecycle.check_attendance(present, absent))
        return present, absent

    def record_presence(
        self,
        participant: ParticipantInfo,
        *,
        method: str,
        similarity: float | None = None,
        note: str = "",
    ) -> TimelineEvent:
        payload: dict[str, Any] = {
            "participant_id": participant.id,
            "name": participant.name,
            "role": participant.role.value,
            "role_label": participant.role.label,
            "method": method,
        }
        if similarity is not None:
            payload["similarity"] = round(similarity, 4)
        if note:
            payload["note"] = note
        return self._log(EventType.ATTENDANCE_PRESENT, payload)

    def record_attendance_issue(self, event_type: EventType, payload: Mapping[str, Any]) -> TimelineEvent:
        """Log what the face check could not settle (``attendance.unknown_face``, ``.undecided``,
        ``.liveness_failed``, …) for the clerk. Presence and absence have their own methods."""
        settled = (EventType.ATTENDANCE_PRESENT, EventType.ATTENDANCE_ABSENT)
        if event_type.family != "attendance" or event_type in settled:
            raise ValueError(f"not an attendance issue: {event_type!r}")
        return self._log(event_type, payload)

    def _announce_rules(self) -> float:
        """Play the discipline; return the monotonic time its first sample went out."""
        speech = self.announcement.audio()
        self._display(DisplayContent(title=self.announcement.title, text=self.announcement.text), "rules")
        playback = self.devices.speaker.play(speech.samples, speech.sample_rate)
        playing = time.monotonic()
        self._log(
            EventType.RULES_STARTED,
            {
                "title": self.announcement.title,
                "duration": round(speech.duration, 3),
                "source": speech.origin,
            },
            t=playback.started_at,
        )
        playback.wait()
        self._commit(self.lifecycle.announce_rules(playback.started_at, playback.duration))
        return playing

    # -- the hearing proper ------------------------------------------------------------------------

    def open(self, override_reason: str | None = None) -> TimelineEvent:
        event = self._commit(self.lifecycle.open(override_reason))
        self._show_phase()
        return event

    def change_phase(self, phase: Phase, reason: str | None = None) -> TimelineEvent:
        event = self._commit(self.lifecycle.change_phase(phase, reason))
        self._show_phase()
        return event

    def recess(self, reason: str) -> TimelineEvent:
        return self._commit(self.lifecycle.recess(reason))

    def resume(self) -> TimelineEvent:
        return self._commit(self.lifecycle.resume())

    def start_transcription(self) -> None:
        """Start the live transcript (before the recording, so it hears the first words). The
        transcript is not the evidence: a failure is logged and the hearing goes on."""
        if self.transcription is None:
            return
        try:
            self.transcription.start(self.timeline)
        except Exception as exc:
            self._log(EventType.TRANSCRIPTION_FAULT, {"detail": f"{type(exc).__name__}: {exc}"})

    def close(self) -> TimelineEvent:
        if self.transcription is not None and not self.transcription.drain():
            self._log(
                EventType.TRANSCRIPTION_FAULT, {"detail": "the last utterances were not decoded in time"}
            )
        event = self._commit(self.lifecycle.close())
        self.recording.stop("闭庭 hearing closed")
        if self.transcription is not None:
            self.transcription.stop()
        self._display(DisplayContent(title=self.hearing.case_number, text="已闭庭"), "closed")
        return event

    def carry_on(self, reason: str) -> None:
        """After the process died mid-hearing (a crash, a server restart): repair the recording folder
        (the open segments kept and flagged), start recording and transcription again, and open a
        hearing whose start was cut short — on the clerk's word for the steps that did not happen."""
        self.recording.recover(self.timeline, reason)
        self.start_transcription()
        self.recording.start(self.timeline)
        if self.state is HearingState.PREPARING:
            if not self.lifecycle.attendance_checked or not self.lifecycle.rules_announced:
                self.open(override_reason="启动过程中系统中断，书记员确认到庭情况并已口头宣布庭审纪律")
            else:
                self.open()

    def shutdown(self, reason: str) -> None:
        """Stop recording (if running) and release the devices, e.g. on an operator stop."""
        self.recording.stop(reason)
        if self.transcription is not None:
            self.transcription.stop()
        self.devices.close()

    def _show_phase(self) -> None:
        phase = self.lifecycle.phase
        self._display(
            DisplayContent(
                title=f"{self.room_name}　{self.hearing.case_number}", text=phase.label if phase else ""
            ),
            "phase",
        )

    # -- timeline helpers --------------------------------------------------------------------------

    def _commit(self, pending: PendingEvent) -> TimelineEvent:
        event = self.timeline.append(pending.type, pending.payload, actor=self.actor)
        self.lifecycle.apply(event.type, event.payload)
        return event

    def _log(
        self, event_type: EventType, payload: Mapping[str, Any] | None = None, *, t: float | None = None
    ) -> TimelineEvent:
        return self.timeline.append(event_type, payload, actor=self.actor, t=t)

    def _fail(self, step: str, why: str) -> NoReturn:
        self._log(EventType.STARTUP_FAILED, {"step": step, "reason": why})
        self.recording.stop(f"startup failed: {why}")
        raise StartupFailed(f"one-click start failed at {step}: {why}")
