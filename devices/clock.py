"""The hearing clock: seconds since the hearing's clock origin, shared by every device and the timeline.

A real room runs on :class:`WallClock`. The simulated courtroom can run faster than real time on
:class:`ScaledClock`; its wall time is then the simulated hearing's wall time (origin + t), so the
timeline reads as the hearing would have happened.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Hearing-clock seconds now."""
        ...

    def wall(self, t: float | None = None) -> datetime:
        """Wall time (aware, UTC) at hearing-clock ``t`` (now when omitted)."""
        ...

    def sleep_until(self, t: float) -> None:
        """Block until the hearing clock reaches ``t``."""
        ...


class WallClock:
    """Real time. ``origin`` is the wall time of hearing-clock zero; after a restart the same origin
    keeps the hearing clock continuous."""

    def __init__(self, origin: datetime | None = None) -> None:
        self.origin = origin or datetime.now(UTC)
        self._offset = (datetime.now(UTC) - self.origin).total_seconds()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._offset + (time.monotonic() - self._mono0)

    def wall(self, t: float | None = None) -> datetime:
        return self.origin + timedelta(seconds=self.now() if t is None else t)

    def sleep_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            time.sleep(delay)


class ScaledClock:
    """Simulated time running ``speed`` times faster than real time, starting at hearing-clock ``start``."""

    def __init__(self, speed: float = 1.0, origin: datetime | None = None, start: float = 0.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.origin = origin or datetime.now(UTC)
        self._start = start
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._mono0) * self.speed

    def wall(self, t: float | None = None) -> datetime:
        return self.origin + timedelta(seconds=self.now() if t is None else t)

    def sleep_until(self, t: float) -> None:
        delay = (t - self.now()) / self.speed
        if delay > 0:
            time.sleep(delay)
