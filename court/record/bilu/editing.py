"""The clerk's live corrections of the 笔录: edit a line's text or speaker, merge, split, mark, unmark
and add lines.

Each correction is checked strictly against the record before its event is appended (so a bad one
records nothing), supersedes a locked version, and is projected into ``bilu_corrections``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from court.core.events import EventType
from court.core.lifecycle import HearingState
from court.core.roles import Role
from court.core.timeline import TimelineEvent
from court.record.bilu.common import (
    ADDED,
    CORRECTED,
    MARKED,
    MERGED,
    ROLE_CHANGED,
    SPLIT,
    SUPERSEDED,
    UNMARKED,
    BiluError,
    role_label,
)
from court.record.bilu.context import RecordContext
from court.record.bilu.projection import Record, sync_projections
from transcripts.bilu.build import unique_line_id
from transcripts.bilu.corrections import (
    AddLine,
    Change,
    Correction,
    CorrectionError,
    EditRole,
    EditText,
    Mark,
    Merge,
    Split,
    Transcript,
    Unmark,
)

PayloadFn = Callable[[Transcript], dict[str, Any]]
"""Builds a correction event's payload (with before/after) from the lines as they stand."""


def require_editable(record: Record) -> None:
    state = record.lifecycle.state
    if state in (HearingState.ARCHIVED, HearingState.SCHEDULED):
        raise BiluError(f"笔录不能更正：庭审{state.label} (the 笔录 cannot be corrected while {state.value})")


def supersede_if_locked(ctx: RecordContext, record: Record, event: TimelineEvent) -> None:
    locks = record.locks()
    if locks and not record.superseded_after(locks[-1]):
        last = locks[-1]
        ctx.timeline.append(
            SUPERSEDED,
            {
                "version": last.payload["version"],
                "sha256": last.payload["sha256"],
                "by_seq": event.seq,
                "by": event.type,
            },
            actor=event.actor,
        )


def _correct(
    ctx: RecordContext,
    event_type: EventType,
    change: Change,
    payload: PayloadFn,
    *,
    actor: str | None,
    reason: str = "",
    request_id: int | None = None,
) -> TimelineEvent:
    record = ctx.read_record()
    require_editable(record)
    actor = actor or ctx.default_actor()
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
    event = ctx.timeline.append(event_type, body, actor=actor)
    supersede_if_locked(ctx, record, event)
    sync_projections(ctx.sessions, ctx.hearing_id)
    return event


def _every_line_id(transcript: Transcript) -> list[str]:
    # Retired lines keep their ids in the history, so a new id must not reuse one of them either.
    return [line.line_id for line in (*transcript.lines, *transcript.retired)]


def _role_value(role: Role | str) -> str:
    return role.value if isinstance(role, Role) else str(role)


def edit_text(
    ctx: RecordContext, line_id: str, text: str, *, actor: str | None, reason: str, request_id: int | None
) -> TimelineEvent:
    def payload(t: Transcript) -> dict[str, Any]:
        return {"line": line_id, "before": t.line(line_id).text, "after": text.strip()}

    return _correct(
        ctx, CORRECTED, EditText(line_id, text), payload, actor=actor, reason=reason, request_id=request_id
    )


def change_role(
    ctx: RecordContext,
    line_id: str,
    role: Role | str,
    *,
    participant_id: int | None,
    actor: str | None,
    reason: str,
) -> TimelineEvent:
    value = _role_value(role)
    speaker = ""
    if participant_id is not None:
        participant = ctx.hearing.participant(participant_id)
        if participant.role.value != value:
            raise BiluError(
                f"{participant.label} 不是{role_label(value)} (participant {participant_id} is not {value})"
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
    return _correct(ctx, ROLE_CHANGED, change, payload, actor=actor, reason=reason)


def merge(ctx: RecordContext, line_ids: Sequence[str], *, actor: str | None, reason: str) -> TimelineEvent:
    ids = tuple(line_ids)

    def payload(t: Transcript) -> dict[str, Any]:
        texts = [t.line(i).text for i in ids]
        return {"lines": list(ids), "before": texts, "after": "".join(texts)}

    return _correct(ctx, MERGED, Merge(ids), payload, actor=actor, reason=reason)


def split(ctx: RecordContext, line_id: str, offset: int, *, actor: str | None, reason: str) -> TimelineEvent:
    new_id = unique_line_id(_every_line_id(ctx.read_record().transcript()), line_id)

    def payload(t: Transcript) -> dict[str, Any]:
        text = t.line(line_id).text
        return {
            "line": line_id,
            "offset": offset,
            "new_line": new_id,
            "before": text,
            "after": [text[:offset].strip(), text[offset:].strip()],
        }

    return _correct(ctx, SPLIT, Split(line_id, offset, new_id), payload, actor=actor, reason=reason)


def mark(ctx: RecordContext, line_id: str, mark: str, *, note: str, actor: str | None) -> TimelineEvent:
    def payload(t: Transcript) -> dict[str, Any]:
        return {"line": line_id, "mark": mark, "note": note, "before": list(t.line(line_id).marks)}

    return _correct(ctx, MARKED, Mark(line_id, mark, note), payload, actor=actor)


def unmark(ctx: RecordContext, line_id: str, mark: str, *, actor: str | None) -> TimelineEvent:
    def payload(t: Transcript) -> dict[str, Any]:
        return {"line": line_id, "mark": mark, "before": list(t.line(line_id).marks)}

    return _correct(ctx, UNMARKED, Unmark(line_id, mark), payload, actor=actor)


def add_line(
    ctx: RecordContext,
    role: Role | str,
    text: str,
    start: float,
    *,
    participant_id: int | None,
    actor: str | None,
    reason: str,
) -> TimelineEvent:
    value = _role_value(role)
    speaker = ctx.hearing.participant(participant_id).name if participant_id is not None else ""
    new_id = unique_line_id(_every_line_id(ctx.read_record().transcript()), "c")
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

    return _correct(ctx, ADDED, change, payload, actor=actor, reason=reason)
