"""The hearing's sound for listeners: every microphone mixed on the hearing clock.

:meth:`AudioMixer.feed` takes every microphone chunk (register it as a capture consumer: video frames
and non-audio items are ignored). Each listener :meth:`~AudioMixer.subscribe`\\ s and pulls
continuous chunks with :meth:`AudioSubscription.get`: the mix of hearing-clock span [t, t + chunk)
is made ``latency_seconds`` after t, so sources that deliver a little late still make it; a source
later than that, or silent, simply contributes nothing, and a listener hears silence rather than a
stall when nobody speaks. ``exclude`` makes a mix-minus: a remote party must not hear their own
voice come back.

The mix runs at 16 kHz by default: every microphone in the courtroom (room channels, simulated seats,
remote parties via :class:`~devices.broadcast.push.PushMicrophone`) captures at 16 kHz, the rate speech
recognition wants, so mixing there needs no per-source resampling and costs a third of a 48 kHz mix
per listener; 48 kHz would only upsample, adding no content. The WebRTC Opus encoder converts to
48 kHz once per listener anyway. Sources at another rate are resampled per chunk (a fallback).

A soft limiter keeps the sum from clipping: a gain that looks one chunk ahead, ramps down when the
peak would pass ``ceiling`` and recovers over ``release_seconds``, then a tanh knee above
``ceiling`` that never exceeds full scale (for what arrives too late for the look-ahead).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from devices.clock import Clock
from devices.media import AudioChunk, Samples, VideoFrame
from devices.resample import resample


@dataclass(slots=True)
class _Source:
    starts: list[int] = field(default_factory=list)
    chunks: list[Samples] = field(default_factory=list)


def soft_clip(x: Samples, knee: float) -> Samples:
    """Identity below ``knee``; above it a tanh curve that approaches ±1 and never exceeds it."""
    out = x.copy()
    over = np.abs(x) > knee
    if over.any():
        v = x[over]
        room = 1.0 - knee
        out[over] = np.sign(v) * (knee + room * np.tanh((np.abs(v) - knee) / room))
    return out


class AudioSubscription:
    """One listener's continuous mix (see the module doc); :meth:`get` paces on the hearing clock."""

    def __init__(self, mixer: AudioMixer, exclude: Collection[str]) -> None:
        self._mixer = mixer
        self.exclude = frozenset(exclude)
        self._pos: int | None = None
        self._gain: float | None = None
        self._closed = threading.Event()
        self.skipped = 0.0
        """Seconds of mix skipped because the listener fell behind."""

    def get(self, timeout: float | None = None) -> AudioChunk | None:
        """The next chunk, waiting until its span is ``latency`` old; None when it is not due within
        ``timeout`` seconds, or once closed."""
        m = self._mixer
        if self._closed.is_set():
            return None
        n = m.chunk_samples
        now = m.clock.now()
        due_pos = math.floor((now - m.latency_seconds) * m.sample_rate / n) * n
        if self._pos is None:
            self._pos = due_pos
        elif due_pos - self._pos > m.max_behind_seconds * m.sample_rate:
            # A listener that stalled jumps back to live rather than hearing old audio late.
            self.skipped += (due_pos - self._pos) / m.sample_rate
            self._pos = due_pos
        ready_at = (self._pos + n) / m.sample_rate + m.latency_seconds
        wait = ready_at - now
        if wait > 0:
            if timeout is not None and wait > timeout:
                self._closed.wait(timeout)
                return None
            m.clock.sleep_until(ready_at)
        if self._closed.is_set():
            return None
        both = m.mix(self._pos, self._pos + 2 * n, self.exclude)
        chunk = AudioChunk(self._limit(both[:n], both[n:]), m.sample_rate, self._pos / m.sample_rate)
        self._pos += n
        return chunk

    def _limit(self, x: Samples, ahead: Samples) -> Samples:
        """Look-ahead limiter: the gain for this chunk already allows for the next chunk's peak, so
        it has ramped down (over this chunk) before a loud onset arrives."""
        m = self._mixer
        peak = max(
            float(np.max(np.abs(x))) if len(x) else 0.0, float(np.max(np.abs(ahead))) if len(ahead) else 0.0
        )
        target = min(1.0, m.ceiling / peak) if peak > 0 else 1.0
        # Down at once (to target), up by a step per chunk (release).
        previous = target if self._gain is None else self._gain
        new = min(target, previous + m.chunk_seconds / m.release_seconds)
        self._gain = new
        if new == previous:
            return soft_clip(np.asarray(x * np.float32(new), dtype=np.float32), m.ceiling)
        # Ramp across the chunk (a gain step would click); the knee catches a source that turned up
        # too late for the look-ahead.
        gain = np.linspace(previous, new, len(x), endpoint=False, dtype=np.float32)
        return soft_clip(np.asarray(x * gain, dtype=np.float32), m.ceiling)

    def close(self) -> None:
        self._closed.set()
        self._mixer._unsubscribe(self)


class AudioMixer:
    """Mixes every fed microphone on the hearing clock for any number of listeners (module doc)."""

    def __init__(
        self,
        clock: Clock,
        *,
        sample_rate: int = 16000,
        chunk_seconds: float = 0.02,
        latency_seconds: float = 0.2,
        keep_seconds: float = 2.0,
        max_behind_seconds: float = 1.0,
        ceiling: float = 0.9,
        release_seconds: float = 0.3,
    ) -> None:
        """
        :param chunk_seconds: listener chunk size (20 ms matches an Opus frame).
        :param latency_seconds: how long after a span is spoken it is mixed: how late a source may be.
        :param keep_seconds: how much fed audio is kept beyond the latency.
        :param max_behind_seconds: a listener further behind than this jumps to live.
        :param ceiling: the limiter's target peak (linear, 0.9 ≈ -1 dBFS).
        """
        if sample_rate <= 0 or chunk_seconds <= 0 or latency_seconds < 0 or not 0 < ceiling < 1:
            raise ValueError("bad mixer settings")
        self.clock = clock
        self.sample_rate = int(sample_rate)
        self.chunk_samples = max(1, round(chunk_seconds * sample_rate))
        self.chunk_seconds = self.chunk_samples / self.sample_rate
        self.latency_seconds = float(latency_seconds)
        self.keep_seconds = float(keep_seconds)
        self.max_behind_seconds = float(max_behind_seconds)
        self.ceiling = float(ceiling)
        self.release_seconds = float(release_seconds)
        self._lock = threading.Lock()
        self._sources: dict[str, _Source] = {}
        self._subscriptions: list[AudioSubscription] = []

    def feed(self, source_id: str, item: VideoFrame | AudioChunk) -> None:
        """Take one capture item; anything but audio is ignored (usable as a capture consumer)."""
        if not isinstance(item, AudioChunk) or len(item.samples) == 0:
            return
        samples = np.asarray(item.samples, dtype=np.float32)
        if item.sample_rate != self.sample_rate:
            # Each chunk as a whole clip, not as a stream: its length stays exactly its duration, so it
            # covers the span its stamp says even when chunks arrive late or out of order.
            samples = resample(samples, item.sample_rate, self.sample_rate)
        start = round(item.t * self.sample_rate)
        horizon = round((self.clock.now() - self.latency_seconds - self.keep_seconds) * self.sample_rate)
        with self._lock:
            src = self._sources.setdefault(source_id, _Source())
            i = bisect.bisect_right(src.starts, start)
            src.starts.insert(i, start)
            src.chunks.insert(i, samples)
            # Forget what no listener can still mix.
            drop = 0
            while drop < len(src.starts) and src.starts[drop] + len(src.chunks[drop]) < horizon:
                drop += 1
            if drop:
                del src.starts[:drop], src.chunks[:drop]

    def sources(self) -> list[str]:
        with self._lock:
            return sorted(self._sources)

    def mix(self, a: int, b: int, exclude: Collection[str] = ()) -> Samples:
        """The raw sum (no limiter) of hearing-clock sample span [a, b) over sources not excluded."""
        out = np.zeros(max(0, b - a), np.float32)
        with self._lock:
            picked = [
                (src.starts[lo:hi], src.chunks[lo:hi])
                for sid, src in self._sources.items()
                if sid not in exclude
                for lo, hi in [self._overlapping(src, a, b)]
                if hi > lo
            ]
        for starts, chunks in picked:
            # Chunks of one source are laid into their own buffer (not added), so an overlap between
            # two of its chunks is not heard twice.
            own = np.zeros_like(out)
            for s, c in zip(starts, chunks, strict=True):
                s0, s1 = max(a, s), min(b, s + len(c))
                if s1 > s0:
                    own[s0 - a : s1 - a] = c[s0 - s : s1 - s]
            out += own
        return out

    @staticmethod
    def _overlapping(src: _Source, a: int, b: int) -> tuple[int, int]:
        hi = bisect.bisect_left(src.starts, b)
        lo = hi
        while lo > 0 and src.starts[lo - 1] + len(src.chunks[lo - 1]) > a:
            lo -= 1
        # Chunks are short and nearly contiguous: walking back a few is cheaper than an interval tree.
        return lo, hi

    def subscribe(self, exclude: Collection[str] = ()) -> AudioSubscription:
        """A listener's continuous mix of every source except those in ``exclude``."""
        sub = AudioSubscription(self, exclude)
        with self._lock:
            self._subscriptions.append(sub)
        return sub

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    def _unsubscribe(self, sub: AudioSubscription) -> None:
        with self._lock:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)
