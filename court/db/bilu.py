"""Tables of the 笔录 (issue 7): corrections with their history, correction requests, locked versions
and the server keys that seal them.

The timeline stays the source of truth for corrections and requests: ``bilu_corrections`` and
``bilu_correction_requests`` are projections of their events, rebuilt from the timeline whenever
they lag (see :func:`court.record.bilu.sync_projections`). ``bilu_versions`` holds what a lock froze — the
exact blocks whose hash every page shows — and ``bilu_keys`` the public half of each server key,
so anyone with the record can check the seals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from court.core.timeutil import utcnow
from court.db.models import Base


class BiluKey(Base):
    """The public half of a server signing key (Ed25519); the private half never enters the store."""

    __tablename__ = "bilu_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(20), default="ed25519")
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BiluVersion(Base):
    """A version of the 笔录 frozen when it was sent for signature."""

    __tablename__ = "bilu_versions"
    __table_args__ = (UniqueConstraint("hearing_id", "number", name="uq_bilu_versions_hearing_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    blocks: Mapped[list[Any]] = mapped_column(JSON)
    """[{kind, text}]: the hashed text, exactly as every export of this version prints it."""
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The structured form (transcripts.bilu.model.document_to_dict)."""
    locked_at: Mapped[datetime]
    locked_by: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(200))
    event_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The ``bilu.locked`` event; None until it is written (a crash in between leaves it unlocked)."""


class BiluCorrection(Base):
    """One correction (projection of an ``utterance.*`` correction event)."""

    __tablename__ = "bilu_corrections"
    __table_args__ = (UniqueConstraint("hearing_id", "event_seq", name="uq_bilu_corrections_hearing_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    line_id: Mapped[str] = mapped_column(String(60), index=True)
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class BiluCorrectionRequest(Base):
    """A party's request to correct a line and the clerk's decision (办案规则 Art. 42)."""

    __tablename__ = "bilu_correction_requests"
    __table_args__ = (UniqueConstraint("hearing_id", "event_seq", name="uq_bilu_requests_hearing_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    """The request's id: its ``correction.requested`` event."""
    line_id: Mapped[str] = mapped_column(String(60))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), nullable=True
    )
    requested_by: Mapped[str] = mapped_column(String(200))
    proposed_text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """``pending``, ``accepted`` or ``refused`` (a refused request stays in the record)."""
    decided_by: Mapped[str] = mapped_column(String(100), default="")
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decision_event_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
