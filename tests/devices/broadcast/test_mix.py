"""The room mix: sources summed on the hearing clock, mix-minus, a limiter instead of clipping,
silence (never a stall) when nobody feeds, and real-time pacing."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from devices.broadcast.mix import AudioMixer, soft_clip
from devices.clock import WallClock
from devices.media import AudioChunk, Samples, VideoFrame
from tests.devices.clocks import ManualClock

RATE = 16000


def tone(freq: float, seconds: float, amplitude: float, rate: int = RATE) -> Samples:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def feed_chunks(mixer: AudioMixer, source: str, t0: float, samples: Samples, rate: int = RATE) -> None:
    """Feed like a capture consumer: 100 ms chunks on the hearing clock."""
    n = rate // 10
    for i in range(0, len(samples), n):
        mixer.feed(source, AudioChunk(samples[i : i + n], rate, t0 + i / rate))


def spectrum_peaks(samples: Samples, rate: int = RATE) -> dict[int, float]:
    """Magnitude (normalised to a sine's amplitude) at each whole frequency."""
    spectrum = np.abs(np.fft.rfft(samples)) * 2 / len(samples)
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return {round(f): float(m) for f, m in zip(freqs, spectrum, strict=True)}


def collect(sub_get: object, seconds: float) -> tuple[list[AudioChunk], Samples]:
    assert callable(sub_get)
    chunks: list[AudioChunk] = []
    while sum(len(c.samples) for c in chunks) < seconds * RATE:
        chunk = sub_get(1.0)
        assert chunk is not None
        chunks.append(chunk)
    return chunks, np.concatenate([c.samples for c in chunks])


def test_mix_sums_sources_and_mix_minus_leaves_out_the_listeners_own_voice() -> None:
    clock = ManualClock(50.0)
    mixer = AudioMixer(clock)
    everyone = mixer.subscribe()
    minus_a = mixer.subscribe(exclude={"mic-a"})
    start = 50.0 - mixer.latency_seconds  # the first chunk a new listener hears
    feed_chunks(mixer, "mic-a", start - 0.5, tone(500, 3.0, 0.3))
    feed_chunks(mixer, "mic-b", start - 0.5, tone(1200, 3.0, 0.2))
    mixer.feed("cam-a", VideoFrame(np.zeros((4, 4, 3), np.uint8), start))  # ignored
    assert mixer.sources() == ["mic-a", "mic-b"]

    chunks, both = collect(everyone.get, 1.0)
    assert chunks[0].t == pytest.approx(start, abs=mixer.chunk_seconds)
    for a, b in itertools.pairwise(chunks):
        assert b.t == pytest.approx(a.end) and len(b.samples) == 320
    peaks = spectrum_peaks(both)
    assert peaks[500] == pytest.approx(0.3, abs=0.01) and peaks[1200] == pytest.approx(0.2, abs=0.01)

    _, without_a = collect(minus_a.get, 1.0)
    peaks = spectrum_peaks(without_a)
    assert peaks[500] < 0.001 and peaks[1200] == pytest.approx(0.2, abs=0.01)
    assert mixer.listeners == 2
    everyone.close()
    assert everyone.get(0.1) is None and mixer.listeners == 1


def test_loud_sources_are_limited_not_clipped() -> None:
    clock = ManualClock(10.0)
    mixer = AudioMixer(clock)
    sub = mixer.subscribe()
    start = 10.0 - mixer.latency_seconds
    # Two full-scale voices in phase: a raw sum would peak at 1.8.
    feed_chunks(mixer, "mic-a", start, tone(300, 2.0, 0.9))
    feed_chunks(mixer, "mic-b", start, tone(300, 2.0, 0.9))
    assert float(np.max(np.abs(mixer.mix(round(start * RATE), round((start + 1) * RATE))))) > 1.7
    _, out = collect(sub.get, 2.0)
    assert float(np.max(np.abs(out))) < 1.0
    assert int(np.sum(np.abs(out) > 0.99)) == 0  # no flat-topped (clipped) samples
    settled = out[RATE // 2 :]
    assert float(np.max(np.abs(settled))) == pytest.approx(mixer.ceiling, abs=0.02)
    # Limited by gain, not distorted: the tone stays a clean sine (little energy at harmonics).
    peaks = spectrum_peaks(settled)
    assert peaks[900] < 0.02 * peaks[300]


def test_soft_clip_is_identity_below_the_knee_and_bounded() -> None:
    x = np.linspace(-3, 3, 601, dtype=np.float32)
    y = soft_clip(x, 0.9)
    assert np.all(np.abs(y) <= 1.0)
    assert np.all(np.abs(y[np.abs(x) < 1.5]) < 1.0)
    small = np.abs(x) <= 0.9
    assert np.array_equal(y[small], x[small])
    assert np.all(np.diff(y) >= 0)  # monotonic: no fold-over


def test_silence_when_nobody_feeds_and_missing_sources_do_not_stall() -> None:
    clock = ManualClock(3.0)
    mixer = AudioMixer(clock)
    sub = mixer.subscribe()
    chunks, audio = collect(sub.get, 0.5)
    assert not audio.any() and len(audio) == 8000
    # A source that shows up late (after its span was mixed) is not heard, and nothing breaks.
    mixer.feed("mic-late", AudioChunk(np.full(1600, 0.5, np.float32), RATE, chunks[0].t))
    after, audio = collect(sub.get, 0.2)
    assert not audio.any() and after[0].t == pytest.approx(chunks[-1].end)


def test_other_rates_are_resampled_and_a_stalled_listener_jumps_to_live() -> None:
    clock = ManualClock(20.0)
    mixer = AudioMixer(clock, max_behind_seconds=0.5)
    sub = mixer.subscribe()
    first = sub.get(1.0)
    assert first is not None
    feed_chunks(mixer, "mic-48k", first.end, tone(700, 1.0, 0.4, rate=48000), rate=48000)
    _, audio = collect(sub.get, 0.8)
    assert spectrum_peaks(audio[1600:])[700] == pytest.approx(0.4, abs=0.03)
    clock.t += 3.0  # the listener did not ask for 3 s
    chunk = sub.get(1.0)
    assert chunk is not None and chunk.t >= clock.t - mixer.latency_seconds - 0.05
    assert sub.skipped > 2.0


def test_get_paces_on_the_real_clock() -> None:
    mixer = AudioMixer(WallClock())
    sub = mixer.subscribe()
    sub.get(1.0)
    t0 = time.monotonic()
    for _ in range(15):
        assert sub.get(1.0) is not None
    elapsed = time.monotonic() - t0
    assert 0.25 <= elapsed < 0.6  # 15 × 20 ms
    sub.close()
