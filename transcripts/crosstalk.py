"""One voice picked up by two microphones produces one line, from the channel where it is loudest.

A neighbour's microphone hears a speaker attenuated and a few milliseconds late: the two channels'
loudness envelopes then rise and fall together. An utterance is crosstalk when another channel,
over the same stretch, carries a correlated envelope at a higher level; two people talking at the
same time give uncorrelated envelopes and both keep their lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from devices.media import Samples
from transcripts.audio import envelope_correlation, speech_level


@dataclass(frozen=True)
class CrosstalkOptions:
    enabled: bool = True
    min_correlation: float = 0.6
    """Envelope correlation above which two channels carry the same voice."""
    trim_margin_db: float = 10.0
    """A stretch at either end of an utterance where another channel is this much louder is that
    channel's voice leaking in (the speaker started after it, or it went on): trimmed off, so the
    line's time span covers only its own speaker."""
    wait: float = 0.3
    """Seconds an utterance waits for the other channels' audio to reach its end (capture threads
    deliver each channel's chunks at about the same time; a stalled channel is not waited for)."""

    def __post_init__(self) -> None:
        if not -1 <= self.min_correlation <= 1:
            raise ValueError("min_correlation must be within [-1, 1]")
        if self.wait < 0:
            raise ValueError("wait must not be negative")


@dataclass(frozen=True)
class CrosstalkVerdict:
    duplicate_of: str | None
    """The louder source carrying the same voice, or None when the line is this channel's own."""
    level_db: float
    correlation: float = 0.0
    other_level_db: float | None = None


def judge(
    source: str,
    samples: Samples,
    others: Mapping[str, Samples],
    rate: int,
    options: CrosstalkOptions = CrosstalkOptions(),
) -> CrosstalkVerdict:
    """Whether ``samples`` (an utterance on ``source``) is a louder channel's voice leaking in.
    ``others`` holds each other channel's audio over the same stretch."""
    level = speech_level(samples, rate)
    if not options.enabled:
        return CrosstalkVerdict(None, level)
    best: CrosstalkVerdict | None = None
    for other, audio in others.items():
        if other == source or len(audio) == 0:
            continue
        other_level = speech_level(audio, rate)
        if (other_level, other) <= (level, source):  # equal levels: the source name decides
            continue
        corr = envelope_correlation(samples, audio, rate)
        if corr >= options.min_correlation and (best is None or other_level > (best.other_level_db or -999)):
            best = CrosstalkVerdict(other, level, corr, other_level)
    return best or CrosstalkVerdict(None, level)


def own_span(
    samples: Samples,
    others: Mapping[str, Samples],
    rate: int,
    options: CrosstalkOptions = CrosstalkOptions(),
    *,
    frame_seconds: float = 0.02,
    pad_seconds: float = 0.15,
) -> tuple[int, int]:
    """The sample range of ``samples`` (a channel's own utterance) without a leaked neighbour's voice
    at its start or end: frames where another channel is ``trim_margin_db`` louder, and the quiet
    between them and the speaker's first (last) own frame, keeping ``pad_seconds`` around the
    speaker's voice. Only ends that hold leaked frames are trimmed; the middle is never touched."""
    n = len(samples)
    hop = max(1, round(frame_seconds * rate))
    frames = n // hop
    if not options.enabled or frames < 2 or not others:
        return 0, n
    own = _frame_db(samples, hop, frames)
    loudest = np.full(frames, -120.0)
    for audio in others.values():
        if len(audio) >= frames * hop:
            loudest = np.maximum(loudest, _frame_db(audio, hop, frames))
    leaked = loudest - own >= options.trim_margin_db
    voiced = (own >= own.max() - 30.0) & ~leaked
    if not voiced.any() or not leaked.any():
        return 0, n
    first, last = int(np.argmax(voiced)), frames - 1 - int(np.argmax(voiced[::-1]))
    pad = round(pad_seconds / frame_seconds)
    start = end = None
    if leaked[:first].any():
        last_leak = int(np.flatnonzero(leaked[:first])[-1])
        start = max(last_leak + 1, first - pad) * hop
    if leaked[last + 1 :].any():
        first_leak = last + 1 + int(np.flatnonzero(leaked[last + 1 :])[0])
        end = min(first_leak, last + 1 + pad) * hop
    return start or 0, end or n


def _frame_db(samples: Samples, hop: int, frames: int) -> npt.NDArray[np.float64]:
    x = np.asarray(samples[: frames * hop], dtype=np.float64).reshape(frames, hop)
    return np.asarray(10.0 * np.log10(np.mean(x * x, axis=1) + 1e-12), dtype=np.float64)
