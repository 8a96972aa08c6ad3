"""Simulated cameras: generated courtroom scenes paced by the hearing clock."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import ClassVar

import cv2
import numpy as np

from devices.base import FixedPicture
from devices.clock import Clock
from devices.interfaces import DeviceKind
from devices.media import Image, VideoFrame
from devices.simulated._common import SimulatedDevice, as_image
from devices.simulated.scene import CameraView, Scene, SceneSeat, format_stamp

SpeakingFn = Callable[[str, float], bool]
"""``is_speaking(seat_id, t)``: whether the seat is speaking at hearing-clock ``t``."""


def _never_speaking(seat_id: str, t: float) -> bool:
    return False


class PacedVideoSource(SimulatedDevice, FixedPicture):
    """Frame pacing, sensor noise, fault injection and ``check()`` shared by the simulated camera and
    the simulated face terminal. Subclasses set ``self.background`` and implement :meth:`_draw`."""

    KIND: ClassVar[DeviceKind] = DeviceKind.CAMERA
    fault_words = "摄像机无画面 (camera delivers no frames)"

    background: Image

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        *,
        width: int,
        height: int,
        fps: float,
        noise: int,
        seed: int | None,
        fail_between: tuple[float, float] | None,
    ) -> None:
        if width <= 0 or height <= 0 or fps <= 0:
            raise ValueError(f"{device_id}: bad video format {width}x{height} @ {fps} fps")
        super().__init__(device_id, self.KIND, clock, fail_between)
        self._width = width
        self._height = height
        self._fps = float(fps)
        self._noise_amplitude = max(0, min(40, int(noise)))
        self._rng = np.random.default_rng(seed)
        self._noise: Image | None = None
        self._low: Image | None = None
        self._next_k: int | None = None
        """Index of the next frame: its time is ``k / fps``."""
        self._lock = threading.Lock()
        self.frames_read = 0
        self.frames_dropped = 0
        """Frames a slow reader missed (the simulated camera, like a real one, does not queue)."""

    # --- Device -----------------------------------------------------------------------------------

    def _ready_detail(self) -> str:
        return f"模拟画面 (simulated) {self._width}×{self._height} @ {self._fps:g} fps"

    # --- frames -----------------------------------------------------------------------------------

    def read(self) -> VideoFrame:
        """Block until the next frame is due on the hearing clock and return it.

        Frame times lie on a grid of ``1/fps``; a reader slower than the frame rate gets the latest
        due frame (missed ones count in :attr:`frames_dropped`). While faulty, it still waits for the
        frame's due time, then raises :class:`DeviceFault`.
        """
        self._ensure_open()
        t = self._wait_for_due_frame()
        self._raise_if_faulty(t)
        self.frames_read += 1
        return VideoFrame(self.render(t), t)

    def render(self, t: float) -> Image:
        """The frame at hearing-clock ``t``, without pacing or faults (for tests and previews)."""
        if self._noise_amplitude:
            if self._noise is None or self._low is None:
                a = self._noise_amplitude
                self._low = as_image(cv2.subtract(self.background, np.full_like(self.background, a)))
                self._noise = self._rng.integers(
                    0, 2 * a + 1, (self._height + 64, self._width + 64, 3), dtype=np.uint8
                )
            dy, dx = (int(v) for v in self._rng.integers(0, 64, 2))
            frame = as_image(cv2.add(self._low, self._noise[dy : dy + self._height, dx : dx + self._width]))
        else:
            frame = self.background.copy()
        self._draw(frame, t)
        return frame

    def _draw(self, frame: Image, t: float) -> None:
        raise NotImplementedError


class SimulatedCamera(PacedVideoSource):
    """A generated view of the courtroom.

    ``seats`` are the seats the view shows (for :attr:`CameraView.WIDE`, every seat with its
    ``side``); ``is_speaking(seat_id, t)`` decides which figures animate (highlight, moving mouth),
    so the picture follows the scripted audio. ``noise`` is the sensor-noise amplitude in grey levels
    (0 turns it off; the time stamp still changes every frame). The background is rendered once in
    the constructor (a CJK font is needed: :mod:`devices.fonts`).
    """

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        view: CameraView | str,
        seats: Sequence[SceneSeat] = (),
        *,
        is_speaking: SpeakingFn | None = None,
        width: int = 640,
        height: int = 360,
        fps: float = 10.0,
        noise: int = 2,
        seed: int | None = None,
        fail_between: tuple[float, float] | None = None,
        font_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(
            device_id,
            clock,
            width=width,
            height=height,
            fps=fps,
            noise=noise,
            seed=seed,
            fail_between=fail_between,
        )
        self.view = CameraView(view)
        self.seats = tuple(seats)
        self._is_speaking = is_speaking or _never_speaking
        # The caption names the view in Chinese (仲裁员席, 全景 …); the device id is for logs only.
        self.scene = Scene(self.view, self.seats, width, height, font_path=font_path)
        self.background = self.scene.background
        self.render(0.0)  # warm up (noise table, OpenCV's first putText) so the first read is on time

    def _draw(self, frame: Image, t: float) -> None:
        self.scene.overlay(frame, t, lambda seat_id: self._is_speaking(seat_id, t), format_stamp(t))
