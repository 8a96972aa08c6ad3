"""The 笔录 of a hearing, wired to its store and timeline: live corrections with their history, parties'
correction requests and the clerk's decisions (办案规则 Art. 42), locking a version for signature,
signing and refusing, exports, and verifying an exported file against the record.

Every step is a timeline event first (``utterance.corrected`` …, ``correction.requested``,
``correction.decided``, ``bilu.locked``, ``bilu.superseded``, ``bilu.signed``,
``bilu.sign_refused``); the document is rebuilt from the timeline each time, so the first recognized
text of a line is never lost and a correction can always be traced to who made it, when, from what
to what. A locked version's blocks (the exact text its hash covers) are stored in ``bilu_versions``;
versions and signatures are sealed with the server's Ed25519 key (:mod:`transcripts.bilu.seal`).

Event payloads (``actor`` is the event's actor):

- ``utterance.corrected`` {line, before, after, reason?, request_id?}
- ``utterance.role_changed`` {line, role, role_label, speaker, participant_id, before, after}
- ``utterance.merged`` {lines, before: [texts], after}
- ``utterance.split`` {line, offset, new_line, before, after: [first, second]}
- ``utterance.marked`` {line, mark, note} / ``utterance.unmarked`` {line, mark}
- ``utterance.added`` {line, role, role_label, speaker, participant_id, text, start}
- ``correction.requested`` {line, participant_id, requested_by, proposed_text, reason}
- ``correction.decided`` {request_id, decision: accepted|refused, reason}
- ``evidence.presented`` {evidence_id} or {title, sha256, submitted_by, filename?} (read here)
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import HearingInfo, ParticipantInfo, load_hearing
from court.core.events import EventType
from court.core.lifecycle import HearingState, InvalidTransition, Lifecycle
from court.core.roles import Role
from court.core.timeline import Timeline, TimelineEvent, read_events
from court.core.timeutil import as_utc
from court.db.bilu import BiluCorrection, BiluCorrectionRequest, BiluKey, BiluVersion
from court.db.models import Evidence, Signature
from devices.clock import WallClock
from transcripts.bilu import write_export
from transcripts.bilu.build import EvidenceShown, HearingFacts, Milestone, build_document, unique_line_id
from transcripts.bilu.corrections import (
    AddLine,
    Change,
    Correction,
    CorrectionError,
    CorrectionRequest,
    Decision,
    EditRole,
    EditText,
    Line,
    Mark,
    Merge,
    RecognizedLine,
    Split,
    Transcript,
    Unmark,
    apply_corrections,
)
from transcripts.bilu.layout import Block, blocks_from_json, blocks_to_json, content_sha256, document_blocks
from transcripts.bilu.model import (
    AttendanceEntry,
    BiluDocument,
    Person,
    document_from_dict,
    document_to_dict,
    person_from_dict,
)
from transcripts.bilu.printable import Printable
from transcripts.bilu.seal import ServerKey, load_or_create_key
from transcripts.bilu.signatures import SIGN_METHODS, SignatureRecord, VersionSeal, version_statement
from transcripts.bilu.verify import (
    ExpectedVersion,
    ExtractError,
    VerifyReport,
    claimed_version,
    extract,
    verify_extracted,
)

SIGNING_KEY_ENV = "COURT_SIGNING_KEY"
KEY_FILE_NAME = "court-signing-key.pem"

CORRECTED = EventType.UTTERANCE_CORRECTED
ROLE_CHANGED = EventType.UTTERANCE_ROLE_CHANGED
MERGED = EventType.UTTERANCE_MERGED
SPLIT = EventType.UTTERANCE_SPLIT
MARKED = EventType.UTTERANCE_MARKED
UNMARKED = EventType.UTTERANCE_UNMARKED
ADDED = EventType.UTTERANCE_ADDED
CORRECTION_EVENTS = (CORRECTED, ROLE_CHANGED, MERGED, SPLIT, MARKED, UNMARKED, ADDED)
REQUESTED = EventType.CORRECTION_REQUESTED
DECIDED = EventType.CORRECTION_DECIDED
EVIDENCE_PRESENTED = EventType.EVIDENCE_PRESENTED
LOCKED = EventType.BILU_LOCKED
SUPERSEDED = EventType.BILU_SUPERSEDED
SIGNED = EventType.BILU_SIGNED
SIGN_REFUSED = EventType.BILU_SIGN_REFUSED
CONTENT_EVENTS = frozenset({*CORRECTION_EVENTS, DECIDED, EVIDENCE_PRESENTED, EventType.UTTERANCE})
"""Events that change the 笔录's text: after a lock, any of them makes a new version necessary."""

MAX_SIGNATURE_IMAGE_BYTES = 2_000_000
UNKNOWN_ROLE_LABEL = "发言人"

PayloadFn = Callable[[Transcript], dict[str, Any]]
"""Builds a correction event's payload (with before/after) from the lines as they stand."""


class BiluError(Exception):
    """A 笔录 action the record does not allow or that is malformed; nothing was recorded."""


def default_key_path(url: str) -> Path:
    """Where the server's private signing key lives: ``$COURT_SIGNING_KEY``; else beside a SQLite
    store's file; else ``var/keys/`` under the current folder (like the default config's ``var/``)."""
    explicit = os.environ.get(SIGNING_KEY_ENV)
    if explicit:
        return Path(explicit)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return Path(parsed.database).resolve().parent / KEY_FILE_NAME
    return Path("var/keys") / KEY_FILE_NAME


def role_label(role: str) -> str:
    try:
        return Role(role).label
    except ValueError:
        return UNKNOWN_ROLE_LABEL if role in ("", "unknown") else role


class _RecordClock:
    """Wall time on the hearing clock, never before the record's last event: a simulated hearing
    runs ahead of real time, and a signature must not be dated before the closing."""

    def __init__(self, origin: datetime, floor: float = 0.0) -> None:
        self._wall = WallClock(origin)
        self.floor = floor

    def now(self) -> float:
        return max(self._wall.now(), self.floor)

    def wall(self, t: float | None = None) -> datetime:
        return self._wall.origin + timedelta(seconds=self.now() if t is None else t)

    def sleep_until(self, t: float) -> None:
        self._wall.sleep_until(t)


@dataclass(frozen=True)
class LockedVersion:
    hearing_id: int
    number: int
    sha256: str
    locked_at: datetime
    locked_by: str
    key_id: str
    seal: str
    blocks: tuple[Block, ...]
    document: BiluDocument
    event_seq: int | None
    superseded: bool = False

    def version_seal(self, case_number: str) -> VersionSeal:
        return VersionSeal(
            self.hearing_id,
            case_number,
            self.number,
            self.sha256,
            self.locked_at,
            self.locked_by,
            self.key_id,
            self.seal,
        )


# -- reading the timeline ---------------------------------------------------------------------------


def _opt_int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _change(event: TimelineEvent) -> Change | None:
    p = event.payload
    match event.type:
        case EventType.UTTERANCE_CORRECTED:
            return EditText(str(p["line"]), str(p["after"]))
        case EventType.UTTERANCE_ROLE_CHANGED:
            return EditRole(
                str(p["line"]),
                str(p["role"]),
                str(p["role_label"]),
                str(p.get("speaker", "")),
                _opt_int(p.get("participant_id")),
            )
        case EventType.UTTERANCE_MERGED:
            return Merge(tuple(str(i) for i in p["lines"]))
        case EventType.UTTERANCE_SPLIT:
            return Split(str(p["line"]), int(p["offset"]), str(p["new_line"]))
        case EventType.UTTERANCE_MARKED:
            return Mark(str(p["line"]), str(p["mark"]), str(p.get("note", "")))
        case EventType.UTTERANCE_UNMARKED:
            return Unmark(str(p["line"]), str(p["mark"]))
        case EventType.UTTERANCE_ADDED:
            return AddLine(
                str(p["line"]),
                str(p["role"]),
                str(p["role_label"]),
                str(p["text"]),
                float(p["start"]),
                str(p.get("speaker", "")),
                _opt_int(p.get("participant_id")),
            )
    return None


@dataclass(frozen=True)
class _Record:
    """The hearing's timeline read once, with what the 笔录 needs from it."""

    hearing: HearingInfo
    events: tuple[TimelineEvent, ...]

    @property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle.replay((e.type, e.payload) for e in self.events)

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    @property
    def last_t(self) -> float:
        return max((e.t for e in self.events), default=0.0)

    def speaker(self, participant_id: int | None) -> str:
        if participant_id is None:
            return ""
        for p in self.hearing.participants:
            if p.id == participant_id:
                return p.name
        return ""

    def recognized(self) -> list[RecognizedLine]:
        lines = []
        for e in self.events:
            if e.type != EventType.UTTERANCE:
                continue
            p = e.payload
            pid = _opt_int(p.get("participant_id"))
            lines.append(
                RecognizedLine(
                    line_id=f"u{e.seq}",
                    role=str(p.get("role", "")),
                    role_label=role_label(str(p.get("role", ""))),
                    text=str(p.get("text", "")),
                    start=float(p.get("start", e.t)),
                    end=float(p.get("end", e.t)),
                    speaker=self.speaker(pid),
                    participant_id=pid,
                    source=str(p.get("source", "")),
                    confidence=float(p["confidence"]) if p.get("confidence") is not None else None,
                )
            )
        return lines

    def corrections(self) -> list[Correction]:
        out = []
        for e in self.events:
            change = _change(e) if e.type in CORRECTION_EVENTS else None
            if change is not None:
                out.append(
                    Correction(
                        e.seq,
                        e.actor,
                        e.wall,
                        change,
                        str(e.payload.get("reason", "")),
                        _opt_int(e.payload.get("request_id")),
                    )
                )
        return out

    def requests(self) -> list[CorrectionRequest]:
        return [
            CorrectionRequest(
                request_id=e.seq,
                line_id=str(e.payload["line"]),
                requested_by=str(e.payload["requested_by"]),
                proposed_text=str(e.payload["proposed_text"]),
                at=e.wall,
                reason=str(e.payload.get("reason", "")),
                participant_id=_opt_int(e.payload.get("participant_id")),
            )
            for e in self.events
            if e.type == REQUESTED
        ]

    def decisions(self) -> list[Decision]:
        return [
            Decision(
                seq=e.seq,
                request_id=int(e.payload["request_id"]),
                accepted=e.payload.get("decision") == "accepted",
                actor=e.actor,
                at=e.wall,
                reason=str(e.payload.get("reason", "")),
            )
            for e in self.events
            if e.type == DECIDED
        ]

    def transcript(self, extra: Correction | None = None) -> Transcript:
        """The lines as corrected. With ``extra``, check that one strictly on top of the record."""
        recognized = self.recognized()
        corrections, requests, decisions = self.corrections(), self.requests(), self.decisions()
        lenient = apply_corrections(recognized, corrections, requests, decisions, strict=False)
        if extra is None:
            return lenient
        skipped = {seq for seq, _ in lenient.rejected}
        return apply_corrections(
            recognized,
            [c for c in corrections if c.seq not in skipped] + [extra],
            [r for r in requests if r.request_id not in skipped],
            [d for d in decisions if d.seq not in skipped],
            strict=True,
        )

    def locks(self) -> list[TimelineEvent]:
        return [e for e in self.events if e.type == LOCKED]

    def superseded_after(self, lock: TimelineEvent) -> bool:
        return any(
            e.seq > lock.seq and (e.type in CONTENT_EVENTS or e.type == SUPERSEDED) for e in self.events
        )


def _person(p: ParticipantInfo) -> Person:
    return Person(p.role.value, p.role.label, p.name, p.organization, p.id)


_SKIPPED = {
    "attendance has not been checked": "未核对到庭情况",
    "the tribunal discipline has not been announced": "未宣布庭审纪律",
}


def _facts(record: _Record, sessions: sessionmaker[Session]) -> HearingFacts:
    hearing = record.hearing
    tribunal = [p for p in hearing.participants if p.role in (Role.PRESIDING_ARBITRATOR, Role.ARBITRATOR)]
    tribunal.sort(key=lambda p: p.role is not Role.PRESIDING_ARBITRATOR)
    recorders = [p for p in hearing.participants if p.role is Role.CLERK]
    attendance: dict[object, AttendanceEntry] = {}
    milestones: list[Milestone] = []
    evidence: list[EvidenceShown] = []
    rules_started = any(e.type == EventType.RULES_STARTED for e in record.events)
    for e in record.events:
        p = e.payload
        if e.type in (EventType.ATTENDANCE_PRESENT, EventType.ATTENDANCE_ABSENT) and "name" in p:
            pid = _opt_int(p.get("participant_id"))
            info = next((x for x in hearing.participants if x.id == pid), None)
            person = (
                _person(info)
                if info
                else Person(str(p.get("role", "")), role_label(str(p.get("role", ""))), str(p["name"]))
            )
            similarity = p.get("similarity")
            attendance[pid if pid is not None else p["name"]] = AttendanceEntry(
                person=person,
                present=e.type == EventType.ATTENDANCE_PRESENT,
                at=e.wall,
                method=str(p.get("method", "clerk")),
                similarity=float(similarity) if similarity is not None else None,
                remote=bool(info.remote) if info else False,
                note=str(p.get("note", "")) if e.type == EventType.ATTENDANCE_ABSENT else "",
            )
        elif e.type == EventType.HEARING_PREPARING:
            milestones.append(Milestone("preparing", e.t, e.wall))
        elif (e.type == EventType.RULES_STARTED) or (e.type == EventType.RULES_PLAYED and not rules_started):
            milestones.append(Milestone("rules", e.t, e.wall))
        elif e.type == EventType.HEARING_OPENED:
            skipped = "、".join(_SKIPPED.get(str(s), str(s)) for s in p.get("skipped", []))
            milestones.append(
                Milestone("opened", e.t, e.wall, reason=str(p.get("override_reason", "")), detail=skipped)
            )
        elif e.type == EventType.HEARING_PHASE:
            milestones.append(Milestone("phase", e.t, e.wall, str(p["phase"]), str(p.get("reason", ""))))
        elif e.type == EventType.HEARING_RECESSED:
            milestones.append(Milestone("recessed", e.t, e.wall, reason=str(p.get("reason", ""))))
        elif e.type == EventType.HEARING_RESUMED:
            milestones.append(Milestone("resumed", e.t, e.wall))
        elif e.type == EventType.HEARING_CLOSED:
            milestones.append(Milestone("closed", e.t, e.wall))
        elif e.type == EVIDENCE_PRESENTED:
            evidence.append(_evidence(sessions, hearing, e))
    return HearingFacts(
        commission=hearing.commission,
        case_number=hearing.case_number,
        cause=hearing.cause,
        place=hearing.room,
        tribunal=tuple(_person(p) for p in tribunal),
        recorders=tuple(_person(p) for p in recorders),
        attendance=tuple(attendance.values()),
        milestones=tuple(milestones),
        evidence=tuple(evidence),
        kind=hearing.kind,
    )


def _evidence(sessions: sessionmaker[Session], hearing: HearingInfo, e: TimelineEvent) -> EvidenceShown:
    p = e.payload
    if p.get("evidence_id") is not None:
        with sessions() as session:
            row = session.get(Evidence, int(p["evidence_id"]))
            if row is not None:
                by = next((x for x in hearing.participants if x.id == row.submitted_by), None)
                return EvidenceShown(e.t, e.wall, row.title, by.label if by else "", row.sha256, row.filename)
    return EvidenceShown(
        e.t,
        e.wall,
        str(p.get("title", "")),
        str(p.get("submitted_by", "")),
        str(p.get("sha256", "")),
        str(p.get("filename", "")),
    )


# -- the service ------------------------------------------------------------------------------------


class Bilu:
    """The 笔录 of one hearing.

    Pass the hearing session's ``timeline`` while the hearing runs (so corrections and recognized
    lines append through one writer); afterwards one is made on the hearing clock, never dated
    before the record's last event. ``key_path`` is the server's private signing key (created on
    first use; default :func:`default_key_path`).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        hearing_id: int,
        *,
        timeline: Timeline | None = None,
        key_path: Path | None = None,
        utc_offset_minutes: int = 480,
    ) -> None:
        self.sessions = sessions
        self.hearing_id = hearing_id
        self.hearing = load_hearing(sessions, hearing_id)
        self._clock: _RecordClock | None = None
        if timeline is None:
            self._clock = _RecordClock(self.hearing.clock_origin or datetime.now().astimezone())
            timeline = Timeline(sessions, hearing_id, self._clock)
        self.timeline = timeline
        self._key_path = key_path
        self.utc_offset_minutes = utc_offset_minutes

    # -- reading --------------------------------------------------------------------------------

    def _record(self) -> _Record:
        record = _Record(self.hearing, tuple(read_events(self.sessions, self.hearing_id)))
        if self._clock is not None:
            self._clock.floor = record.last_t
        return record

    def transcript(self) -> Transcript:
        return self._record().transcript()

    def lines(self) -> tuple[Line, ...]:
        return self.transcript().lines

    def draft(self) -> BiluDocument:
        record = self._record()
        return self._document(record, record.transcript())

    def _document(self, record: _Record, transcript: Transcript) -> BiluDocument:
        return build_document(
            _facts(record, self.sessions), transcript, utc_offset_minutes=self.utc_offset_minutes
        )

    # -- corrections ----------------------------------------------------------------------------

    def default_actor(self) -> str:
        clerk = next((p for p in self.hearing.participants if p.role is Role.CLERK), None)
        return clerk.label if clerk else Role.CLERK.label

    def _correct(
        self,
        event_type: EventType,
        change: Change,
        payload: PayloadFn,
        *,
        actor: str | None,
        reason: str = "",
        request_id: int | None = None,
    ) -> TimelineEvent:
        record = self._record()
        self._require_editable(record)
        actor = actor or self.default_actor()
        before = record.transcript()
        candidate = Correction(
            record.last_seq + 1, actor, datetime.now().astimezone(), change, reason, request_id
        )
        try:
            record.transcript(candidate)
        except CorrectionError as exc:
            raise BiluError(str(exc)) from exc
        body = payload(before)
        if reason:
            body["reason"] = reason
        if request_id is not None:
            body["request_id"] = request_id
        event = self.timeline.append(event_type, body, actor=actor)
        self._supersede_if_locked(record, event)
        sync_projections(self.sessions, self.hearing_id)
        return event

    def _require_editable(self, record: _Record) -> None:
        state = record.lifecycle.state
        if state in (HearingState.ARCHIVED, HearingState.SCHEDULED):
            raise BiluError(
                f"笔录不能更正：庭审{state.label} (the 笔录 cannot be corrected while {state.value})"
            )

    def _supersede_if_locked(self, record: _Record, event: TimelineEvent) -> None:
        locks = record.locks()
        if locks and not record.superseded_after(locks[-1]):
            last = locks[-1]
            self.timeline.append(
                SUPERSEDED,
                {
                    "version": last.payload["version"],
                    "sha256": last.payload["sha256"],
                    "by_seq": event.seq,
                    "by": event.type,
                },
                actor=event.actor,
            )

    def edit_text(
        self,
        line_id: str,
        text: str,
        *,
        actor: str | None = None,
        reason: str = "",
        request_id: int | None = None,
    ) -> TimelineEvent:
        def payload(t: Transcript) -> dict[str, Any]:
            return {"line": line_id, "before": t.line(line_id).text, "after": text.strip()}

        return self._correct(
            CORRECTED, EditText(line_id, text), payload, actor=actor, reason=reason, request_id=request_id
        )

    def change_role(
        self,
        line_id: str,
        role: Role | str,
        *,
        participant_id: int | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> TimelineEvent:
        value = role.value if isinstance(role, Role) else str(role)
        speaker = ""
        if participant_id is not None:
            participant = self.hearing.participant(participant_id)
            if participant.role.value != value:
                raise BiluError(
                    f"{participant.label} 不是{role_label(value)} "
                    f"(participant {participant_id} is not {value})"
                )
            speaker = participant.name
        label = role_label(value)

        def payload(t: Transcript) -> dict[str, Any]:
            line = t.line(line_id)
            return {
                "line": line_id,
                "role": value,
                "role_label": label,
                "speaker": speaker,
                "participant_id": participant_id,
                "before": f"{line.role_label} {line.speaker}".strip(),
                "after": f"{label} {speaker}".strip(),
            }

        change = EditRole(line_id, value, label, speaker, participant_id)
        return self._correct(ROLE_CHANGED, change, payload, actor=actor, reason=reason)

    def merge(self, line_ids: Sequence[str], *, actor: str | None = None, reason: str = "") -> TimelineEvent:
        ids = tuple(line_ids)

        def payload(t: Transcript) -> dict[str, Any]:
            texts = [t.line(i).text for i in ids]
            return {"lines": list(ids), "before": texts, "after": "".join(texts)}

        return self._correct(MERGED, Merge(ids), payload, actor=actor, reason=reason)

    def split(
        self, line_id: str, offset: int, *, actor: str | None = None, reason: str = ""
    ) -> TimelineEvent:
        transcript = self.transcript()
        every = [line.line_id for line in (*transcript.lines, *transcript.retired)]
        new_id = unique_line_id(every, line_id)

        def payload(t: Transcript) -> dict[str, Any]:
            text = t.line(line_id).text
            return {
                "line": line_id,
                "offset": offset,
                "new_line": new_id,
                "before": text,
                "after": [text[:offset].strip(), text[offset:].strip()],
            }

        return self._correct(SPLIT, Split(line_id, offset, new_id), payload, actor=actor, reason=reason)

    def mark(self, line_id: str, mark: str, *, note: str = "", actor: str | None = None) -> TimelineEvent:
        def payload(t: Transcript) -> dict[str, Any]:
            return {"line": line_id, "mark": mark, "note": note, "before": list(t.line(line_id).marks)}

        return self._correct(MARKED, Mark(line_id, mark, note), payload, actor=actor)

    def unmark(self, line_id: str, mark: str, *, actor: str | None = None) -> TimelineEvent:
        def payload(t: Transcript) -> dict[str, Any]:
            return {"line": line_id, "mark": mark, "before": list(t.line(line_id).marks)}

        return self._correct(UNMARKED, Unmark(line_id, mark), payload, actor=actor)

    def add_line(
        self,
        role: Role | str,
        text: str,
        start: float,
        *,
        participant_id: int | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> TimelineEvent:
        value = role.value if isinstance(role, Role) else str(role)
        speaker = self.hearing.participant(participant_id).name if participant_id is not None else ""
        transcript = self.transcript()
        new_id = unique_line_id([x.line_id for x in (*transcript.lines, *transcript.retired)], "c")
        change = AddLine(new_id, value, role_label(value), text, start, speaker, participant_id)

        def payload(_: Transcript) -> dict[str, Any]:
            return {
                "line": new_id,
                "role": value,
                "role_label": role_label(value),
                "speaker": speaker,
                "participant_id": participant_id,
                "text": text.strip(),
                "start": start,
            }

        return self._correct(ADDED, change, payload, actor=actor, reason=reason)

    # -- requests (Art. 42) --------------------------------------------------------------------------

    def request_correction(
        self, line_id: str, participant_id: int, proposed_text: str, *, reason: str = ""
    ) -> int:
        """A party asks for a line to be corrected; returns the request id (its event number)."""
        record = self._record()
        self._require_editable(record)
        participant = self.hearing.participant(participant_id)
        transcript = record.transcript()
        try:
            transcript.line(line_id)
        except CorrectionError as exc:
            raise BiluError(str(exc)) from exc
        if not proposed_text.strip():
            raise BiluError("更正申请没有写明更正内容 (the request proposes no text)")
        event = self.timeline.append(
            REQUESTED,
            {
                "line": line_id,
                "participant_id": participant_id,
                "requested_by": participant.label,
                "proposed_text": proposed_text.strip(),
                "reason": reason.strip(),
            },
            actor=participant.label,
        )
        sync_projections(self.sessions, self.hearing_id)
        return event.seq

    def decide(
        self,
        request_id: int,
        *,
        accept: bool,
        reason: str = "",
        text: str | None = None,
        actor: str | None = None,
    ) -> TimelineEvent:
        """The clerk's decision. Accepting applies the correction (``text``, default the proposed
        one) as an ``utterance.corrected`` tied to the request; refusing needs a reason, and the
        refused request is printed in the 笔录 after its line."""
        record = self._record()
        self._require_editable(record)
        actor = actor or self.default_actor()
        outcome = next((o for o in record.transcript().requests if o.request.request_id == request_id), None)
        if outcome is None:
            raise BiluError(f"更正申请 {request_id} 不存在 (no such request)")
        if outcome.decision is not None:
            raise BiluError(f"更正申请 {request_id} 已经处理 (already {outcome.status})")
        if not accept and not reason.strip():
            raise BiluError("不予更正需要写明理由 (a refusal needs a reason for the record)")
        new_text = (text if text is not None else outcome.request.proposed_text).strip()
        if accept and not new_text:
            raise BiluError("更正后的文字为空 (the corrected text is empty)")
        if accept:
            current = record.transcript().line(outcome.line_id).text
            if new_text == current:
                raise BiluError("更正内容与现有记录相同 (the line already reads so)")
        event = self.timeline.append(
            DECIDED,
            {
                "request_id": request_id,
                "decision": "accepted" if accept else "refused",
                "reason": reason.strip(),
            },
            actor=actor,
        )
        if accept:
            self.edit_text(
                outcome.line_id,
                new_text,
                actor=actor,
                reason=reason or "当事人申请更正",
                request_id=request_id,
            )
        else:
            self._supersede_if_locked(record, event)
        sync_projections(self.sessions, self.hearing_id)
        return event

    # -- versions ---------------------------------------------------------------------------------

    def server_key(self) -> ServerKey:
        url = self.sessions.kw["bind"].url.render_as_string(hide_password=False)
        key = load_or_create_key(self._key_path or default_key_path(url))
        with self.sessions.begin() as session:
            if session.scalar(select(BiluKey.id).where(BiluKey.key_id == key.key_id)) is None:
                session.add(BiluKey(key_id=key.key_id, algorithm="ed25519", public_key=key.public_key))
        return key

    def versions(self) -> list[LockedVersion]:
        record = self._record()
        locks = {int(e.payload["version"]): e for e in record.locks()}
        with self.sessions() as session:
            rows = session.scalars(
                select(BiluVersion)
                .where(BiluVersion.hearing_id == self.hearing_id)
                .order_by(BiluVersion.number)
            ).all()
        out = []
        for row in rows:
            lock = locks.get(row.number)
            if lock is None or lock.payload.get("sha256") != row.sha256:
                continue  # written but never locked (a crash in between): not a version
            out.append(_locked(row, superseded=record.superseded_after(lock)))
        return out

    def current_version(self) -> LockedVersion | None:
        """The version out for signature now (``None`` if none, or if corrected since)."""
        versions = self.versions()
        if versions and not versions[-1].superseded:
            return versions[-1]
        return None

    def lock(self, *, actor: str | None = None) -> LockedVersion:
        """Send the 笔录 for signature: freeze the current text as a new version (sealed), moving a
        closed hearing to ``signing``. Locking again with nothing corrected returns that version."""
        record = self._record()
        lifecycle = record.lifecycle
        if lifecycle.state not in (HearingState.CLOSED, HearingState.SIGNING):
            try:
                lifecycle.send_for_signing()
            except InvalidTransition as exc:
                raise BiluError(f"笔录送签需先闭庭 (the hearing must be closed first): {exc}") from exc
        current = self.current_version()
        if current is not None and lifecycle.state is HearingState.SIGNING:
            return current
        transcript = record.transcript()
        pending = transcript.pending_requests()
        if pending:
            ids = ", ".join(str(o.request.request_id) for o in pending)
            raise BiluError(f"尚有更正申请未处理，不能送签 (correction requests {ids} await a decision)")
        actor = actor or self.default_actor()
        document = self._document(record, transcript)
        blocks = document_blocks(document)
        sha = content_sha256(blocks)
        number = len(record.locks()) + 1
        key = self.server_key()
        t = self.timeline.clock.now()
        locked_at = self.timeline.clock.wall(t)
        statement = version_statement(
            self.hearing_id, self.hearing.case_number, number, sha, locked_at, actor
        )
        seal = key.seal(statement)
        with self.sessions.begin() as session:
            # A row left by a lock that crashed before its event is not a version: replace it.
            session.execute(
                delete(BiluVersion).where(
                    BiluVersion.hearing_id == self.hearing_id, BiluVersion.number == number
                )
            )
            row = BiluVersion(
                hearing_id=self.hearing_id,
                number=number,
                sha256=sha,
                blocks=blocks_to_json(blocks),
                document=document_to_dict(document),
                locked_at=locked_at,
                locked_by=actor,
                key_id=key.key_id,
                seal=seal,
            )
            session.add(row)
        if lifecycle.state is HearingState.CLOSED:
            pending_event = lifecycle.send_for_signing()
            self.timeline.append(pending_event.type, pending_event.payload, actor=actor, t=t)
        event = self.timeline.append(
            LOCKED, {"version": number, "sha256": sha, "key_id": key.key_id, "seal": seal}, actor=actor, t=t
        )
        with self.sessions.begin() as session:
            stored = session.scalar(
                select(BiluVersion).where(
                    BiluVersion.hearing_id == self.hearing_id, BiluVersion.number == number
                )
            )
            assert stored is not None
            stored.event_seq = event.seq
            return _locked(stored, superseded=False)

    # -- signing ----------------------------------------------------------------------------------

    def signatures(self, version: int | None = None) -> list[SignatureRecord]:
        """The completed signatures and refusals (those whose event is in the timeline)."""
        record = self._record()
        return _signature_records(self.sessions, self.hearing_id, record, version)

    def _signable(self, participant_id: int, sha256: str) -> tuple[_Record, LockedVersion, Person]:
        record = self._record()
        if record.lifecycle.state is not HearingState.SIGNING:
            raise BiluError(
                f"笔录未在签署中 (the 笔录 is not out for signature: {record.lifecycle.state.value})"
            )
        current = self.current_version()
        if current is None:
            raise BiluError("笔录已更正，须先锁定新版本再签署 (corrected since: lock a new version first)")
        if sha256 != current.sha256:
            raise BiluError(
                f"您审阅的不是当前版本 (the version you reviewed, {sha256[:12]}…, is not the current "
                f"version {current.number} {current.sha256[:12]}…): 请重新审阅"
            )
        signer = next((p for p in current.document.signers if p.participant_id == participant_id), None)
        if signer is None:
            raise BiluError(f"参与人 {participant_id} 不是本笔录的签名人 (not a signer of this 笔录)")
        done = [
            e
            for e in record.events
            if e.type in (SIGNED, SIGN_REFUSED)
            and e.payload.get("version") == current.number
            and e.payload.get("participant_id") == participant_id
        ]
        if done:
            raise BiluError(
                f"{signer.label} 已经{'签名' if done[0].type == SIGNED else '拒绝签名'} (already done)"
            )
        return record, current, signer

    def sign(
        self,
        participant_id: int,
        sha256: str,
        *,
        device: str,
        image: bytes | None = None,
        login: str = "",
        face_similarity: float | None = None,
        face_passed: bool | None = None,
    ) -> SignatureRecord:
        """Sign the version with hash ``sha256`` — the one the signer reviewed on ``device`` — by a
        handwritten signature (PNG/JPEG drawn on screen) and/or a confirmation tied to their login
        and face check."""
        _, current, signer = self._signable(participant_id, sha256)
        if not device.strip():
            raise BiluError("签名须记录设备 (the signing device must be named)")
        methods = []
        if image is not None:
            _check_image(image)
            methods.append("handwritten")
        if login.strip():
            methods.append("login")
        if face_similarity is not None or face_passed is not None:
            if not face_passed:
                raise BiluError("人脸核验未通过，不能签名 (the face check did not pass)")
            methods.append("face")
        if not methods:
            raise BiluError(
                "需要手写签名或登录确认 (a handwritten signature or a login confirmation is needed)"
            )
        assert all(m in SIGN_METHODS for m in methods)
        return self._record_signature(
            current, signer, refused=False, device=device.strip(), methods=tuple(methods),
            login=login.strip(), face_similarity=face_similarity, reason="", image=image,
        )  # fmt: skip

    def refuse(self, participant_id: int, sha256: str, *, reason: str, device: str) -> SignatureRecord:
        """Record a refusal to sign, with its reason (noted in the record, Art. 43)."""
        _, current, signer = self._signable(participant_id, sha256)
        if not reason.strip():
            raise BiluError("拒绝签名须写明理由 (a refusal needs its reason)")
        if not device.strip():
            raise BiluError("须记录设备 (the device must be named)")
        return self._record_signature(
            current, signer, refused=True, device=device.strip(), methods=(), login="", face_similarity=None,
            reason=reason.strip(), image=None,
        )  # fmt: skip

    def _record_signature(
        self,
        current: LockedVersion,
        signer: Person,
        *,
        refused: bool,
        device: str,
        methods: tuple[str, ...],
        login: str,
        face_similarity: float | None,
        reason: str,
        image: bytes | None,
    ) -> SignatureRecord:
        key = self.server_key()
        t = self.timeline.clock.now()
        record = SignatureRecord(
            hearing_id=self.hearing_id,
            case_number=self.hearing.case_number,
            version=current.number,
            sha256=current.sha256,
            signer=signer,
            refused=refused,
            at=self.timeline.clock.wall(t),
            device=device,
            methods=methods,
            login=login,
            face_similarity=round(face_similarity, 4) if face_similarity is not None else None,
            reason=reason,
            image_sha256=hashlib.sha256(image).hexdigest() if image is not None else "",
            key_id=key.key_id,
            image=image,
        )
        statement = record.statement()
        seal = key.seal(statement)
        with self.sessions.begin() as session:
            row = Signature(
                hearing_id=self.hearing_id,
                document_version=record.version,
                document_sha256=record.sha256,
                participant_id=signer.participant_id,
                signer_role=signer.role,
                signer_name=signer.name,
                refused=refused,
                refusal_reason=reason,
                method=",".join(methods),
                device=device,
                image=image,
                signed_at=record.at,
                statement=statement,
                key_id=key.key_id,
                seal=seal,
            )
            session.add(row)
            session.flush()
            signature_id = row.id
        self.timeline.append(
            SIGN_REFUSED if refused else SIGNED,
            {
                "version": record.version,
                "sha256": record.sha256,
                "participant_id": signer.participant_id,
                "signer": signer.label,
                "methods": list(methods),
                "device": device,
                **({"reason": reason} if refused else {}),
                "signature_id": signature_id,
                "seal": seal,
            },
            actor=signer.label,
            t=t,
        )
        return replace(record, seal=seal)

    def archive(self, *, actor: str | None = None) -> TimelineEvent:
        """Archive once every signer of the current version has signed or refused."""
        record = self._record()
        current = self.current_version()
        if current is None:
            raise BiluError("没有待签署的当前版本 (no current version out for signature)")
        done = {s.signer.participant_id for s in self.signatures(current.number)}
        missing = [p.label for p in current.document.signers if p.participant_id not in done]
        if missing:
            raise BiluError("尚未签名：" + "、".join(missing) + " (not yet signed)")
        try:
            pending = record.lifecycle.archive()
        except InvalidTransition as exc:
            raise BiluError(str(exc)) from exc
        return self.timeline.append(pending.type, pending.payload, actor=actor or self.default_actor())

    # -- exports ----------------------------------------------------------------------------------

    def printable(self, version: int | None = None) -> Printable:
        """A locked version (``version``, or the current one) with its signatures, else the draft."""
        chosen: LockedVersion | None
        if version is not None:
            chosen = next((v for v in self.versions() if v.number == version), None)
            if chosen is None:
                raise BiluError(f"没有版本 {version} (no locked version {version})")
        else:
            chosen = self.current_version()
        if chosen is None:
            document = self.draft()
            return Printable(
                case_number=self.hearing.case_number,
                title=document.header.title,
                blocks=document_blocks(document),
                signers=document.signers,
                utc_offset_minutes=document.utc_offset_minutes,
                document=document,
            )
        key = _public_keys(self.sessions).get(chosen.key_id)
        return Printable(
            case_number=self.hearing.case_number,
            title=chosen.document.header.title,
            blocks=chosen.blocks,
            signers=chosen.document.signers,
            version=chosen.number,
            sha256=chosen.sha256,
            signatures=tuple(self.signatures(chosen.number)),
            utc_offset_minutes=chosen.document.utc_offset_minutes,
            document=chosen.document,
            version_seal=chosen.version_seal(self.hearing.case_number),
            public_key=key,
        )

    def export(self, fmt: str, path: Path, *, version: int | None = None) -> Printable:
        printable = self.printable(version)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_export(printable, fmt, path)
        return printable


# -- helpers ----------------------------------------------------------------------------------------


def _check_image(image: bytes) -> None:
    if len(image) > MAX_SIGNATURE_IMAGE_BYTES:
        raise BiluError(f"签名图像过大 (the signature image is over {MAX_SIGNATURE_IMAGE_BYTES} bytes)")
    try:
        with Image.open(io.BytesIO(image)) as picture:
            picture.verify()
            kind = picture.format
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BiluError(
            f"签名图像无法识别 (the handwritten signature is not a PNG/JPEG image): {exc}"
        ) from exc
    if kind not in ("PNG", "JPEG"):
        raise BiluError(f"签名图像须为 PNG 或 JPEG (got {kind})")


def _locked(row: BiluVersion, *, superseded: bool) -> LockedVersion:
    return LockedVersion(
        hearing_id=row.hearing_id,
        number=row.number,
        sha256=row.sha256,
        locked_at=as_utc(row.locked_at),
        locked_by=row.locked_by,
        key_id=row.key_id,
        seal=row.seal,
        blocks=blocks_from_json(row.blocks),
        document=document_from_dict(row.document),
        event_seq=row.event_seq,
        superseded=superseded,
    )


def _public_keys(sessions: sessionmaker[Session]) -> dict[str, bytes]:
    with sessions() as session:
        return {k.key_id: k.public_key for k in session.scalars(select(BiluKey))}


def _row_record(row: Signature) -> SignatureRecord:
    """A signature as the row says it is: the seal over its statement then proves it unchanged."""
    statement = row.statement or {}
    signer_raw = statement.get("signer") or {}
    try:
        sealed_signer = person_from_dict(signer_raw)
    except (KeyError, TypeError, ValueError):
        sealed_signer = Person(row.signer_role, role_label(row.signer_role), row.signer_name)
    similarity = statement.get("face_similarity")
    return SignatureRecord(
        hearing_id=row.hearing_id,
        case_number=str(statement.get("case_number", "")),
        version=row.document_version,
        sha256=row.document_sha256,
        signer=Person(
            row.signer_role,
            sealed_signer.role_label,
            row.signer_name,
            sealed_signer.organization,
            row.participant_id,
        ),
        refused=row.refused,
        at=as_utc(row.signed_at),
        device=row.device,
        methods=tuple(m for m in row.method.split(",") if m),
        login=str(statement.get("login", "")),
        face_similarity=float(similarity) if similarity is not None else None,
        reason=row.refusal_reason,
        image_sha256=str(statement.get("image_sha256", "")),
        key_id=row.key_id,
        seal=row.seal,
        image=row.image,
    )


def _signature_rows(sessions: sessionmaker[Session], hearing_id: int) -> list[SignatureRecord]:
    with sessions() as session:
        rows = session.scalars(
            select(Signature).where(Signature.hearing_id == hearing_id).order_by(Signature.id)
        ).all()
        for row in rows:
            _ = row.image  # deferred column: load it while the session is open
        return [_row_record(row) for row in rows]


def _signature_records(
    sessions: sessionmaker[Session], hearing_id: int, record: _Record, version: int | None
) -> list[SignatureRecord]:
    sealed = {str(e.payload.get("seal")) for e in record.events if e.type in (SIGNED, SIGN_REFUSED)}
    return [
        r
        for r in _signature_rows(sessions, hearing_id)
        if r.seal in sealed and (version is None or r.version == version)
    ]


def sync_projections(sessions: sessionmaker[Session], hearing_id: int) -> None:
    """Bring ``bilu_corrections`` and ``bilu_correction_requests`` up to the timeline (idempotent;
    also repairs rows a crash left unwritten between an event and its projection)."""
    events = list(read_events(sessions, hearing_id))
    with sessions.begin() as session:
        done = set(
            session.scalars(select(BiluCorrection.event_seq).where(BiluCorrection.hearing_id == hearing_id))
        )
        requests = {
            r.event_seq: r
            for r in session.scalars(
                select(BiluCorrectionRequest).where(BiluCorrectionRequest.hearing_id == hearing_id)
            )
        }
        for e in events:
            p = e.payload
            if e.type in CORRECTION_EVENTS and e.seq not in done:
                before, after = p.get("before", ""), p.get("after", "")
                session.add(
                    BiluCorrection(
                        hearing_id=hearing_id,
                        event_seq=e.seq,
                        kind=e.type.removeprefix("utterance."),
                        line_id=str(p.get("line") or ",".join(p.get("lines", []))),
                        before=before if isinstance(before, str) else "\n".join(map(str, before)),
                        after=after if isinstance(after, str) else "\n".join(map(str, after)),
                        actor=e.actor,
                        at=e.wall,
                        reason=str(p.get("reason", "")),
                        request_id=_opt_int(p.get("request_id")),
                    )
                )
            elif e.type == REQUESTED and e.seq not in requests:
                row = BiluCorrectionRequest(
                    hearing_id=hearing_id,
                    event_seq=e.seq,
                    line_id=str(p["line"]),
                    participant_id=_opt_int(p.get("participant_id")),
                    requested_by=str(p["requested_by"]),
                    proposed_text=str(p["proposed_text"]),
                    reason=str(p.get("reason", "")),
                    requested_at=e.wall,
                    status="pending",
                    decided_by="",
                    decision_reason="",
                )
                session.add(row)
                requests[e.seq] = row
            elif e.type == DECIDED:
                target = requests.get(int(p["request_id"]))
                if target is not None and target.decision_event_seq is None:
                    target.status = str(p.get("decision", ""))
                    target.decided_by = e.actor
                    target.decided_at = e.wall
                    target.decision_reason = str(p.get("reason", ""))
                    target.decision_event_seq = e.seq


def lock_if_closed(
    sessions: sessionmaker[Session], hearing_id: int, *, key_path: Path | None = None
) -> LockedVersion | None:
    """Send a closed hearing's 笔录 for signature (the demo's last step); ``None`` if not closed."""
    state = Lifecycle.replay((e.type, e.payload) for e in read_events(sessions, hearing_id)).state
    if state not in (HearingState.CLOSED, HearingState.SIGNING):
        return None
    return Bilu(sessions, hearing_id, key_path=key_path).lock()


# -- verification -----------------------------------------------------------------------------------


def verify_file(sessions: sessionmaker[Session], path: Path) -> VerifyReport:
    """Check an exported 笔录 against the record in ``sessions``' store.

    Raises :class:`~transcripts.bilu.verify.ExtractError` when the file cannot be read at all."""
    extracted = extract(path)
    number, sha = claimed_version(extracted)
    if sha is None:
        return VerifyReport(
            extracted.format,
            None,
            None,
            (
                "文件没有版本校验码：这是未锁定的草稿或页脚被改动 "
                "(the file carries no version hash: a draft, or its foot was altered)",
            ),
        )
    with sessions() as session:
        rows = session.scalars(select(BiluVersion).where(BiluVersion.sha256 == sha)).all()
    if not rows:
        return VerifyReport(
            extracted.format,
            number,
            sha,
            (f"记录中没有校验码为 {sha} 的锁定版本 (no locked version with this hash in the record)",),
        )
    row = rows[0]
    hearing = load_hearing(sessions, row.hearing_id)
    record = _Record(hearing, tuple(read_events(sessions, row.hearing_id)))
    lock = next((e for e in record.locks() if e.payload.get("sha256") == sha), None)
    version = _locked(row, superseded=lock is not None and record.superseded_after(lock))
    all_rows = [
        r for r in _signature_rows(sessions, row.hearing_id) if r.sha256 == sha or r.version == row.number
    ]
    counted = _signature_records(sessions, row.hearing_id, record, None)
    counted_seals = {r.seal for r in counted}
    expected = ExpectedVersion(
        seal=version.version_seal(hearing.case_number),
        title=version.document.header.title,
        blocks=version.blocks,
        signers=version.document.signers,
        signatures=tuple(r for r in all_rows if r.seal in counted_seals),
        document=row.document,
        public_keys=_public_keys(sessions),
        superseded=version.superseded,
    )
    report = verify_extracted(extracted, expected, version.document.utc_offset_minutes)
    problems = list(report.problems)
    notes = list(report.notes)
    if lock is None:
        problems.insert(0, "记录的时间线中没有该版本的锁定事件 (the timeline holds no lock of this version)")
    elif lock.payload.get("seal") != row.seal or int(lock.payload.get("version", -1)) != row.number:
        problems.insert(
            0, "版本记录与时间线中的锁定事件不符 (the stored version differs from its lock event)"
        )
    orphans = [r for r in all_rows if r.seal not in counted_seals]
    if orphans:
        notes.append(
            f"{len(orphans)} 条签名记录没有对应的时间线事件，未计入 "
            "(signature rows without a timeline event — an interrupted signing or an insertion — not counted)"
        )
    return VerifyReport(
        report.format, report.version, report.sha256, tuple(problems), report.signatures, tuple(notes)
    )


__all__ = [
    "CONTENT_EVENTS",
    "CORRECTION_EVENTS",
    "SIGNING_KEY_ENV",
    "Bilu",
    "BiluError",
    "ExtractError",
    "LockedVersion",
    "default_key_path",
    "lock_if_closed",
    "role_label",
    "sync_projections",
    "verify_file",
]
