"""The payload of each timeline event, as a ``TypedDict`` (the catalogue, :data:`court.core.events.PAYLOADS`,
maps each :class:`~court.core.events.EventType` to one of these).

Grouped by family in the order of the enum. A key every writer sets is required; a key that is only
sometimes present is ``NotRequired``. Values are what is stored (JSON): lists, never tuples.
``participant_id`` is the store's ``participants.id``; ``t``-like floats are hearing-clock seconds.

No ``from __future__ import annotations`` here: on Python 3.11 a string annotation hides
``NotRequired`` from ``TypedDict``, and :func:`~court.core.events.check_payload` reads
``__required_keys__`` / ``__optional_keys__``.
"""

from typing import Literal, NotRequired, TypedDict


class Empty(TypedDict):
    """No payload: the event's type and time say it all."""


# -- attendance: who is present (Art. 41) -------------------------------------------------------------


class AttendancePresent(TypedDict):
    """Someone is present (projected into the ``attendance`` table)."""

    participant_id: int
    name: str
    role: str
    role_label: NotRequired[str]
    """Set by the session; records written by hand (older tests, imports) may lack it."""
    method: str
    """``clerk`` (confirmed by the clerk) or ``face`` (passed the face check)."""
    similarity: NotRequired[float]
    """The face check's similarity, when it was a face check."""
    note: NotRequired[str]


class AttendanceAbsent(TypedDict):
    """An expected party did not come by the end of the attendance step."""

    participant_id: int
    name: str
    role: str
    method: NotRequired[str]
    note: NotRequired[str]
    """Printed in the 笔录 beside the absence; no writer sets it yet."""


class AttendanceChecked(TypedDict):
    """The attendance step is over (moves the lifecycle): labels of who is present and absent."""

    present: list[str]
    absent: list[str]


class AttendanceConfirmationNoted(TypedDict):
    """The clerk confirmed someone in person before the attendance step: applied at that step."""

    participant_id: int
    name: str
    reason: str


class AttendanceDoorOpen(TypedDict):
    """The door terminal's face check starts for these in-room participants."""

    participants: list[int]
    timeout: float
    """Hearing-clock seconds the door check waits at most."""


class AttendanceDoorClosed(TypedDict):
    """The clerk ended the door check."""

    reason: str


class AttendanceDoorUnavailable(TypedDict):
    """No door check (no face models): the clerk confirms in person."""

    reason: str


class FaceCheckResult(TypedDict):
    """What a door face check could not settle (a base: never an event's payload by itself)."""

    similarity: float | None
    frames: int
    reason: str


class AttendanceUnknownFace(FaceCheckResult):
    """A face matching none of the expected participants: not admitted."""


class FaceCandidate(FaceCheckResult):
    """A door face check about the nearest expected participant, when there is one (a base)."""

    candidate_id: NotRequired[int]
    candidate: NotRequired[str]
    """Their label (role and name)."""


class AttendanceUndecided(FaceCandidate):
    """The face check could not decide: the clerk checks the person."""


class AttendanceLivenessFailed(FaceCandidate):
    """The face matched, but behaved like a picture (or gave too little to tell)."""

    turn: float
    depth: float


class AttendanceNotEnrolled(TypedDict):
    """An expected participant has no ID photo: the clerk checks them."""

    participant_id: int
    participant: str
    """Their label (role and name)."""
    reason: str


class AttendanceRejectedConfirmation(TypedDict):
    """The clerk confirmed someone who is not expected at this hearing."""

    participant_id: int
    reason: str


class AttendanceRemoteCheck(TypedDict):
    """A remote party's face check, passed or not (the check's report, without picture or
    embedding, plus who it was for)."""

    participant_id: int
    name: str
    role: str
    reason: str
    match: NotRequired[bool | None]
    similarity: NotRequired[float | None]
    frames: NotRequired[int]
    live: NotRequired[bool | None]
    """The liveness result; None when liveness was not checked or not conclusive."""


class AttendanceTerminalFault(TypedDict):
    """The door terminal's camera failed during the check."""

    device: str
    detail: str


# -- bilu: the 笔录's versions and signatures ---------------------------------------------------------


class BiluLocked(TypedDict):
    """A version of the 笔录 frozen and sealed for signature."""

    version: int
    sha256: str
    key_id: str
    seal: str


class BiluSuperseded(TypedDict):
    """A locked version was changed by a later content event: it can no longer be signed."""

    version: int
    sha256: str
    by_seq: int
    """The event that changed the text."""
    by: str
    """That event's type."""


class BiluSigned(TypedDict):
    version: int
    sha256: str
    participant_id: int
    signer: str
    methods: list[str]
    """Of ``handwritten``, ``login``, ``face``."""
    device: str
    signature_id: int
    """The ``signatures`` row holding the statement and image."""
    seal: str
    face_similarity: NotRequired[float]
    """A party's face check passed in the session they signed from (sealed in the statement too)."""
    face_check_seq: NotRequired[int]
    """The ``attendance.remote_check`` event of that check."""


class BiluSignRefused(BiluSigned):
    """A refusal to sign, with its reason (Art. 43); ``methods`` is empty."""

    reason: str


# -- camera: the director and the program feed's cameras ----------------------------------------------


class CameraCut(TypedDict):
    """The program feed cut to ``camera``."""

    camera: str
    previous: str | None
    reason: str
    rule: str
    """The director's rule that chose the shot."""
    held: float
    """Seconds the previous shot was on air."""
    speaker: NotRequired[str]
    """When the shot is a speaker's: their key, role and caption."""
    role: NotRequired[str]
    label: NotRequired[str]


class CameraFault(TypedDict):
    camera: str
    label: str
    detail: str


class CameraMode(TypedDict):
    """The director's mode changed (automatic, manual, locked …)."""

    mode: str
    reason: str
    camera: NotRequired[str]
    until: NotRequired[float]
    """Until when a lock holds."""


class CameraRecovered(TypedDict):
    camera: str
    label: str


# -- caucus: back-to-back mediation (背靠背) ----------------------------------------------------------


class Caucus(TypedDict):
    """The arbitrator talks with one side alone (started / ended); its sound is not recorded."""

    side: Literal["applicant", "respondent"]


# -- correction: a party's request to correct the 笔录 (Art. 42) ---------------------------------------


class CorrectionRequested(TypedDict):
    """A party asks for a line to be corrected; the event's ``seq`` is the request id."""

    line: str
    participant_id: int
    requested_by: str
    proposed_text: str
    reason: str


class CorrectionDecided(TypedDict):
    """The clerk's decision on a request (an accepted one is followed by ``utterance.corrected``)."""

    request_id: int
    decision: Literal["accepted", "refused"]
    reason: str


# -- device: checks and faults ------------------------------------------------------------------------


class DeviceCheck(TypedDict):
    """A device's check at the start: ``device.checked`` when ready, ``device.fault`` when not."""

    device: str
    kind: str
    ready: bool
    detail: str


# -- display: the room display -------------------------------------------------------------------------


class DisplayShown(TypedDict):
    what: str
    """What is shown: ``scene``, ``rules``, ``phase``, ``evidence``, ``closed`` …"""
    title: str


class DisplayFault(TypedDict):
    what: str
    detail: str


# -- evidence: uploaded and put on screen --------------------------------------------------------------


class EvidenceSubmitted(TypedDict):
    evidence_id: int
    title: str
    filename: str
    media_type: str
    """As sniffed from the bytes."""
    size: int
    sha256: str
    submitted_by: int | None
    """The participant who filed it; None for staff."""
    submitter: str


class EvidencePresented(TypedDict):
    """An exhibit put on every screen; title and hash ride along should the row ever be gone."""

    evidence_id: int
    title: str
    filename: str
    sha256: str


# -- face: ID-photo enrolment (the audit log's ``detail``, not the timeline) ---------------------------


class FaceEnrolled(TypedDict):
    participant_id: int
    photo_sha256: str


class FaceForgotten(TypedDict):
    """A participant's ID photo and templates deleted on request."""

    participant_id: int


# -- hearing: the lifecycle (Art. 41–43) -----------------------------------------------------------------


class HearingOpened(TypedDict):
    phase: str
    override_reason: NotRequired[str]
    """Why the clerk opened although a step of Art. 41 did not happen (with ``skipped``)."""
    skipped: NotRequired[list[str]]


# ``from`` is a keyword: the functional form.
HearingPhase = TypedDict(
    "HearingPhase",
    {"phase": str, "from": str, "reason": NotRequired[str]},
)
"""The session moved to another phase; going back needs a ``reason``."""


class HearingRecessed(TypedDict):
    reason: str


class HearingResumed(TypedDict):
    phase: str | None


# -- livestream: the public livestream switch ----------------------------------------------------------


class Livestream(TypedDict):
    """The public stream approved (started) or cut (stopped, the kill switch)."""

    reason: str
    audience: str


# -- process: the process that runs the hearing --------------------------------------------------------


class ProcessClaimed(TypedDict):
    """A room took the hearing (its first event under that claim): ``generation`` fences what follows."""

    room: str
    generation: int
    previous_room: NotRequired[str]
    """The room that held it before (a takeover after that node went down, or a restart)."""


class ProcessRestarted(TypedDict):
    """The process died mid-hearing and carries on from the recorded ``state``."""

    state: str
    reason: str


# -- program: the program feed's masks -----------------------------------------------------------------


class ProgramMask(TypedDict):
    """A mask set (``on``) or lifted on a camera or the whole feed; live and public, never the
    recording."""

    target: str
    whole_feed: bool
    mode: str | None
    on: bool
    reason: str
    applies_to: list[str]
    recording: str


# -- recording: the manifest, mirrored into the timeline -----------------------------------------------


class RecordingSegment(TypedDict):
    """A closed segment file (projected into ``recording_segments``)."""

    manifest_seq: int
    source: str
    index: int
    file: str
    media: NotRequired[str]
    """``video`` or ``audio``; always set by the recorder."""
    start: float
    end: float
    sha256: str
    chain: str
    status: str
    reason: NotRequired[str]
    """Why the segment is defective, or a note on an ok one; always set by the recorder."""


class RecordingAction(TypedDict):
    """A manifest event for one source (``*``: the whole recording): started, stopped, interrupted,
    resumed, recovered, backup failed / ok."""

    manifest_seq: int
    source: str
    reason: str
    outage_seconds: NotRequired[float]
    """After the process stopped (recovered): wall-clock seconds nothing was recorded — the hearing
    clock does not show it (a restarted demo goes on at the last time + 1 s)."""
    outage_from: NotRequired[str]
    """ISO wall time of the recording's last write before the stop."""
    outage_to: NotRequired[str]
    """ISO wall time of the restart."""
    interrupted_at: NotRequired[float]
    """Hearing-clock seconds of the last thing recorded before the stop."""


# -- remote: a remote party's way from the lobby into the hearing --------------------------------------


class RemoteParty(TypedDict):
    """The party as the console shows them (lobby, admitted, connected)."""

    participant_id: int
    name: str
    role: str
    role_label: str
    state: str
    state_label: str
    similarity: float | None
    removed: NotRequired[bool]
    """Rejected after having been in the hearing: the clerk removed them (请出庭审)."""


class RemotePartyLeft(RemoteParty):
    """Rejected by the clerk, or disconnected: why."""

    reason: str


class RemoteMedia(TypedDict):
    """A remote party turned their microphone or camera off or on (or left) from their page."""

    participant_id: int
    name: str
    role: str
    role_label: str
    muted: bool
    camera_off: bool


# -- rules: the tribunal discipline (庭审纪律) -----------------------------------------------------------


class RulesStarted(TypedDict):
    """The discipline's first sample went out of the speaker."""

    title: str
    duration: float
    source: str
    """Where the speech came from (synthesized, cached, recorded)."""


class RulesPlayed(TypedDict):
    """The discipline was announced (moves the lifecycle)."""

    started_at: float
    duration: float


# -- settlement: the mediation settlement (调解协议) -----------------------------------------------------


class SettlementDrafted(TypedDict):
    """A (new) text out for signature; it supersedes every earlier version."""

    version: int
    text: str
    sha256: str
    drafted_by: str
    kind: str
    """The hearing's kind (``mediation`` …)."""
    phase: str | None
    supersedes: NotRequired[int]


class SettlementSignatory(TypedDict):
    """Who signed or refused which version (a base: never an event's payload by itself)."""

    version: int
    sha256: str
    participant_id: int
    name: str
    role: str
    role_label: str
    device: str


class SettlementSigned(SettlementSignatory):
    method: str
    """``login`` or ``login,face``."""
    login: str
    face_similarity: NotRequired[float]
    face_check_seq: NotRequired[int]
    """The ``attendance.remote_check`` event of the face check passed before signing."""


class SettlementSignRefused(SettlementSignatory):
    reason: str


class SettlementConcluded(TypedDict):
    """Every party needed has signed the version."""

    version: int
    sha256: str
    signed_by: list[int]


# -- startup: the one-click start (一键启动) -------------------------------------------------------------


class StartupRequested(TypedDict):
    room: str


class StartupCompleted(TypedDict):
    faults: list[str]
    """``device: detail`` of each device that was not ready."""


class StartupFailed(TypedDict):
    step: str
    """``device_check``, ``recording`` or ``server``."""
    reason: str


class StartupRetried(TypedDict):
    """A start that did not finish runs again from the beginning."""

    reason: str
