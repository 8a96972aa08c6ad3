"""The institute view's data: every room of the institute and what it runs (``GET /api/institute``).

Staff and viewers (supervisors, the observation room) may read it; parties may not (403). Every room's
server answers the same, from the shared database (:mod:`court.host.institute`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from court.core.timeutil import utcnow
from court.host.institute import beijing, overview
from web.context import ServerContext
from web.security import AnyPrincipal, ApiError, context

router = APIRouter(prefix="/api", tags=["institute"])

Ctx = Annotated[ServerContext, Depends(context)]


@router.get("/institute")
async def institute(principal: AnyPrincipal, ctx: Ctx) -> dict[str, Any]:
    """Every room: idle, a hearing in progress (case, state, phase, since when, Beijing time), stopped
    or down, with links to the console and the live stream of the node that serves it."""
    if principal.is_party:
        raise ApiError(403, "staff_or_viewer_only", "仅限工作人员和监督人员 (staff and supervisors only)")
    rooms = await run_in_threadpool(overview, ctx.sessions, ctx.config.rooms.lease_seconds)
    return {
        "rooms": rooms,
        "here": ctx.room.name if ctx.room is not None else None,
        "now": beijing(utcnow()),
        "role": principal.role.value,
    }
