"""The simulated face-check terminal (人脸核验终端) at the courtroom door.

It shows an empty corridor with the courtroom door; when someone "arrives" their photo (or a video
of them) is composited into the doorway, growing a little over the first half second as they step
up to the terminal. Feed it with :meth:`SimulatedFaceTerminal.arrive` or the ``visits`` argument.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from devices.clock import Clock
from devices.interfaces import DeviceKind
from devices.media import Image
from devices.simulated._common import as_image
from devices.simulated.camera import PacedVideoSource
from devices.simulated.scene import fit_text, format_stamp

ImageSource = Image | str | os.PathLike[str]
"""A BGR image, or the path of an image file or a video file."""

VIDEO_SUFFIXES = frozenset({".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".ts", ".y4m"})


@dataclass(frozen=True, slots=True, eq=False)
class Visit:
    start: float
    """Hearing-clock seconds when the person steps in front of the terminal."""
    duration: float
    frames: tuple[tuple[float, Image], ...]
    """(seconds after ``start``, image); a still photo is a single frame at 0."""


def load_images(source: ImageSource, *, max_seconds: float = 30.0) -> list[tuple[float, Image]]:
    """Frames of an image or video source as (seconds from its start, BGR image)."""
    if isinstance(source, np.ndarray):
        img = np.asarray(source, dtype=np.uint8)
        if img.ndim == 2:
            img = as_image(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected an H×W×3 BGR image, got shape {img.shape}")
        return [(0.0, img)]
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"人像文件不存在 (image/video file not found): {path}")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        still = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if still is not None:
            return [(0.0, as_image(still))]
    frames: list[tuple[float, Image]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        first: float | None = None
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else len(frames) / 25.0
            first = t if first is None else first
            if t - first > max_seconds:
                break
            frames.append((t - first, as_image(frame.to_ndarray(format="bgr24"))))
    if not frames:
        raise ValueError(f"文件中没有图像 (no picture in file): {path}")
    return frames


class SimulatedFaceTerminal(PacedVideoSource):
    """A camera at the door (kind ``FACE_TERMINAL``): empty corridor, or whoever is arriving.

    ``visits`` is a sequence of ``(t, image_or_path)``; each visit lasts ``visit_seconds`` (a video
    visit lasts as long as the video when that is longer).
    """

    KIND = DeviceKind.FACE_TERMINAL
    fault_words = "人脸核验终端无画面 (face terminal delivers no frames)"

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        visits: Iterable[tuple[float, ImageSource]] = (),
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 10.0,
        visit_seconds: float = 5.0,
        noise: int = 2,
        seed: int | None = None,
        fail_between: tuple[float, float] | None = None,
        font_path: str | os.PathLike[str] | None = None,
        door_label: str = "仲裁庭",
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
        self.visit_seconds = visit_seconds
        self._visits: list[Visit] = []
        self._visit_lock = threading.Lock()
        s = width / 640.0
        bg = np.empty((height, width, 3), np.uint8)
        bg[:] = (196, 206, 214)
        floor_y = int(height * 0.8)
        bg[floor_y:] = (120, 128, 134)
        # The door (the person appears in it) and its sign.
        self._door = (int(width * 0.3), int(height * 0.14), int(width * 0.7), floor_y)
        x0, y0, x1, y1 = self._door
        cv2.rectangle(bg, (x0 - int(8 * s), y0 - int(8 * s)), (x1 + int(8 * s), y1), (60, 90, 130), -1)
        cv2.rectangle(bg, (x0, y0), (x1, y1), (150, 160, 168), -1)
        fit_text(
            bg, door_label, (width // 2, y0 // 2), int(width * 0.5), int(y0 * 0.6), (30, 30, 30), font_path
        )
        fit_text(
            bg,
            "请正视摄像头 进行人脸核验",
            (width // 2, floor_y + (height - floor_y) // 2),
            int(width * 0.8),
            int((height - floor_y) * 0.45),
            (255, 255, 255),
            font_path,
        )
        cv2.rectangle(bg, (0, height - int(22 * s)), (int(230 * s), height), (20, 20, 20), -1)
        self.background = bg
        self._scale = s
        for t, source in visits:
            self.arrive(source, t)
        self.render(0.0)  # warm up (noise table, OpenCV's first putText) so the first read is on time

    def arrive(
        self, image_or_path: ImageSource, at_t: float | None = None, duration: float | None = None
    ) -> Visit:
        """Show a person at the terminal from hearing-clock ``at_t`` (now when omitted) for
        ``duration`` seconds (default ``visit_seconds``, or the video's length when longer)."""
        start = self._clock.now() if at_t is None else float(at_t)
        frames = load_images(image_or_path, max_seconds=max(self.visit_seconds, duration or 0.0) + 60.0)
        x0, y0, x1, y1 = self._door
        box_w, box_h = int((x1 - x0) * 0.96), int((y1 - y0) * 0.96)
        fitted = []
        for rel, img in frames:
            h, w = img.shape[:2]
            f = min(box_w / w, box_h / h)
            size = (max(1, int(w * f)), max(1, int(h * f)))
            interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
            fitted.append((rel, as_image(cv2.resize(img, size, interpolation=interp))))
        length = fitted[-1][0] + 0.5 if len(fitted) > 1 else 0.0
        visit = Visit(
            start, duration if duration is not None else max(self.visit_seconds, length), tuple(fitted)
        )
        with self._visit_lock:
            self._visits.append(visit)
            self._visits.sort(key=lambda v: v.start)
        return visit

    @property
    def visits(self) -> Sequence[Visit]:
        with self._visit_lock:
            return tuple(self._visits)

    def visit_at(self, t: float) -> Visit | None:
        """The visit on screen at hearing-clock ``t`` (the latest started one), if any."""
        with self._visit_lock:
            for visit in reversed(self._visits):
                if visit.start <= t < visit.start + visit.duration:
                    return visit
        return None

    def _draw(self, frame: Image, t: float) -> None:
        visit = self.visit_at(t)
        if visit is not None:
            rel = t - visit.start
            times = [r for r, _ in visit.frames]
            img = visit.frames[max(0, bisect.bisect_right(times, rel) - 1)][1]
            step_in = min(1.0, 0.75 + 0.25 * rel / 0.5)
            if step_in < 1.0:
                h, w = img.shape[:2]
                img = as_image(cv2.resize(img, (max(1, int(w * step_in)), max(1, int(h * step_in)))))
            h, w = img.shape[:2]
            x0, y0, x1, y1 = self._door
            px = (x0 + x1 - w) // 2
            py = y1 - h - int((y1 - y0) * 0.02)
            frame[py : py + h, px : px + w] = img
        s = self._scale
        cv2.putText(
            frame,
            format_stamp(t),
            (int(5 * s), self._height - int(7 * s)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * s,
            (255, 255, 255),
            max(1, round(s)),
            cv2.LINE_AA,
        )
