"""Who is talking: voice activity on every audio channel (a seat microphone, a remote party's track).

Each channel gets the Silero VAD speech probability (:class:`devices.vad.SileroVad`) and its level in
dBFS against its own noise floor, once per captured chunk (100 ms from the capture loop). A channel is
*active* when the network hears speech **and** the channel is clearly above its floor; a channel that
only carries another seat's voice leaking in (crosstalk, much quieter than that seat's own microphone
at the same moment) is not.

The values are plain (:class:`ChannelActivity`): the caller names each channel's speaker (a seat id or
a remote participant's key) and maps speakers to roles and cameras. Each active channel also says when
its voice began (the first 32 ms window the network heard as speech), so a reader that counts how long
somebody has talked (the camera director's onset rule) counts from the voice, not from the chunk or the
tick that first reported it.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Self

import numpy as np

from devices.media import AudioChunk, Samples, VideoFrame
from devices.resample import StreamResampler
from devices.vad import SAMPLE_RATE as VAD_RATE

# Re-exported: whoever builds an ActivityMonitor or a ChannelDetector builds the model it is given.
from devices.vad import WINDOW, SileroVad

SILENCE_DBFS = -120.0


def level_dbfs(samples: Samples) -> float:
    """RMS level of ``samples`` in dBFS (a full-scale sine is -3 dBFS); :data:`SILENCE_DBFS` for
    digital silence."""
    if len(samples) == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    return max(SILENCE_DBFS, 20.0 * math.log10(rms)) if rms > 0 else SILENCE_DBFS


@dataclass(frozen=True, slots=True)
class ChannelActivity:
    """Voice activity of one channel over one chunk."""

    source: str
    """The capture source id (e.g. ``mic-applicant``)."""
    speaker: str
    """Whose channel it is: a seat id or a remote participant's key, as the caller named it."""
    t: float
    """Hearing-clock seconds at the start of the chunk."""
    end: float
    active: bool
    """Speech from this channel's own speaker."""
    probability: float
    """Highest Silero speech probability over the chunk's windows."""
    level_dbfs: float
    noise_floor_dbfs: float
    crosstalk: bool = False
    """Speech was heard but judged to leak in from a louder channel at the same moment."""
    onset: float | None = None
    """While active: hearing-clock seconds at which this run of activity began (the start of its first
    speech window, never before the chunk after the channel was last judged inactive)."""

    @property
    def snr_db(self) -> float:
        return self.level_dbfs - self.noise_floor_dbfs


class ChannelDetector:
    """Voice activity of one channel, chunk by chunk (chunks must be contiguous and in order)."""

    def __init__(
        self,
        source: str,
        speaker: str,
        vad: SileroVad,
        *,
        threshold: float = 0.5,
        release_threshold: float = 0.35,
        min_snr_db: float = 10.0,
        hangover_seconds: float = 0.25,
        floor_rise_db_per_second: float = 1.0,
        initial_floor_dbfs: float | None = None,
    ) -> None:
        """
        :param threshold: speech probability that starts activity.
        :param release_threshold: probability under which activity ends (hysteresis: the network's
            probability dips inside words).
        :param min_snr_db: how far above the channel's noise floor speech must be to count; rejects
            faint voices from elsewhere in the room and far-away talk on a remote party's line.
        :param hangover_seconds: activity continues this long after the last speech window, bridging
            the short gaps between syllables.
        :param floor_rise_db_per_second: the noise floor follows a quieter level at once and a louder
            one only this slowly, so speech never becomes the floor but a new air conditioner does.
        :param initial_floor_dbfs: the floor before the first chunk (default: the first chunk's level).
        """
        if not 0.0 < release_threshold <= threshold < 1.0:
            raise ValueError(
                f"need 0 < release_threshold ≤ threshold < 1, got {release_threshold}, {threshold}"
            )
        self.source = source
        self.speaker = speaker
        self.vad = vad
        self.threshold = threshold
        self.release_threshold = release_threshold
        self.min_snr_db = min_snr_db
        self.hangover_seconds = hangover_seconds
        self.floor_rise_db_per_second = floor_rise_db_per_second
        self.noise_floor_dbfs = initial_floor_dbfs
        self._state = vad.new_state()
        self._active = False
        self._last_speech: float | None = None
        self._onset: float | None = None
        # Stateful across chunks: a fresh resampler per chunk would click at every boundary.
        self._resampler = StreamResampler(VAD_RATE)

    def process(self, chunk: AudioChunk) -> ChannelActivity:
        samples = self._resampler.push(np.asarray(chunk.samples, np.float32).reshape(-1), chunk.sample_rate)
        level = level_dbfs(np.asarray(chunk.samples, np.float32))
        floor = self._update_floor(level, chunk.duration)
        loud_enough = level - floor >= self.min_snr_db
        probs = np.zeros(0, np.float32)
        first = chunk.t
        if loud_enough or self._active:
            # The windows cover the samples still pending from the last chunk and this chunk's.
            first = chunk.end - (len(self._state.pending) + len(samples)) / VAD_RATE
            probs = self.vad.probabilities(self._state, samples)
            probability = float(probs.max()) if len(probs) else 0.0
        else:
            # Too quiet to count whatever the network says: skip it (most channels are silent most
            # of the time) and start it afresh, as Silero expects after a pause.
            self._state = self.vad.new_state()
            probability = 0.0
        needed = self.release_threshold if self._active else self.threshold
        if probability >= needed and loud_enough:
            if not self._active:
                # The voice began with the first window heard as speech, not at the chunk's end.
                window = int(np.argmax(probs >= needed))
                self._onset = min(chunk.end, max(chunk.t, first + window * WINDOW / VAD_RATE))
            self._last_speech = chunk.end
            self._active = True
        elif self._active and (
            self._last_speech is None or chunk.end - self._last_speech > self.hangover_seconds
        ):
            self._active = False
        return ChannelActivity(
            source=self.source,
            speaker=self.speaker,
            t=chunk.t,
            end=chunk.end,
            active=self._active,
            probability=probability,
            level_dbfs=level,
            noise_floor_dbfs=floor,
            onset=self._onset if self._active else None,
        )

    def _update_floor(self, level: float, seconds: float) -> float:
        floor = self.noise_floor_dbfs
        if floor is None or level <= floor:
            floor = level
        else:
            floor = min(level, floor + self.floor_rise_db_per_second * seconds)
        self.noise_floor_dbfs = floor
        return floor


ActivityListener = Callable[[ChannelActivity], None]


class Speaking(frozenset[str]):
    """The speakers talking now (a frozenset of their keys, so it compares equal to a plain set), and
    in :attr:`since` since when each has been talking on the hearing clock, as detected."""

    since: Mapping[str, float]

    def __new__(cls, since: Mapping[str, float]) -> Self:
        speaking = super().__new__(cls, since)
        speaking.since = dict(since)
        return speaking

    def __reduce__(self) -> tuple[type[Self], tuple[dict[str, float]]]:
        return (type(self), (dict(self.since),))

    # Equal to any set of the same speakers, whatever the times (and said so to type checkers).
    def __eq__(self, other: object) -> bool:
        return frozenset.__eq__(self, other)

    __hash__ = frozenset.__hash__


class ActivityMonitor:
    """Voice activity of every channel, as a consumer of the capture fan-out.

    ``channels`` maps capture source ids to speakers; other sources (and every video frame) are
    ignored. The monitor is called with ``(source_id, item)`` on the fan-out's thread; readers call
    :meth:`snapshot` or :meth:`speaking` from any thread, and listeners get each update.
    """

    def __init__(
        self,
        channels: Mapping[str, str],
        vad: SileroVad | None = None,
        *,
        crosstalk_margin_db: float = 15.0,
        crosstalk_window: float = 0.25,
        listeners: Iterable[ActivityListener] = (),
        **detector_options: float,
    ) -> None:
        """
        :param crosstalk_margin_db: an active channel is crosstalk when another channel, loud on its own
            microphone, is louder by at least this much at about the same moment (a seat microphone
            hears its neighbour some 20-30 dB down; two people really talking at once are within a
            few dB of each other). Levels are compared whatever the other channel's detector says, so
            a dip in the speaker's own speech probability does not let the leak through.
        :param crosstalk_window: how close in time two channels' chunks must be to be compared.
        :param detector_options: passed to every :class:`ChannelDetector`.
        """
        self.vad = vad or SileroVad()
        self.crosstalk_margin_db = crosstalk_margin_db
        self.crosstalk_window = crosstalk_window
        self._detectors = {
            source: ChannelDetector(source, speaker, self.vad, **detector_options)
            for source, speaker in channels.items()
        }
        self._lock = threading.Lock()
        self._latest: dict[str, ChannelActivity] = {}
        self._recent: dict[str, deque[ChannelActivity]] = {}
        self._listeners = list(listeners)

    def add_channel(self, source: str, speaker: str, **detector_options: float) -> None:
        """Follow one more channel (a remote party joining)."""
        with self._lock:
            self._detectors[source] = ChannelDetector(source, speaker, self.vad, **detector_options)

    def add_listener(self, listener: ActivityListener) -> None:
        self._listeners.append(listener)

    def __call__(self, source_id: str, item: VideoFrame | AudioChunk) -> None:
        if isinstance(item, AudioChunk):
            self.process(source_id, item)

    def process(self, source_id: str, chunk: AudioChunk) -> ChannelActivity | None:
        detector = self._detectors.get(source_id)
        if detector is None:
            return None
        raw = detector.process(chunk)
        with self._lock:
            self._recent.setdefault(source_id, deque(maxlen=6)).append(raw)
            activity = self._judge_crosstalk(raw)
            if activity.active:
                previous = self._latest.get(source_id)
                if previous is not None and previous.active and previous.onset is not None:
                    onset = previous.onset
                elif raw.onset is not None and raw.onset >= raw.t:
                    onset = raw.onset
                else:
                    # The detector's run began before this chunk, as another seat's voice leaking in:
                    # where in the chunk this seat's own voice began is not known, so not before its end.
                    onset = raw.end
                activity = replace(activity, onset=onset)
            elif activity.onset is not None:
                activity = replace(activity, onset=None)
            self._latest[source_id] = activity
            # Channels are read on separate threads: one judged before this chunk arrived may turn
            # out to carry this channel's voice leaking in. Correct what readers will see.
            corrected = self._correct_others(raw)
        for update in (activity, *corrected):
            for listener in list(self._listeners):
                listener(update)
        return activity

    def _dominates(self, loud: ChannelActivity, quiet: ChannelActivity) -> bool:
        """Whether ``quiet`` can be ``loud``'s voice leaking in: ``loud`` is loud on its own channel and
        louder by the margin at about the same moment."""
        return (
            loud.source != quiet.source
            and abs(loud.t - quiet.t) <= self.crosstalk_window
            and loud.snr_db >= self._detectors[loud.source].min_snr_db
            and loud.level_dbfs - quiet.level_dbfs >= self.crosstalk_margin_db
        )

    def _judge_crosstalk(self, raw: ChannelActivity) -> ChannelActivity:
        if not raw.active:
            return raw
        previous = self._latest.get(raw.source)
        detector = self._detectors[raw.source]
        if previous is not None and previous.crosstalk and raw.snr_db < detector.min_snr_db:
            # Only the detector's hangover after leaked speech: still the neighbour's, not this seat's.
            return replace(raw, active=False, crosstalk=True)
        for source, recent in self._recent.items():
            if source != raw.source and any(self._dominates(other, raw) for other in recent):
                return replace(raw, active=False, crosstalk=True)
        return raw

    def _correct_others(self, raw: ChannelActivity) -> list[ChannelActivity]:
        corrected = []
        for source, latest in self._latest.items():
            if latest.active and self._dominates(raw, latest):
                self._latest[source] = replace(latest, active=False, crosstalk=True, onset=None)
                corrected.append(self._latest[source])
        return corrected

    def snapshot(self) -> dict[str, ChannelActivity]:
        """The latest activity of each channel, by source id."""
        with self._lock:
            return dict(self._latest)

    def speaking(self, now: float | None = None, *, max_age: float = 0.5) -> Speaking:
        """The speakers whose channel is active, judged from chunks ending no more than ``max_age``
        seconds before ``now`` (a channel that stopped delivering is not speaking), with since when
        each has been talking (:attr:`Speaking.since`)."""
        with self._lock:
            latest = list(self._latest.values())
        since: dict[str, float] = {}
        for a in latest:
            if a.active and (now is None or now - a.end <= max_age):
                onset = a.onset if a.onset is not None else a.t
                since[a.speaker] = min(onset, since.get(a.speaker, onset))
        return Speaking(since)
