"""One voice picked up by two microphones produces one line, from the channel where it is loudest.

A neighbour's microphone hears a speaker attenuated and a few milliseconds late: the two channels'
loudness envelopes then rise and fall together. An utterance is crosstalk when another channel,
over the same stretch, carries a correlated envelope at a higher level; two people talking at the
same time give uncorrelated envelopes and both keep their lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from devices.media import Samples
from transcripts.audio import envelope_correlation, speech_level


@dataclass(frozen=True)
class CrosstalkOptions:
    enabled: bool = True
    min_correlation: float = 0.6
    """Envelope correlation above which two channels carry the same voice."""
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
