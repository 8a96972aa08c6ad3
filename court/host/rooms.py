"""This server process as one room of the institute: its registration, its heartbeat, its claims.

``court serve --room NAME`` registers the room in the shared database (``rooms``) and beats every
``[rooms] heartbeat_seconds``, renewing with the same beat the leases of the hearings it runs
(:mod:`court.core.claims`). One process serves a room at a time: a second one for the same room
waits for the first one's heartbeat to lapse (a restart after kill -9; at once when that process
ran on this machine and is gone) and gives up if it keeps beating. A hearing whose lease was taken
while this process was stalled is reported lost to its host, which stops recording it (its appends
are refused by the fence in any case).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.config import RoomsConfig
from court.core import claims
from court.core.claims import Claim, Holder, TakeOver
from court.core.timeutil import as_utc, utcnow
from court.db.rooms import RoomRow

log = logging.getLogger(__name__)


class RoomBusy(Exception):
    """Another process serves this room and keeps beating."""


@dataclass(frozen=True)
class RoomInfo:
    name: str
    node: str
    url: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None

    def down(self, now: datetime, lease_seconds: float) -> bool:
        """Stopped, or silent for longer than a lease: nobody serves the room."""
        return self.stopped_at is not None or self.heartbeat_at + timedelta(seconds=lease_seconds) <= now


def rooms(sessions: sessionmaker[Session]) -> list[RoomInfo]:
    with sessions() as session:
        return [_info(row) for row in session.scalars(select(RoomRow).order_by(RoomRow.name))]


def where(sessions: sessionmaker[Session], hearing_id: int, lease_seconds: float) -> dict[str, Any] | None:
    """Which room holds the hearing now (for the console's "where it runs"), or None."""
    held = claims.holder(sessions, hearing_id)
    if held is None or not held.held:
        return None
    with sessions() as session:
        row = session.get(RoomRow, held.room)
        info = _info(row) if row is not None else None
    now = utcnow()
    return {
        "room": held.room,
        "url": info.url if info is not None else "",
        "since": held.claimed_at.isoformat(timespec="seconds"),
        "down": held.expired(now) or info is None or info.down(now, lease_seconds),
        "node": held.node,
    }


class RoomNode:
    """This process's room: register it, keep it beating, claim and release its hearings."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        name: str,
        settings: RoomsConfig,
        *,
        url: str = "",
        node: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.settings = settings
        self.url = url.rstrip("/")
        self.node = node or f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        self._claims: dict[int, Claim] = {}
        self._lost: dict[int, Callable[[Claim], None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the room ----------------------------------------------------------------------------------------

    def register(self, *, say: Callable[[str], None] = print, patience: float | None = None) -> None:
        """Take the room in the database. A previous process's heartbeat that has not lapsed yet is
        waited out (a restart right after a crash); one that goes on beating for ``patience``
        seconds (default: two leases) means the room is served elsewhere: :class:`RoomBusy`."""
        lease = self.settings.lease_seconds
        deadline = time.monotonic() + (2 * lease if patience is None else patience)
        told = False
        while True:
            waiting = self._try_register()
            if waiting is None:
                return
            if time.monotonic() + min(waiting, 0.5) > deadline:
                raise RoomBusy(
                    f"「{self.name}」已由另一进程运行（{waiting:.0f} 秒内仍有心跳），本进程不启动 "
                    f"(room {self.name} is served by another process)"
                )
            if not told:
                say(
                    f"「{self.name}」上一进程的心跳尚未过期，等待 {waiting:.0f} 秒后接管 "
                    f"(waiting {waiting:.0f} s for the previous process's heartbeat to lapse)"
                )
                told = True
            time.sleep(min(waiting, 0.5))

    def _try_register(self) -> float | None:
        """Register now, or the seconds until the other process's heartbeat lapses."""
        now = utcnow()
        with self.sessions.begin() as session:
            row = session.scalar(select(RoomRow).where(RoomRow.name == self.name).with_for_update())
            if row is None:
                session.add(
                    RoomRow(name=self.name, node=self.node, url=self.url, started_at=now, heartbeat_at=now)
                )
                return None
            info = _info(row)
            alive = not info.down(now, self.settings.lease_seconds) and not dead_here(row.node)
            if row.node != self.node and alive:
                lapse = info.heartbeat_at + timedelta(seconds=self.settings.lease_seconds)
                return max(0.1, (lapse - now).total_seconds())
            row.node, row.url = self.node, self.url
            row.started_at, row.heartbeat_at, row.stopped_at = now, now, None
            return None

    def start_heartbeat(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._beat_loop, name=f"room-{self.name}", daemon=True)
        self._thread.start()

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_seconds):
            try:
                self.beat()
            except Exception:  # the database may be away for a moment: the next beat tries again
                log.exception("room heartbeat failed")

    def beat(self) -> None:
        """Renew the room and its leases; tell the hosts of hearings lost meanwhile."""
        now = utcnow()
        with self.sessions.begin() as session:
            row = session.scalar(select(RoomRow).where(RoomRow.name == self.name).with_for_update())
            ours = row is not None and row.node == self.node
            if ours and row is not None:
                row.heartbeat_at = now
        held = claims.renew(self.sessions, self.node, self.settings.lease_seconds, now=now)
        with self._lock:
            lost = [c for hid, c in self._claims.items() if hid not in held]
            for claim in lost:
                self._claims.pop(claim.hearing_id, None)
            callbacks = [(c, self._lost.pop(c.hearing_id, None)) for c in lost]
        if not ours:
            log.error("room %s is now served by another process", self.name)
        for claim, callback in callbacks:
            log.error("hearing %s: room %s lost its claim", claim.hearing_id, self.name)
            if callback is not None:
                callback(claim)

    def stop(self) -> None:
        """A clean stop: release what is still held, say the room is stopped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            held = list(self._claims.values())
            self._claims.clear()
        for claim in held:
            claims.release(self.sessions, claim)
        with self.sessions.begin() as session:
            row = session.get(RoomRow, self.name)
            if row is not None and row.node == self.node:
                row.stopped_at = utcnow()

    # -- its hearings ----------------------------------------------------------------------------------

    def claim(
        self,
        hearing_id: int,
        *,
        may_take_over: TakeOver | None = None,
        on_lost: Callable[[Claim], None] | None = None,
    ) -> tuple[Claim, Holder | None]:
        """Claim the hearing for this room (:class:`~court.core.claims.ClaimRefused` when another
        room holds it); ``on_lost`` is called if a later beat finds it taken."""
        claim, previous = claims.claim_hearing(
            self.sessions,
            hearing_id,
            room=self.name,
            node=self.node,
            lease_seconds=self.settings.lease_seconds,
            may_take_over=may_take_over,
            gone=lambda holder: holder.room == self.name and dead_here(holder.node),
        )
        with self._lock:
            self._claims[hearing_id] = claim
            if on_lost is not None:
                self._lost[hearing_id] = on_lost
        return claim, previous

    def release(self, claim: Claim) -> None:
        with self._lock:
            if self._claims.get(claim.hearing_id) == claim:
                del self._claims[claim.hearing_id]
                self._lost.pop(claim.hearing_id, None)
        claims.release(self.sessions, claim)


def dead_here(node: str) -> bool:
    """Whether ``node`` was a process of this machine that is no longer running (this room restarted
    after a crash: no need to wait for its heartbeat or lease to lapse). Another machine's process,
    or one that may still run, is not known dead."""
    host, _, rest = node.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive under another user, or not ours to ask
        return False
    return False


def _info(row: RoomRow) -> RoomInfo:
    return RoomInfo(
        name=row.name,
        node=row.node,
        url=row.url,
        started_at=as_utc(row.started_at),
        heartbeat_at=as_utc(row.heartbeat_at),
        stopped_at=as_utc(row.stopped_at) if row.stopped_at is not None else None,
    )
