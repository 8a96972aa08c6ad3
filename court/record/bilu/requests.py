"""Parties' requests to correct the 笔录 (办案规则 Art. 42) and the tribunal's decisions on them.

An accepted request becomes an ordinary correction tied to it (:func:`.editing.edit_text`); a refused
one stays in the record and is printed after its line, so both outcomes stay on the timeline."""

from __future__ import annotations

from court.core.timeline import TimelineEvent
from court.record.bilu.common import DECIDED, REQUESTED, BiluError
from court.record.bilu.context import RecordContext
from court.record.bilu.editing import edit_text, require_editable, supersede_if_locked
from court.record.bilu.projection import sync_projections
from transcripts.bilu.corrections import CorrectionError


def request_correction(
    ctx: RecordContext, line_id: str, participant_id: int, proposed_text: str, *, reason: str
) -> int:
    record = ctx.read_record()
    require_editable(record)
    participant = ctx.hearing.participant(participant_id)
    transcript = record.transcript()
    try:
        transcript.line(line_id)
    except CorrectionError as exc:
        raise BiluError(str(exc)) from exc
    if not proposed_text.strip():
        raise BiluError("更正申请没有写明更正内容 (the request proposes no text)")
    event = ctx.timeline.append(
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
    sync_projections(ctx.sessions, ctx.hearing_id)
    return event.seq


def decide(
    ctx: RecordContext,
    request_id: int,
    *,
    accept: bool,
    reason: str,
    text: str | None,
    actor: str | None,
) -> TimelineEvent:
    record = ctx.read_record()
    require_editable(record)
    actor = actor or ctx.default_actor()
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
    event = ctx.timeline.append(
        DECIDED,
        {
            "request_id": request_id,
            "decision": "accepted" if accept else "refused",
            "reason": reason.strip(),
        },
        actor=actor,
    )
    if accept:
        edit_text(
            ctx,
            outcome.line_id,
            new_text,
            actor=actor,
            reason=reason or "当事人申请更正",
            request_id=request_id,
        )
    else:
        supersede_if_locked(ctx, record, event)
    sync_projections(ctx.sessions, ctx.hearing_id)
    return event
