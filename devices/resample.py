"""Changing the sample rate of mono audio: the one resampler of the project (FFmpeg's libswresample,
through PyAV), for whole clips and for streams that arrive chunk by chunk."""

from __future__ import annotations

import av
import numpy as np

from devices.media import Samples

_EMPTY: Samples = np.zeros(0, np.float32)


def _frame(samples: Samples, rate: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = int(rate)
    return frame


def _joined(frames: list[av.AudioFrame]) -> Samples:
    if not frames:
        return _EMPTY.copy()
    return np.ascontiguousarray(
        np.concatenate([f.to_ndarray().reshape(-1) for f in frames]), dtype=np.float32
    )


def resample(samples: Samples, from_rate: int, to_rate: int) -> Samples:
    """A whole mono float32 clip at ``to_rate``: exactly ``round(len × to_rate / from_rate)`` samples
    (the resampler's tail flushed, padded with silence if it comes up short)."""
    mono = np.asarray(samples, dtype=np.float32)
    if mono.ndim != 1:
        raise ValueError(f"mono audio expected, got shape {mono.shape}")
    if from_rate == to_rate or len(mono) == 0:
        return mono.copy()
    resampler = av.AudioResampler(format="flt", layout="mono", rate=int(to_rate))
    result = _joined([*resampler.resample(_frame(mono, from_rate)), *resampler.resample(None)])
    expected = round(len(mono) * to_rate / from_rate)
    if len(result) < expected:
        result = np.pad(result, (0, expected - len(result)))
    return np.ascontiguousarray(result[:expected], dtype=np.float32)


class StreamResampler:
    """Resamples a stream chunk by chunk to ``to_rate``, keeping the filter's state between chunks so
    the joins are seamless. A change of the input rate starts a fresh filter."""

    def __init__(self, to_rate: int) -> None:
        self.to_rate = int(to_rate)
        self._resampler: av.AudioResampler | None = None
        self._from_rate = 0

    def push(self, samples: Samples, from_rate: int) -> Samples:
        """The resampled audio available so far (the filter holds back a few samples)."""
        if from_rate == self.to_rate:
            return np.asarray(samples, dtype=np.float32)
        if self._resampler is None or self._from_rate != from_rate:
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=self.to_rate)
            self._from_rate = int(from_rate)
        if len(samples) == 0:
            return _EMPTY.copy()
        return _joined(self._resampler.resample(_frame(samples, from_rate)))

    def reset(self) -> None:
        """Forget the filter's state (a gap in the stream: the next chunk does not join the last)."""
        self._resampler = None
        self._from_rate = 0
