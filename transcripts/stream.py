"""Real-time transcription of several audio sources: every seat microphone and every remote track.

Audio goes in from the capture threads (:meth:`LiveTranscriber.feed`: cheap, voice detection only);
each utterance is decoded on one worker thread as soon as its speaker pauses, checked for crosstalk
against the other channels, split by speaker where a channel is shared, and handed out as an
:class:`Utterance` with its source and its start and end on the hearing clock. Partial text of an
utterance still going on is offered when the worker is idle.

Decoding starts early: once a speaker has paused for ``LiveOptions.speculate_after`` (the audio the
line will hold is then complete) the utterance is decoded while the pause goes on, and the line is
committed the moment the pause is long enough to end it. Should the speaker go on instead, that decode
is dropped (or skipped, if it had not started). The text is the same either way: the same audio is
decoded; only the wait for the pause and the decode overlap.

For a file, :func:`transcribe_samples` is the same pipeline as a lazy generator.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from devices.media import Samples
from devices.resample import StreamResampler, resample
from devices.vad import SileroVad
from transcripts.audio import speech_level
from transcripts.crosstalk import CrosstalkOptions, judge, own_span
from transcripts.decoder import MAX_SECONDS, DecodeCancelled, Word
from transcripts.recognizer import Recognition, Recognizer
from transcripts.text import to_simplified
from transcripts.vad import GAP_TOLERANCE, SAMPLE_RATE, SpeechSegment, VadOptions, VadStream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Utterance:
    """One line of the transcript, tied to its audio."""

    source: str
    start: float
    """Hearing-clock seconds: play ``source`` from ``start`` to ``end`` to hear exactly this line."""
    end: float
    text: str
    words: tuple[Word, ...] = ()
    """Characters with hearing-clock times and the model's confidence."""
    confidence: float | None = None
    speaker: str | None = None
    """On a shared channel, the enrolled speaker this line was matched to."""
    partial: bool = False
    level_db: float | None = None
    uncertain: tuple[tuple[int, int], ...] = ()
    """[start, end) spans of ``text`` the model was unsure of, for the clerk's eye."""


@dataclass(frozen=True)
class Rejected:
    """An utterance dropped as crosstalk or as invented text (kept for the record and the figures)."""

    source: str
    start: float
    end: float
    reason: str


class SpeakerSplitter(Protocol):
    """Splits a shared channel's utterance into speaker turns (see :mod:`transcripts.diarization`)."""

    def split(self, segment: SpeechSegment) -> list[tuple[SpeechSegment, str | None]]: ...


@dataclass(frozen=True)
class LiveOptions:
    vad: VadOptions = field(default_factory=VadOptions)
    crosstalk: CrosstalkOptions = field(default_factory=CrosstalkOptions)
    partial_interval: float | None = None
    """Offer partial text every this many seconds of an utterance in progress (None: never). On a
    2-core machine partials compete with final lines for the CPU."""
    history: float = 30.0
    """Seconds of each source's audio kept for crosstalk comparison."""
    max_pending: int = 64
    """Utterances waiting for the decoder before the oldest is dropped (and logged)."""
    worker_nice: int = 5
    """The decoding thread runs this much nicer than capture and recording (Linux): the recording is
    the evidence, the transcript may lag."""
    batch_seconds: float = 0.02
    """Voice detection waits this long after audio comes, then takes all the audio that came meanwhile
    (capture threads hand over their chunks at about the same moments: one wake-up per round). It
    adds to the end-of-speech → line latency: 0.05 cost 0.03 s of p50 on bench_asr."""
    batch_max_seconds: float = 1.0
    """…but analyses it in steps of at most this much audio per channel."""
    speculate_after: float | None = 0.15
    """Start decoding an utterance once its speaker has paused this long (at least the VAD's
    ``speech_pad``), instead of after the whole ``min_silence``; None: only after. A pause that turns
    out not to end the utterance wastes that decode (counted in :attr:`LiveTranscriber.wasted`)."""

    def __post_init__(self) -> None:
        if self.partial_interval is not None and self.partial_interval <= 0:
            raise ValueError("partial_interval must be positive (or None)")
        if self.history < 2:
            raise ValueError("history must be at least 2 seconds")
        if self.speculate_after is not None and self.speculate_after < 0:
            raise ValueError("speculate_after must not be negative (or None)")


@dataclass(eq=False)
class _Mark:
    """Put on the input queue behind the audio fed so far; ``done`` is set once that audio has been
    analysed (and, for a flush, every utterance in progress ended)."""

    flush: bool
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(eq=False)
class _Job:
    """One utterance for the decoder. A speculative job (``final`` False) is decoded while its
    speaker's pause goes on; it is delivered once the pause ends the utterance (``final`` set) and
    dropped if the speaker goes on (``cancelled``). State changes happen under the transcriber's lock."""

    segment: SpeechSegment
    final: bool
    cancelled: bool = False
    result: Recognition | None = None
    delivered: bool = False
    tentative: SpeechSegment | None = None
    """A speculative job's segment as the VAD holds it: ``segment`` may be a trimmed copy (crosstalk's
    ``own_span``), and the speaker has gone on only when the VAD's tentative is no longer this one."""


UtteranceCallback = Callable[[Utterance], None]
RejectedCallback = Callable[[Rejected], None]


class _Source:
    def __init__(self, name: str, vad: VadStream, history: float) -> None:
        self.name = name
        self.vad = vad
        self.chunks: deque[tuple[float, Samples]] = deque()
        """The source's recent audio at 16 kHz, each piece with the hearing time of its first sample."""
        self.history = history
        self.last_partial = 0.0
        self.advanced_at = time.monotonic()
        """When audio last came (monotonic): a channel silent for long has stalled or failed."""
        self.end: float | None = None
        """Hearing time up to which audio has come (the resampler may still hold back a few samples)."""
        # One filter across chunks: each chunk resampled on its own would click at every boundary.
        self._resampler = StreamResampler(SAMPLE_RATE)
        self._rate = 0
        self._resampled_until = 0.0
        """Hearing time of the resampler's next output sample."""

    def to_vad_rate(self, samples: Samples, rate: int, t: float) -> tuple[float, Samples]:
        """``samples`` (at ``rate``, the first at hearing time ``t``) at 16 kHz, and the hearing time of
        their first sample: where the filter's output so far ended (it holds a few samples back)."""
        # Judged against the sample count, as the voice detector judges it: a device whose clock drifts
        # from its sample rate is put back on the hearing clock once it is off by the tolerance.
        if self.end is None or rate != self._rate or abs(t - self._resampled_until) > GAP_TOLERANCE:
            # A device that dropped out (or a new rate): the next audio does not join the last.
            self._resampler.reset()
            self._rate = rate
            self._resampled_until = t
        audio = self._resampler.push(np.asarray(samples, dtype=np.float32), rate)
        start = self._resampled_until
        self._resampled_until += len(audio) / SAMPLE_RATE
        self.end = t + len(samples) / rate
        return start, audio

    def remember(self, t: float, samples: Samples) -> None:
        self.advanced_at = time.monotonic()
        self.chunks.append((t, samples))
        while self.chunks and self.chunks[0][0] < t - self.history:
            self.chunks.popleft()

    def between(self, t0: float, t1: float) -> Samples:
        parts = []
        for t, s in list(self.chunks):
            e = t + len(s) / SAMPLE_RATE
            if e <= t0 or t >= t1:
                continue
            a = max(0, round((t0 - t) * SAMPLE_RATE))
            b = min(len(s), round((t1 - t) * SAMPLE_RATE))
            parts.append(s[a:b])
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


class LiveTranscriber:
    """Transcribes many sources at once. Callbacks run on the worker thread, except a line decoded
    during its speaker's pause, delivered by the voice-detection thread when the pause ends it (as
    crosstalk rejections always were)."""

    def __init__(
        self,
        recognizer: Recognizer,
        vad_model: SileroVad,
        *,
        on_utterance: UtteranceCallback,
        on_partial: UtteranceCallback | None = None,
        on_rejected: RejectedCallback | None = None,
        options: LiveOptions = LiveOptions(),
        splitters: Mapping[str, SpeakerSplitter] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``splitters`` maps a shared channel's source to its speaker splitter. ``clock`` (hearing
        seconds now) times the end-of-utterance → line latency."""
        self.recognizer = recognizer
        self.vad_model = vad_model
        self.options = options
        self.on_utterance = on_utterance
        self.on_partial = on_partial
        self.on_rejected = on_rejected
        self.splitters = dict(splitters or {})
        self.clock = clock
        self.latencies: list[float] = []
        """Hearing seconds from each line's end of speech to its emission (needs ``clock``)."""
        self.decode_seconds = 0.0
        """Seconds spent decoding, wasted speculative decodes included."""
        self.decoded_audio = 0.0
        """Seconds of audio decoded for lines (a wasted speculative decode's audio not counted)."""
        self.dropped = 0
        self.speculated = 0
        """Utterances whose decoding started during their speaker's pause."""
        self.wasted = 0
        """Speculative decodes run in vain (the speaker went on)."""
        self._speculative: dict[str, _Job] = {}
        """Each source's speculative job still awaiting the end of its pause."""
        self._sources: dict[str, _Source] = {}
        self._held: list[tuple[SpeechSegment, float]] = []
        """Finished utterances waiting for the other channels' audio to reach their end."""
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._input: queue.SimpleQueue[tuple[str, Samples, int, float] | _Mark | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="transcription", daemon=True)
        self._input_thread = threading.Thread(target=self._run_input, name="transcription-vad", daemon=True)
        self._worker.start()
        self._input_thread.start()

    # -- input (capture threads) -----------------------------------------------------------------

    def feed(self, source: str, samples: Samples, sample_rate: int, t: float) -> None:
        """Audio of ``source`` whose first sample is at hearing-clock ``t`` (any rate, mono). Returns
        at once: voice detection runs on its own thread, so capture is never held up."""
        if not self._closed:
            self._input.put((source, samples, sample_rate, t))

    def _run_input(self) -> None:
        while True:
            items = [self._input.get()]
            # Let a batch gather: one wake-up per batch instead of per 0.1 s chunk of each channel
            # keeps this thread from contending for the interpreter with capture and the director.
            time.sleep(self.options.batch_seconds)
            while True:
                try:
                    items.append(self._input.get_nowait())
                except queue.Empty:
                    break
            runs: dict[str, tuple[float, int, list[Samples]]] = {}
            for item in items:
                if item is None:
                    self._detect_runs(runs)
                    return
                if isinstance(item, _Mark):
                    self._detect_runs(runs)
                    runs = {}
                    if item.flush:
                        with self._lock:
                            now = time.monotonic()
                            self._held += [
                                (s, now) for src in self._sources.values() for s in src.vad.flush()
                            ]
                        self._arbitrate(force=True)
                    item.done.set()
                    continue
                source, samples, rate, t = item
                run = runs.get(source)
                length = sum(len(x) for x in run[2]) if run is not None else 0
                if run is not None and run[1] == rate and abs(run[0] + length / rate - t) < 1e-3:
                    run[2].append(samples)
                    if (length + len(samples)) / rate < self.options.batch_max_seconds:
                        continue
                    # Channels are analysed in steps of at most this much audio, so no channel
                    # runs far ahead of the others (crosstalk compares them over the same time).
                    self._detect_runs(runs)
                    runs = {}
                    continue
                if run is not None:
                    self._detect_runs({source: run})
                runs[source] = (t, rate, [samples])
            self._detect_runs(runs)

    def _detect_runs(self, runs: Mapping[str, tuple[float, int, list[Samples]]]) -> None:
        for source, (t, rate, parts) in runs.items():
            try:
                self._detect(source, np.concatenate(parts) if len(parts) > 1 else parts[0], rate, t)
            except Exception:
                log.exception("voice detection failed on %s", source)
        # After every channel of the batch: a channel's utterance is compared with the others'
        # audio over the same stretch, which this batch may have just brought.
        self._arbitrate(force=False)

    def _detect(self, source: str, samples: Samples, rate: int, t: float) -> None:
        with self._lock:
            src = self._sources.get(source)
            if src is None:
                vad = VadStream(
                    source, self.vad_model, self.options.vad, tentative_after=self.options.speculate_after
                )
                src = self._sources[source] = _Source(source, vad, self.options.history)
            start, audio = src.to_vad_rate(samples, rate, t)
            src.remember(start, audio)
            now = time.monotonic()
            segments = src.vad.feed(audio, start)
            self._held += [(segment, now) for segment in segments]
            job = self._speculative.get(source)
            ended = any(s.final for s in segments)
            if job is not None and src.vad.tentative is not job.tentative and not ended:
                # The speaker went on after the pause: that decode is moot.
                self._cancel(job)
                del self._speculative[source]

    def _arbitrate(self, *, force: bool) -> None:
        """Judge the finished utterances for crosstalk once every other channel's audio has reached
        their end (or ``crosstalk.wait`` hearing seconds have passed, or ``force``), then queue the
        channel's own ones for decoding. Done here, before decoding, so a leaked copy costs no decode."""
        options = self.options.crosstalk
        now = time.monotonic()
        with self._lock:
            ends = {name: src.end for name, src in self._sources.items() if src.end is not None}
            ready, held = [], []
            for segment, since in self._held:
                others = [end for name, end in ends.items() if name != segment.source]
                waited = now - since >= options.wait
                if force or waited or all(end >= segment.end for end in others):
                    ready.append(segment)
                else:
                    held.append((segment, since))
            self._held = held
            verdicts = []
            for segment in ready:
                src = self._sources.get(segment.source)
                if not segment.final and (src is None or src.vad.tentative is not segment):
                    continue  # the speaker went on while it waited
                verdicts.append((segment, *self._separate(segment)))
        for held_segment, segment, verdict in verdicts:
            if not segment.final:
                if verdict is None:
                    self._speculate(segment, held_segment)
            elif verdict is not None:
                self._settle(segment, confirmed=False)
                self._reject(Rejected(segment.source, segment.start, segment.end, verdict))
            elif not self._settle(segment, confirmed=True):
                self._enqueue(segment)

    def _speculate(self, segment: SpeechSegment, tentative: SpeechSegment) -> None:
        """Queue a tentative utterance (``segment``, maybe trimmed from the VAD's ``tentative``) for
        decoding during its speaker's pause."""
        if (
            segment.source in self.splitters
            or len(_pieces(segment)) > 1
            or self._queue.qsize() >= self.options.max_pending
        ):
            return  # a shared channel's split, a cut, a full queue: decoded once final, as before
        job = _Job(segment, final=False, tentative=tentative)
        with self._lock:
            old = self._speculative.pop(segment.source, None)
            if old is not None:
                self._cancel(old)
            self._speculative[segment.source] = job
        self.speculated += 1
        self._queue.put(job)

    def _cancel(self, job: _Job) -> None:
        """Drop a speculative job (call with the lock held)."""
        job.cancelled = True
        if job.result is not None:
            self.wasted += 1

    def _settle(self, segment: SpeechSegment, *, confirmed: bool) -> bool:
        """A final utterance of a source with a speculative job: True when that job is this very
        utterance (``confirmed``: it is now delivered as soon as decoded); otherwise the job is
        dropped and False returned."""
        with self._lock:
            job = self._speculative.pop(segment.source, None)
            if job is None:
                return False
            same = confirmed and job.segment.start == segment.start and job.segment.end == segment.end
            if not same:
                self._cancel(job)
                return False
            job.final = True
            ready = job.result is not None
        if ready:
            self._deliver(job)  # else still queued or decoding: the worker delivers it
        return True

    def _enqueue(self, segment: SpeechSegment) -> None:
        if self._queue.qsize() >= self.options.max_pending:
            self.dropped += 1
            log.warning("transcription is behind: an utterance of %s was dropped", segment.source)
            self._reject(Rejected(segment.source, segment.start, segment.end, "decoder overloaded"))
            return
        self._queue.put(_Job(segment, final=True))

    def flush(self, timeout: float = 60.0, *, until: float | None = None, stalled_after: float = 2.0) -> bool:
        """Wait for the audio fed so far to be analysed, end every utterance in progress and wait
        until all are decoded; False on timeout. With ``until`` (hearing seconds), first wait for
        every channel's audio to reach that time — capture can hand audio over late on a loaded
        machine, and the last words must not be cut off — except a channel that has delivered
        nothing for ``stalled_after`` seconds (a failed device)."""
        deadline = time.monotonic() + timeout
        if until is not None:
            while time.monotonic() < deadline:
                with self._lock:
                    now = time.monotonic()
                    behind = [
                        src
                        for src in self._sources.values()
                        if (src.end or 0.0) < until and now - src.advanced_at < stalled_after
                    ]
                if not behind:
                    break
                time.sleep(0.02)
        return self._wait(_Mark(flush=True), timeout, deadline)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait for the audio fed so far to be analysed and the utterances it ended to be decoded
        (a decode started in a pause included), leaving the utterances in progress open, unlike
        :meth:`flush`; False on timeout. Utterances waiting for another channel's audio to reach
        their end (crosstalk) stay waiting."""
        return self._wait(_Mark(flush=False), timeout, time.monotonic() + timeout)

    def _wait(self, mark: _Mark, timeout: float, deadline: float) -> bool:
        """Wait up to ``timeout`` for ``mark`` to be reached, then until ``deadline`` for the decoder."""
        self._input.put(mark)
        if not mark.done.wait(timeout):
            return False
        with self._idle:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.1))
        return True

    def close(self, timeout: float = 60.0) -> None:
        """Decode what is pending, then stop both threads."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        self._input.put(None)
        self._queue.put(None)
        self._input_thread.join(timeout)
        self._worker.join(timeout)

    # -- worker ------------------------------------------------------------------------------------

    def _run(self) -> None:
        _lower_priority(self.options.worker_nice)
        while True:
            try:
                job = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._maybe_partial()
                continue
            try:
                if job is None:
                    return
                if job.final:
                    self._process(job.segment)
                else:
                    self._decode_speculative(job)
            except Exception:
                log.exception("transcribing %s failed", job.segment.source if job else "?")
            finally:
                self._queue.task_done()
                with self._idle:
                    self._idle.notify_all()

    def _process(self, segment: SpeechSegment) -> None:
        splitter = self.splitters.get(segment.source)
        turns = splitter.split(segment) if splitter is not None else [(segment, None)]
        for part, speaker in turns:
            for piece in _pieces(part):
                self._recognize(piece, speaker)

    def _decode_speculative(self, job: _Job) -> None:
        with self._lock:
            if job.cancelled:
                return
        began = time.monotonic()
        try:
            result = self.recognizer.recognize(job.segment.samples, cancelled=lambda: job.cancelled)
        except DecodeCancelled:
            with self._lock:
                self.decode_seconds += time.monotonic() - began
                self.wasted += 1
            return
        with self._lock:
            self.decode_seconds += time.monotonic() - began
            job.result = result
            ready = job.final and not job.cancelled
            if job.cancelled:
                self.wasted += 1
        if ready:
            self._deliver(job)

    def _deliver(self, job: _Job) -> None:
        """A speculative job both decoded and confirmed: deliver it once (from whichever thread
        completed it last)."""
        with self._lock:
            if job.delivered or job.result is None:
                return
            job.delivered = True
            self.decoded_audio += job.segment.duration
        self._emit(job.segment, job.result, None)

    def _recognize(self, segment: SpeechSegment, speaker: str | None) -> None:
        began = time.monotonic()
        result = self.recognizer.recognize(segment.samples)
        with self._lock:
            self.decode_seconds += time.monotonic() - began
            self.decoded_audio += segment.duration
        self._emit(segment, result, speaker)

    def _emit(self, segment: SpeechSegment, result: Recognition, speaker: str | None) -> None:
        if result.rejected or not result.text:
            self._reject(Rejected(segment.source, segment.start, segment.end, result.rejected or "empty"))
            return
        utterance = _utterance(segment, result, speaker)
        if self.clock is not None:
            self.latencies.append(self.clock() - (segment.end - self.options.vad.speech_pad))
        self.on_utterance(utterance)

    def _separate(self, segment: SpeechSegment) -> tuple[SpeechSegment, str | None]:
        """The segment and why it is another channel's voice leaking in (None when it is this
        channel's own; then a neighbour's leaked voice at its ends is trimmed off). Call with the
        lock held: the other channels' audio over the same stretch is read once for both."""
        options = self.options.crosstalk
        if not options.enabled:
            return segment, None
        audio = {
            name: src.between(segment.start, segment.end)
            for name, src in self._sources.items()
            if name != segment.source
        }
        verdict = judge(segment.source, segment.samples, audio, SAMPLE_RATE, options)
        if verdict.duplicate_of is not None:
            return segment, (
                f"crosstalk: the same voice is louder on {verdict.duplicate_of} "
                f"({verdict.other_level_db:.1f} vs {verdict.level_db:.1f} dBFS, r={verdict.correlation:.2f})"
            )
        a, b = own_span(segment.samples, audio, SAMPLE_RATE, options)
        if (a, b) == (0, len(segment.samples)):
            return segment, None
        trimmed = replace(
            segment,
            start=segment.start + a / SAMPLE_RATE,
            end=segment.start + b / SAMPLE_RATE,
            samples=segment.samples[a:b],
        )
        return trimmed, None

    def _maybe_partial(self) -> None:
        interval = self.options.partial_interval
        if interval is None or self.on_partial is None:
            return
        with self._lock:
            current = [(src, src.vad.current()) for src in self._sources.values()]
        for src, segment in current:
            if (
                segment is None
                or segment.duration < interval
                or segment.duration - src.last_partial < interval
            ):
                if segment is None:
                    src.last_partial = 0.0
                continue
            src.last_partial = segment.duration
            piece = segment if segment.duration <= MAX_SECONDS else _pieces(segment)[-1]
            result = self.recognizer.recognize(piece.samples, partial=True)
            if result.text:
                self.on_partial(_utterance(piece, result, None, partial=True))
            return  # one at a time: a final line may be waiting

    def _reject(self, rejected: Rejected) -> None:
        if self.on_rejected is not None:
            self.on_rejected(rejected)


def _lower_priority(nice: int) -> None:
    """Make the calling thread (and the threads it starts) ``nice`` steps nicer; Linux only."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError:
        log.debug("could not lower the transcription thread's priority")


def _pieces(segment: SpeechSegment, limit: float = MAX_SECONDS - 1.0) -> list[SpeechSegment]:
    """Cut an over-long segment (a splitter's merged turn) into decodable pieces."""
    if segment.duration <= limit:
        return [segment]
    size = round(limit * SAMPLE_RATE)
    out = []
    for a in range(0, len(segment.samples), size):
        chunk = segment.samples[a : a + size]
        t = segment.start + a / SAMPLE_RATE
        out.append(SpeechSegment(segment.source, t, t + len(chunk) / SAMPLE_RATE, chunk))
    return out


def _utterance(
    segment: SpeechSegment, result: Recognition, speaker: str | None, *, partial: bool = False
) -> Utterance:
    words = tuple(
        Word(
            to_simplified(w.text),
            round(segment.start + w.start, 3),
            round(segment.start + w.end, 3),
            round(w.probability, 4),
        )
        for w in result.words
    )
    return Utterance(
        source=segment.source,
        start=round(segment.start, 3),
        end=round(segment.end, 3),
        text=result.text,
        words=words,
        confidence=None if result.confidence is None else round(result.confidence, 4),
        speaker=speaker,
        partial=partial,
        level_db=round(speech_level(segment.samples, SAMPLE_RATE), 1),
        uncertain=result.uncertain,
    )


def transcribe_samples(
    samples: Samples,
    sample_rate: int,
    recognizer: Recognizer,
    vad_model: SileroVad,
    *,
    source: str = "file",
    t0: float = 0.0,
    vad: VadOptions | None = None,
    chunk_seconds: float = 0.5,
    rejected: list[Rejected] | None = None,
) -> Iterator[Utterance]:
    """Lazily transcribe one recording: utterances are yielded as the voice detector closes them."""
    audio = resample(np.asarray(samples, dtype=np.float32), sample_rate, SAMPLE_RATE)
    stream = VadStream(source, vad_model, vad or VadOptions())
    step = max(1, round(chunk_seconds * SAMPLE_RATE))

    def decode(segments: Sequence[SpeechSegment]) -> Iterator[Utterance]:
        for segment in segments:
            for piece in _pieces(segment):
                result = recognizer.recognize(piece.samples)
                if result.text and not result.rejected:
                    yield _utterance(piece, result, None)
                elif rejected is not None:
                    rejected.append(Rejected(source, piece.start, piece.end, result.rejected or "empty"))

    for a in range(0, len(audio), step):
        yield from decode(stream.feed(audio[a : a + step], t0 + a / SAMPLE_RATE))
    yield from decode(stream.flush())
