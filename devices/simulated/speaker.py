"""The simulated loudspeaker: keeps what it played on the hearing clock, and can write it to WAV."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf

from devices.clock import Clock
from devices.interfaces import DeviceKind
from devices.media import Samples
from devices.resample import resample
from devices.simulated._common import SimulatedDevice
from devices.simulated.microphone import Clip, SimulatedMicrophone, to_mono_float32


class PlayedAudio(NamedTuple):
    started_at: float
    samples: Samples
    sample_rate: int


class SimulatedPlayback:
    """A playback on the hearing clock: :meth:`wait` sleeps on the clock until it has played out."""

    def __init__(self, clock: Clock, started_at: float, duration: float) -> None:
        self._clock = clock
        self._started_at = started_at
        self._duration = duration

    @property
    def started_at(self) -> float:
        return self._started_at

    @property
    def duration(self) -> float:
        return self._duration

    @property
    def done(self) -> bool:
        return self._clock.now() >= self._started_at + self._duration

    def wait(self) -> None:
        self._clock.sleep_until(self._started_at + self._duration)


class SimulatedSpeaker(SimulatedDevice):
    """A loudspeaker that records every :meth:`play` as :class:`PlayedAudio`.

    With ``feed_microphones=True`` what it plays is also heard by ``microphones`` (room acoustics),
    ``feed_gain_db`` quieter and marked as crosstalk (it does not make a seat "speaking").
    """

    fault_words = "扬声器无响应 (speaker not responding)"

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        *,
        microphones: Sequence[SimulatedMicrophone] = (),
        feed_microphones: bool = False,
        feed_gain_db: float = -20.0,
        fail_between: tuple[float, float] | None = None,
    ) -> None:
        super().__init__(device_id, DeviceKind.SPEAKER, clock, fail_between)
        self.microphones = list(microphones)
        self.feed_microphones = feed_microphones
        self.feed_gain_db = feed_gain_db
        self._lock = threading.Lock()
        self._played: list[PlayedAudio] = []

    def _ready_detail(self) -> str:
        return f"模拟扬声器 (simulated), {len(self._played)} played"

    def play(self, samples: Samples, sample_rate: int) -> SimulatedPlayback:
        self._ensure_open()
        if sample_rate <= 0:
            raise ValueError(f"{self._id}: sample_rate must be positive, got {sample_rate}")
        t = self._clock.now()
        self._raise_if_faulty(t)
        mono = to_mono_float32(samples).copy()
        with self._lock:
            self._played.append(PlayedAudio(t, mono, int(sample_rate)))
        if self.feed_microphones and self.microphones:
            gain = float(10 ** (self.feed_gain_db / 20))
            leaked = (mono * gain).astype(np.float32)
            for mic in self.microphones:
                mic.add_clips([Clip(t, leaked, int(sample_rate), True)])
        return SimulatedPlayback(self._clock, t, len(mono) / sample_rate)

    @property
    def played(self) -> list[PlayedAudio]:
        with self._lock:
            return list(self._played)

    def timeline(self, sample_rate: int = 24000, start: float | None = None) -> tuple[float, Samples]:
        """Everything played mixed onto one track: (hearing-clock t of its first sample, samples).

        ``start`` defaults to the first playback's start; silence fills the gaps.
        """
        played = self.played
        if not played:
            return (start or 0.0, np.zeros(0, np.float32))
        t0 = min(p.started_at for p in played) if start is None else start
        parts = [
            (round((p.started_at - t0) * sample_rate), resample(p.samples, p.sample_rate, sample_rate))
            for p in played
        ]
        parts = [(max(0, a), s[max(0, -a) :]) for a, s in parts]
        out = np.zeros(max(a + len(s) for a, s in parts), np.float32)
        for a, s in parts:
            out[a : a + len(s)] += s
        np.clip(out, -1.0, 1.0, out=out)
        return (t0, out)

    def write_wav(
        self, path: str | os.PathLike[str], sample_rate: int = 24000, start: float | None = None
    ) -> Path:
        """Write :meth:`timeline` as a mono 16-bit WAV file; returns the path."""
        _, samples = self.timeline(sample_rate, start)
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(p), samples, sample_rate, subtype="PCM_16")
        return p
