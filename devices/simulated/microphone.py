"""Simulated seat microphones: scripted clips placed on the hearing clock, plus a room-noise floor."""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from devices.clock import Clock
from devices.interfaces import DeviceKind
from devices.media import AudioChunk, Samples
from devices.resample import resample
from devices.simulated._common import SimulatedDevice


class Clip(NamedTuple):
    """One piece of audio heard by a microphone, starting at hearing-clock ``start``.

    A plain ``(start, samples, sample_rate)`` tuple is accepted wherever a clip is. ``crosstalk`` marks
    audio that leaks in from elsewhere (a neighbour's voice, the loudspeaker): it is heard, but does
    not make the seat "speaking".
    """

    start: float
    samples: Samples
    sample_rate: int
    crosstalk: bool = False


ClipLike = Clip | tuple[float, Samples, int]


def to_mono_float32(samples: npt.ArrayLike) -> Samples:
    """Mono float32 samples from an array that may be (n,), (n, channels) or integer PCM."""
    a = np.asarray(samples)
    if np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.float32) / float(np.iinfo(a.dtype).max)
    if a.ndim == 2:
        a = a.mean(axis=1)
    elif a.ndim != 1:
        raise ValueError(f"audio must be 1-D or 2-D (samples, channels), got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float32)


def speech_spans(
    samples: Samples, sample_rate: int, *, threshold_dbfs: float = -40.0, min_pause: float = 0.6
) -> list[tuple[float, float]]:
    """Where in ``samples`` there is voice: spans (start, end) in seconds of 20 ms frames louder than
    ``threshold_dbfs``, pauses shorter than ``min_pause`` bridged."""
    hop = max(1, sample_rate // 50)
    n = len(samples) // hop
    if n == 0:
        return []
    frames = samples[: n * hop].reshape(n, hop).astype(np.float64)
    rms = np.sqrt(np.mean(frames * frames, axis=1))
    loud = np.flatnonzero(rms > 10 ** (threshold_dbfs / 20))
    if len(loud) == 0:
        return []
    max_gap = max(1, round(min_pause * 50))
    spans: list[tuple[float, float]] = []
    first = prev = int(loud[0])
    for i in loud[1:]:
        if i - prev > max_gap:
            spans.append((first * hop / sample_rate, (prev + 1) * hop / sample_rate))
            first = int(i)
        prev = int(i)
    spans.append((first * hop / sample_rate, (prev + 1) * hop / sample_rate))
    return spans


def _noise_loop(
    sample_rate: int, dbfs: float, color: Literal["pink", "white"], rng: np.random.Generator
) -> Samples:
    n = 1 << math.ceil(math.log2(sample_rate * 6))  # 6-8 s, looped; a power of two for a fast FFT
    white = rng.standard_normal(n)
    if color == "pink":
        spectrum = np.fft.rfft(white)
        f = np.arange(len(spectrum), dtype=np.float64)
        f[0] = 1.0
        noise = np.fft.irfft(spectrum / np.sqrt(f), n)
    else:
        noise = white
    noise *= 10 ** (dbfs / 20) / max(1e-12, float(np.sqrt(np.mean(noise * noise))))
    return noise.astype(np.float32)


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


class _Placed(NamedTuple):
    start: int
    """First sample index on the hearing clock (index = t × rate)."""
    samples: Samples
    crosstalk: bool


class SimulatedMicrophone(SimulatedDevice):
    """One seat's microphone channel, playing back a schedule of clips on the hearing clock.

    Clips are resampled to ``sample_rate`` once, when added. ``noise_dbfs`` is the RMS level of the
    room-noise floor (``None`` for none); the noise is a fixed few-second loop, so the same hearing
    time always sounds the same. :meth:`read` blocks until the audio has been "captured" on the
    clock; consecutive reads are contiguous (the first starts at the clock's now).
    """

    fault_words = "麦克风无信号 (microphone delivers no audio)"

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        schedule: Iterable[ClipLike] = (),
        *,
        sample_rate: int = 16000,
        noise_dbfs: float | None = -60.0,
        noise_color: Literal["pink", "white"] = "pink",
        seed: int | None = None,
        fail_between: tuple[float, float] | None = None,
        seat_id: str | None = None,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"{device_id}: sample_rate must be positive")
        super().__init__(device_id, DeviceKind.MICROPHONE, clock, fail_between)
        self._rate = int(sample_rate)
        self.seat_id = seat_id
        self._noise = (
            None
            if noise_dbfs is None
            else _noise_loop(self._rate, noise_dbfs, noise_color, np.random.default_rng(seed))
        )
        self._lock = threading.Lock()
        self._clips: list[_Placed] = []
        self._starts: list[int] = []
        self._max_len = 0
        self._spans: list[tuple[float, float]] = []
        self._pos: int | None = None
        self.add_clips(schedule)

    # --- Device -----------------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self._rate

    def _ready_detail(self) -> str:
        with self._lock:
            n = sum(1 for c in self._clips if not c.crosstalk)
        return f"模拟麦克风 (simulated) {self._rate} Hz, {n} clips"

    # --- schedule ---------------------------------------------------------------------------------

    def add_clips(self, clips: Iterable[ClipLike]) -> None:
        """Add clips to the schedule (thread-safe; also used for the loudspeaker feeding back)."""
        for clip in clips:
            c = Clip(*clip)
            samples = resample(to_mono_float32(c.samples), int(c.sample_rate), self._rate)
            placed = _Placed(round(c.start * self._rate), samples, bool(c.crosstalk))
            spans = [] if placed.crosstalk else speech_spans(samples, self._rate)
            with self._lock:
                i = bisect.bisect_right(self._starts, placed.start)
                self._starts.insert(i, placed.start)
                self._clips.insert(i, placed)
                self._max_len = max(self._max_len, len(samples))
                t0 = placed.start / self._rate
                if spans:
                    self._spans = _merge([*self._spans, *((t0 + a, t0 + b) for a, b in spans)])

    def add_clip(self, start: float, samples: Samples, sample_rate: int, *, crosstalk: bool = False) -> None:
        self.add_clips([Clip(start, samples, sample_rate, crosstalk)])

    def speaking_spans(self) -> list[tuple[float, float]]:
        """Hearing-clock spans (start, end) where this seat's own voice is heard (crosstalk excluded)."""
        with self._lock:
            return list(self._spans)

    def is_speaking(self, t: float) -> bool:
        """Whether the seat's own voice is heard at hearing-clock ``t`` (from the schedule, pauses
        shorter than 0.6 s bridged; crosstalk ignored)."""
        spans = self._spans  # replaced, never mutated, when clips are added
        i = bisect.bisect_right(spans, (t, math.inf)) - 1
        return i >= 0 and spans[i][0] <= t < spans[i][1]

    # --- audio ------------------------------------------------------------------------------------

    def samples_between(self, t0: float, t1: float) -> Samples:
        """What the microphone hears over [t0, t1), without pacing or faults."""
        return self._mix(round(t0 * self._rate), round(t1 * self._rate))

    def _mix(self, a: int, b: int) -> Samples:
        n = max(0, b - a)
        if self._noise is not None:
            out = np.take(self._noise, np.arange(a, b), mode="wrap").astype(np.float32)
        else:
            out = np.zeros(n, np.float32)
        with self._lock:
            lo = bisect.bisect_left(self._starts, a - self._max_len)
            hi = bisect.bisect_left(self._starts, b)
            clips = self._clips[lo:hi]
        for clip in clips:
            s0, s1 = max(a, clip.start), min(b, clip.start + len(clip.samples))
            if s1 > s0:
                out[s0 - a : s1 - a] += clip.samples[s0 - clip.start : s1 - clip.start]
        np.clip(out, -1.0, 1.0, out=out)
        return out

    def read(self, seconds: float) -> AudioChunk:
        """Block until ``seconds`` more audio are captured on the hearing clock; return it.

        The first read starts at the clock's now; later reads continue where the last ended. While
        faulty the audio of the span is lost: the read waits for the span, then raises
        :class:`DeviceFault`.
        """
        self._ensure_open()
        n = max(1, round(seconds * self._rate))
        with self._lock:
            if self._pos is None:
                self._pos = round(self._clock.now() * self._rate)
            a = self._pos
            b = a + n
            self._pos = b
        self._clock.sleep_until(b / self._rate)
        self._raise_if_faulty(a / self._rate, b / self._rate)
        return AudioChunk(self._mix(a, b), self._rate, a / self._rate)


def mix_crosstalk(
    schedules: Mapping[str, Sequence[ClipLike]],
    gain_db: float = -24.0,
    *,
    neighbours: Mapping[str, Sequence[str]] | None = None,
    delay: float = 0.003,
) -> dict[str, list[Clip]]:
    """New schedules where each seat's channel also hears its neighbours' voices.

    Every seat keeps its own clips and gains a copy of each neighbour's own (non-crosstalk) clips,
    attenuated by ``gain_db`` and ``delay`` seconds late, marked ``crosstalk=True`` (so they do not
    make the seat "speaking"). ``neighbours[seat]`` lists whom a seat hears; by default every other
    seat in ``schedules``.
    """
    own = {seat: [Clip(*c) for c in clips] for seat, clips in schedules.items()}
    gain = float(10 ** (gain_db / 20))
    result: dict[str, list[Clip]] = {}
    for seat, clips in own.items():
        out = list(clips)
        heard = neighbours.get(seat, ()) if neighbours is not None else [s for s in own if s != seat]
        for other in heard:
            for c in own.get(other, ()):
                if not c.crosstalk:
                    leaked = (to_mono_float32(c.samples) * gain).astype(np.float32)
                    out.append(Clip(c.start + delay, leaked, c.sample_rate, True))
        result[seat] = sorted(out, key=lambda c: c.start)
    return result
