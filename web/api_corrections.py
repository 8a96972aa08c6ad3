"""The 笔录 beyond a line's text: a party's request to correct it (办案规则 Art. 42) and the tribunal's
decision; the clerk's merge, split, marks and added lines; the clerk's view of the locked 笔录 with
each signer's state, sending it for signature again, and its export (DOCX/PDF); and what a remote
party does with their own media (microphone or camera off, leaving).

Every change goes through :class:`court.record.bilu.Bilu` (a timeline event first), so the history of
each line, and of each request, is in the record."""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from court.core.events import EventType
from court.core.lifecycle import HearingState
from court.record.bilu import Bilu, BiluError
from transcripts.bilu.corrections import MARKS, RequestOutcome
from transcripts.bilu.layout import SIGN_METHOD_LABELS
from web.api_hearings import host_for
from web.context import ServerContext
from web.security import (
    MAX_ID,
    AnyPrincipal,
    ApiError,
    Clerk,
    HearingId,
    Staff,
    context,
    forbid_viewer,
    require_party,
)

router = APIRouter(prefix="/api", tags=["record"])

Ctx = Annotated[ServerContext, Depends(context)]

RequestId = Annotated[int, Path(ge=1, le=MAX_ID, description="the request's number (its event)")]
LineId = Annotated[str, Path(min_length=1, max_length=80, description="a line of the transcript")]

EXPORTS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


class RequestBody(BaseModel):
    line: str = Field(min_length=1, max_length=80, description="the line to correct")
    text: str = Field(min_length=1, max_length=5000, description="how the party wants it to read")
    reason: str = Field(default="", max_length=1000)


class DecisionBody(BaseModel):
    accept: bool
    reason: str = Field(default="", max_length=1000, description="required when refusing")
    text: str | None = Field(default=None, max_length=5000, description="the wording accepted")


class MergeBody(BaseModel):
    lines: list[str] = Field(min_length=2, max_length=50)
    reason: str = Field(default="", max_length=500)


class SplitBody(BaseModel):
    offset: int = Field(ge=1, le=5000, description="characters of the line kept in the first part")
    reason: str = Field(default="", max_length=500)


class MarkBody(BaseModel):
    mark: str = Field(description=f"one of {', '.join(MARKS)}")
    note: str = Field(default="", max_length=500)


class AddBody(BaseModel):
    role: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=5000)
    start: float = Field(ge=0, description="hearing-clock seconds: where the line goes")
    participant_id: int | None = None
    reason: str = Field(default="", max_length=500)


class MediaBody(BaseModel):
    muted: bool
    camera_off: bool


def _bilu_error(exc: Exception) -> ApiError:
    return ApiError(409, "bad_correction", str(exc))


def _outcome_json(outcome: RequestOutcome, current: dict[str, str]) -> dict[str, Any]:
    request, decision = outcome.request, outcome.decision
    return {
        "request_id": request.request_id,
        "line": outcome.line_id,
        "participant_id": request.participant_id,
        "requested_by": request.requested_by,
        "text_then": outcome.text_then,
        "text_now": current.get(outcome.line_id, ""),
        "proposed_text": request.proposed_text,
        "reason": request.reason,
        "at": request.at.isoformat(),
        "status": outcome.status,
        "status_label": {"pending": "待处理", "accepted": "准予更正", "refused": "不予更正"}[outcome.status],
        "decided_at": decision.at.isoformat() if decision else None,
        "decision_reason": decision.reason if decision else "",
    }


# -- Art. 42: a party asks, the tribunal decides -----------------------------------------------------


@router.get("/hearings/{hearing_id}/corrections")
async def corrections(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> list[dict[str, Any]]:
    """The correction requests: staff see all, a party their own."""
    host = host_for(ctx, principal, hearing_id)
    forbid_viewer(principal)
    own = None if principal.is_staff else require_party(principal, hearing_id)

    def rows() -> list[dict[str, Any]]:
        transcript = host.bilu().transcript()
        current = {line.line_id: line.text for line in transcript.lines}
        return [
            _outcome_json(o, current)
            for o in transcript.requests
            if own is None or o.request.participant_id == own
        ]

    return await run_in_threadpool(rows)


@router.post("/hearings/{hearing_id}/corrections")
async def request_correction(
    hearing_id: HearingId, body: RequestBody, principal: AnyPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """A party asks for a line to read otherwise, and says why."""
    participant_id = require_party(principal, hearing_id)
    host = host_for(ctx, principal, hearing_id)
    try:
        request_id = await run_in_threadpool(
            lambda: host.bilu().request_correction(body.line, participant_id, body.text, reason=body.reason)
        )
    except (BiluError, KeyError) as exc:
        raise _bilu_error(exc) from None
    return {"request_id": request_id}


@router.post("/hearings/{hearing_id}/corrections/{request_id}/decide")
async def decide(
    hearing_id: HearingId,
    request_id: RequestId,
    body: DecisionBody,
    principal: Staff,
    ctx: Ctx,
) -> dict[str, Any]:
    """The tribunal's decision: accepting corrects the line (tied to the request); refusing needs a
    reason and is printed in the 笔录 after the line."""
    host = host_for(ctx, principal, hearing_id)
    try:
        event = await run_in_threadpool(
            lambda: host.bilu().decide(
                request_id, accept=body.accept, reason=body.reason, text=body.text, actor=principal.actor
            )
        )
    except (BiluError, KeyError) as exc:
        raise _bilu_error(exc) from None
    return event.to_json()


# -- the clerk's line operations ------------------------------------------------------------------------


@router.get("/hearings/{hearing_id}/lines")
async def lines(hearing_id: HearingId, principal: Staff, ctx: Ctx) -> list[dict[str, Any]]:
    """The transcript as the clerk works on it: each line with its marks and whether corrected."""
    host = host_for(ctx, principal, hearing_id)

    def rows() -> list[dict[str, Any]]:
        return [
            {
                "id": line.line_id,
                "role": line.role,
                "role_label": line.role_label,
                "speaker": line.speaker,
                "text": line.text,
                "start": line.start,
                "end": line.end,
                "source": line.source,
                "corrected": line.corrected,
                "marks": list(line.marks),
                "recognized": line.recognized,
                "uncertain": [list(span) for span in line.marked_uncertain],
            }
            for line in host.bilu().lines()
            if line.merged_into is None
        ]

    return await run_in_threadpool(rows)


@router.post("/hearings/{hearing_id}/transcript/merge")
async def merge(hearing_id: HearingId, body: MergeBody, principal: Staff, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    return await _apply(lambda b: b.merge(body.lines, actor=principal.actor, reason=body.reason), host.bilu)


@router.post("/hearings/{hearing_id}/transcript/{line_id}/split")
async def split(
    hearing_id: HearingId, line_id: LineId, body: SplitBody, principal: Staff, ctx: Ctx
) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    return await _apply(
        lambda b: b.split(line_id, body.offset, actor=principal.actor, reason=body.reason), host.bilu
    )


@router.post("/hearings/{hearing_id}/transcript/{line_id}/marks")
async def mark(
    hearing_id: HearingId, line_id: LineId, body: MarkBody, principal: Staff, ctx: Ctx
) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    return await _apply(
        lambda b: b.mark(line_id, body.mark, note=body.note, actor=principal.actor), host.bilu
    )


@router.delete("/hearings/{hearing_id}/transcript/{line_id}/marks/{mark}")
async def unmark(
    hearing_id: HearingId, line_id: LineId, mark: str, principal: Staff, ctx: Ctx
) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    return await _apply(lambda b: b.unmark(line_id, mark, actor=principal.actor), host.bilu)


@router.post("/hearings/{hearing_id}/transcript")
async def add_line(hearing_id: HearingId, body: AddBody, principal: Staff, ctx: Ctx) -> dict[str, Any]:
    """A line recognition missed (the clerk types it, e.g. from the recording)."""
    host = host_for(ctx, principal, hearing_id)
    return await _apply(
        lambda b: b.add_line(
            body.role,
            body.text,
            body.start,
            participant_id=body.participant_id,
            actor=principal.actor,
            reason=body.reason,
        ),
        host.bilu,
    )


async def _apply(change: Any, make: Any) -> dict[str, Any]:
    try:
        event = await run_in_threadpool(lambda: change(make()))
    except (BiluError, KeyError, ValueError) as exc:
        raise _bilu_error(exc) from None
    result: dict[str, Any] = event.to_json()
    return result


# -- the locked 笔录 as the clerk sees it -------------------------------------------------------------


@router.get("/hearings/{hearing_id}/bilu/review")
async def review(hearing_id: HearingId, principal: Staff, ctx: Ctx) -> dict[str, Any]:
    """The version out for signature (its text as blocks) and each signer's state: signed, refused
    (with the reason) or pending, with the time and how they signed."""
    host = host_for(ctx, principal, hearing_id)
    return await run_in_threadpool(lambda: _review(host.bilu(), host.lifecycle.state))


def _review(record: Bilu, state: HearingState) -> dict[str, Any]:
    current = record.current_version()
    closed = state in (HearingState.CLOSED, HearingState.SIGNING, HearingState.ARCHIVED)
    body: dict[str, Any] = {
        "state": state.value,
        "closed": closed,
        "version": None,
        "sha256": None,
        "locked_at": None,
        "blocks": [],
        "signers": [],
        "formats": sorted(EXPORTS),
    }
    if current is None:
        if closed:  # corrected since the last lock: the draft, to be sent for signature again
            body["blocks"] = [{"kind": b.kind, "text": b.text} for b in record.printable().blocks]
            body["needs_lock"] = True
        return body
    done = {}
    for s in record.signatures(current.number):
        key = s.signer.participant_id if s.signer.participant_id is not None else s.signer.label
        done[key] = s
    signers = []
    for person in current.document.signers:
        key = person.participant_id if person.participant_id is not None else person.label
        mine = done.get(key)
        entry: dict[str, Any] = {
            "participant_id": person.participant_id,
            "name": person.name,
            "role": person.role,
            "role_label": person.role_label,
            "state": "pending" if mine is None else ("refused" if mine.refused else "signed"),
        }
        if mine is not None:
            entry |= {
                "at": mine.at.isoformat(),
                "methods": [SIGN_METHOD_LABELS.get(m, m) for m in mine.methods],
                "reason": mine.reason,
                "face_similarity": mine.face_similarity,
            }
        signers.append(entry)
    body |= {
        "version": current.number,
        "sha256": current.sha256,
        "locked_at": current.locked_at.isoformat(),
        "blocks": [{"kind": b.kind, "text": b.text} for b in current.blocks],
        "signers": signers,
        "needs_lock": False,
    }
    return body


@router.post("/hearings/{hearing_id}/bilu/lock")
async def lock(hearing_id: HearingId, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    """Send the 笔录 for signature again after a correction (a new version; earlier signatures stay
    on the old one)."""
    host = host_for(ctx, principal, hearing_id)
    try:
        version = await run_in_threadpool(lambda: host.bilu().lock(actor=principal.actor))
    except (BiluError, ValueError) as exc:
        raise _bilu_error(exc) from None
    return {"version": version.number, "sha256": version.sha256}


@router.get("/hearings/{hearing_id}/bilu/export", response_class=Response)
async def export(
    hearing_id: HearingId,
    principal: Staff,
    ctx: Ctx,
    format: Annotated[str, Query(pattern="^(docx|pdf)$")] = "pdf",
) -> Response:
    """The 笔录 as a file (the version out for signature with its signatures, else the draft)."""
    host = host_for(ctx, principal, hearing_id)

    def write() -> tuple[bytes, str]:
        with tempfile.TemporaryDirectory() as folder:
            path = FilePath(folder) / f"bilu.{format}"
            printable = host.bilu().export(format, path)
            version = f"-第{printable.version}版" if printable.version else "-草稿"
            return path.read_bytes(), f"庭审笔录-{host.hearing.case_number}{version}.{format}"

    try:
        data, name = await run_in_threadpool(write)
    except BiluError as exc:
        raise _bilu_error(exc) from None
    disposition = f"attachment; filename=\"bilu.{format}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=EXPORTS[format], headers={"content-disposition": disposition})


# -- a remote party's own media --------------------------------------------------------------------------


@router.post("/hearings/{hearing_id}/me/media")
async def my_media(
    hearing_id: HearingId, body: MediaBody, principal: AnyPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """The party turned their microphone or camera off (or on again): the clerk sees it, the record
    says when."""
    participant_id = require_party(principal, hearing_id)
    host = host_for(ctx, principal, hearing_id)
    participant = next((p for p in host.hearing.participants if p.id == participant_id), None)
    if participant is None or host.remote(participant_id) is None:
        raise ApiError(409, "not_in_hearing", "您尚未进入庭审 (not in the hearing)")
    payload = {
        "participant_id": participant_id,
        "name": participant.name,
        "role": participant.role.value,
        "role_label": participant.role.label,
        "muted": body.muted,
        "camera_off": body.camera_off,
    }
    event = await run_in_threadpool(
        lambda: host.timeline.append(EventType.REMOTE_MEDIA, payload, actor=f"party:{participant_id}")
    )
    return event.to_json()


@router.post("/hearings/{hearing_id}/me/leave")
async def leave(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> dict[str, bool]:
    """The party leaves the hearing from their page (they may come back while it runs)."""
    participant_id = require_party(principal, hearing_id)
    host = host_for(ctx, principal, hearing_id)
    await run_in_threadpool(host.disconnected, participant_id, "当事人离开庭审")
    return {"ok": True}
