"""The hearing: its state, its timeline as it happens, and the clerk's controls (the one-click start,
phases, invitations, the lobby, the director, masks, the public stream, the mediation caucus)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from court.access.principals import AccessRole, Principal, party_actor
from court.core.cases import CaseError, load_hearing
from court.core.events import EventType
from court.core.lifecycle import Phase
from court.core.timeline import TimelineEvent, read_events
from court.db.models import Hearing
from court.host.host import HearingHost, HostStatus
from web.context import ServerContext
from web.doorbell import Doorbell
from web.security import (
    MAX_ID,
    AnyPrincipal,
    ApiError,
    BodyId,
    Clerk,
    HearingId,
    ParticipantId,
    Seq,
    check_hearing,
    context,
)

router = APIRouter(prefix="/api", tags=["hearings"])

Ctx = Annotated[ServerContext, Depends(context)]

PARTY_EVENTS = (
    "hearing.",
    EventType.ATTENDANCE_PRESENT,
    EventType.ATTENDANCE_ABSENT,
    EventType.ATTENDANCE_CHECKED,
    "rules.",
    EventType.UTTERANCE,
    "evidence.",
    "caucus.",
    "bilu.",
    EventType.STARTUP_COMPLETED,
    "livestream.",
)
"""What a party (and a viewer) sees of the timeline: not device internals, face scores of others,
or the lobby of the other side."""

VIEWER_HIDDEN = (EventType.EVIDENCE_SUBMITTED, "bilu.")
"""What a viewer does not see of the parties' events (see :func:`visible`)."""


def visible(principal: Principal, event: TimelineEvent) -> bool:
    """Whether ``principal`` sees ``event``.

    Viewers (supervisors, the observation room) see and hear what happens in the hearing: the
    program and its sound, the live transcript of what is said, the phases, and an exhibit once the
    clerk puts it on screen (its title, file name and submitter come with it then). What the
    tribunal and the parties keep — filings not yet shown, the evidence list, the 笔录 out for
    signature and its signatures, the settlement — they see nowhere: not in these events, not
    through the routes (each refuses them the same way)."""
    if principal.is_staff:
        return True
    if principal.role is AccessRole.PARTY:
        if event.type.family == "remote":
            return event.payload.get("participant_id") == principal.participant_id
        if event.type.family == "settlement":  # the agreement's text: the parties', not viewers'
            return True
    elif event.type.startswith(VIEWER_HIDDEN):
        return False
    return event.type.startswith(PARTY_EVENTS)


def event_json(event: TimelineEvent) -> dict[str, Any]:
    return event.to_json()


def host_for(ctx: ServerContext, principal: Principal, hearing_id: int) -> HearingHost:
    check_hearing(principal, hearing_id)
    try:
        return ctx.hosts.get(hearing_id)
    except CaseError:
        raise ApiError(404, "no_hearing", f"没有这个庭审 {hearing_id} (no such hearing)") from None


def require_started(host: HearingHost, *, running: bool = False) -> None:
    """409 unless the hearing is starting (its attendance step may take a confirmation) or running
    (``running``: only then): a hearing not started, or closed, has no room to act in."""
    allowed = (HostStatus.RUNNING,) if running else (HostStatus.STARTING, HostStatus.RUNNING)
    if host.status not in allowed:
        raise ApiError(409, "not_running", "庭审尚未开始或已结束 (the hearing is not running)")


# -- reading -----------------------------------------------------------------------------------------


@router.get("/hearings")
async def hearings(principal: AnyPrincipal, ctx: Ctx) -> list[dict[str, Any]]:
    def rows() -> list[dict[str, Any]]:
        with ctx.sessions() as session:
            ids = list(session.scalars(select(Hearing.id).order_by(Hearing.id)))
        out = []
        for hid in ids:
            if not principal.may_see(hid):
                continue
            info = load_hearing(ctx.sessions, hid)
            out.append(
                {
                    "hearing_id": hid,
                    "case_number": info.case_number,
                    "cause": info.cause,
                    "kind": info.kind,
                    "livestream_allowed": info.livestream_allowed,
                }
            )
        return out

    return await run_in_threadpool(rows)


@router.get("/hearings/{hearing_id}")
async def hearing(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)

    def body() -> dict[str, Any]:
        snap = host.snapshot()
        snap["participants"] = [
            {
                "id": p.id,
                "role": p.role.value,
                "role_label": p.role.label,
                "name": p.name,
                "seat": p.seat_id,
                "remote": p.remote,
            }
            for p in host.hearing.participants
        ]
        # One state per person, folded from the timeline; the running door check's who and how long.
        from court.attendance.state import read_attendance

        people = read_attendance(ctx.sessions, hearing_id, host.hearing.participants)
        snap["attendance"] = [a.to_json(with_similarity=principal.is_staff) for a in people]
        snap["door"] = host.door.state() if principal.is_staff else None
        if not principal.is_staff:
            snap.pop("devices", None)
            snap.pop("error", None)
            # A party sees their own state, and only in the session that passed the face check (a
            # re-sent code or a second device checks again).
            own = host.remote(principal.participant_id) if principal.participant_id is not None else None
            snap["remotes"] = (
                [own.to_json()] if own is not None and own.session_id == principal.session_id else []
            )
        snap["you"] = {"role": principal.role.value, "participant_id": principal.participant_id}
        return snap

    return await run_in_threadpool(body)


@router.get("/hearings/{hearing_id}/events")
async def events(
    hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx, after: Annotated[Seq, Query()] = 0
) -> list[dict[str, Any]]:
    check_hearing(principal, hearing_id)
    found = await run_in_threadpool(
        lambda: list(read_events(ctx.sessions, hearing_id, after=after, limit=1000))
    )
    return [event_json(e) for e in found if visible(principal, e)]


@router.get("/hearings/{hearing_id}/events/stream", response_class=StreamingResponse)
async def event_stream(
    hearing_id: HearingId,
    request: Request,
    principal: AnyPrincipal,
    ctx: Ctx,
    after: Annotated[Seq, Query()] = 0,
    last_event_id: Annotated[
        str | None,
        Header(alias="last-event-id", max_length=40, description="the browser's on reconnecting"),
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events: every visible timeline event as it is written (``id:`` is its seq, so a
    browser that reconnects carries on where it stopped)."""
    check_hearing(principal, hearing_id)
    last = _resume_from(last_event_id, after)

    bell = _doorbell(ctx, hearing_id)

    async def stream() -> AsyncIterator[str]:
        nonlocal last
        quiet = 0.0
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            waiter = bell.arm()
            found = await run_in_threadpool(_read, ctx, hearing_id, last)
            for event in found:
                last = event.seq
                if visible(principal, event):
                    data = json.dumps(event_json(event), ensure_ascii=False)
                    yield f"id: {event.seq}\nevent: timeline\ndata: {data}\n\n"
            if found:
                bell.disarm(waiter)
                quiet = 0.0
                continue
            await bell.wait(waiter, 0.25)
            quiet += 0.25
            if quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


def _resume_from(last_event_id: str | None, after: int) -> int:
    """Where a reconnecting stream carries on: the browser sends back the last ``id:`` it got."""
    if not last_event_id:
        return after
    text = last_event_id.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_ID:
        raise ApiError(
            400,
            "bad_last_event_id",
            "Last-Event-ID 应为事件序号 (Last-Event-ID must be an event sequence number)",
        )
    return int(text)


def _doorbell(ctx: ServerContext, hearing_id: int) -> Doorbell:
    """The hearing's doorbell, rung by its host's timeline (made once per hearing, on the loop)."""
    bell = ctx.doorbells.get(hearing_id)
    if bell is None:
        bell = ctx.doorbells[hearing_id] = Doorbell(asyncio.get_running_loop())
        with contextlib.suppress(CaseError):
            ctx.hosts.get(hearing_id).timeline.subscribe(bell.ring)
    return bell


def _read(ctx: ServerContext, hearing_id: int, after: int) -> list[TimelineEvent]:
    return list(read_events(ctx.sessions, hearing_id, after=after, limit=500))


# -- the clerk's controls ------------------------------------------------------------------------------


class ReasonBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class PhaseBody(BaseModel):
    phase: Phase
    reason: str | None = Field(default=None, max_length=500)


class InviteBody(BaseModel):
    participant_id: BodyId


class DirectorBody(BaseModel):
    action: str = Field(pattern="^(auto|manual|select|lock)$")
    camera: str | None = Field(default=None, min_length=1, max_length=60)
    seconds: float | None = Field(default=None, gt=0, le=3600)
    reason: str = Field(default="", max_length=500)


class MaskBody(BaseModel):
    target: str = Field(min_length=1, max_length=60, description='a camera id, or "*" for the whole feed')
    mode: str | None = Field(default=None, pattern="^(blur|slate)$", description="null lifts the mask")
    reason: str = Field(default="", max_length=500)


class LivestreamBody(BaseModel):
    on: bool
    reason: str = Field(default="", max_length=500)


class CaucusBody(BaseModel):
    side: str = Field(pattern="^(applicant|respondent)$")


class PresenceBody(BaseModel):
    participant_id: BodyId
    reason: str = Field(min_length=1, max_length=500)


@router.post("/hearings/{hearing_id}/start")
async def start(hearing_id: HearingId, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    await run_in_threadpool(host.start)
    return host.snapshot()


@router.post("/hearings/{hearing_id}/open")
async def open_hearing(hearing_id: HearingId, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    return event_json(await run_in_threadpool(host.open))


@router.post("/hearings/{hearing_id}/phase")
async def phase(hearing_id: HearingId, body: PhaseBody, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    return event_json(await run_in_threadpool(host.change_phase, body.phase, body.reason))


@router.post("/hearings/{hearing_id}/recess")
async def recess(hearing_id: HearingId, body: ReasonBody, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    return event_json(await run_in_threadpool(host.recess, body.reason or "休庭"))


@router.post("/hearings/{hearing_id}/resume")
async def resume(hearing_id: HearingId, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    return event_json(await run_in_threadpool(host.resume))


@router.post("/hearings/{hearing_id}/close")
async def close(hearing_id: HearingId, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    from web.public import stop_public

    await run_in_threadpool(stop_public, ctx, hearing_id, "闭庭 (hearing closed)")
    event = event_json(await run_in_threadpool(host.close))
    hub = ctx.rtc.pop(hearing_id, None)
    if hub is not None:
        await hub.close()
    return event


@router.post("/hearings/{hearing_id}/attendance")
async def confirm_presence(
    hearing_id: HearingId, body: PresenceBody, principal: Clerk, ctx: Ctx
) -> dict[str, bool]:
    host = host_for(ctx, principal, hearing_id)
    require_started(host)
    await run_in_threadpool(
        lambda: host.confirm_presence(body.participant_id, body.reason, actor=principal.actor)
    )
    return {"ok": True}


@router.post("/hearings/{hearing_id}/attendance/close")
async def close_door_check(hearing_id: HearingId, principal: Clerk, ctx: Ctx) -> dict[str, bool]:
    """End the start's door check now: whoever has not come is absent (and may be confirmed in
    person later)."""
    host = host_for(ctx, principal, hearing_id)
    require_started(host)
    await run_in_threadpool(lambda: host.end_door_check(actor=principal.actor))
    return {"ok": True}


@router.post("/hearings/{hearing_id}/invitations")
async def invite(
    hearing_id: HearingId, body: InviteBody, request: Request, principal: Clerk, ctx: Ctx
) -> dict[str, Any]:
    check_hearing(principal, hearing_id)
    try:
        info = await run_in_threadpool(
            lambda: ctx.accounts.invite(hearing_id, body.participant_id, actor=principal.actor)
        )
    except (CaseError, ValueError) as exc:
        raise ApiError(400, "bad_participant", str(exc)) from None
    base = ctx.public_url or str(request.base_url).rstrip("/")
    return {
        "code": info.code,
        "url": f"{base}/join?code={info.code}",
        "expires_at": info.expires_at.isoformat(),
        "participant_id": body.participant_id,
    }


@router.delete("/invitations/{code}")
async def revoke(code: str, principal: Clerk, ctx: Ctx) -> dict[str, bool]:
    try:
        await run_in_threadpool(lambda: ctx.accounts.revoke_invitation(code, actor=principal.actor))
    except Exception as exc:
        raise ApiError(404, "unknown_invitation", f"没有这个邀请码 (no such invitation): {exc}") from None
    return {"ok": True}


@router.post("/hearings/{hearing_id}/remote/{participant_id}/admit")
async def admit(
    hearing_id: HearingId, participant_id: ParticipantId, principal: Clerk, ctx: Ctx
) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    party = await run_in_threadpool(lambda: host.admit(participant_id, actor=principal.actor))
    return party.to_json()


@router.post("/hearings/{hearing_id}/remote/{participant_id}/reject")
async def reject(
    hearing_id: HearingId, participant_id: ParticipantId, body: ReasonBody, principal: Clerk, ctx: Ctx
) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    party = await run_in_threadpool(lambda: host.reject(participant_id, body.reason, actor=principal.actor))
    hub = ctx.rtc.get(hearing_id)
    if hub is not None:
        # Removed from the hearing: their media stops now, not when their page next polls.
        await hub.close_owner(party_actor(participant_id), f"书记员请出庭审：{body.reason}")
    return party.to_json()


@router.post("/hearings/{hearing_id}/director")
async def direct(hearing_id: HearingId, body: DirectorBody, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    await run_in_threadpool(
        lambda: host.direct(
            body.action, camera=body.camera, seconds=body.seconds, reason=body.reason, actor=principal.actor
        )
    )
    return host.snapshot()


@router.post("/hearings/{hearing_id}/mask")
async def mask(hearing_id: HearingId, body: MaskBody, principal: Clerk, ctx: Ctx) -> dict[str, Any]:
    host = host_for(ctx, principal, hearing_id)
    await run_in_threadpool(lambda: host.mask(body.target, body.mode, body.reason, actor=principal.actor))
    return host.snapshot()


@router.post("/hearings/{hearing_id}/livestream")
async def livestream(
    hearing_id: HearingId, body: LivestreamBody, principal: Clerk, ctx: Ctx
) -> dict[str, Any]:
    """Approve the public stream (cases approved for livestream only) or cut it at once: the kill
    switch deletes what the public has not yet seen."""
    host = host_for(ctx, principal, hearing_id)
    await run_in_threadpool(lambda: host.set_public(body.on, body.reason, actor=principal.actor))
    from web.public import start_public, stop_public

    if body.on:
        await run_in_threadpool(start_public, ctx, host)
    else:
        await run_in_threadpool(stop_public, ctx, hearing_id, body.reason or "书记员切断直播 (kill switch)")
    return host.snapshot()


@router.post("/hearings/{hearing_id}/caucus")
async def caucus(
    hearing_id: HearingId, body: CaucusBody, principal: AnyPrincipal, ctx: Ctx
) -> dict[str, Any]:
    if not principal.is_staff:
        raise ApiError(403, "staff_only", "仅限书记员和仲裁员 (clerks and arbitrators only)")
    host = host_for(ctx, principal, hearing_id)
    await run_in_threadpool(lambda: host.start_caucus(body.side, actor=principal.actor))
    return host.snapshot()


@router.delete("/hearings/{hearing_id}/caucus")
async def end_caucus(hearing_id: HearingId, principal: AnyPrincipal, ctx: Ctx) -> dict[str, Any]:
    if not principal.is_staff:
        raise ApiError(403, "staff_only", "仅限书记员和仲裁员 (clerks and arbitrators only)")
    host = host_for(ctx, principal, hearing_id)
    await run_in_threadpool(lambda: host.end_caucus(actor=principal.actor))
    return host.snapshot()
