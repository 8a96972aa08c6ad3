"""The store's tables.

The per-hearing ``events`` table is the timeline and the one source of truth; ``attendance``,
``utterances`` and ``recording_segments`` are projections written in the same transaction as the
event they come from (``event_seq``), so they can always be rebuilt from the timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column, relationship

from court.core.timeutil import utcnow


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(100), unique=True)
    """案号, e.g. 闽劳人仲案字〔2026〕第118号."""
    cause: Mapped[str] = mapped_column(String(200))
    """案由."""
    commission: Mapped[str] = mapped_column(String(200), default="")
    """The arbitration commission (仲裁委员会) hearing the case."""
    livestream_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    """Labour arbitration is not public by default: off unless the case is approved."""
    livestream_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    participants: Mapped[list[Participant]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Participant.id"
    )
    hearings: Mapped[list[Hearing]] = relationship(back_populates="case", cascade="all, delete-orphan")


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    organization: Mapped[str] = mapped_column(String(200), default="")
    """The company for a respondent employer, or the law firm of an agent."""
    id_photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    seat_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The seat in the room (its microphone channel and camera come from the room config)."""
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    """Joins by phone or PC browser; their own track is their channel."""

    case: Mapped[Case] = relationship(back_populates="participants")


class Hearing(Base):
    __tablename__ = "hearings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="hearing")
    """``hearing`` (开庭) or ``mediation`` (调解)."""
    room: Mapped[str] = mapped_column(String(100), default="")
    scheduled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    clock_origin: Mapped[datetime | None] = mapped_column(nullable=True)
    """Wall time of hearing-clock zero, set by the one-click start; kept so a restart resumes the clock."""
    recording_root: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="hearings")


class Event(Base):
    """One entry of a hearing's append-only timeline."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("hearing_id", "seq", name="uq_events_hearing_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    t: Mapped[float] = mapped_column(Float)
    """Hearing-clock seconds."""
    wall: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(60), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(100), default="system")
    fence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The generation of the room's claim on the hearing it was written under (the fencing token,
    :mod:`court.core.claims`); NULL when no room held the hearing (before the start, after it)."""


class Attendance(Base):
    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    """``present`` or ``absent``."""
    method: Mapped[str] = mapped_column(String(20))
    """``clerk`` (confirmed by the clerk) or ``face`` (face check)."""
    arrived_at: Mapped[datetime]
    t: Mapped[float] = mapped_column(Float)
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class Utterance(Base):
    __tablename__ = "utterances"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(40))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), nullable=True
    )
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    hearing_id: Mapped[int | None] = mapped_column(
        ForeignKey("hearings.id", ondelete="SET NULL"), nullable=True, index=True
    )
    submitted_by: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), nullable=True
    )
    submitter: Mapped[str] = mapped_column(String(200), default="")
    """Who filed it as shown to people (a party's label, or the staff member for staff uploads)."""
    title: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(500))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Signature(Base):
    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    document_version: Mapped[int] = mapped_column(Integer)
    document_sha256: Mapped[str] = mapped_column(String(64))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), nullable=True
    )
    signer_role: Mapped[str] = mapped_column(String(40))
    signer_name: Mapped[str] = mapped_column(String(100))
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[str] = mapped_column(String(40), default="")
    device: Mapped[str] = mapped_column(String(300), default="")
    image: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    statement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the server sealed (transcripts.bilu.signatures.SignatureRecord.statement)."""
    key_id: Mapped[str] = mapped_column(String(64), default="")
    seal: Mapped[str] = mapped_column(String(200), default="")
    """Ed25519 seal over ``statement`` by the server key ``key_id``: a moved or forged row fails it."""


class RecordingSegment(Base):
    __tablename__ = "recording_segments"
    __table_args__ = (UniqueConstraint("hearing_id", "manifest_seq", name="uq_segments_hearing_manifest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    manifest_seq: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(60))
    index: Mapped[int] = mapped_column(Integer)
    file: Mapped[str] = mapped_column(String(500))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    sha256: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")


class Account(Base):
    """A staff or viewer login (clerk, arbitrator, supervisor, observation room); parties have none."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    """``scrypt$n$r$p$salt$hash`` (base64): self-describing, so the cost can be raised later."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    """A party's per-hearing join code (what goes by SMS). Only its hash is kept: a copy of the
    database hands out no way into a hearing. It is redeemed once, by one device; another device
    needs the clerk to send a new code."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    """:func:`court.access.hashing.code_hash` of the canonical ``ABCD-EFGH`` form."""
    code_hint: Mapped[str] = mapped_column(String(8), default="")
    """What the clerk's list may show of the code: its last two characters (``…GH``)."""
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """When the code was redeemed: from then on it is bound to that one login session."""


class LoginSession(Base):
    """One signed-in browser: of an account, or redeemed from an invitation (and dying with it)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    """Only the token's hash: a leaked database does not hand out live sessions."""
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    client: Mapped[str] = mapped_column(Text, default="")
    """The client as the web layer describes it (address, user agent), for the audit trail."""


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    hearing_id: Mapped[int | None] = mapped_column(
        ForeignKey("hearings.id", ondelete="SET NULL"), nullable=True
    )
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AppendOnlyViolation(Exception):
    """An attempt to change or delete a timeline or audit entry."""


def _refuse_change(mapper: Mapper[Any], connection: Any, target: Any) -> None:
    raise AppendOnlyViolation(f"{type(target).__name__} rows are append-only and cannot be changed")


for _model in (Event, AuditLog):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)


# Tables kept beside their feature register on the same metadata.
from court.db import bilu as _bilu  # noqa: E402,F401
from court.db import face as _face  # noqa: E402,F401
from court.db import rooms as _rooms  # noqa: E402,F401
