"""The hearing facts the 笔录 document is built around — tribunal, recorders, attendance,
milestones, evidence shown — read from the timeline and the store.

Separate from the corrections (:mod:`.projection`) because they come from lifecycle, attendance and
evidence events and rows, not from the transcript's lines."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from court.core.cases import HearingInfo, ParticipantInfo
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import TimelineEvent
from court.db.models import Evidence
from court.record.bilu.common import EVIDENCE_PRESENTED, opt_int, role_label
from court.record.bilu.projection import Record
from transcripts.bilu.build import EvidenceShown, HearingFacts, Milestone
from transcripts.bilu.model import AttendanceEntry, Person

_SKIPPED = {
    "attendance has not been checked": "未核对到庭情况",
    "the tribunal discipline has not been announced": "未宣布庭审纪律",
}


def person(p: ParticipantInfo) -> Person:
    return Person(p.role.value, p.role.label, p.name, p.organization, p.id)


def hearing_facts(record: Record, sessions: sessionmaker[Session]) -> HearingFacts:
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
            pid = opt_int(p.get("participant_id"))
            info = next((x for x in hearing.participants if x.id == pid), None)
            who = (
                person(info)
                if info
                else Person(str(p.get("role", "")), role_label(str(p.get("role", ""))), str(p["name"]))
            )
            similarity = p.get("similarity")
            attendance[pid if pid is not None else p["name"]] = AttendanceEntry(
                person=who,
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
        elif e.type == EventType.RECORDING_RECOVERED and p.get("outage_seconds") is not None:
            milestones.append(outage(e))
        elif e.type == EventType.TRANSCRIPTION_GAP:
            milestones.append(gap(e, hearing))
        elif e.type == EVIDENCE_PRESENTED:
            evidence.append(evidence_shown(sessions, hearing, e))
    return HearingFacts(
        commission=hearing.commission,
        case_number=hearing.case_number,
        cause=hearing.cause,
        place=hearing.room,
        tribunal=tuple(person(p) for p in tribunal),
        recorders=tuple(person(p) for p in recorders),
        attendance=tuple(attendance.values()),
        milestones=tuple(milestones),
        evidence=tuple(evidence),
        kind=hearing.kind,
    )


def outage(e: TimelineEvent) -> Milestone:
    """The system's stop, at the last thing recorded before it, with its real length."""
    p = e.payload
    at = float(p.get("interrupted_at", e.t))
    return Milestone("outage", at, e.wall - timedelta(seconds=e.t - at), seconds=float(p["outage_seconds"]))


def gap(e: TimelineEvent, hearing: HearingInfo) -> Milestone:
    """A stretch whose speech could not be transcribed, naming whose microphones it was."""
    p = e.payload
    start, end = float(p["start"]), float(p["end"])
    who = "、".join(dict.fromkeys(source_label(str(s), hearing) for s in p.get("sources", [])))
    reason = str(p.get("reason", "")).split(" (", 1)[0]  # the 笔录 is in Chinese: no English gloss
    return Milestone(
        "gap",
        start,
        e.wall - timedelta(seconds=e.t - start),
        reason=reason,
        detail=who,
        until=e.wall - timedelta(seconds=e.t - end),
    )


def source_label(source: str, hearing: HearingInfo) -> str:
    """``mic-applicant`` → 申请人 张伟 (who sits there); ``remote-12`` → that participant."""
    if source.startswith("remote-") and source.removeprefix("remote-").isdigit():
        pid = int(source.removeprefix("remote-"))
        found = [p for p in hearing.participants if p.id == pid]
    else:
        seat = source.removeprefix("mic-")
        found = [p for p in hearing.participants if p.seat_id == seat and not p.remote]
        if not found:  # nobody sits there: the seat, named by its role where it has one
            label = role_label(seat.replace("-", "_"))
            return f"{label}席" if label != seat.replace("-", "_") else source
    return "、".join(p.label for p in found) if found else source


def evidence_shown(sessions: sessionmaker[Session], hearing: HearingInfo, e: TimelineEvent) -> EvidenceShown:
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
