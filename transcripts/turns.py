"""Speaker turns from labelled embedding windows, and the speech regions they are cut from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from devices.media import Samples
from devices.vad import SileroVad
from transcripts.vad import SAMPLE_RATE, SpeechSegment, VadOptions, VadStream


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


REGION_OPTIONS = VadOptions(min_silence=0.3, short_silence=0.3, speech_pad=0.05)
"""Shorter pauses than the transcript's: a turn change on a shared channel is often a short pause."""


def speech_regions(
    samples: Samples, vad: SileroVad, options: VadOptions = REGION_OPTIONS
) -> list[tuple[float, float]]:
    """The speech of a recording (16 kHz) as (start, end) seconds, by Silero VAD."""
    stream = VadStream("diarization", vad, options)
    out: list[SpeechSegment] = []
    step = SAMPLE_RATE // 10
    for a in range(0, len(samples), step):
        out += stream.feed(samples[a : a + step], a / SAMPLE_RATE)
    out += stream.flush()
    return [(s.start, s.end) for s in out]


def smooth(labels: list[int], width: int = 3) -> list[int]:
    """Majority vote over ``width`` neighbouring windows: one odd window does not make a turn."""
    if len(labels) < width:
        return labels
    half = width // 2
    out = []
    for i in range(len(labels)):
        around = labels[max(0, i - half) : i + half + 1]
        out.append(max(set(around), key=around.count))
    return out


def turns_between(
    centres: npt.NDArray[np.float64], labels: Sequence[str], start: float, end: float
) -> list[Turn]:
    """Turns over [start, end] from labelled window centres (relative to ``start``): a change of
    label falls half-way between two centres."""
    turns: list[Turn] = []
    for i, label in enumerate(labels):
        t0 = start if i == 0 else start + (centres[i - 1] + centres[i]) / 2
        t1 = end if i == len(labels) - 1 else start + (centres[i] + centres[i + 1]) / 2
        if turns and turns[-1].speaker == label:
            turns[-1] = Turn(turns[-1].start, t1, label)
        else:
            turns.append(Turn(t0, t1, label))
    return turns
