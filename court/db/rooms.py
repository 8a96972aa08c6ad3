"""Tables of an institute with several courtrooms (issue 17): the rooms and who holds each hearing.

``rooms`` is each courtroom's console (a ``court serve --room NAME``) with its heartbeat;
``hearing_leases`` says which room runs a hearing, until when (the lease), and under which
generation — the fencing token every timeline append of that hearing is checked against
(:mod:`court.core.claims`). Neither is the record: they coordinate the writers of the timeline, and
the timeline says on its own who ran the hearing when (``process.claimed``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from court.core.timeutil import utcnow
from court.db.models import Base


class RoomRow(Base):
    __tablename__ = "rooms"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    """The room as people call it (``第一仲裁庭``): ``court serve --room``."""
    node: Mapped[str] = mapped_column(String(100))
    """The process serving the room now (host, pid and a random tag): one at a time."""
    url: Mapped[str] = mapped_column(String(500), default="")
    """Where that process serves its pages (the console and the stream link there)."""
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    """Renewed every ``[rooms] heartbeat_seconds``; older than the lease: the node is down."""
    stopped_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Set when the process stopped cleanly (not after a crash: then the heartbeat just ages)."""


class HearingLease(Base):
    __tablename__ = "hearing_leases"

    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), primary_key=True)
    room: Mapped[str] = mapped_column(String(100))
    node: Mapped[str] = mapped_column(String(100))
    generation: Mapped[int] = mapped_column(Integer)
    """The fencing token: raised by every claim, so a writer holding an older one is refused."""
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    """Renewed with the room's heartbeat; after it another room (or a restart) may take over."""
    released_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Set when the room let the hearing go (closed, a failed start, a clean stop)."""
