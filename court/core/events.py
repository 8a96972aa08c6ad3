"""The catalogue of the hearing's timeline: every event type, defined once.

The timeline (:mod:`court.core.timeline`) is the backbone of the record: attendance, the recording
index, the transcript, the cut log and the 笔录 are all derived from it. So each event type is a
member of :class:`EventType` here, and every writer and reader names it through this enum, never as a
loose string. The value is what is stored in the ``events.type`` column, so existing records read
back unchanged. Each type's payload is described by a ``TypedDict`` in :data:`PAYLOADS`, and
:func:`check_payload` refuses a payload that does not fit it before anything is persisted.
"""

from __future__ import annotations

from enum import StrEnum


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
