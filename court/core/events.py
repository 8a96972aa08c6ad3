"""The catalogue of the hearing's timeline: every event type, defined once.

The timeline (:mod:`court.core.timeline`) is the backbone of the record: attendance, the recording
index, the transcript, the cut log and the 笔录 are all derived from it. So each event type is a
member of :class:`EventType` here, and every writer and reader names it through this enum, never as a
loose string. The value is what is stored in the ``events.type`` column, so existing records read
back unchanged. Each type's payload is described by a ``TypedDict`` (:mod:`court.core.payloads`)
catalogued in :data:`PAYLOADS`, and :func:`check_payload` refuses a payload that does not fit it
before anything is persisted (:meth:`court.core.timeline.Timeline.append` calls it).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from court.core import payloads as p
from court.core import transcript_payloads as tp


class EventType(StrEnum):
    """Every event a hearing's timeline can hold."""

    # Who is present (Art. 41): the door and remote face checks, the clerk's confirmations.
    ATTENDANCE_ABSENT = "attendance.absent"
    ATTENDANCE_CHECKED = "attendance.checked"
    ATTENDANCE_CONFIRMATION_NOTED = "attendance.confirmation_noted"
    ATTENDANCE_DOOR_CLOSED = "attendance.door_closed"
    ATTENDANCE_DOOR_OPEN = "attendance.door_open"
    ATTENDANCE_DOOR_UNAVAILABLE = "attendance.door_unavailable"
    ATTENDANCE_LIVENESS_FAILED = "attendance.liveness_failed"
    ATTENDANCE_NOT_ENROLLED = "attendance.not_enrolled"
    ATTENDANCE_PRESENT = "attendance.present"
    ATTENDANCE_REJECTED_CONFIRMATION = "attendance.rejected_confirmation"
    ATTENDANCE_REMOTE_CHECK = "attendance.remote_check"
    ATTENDANCE_TERMINAL_FAULT = "attendance.terminal_fault"
    ATTENDANCE_UNDECIDED = "attendance.undecided"
    ATTENDANCE_UNKNOWN_FACE = "attendance.unknown_face"

    # The 笔录's versions and signatures.
    BILU_LOCKED = "bilu.locked"
    BILU_SIGN_REFUSED = "bilu.sign_refused"
    BILU_SIGNED = "bilu.signed"
    BILU_SUPERSEDED = "bilu.superseded"

    # The director and the program feed's cameras.
    CAMERA_CUT = "camera.cut"
    CAMERA_FAULT = "camera.fault"
    CAMERA_MODE = "camera.mode"
    CAMERA_RECOVERED = "camera.recovered"

    # Back-to-back mediation (背靠背).
    CAUCUS_ENDED = "caucus.ended"
    CAUCUS_STARTED = "caucus.started"

    # A party's request to correct the 笔录 (Art. 42) and the tribunal's decision.
    CORRECTION_DECIDED = "correction.decided"
    CORRECTION_REQUESTED = "correction.requested"

    # Device checks and faults.
    DEVICE_CHECKED = "device.checked"
    DEVICE_FAULT = "device.fault"

    # The room display.
    DISPLAY_FAULT = "display.fault"
    DISPLAY_SHOWN = "display.shown"

    # Evidence uploaded and put on screen.
    EVIDENCE_PRESENTED = "evidence.presented"
    EVIDENCE_SUBMITTED = "evidence.submitted"

    # ID-photo enrolment for the face check.
    FACE_ENROLLED = "face.enrolled"
    FACE_FORGOTTEN = "face.forgotten"

    # The lifecycle (Art. 41–43): these move the hearing's state.
    HEARING_ARCHIVED = "hearing.archived"
    HEARING_CLOSED = "hearing.closed"
    HEARING_OPENED = "hearing.opened"
    HEARING_PHASE = "hearing.phase"
    HEARING_PREPARING = "hearing.preparing"
    HEARING_RECESSED = "hearing.recessed"
    HEARING_RESUMED = "hearing.resumed"
    HEARING_SIGNING = "hearing.signing"

    # The public livestream switch.
    LIVESTREAM_STARTED = "livestream.started"
    LIVESTREAM_STOPPED = "livestream.stopped"

    # The process that runs the hearing.
    PROCESS_CLAIMED = "process.claimed"
    PROCESS_RESTARTED = "process.restarted"

    # The program feed's masks.
    PROGRAM_MASK = "program.mask"

    # The recording's manifest, mirrored into the timeline.
    RECORDING_BACKUP_FAILED = "recording.backup_failed"
    RECORDING_BACKUP_OK = "recording.backup_ok"
    RECORDING_INTERRUPTED = "recording.interrupted"
    RECORDING_RECOVERED = "recording.recovered"
    RECORDING_RESUMED = "recording.resumed"
    RECORDING_SEGMENT = "recording.segment"
    RECORDING_STARTED = "recording.started"
    RECORDING_STOPPED = "recording.stopped"

    # A remote party's way from the lobby into the hearing.
    REMOTE_ADMITTED = "remote.admitted"
    REMOTE_CONNECTED = "remote.connected"
    REMOTE_DISCONNECTED = "remote.disconnected"
    REMOTE_LOBBY = "remote.lobby"
    REMOTE_MEDIA = "remote.media"
    REMOTE_REJECTED = "remote.rejected"

    # The tribunal discipline (庭审纪律).
    RULES_PLAYED = "rules.played"
    RULES_STARTED = "rules.started"

    # The mediation settlement (调解协议).
    SETTLEMENT_CONCLUDED = "settlement.concluded"
    SETTLEMENT_DRAFTED = "settlement.drafted"
    SETTLEMENT_SIGN_REFUSED = "settlement.sign_refused"
    SETTLEMENT_SIGNED = "settlement.signed"

    # The one-click start (一键启动).
    STARTUP_COMPLETED = "startup.completed"
    STARTUP_FAILED = "startup.failed"
    STARTUP_REQUESTED = "startup.requested"
    STARTUP_RETRIED = "startup.retried"

    # Speech recognition.
    TRANSCRIPTION_FAULT = "transcription.fault"
    TRANSCRIPTION_GAP = "transcription.gap"
    TRANSCRIPTION_RECOVERED = "transcription.recovered"
    TRANSCRIPTION_STARTED = "transcription.started"
    TRANSCRIPTION_STOPPED = "transcription.stopped"
    TRANSCRIPTION_TERMS_ADDED = "transcription.terms_added"

    # Transcript lines and the clerk's corrections of them.
    UTTERANCE = "utterance"
    UTTERANCE_ADDED = "utterance.added"
    UTTERANCE_CORRECTED = "utterance.corrected"
    UTTERANCE_MARKED = "utterance.marked"
    UTTERANCE_MERGED = "utterance.merged"
    UTTERANCE_ROLE_CHANGED = "utterance.role_changed"
    UTTERANCE_SPLIT = "utterance.split"
    UTTERANCE_UNMARKED = "utterance.unmarked"

    @property
    def family(self) -> str:
        """The part before the dot (``attendance`` for ``attendance.present``): the area that writes it."""
        return self.value.split(".", 1)[0]


PAYLOADS: Mapping[EventType, type] = MappingProxyType(
    {
        EventType.ATTENDANCE_ABSENT: p.AttendanceAbsent,
        EventType.ATTENDANCE_CHECKED: p.AttendanceChecked,
        EventType.ATTENDANCE_CONFIRMATION_NOTED: p.AttendanceConfirmationNoted,
        EventType.ATTENDANCE_DOOR_CLOSED: p.AttendanceDoorClosed,
        EventType.ATTENDANCE_DOOR_OPEN: p.AttendanceDoorOpen,
        EventType.ATTENDANCE_DOOR_UNAVAILABLE: p.AttendanceDoorUnavailable,
        EventType.ATTENDANCE_LIVENESS_FAILED: p.AttendanceLivenessFailed,
        EventType.ATTENDANCE_NOT_ENROLLED: p.AttendanceNotEnrolled,
        EventType.ATTENDANCE_PRESENT: p.AttendancePresent,
        EventType.ATTENDANCE_REJECTED_CONFIRMATION: p.AttendanceRejectedConfirmation,
        EventType.ATTENDANCE_REMOTE_CHECK: p.AttendanceRemoteCheck,
        EventType.ATTENDANCE_TERMINAL_FAULT: p.AttendanceTerminalFault,
        EventType.ATTENDANCE_UNDECIDED: p.AttendanceUndecided,
        EventType.ATTENDANCE_UNKNOWN_FACE: p.AttendanceUnknownFace,
        EventType.BILU_LOCKED: p.BiluLocked,
        EventType.BILU_SIGN_REFUSED: p.BiluSignRefused,
        EventType.BILU_SIGNED: p.BiluSigned,
        EventType.BILU_SUPERSEDED: p.BiluSuperseded,
        EventType.CAMERA_CUT: p.CameraCut,
        EventType.CAMERA_FAULT: p.CameraFault,
        EventType.CAMERA_MODE: p.CameraMode,
        EventType.CAMERA_RECOVERED: p.CameraRecovered,
        EventType.CAUCUS_ENDED: p.Caucus,
        EventType.CAUCUS_STARTED: p.Caucus,
        EventType.CORRECTION_DECIDED: p.CorrectionDecided,
        EventType.CORRECTION_REQUESTED: p.CorrectionRequested,
        EventType.DEVICE_CHECKED: p.DeviceCheck,
        EventType.DEVICE_FAULT: p.DeviceCheck,
        EventType.DISPLAY_FAULT: p.DisplayFault,
        EventType.DISPLAY_SHOWN: p.DisplayShown,
        EventType.EVIDENCE_PRESENTED: p.EvidencePresented,
        EventType.EVIDENCE_SUBMITTED: p.EvidenceSubmitted,
        EventType.FACE_ENROLLED: p.FaceEnrolled,
        EventType.FACE_FORGOTTEN: p.FaceForgotten,
        EventType.HEARING_ARCHIVED: p.Empty,
        EventType.HEARING_CLOSED: p.Empty,
        EventType.HEARING_OPENED: p.HearingOpened,
        EventType.HEARING_PHASE: p.HearingPhase,
        EventType.HEARING_PREPARING: p.Empty,
        EventType.HEARING_RECESSED: p.HearingRecessed,
        EventType.HEARING_RESUMED: p.HearingResumed,
        EventType.HEARING_SIGNING: p.Empty,
        EventType.LIVESTREAM_STARTED: p.Livestream,
        EventType.LIVESTREAM_STOPPED: p.Livestream,
        EventType.PROCESS_CLAIMED: p.ProcessClaimed,
        EventType.PROCESS_RESTARTED: p.ProcessRestarted,
        EventType.PROGRAM_MASK: p.ProgramMask,
        EventType.RECORDING_BACKUP_FAILED: p.RecordingAction,
        EventType.RECORDING_BACKUP_OK: p.RecordingAction,
        EventType.RECORDING_INTERRUPTED: p.RecordingAction,
        EventType.RECORDING_RECOVERED: p.RecordingAction,
        EventType.RECORDING_RESUMED: p.RecordingAction,
        EventType.RECORDING_SEGMENT: p.RecordingSegment,
        EventType.RECORDING_STARTED: p.RecordingAction,
        EventType.RECORDING_STOPPED: p.RecordingAction,
        EventType.REMOTE_ADMITTED: p.RemoteParty,
        EventType.REMOTE_CONNECTED: p.RemoteParty,
        EventType.REMOTE_DISCONNECTED: p.RemotePartyLeft,
        EventType.REMOTE_LOBBY: p.RemoteParty,
        EventType.REMOTE_MEDIA: p.RemoteMedia,
        EventType.REMOTE_REJECTED: p.RemotePartyLeft,
        EventType.RULES_PLAYED: p.RulesPlayed,
        EventType.RULES_STARTED: p.RulesStarted,
        EventType.SETTLEMENT_CONCLUDED: p.SettlementConcluded,
        EventType.SETTLEMENT_DRAFTED: p.SettlementDrafted,
        EventType.SETTLEMENT_SIGN_REFUSED: p.SettlementSignRefused,
        EventType.SETTLEMENT_SIGNED: p.SettlementSigned,
        EventType.STARTUP_COMPLETED: p.StartupCompleted,
        EventType.STARTUP_FAILED: p.StartupFailed,
        EventType.STARTUP_REQUESTED: p.StartupRequested,
        EventType.STARTUP_RETRIED: p.StartupRetried,
        EventType.TRANSCRIPTION_FAULT: tp.TranscriptionFault,
        EventType.TRANSCRIPTION_GAP: tp.TranscriptionGap,
        EventType.TRANSCRIPTION_RECOVERED: tp.TranscriptionRecovered,
        EventType.TRANSCRIPTION_STARTED: tp.TranscriptionStarted,
        EventType.TRANSCRIPTION_STOPPED: tp.TranscriptionStopped,
        EventType.TRANSCRIPTION_TERMS_ADDED: tp.TranscriptionTermsAdded,
        EventType.UTTERANCE: tp.Utterance,
        EventType.UTTERANCE_ADDED: tp.UtteranceAdded,
        EventType.UTTERANCE_CORRECTED: tp.UtteranceCorrected,
        EventType.UTTERANCE_MARKED: tp.UtteranceMarked,
        EventType.UTTERANCE_MERGED: tp.UtteranceMerged,
        EventType.UTTERANCE_ROLE_CHANGED: tp.UtteranceRoleChanged,
        EventType.UTTERANCE_SPLIT: tp.UtteranceSplit,
        EventType.UTTERANCE_UNMARKED: tp.UtteranceUnmarked,
    }
)
"""Each event type's payload, a ``TypedDict`` of :mod:`court.core.payloads` (the transcript's, of
:mod:`court.core.transcript_payloads`); several types may share one: started/stopped pairs, the
recording manifest's actions, the lifecycle's bare events."""


class EventPayloadError(ValueError):
    """A payload that does not fit its event type: a required key missing, or a key not declared."""

    def __init__(self, event_type: EventType, key: str, problem: str) -> None:
        super().__init__(f"{event_type} payload: {problem} key {key!r}")
        self.event_type = event_type
        self.key = key


def check_payload(event_type: EventType, payload: Mapping[str, object]) -> None:
    """Raise :class:`EventPayloadError` when ``payload`` lacks a required key of ``event_type``'s
    payload type or has a key that type does not declare. Keys only, not value types: it runs on
    every append."""
    schema = PAYLOADS[event_type]
    required: frozenset[str] = schema.__required_keys__  # type: ignore[attr-defined]
    optional: frozenset[str] = schema.__optional_keys__  # type: ignore[attr-defined]
    missing = required - payload.keys()
    if missing:
        raise EventPayloadError(event_type, min(missing), "missing required")
    for key in payload:
        if key not in required and key not in optional:
            raise EventPayloadError(event_type, key, "undeclared")
