"""Streaming voice activity detection with Silero VAD: audio in as it is captured, utterances out as
soon as their speaker has paused long enough.

The network is :class:`devices.vad.SileroVad` (32 ms windows at 16 kHz, its recurrent state carried
across calls); this module turns its per-window probabilities into utterances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from devices.media import Samples

# Re-exported: the rate of the whole transcription pipeline is the one the network runs at.
from devices.vad import SAMPLE_RATE as SAMPLE_RATE
from devices.vad import WINDOW, SileroVad

GAP_TOLERANCE = 0.05
"""Seconds by which audio may come early or late and still continue the stream (timestamp jitter);
a larger gap or overlap is a device that dropped out."""


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    """A window at or above this speech probability starts (or continues) speech."""
    neg_threshold: float = 0.35
    """Below this, a window counts as silence (between the two, speech goes on if it was on)."""
    min_speech: float = 0.25
    """Shorter bursts are dropped (a cough, a click)."""
    min_silence: float = 0.45
    """Pause that ends an utterance: the main part of the end-of-utterance latency."""
    short_utterance: float = 1.0
    """Speech shorter than this waits ``short_silence`` instead of ``min_silence`` before it ends:
    "对，这就是我…" stays one utterance, where a lone syllable decoded on its own is often misheard."""
    short_silence: float = 0.9
    speech_pad: float = 0.15
    """Audio kept before the first and after the last speech window."""
    max_utterance: float = 20.0
    """A longer stretch of speech is cut at its quietest recent window (Whisper's window is 30 s)."""
    energy_gate_dbfs: float | None = -55.0
    """Windows quieter than this are silence without running the model (most channels are quiet
    most of the time: this keeps nine microphones cheap). None runs the model on everything."""

    def __post_init__(self) -> None:
        if not 0 < self.neg_threshold <= self.threshold < 1:
            raise ValueError("VAD thresholds must satisfy 0 < neg_threshold <= threshold < 1")
        for name in ("min_speech", "min_silence", "speech_pad", "short_utterance", "short_silence"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not 1.0 <= self.max_utterance <= 29.0:
            raise ValueError("max_utterance must be within [1, 29] seconds")


@dataclass(frozen=True)
class SpeechSegment:
    """One utterance's audio: 16 kHz mono, ``start``/``end`` on the hearing clock."""

    source: str
    start: float
    end: float
    samples: Samples = field(repr=False)
    final: bool = True
    """False for a tentative utterance (see ``VadStream(tentative_after=...)``): its speaker has paused,
    not yet long enough to end it. If the pause goes on, the final segment has the same audio."""

    @property
    def duration(self) -> float:
        return self.end - self.start


class VadStream:
    """One source's voice detector. :meth:`feed` takes 16 kHz audio as it comes (any chunk size) and
    returns the utterances that ended in it; :meth:`flush` ends the one in progress."""

    def __init__(
        self,
        source: str,
        model: SileroVad,
        options: VadOptions = VadOptions(),
        *,
        history: float = 2.0,
        tentative_after: float | None = None,
    ) -> None:
        """``tentative_after`` (seconds of pause, at least ``speech_pad``): :meth:`feed` also returns
        a tentative segment (``final=False``) of an utterance whose speaker has paused that long,
        so its decoding can start before the pause is long enough to end it. Should the pause go
        on, the final segment has exactly the tentative one's audio, start and end."""
        if tentative_after is not None and tentative_after < 0:
            raise ValueError("tentative_after must not be negative")
        self.source = source
        self.model = model
        self.options = options
        self.tentative_after = tentative_after
        self._history = round(history * SAMPLE_RATE)
        self._reset(None)

    def _reset(self, t0: float | None) -> None:
        self._t0 = t0
        """Hearing-clock time of sample 0 of this run of contiguous audio."""
        self._n = 0
        """Samples received since ``_t0``."""
        self._state = self.model.new_state()
        """The network's state, with the received samples not yet making a full window."""
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0
        """Sample index (since ``_t0``) of ``_buffer[0]``."""
        self._processed = 0
        self._speech_start: int | None = None
        self._silence_start: int | None = None
        self._probs: list[tuple[int, float]] = []
        self._tentative: SpeechSegment | None = None

    @property
    def tentative(self) -> SpeechSegment | None:
        """The tentative segment still standing: its speaker has not spoken again, and the pause has
        not yet ended the utterance (None otherwise)."""
        return self._tentative

    @property
    def in_speech(self) -> bool:
        return self._speech_start is not None

    @property
    def time(self) -> float | None:
        """Hearing-clock time up to which audio has been received."""
        return None if self._t0 is None else self._t0 + self._n / SAMPLE_RATE

    def current(self) -> SpeechSegment | None:
        """The utterance in progress so far (for partial results), or None."""
        if self._speech_start is None or self._t0 is None:
            return None
        a = self._speech_start
        audio = self._slice(a, self._processed)
        return SpeechSegment(
            self.source, self._t0 + a / SAMPLE_RATE, self._t0 + self._processed / SAMPLE_RATE, audio
        )

    def feed(
        self, samples: Samples, t: float, *, gap_tolerance: float = GAP_TOLERANCE
    ) -> list[SpeechSegment]:
        """Add 16 kHz ``samples`` whose first one is at hearing-clock ``t``. A gap or overlap larger
        than ``gap_tolerance`` (a device that dropped out) ends the utterance in progress."""
        out: list[SpeechSegment] = []
        now = self.time
        if now is None or abs(t - now) > gap_tolerance:
            out += self.flush()
            self._reset(t)
        audio = np.asarray(samples, dtype=np.float32)
        self._n += len(audio)
        self._buffer = np.concatenate([self._buffer, audio])
        windows = self.model.take_windows(self._state, audio)
        if len(windows):
            gate = self.options.energy_gate_dbfs
            rms = np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1))
            if gate is not None and self._speech_start is None and float(rms.max()) < 10 ** (gate / 20):
                probs = np.zeros(len(windows), np.float32)
                self.model.skip(self._state, windows)
            else:
                probs = self.model.run(self._state, windows)
            for p in probs:
                segment = self._step(float(p))
                if segment is not None:
                    out.append(segment)
        self._trim()
        return out

    def flush(self) -> list[SpeechSegment]:
        """End the utterance in progress (end of stream, device gap)."""
        if self._speech_start is None or self._t0 is None:
            return []
        end = self._silence_start if self._silence_start is not None else self._processed
        segment = self._emit(self._speech_start, end)
        self._speech_start = self._silence_start = None
        self._tentative = None
        return [segment] if segment is not None else []

    # -- internals ---------------------------------------------------------------------------------

    def _step(self, p: float) -> SpeechSegment | None:
        o = self.options
        start = self._processed
        self._processed += WINDOW
        end = self._processed
        if self._speech_start is None:
            if p >= o.threshold:
                self._speech_start = start
                self._silence_start = None
                self._probs = []
            return None
        self._probs.append((start, p))
        if p >= o.threshold:
            self._silence_start = None
            self._tentative = None
        elif p < o.neg_threshold and self._silence_start is None:
            self._silence_start = start
        short = self._silence_start is not None and (
            self._silence_start - self._speech_start < o.short_utterance * SAMPLE_RATE
        )
        silence = max(o.min_silence, o.short_silence) if short else o.min_silence
        if self._silence_start is not None and end - self._silence_start >= silence * SAMPLE_RATE:
            segment = self._emit(self._speech_start, self._silence_start)
            self._speech_start = self._silence_start = None
            self._tentative = None
            return segment
        if (
            self.tentative_after is not None
            and self._silence_start is not None
            and self._tentative is None
            and end - self._silence_start >= max(self.tentative_after, o.speech_pad) * SAMPLE_RATE
        ):
            # The padded audio up to the pause is all here: what the final segment will hold.
            tentative = self._emit(self._speech_start, self._silence_start, final=False)
            if tentative is not None:
                self._tentative = tentative
                return tentative
        if end - self._speech_start >= o.max_utterance * SAMPLE_RATE:
            # Cut at the least speech-like window of the last third: most likely a breath.
            recent = [
                (s, q)
                for s, q in self._probs
                if s >= self._speech_start + (end - self._speech_start) * 2 // 3
            ]
            cut = min(recent, key=lambda sq: sq[1])[0] if recent else end
            segment = self._emit(self._speech_start, cut, pad_end=False)
            self._speech_start = cut
            self._silence_start = None
            self._tentative = None
            self._probs = [(s, q) for s, q in self._probs if s >= cut]
            return segment
        return None

    def _emit(self, a: int, b: int, *, pad_end: bool = True, final: bool = True) -> SpeechSegment | None:
        assert self._t0 is not None
        if b - a < self.options.min_speech * SAMPLE_RATE:
            return None
        pad = round(self.options.speech_pad * SAMPLE_RATE)
        a0 = max(self._buffer_start, a - pad)
        b0 = min(self._n, b + pad) if pad_end else b
        audio = self._slice(a0, b0)
        return SpeechSegment(
            self.source, self._t0 + a0 / SAMPLE_RATE, self._t0 + b0 / SAMPLE_RATE, audio, final
        )

    def _slice(self, a: int, b: int) -> Samples:
        i, j = max(0, a - self._buffer_start), max(0, b - self._buffer_start)
        return self._buffer[i:j].copy()

    def _trim(self) -> None:
        # Keep the utterance in progress plus a little history for the leading pad.
        keep_from = self._processed - self._history
        if self._speech_start is not None:
            keep_from = min(keep_from, self._speech_start - round(self.options.speech_pad * SAMPLE_RATE))
        drop = keep_from - self._buffer_start
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._buffer_start += drop
