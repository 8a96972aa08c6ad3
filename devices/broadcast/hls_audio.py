"""The public stream's sound, cut to the picture tick: a small jitter buffer in front of the AAC encoder.

The hearing's sound arrives in chunks of whatever size and rate the mix delivers, at uneven moments;
the segment writer (:mod:`devices.broadcast.hls_segments`) wants exactly one tick's worth of 48 kHz
samples per picture so sound and picture timestamps never drift apart. This module is that adapter
and nothing else; it holds no clock (the publisher's tick decides when to take), and changes the
sample rate with the project's one resampler (:class:`devices.resample.StreamResampler`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from devices.broadcast.hls_segments import AUDIO_RATE
from devices.media import AudioChunk, Samples
from devices.resample import StreamResampler

AUDIO_PREROLL_SECONDS = 0.12
AUDIO_MAX_BUFFER_SECONDS = 0.5


class AudioJitter:
    """Turns sound arriving in chunks of any size and rate into exactly so many samples per tick.

    It starts handing out sound once ``preroll`` seconds are buffered (silence until then) and goes
    back to buffering when it runs dry, so uneven delivery does not chop the sound; when more than
    ``max_buffer`` seconds pile up, the oldest are dropped so the sound cannot drift behind the picture.
    """

    def __init__(
        self,
        rate: int = AUDIO_RATE,
        preroll: float = AUDIO_PREROLL_SECONDS,
        max_buffer: float = AUDIO_MAX_BUFFER_SECONDS,
    ) -> None:
        self.rate = rate
        self.preroll = round(preroll * rate)
        self.max_buffer = max(self.preroll, round(max_buffer * rate))
        self._parts: deque[Samples] = deque()
        self._size = 0
        self._playing = False
        self._resampler = StreamResampler(rate)
        self.dropped = 0
        """Samples (at ``rate``) dropped because too much was buffered."""

    def push(self, chunk: AudioChunk) -> None:
        samples = np.ascontiguousarray(chunk.samples, dtype=np.float32).reshape(-1)
        if len(samples) == 0:
            return
        if chunk.sample_rate != self.rate:
            samples = self._resampler.push(samples, chunk.sample_rate)
        self._parts.append(samples)
        self._size += len(samples)
        excess = self._size - self.max_buffer
        if excess > 0:
            self._discard(excess)
            self.dropped += excess

    def _discard(self, count: int) -> None:
        while count > 0 and self._parts:
            head = self._parts[0]
            if len(head) <= count:
                self._parts.popleft()
                count -= len(head)
                self._size -= len(head)
            else:
                self._parts[0] = head[count:]
                self._size -= count
                count = 0

    def take(self, count: int) -> Samples:
        """The next ``count`` samples, silence where there is no sound (yet)."""
        out = np.zeros(count, np.float32)
        if not self._playing:
            if self._size < self.preroll:
                return out
            self._playing = True
        filled = 0
        while filled < count and self._parts:
            head = self._parts[0]
            n = min(count - filled, len(head))
            out[filled : filled + n] = head[:n]
            filled += n
            self._size -= n
            if n == len(head):
                self._parts.popleft()
            else:
                self._parts[0] = head[n:]
        if filled < count:
            self._playing = False  # ran dry: build up the preroll again
        return out
