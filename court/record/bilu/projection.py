"""The 笔录 as the timeline says it is: corrections, requests and decisions read back from events,
and the correction tables (``bilu_corrections``, ``bilu_correction_requests``) brought up to them.

The timeline is the only source of truth; everything here is derived from it, so the first
recognized text of a line is never lost and every correction stays traceable."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import HearingInfo
from court.core.events import EventType
from court.core.lifecycle import Lifecycle
from court.core.timeline import TimelineEvent, read_events
from court.db.bilu import BiluCorrection, BiluCorrectionRequest
from court.record.bilu.common import (
    CONTENT_EVENTS,
    CORRECTION_EVENTS,
    DECIDED,
    LOCKED,
    REQUESTED,
    SUPERSEDED,
    opt_int,
    role_label,
)
from transcripts.bilu.corrections import (
    AddLine,
    Change,
    Correction,
    CorrectionRequest,
    Decision,
    EditRole,
    EditText,
    Mark,
    Merge,
    RecognizedLine,
    Split,
    Transcript,
    Unmark,
    apply_corrections,
    parse_spans,
)


def event_change(event: TimelineEvent) -> Change | None:
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
                opt_int(p.get("participant_id")),
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
                opt_int(p.get("participant_id")),
            )
    return None


@dataclass(frozen=True)
class Record:
    """The hearing's timeline read once, with what the 笔录 needs from it."""

    hearing: HearingInfo
    events: tuple[TimelineEvent, ...]

    @classmethod
    def read(cls, sessions: sessionmaker[Session], hearing: HearingInfo) -> Record:
        return cls(hearing, tuple(read_events(sessions, hearing.id)))

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
            pid = opt_int(p.get("participant_id"))
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
                    uncertain=parse_spans(p.get("uncertain")),
                )
            )
        return lines

    def corrections(self) -> list[Correction]:
        out = []
        for e in self.events:
            change = event_change(e) if e.type in CORRECTION_EVENTS else None
            if change is not None:
                out.append(
                    Correction(
                        e.seq,
                        e.actor,
                        e.wall,
                        change,
                        str(e.payload.get("reason", "")),
                        opt_int(e.payload.get("request_id")),
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
                participant_id=opt_int(e.payload.get("participant_id")),
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
                        request_id=opt_int(p.get("request_id")),
                    )
                )
            elif e.type == REQUESTED and e.seq not in requests:
                row = BiluCorrectionRequest(
                    hearing_id=hearing_id,
                    event_seq=e.seq,
                    line_id=str(p["line"]),
                    participant_id=opt_int(p.get("participant_id")),
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
