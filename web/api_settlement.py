"""The mediation settlement (调解协议): the clerk or an arbitrator puts a text out for signature, the
hearing's parties agree to (or decline) exactly the version they read — signed like the 笔录.

- ``GET /api/hearings/{hid}/settlement``: staff and the hearing's parties (viewers 403).
- ``POST /api/hearings/{hid}/settlement {text}``: clerk or arbitrator; a new version supersedes the
  earlier ones and their signatures.
- ``POST /api/hearings/{hid}/settlement/sign {sha256, agree, reason}``: the hearing's parties only,
  agreeing only after a face check in the same session shortly before (403 ``face_check_required``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from court.access.principals import Principal
from court.record.settlement import MAX_TEXT, Settlement, SettlementError, SettlementVersion
from web.api_hearings import host_for
from web.context import ServerContext
from web.security import AnyPrincipal, ApiError, HearingId, Staff, context, require_party, signing_device

router = APIRouter(prefix="/api", tags=["settlement"])

Ctx = Annotated[ServerContext, Depends(context)]

_STATUS = {
    "no_hearing": 404,
    "not_a_signer": 403,
    "no_settlement": 409,
    "stale_version": 409,
    "already_signed": 409,
    "concluded": 409,
    "face_check_required": 403,
}
"""HTTP status by :class:`SettlementError` code; the rest (bad input) are 400."""


class DraftBody(BaseModel):
    text: str = Field(max_length=MAX_TEXT, description="the settlement's full text")


class SettlementSignBody(BaseModel):
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="the version the signer read")
    agree: bool = True
    reason: str = Field(default="", max_length=1000, description="why not, when declining")


def _error(exc: SettlementError) -> ApiError:
    return ApiError(_STATUS.get(exc.code, 400), exc.code, exc.message)


def settlement_json(current: SettlementVersion | None) -> dict[str, Any]:
    if current is None:
        return {
            "version": None,
            "text": "",
            "sha256": None,
            "signatures": [],
            "required": [],
            "concluded": False,
        }
    return {
        "version": current.version,
        "text": current.text,
        "sha256": current.sha256,
        "drafted_at": current.drafted_at.isoformat(),
        "drafted_by": current.drafted_by,
        "kind": current.kind,
        "required": list(current.required),
        "concluded": current.concluded,
        "signatures": [
            {
                "participant_id": s.participant_id,
                "name": s.name,
                "role": s.role,
                "role_label": s.role_label,
                "refused": s.refused,
                "reason": s.reason,
                "method": s.method,
                "signed_at": s.at.isoformat(),
            }
            for s in current.signatures
        ],
    }


async def _settlement(ctx: ServerContext, hearing_id: HearingId, principal: Principal) -> Settlement:
    host = host_for(ctx, principal, hearing_id)
    try:
        return await run_in_threadpool(Settlement, ctx.sessions, hearing_id, host.timeline)
    except SettlementError as exc:
        raise _error(exc) from None


@router.get("/hearings/{hearing_id}/settlement")
async def settlement(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> dict[str, Any]:
    """The version out for signature: its text, hash, who has signed or declined, whether concluded."""
    host_for(ctx, principal, hearing_id)
    if principal.is_viewer:
        raise ApiError(
            403, "viewer_read_only", "旁听账号不能查看调解协议 (viewers cannot open the settlement)"
        )
    record = await _settlement(ctx, hearing_id, principal)
    current = await run_in_threadpool(record.current)
    return settlement_json(current)


@router.post("/hearings/{hearing_id}/settlement")
async def draft(hearing_id: HearingId, body: DraftBody, principal: Staff, ctx: Ctx) -> dict[str, Any]:
    """Put a (new) settlement text out for signature (clerk or arbitrator)."""
    record = await _settlement(ctx, hearing_id, principal)
    try:
        current = await run_in_threadpool(lambda: record.draft(body.text, actor=principal.actor))
    except SettlementError as exc:
        raise _error(exc) from None
    return settlement_json(current)


@router.post("/hearings/{hearing_id}/settlement/sign")
async def sign(
    hearing_id: HearingId, body: SettlementSignBody, request: Request, principal: AnyPrincipal, ctx: Ctx
) -> dict[str, Any]:
    """A party agrees to (or declines, with a reason) the version with hash ``sha256``."""
    participant_id = require_party(principal, hearing_id)
    host = host_for(ctx, principal, hearing_id)
    record = await _settlement(ctx, hearing_id, principal)
    device = signing_device(request)
    face = host.signing_face_check(participant_id, principal.session_id)

    def apply() -> dict[str, Any]:
        if body.agree:
            done = record.sign(
                participant_id,
                body.sha256,
                device=device,
                login=principal.actor,
                face=face,
                session_id=principal.session_id,
            )
        else:
            done = record.refuse(participant_id, body.sha256, reason=body.reason, device=device)
        current = record.current()
        return {
            "ok": True,
            "refused": done.refused,
            "signer": f"{done.role_label} {done.name}".strip(),
            "version": current.version if current else None,
            "concluded": bool(current and current.concluded),
        }

    try:
        return await run_in_threadpool(apply)
    except SettlementError as exc:
        raise _error(exc) from None
