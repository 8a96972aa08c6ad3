"""Who is talking: voice activity on every audio channel (a seat microphone, a remote party's track).

Each channel gets the Silero VAD speech probability (:class:`devices.vad.SileroVad`) and its level in
dBFS against its own noise floor, once per captured chunk (100 ms from the capture loop). A channel is
*active* when the network hears speech **and** the channel is clearly above its floor; a channel that
only carries other seats' voices leaking in (crosstalk) is not. How much each seat leaks into each
other one is measured as the hearing goes (:class:`RoomLeak`, from moments when one of them speaks and
the other's channel only follows that voice), so a close neighbour 10 dB down is told from a second
person talking, where one fixed margin would take one for the other.

The values are plain (:class:`ChannelActivity`): the caller names each channel's speaker (a seat id or
a remote participant's key) and maps speakers to roles and cameras. Each active channel also says when
its voice began (the first 32 ms window the network heard as speech), so a reader that counts how long
somebody has talked (the camera director's onset rule) counts from the voice, not from the chunk or the
tick that first reported it, and until when the voice itself was last heard (``voiced_until``; the
detector's hangover after it is no voice, and a cough is voiced only for an instant).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
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


FRAME_SECONDS = 0.01
"""The envelope's frames: short enough to follow syllables, long enough for a level."""


def envelope_dbfs(samples: Samples, sample_rate: int) -> tuple[float, ...]:
    """Levels (dBFS) of consecutive 10 ms frames of ``samples``: the chunk's envelope."""
    hop = max(1, round(FRAME_SECONDS * sample_rate))
    n = len(samples) // hop
    if n == 0:
        return ()
    frames = np.asarray(samples[: n * hop], np.float64).reshape(n, hop)
    power = np.maximum(np.mean(frames * frames, axis=1), 10 ** (SILENCE_DBFS / 10))
    return tuple(float(x) for x in 10.0 * np.log10(power))


def follows(quiet: Sequence[float], loud: Sequence[float], *, max_lag: int = 3) -> tuple[float, float] | None:
    """How closely the envelope ``quiet`` follows ``loud`` a few frames late (a leak is the same voice,
    attenuated and 0-30 ms late): the spread (dB) and the mean of their difference at the best lag,
    over the frames where ``loud`` is within 12 dB of its peak; None with too few such frames."""
    if not quiet or not loud:
        return None
    peak = max(loud)
    best: tuple[float, float] | None = None
    for lag in range(max_lag + 1):
        pairs = [(q, v) for q, v in zip(quiet[lag:], loud, strict=False) if v >= peak - 12.0]
        if len(pairs) < 5:
            continue
        diff = np.array([q - v for q, v in pairs])
        spread = float(np.std(diff))
        if best is None or spread < best[0]:
            best = (spread, float(np.mean(diff)))
    return best


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
    envelope: tuple[float, ...] = ()
    """Levels (dBFS) of the chunk's 10 ms frames (:func:`envelope_dbfs`)."""
    onset: float | None = None
    """While active: hearing-clock seconds at which this run of activity began (the start of its first
    speech window, never before the chunk after the channel was last judged inactive)."""
    voiced_until: float | None = None
    """While active: hearing-clock seconds at which the network last heard speech in this run (the end
    of its last speech window; the hangover after it is not voice)."""

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
        self._voiced_until: float | None = None
        # Stateful across chunks: a fresh resampler per chunk would click at every boundary.
        self._resampler = StreamResampler(VAD_RATE)

    def process(self, chunk: AudioChunk) -> ChannelActivity:
        samples = self._resampler.push(np.asarray(chunk.samples, np.float32).reshape(-1), chunk.sample_rate)
        level = level_dbfs(np.asarray(chunk.samples, np.float32))
        envelope = envelope_dbfs(np.asarray(chunk.samples, np.float32).reshape(-1), chunk.sample_rate)
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
            last = len(probs) - 1 - int(np.argmax(probs[::-1] >= needed))
            self._voiced_until = min(chunk.end, first + (last + 1) * WINDOW / VAD_RATE)
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
            envelope=envelope,
            onset=self._onset if self._active else None,
            voiced_until=self._voiced_until if self._active else None,
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

REESTIMATE_EVERY = 5
LEAK_MEMORY = 0.1
"""A voice leaking through the room lingers on the other microphones (its echo) for about this long,"""
ECHO_DROP_DB = 3.0
"""... this much below the voice itself."""
CORRELATION_SECONDS = 0.5
CORRELATED = 0.6
"""Envelopes correlated this much over half a second: one voice and its echo-smeared leak (two people
talking at once rarely are)."""
ECHO_GAP_DB = 3.0
"""A channel following a voice this much louder is that voice leaking in (not the same word said
at once: two voices never follow each other to a dB for a tenth of a second)."""


class Speaking(frozenset[str]):
    """The speakers talking now (a frozenset of their keys, so it compares equal to a plain set), in
    :attr:`since` since when each has been talking on the hearing clock, as detected, and in
    :attr:`voiced` until when their voice was last heard (the detector's hangover after it left out)."""

    since: Mapping[str, float]
    voiced: Mapping[str, float]

    def __new__(cls, since: Mapping[str, float], voiced: Mapping[str, float] | None = None) -> Self:
        speaking = super().__new__(cls, since)
        speaking.since = dict(since)
        speaking.voiced = dict(voiced or {})
        return speaking

    def __reduce__(self) -> tuple[type[Self], tuple[dict[str, float], dict[str, float]]]:
        return (type(self), (dict(self.since), dict(self.voiced)))

    # Equal to any set of the same speakers, whatever the times (and said so to type checkers).
    def __eq__(self, other: object) -> bool:
        return frozenset.__eq__(self, other)

    __hash__ = frozenset.__hash__


class RoomLeak:
    """How loud each channel's speaker is on every other channel, measured during the hearing.

    A seat microphone hears its neighbours some 10-30 dB down, by how far away they sit and which way
    the microphone points: one fixed margin either lets a close neighbour's voice through or hides a
    quieter second speaker. So every pair is measured: whenever ``src`` clearly speaks (its level
    ``learn_snr_db`` above its floor) and is the louder of the two by ``learn_gap_db``, the level of
    ``dst`` minus that of ``src`` over the same chunk is a sample of the leak ``src`` → ``dst``, unless
    the person at ``dst`` talks too (the monitor only offers moments when ``dst`` is not heard as its
    own speaker). Leaked samples agree within a dB or two (one voice, attenuated and a few ms late)
    while a second voice scatters them, so the estimate is the median of the densest
    ``cluster_db``-wide group of the recent samples. A leak lost in ``dst``'s noise is bounded instead:
    the floor plus ``learn_audible_db`` less the level of ``src``.

    Until a pair is measured, the leaks measured elsewhere in the room (their upper quartile) stand in
    for it, and before anything is measured, ``-assumed_db``. Not thread-safe: the monitor's lock.
    """

    def __init__(
        self,
        assumed_db: float = 15.0,
        *,
        learn_snr_db: float = 20.0,
        learn_gap_db: float = 3.0,
        learn_audible_db: float = 6.0,
        follow_db: float = 1.5,
        cluster_db: float = 3.0,
        min_samples: int = 8,
        keep: int = 200,
    ) -> None:
        self.assumed_db = assumed_db
        self.learn_snr_db = learn_snr_db
        self.learn_gap_db = learn_gap_db
        self.learn_audible_db = learn_audible_db
        self.follow_db = follow_db
        self.cluster_db = cluster_db
        self.min_samples = min_samples
        self._heard: dict[tuple[str, str], deque[float]] = {}
        self._bounds: dict[tuple[str, str], deque[float]] = {}
        self._keep = keep
        self._estimates: dict[tuple[str, str], float] = {}
        self._stale: set[tuple[str, str]] = set()
        self._fresh: dict[tuple[str, str], int] = {}
        self._room: float | None = None

    def observe(
        self,
        src: ChannelActivity,
        dst: ChannelActivity,
        *,
        reference_dbfs: float | None = None,
        correlated: bool = False,
    ) -> None:
        """One chunk of ``src``, heard as its own speaker, and the chunk of ``dst`` over the same
        moment. ``reference_dbfs``: the level of ``src``'s voice the leak is reckoned from (default
        its chunk's; the monitor counts the echo of what was said just before); ``correlated``: ``dst``
        was not heard as its own speaker, and its envelope has gone up and down with ``src``'s over
        the last half second (the leak through a room's echo)."""
        level = src.level_dbfs if reference_dbfs is None else reference_dbfs
        if src.snr_db < self.learn_snr_db or level - dst.level_dbfs < self.learn_gap_db:
            return
        pair = (src.source, dst.source)
        if dst.snr_db >= self.learn_audible_db:
            # Only when ``dst`` is ``src``'s voice: a second voice on ``dst`` would make the room seem
            # to leak more than it does, and hide that voice next time. Syllable by syllable for a
            # direct leak; through the room's echo the envelope is smeared, and then it must at least
            # have followed ``src``'s for a while.
            match = follows(dst.envelope, src.envelope)
            if not correlated and (match is None or match[0] > self.follow_db):
                return
            self._heard.setdefault(pair, deque(maxlen=self._keep)).append(dst.level_dbfs - level)
        else:
            bound = dst.noise_floor_dbfs + self.learn_audible_db - level
            self._bounds.setdefault(pair, deque(maxlen=self._keep)).append(bound)
        # Estimated again every few samples once known (a hundred of them a second in a busy room).
        self._fresh[pair] = self._fresh.get(pair, 0) + 1
        if pair not in self._estimates or self._fresh[pair] >= REESTIMATE_EVERY:
            self._fresh[pair] = 0
            self._stale.add(pair)

    def leak_db(self, src: str, dst: str) -> float:
        """The level of ``src``'s speaker on ``dst`` relative to ``src`` (negative dB)."""
        self._refresh()
        measured = self._estimates.get((src, dst))
        if measured is not None:
            return measured
        return self._room if self._room is not None else -self.assumed_db

    def measured(self) -> dict[tuple[str, str], float]:
        """The pairs measured so far: (src, dst) → leak dB."""
        self._refresh()
        return dict(self._estimates)

    def _refresh(self) -> None:
        if not self._stale:
            return
        for pair in self._stale:
            estimate = self._estimate(self._heard.get(pair, ()), self._bounds.get(pair, ()))
            if estimate is None:
                self._estimates.pop(pair, None)
            else:
                self._estimates[pair] = estimate
        self._stale.clear()
        values = sorted(self._estimates.values())
        self._room = float(np.percentile(values, 75)) if values else None

    def _estimate(self, heard: Iterable[float], bounds: Iterable[float]) -> float | None:
        samples = sorted(heard)
        limits = sorted(bounds)
        # Mostly lost in the noise: the leak is below what the floor lets one measure.
        if len(limits) >= self.min_samples and len(limits) > 2 * len(samples):
            return limits[len(limits) // 2]
        best, top, lo = 0, 0.0, 0
        for hi, value in enumerate(samples):
            while value - samples[lo] > self.cluster_db:
                lo += 1
            if hi - lo + 1 > best:
                best, top = hi - lo + 1, value
        if best >= max(self.min_samples, 0.3 * len(samples)):
            group = [v for v in samples if top - self.cluster_db <= v <= top]
            return group[len(group) // 2]
        if len(limits) >= self.min_samples:
            return limits[len(limits) // 2]
        return None


class ActivityMonitor:
    """Voice activity of every channel, as a consumer of the capture fan-out.

    ``channels`` maps capture source ids to speakers; other sources (and every video frame) are
    ignored. The monitor is called with ``(source_id, item)`` on the fan-out's thread; readers call
    :meth:`snapshot` or :meth:`speaking` from any thread, and listeners get each update.

    A channel whose voice is explained by the others' voices leaking in (:class:`RoomLeak`, measured
    as the hearing goes) is not active: it is *crosstalk*.
    """

    def __init__(
        self,
        channels: Mapping[str, str],
        vad: SileroVad | None = None,
        *,
        assumed_leak_db: float = 15.0,
        own_voice_db: float = 6.0,
        listeners: Iterable[ActivityListener] = (),
        clock: Callable[[], float] | None = None,
        **detector_options: float,
    ) -> None:
        """
        :param assumed_leak_db: how far down another seat's voice is taken to be on a microphone until
            the room has been measured (the first seconds a seat speaks); pessimistic on purpose.
        :param own_voice_db: an active channel is its own speaker's voice only when it is at least this
            much louder than the leak the other channels' voices predict for it over the same moment
            (their levels then, through the room's measured leak): a leak sits at its measured level,
            a second voice adds its own. Levels are compared whatever the other channel's detector
            says, so a dip in the speaker's own speech probability does not let the leak through.
        :param clock: the clock :meth:`speaking` is asked on (the hearing clock): when each chunk
            arrives is read on it, to tell a channel that delivers late from one that stopped. Without
            it a chunk counts as arriving at its end.
        :param detector_options: passed to every :class:`ChannelDetector`.
        """
        self.vad = vad or SileroVad()
        self.leak = RoomLeak(assumed_leak_db)
        self.own_voice_db = own_voice_db
        self._detectors = {
            source: ChannelDetector(source, speaker, self.vad, **detector_options)
            for source, speaker in channels.items()
        }
        self._lock = threading.Lock()
        self._latest: dict[str, ChannelActivity] = {}
        self._received: dict[str, float] = {}
        self._onset_lag: dict[str, float] = {}
        self._clock = clock
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
        received = self._clock() if self._clock is not None else chunk.end
        with self._lock:
            self._received[source_id] = received
            activity = self._judge_crosstalk(raw)
            if activity.active:
                previous = self._latest.get(source_id)
                if previous is not None and previous.active and previous.onset is not None:
                    onset = previous.onset
                else:
                    # How late the turn's first audio arrived: its start is reckoned that much later
                    # for the whole turn (see :meth:`speaking`), not by a delay that grows as it goes.
                    self._onset_lag[source_id] = max(0.0, received - raw.end)
                    # A run begun before this chunk was another seat's voice leaking in: where in the
                    # chunk this seat's own voice began is not known, so not before its end.
                    onset = raw.onset if raw.onset is not None and raw.onset >= raw.t else raw.end
                activity = replace(activity, onset=onset)
            elif activity.onset is not None or activity.voiced_until is not None:
                activity = replace(activity, onset=None, voiced_until=None)
            self._latest[source_id] = activity
            self._recent.setdefault(source_id, deque(maxlen=6)).append(activity)
            # Channels are read on separate threads: one judged before this chunk arrived may turn
            # out to carry this channel's voice leaking in. Correct what readers will see.
            corrected = self._correct_others(raw)
            self._measure(activity)
        for update in (activity, *corrected):
            for listener in list(self._listeners):
                listener(update)
        return activity

    def _measure(self, judged: ChannelActivity) -> None:
        """Leak samples between this chunk and the other channels' chunks of the same moment (each
        pair and moment once: by whichever of the two chunks arrives second). Only a moment when one
        of the two is known to speak (active, its own voice) and the other is not tells the leak: a
        second voice on the quiet channel would make the room seem to leak more than it does."""
        half = (judged.end - judged.t) / 2
        for source, recent in self._recent.items():
            if source == judged.source:
                continue
            same = next((o for o in reversed(recent) if abs(o.t - judged.t) <= half), None)
            if same is None:
                continue
            for loud, quiet in ((judged, same), (same, judged)):
                if loud.active:
                    together = not quiet.active and self._correlated(quiet.source, loud.source, judged.t)
                    voice = self._voice_over(loud.source, quiet.t, quiet.end)
                    level = 10 * math.log10(voice) if voice > 0 else loud.level_dbfs
                    self.leak.observe(loud, quiet, reference_dbfs=level, correlated=together)

    def _correlated(self, quiet: str, loud: str, t: float) -> bool:
        """Whether ``quiet``'s envelope has followed ``loud``'s over the last half second up to the
        chunk at ``t`` (correlation of their levels at the best lag of 0-30 ms)."""
        span = CORRELATION_SECONDS
        q = [x for c in self._recent.get(quiet, ()) if t - span < c.t <= t + 1e-9 for x in c.envelope]
        v = [x for c in self._recent.get(loud, ()) if t - span < c.t <= t + 1e-9 for x in c.envelope]
        if len(q) != len(v) or len(v) < 20:
            return False
        quiet_env, loud_env = np.array(q), np.array(v)
        for lag in range(4):
            a, b = quiet_env[lag:], loud_env[: len(loud_env) - lag]
            voiced = b >= b.max() - 20.0
            varied = voiced.sum() >= 10 and np.std(a[voiced]) > 0 and np.std(b[voiced]) > 0
            if varied and float(np.corrcoef(a[voiced], b[voiced])[0, 1]) >= CORRELATED:
                return True
        return False

    def _voice_over(self, source: str, t0: float, t1: float) -> float:
        """The power of ``source``'s own voice as it sounds in the room over [t0, t1): its chunks
        weighted by their overlap, or what it said just before if that was louder (its echo lingers,
        :data:`LEAK_MEMORY`). Chunks not judged its own voice count as silence (a leak's leak is no
        voice); 0 where the span is not known."""
        power = covered = before = 0.0
        for chunk in self._recent.get(source, ()):
            overlap = min(t1, chunk.end) - max(t0, chunk.t)
            if overlap > 0:
                covered += overlap
                if chunk.active:
                    power += overlap * 10 ** (chunk.level_dbfs / 10)
            elif chunk.active and t0 - LEAK_MEMORY < chunk.end <= t0 + 1e-9:
                before = max(before, 10 ** ((chunk.level_dbfs - ECHO_DROP_DB) / 10))
        if covered < 0.5 * (t1 - t0):
            return 0.0
        return max(power / covered, before)

    def _predicted_leak(self, quiet: ChannelActivity) -> float:
        """How loud the other channels' voices are on ``quiet``'s channel over its chunk (dBFS), from
        their levels over the same moment and the room's measured leak."""
        power = 0.0
        for source in self._recent:
            if source != quiet.source:
                voice = self._voice_over(source, quiet.t, quiet.end)
                if voice > 0:
                    power += voice * 10 ** (self.leak.leak_db(source, quiet.source) / 10)
        return 10 * math.log10(power) if power > 0 else -math.inf

    def _explained(self, quiet: ChannelActivity) -> bool:
        """Whether ``quiet`` can be only the other channels' voices leaking in: no louder than the
        leak the room predicts for it, or following a louder voice syllable by syllable. A channel
        already heard as its own speaker keeps its voice down to half the margin: two people talking
        at once go up and down syllable by syllable, and one of them must not flicker out on every
        quiet one."""
        previous = self._latest.get(quiet.source)
        holding = previous is not None and previous.active and previous.t < quiet.t
        margin = self.own_voice_db / 2 if holding else self.own_voice_db
        return quiet.level_dbfs < self._predicted_leak(quiet) + margin or self._echoes(quiet)

    def _echoes(self, quiet: ChannelActivity) -> bool:
        """Whether ``quiet``'s envelope is a louder voice's over the same chunk, a few ms late: the
        leak itself, whatever the room was measured to be (a real room's echo smears the envelope,
        and then only the levels tell)."""
        half = (quiet.end - quiet.t) / 2
        for source, recent in self._recent.items():
            if source == quiet.source:
                continue
            loud = next((o for o in reversed(recent) if abs(o.t - quiet.t) <= half), None)
            if loud is None or not loud.active or loud.level_dbfs - quiet.level_dbfs < ECHO_GAP_DB:
                continue
            match = follows(quiet.envelope, loud.envelope)
            if match is not None and match[0] <= self.leak.follow_db:
                return True
        return False

    def _judge_crosstalk(self, raw: ChannelActivity) -> ChannelActivity:
        if not raw.active:
            return raw
        previous = self._latest.get(raw.source)
        detector = self._detectors[raw.source]
        if previous is not None and previous.crosstalk and raw.snr_db < detector.min_snr_db:
            # Only the detector's hangover after leaked speech: still the neighbour's, not this seat's.
            return replace(raw, active=False, crosstalk=True)
        if self._explained(raw):
            return replace(raw, active=False, crosstalk=True)
        return raw

    def _correct_others(self, raw: ChannelActivity) -> list[ChannelActivity]:
        corrected = []
        for source, latest in self._latest.items():
            overlaps = latest.t < raw.end and raw.t < latest.end
            if source != raw.source and latest.active and overlaps and self._explained(latest):
                fixed = replace(latest, active=False, crosstalk=True, onset=None, voiced_until=None)
                self._latest[source] = fixed
                recent = self._recent.get(source)
                for i, item in enumerate(recent or ()):
                    if recent is not None and item.t == latest.t:
                        recent[i] = fixed
                corrected.append(fixed)
        return corrected

    def snapshot(self) -> dict[str, ChannelActivity]:
        """The latest activity of each channel, by source id."""
        with self._lock:
            return dict(self._latest)

    def speaking(self, now: float | None = None, *, max_age: float = 0.5, max_lag: float = 5.0) -> Speaking:
        """The speakers whose channel is active, with since when each has been talking
        (:attr:`Speaking.since`) and until when their voice was last heard (:attr:`Speaking.voiced`).

        A channel from which no chunk has arrived for ``max_age`` seconds before ``now`` has stopped
        delivering and is not speaking. One that delivers, but late (a busy machine: capture and
        detection behind the clock), is judged on its own audio: a turn's start is moved later by the
        delay with which its first audio arrived (measured with the monitor's ``clock``), so a voice that
        began behind the delay is not taken to have already talked for as long as the delay, and
        every turn is shifted alike instead of the whole room reading as silence. Audio more than
        ``max_lag`` seconds late is too late to direct from: not speaking. ``voiced`` is the voice's
        age behind the channel's latest audio, counted back from ``now``."""
        with self._lock:
            latest = [
                (a, self._received[a.source], self._onset_lag.get(a.source, 0.0))
                for a in self._latest.values()
            ]
        since: dict[str, float] = {}
        voiced: dict[str, float] = {}
        for a, received, onset_lag in latest:
            lag = max(0.0, received - a.end)
            if not a.active or lag > max_lag or (now is not None and now - received > max_age):
                continue
            onset = (a.onset if a.onset is not None else a.t) + onset_lag
            heard = a.voiced_until if a.voiced_until is not None else a.end
            if now is not None:
                heard = now - max(0.0, a.end - heard)
            since[a.speaker] = min(onset, since.get(a.speaker, onset))
            voiced[a.speaker] = max(heard, voiced.get(a.speaker, heard))
        return Speaking(since, voiced)
