"""Building the 笔录 from plain facts: the hearing's header, its milestones (phases, recesses, the
discipline, a stop of the system and what of the hearing could not be transcribed), the evidence
shown, and the corrected lines.

Every line and note is placed in the phase that was running when it was spoken or happened (by
hearing-clock time, not by when recognition delivered it), so a line recognized late still lands in
its phase.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from transcripts.bilu.corrections import RequestOutcome, Transcript
from transcripts.bilu.layout import clock_time
from transcripts.bilu.model import (
    DEFAULT_UTC_OFFSET_MINUTES,
    AttendanceEntry,
    BiluDocument,
    Header,
    Item,
    Note,
    Person,
    Section,
    Speech,
)

PHASE_HEADINGS = {
    "preparation": "庭前准备",
    "opening": "开庭",
    "investigation": "庭审调查",
    "evidence": "举证质证",
    "debate": "辩论",
    "final_statements": "最后陈述",
    "mediation": "调解",
    "closing": "闭庭",
}
"""The 笔录's phases in their legal order (办案规则 Art. 41–43)."""


@dataclass(frozen=True, slots=True)
class Milestone:
    """A lifecycle step of the hearing, from its timeline."""

    kind: str
    """``preparing``, ``rules``, ``opened``, ``phase``, ``recessed``, ``resumed``, ``closed``, ``outage``
    (the system stopped: nothing recorded for ``seconds`` of real time) or ``gap`` (from ``at`` to
    ``until`` the speech of ``detail`` could not be transcribed, for ``reason``)."""
    t: float
    at: datetime
    phase: str | None = None
    """For ``phase``: the phase entered."""
    reason: str = ""
    detail: str = ""
    until: datetime | None = None
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class EvidenceShown:
    t: float
    at: datetime
    title: str
    submitted_by: str
    """How the 笔录 names who submitted it, e.g. ``申请人 张伟``."""
    sha256: str
    filename: str = ""


@dataclass(frozen=True, slots=True)
class HearingFacts:
    commission: str
    case_number: str
    cause: str
    place: str
    tribunal: tuple[Person, ...]
    recorders: tuple[Person, ...]
    attendance: tuple[AttendanceEntry, ...]
    milestones: tuple[Milestone, ...] = ()
    evidence: tuple[EvidenceShown, ...] = ()
    kind: str = "hearing"
    """``hearing`` (庭审笔录) or ``mediation`` (调解笔录)."""
    signers: tuple[Person, ...] | None = None
    """Who signs; default: the tribunal, the recorder and everyone present."""


def default_signers(facts: HearingFacts) -> tuple[Person, ...]:
    """The tribunal, the recorder, then each party, agent and witness who came (Art. 43)."""
    present = [a.person for a in facts.attendance if a.present]
    seen: set[tuple[str, str]] = set()
    signers = []
    for person in (*facts.tribunal, *facts.recorders, *present):
        key = (person.role, person.name)
        if key not in seen:
            seen.add(key)
            signers.append(person)
    return tuple(signers)


def _refused_note(outcome: RequestOutcome, offset: int) -> Note:
    request, decision = outcome.request, outcome.decision
    assert decision is not None
    reason = f"，理由：{request.reason.strip()}" if request.reason.strip() else ""
    text = (
        f"{request.requested_by} 于 {clock_time(request.at, offset)} 申请将上述记录更正为"
        f"“{request.proposed_text.strip()}”{reason}；"
        f"{decision.actor} 决定不予更正，理由：{decision.reason.strip()}"
    )
    return Note("refused_request", text, t=0.0, line_id=outcome.line_id)


def _milestone_note(m: Milestone, offset: int) -> Note | None:
    when = clock_time(m.at, offset)
    match m.kind:
        case "rules":
            text = f"{when} 宣布庭审纪律"
        case "opened":
            text = f"{when} 开庭"
            if m.detail:
                text += f"（{m.detail}，经记录原因后开庭：{m.reason}）"
        case "phase":
            text = f"{when} 进入{PHASE_HEADINGS.get(m.phase or '', m.phase or '')}"
            if m.reason:
                text += f"，原因：{m.reason}"
        case "recessed":
            text = f"{when} 休庭" + (f"，原因：{m.reason}" if m.reason else "")
        case "resumed":
            text = f"{when} 继续开庭"
        case "closed":
            text = f"{when} 闭庭"
        case "outage":
            lasted = duration_text(m.seconds or 0.0)
            text = f"{when} 系统中断，录音录像中断 {lasted}（实际时长）后恢复，其间无录音"
            if m.reason:
                text += f"，原因：{m.reason}"
        case "gap":
            until = clock_time(m.until, offset) if m.until is not None else "?"
            who = f"{m.detail}的" if m.detail else ""
            text = f"{when} 至 {until} {who}发言无法转写，原因：{m.reason}"
        case _:
            return None
    return Note(m.kind, text, m.t)


def duration_text(seconds: float) -> str:
    """``12 秒``, ``3 分 5 秒``, ``1 小时 2 分 3 秒``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} 小时"] if hours else []
    if hours or minutes:
        parts.append(f"{minutes} 分")
    parts.append(f"{secs} 秒")
    return " ".join(parts)


def build_document(
    facts: HearingFacts,
    transcript: Transcript,
    *,
    utc_offset_minutes: int = DEFAULT_UTC_OFFSET_MINUTES,
    phase_headings: dict[str, str] | None = None,
) -> BiluDocument:
    """Assemble the 笔录. Refused correction requests are printed after their line (Art. 42);
    pending ones are the caller's to settle before locking."""
    headings = phase_headings or PHASE_HEADINGS
    offset = utc_offset_minutes
    milestones = sorted(facts.milestones, key=lambda m: m.t)
    opened = next((m for m in milestones if m.kind == "opened"), None)
    closed = next((m for m in reversed(milestones) if m.kind == "closed"), None)

    # Section boundaries: preparation from the start, then each opening/phase/closing milestone.
    bounds: list[tuple[float, str]] = [(float("-inf"), "preparation")]
    for m in milestones:
        if m.kind == "opened":
            bounds.append((m.t, "opening"))
        elif m.kind == "phase" and m.phase:
            bounds.append((m.t, m.phase))
        elif m.kind == "closed":
            bounds.append((m.t, "closing"))
    times = [t for t, _ in bounds]

    buckets: list[list[tuple[float, int, Item]]] = [[] for _ in bounds]

    def place(t: float, rank: int, item: Item) -> None:
        index = max(0, bisect.bisect_right(times, t) - 1)
        buckets[index].append((t, rank, item))

    for m in milestones:
        note = _milestone_note(m, offset)
        if note is not None:
            place(m.t, 0, note)
    for e in facts.evidence:
        text = f"出示证据：{e.title}（{e.submitted_by} 提交），SHA-256：{e.sha256}"
        place(e.t, 1, Note("evidence", text, e.t))
    refused: dict[str, list[Note]] = {}
    for outcome in transcript.requests:
        if outcome.status == "refused":
            refused.setdefault(outcome.line_id, []).append(_refused_note(outcome, offset))
    for line in transcript.lines:
        speech = Speech(
            line_id=line.line_id,
            role=line.role,
            role_label=line.role_label,
            speaker=line.speaker,
            text=line.text,
            start=line.start,
            end=line.end,
            marks=line.marks,
            recognized=line.recognized,
            history=line.history,
            merged=line.merged,
        )
        place(line.start, 2, speech)
        for note in refused.get(line.line_id, []):
            place(line.start, 2, Note(note.kind, note.text, line.start, note.line_id))

    sections = []
    for (_, phase), bucket in zip(bounds, buckets, strict=True):
        if phase == "preparation" and not bucket and not any(m.kind == "preparing" for m in milestones):
            continue
        items = tuple(item for _, _, item in sorted(bucket, key=lambda b: (b[0], b[1])))
        sections.append(Section(phase, headings.get(phase, phase), items))

    header = Header(
        commission=facts.commission,
        title="调解笔录" if facts.kind == "mediation" else "庭审笔录",
        case_number=facts.case_number,
        cause=facts.cause,
        place=facts.place,
        opened_at=opened.at if opened else None,
        closed_at=closed.at if closed else None,
        tribunal=facts.tribunal,
        recorders=facts.recorders,
        attendance=facts.attendance,
    )
    signers = facts.signers if facts.signers is not None else default_signers(facts)
    return BiluDocument(header, tuple(sections), signers, utc_offset_minutes)


def unique_line_id(existing: Sequence[str], base: str) -> str:
    """A fresh id derived from ``base`` (``u12`` → ``u12-1``, ``u12-2`` …) for a split or added line."""
    taken = set(existing)
    n = 1
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
