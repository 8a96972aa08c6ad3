"""Evidence: a party (or the tribunal) uploads a file, stored with its SHA-256 and visible to the
tribunal and the other side; the clerk puts an item on every screen while it is examined."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from court.core.timeline import read_events
from court.record.evidence import (
    EVIDENCE_PRESENTED,
    EvidenceInfo,
    EvidenceRejected,
    get_evidence,
    list_evidence,
    store_evidence,
)
from web.api_hearings import host_for, require_started
from web.context import ServerContext
from web.limits import FORM_SLACK, allow_body
from web.security import (
    AnyPrincipal,
    ApiError,
    Clerk,
    EvidenceId,
    HearingId,
    check_hearing,
    context,
    forbid_viewer,
)

router = APIRouter(prefix="/api", tags=["evidence"])

Ctx = Annotated[ServerContext, Depends(context)]

_REJECTED_STATUS = {"too_large": 413, "type_not_allowed": 415, "type_mismatch": 415}

NO_EVIDENCE = ("no_evidence", "没有这份证据 (no such evidence)")
"""The one answer for an exhibit that does not exist, belongs to a hearing the asker may not see,
or is not yet shown to a viewer: which of these it is, is not for them to learn."""


def evidence_json(info: EvidenceInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "filename": info.filename,
        "media_type": info.media_type,
        "size": info.size,
        "sha256": info.sha256,
        "submitter": info.submitter,
        "submitted_by": info.submitted_by,
        "uploaded_at": info.uploaded_at.isoformat(),
        "url": f"/api/evidence/{info.id}/file",
    }


UPLOAD = "/hearings/{hearing_id}/evidence"
allow_body(router.prefix + UPLOAD, lambda ctx: ctx.max_upload_bytes + FORM_SLACK)


@router.post(UPLOAD)
async def upload(
    hearing_id: HearingId,
    principal: AnyPrincipal,
    ctx: Ctx,
    file: Annotated[UploadFile, File(description="the evidence file")],
    title: Annotated[str, Form(max_length=300)] = "",
) -> dict[str, Any]:
    forbid_viewer(principal)
    host = host_for(ctx, principal, hearing_id)
    filename = file.filename or ""
    declared = file.content_type or "application/octet-stream"

    def store() -> EvidenceInfo:
        return store_evidence(
            ctx.sessions,
            host.timeline,
            ctx.evidence_root,
            hearing_id=hearing_id,
            title=title.strip() or filename,
            filename=filename,
            declared_type=declared,
            data=file.file,
            submitted_by=principal.participant_id,
            submitter=principal.name,
            max_bytes=ctx.max_upload_bytes,
            actor=principal.actor,
        )

    try:
        info = await run_in_threadpool(store)
    except EvidenceRejected as exc:
        raise ApiError(_REJECTED_STATUS.get(exc.code, 400), exc.code, str(exc)) from None
    return evidence_json(info)


@router.get("/hearings/{hearing_id}/evidence")
async def evidence_list(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> list[dict[str, Any]]:
    check_hearing(principal, hearing_id)
    forbid_viewer(principal)
    found = await run_in_threadpool(list_evidence, ctx.sessions, hearing_id)
    return [evidence_json(info) for info in found]


@router.get("/evidence/{evidence_id}/file", response_class=FileResponse)
async def evidence_file(evidence_id: EvidenceId, principal: AnyPrincipal, ctx: Ctx) -> FileResponse:
    try:
        info = await run_in_threadpool(get_evidence, ctx.sessions, evidence_id)
    except LookupError:
        raise ApiError(404, *NO_EVIDENCE) from None
    if not principal.may_see(info.hearing_id):
        raise ApiError(404, *NO_EVIDENCE)
    # Supervisors and the observation room see an exhibit only once it was put on screen.
    if principal.is_viewer and not await run_in_threadpool(_presented, ctx, info):
        raise ApiError(404, *NO_EVIDENCE)
    return FileResponse(info.stored_path, media_type=info.media_type, filename=info.filename)


def _presented(ctx: ServerContext, info: EvidenceInfo) -> bool:
    """Whether ``evidence.presented`` for this item is in its hearing's timeline."""
    for event in read_events(ctx.sessions, info.hearing_id):
        if event.type != EVIDENCE_PRESENTED:
            continue
        try:
            if int(event.payload.get("evidence_id", -1)) == info.id:
                return True
        except (TypeError, ValueError):
            continue
    return False


@router.post("/hearings/{hearing_id}/evidence/{evidence_id}/present")
async def present(
    hearing_id: HearingId, evidence_id: EvidenceId, principal: Clerk, ctx: Ctx
) -> dict[str, Any]:
    """Put the item on every screen (the room display, the parties, viewers where allowed): only
    while the hearing runs, when there are screens to put it on."""
    host = host_for(ctx, principal, hearing_id)
    try:
        info = await run_in_threadpool(get_evidence, ctx.sessions, evidence_id)
    except LookupError:
        raise ApiError(404, *NO_EVIDENCE) from None
    if info.hearing_id != hearing_id:
        raise ApiError(404, *NO_EVIDENCE)
    require_started(host, running=True)
    event = await run_in_threadpool(lambda: host.present_evidence(info, actor=principal.actor))
    return event.to_json()
