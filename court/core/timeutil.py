"""Wall-time helpers: every stored time is timezone-aware UTC; what people read is Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

BEIJING_OFFSET_MINUTES = 480
"""Where the room is: the offset of the times people read (the 笔录, the picture, the pages)."""

BEIJING = timezone(timedelta(minutes=BEIJING_OFFSET_MINUTES))


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for aware columns: they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
