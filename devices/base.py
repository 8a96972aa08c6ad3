"""What every courtroom device shares: its id and kind, the ``DeviceStatus`` it reports, and a
``check()`` that never raises.

A device subclasses :class:`DeviceBase` and implements :meth:`DeviceBase._probe` (what "ready" means
for it); closing, the closed state and turning a failed probe into a status a clerk can read live here
once.
"""

from __future__ import annotations

import math
import threading
from typing import ClassVar

from devices.clock import Clock
from devices.interfaces import Device, DeviceFault, DeviceKind, DeviceStatus

CLOSED = "设备已关闭 (device closed)"
"""What a closed device says in its status and faults."""


class DeviceBase:
    """Holds ``device_id`` and ``kind`` and implements :meth:`check` and :meth:`close` of
    :class:`~devices.interfaces.Device`; subclasses implement :meth:`_probe`."""

    closed_words: ClassVar[str] = CLOSED
    """The status detail and fault message once closed."""
    plain_errors: ClassVar[tuple[type[Exception], ...]] = ()
    """Exceptions from :meth:`_probe` whose message is already meant for the clerk: reported as is
    instead of as a failed check."""

    def __init__(self, device_id: str, kind: DeviceKind) -> None:
        self._id = device_id
        self._kind = kind
        self._closed = False

    @property
    def device_id(self) -> str:
        return self._id

    @property
    def kind(self) -> DeviceKind:
        return self._kind

    @property
    def closed(self) -> bool:
        return self._closed

    def status(self, ready: bool, detail: str = "") -> DeviceStatus:
        """This device's status with ``detail``."""
        return DeviceStatus(self._id, self._kind, ready, detail)

    def check(self) -> DeviceStatus:
        """Probe the device without side effects on the hearing; never raises."""
        try:
            if self._closed:
                return self.status(False, self.closed_words)
            return self._probe()
        except self.plain_errors as exc:
            return self.status(False, str(exc))
        except Exception as exc:  # the supervisor polls check(): a raise would take it down
            return self.status(False, f"检测失败 (check failed): {exc!r}")

    def _probe(self) -> DeviceStatus:
        """The status of an open device (may raise: :meth:`check` reports it)."""
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True

    def fault(self, problem: str) -> DeviceFault:
        """A :class:`~devices.interfaces.DeviceFault` naming this device."""
        return DeviceFault(self._id, problem)

    def _ensure_open(self) -> None:
        """Raise :class:`~devices.interfaces.DeviceFault` once closed."""
        if self._closed:
            raise self.fault(self.closed_words)


class FixedPicture:
    """Width, height and frame rate of a camera whose picture format is set when it is built (the
    program feed, a simulated camera, a camera fed by a browser): the ``Camera`` geometry in one place."""

    _width: int
    _height: int
    _fps: float
    _clock: Clock
    _lock: threading.Lock
    _next_k: int | None
    """Index of the next frame on the 1/fps grid (None until the first read)."""
    frames_dropped: int
    """Due frames a slow reader missed: like a real camera, nothing is queued."""

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def fps(self) -> float:
        return self._fps

    def _wait_for_due_frame(self) -> float:
        """Sleep until the next frame is due on the hearing clock and return its time. Frame times
        lie on a 1/fps grid; a reader that fell behind skips to the latest due frame (counted in
        :attr:`frames_dropped`), never catching up through a queue."""
        with self._lock:
            now = self._clock.now()
            if self._next_k is None:
                self._next_k = math.ceil(now * self._fps - 1e-9)
            elif now * self._fps - self._next_k >= 1.0:
                latest = math.floor(now * self._fps + 1e-9)
                self.frames_dropped += latest - self._next_k
                self._next_k = latest
            t = self._next_k / self._fps
            self._next_k += 1
        self._clock.sleep_until(t)
        return t


def _satisfies_protocol(device: DeviceBase) -> Device:
    # Never called: mypy checks here that DeviceBase is a Device.
    return device
