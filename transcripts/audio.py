"""Small audio helpers shared by voice detection, crosstalk suppression and diarization."""

from __future__ import annotations

import numpy as np

from devices.media import Samples

FRAME_SECONDS = 0.02


def frame_dbfs(samples: Samples, rate: int, frame: float = FRAME_SECONDS) -> np.ndarray:
    """RMS level of each ``frame``-second frame in dBFS (floored at -120)."""
    hop = max(1, round(rate * frame))
    n = len(samples) // hop
    if n == 0:
        return np.zeros(0)
    x = np.asarray(samples[: n * hop], dtype=np.float64).reshape(n, hop)
    rms = np.sqrt(np.mean(x * x, axis=1))
    return np.asarray(20 * np.log10(np.maximum(rms, 1e-6)))


def speech_level(samples: Samples, rate: int) -> float:
    """Active speech level in dBFS: the mean of the louder half of the 20 ms frames (pauses inside an
    utterance do not pull it down)."""
    levels = frame_dbfs(samples, rate)
    if len(levels) == 0:
        return -120.0
    top = np.sort(levels)[len(levels) // 2 :]
    return float(np.mean(top))


def envelope_correlation(a: Samples, b: Samples, rate: int) -> float:
    """Pearson correlation of two signals' 20 ms log-energy envelopes: near 1 when one is the other
    heard through another microphone, near 0 for two different voices."""
    ea, eb = frame_dbfs(a, rate), frame_dbfs(b, rate)
    n = min(len(ea), len(eb))
    if n < 5:
        return 0.0
    ea, eb = ea[:n], eb[:n]
    if float(np.std(ea)) < 1e-6 or float(np.std(eb)) < 1e-6:
        return 0.0
    return float(np.corrcoef(ea, eb)[0, 1])
