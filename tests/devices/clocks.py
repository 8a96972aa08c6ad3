"""A hearing clock for device tests that moves only when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """A hearing clock that only moves when told; sleeping jumps to the wake-up time."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def wall(self, t: float | None = None) -> datetime:
        return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=self.t if t is None else t)

    def sleep_until(self, t: float) -> None:
        self.t = max(self.t, t)
