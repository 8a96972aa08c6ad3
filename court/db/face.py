"""Tables of the face check (issue 4): enrolled face templates of a case's participants.

A template is the 128-D embedding of a participant's ID photo (the photo itself stays in
``participants.id_photo``). Both belong to the case: deleting the participant or the case deletes
them (``ON DELETE CASCADE``). Neither is ever written to the timeline or a log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from court.core.timeutil import utcnow
from court.db.models import Base


class FaceTemplateRow(Base):
    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(40))
    """Which embedding model made it (templates of another model are not comparable)."""
    embedding: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    """128 little-endian float32."""
    photo_sha256: Mapped[str] = mapped_column(String(64))
    """The enrolled photo it was computed from."""
    face_px: Mapped[float] = mapped_column(Float)
    sharpness: Mapped[float] = mapped_column(Float)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    enrolled_by: Mapped[str] = mapped_column(String(100), default="clerk")
