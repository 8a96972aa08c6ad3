"""The institute at a glance, for supervisors: every room, what it runs now, and where to watch it.

Read from the shared database only (rooms, leases, the hearings' timelines), so any room's server
answers the same: a room is idle, running a hearing (case, state and phase, since when), stopped, or
down (its heartbeat lapsed without a clean stop); each hearing links to the console and the live
stream of the room that holds it, whichever node serves that room.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.core import claims
from court.core.cases import CaseError, load_hearing
from court.core.claims import Holder
from court.core.events import EventType
from court.core.lifecycle import Lifecycle
from court.core.timeline import read_events
from court.core.timeutil import BEIJING, as_utc, utcnow
from court.db.models import Event
from court.host.rooms import RoomInfo, rooms

STATUS_LABELS = {
    "hearing": "庭审进行中",
    "idle": "空闲",
    "stopped": "已停止",
    "down": "节点失联",
}


def beijing(when: datetime) -> str:
    return f"{when.astimezone(BEIJING):%Y-%m-%d %H:%M}"


def overview(
    sessions: sessionmaker[Session], lease_seconds: float, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One entry per room (by name), each with the hearings it holds."""
    at = now or utcnow()
    known = {info.name: info for info in rooms(sessions)}
    held: dict[str, list[Holder]] = {}
    for lease in claims.holders(sessions).values():
        if lease.held:
            held.setdefault(lease.room, []).append(lease)
    out = []
    for name in sorted(set(known) | set(held)):
        info = known.get(name)
        hearings = [_hearing(sessions, lease, info, at) for lease in held.get(name, [])]
        status = _status(info, hearings, at, lease_seconds)
        out.append(
            {
                "room": name,
                "status": status,
                "status_label": STATUS_LABELS[status],
                "url": info.url if info is not None else "",
                "heartbeat": beijing(info.heartbeat_at) if info is not None else None,
                "hearings": sorted(hearings, key=lambda h: h["hearing_id"]),
            }
        )
    return out


def _status(info: RoomInfo | None, hearings: list[dict[str, Any]], at: datetime, lease_seconds: float) -> str:
    if info is None or (info.stopped_at is None and info.down(at, lease_seconds)):
        return "down"
    if info.stopped_at is not None:
        return "down" if hearings else "stopped"
    return "hearing" if hearings else "idle"


def _hearing(
    sessions: sessionmaker[Session], lease: Holder, info: RoomInfo | None, at: datetime
) -> dict[str, Any]:
    hearing_id = lease.hearing_id
    try:
        hearing = load_hearing(sessions, hearing_id)
        case_number, cause = hearing.case_number, hearing.cause
    except CaseError:
        case_number, cause = "", ""
    lifecycle = Lifecycle.replay((e.type, e.payload) for e in read_events(sessions, hearing_id))
    with sessions() as session:
        started = session.scalar(
            select(Event.wall)
            .where(Event.hearing_id == hearing_id, Event.type == EventType.HEARING_PREPARING)
            .order_by(Event.seq)
            .limit(1)
        )
    since = as_utc(started) if started is not None else lease.claimed_at
    base = info.url if info is not None else ""
    return {
        "hearing_id": hearing_id,
        "case_number": case_number,
        "cause": cause,
        "state": lifecycle.state.value,
        "state_label": lifecycle.state.label,
        "phase": lifecycle.phase.value if lifecycle.phase else None,
        "phase_label": lifecycle.phase.label if lifecycle.phase else None,
        "since": beijing(since),
        "since_iso": since.isoformat(timespec="seconds"),
        "interrupted": lease.expired(at),
        "console": f"{base}/console?hearing={hearing_id}",
        "watch": f"{base}/watch?hearing={hearing_id}",
    }
