"""The hearing's live transcript: recognizers on every microphone channel (and remote track), each
line written to the timeline as an ``utterance`` event with its speaker's role.

The role of a line comes from its channel: a seat's microphone gives the seat's role and the
participant sitting there; a remote track gives its participant. Only a channel several people share
is split by voice (see :mod:`transcripts.diarization`). Decoding runs on the transcriber's own worker
thread, never on a capture thread; the timeline's listeners get each line as it is committed.

After a restart the speech recorded before it without a line yet is transcribed from the recording
first (:meth:`HearingTranscription.catch_up`, :mod:`court.live.catch_up`): the live lines wait until
it is done, so the transcript stays in the order things were said.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from court.config import DiarizationConfig, TranscriptionConfig
from court.core.cases import HearingInfo, ParticipantInfo
from court.core.events import EventType
from court.core.roles import UNIDENTIFIED, UNIDENTIFIED_LABEL, Role
from court.core.timeline import Timeline, TimelineEvent
from court.live.catch_up import (
    AudioReader,
    Backlog,
    BacklogResult,
    CatchUpCancelled,
    Gap,
    merge_gaps,
    transcribe_backlog,
)
from court.live.recording import microphone_source
from devices.media import AudioChunk, Samples, VideoFrame
from devices.vad import SileroVad
from transcripts.crosstalk import CrosstalkOptions
from transcripts.decoder import DecodeOptions
from transcripts.learning import learn_from_correction
from transcripts.recognizer import GuardOptions, Recognizer, RecognizerOptions
from transcripts.stream import (
    LiveOptions,
    LiveTranscriber,
    Rejected,
    RejectedCallback,
    SpeakerSplitter,
    Utterance,
    UtteranceCallback,
)
from transcripts.vad import VadOptions
from transcripts.vocabulary import CaseVocabulary, read_terms

if TYPE_CHECKING:
    from faster_whisper import WhisperModel  # type: ignore[import-untyped]

    from transcripts.diarization import Diarizer, SpeakerEncoder
    from transcripts.lm import CharNgramModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Channel:
    """Who speaks on one audio source."""

    source: str
    role: Role
    participants: tuple[ParticipantInfo, ...] = ()
    """Everyone enrolled on the channel; more than one makes it a shared channel."""

    @property
    def participant(self) -> ParticipantInfo | None:
        return self.participants[0] if len(self.participants) == 1 else None


def channels_for(hearing: HearingInfo, seats: Mapping[str, Role]) -> dict[str, Channel]:
    """Each seat microphone's channel (``mic-<seat>``) and each remote participant's track
    (``remote-<participant id>``), with who is enrolled on it."""
    channels: dict[str, Channel] = {}
    for seat_id, role in seats.items():
        sitting = tuple(p for p in hearing.participants if p.seat_id == seat_id and not p.remote)
        channels[microphone_source(seat_id)] = Channel(microphone_source(seat_id), role, sitting)
    for p in hearing.participants:
        if p.remote:
            source = remote_source(p.id)
            channels[source] = Channel(source, p.role, (p,))
    return channels


def remote_source(participant_id: int) -> str:
    return f"remote-{participant_id}"


def vocabulary_for(hearing: HearingInfo, config: TranscriptionConfig) -> CaseVocabulary:
    """The case vocabulary from the case record plus the room's configured terms."""
    terms = list(config.terms)
    if config.vocabulary_file is not None:
        terms += read_terms(config.vocabulary_file)
    return CaseVocabulary.from_case(
        case_number=hearing.case_number,
        cause=hearing.cause,
        people=[(p.role.label, p.name) for p in hearing.participants],
        organizations=[
            p.organization for p in hearing.participants if p.organization and _employer_side(p.role)
        ],
        terms=terms,
    )


def _employer_side(role: Role) -> bool:
    # The respondent's organization is the company; the applicant agent's is their law firm.
    return role in (Role.RESPONDENT, Role.RESPONDENT_AGENT)


def recognizer_options(config: TranscriptionConfig) -> RecognizerOptions:
    return RecognizerOptions(
        decode=DecodeOptions(
            beam_size=config.beam_size,
            num_hypotheses=min(config.num_hypotheses, config.beam_size),
            pad_seconds=config.pad_seconds,
        ),
        guards=GuardOptions(
            no_speech_threshold=config.no_speech_threshold,
            log_prob_threshold=config.log_prob_threshold,
            min_log_prob=config.min_log_prob,
            compression_ratio_threshold=config.compression_ratio_threshold,
        ),
        use_prompt=config.prompt,
        use_hotwords=config.hotwords,
        correct_terms=config.correct_terms,
        correct_names=config.correct_names,
        number_style=config.number_style,
        lm_weight=config.lm_weight if config.language_model else 0.0,
        homophone_margin=config.homophone_margin
        if config.language_model and config.homophone_margin > 0
        else None,
    )


def live_options(config: TranscriptionConfig) -> LiveOptions:
    return LiveOptions(
        vad=VadOptions(
            threshold=config.vad_threshold,
            neg_threshold=min(config.vad_threshold, max(0.05, config.vad_threshold - 0.15)),
            min_silence=config.min_silence_seconds,
            max_utterance=config.max_utterance_seconds,
        ),
        crosstalk=CrosstalkOptions(enabled=config.crosstalk),
        partial_interval=config.partial_seconds or None,
        speculate_after=config.speculative_seconds or None,
    )


@lru_cache(maxsize=2)
def _whisper(
    path: Path | None, device: str, compute_type: str, threads: int, cache_dir: Path
) -> WhisperModel:
    from transcripts.model import ModelSpec, load_whisper

    return load_whisper(ModelSpec(path, device, compute_type, threads), cache_dir / "asr")


@lru_cache(maxsize=1)
def _speaker_encoder() -> SpeakerEncoder:
    from transcripts.diarization import SpeakerEncoder

    return SpeakerEncoder()


@lru_cache(maxsize=1)
def _pretrained_diarizer(folder: Path, device: str) -> Diarizer:
    from transcripts.diarization import PretrainedDiarization

    return PretrainedDiarization(folder, device=device)


@runtime_checkable
class VoiceprintSplitterLike(Protocol):
    def enroll(self, speaker: str, samples: Samples) -> None: ...


@runtime_checkable
class ConfirmableSplitter(Protocol):
    def confirm(self, start: float, speaker: str) -> bool: ...


@lru_cache(maxsize=1)
def vad_model() -> SileroVad:
    return SileroVad()


def _language_model(cache_dir: Path) -> CharNgramModel:
    from transcripts.lm import load_statute_model

    return load_statute_model(cache_dir / "asr")


def build_recognizer(config: TranscriptionConfig, cache_dir: Path, vocabulary: CaseVocabulary) -> Recognizer:
    """Load (once per process) the model and the legal-text model the config names."""
    model = _whisper(config.model, config.device, config.compute_type, config.cpu_threads, cache_dir)
    options = recognizer_options(config)
    lm = _language_model(cache_dir) if config.language_model else None
    return Recognizer(model, options, vocabulary=vocabulary, language_model=lm)


class HearingTranscription:
    """Transcribes one hearing: hand :meth:`consume` to the capture fan-out, :meth:`start` with the
    recording, :meth:`drain` before closing, :meth:`stop` after."""

    def __init__(
        self,
        config: TranscriptionConfig,
        cache_dir: Path,
        hearing: HearingInfo,
        seats: Mapping[str, Role],
        *,
        clock: Callable[[], float] | None = None,
        splitters: Mapping[str, SpeakerSplitter] | None = None,
        recognizer: Recognizer | None = None,
        diarization: DiarizationConfig | None = None,
    ) -> None:
        self.config = config
        self.diarization = diarization or DiarizationConfig()
        self.cache_dir = cache_dir
        self.hearing = hearing
        self.channels = channels_for(hearing, seats)
        self.clock = clock
        self.splitters = dict(splitters or {})
        self._recognizer = recognizer
        self._live: LiveTranscriber | None = None
        self._timeline: Timeline | None = None
        self._partial_listeners: list[Callable[[Utterance], None]] = []
        self._lock = threading.Lock()
        self.rejected: list[Rejected] = []
        self._commit_lock = threading.Lock()
        self._held: list[Utterance] | None = None
        """Live lines kept back while the backlog is transcribed (None: none kept back)."""
        self._catch_up: threading.Thread | None = None
        self._cancel_catch_up = threading.Event()
        self._closing = False
        self._lines_lock = threading.Lock()
        self._shared_lines: dict[str, tuple[str, float]] = {}
        """Recent lines of shared channels: line id → (source, start), for the clerk's role changes."""

    @property
    def recognizer(self) -> Recognizer:
        """The recognizer, loading the models on first use (seconds: call it before the hearing)."""
        if self._recognizer is None:
            self._recognizer = build_recognizer(
                self.config, self.cache_dir, vocabulary_for(self.hearing, self.config)
            )
        return self._recognizer

    @property
    def live(self) -> LiveTranscriber | None:
        return self._live

    def prepare(self) -> None:
        """Load the models now rather than at the start of the hearing."""
        _ = self.recognizer
        vad_model()
        if any(len(c.participants) > 1 for c in self.channels.values()):
            # pyannote.audio and torch take seconds to import: not at the start of the hearing.
            from transcripts.diarization import DiarizationError

            with contextlib.suppress(DiarizationError):  # start() says so on the timeline
                _speaker_encoder()

    def add_remote(self, participant: ParticipantInfo, source: str | None = None) -> str:
        """Transcribe a remote participant's track as ``source`` (default ``remote-<id>``)."""
        name = source or remote_source(participant.id)
        self.channels[name] = Channel(name, participant.role, (participant,))
        return name

    def subscribe_partials(self, listener: Callable[[Utterance], None]) -> None:
        """Partial text of utterances still going on (not written to the timeline)."""
        self._partial_listeners.append(listener)

    def consume(self, source_id: str, item: VideoFrame | AudioChunk) -> None:
        """A capture consumer: audio of a known channel goes to the recognizers."""
        live = self._live
        if live is None or not isinstance(item, AudioChunk) or source_id not in self.channels:
            return
        live.feed(source_id, item.samples, item.sample_rate, item.t)

    def start(self, timeline: Timeline) -> None:
        with self._lock:
            if self._live is not None:
                return
            self._timeline = timeline
            self._add_shared_splitters(timeline)
            if any(isinstance(sp, ConfirmableSplitter) for sp in self.splitters.values()):
                timeline.subscribe(self._heard)
            splitters = {s: sp for s, sp in self.splitters.items() if s in self.channels}
            self._live = LiveTranscriber(
                self.recognizer,
                vad_model(),
                on_utterance=self._commit,
                on_partial=self._partial,
                on_rejected=self.rejected.append,
                options=live_options(self.config),
                splitters=splitters,
                clock=self.clock,
            )
            timeline.subscribe(self._learn_from_clerk)
        timeline.append(
            EventType.TRANSCRIPTION_STARTED, {"sources": sorted(self.channels), **self._model_info()}
        )

    def _add_shared_splitters(self, timeline: Timeline) -> None:
        """A voiceprint splitter on each channel several participants share (the others need none)."""
        shared = [
            c for c in self.channels.values() if len(c.participants) > 1 and c.source not in self.splitters
        ]
        if not shared:
            return
        from transcripts.diarization import DiarizationError, VoiceprintSplitter

        try:
            encoder = _speaker_encoder()
        except DiarizationError as exc:
            timeline.append(
                EventType.TRANSCRIPTION_FAULT, {"detail": f"shared channels keep the seat's role: {exc}"}
            )
            return
        diarizer = None
        if self.diarization.pipeline is not None:
            try:
                diarizer = _pretrained_diarizer(self.diarization.pipeline, self.diarization.device)
            except DiarizationError as exc:
                timeline.append(
                    EventType.TRANSCRIPTION_FAULT, {"detail": f"说话人分离模型未用，改用声纹窗口: {exc}"}
                )
        for channel in shared:
            names = [str(p.id) for p in channel.participants]
            self.splitters[channel.source] = VoiceprintSplitter(
                encoder, names, min_similarity=self.diarization.min_similarity, diarizer=diarizer
            )

    def _heard(self, event: TimelineEvent) -> None:
        """The clerk saying who spoke a line on a shared channel (the 笔录 editor's role change) teaches
        that channel's splitter the voice: a participant's first turn, confirmed, enrols them."""
        p = event.payload
        if event.type is EventType.UTTERANCE:
            source = str(p.get("source", ""))
            if isinstance(self.splitters.get(source), ConfirmableSplitter):
                with self._lines_lock:
                    self._shared_lines[f"u{event.seq}"] = (source, float(p["start"]))
                    while len(self._shared_lines) > 256:
                        self._shared_lines.pop(next(iter(self._shared_lines)))
        elif event.type is EventType.UTTERANCE_ROLE_CHANGED and p.get("participant_id") is not None:
            with self._lines_lock:
                line = self._shared_lines.get(str(p.get("line", "")))
            if line is None:
                return
            source, start = line
            splitter = self.splitters.get(source)
            channel = self.channels.get(source)
            pid = int(p["participant_id"])
            if (
                isinstance(splitter, ConfirmableSplitter)
                and channel is not None
                and any(x.id == pid for x in channel.participants)
            ):
                splitter.confirm(start, str(pid))

    def _learn_from_clerk(self, event: TimelineEvent) -> None:
        # The clerk's correction of a line teaches the recognizer for the lines still to come.
        if event.type is EventType.UTTERANCE_CORRECTED:
            before, after = event.payload.get("before"), event.payload.get("after")
            if isinstance(before, str) and isinstance(after, str):
                self.learn(before, after)

    def learn(self, heard: str, corrected: str) -> None:
        """What the clerk's correction of ``heard`` into ``corrected`` teaches (its words join the
        hearing's vocabulary, its heard → meant pairs the homophone table); from the next utterance."""
        self.recognizer.vocabulary = learn_from_correction(self.recognizer.vocabulary, heard, corrected)

    def enroll(self, participant: ParticipantInfo, samples: Samples) -> None:
        """A voiceprint for a participant on a shared channel (16 kHz enrolment audio)."""
        for channel in self.channels.values():
            splitter = self.splitters.get(channel.source)
            if participant in channel.participants and isinstance(splitter, VoiceprintSplitterLike):
                splitter.enroll(str(participant.id), samples)
                return
        raise ValueError(f"{participant.label} is not on a shared channel")

    def add_terms(self, *terms: str, actor: str = "clerk") -> None:
        """The clerk's additions to the case vocabulary; used from the next utterance."""
        self.recognizer.add_terms(*terms)
        if self._timeline is not None:
            self._timeline.append(EventType.TRANSCRIPTION_TERMS_ADDED, {"terms": list(terms)}, actor=actor)

    def drain(self, timeout: float = 120.0) -> bool:
        """Decode everything heard so far (utterances still open are ended), the backlog of a restart
        first; False on timeout. Called before closing: what is still left then is a gap."""
        self._closing = True
        deadline = time.monotonic() + timeout
        catch_up = self._catch_up
        if catch_up is not None:
            catch_up.join(timeout)
            if catch_up.is_alive():
                return False
        live = self._live
        if live is None:
            return True
        remaining = max(1.0, deadline - time.monotonic())
        return live.flush(remaining, until=self.clock() if self.clock is not None else None)

    # -- after a restart: the backlog first -----------------------------------------------------

    def hold(self) -> None:
        """Keep the live lines back from now on, until :meth:`catch_up` has committed the lines
        recovered from the recording (call it before the live transcript starts)."""
        with self._commit_lock:
            if self._held is None:
                self._held = []

    def catch_up(self, backlog: Backlog, read: AudioReader, timeline: Timeline) -> None:
        """Transcribe ``backlog`` (read with ``read`` from the recording) on a thread of its own;
        then commit its lines, a ``transcription.recovered`` event, the gaps where audio could not be
        read, and the live lines held meanwhile, in that order."""
        self.hold()
        self._cancel_catch_up.clear()
        thread = threading.Thread(
            target=self._run_catch_up,
            args=(backlog, read, timeline),
            name="transcription-catch-up",
            daemon=True,
        )
        self._catch_up = thread
        thread.start()

    def _run_catch_up(self, backlog: Backlog, read: AudioReader, timeline: Timeline) -> None:
        result: BacklogResult | None = None
        gaps: list[Gap] = []
        try:
            # Even with nothing to read back, the record says the backlog was looked for.
            result = BacklogResult()
            if backlog.stretches:
                result = transcribe_backlog(
                    backlog, read, self._backlog_transcriber, cancelled=self._cancel_catch_up.is_set
                )
                gaps += result.gaps
        except CatchUpCancelled:
            if not self._closing:
                # The process stops under a hearing that will resume: nothing is committed (the live
                # lines stay held and go), so the next start reads all of it back from the recording.
                return
            gaps.append(Gap(backlog.start, backlog.end, tuple(backlog.sources), _UNFINISHED))
            result = None
        except Exception as exc:  # the transcript is not the evidence: a gap, and the hearing goes on
            log.exception("transcribing the backlog from the recording failed")
            result = None
            reason = f"据录音补录失败 ({type(exc).__name__}: {exc})"
            gaps.append(Gap(backlog.start, backlog.end, tuple(backlog.sources), reason))
        with self._commit_lock:
            for utterance in result.utterances if result is not None else []:
                self._write(timeline, utterance)
            if result is not None:
                timeline.append(
                    EventType.TRANSCRIPTION_RECOVERED,
                    {
                        "start": round(backlog.start, 3),
                        "end": round(backlog.end, 3),
                        "sources": backlog.sources,
                        "lines": len(result.utterances),
                        "rejected": len(result.rejected),
                        "audio_seconds": round(result.audio_seconds, 2),
                        "decode_seconds": round(result.decode_seconds, 2),
                    },
                )
            for gap in merge_gaps(gaps):
                timeline.append(EventType.TRANSCRIPTION_GAP, gap.payload())
            held, self._held = self._held or [], None
            for utterance in held:
                self._write(timeline, utterance)

    def _backlog_transcriber(
        self, on_utterance: UtteranceCallback, on_rejected: RejectedCallback
    ) -> LiveTranscriber:
        # The live options, crosstalk check and splitters, without what only helps a live listener:
        # the audio comes faster than speech, so a decode during a pause would mostly be wasted.
        options = replace(live_options(self.config), partial_interval=None, speculate_after=None)
        return LiveTranscriber(
            self.recognizer,
            vad_model(),
            on_utterance=on_utterance,
            on_rejected=on_rejected,
            options=options,
            splitters={s: sp for s, sp in self.splitters.items() if s in self.channels},
        )

    def stop(self, timeout: float = 120.0) -> None:
        catch_up = self._catch_up
        if catch_up is not None and catch_up.is_alive():
            self._cancel_catch_up.set()
            catch_up.join(timeout)
        with self._lock:
            live, self._live = self._live, None
        if live is None:
            return
        live.close(timeout)
        if self._timeline is not None:
            payload: dict[str, Any] = {
                "lines_rejected": len(self.rejected),
                "decode_seconds": round(live.decode_seconds, 2),
                "audio_seconds": round(live.decoded_audio, 2),
            }
            if live.latencies:
                ordered = sorted(live.latencies)
                payload["latency_p50"] = round(ordered[len(ordered) // 2], 3)
                payload["latency_max"] = round(ordered[-1], 3)
            self._timeline.append(EventType.TRANSCRIPTION_STOPPED, payload)

    def _model_info(self) -> dict[str, Any]:
        c = self.config
        return {
            "model": str(c.model) if c.model else "whisper-base (packaged)",
            "device": c.device,
            "compute_type": c.compute_type,
        }

    def _commit(self, utterance: Utterance) -> None:
        timeline = self._timeline
        if timeline is None:
            return
        with self._commit_lock:
            if self._held is not None:
                self._held.append(utterance)
                return
            self._write(timeline, utterance)

    def _write(self, timeline: Timeline, utterance: Utterance) -> None:
        channel = self.channels.get(utterance.source)
        if channel is None:
            return
        participant = channel.participant
        if utterance.speaker is not None:
            participant = next(
                (p for p in channel.participants if str(p.id) == utterance.speaker), participant
            )
        role = participant.role if participant is not None else channel.role
        role_value, label = role.value, role.label
        if participant is None and utterance.source in self.splitters and len(channel.participants) > 1:
            # A shared channel's line whose voice matched nobody enrolled there: the clerk assigns it.
            role_value, label = UNIDENTIFIED, UNIDENTIFIED_LABEL
        payload: dict[str, Any] = {
            "role": role_value,
            "role_label": label,
            "text": utterance.text,
            "start": utterance.start,
            "end": utterance.end,
            "source": utterance.source,
        }
        if participant is not None:
            payload["participant_id"] = participant.id
            payload["name"] = participant.name
        if utterance.confidence is not None:
            payload["confidence"] = utterance.confidence
        if utterance.words:
            payload["words"] = [[w.text, w.start, w.end, w.probability] for w in utterance.words]
        if utterance.uncertain:
            payload["uncertain"] = [[a, b] for a, b in utterance.uncertain]
        timeline.append(EventType.UTTERANCE, payload, t=utterance.end)

    def _partial(self, utterance: Utterance) -> None:
        for listener in list(self._partial_listeners):
            try:
                listener(utterance)
            except Exception:
                log.exception("a partial-text listener failed")


_UNFINISHED = "闭庭时据录音补录尚未完成 (the catch-up had not finished at the close)"
