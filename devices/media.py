"""Plain media values passed between devices, the recorder and the controller."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""An H×W×3 uint8 picture in OpenCV's BGR order."""

Samples = npt.NDArray[np.float32]
"""Mono audio samples, float32 in [-1, 1]."""


@dataclass(frozen=True, slots=True)
class VideoFrame:
    image: Image
    t: float
    """Hearing-clock seconds at capture."""

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class AudioChunk:
    samples: Samples
    sample_rate: int
    t: float
    """Hearing-clock seconds of the first sample."""

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def end(self) -> float:
        return self.t + self.duration
