"""A party's face check before entering, and the WebRTC offers of parties and viewers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Collection
from typing import Annotated, Any

import cv2
import numpy as np
from aiortc import RTCIceServer
from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from court.access.principals import AccessRole
from court.attendance.enrolment import load_templates
from court.attendance.face_check import face_settings, verify_remote
from court.host.caucus import GatedAudio
from court.host.host import HearingHost, HostStatus
from court.host.lobby import RemoteParty
from devices.broadcast.rtc import RtcHub
from devices.broadcast.rtc_sdp import RtcError, offered_media
from devices.face.liveness import LivenessCheck
from devices.media import Image
from web.api_hearings import host_for
from web.context import ServerContext
from web.limits import FORM_SLACK, allow_body
from web.security import AnyPrincipal, ApiError, HearingId, context, require_party

router = APIRouter(prefix="/api", tags=["media"])

Ctx = Annotated[ServerContext, Depends(context)]

MAX_FRAMES = 16
MAX_FRAME_BYTES = 2 * 2**20

RTC_ERROR_STATUS = {"too_many_peers": 503, "closed": 409}
"""The hub's refusals that are not the offer's fault; a bad offer is 400."""


class Offer(BaseModel):
    sdp: str = Field(min_length=10, max_length=100_000)
    type: str = Field(pattern="^offer$")


FACE_CHECK = "/hearings/{hearing_id}/face-check"
allow_body(router.prefix + FACE_CHECK, lambda ctx: MAX_FRAMES * MAX_FRAME_BYTES + FORM_SLACK)


@router.post(FACE_CHECK)
async def face_check(
    hearing_id: HearingId,
    principal: AnyPrincipal,
    ctx: Ctx,
    frames: Annotated[list[UploadFile], File(description="JPEG frames from the party's camera")],
) -> dict[str, Any]:
    """Compare frames from the party's camera with their enrolled ID photo: passed → the lobby."""
    participant_id = require_party(principal, hearing_id)
    host = host_for(ctx, principal, hearing_id)
    if not frames or len(frames) > MAX_FRAMES:
        raise ApiError(400, "bad_frames", f"请上传 1–{MAX_FRAMES} 张画面 (send 1 to {MAX_FRAMES} frames)")
    images = [await _decode(frame) for frame in frames]

    def check() -> dict[str, Any]:
        templates = load_templates(ctx.sessions, [participant_id])
        if not templates:
            raise ApiError(
                409, "no_id_photo", "该当事人未登记证件照，请联系书记员人工核验 (no ID photo enrolled)"
            )
        from devices.face import shared_analyzer

        settings = face_settings(ctx.config.face)
        liveness = settings.liveness
        direction = _CHALLENGES.pop((hearing_id, principal.session_id), None) if liveness else None
        if liveness is not None and direction is None:
            raise ApiError(
                409, "challenge_required", "请先获取核验动作提示 (ask for the liveness challenge first)"
            )
        result = verify_remote(
            images,
            templates,
            analyzer=shared_analyzer(),
            settings=settings.verifier,
            liveness=liveness,
            rng=_rng_for(direction) if direction else None,
            max_frames=MAX_FRAMES,
        )
        party = host.remote_checked(
            participant_id,
            admitted=result.admitted,
            similarity=result.decision.similarity,
            report=result.report_payload(),
            session_id=principal.session_id,
        )
        return {
            "admitted": result.admitted,
            "match": result.decision.match,
            "reason": result.reason,
            "similarity": result.decision.similarity,
            "frames_used": result.frames_used,
            "state": party.state.value if party else None,
        }

    return await run_in_threadpool(check)


@router.post("/hearings/{hearing_id}/face-check/challenge")
async def face_challenge(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> dict[str, Any]:
    """What the party must do while the page takes the frames: with ``[face] liveness`` on, turn the
    head to a side chosen here at random (a printed photo or a screen cannot follow it)."""
    require_party(principal, hearing_id)
    settings = face_settings(ctx.config.face).liveness
    if settings is None:
        return {"liveness": False, "prompt": "请正对摄像头，保持光线充足", "frames": 6, "gap_ms": 250}
    check = LivenessCheck(settings)
    _CHALLENGES[(hearing_id, principal.session_id)] = check.direction
    gap = max(150, round(1000 * settings.seconds / max(1, settings.frames)))
    return {"liveness": True, "prompt": check.prompt, "frames": MAX_FRAMES, "gap_ms": gap}


_CHALLENGES: dict[tuple[int, int], str] = {}
"""The direction each login session was asked to turn (used once, by its next face check)."""


def _rng_for(direction: str) -> random.Random:
    """A generator whose first choice of a side is ``direction``: the check then expects the turn
    the party was shown."""
    for seed in range(64):
        if random.Random(seed).choice(("left", "right")) == direction:
            return random.Random(seed)
    raise ValueError(direction)


async def _decode(upload: UploadFile) -> Image:
    data = await upload.read(MAX_FRAME_BYTES + 1)
    if len(data) > MAX_FRAME_BYTES:
        raise ApiError(413, "frame_too_large", "画面过大 (a frame is larger than 2 MB)")
    try:
        # OpenCV throws (rather than answering None) for an empty buffer and some truncated ones.
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    except cv2.error:
        image = None
    if image is None:
        raise ApiError(400, "bad_frame", "画面无法解码，请上传 JPEG 或 PNG (a frame is not a JPEG/PNG image)")
    return np.asarray(image, dtype=np.uint8)


@router.get("/rtc-config")
async def rtc_config(principal: AnyPrincipal, ctx: Ctx) -> dict[str, Any]:
    """The ICE servers a browser's peer connection should use (STUN/TURN, as the court set them),
    with a fresh, time-limited credential for the court's own TURN server: asked for by every page
    as it connects, so none is ever written into a page."""
    servers: list[dict[str, Any]] = list(ctx.ice_servers)
    if ctx.turn is not None:
        servers.append(ctx.turn.ice_server(principal.actor))
    return {"iceServers": servers}


@router.post("/hearings/{hearing_id}/rtc")
async def rtc_offer(hearing_id: HearingId, offer: Offer, principal: AnyPrincipal, ctx: Ctx) -> dict[str, str]:
    """A WebRTC offer: a party sends their camera and microphone and receives the program and the
    sound (all but their own voice); staff and viewers receive only."""
    host = host_for(ctx, principal, hearing_id)
    hub = _hub(ctx, host)
    try:
        # Checked before the party is marked connected: a refused offer leaves no trace in the lobby.
        offered_media(offer.sdp, offer.type)
        if principal.role is AccessRole.PARTY:
            participant_id = require_party(principal, hearing_id)
            party = await run_in_threadpool(host.connect, participant_id, principal.session_id)
            if party.receiver is None:  # one per party: a new connection replaces the old one
                party.receiver = _Receiver(host, party)
            answer = await hub.party(offer.sdp, offer.type, party.receiver, owner=principal.actor)
        else:
            answer = await hub.viewer(offer.sdp, offer.type, owner=principal.actor)
    except RtcError as exc:
        status = RTC_ERROR_STATUS.get(exc.code, 400)
        headers = {"Retry-After": "30"} if status == 503 else None
        raise ApiError(
            status, exc.code, f"媒体协商失败 (WebRTC negotiation failed): {exc}", headers=headers
        ) from None
    return {"sdp": answer.sdp, "type": answer.type}


def _hub(ctx: ServerContext, host: HearingHost) -> RtcHub:
    """The hearing's media hub: one encoding of its program for every peer."""
    assembled = host.assembled
    if assembled is None or host.status is not HostStatus.RUNNING:
        raise ApiError(409, "not_running", "庭审尚未开始，请稍候 (the hearing has not started)")
    hub = ctx.rtc.get(host.hearing_id)
    if hub is None:
        ice = [RTCIceServer(**server) for server in ctx.ice_servers]
        hub = RtcHub(assembled.live.feed, _Sound(host), fps=assembled.live.feed.fps, ice_servers=ice)
        ctx.rtc[host.hearing_id] = hub
    return hub


class _Sound:
    """The hearing's sound as the hub asks for it (gated during a caucus)."""

    def __init__(self, host: HearingHost) -> None:
        self.host = host

    def subscribe(self, exclude: Collection[str] = ()) -> GatedAudio:
        return self.host.listen(exclude)


class _Receiver:
    """A party's media going into the hearing; a dropped connection is written to the record."""

    def __init__(self, host: HearingHost, party: RemoteParty) -> None:
        self.host = host
        self.party = party
        self.camera = party.camera
        self.microphone = party.microphone

    def on_closed(self, reason: str) -> None:
        # Called on the event loop: the timeline write goes to a worker thread.
        asyncio.get_running_loop().run_in_executor(
            None, self.host.disconnected, self.party.participant.id, reason
        )
