"""Devices fed by pushing: a remote party's camera and microphone as the recorder sees them.

Whoever receives the remote media (a WebRTC track, see ``web/rtc.py``) calls :meth:`PushCamera.push`
and :meth:`PushMicrophone.push`; the capture loop reads them like any other camera or microphone.
Both fault (:class:`~devices.interfaces.DeviceFault`) when nothing has arrived for ``stale_seconds``,
so the recording logs the gap instead of stalling, and they resume as soon as pushes resume (after a
reconnection the same devices are fed again). :meth:`detach` says the far end is gone: reads fault at
once with the given reason until the next push.

Staleness (and the camera's frame-rate thinning) is measured on ``real_clock``, real time by default
(:class:`~devices.clock.WallClock`), not on the hearing clock: the remote party pushes in real time even
when a simulated hearing runs on a faster clock. Tests pass a manual clock instead of sleeping. Media
is stamped on the hearing clock at arrival.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from devices.base import DeviceBase, FixedPicture
from devices.clock import Clock, WallClock
from devices.interfaces import DeviceKind, DeviceStatus
from devices.media import AudioChunk, Image, Samples, VideoFrame
from devices.resample import StreamResampler


def letterbox(image: Image, width: int, height: int) -> Image:
    """``image`` scaled to fit ``width``×``height`` without distortion, centred on black bars."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return np.ascontiguousarray(image, dtype=np.uint8)
    f = min(width / w, height / h)
    nw, nh = max(1, min(width, round(w * f))), max(1, min(height, round(h * f)))
    # INTER_AREA when shrinking avoids aliasing on text and faces; bilinear is enough when enlarging.
    interpolation = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    resized = np.asarray(cv2.resize(image, (nw, nh), interpolation=interpolation), dtype=np.uint8)
    if (nw, nh) == (width, height):
        return resized
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - nw) // 2, (height - nh) // 2
    out[y : y + nh, x : x + nw] = resized
    return out


class _PushDevice(DeviceBase):
    """What a pushed camera and microphone share: the far end's liveness. A device is closed, or
    detached (with the reason), or starved after ``stale_seconds`` without a push (on ``real_clock``:
    the far end pushes in real time even when a simulated hearing runs faster), or delivering."""

    KIND: ClassVar[DeviceKind]
    MEDIA: ClassVar[tuple[str, str]]
    """What it carries, in Chinese and English, for the fault messages."""

    def __init__(self, device_id: str, clock: Clock, stale_seconds: float, real_clock: Clock | None) -> None:
        super().__init__(device_id, self.KIND)
        self._clock = clock
        self._real: Clock = real_clock if real_clock is not None else WallClock()
        self.stale_seconds = float(stale_seconds)
        self._cond = threading.Condition()
        self._detached: str | None = None
        self._since = self._real.now()
        """Real time of the last push (or of creation / detachment, before any push)."""
        self._pushed = False

    def _probe(self) -> DeviceStatus:
        with self._cond:
            now = self._real.now()
            problem = self._problem(now)
            age = now - self._since
        if problem is not None:
            return self.status(False, problem)
        return self.status(True, self._ready_detail(age))

    def close(self) -> None:
        with self._cond:
            super().close()
            self._clear()
            self._cond.notify_all()

    def detach(self, reason: str) -> None:
        """The far end is gone: reads fault at once with ``reason`` until the next push."""
        with self._cond:
            self._detached = reason
            self._clear()
            self._since = self._real.now()
            self._cond.notify_all()

    def _ready_detail(self, age: float) -> str:
        raise NotImplementedError

    def _clear(self) -> None:
        """Drop what is buffered (called with the lock held)."""
        raise NotImplementedError

    def _problem(self, now: float) -> str | None:
        if self._closed:
            return self.closed_words
        if self._detached is not None:
            return self._detached
        if now >= self._stale_at():
            idle = now - self._since
            zh, en = self.MEDIA
            what = f"no {en} from the remote party" + ("" if self._pushed else " yet")
            return f"远程{zh}中断：{idle:.0f} 秒未收到远程{zh} ({what} for {idle:.0f} s)"
        return None

    def _stale_at(self) -> float:
        # One expression for the test and the wait: comparing ``now - since`` with ``stale_seconds``
        # instead can miss by a rounding error, and a manual clock would then never get there.
        return self._since + self.stale_seconds

    def _wait(self, now: float) -> None:
        """Wait (lock held) for a push, at most until the far end counts as stale."""
        deadline = self._stale_at()
        if not self._cond.wait(deadline - now):
            # A clock that moves only when told (tests) must reach the deadline too, or the reader
            # would wait for ever; on real time this returns at once.
            self._real.sleep_until(deadline)


class PushCamera(_PushDevice, FixedPicture):
    """A :class:`~devices.interfaces.Camera` fed by :meth:`push` (see the module doc).

    Pushed pictures of any size are letterboxed to the declared ``width``×``height`` so the
    recorder's stream format stays fixed; pushes faster than ``fps`` are thinned (the recorder was
    told ``fps``, and resizing frames nobody keeps is wasted CPU).
    """

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 25.0,
        stale_seconds: float = 2.0,
        real_clock: Clock | None = None,
    ) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2 or fps <= 0 or stale_seconds <= 0:
            raise ValueError(f"{device_id}: bad push camera format {width}x{height} @ {fps} fps")
        super().__init__(device_id, clock, stale_seconds, real_clock)
        self._width = width
        self._height = height
        self._fps = float(fps)
        # Two frames absorb the jitter between arrival and the capture thread without adding latency.
        self._frames: deque[VideoFrame] = deque(maxlen=2)
        self._burst = max(2.0, self._fps / 2)
        """Up to half a second of frames may arrive at once and all be kept."""
        self._credit = self._burst
        self._last_push = self._real.now()
        self._last_t = -math.inf
        self.pushed = 0
        self.thinned = 0

    # --- Device -----------------------------------------------------------------------------------

    KIND = DeviceKind.CAMERA
    MEDIA = ("画面", "video")

    def _ready_detail(self, age: float) -> str:
        return f"远程画面 (remote video) {self._width}x{self._height}, last frame {age:.1f} s ago"

    def _clear(self) -> None:
        self._frames.clear()
        self._credit = self._burst  # the first pictures after a reconnection are always kept

    # --- feeding ----------------------------------------------------------------------------------

    def push(self, image: Image) -> None:
        """Hand in the remote party's next picture (H×W×3 BGR uint8, any size). Ignored once closed."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"{self._id}: expected an H×W×3 uint8 BGR image, got {image.dtype} {image.shape}"
            )
        real_now = self._real.now()
        with self._cond:
            if self._closed:
                return
            self.pushed += 1
            self._since = real_now
            self._pushed = True
            self._detached = None
            # A token bucket: the average rate is held to ``fps`` while frames that arrive bunched up
            # (network jitter, a decoder thread catching up on a busy box) are all kept.
            self._credit = min(self._burst, self._credit + (real_now - self._last_push) * self._fps)
            self._last_push = real_now
            if self._credit < 1.0:
                self.thinned += 1
                return
            self._credit -= 1.0
        # Resize outside the lock: it is the costly part, and read() must not wait for it.
        picture = letterbox(image, self._width, self._height)
        with self._cond:
            if self._closed:
                return
            t = max(self._clock.now(), self._last_t)
            self._last_t = t
            self._frames.append(VideoFrame(picture, t))
            self._cond.notify_all()

    # --- reading ----------------------------------------------------------------------------------

    def read(self) -> VideoFrame:
        """Block until the next pushed frame; :class:`DeviceFault` when closed, detached or starved."""
        with self._cond:
            while True:
                if self._frames and not self._closed:
                    return self._frames.popleft()
                now = self._real.now()
                problem = self._problem(now)
                if problem is not None:
                    raise self.fault(problem)
                self._wait(now)


class PushMicrophone(_PushDevice):
    """A :class:`~devices.interfaces.Microphone` fed by :meth:`push` (see the module doc).

    Pushed audio is mixed down to mono and resampled (FFmpeg's libswresample, stateful across pushes
    so chunk edges do not click) to ``sample_rate``. Samples are stamped by count from an anchor set at
    the first push after a gap (arrival time minus the pushed duration), so consecutive chunks are
    exactly contiguous while connected. When the remote audio falls behind real time by more than
    ``drift_seconds`` (a network stall), the gap is filled with silence; when it runs ahead (the burst
    after a stall), the excess is dropped, so stamps stay within ``drift_seconds`` of arrival time.
    """

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        *,
        sample_rate: int = 16000,
        stale_seconds: float = 2.0,
        drift_seconds: float = 0.5,
        max_buffer_seconds: float = 2.0,
        real_clock: Clock | None = None,
    ) -> None:
        if sample_rate <= 0 or stale_seconds <= 0 or drift_seconds <= 0 or max_buffer_seconds <= 0:
            raise ValueError(f"{device_id}: bad push microphone settings")
        super().__init__(device_id, clock, stale_seconds, real_clock)
        self._rate = int(sample_rate)
        self.drift_seconds = float(drift_seconds)
        self.max_buffer_seconds = float(max_buffer_seconds)
        self._buf: Samples = np.zeros(0, np.float32)
        self._pos: int | None = None
        """Hearing-clock sample index of ``_buf[0]``; None until the next push anchors it."""
        self._read_end = -(1 << 62)
        """Sample index after the last chunk returned: stamps never go back before it."""
        # Stateful across pushes so chunk edges do not click.
        self._resampler = StreamResampler(self._rate)
        self.silence_filled = 0.0
        """Seconds of silence inserted for stalls (for the clerk's diagnostics)."""
        self.dropped = 0.0
        """Seconds of pushed audio dropped (late bursts, a reader that fell behind)."""

    # --- Device -----------------------------------------------------------------------------------

    KIND = DeviceKind.MICROPHONE
    MEDIA = ("声音", "audio")

    @property
    def sample_rate(self) -> int:
        return self._rate

    def _ready_detail(self, age: float) -> str:
        return f"远程声音 (remote audio) {self._rate} Hz, last push {age:.1f} s ago"

    def _clear(self) -> None:
        self._reset()

    # --- feeding ----------------------------------------------------------------------------------

    def push(
        self, samples: npt.NDArray[np.float32] | npt.NDArray[np.int16], sample_rate: int, channels: int = 1
    ) -> None:
        """Hand in remote audio: float32 in [-1, 1] or int16 PCM, either 1-D (interleaved when
        ``channels`` > 1) or 2-D (samples, channels). Ignored once closed."""
        if sample_rate <= 0 or channels <= 0:
            raise ValueError(f"{self._id}: bad audio format {sample_rate} Hz × {channels}")
        a = np.asarray(samples)
        if a.dtype == np.int16:
            a = a.astype(np.float32) * np.float32(1 / 32768)
        elif a.dtype != np.float32:
            raise ValueError(f"{self._id}: audio must be float32 or int16, got {a.dtype}")
        if a.ndim == 1:
            if len(a) % channels:
                raise ValueError(f"{self._id}: {len(a)} interleaved samples is not a multiple of {channels}")
            a = a.reshape(-1, channels)
        elif a.ndim != 2 or a.shape[1] != channels:
            raise ValueError(f"{self._id}: expected (samples, {channels}) audio, got shape {a.shape}")
        mono: Samples = np.ascontiguousarray(a.mean(axis=1) if channels > 1 else a[:, 0], dtype=np.float32)
        with self._cond:
            if self._closed:
                return
            self._append(self._resampler.push(mono, sample_rate))

    def _append(self, samples: Samples) -> None:
        real_now = self._real.now()
        if real_now >= self._stale_at():
            # Back after a starvation nobody read: a new run, not seconds of made-up silence.
            self._buf = np.zeros(0, np.float32)
            self._pos = None
        self._since = real_now
        self._pushed = True
        self._detached = None
        now = round(self._clock.now() * self._rate)
        n = len(samples)
        if self._pos is None:
            # First audio after a gap: it was spoken over the span that ends now.
            self._pos = max(now - n, self._read_end)
            self._buf = samples.copy()
        else:
            end = self._pos + len(self._buf)
            drift = round(self.drift_seconds * self._rate)
            if now - (end + n) > drift:
                # A stall: fill the real time that passed with silence so stamps stay true.
                gap = now - (end + n)
                self.silence_filled += gap / self._rate
                self._buf = np.concatenate([self._buf, np.zeros(gap, np.float32), samples])
            elif end + n - now > drift:
                # Running ahead of real time (the burst after a stall): keep only what fits.
                keep = max(0, now + drift - end)
                self.dropped += (n - keep) / self._rate
                if keep:
                    self._buf = np.concatenate([self._buf, samples[:keep]])
            else:
                self._buf = np.concatenate([self._buf, samples])
        limit = round(self.max_buffer_seconds * self._rate)
        if len(self._buf) > limit:
            # Nobody is reading (the capture loop waits to retry): keep the newest audio only.
            surplus = len(self._buf) - limit
            self.dropped += surplus / self._rate
            self._buf = self._buf[surplus:]
            self._pos += surplus
        self._cond.notify_all()

    def _reset(self) -> None:
        self._buf = np.zeros(0, np.float32)
        self._pos = None
        self._resampler.reset()

    # --- reading ----------------------------------------------------------------------------------

    def read(self, seconds: float) -> AudioChunk:
        """Block until ``seconds`` of audio are available and return exactly that much;
        :class:`DeviceFault` when closed, detached or starved (what was buffered is then discarded:
        the next push starts a new, freshly stamped run)."""
        n = max(1, round(seconds * self._rate))
        with self._cond:
            while True:
                self._ensure_open()
                if self._detached is None and self._pos is not None and len(self._buf) >= n:
                    chunk = AudioChunk(self._buf[:n].copy(), self._rate, self._pos / self._rate)
                    self._buf = self._buf[n:]
                    self._pos += n
                    self._read_end = self._pos
                    return chunk
                now = self._real.now()
                problem = self._problem(now)
                if problem is not None:
                    self._reset()
                    raise self.fault(problem)
                self._wait(now)
