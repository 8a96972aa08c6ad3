"""The live transcript (the clerk corrects it in place, plays a line's stretch of the recording) and
the 笔录 a party reviews and signs at the end."""

from __future__ import annotations

import io
from typing import Annotated, Any

import soundfile
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from court.core.cases import CaseError
from court.live.playback import PlaybackError, audio_between
from court.record.bilu import BiluError, SignerNotVerified
from transcripts.bilu import canonical_text
from web.api_hearings import host_for
from web.context import ServerContext
from web.security import (
    AnyPrincipal,
    ApiError,
    BodyId,
    HearingId,
    Staff,
    check_hearing,
    context,
    require_party,
    signing_device,
)

router = APIRouter(prefix="/api", tags=["record"])

HEARING_SECONDS = 7 * 86400.0
"""Later than any moment of a hearing's clock (a week, recesses included): bounds the audio query."""

Ctx = Annotated[ServerContext, Depends(context)]


class LineEdit(BaseModel):
    text: str | None = Field(default=None, max_length=5000)
    role: str | None = Field(default=None, max_length=40)
    participant_id: BodyId | None = None
    reason: str = Field(default="", max_length=500)


class SignBody(BaseModel):
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="the version the signer reviewed")
    agree: bool = True
    reason: str = Field(default="", max_length=1000, description="why not, when refusing")
    signature_png: str | None = Field(default=None, description="a drawn signature, data: URL or base64")


@router.get("/hearings/{hearing_id}/transcript")
async def transcript(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> list[dict[str, Any]]:
    host = host_for(ctx, principal, hearing_id)
    lines = await run_in_threadpool(lambda: host.bilu().lines())
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
            "confidence": line.confidence,
            "corrected": line.corrected,
        }
        for line in lines
        if line.merged_into is None
    ]


@router.patch("/hearings/{hearing_id}/transcript/{line_id}")
async def edit_line(
    hearing_id: HearingId, line_id: str, body: LineEdit, principal: Staff, ctx: Ctx
) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)

    def apply() -> list[dict[str, Any]]:
        bilu = host.bilu()
        done = []
        if body.text is not None:
            done.append(
                bilu.edit_text(line_id, body.text, actor=principal.actor, reason=body.reason).to_json()
            )
        if body.role is not None:
            done.append(
                bilu.change_role(
                    line_id,
                    body.role,
                    participant_id=body.participant_id,
                    actor=principal.actor,
                    reason=body.reason,
                ).to_json()
            )
        return done

    try:
        events = await run_in_threadpool(apply)
    except (BiluError, KeyError, ValueError) as exc:
        raise ApiError(400, "bad_correction", str(exc)) from None
    return {"events": events}


@router.get("/hearings/{hearing_id}/audio", response_class=Response)
async def audio(
    hearing_id: HearingId,
    principal: Staff,
    ctx: Ctx,
    source: Annotated[str, Query(max_length=80)],
    start: Annotated[float, Query(ge=0, le=HEARING_SECONDS)],
    end: Annotated[float, Query(gt=0, le=HEARING_SECONDS)],
) -> Response:
    """That stretch of one source's recording as WAV."""
    check_hearing(principal, hearing_id)
    if end <= start:
        raise ApiError(400, "bad_range", "结束时间须晚于开始时间 (end must be after start)")
    try:
        samples = await run_in_threadpool(audio_between, ctx.sessions, hearing_id, source, start, end)
    except CaseError:
        raise ApiError(404, "no_hearing", f"没有这个庭审 {hearing_id} (no such hearing)") from None
    except PlaybackError as exc:
        raise ApiError(404, "no_recording", str(exc)) from None
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, 16000, format="WAV", subtype="PCM_16")
    return Response(buffer.getvalue(), media_type="audio/wav")


@router.get("/hearings/{hearing_id}/bilu")
async def bilu(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> dict[str, Any]:
    """The version of the 笔录 out for signature (the text, its hash, who has signed)."""
    host = host_for(ctx, principal, hearing_id)
    if principal.is_viewer:
        raise ApiError(403, "viewer_read_only", "旁听账号不能查看笔录 (viewers cannot open the record)")

    def body() -> dict[str, Any]:
        record = host.bilu()
        current = record.current_version()
        if current is None:
            return {"version": None, "text": "", "sha256": None, "signatures": []}
        return {
            "version": current.number,
            "sha256": current.sha256,
            "text": canonical_text(current.blocks),
            "signatures": [
                {
                    "name": s.signer.name,
                    "role": s.signer.role,
                    "refused": s.refused,
                    "signed_at": s.at.isoformat(),
                }
                for s in record.signatures(current.number)
            ],
        }

    return await run_in_threadpool(body)


@router.post("/hearings/{hearing_id}/bilu/sign")
async def sign(
    hearing_id: HearingId, body: SignBody, request: Request, principal: AnyPrincipal, ctx: Ctx
) -> dict[str, Any]:
    participant_id = require_party(principal, hearing_id)
    host = host_for(ctx, principal, hearing_id)
    device = signing_device(request)
    image = _signature_image(body.signature_png)
    # The party's own face, checked in this very session shortly before (the court checks how recent).
    face = host.signing_face_check(participant_id, principal.session_id)

    def apply() -> Any:
        record = host.bilu()
        if not body.agree:
            return record.refuse(participant_id, body.sha256, reason=body.reason, device=device)
        return record.sign(
            participant_id,
            body.sha256,
            device=device,
            image=image,
            login=principal.actor,
            face=face,
            session_id=principal.session_id,
        )

    try:
        result = await run_in_threadpool(apply)
    except SignerNotVerified as exc:
        raise ApiError(403, "face_check_required", str(exc)) from None
    except BiluError as exc:
        raise ApiError(409, "cannot_sign", str(exc)) from None
    return {"ok": True, "refused": bool(result.refused), "signer": result.signer.name}


def _signature_image(data: str | None) -> bytes | None:
    if not data:
        return None
    import base64
    import binascii

    raw = data.split(",", 1)[1] if data.startswith("data:") else data
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            400, "bad_signature", "签名图片无法读取 (the signature image is not valid base64)"
        ) from None
