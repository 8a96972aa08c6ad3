"""A real camera: USB (V4L2) by index, an IP camera by RTSP/HTTP URL, or a video file (for tests).

A reader thread keeps only the latest frame (a camera never queues: a slow consumer gets the newest
picture), reconnects with backoff when the stream breaks, and stamps each frame with the hearing
clock when it arrives. :meth:`OpenCVCamera.read` raises :class:`DeviceFault` when no new frame comes
within ``timeout`` seconds.

RTSP goes through PyAV (``av.open(url, options={"rtsp_transport": "tcp"})``: TCP interleaving
survives lossy networks and firewalls better than RTP over UDP); everything else through
``cv2.VideoCapture`` (V4L2 for USB, FFmpeg for files and HTTP/MJPEG).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np

from devices.base import DeviceBase
from devices.clock import Clock
from devices.interfaces import DeviceKind, DeviceStatus
from devices.media import Image, VideoFrame

LIVE_SCHEMES = ("rtsp", "rtsps", "http", "https", "udp", "rtp", "srt", "tcp", "rtmp")

Backend = Literal["auto", "opencv", "pyav"]


def redact(source: str | int) -> str:
    """The source as it may appear in logs and on the clerk's console: URL passwords hidden."""
    return re.sub(r"(//[^/:@\s]+):[^/\s]*@", r"\1:***@", str(source))


def _scheme(source: str | int) -> str:
    if isinstance(source, int):
        return ""
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", source)
    return m.group(1).lower() if m else ""


def _as_image(frame: object) -> Image:
    if isinstance(frame, av.VideoFrame):
        return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    return np.asarray(frame, dtype=np.uint8)


class _StreamEnded(Exception):
    pass


class OpenCVCamera(DeviceBase):
    """A camera by USB index (``0``, or ``"0"``), V4L2 device path (``/dev/v4l/by-id/…``), URL
    (``rtsp://…``, ``http://…``) or video file.

    ``width``/``height`` request a capture size from a USB camera and resize delivered frames to it
    when the source sends another size; ``fps`` is requested from a USB camera and paces a file.
    A file is played at its own frame rate and looped (``loop_files``), so it can stand in for a
    camera in tests. ``backoff`` are the waits between reconnection attempts (the last repeats).
    Pass ``kind=DeviceKind.FACE_TERMINAL`` for the face-check camera at the door.
    """

    def __init__(
        self,
        device_id: str,
        source: int | str,
        clock: Clock,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        timeout: float = 5.0,
        backoff: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0),
        backend: Backend = "auto",
        loop_files: bool = True,
        kind: DeviceKind = DeviceKind.CAMERA,
    ) -> None:
        if isinstance(source, str) and source.strip().isdigit():
            source = int(source.strip())
        super().__init__(device_id, kind)
        self.source = source
        self._clock = clock
        self._req_width = width
        self._req_height = height
        self._req_fps = fps
        self.timeout = float(timeout)
        self.backoff = tuple(backoff) or (1.0,)
        scheme = _scheme(source)
        self.is_v4l2 = isinstance(source, str) and source.startswith("/dev/")
        self.is_live = isinstance(source, int) or self.is_v4l2 or scheme in LIVE_SCHEMES
        self.is_file = not self.is_live
        self.backend: Backend = (
            backend if backend != "auto" else ("pyav" if scheme in ("rtsp", "rtsps") else "opencv")
        )
        self.loop_files = loop_files
        self._cond = threading.Condition()
        self._latest: object | None = None
        self._latest_seq = 0
        self._latest_t = 0.0
        self._latest_mono = 0.0
        self._delivered_seq = 0
        self._source_size: tuple[int, int] | None = None
        self._source_fps: float | None = None
        self._last_error = ""
        self._connects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- Device ------------------------------------------------------------------------------------

    @property
    def width(self) -> int:
        if self._req_width:
            return self._req_width
        return self._source_size[0] if self._source_size else 0

    @property
    def height(self) -> int:
        if self._req_height:
            return self._req_height
        return self._source_size[1] if self._source_size else 0

    @property
    def fps(self) -> float:
        return float(self._req_fps or self._source_fps or 0.0)

    @property
    def connection_attempts(self) -> int:
        """How many times the source was opened or reopened (a file counts once per loop)."""
        return self._connects

    def start(self) -> None:
        """Start the reader thread (``read()`` and ``check()`` do it when needed)."""
        self._ensure_open()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"camera-{self._id}", daemon=True)
            self._thread.start()

    def _probe(self) -> DeviceStatus:
        self.start()
        deadline = time.monotonic() + min(self.timeout, 3.0)
        with self._cond:
            while self._latest_seq == 0 and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            age = time.monotonic() - self._latest_mono if self._latest_seq else None
        src = redact(self.source)
        if age is not None and age <= self.timeout:
            size = f"{self._source_size[0]}×{self._source_size[1]}" if self._source_size else "?"
            return self.status(
                True,
                f"{src}: {size} @ {self._source_fps or 0:g} fps, "
                f"最新画面 {age:.1f} s 前 (last frame {age:.1f} s ago)",
            )
        why = self._last_error or "no frame yet"
        if age is None:
            return self.status(False, f"摄像机无画面 (no video from camera) {src}: {why}")
        return self.status(False, f"摄像机画面中断 {age:.0f} s (no new frame for {age:.0f} s) {src}: {why}")

    def close(self) -> None:
        super().close()
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(2.0, self.timeout + 1.0))

    def read(self) -> VideoFrame:
        """The next new frame; waits at most ``timeout`` seconds, then raises :class:`DeviceFault`."""
        self.start()
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while self._latest_seq <= self._delivered_seq and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    why = self._last_error or "no frame"
                    raise self.fault(
                        f"{self.timeout:g} s 内无画面 (no frame within {self.timeout:g} s) from "
                        f"{redact(self.source)}: {why}",
                    )
                self._cond.wait(remaining)
            if self._closed:
                raise self.fault(self.closed_words)
            raw, t = self._latest, self._latest_t
            self._delivered_seq = self._latest_seq
        image = _as_image(raw)
        w, h = self._req_width, self._req_height
        if w and h and (image.shape[1], image.shape[0]) != (w, h):
            image = np.asarray(cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA), dtype=np.uint8)
        return VideoFrame(image, t)

    # --- reader thread -----------------------------------------------------------------------------

    def _publish(self, raw: object, size: tuple[int, int]) -> None:
        with self._cond:
            self._latest = raw
            self._latest_seq += 1
            self._latest_t = self._clock.now()
            self._latest_mono = time.monotonic()
            self._source_size = size
            self._last_error = ""
            self._cond.notify_all()

    def _fail(self, message: str) -> None:
        with self._cond:
            self._last_error = redact(message)
            self._cond.notify_all()

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            before = self._latest_seq
            try:
                self._connects += 1
                if self.backend == "pyav":
                    self._pump_pyav()
                else:
                    self._pump_opencv()
                if self._stop.is_set():
                    break
                if self.is_file and self.loop_files and self._latest_seq > before:
                    attempt = 0
                    continue  # end of file: loop at once
                raise _StreamEnded("流已结束 (stream ended)" if self.is_live else "文件已播完 (end of file)")
            except Exception as exc:
                msg = str(exc) or type(exc).__name__
                self._fail(msg)
            if self._latest_seq > before:
                attempt = 0
            if self._stop.is_set() or (self.is_file and not self.loop_files and self._latest_seq > before):
                break
            self._stop.wait(self.backoff[min(attempt, len(self.backoff) - 1)])
            attempt += 1

    def _pump_opencv(self) -> None:
        timeout_ms = int(self.timeout * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        if isinstance(self.source, int):
            cap = cv2.VideoCapture(self.source, cv2.CAP_ANY, params)
        elif self.is_v4l2:  # e.g. /dev/v4l/by-id/usb-…-video-index0: a stable name for a USB camera
            cap = cv2.VideoCapture(self.source, cv2.CAP_V4L2, params)
        else:
            if self.is_file and not Path(self.source).exists():
                raise FileNotFoundError(f"文件不存在 (no such file): {self.source}")
            cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        try:
            if not cap.isOpened():
                raise ConnectionError(f"无法打开 (cannot open) {redact(self.source)}")
            if isinstance(self.source, int) or self.is_v4l2:
                if self._req_width and self._req_height:
                    cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._req_width)
                    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._req_height)
                if self._req_fps:
                    cap.set(cv2.CAP_PROP_FPS, self._req_fps)
            reported = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
            self._source_fps = reported if 0 < reported < 1000 else self._source_fps
            period = 1.0 / (self._req_fps or self._source_fps or 25.0)
            due = time.monotonic()
            while not self._stop.is_set():
                ok, frame = cap.read()
                if not ok or frame is None:
                    if self.is_file:
                        return
                    raise _StreamEnded(f"读帧失败 (read failed) {redact(self.source)}")
                img = np.asarray(frame, dtype=np.uint8)
                if self.is_file:  # play a file at its own rate, like a camera
                    due += period
                    self._stop.wait(max(0.0, due - time.monotonic()))
                self._publish(img, (int(img.shape[1]), int(img.shape[0])))
        finally:
            cap.release()

    def _pump_pyav(self) -> None:
        assert isinstance(self.source, str)
        options = {"rtsp_transport": "tcp"} if _scheme(self.source) in ("rtsp", "rtsps") else {}
        container = av.open(self.source, options=options, timeout=(self.timeout, self.timeout))
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            if stream.average_rate:
                self._source_fps = float(stream.average_rate)
            period = 1.0 / (self._req_fps or self._source_fps or 25.0)
            due = time.monotonic()
            for frame in container.decode(stream):
                if self._stop.is_set():
                    return
                if self.is_file:
                    due += period
                    self._stop.wait(max(0.0, due - time.monotonic()))
                self._publish(frame, (frame.width, frame.height))
        finally:
            container.close()
