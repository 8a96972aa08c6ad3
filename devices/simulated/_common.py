"""Shared pieces of the simulated devices: the fault-injecting device base and small image helpers."""

from __future__ import annotations

import threading
from typing import ClassVar

import cv2
import numpy as np
from cv2.typing import MatLike

from devices.base import DeviceBase
from devices.clock import Clock
from devices.interfaces import DeviceKind, DeviceStatus
from devices.media import Image

DEFAULT_FAULT = "模拟故障 (simulated fault)"


def as_image(mat: MatLike) -> Image:
    """An OpenCV result as a plain uint8 ndarray (no copy when it already is one)."""
    return np.asarray(mat, dtype=np.uint8)


def bgr_to_rgb(image: Image) -> Image:
    return as_image(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


class FaultInjection:
    """Fault injection for a simulated device: a scripted window on the hearing clock
    (``fail_between=(t0, t1)``, end exclusive) and/or a manual :meth:`break_` … :meth:`repair`."""

    def __init__(self, fail_between: tuple[float, float] | None = None) -> None:
        if fail_between is not None and not fail_between[0] < fail_between[1]:
            raise ValueError(f"fail_between must be (t0, t1) with t0 < t1, got {fail_between}")
        self.fail_between = fail_between
        self._broken: str | None = None
        self._lock = threading.Lock()

    def break_(self, reason: str = DEFAULT_FAULT) -> None:
        """Make the device fail from now on until :meth:`repair`."""
        with self._lock:
            self._broken = reason or DEFAULT_FAULT

    def repair(self) -> None:
        """Undo :meth:`break_` (a scripted ``fail_between`` window still applies)."""
        with self._lock:
            self._broken = None

    def fault_between(self, t0: float, t1: float) -> str | None:
        """The fault reason when the device is broken now or the span [t0, t1) meets the scripted
        window; ``None`` when it works."""
        with self._lock:
            broken = self._broken
        if broken is not None:
            return broken
        if self.fail_between is not None:
            f0, f1 = self.fail_between
            if (t0 < f1 and t1 > f0) or f0 <= t0 < f1:
                return f"模拟故障窗口 {f0:.1f}–{f1:.1f} s (scripted fault window)"
        return None

    def fault_at(self, t: float) -> str | None:
        return self.fault_between(t, t)


class SimulatedDevice(DeviceBase):
    """A simulated device on the hearing clock with fault injection (see :class:`FaultInjection`):
    :meth:`break_` and :meth:`repair`, a scripted ``fail_between`` window, and the ``check()`` they
    imply. Subclasses set :attr:`fault_words` and implement :meth:`_ready_detail`."""

    fault_words: ClassVar[str]
    """What the device's faults say before the reason."""

    def __init__(
        self, device_id: str, kind: DeviceKind, clock: Clock, fail_between: tuple[float, float] | None
    ) -> None:
        super().__init__(device_id, kind)
        self._clock = clock
        self._faults = FaultInjection(fail_between)

    def break_(self, reason: str = DEFAULT_FAULT) -> None:
        """Simulate a failure from now until :meth:`repair`: reads raise :class:`DeviceFault`,
        ``check()`` reports not ready with the reason."""
        self._faults.break_(reason)

    def repair(self) -> None:
        self._faults.repair()

    @property
    def fail_between(self) -> tuple[float, float] | None:
        """The scripted fault window (t0, t1) on the hearing clock, or ``None``."""
        return self._faults.fail_between

    @fail_between.setter
    def fail_between(self, window: tuple[float, float] | None) -> None:
        if window is not None and not window[0] < window[1]:
            raise ValueError(f"fail_between must be (t0, t1) with t0 < t1, got {window}")
        self._faults.fail_between = window

    def _probe(self) -> DeviceStatus:
        fault = self._faults.fault_at(self._clock.now())
        if fault is not None:
            return self.status(False, f"{self.fault_words}: {fault}")
        return self.status(True, self._ready_detail())

    def _ready_detail(self) -> str:
        """The detail of a ready ``check()``."""
        raise NotImplementedError

    def _raise_if_faulty(self, t0: float, t1: float | None = None) -> None:
        """Raise :class:`DeviceFault` when the device is broken now or the span [t0, t1) (the instant
        ``t0`` when ``t1`` is omitted) meets the scripted window."""
        fault = self._faults.fault_between(t0, t0 if t1 is None else t1)
        if fault is not None:
            raise self.fault(f"{self.fault_words}: {fault}")
