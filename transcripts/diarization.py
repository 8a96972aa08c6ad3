"""Who is speaking on a channel several people share (a table microphone, a party and their agent on
one phone), on pyannote.audio.

Two jobs. :class:`ChannelDiarization` turns a recording of a shared channel into a
``pyannote.core.Annotation`` of speaker turns, with the number of speakers known from who sits on the
channel: the pyannote pipeline :class:`transcripts.channel_pipeline.ChannelPipeline` (speech regions
from Silero VAD, embeddings of 1.6 s windows from the packaged speaker encoder run as a pyannote model,
pyannote's clustering into exactly that many speakers). A room that has a full pretrained pyannote
pipeline on disk (``[diarization] pipeline``) gets that instead, behind the same call
(:func:`load_diarizer`). :class:`VoiceprintSplitter` splits the live transcript's utterances among the
participants enrolled on the channel by matching the same embeddings to their voiceprints (turn
boundaries from the pretrained pipeline when there is one); a turn that matches nobody well is left
unattributed (``None``: "未识别", the clerk assigns it).

pyannote's pretrained segmentation and embedding checkpoints come from a model hub and are not
packaged, hence the packaged encoder; guessing the number of speakers failed badly in our checks, hence
the known count.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from devices.media import Samples
from devices.vad import SileroVad
from transcripts.pyannote_env import DiarizationError, load_pyannote
from transcripts.speaker_encoder import Embedding, SpeakerEncoder
from transcripts.turns import Turn, smooth, speech_regions, turns_between
from transcripts.vad import SAMPLE_RATE, SpeechSegment

if TYPE_CHECKING:
    from pyannote.core import Annotation

__all__ = [
    "ChannelDiarization",
    "DiarizationError",
    "Diarizer",
    "Embedding",
    "PretrainedDiarization",
    "SpeakerEncoder",
    "Turn",
    "VoiceprintSplitter",
    "annotation_of",
    "load_diarizer",
    "speech_regions",
    "turns_of",
]


class Diarizer(Protocol):
    """A shared channel's recording (16 kHz mono) → speaker turns; ``speakers`` when the number is
    known, else at most ``max_speakers`` (only a pretrained pipeline can guess)."""

    def __call__(
        self, samples: Samples, *, speakers: int | None = None, max_speakers: int | None = None
    ) -> Annotation: ...


def turns_of(annotation: Annotation) -> list[Turn]:
    """An annotation's turns in time order."""
    return [
        Turn(float(segment.start), float(segment.end), str(label))
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]


def annotation_of(turns: Sequence[Turn], uri: str = "channel") -> Annotation:
    load_pyannote()
    from pyannote.core import Annotation, Segment

    out = Annotation(uri=uri)
    for turn in turns:
        if turn.end > turn.start:
            out[Segment(turn.start, turn.end)] = turn.speaker
    return out


def _waveform(samples: Samples) -> dict[str, Any]:
    import torch

    audio = np.ascontiguousarray(np.asarray(samples, dtype=np.float32))
    return {"waveform": torch.from_numpy(audio)[None], "sample_rate": SAMPLE_RATE}


class ChannelDiarization:
    """The packaged pipeline (:class:`~transcripts.channel_pipeline.ChannelPipeline`): it needs the
    number of speakers. ``pipeline`` is the pyannote ``Pipeline`` itself."""

    def __init__(
        self,
        encoder: SpeakerEncoder | None = None,
        vad: SileroVad | None = None,
        *,
        clustering: str = "kmeans",
        hop: float = 0.4,
    ) -> None:
        from transcripts.channel_pipeline import ChannelPipeline

        self.encoder = encoder or SpeakerEncoder()
        pipeline = ChannelPipeline(clustering, hop, self.encoder, vad)
        self.pipeline: Any = pipeline.instantiate(pipeline.default_parameters())

    def __call__(
        self, samples: Samples, *, speakers: int | None = None, max_speakers: int | None = None
    ) -> Annotation:
        if speakers is None:
            raise ValueError("the packaged diarization pipeline needs the number of speakers")
        result: Annotation = self.pipeline(_waveform(samples), num_speakers=speakers)
        return result


class PretrainedDiarization:
    """A full pretrained pyannote pipeline from a local folder (for example
    speaker-diarization-community-1 copied to disk: its ``config.yaml`` and model folders), run on
    the CPU unless ``device`` says otherwise. Never reaches a hub (:mod:`transcripts.pyannote_env`)."""

    def __init__(self, folder: Path, *, device: str = "cpu") -> None:
        if not (folder / "config.yaml").is_file():
            # Checked here: pyannote takes a path that is not a folder for a hub identifier.
            raise DiarizationError(
                f"说话人分离模型目录无效 (no pyannote pipeline, config.yaml missing): {folder}"
            )
        load_pyannote()
        import torch
        from pyannote.audio import Pipeline

        try:
            pipeline = Pipeline.from_pretrained(folder)
        except Exception as exc:  # a broken folder: whatever pyannote raises, the room is told why
            raise DiarizationError(f"说话人分离模型无法加载 (pipeline not loaded): {folder}: {exc}") from exc
        if pipeline is None:
            raise DiarizationError(f"说话人分离模型无法加载 (pipeline not loaded): {folder}")
        self.pipeline: Any = pipeline.to(torch.device(device))

    def __call__(
        self, samples: Samples, *, speakers: int | None = None, max_speakers: int | None = None
    ) -> Annotation:
        known = {"num_speakers": speakers} if speakers is not None else {"max_speakers": max_speakers}
        output = self.pipeline(_waveform(samples), **known)
        # pyannote.audio 4 pipelines return a DiarizeOutput; 3.x ones the Annotation itself.
        result: Annotation = getattr(output, "speaker_diarization", output)
        return result


def load_diarizer(
    pipeline: Path | None = None, *, clustering: str = "kmeans", device: str = "cpu"
) -> Diarizer:
    """The room's diarizer: the pretrained pipeline in ``pipeline`` when configured, else the
    packaged one."""
    if pipeline is not None:
        return PretrainedDiarization(pipeline, device=device)
    return ChannelDiarization(clustering=clustering)


# -- the live transcript's splitter -----------------------------------------------------------------------

REMEMBERED_TURNS = 64
"""Turns whose voice the splitter keeps for the clerk to confirm (a few minutes of a hearing)."""


class VoiceprintSplitter:
    """Splits a shared channel's utterances among the participants enrolled on it, by voiceprint.

    ``speakers`` are the labels of the enrolled participants (in the order their first words are
    expected when they have no enrolment audio); ``voiceprints`` those already known. A turn that
    matches no known voiceprint well (``first_words_similarity`` while someone has none yet,
    ``min_similarity`` once everyone has one) goes to the next participant without a voiceprint (their
    first words), or, when everyone has one, to nobody (``None``: 未识别). The clerk's word on who said
    a turn (:meth:`confirm`) teaches the splitter that voice."""

    def __init__(
        self,
        encoder: SpeakerEncoder,
        speakers: Sequence[str],
        voiceprints: dict[str, Embedding] | None = None,
        *,
        min_similarity: float = 0.75,
        hop: float = 0.4,
        min_turn: float = 1.0,
        margin: float = 0.05,
        first_words_similarity: float = 0.85,
        diarizer: Diarizer | None = None,
        on_enrolled: Callable[[str], None] | None = None,
    ) -> None:
        """``min_turn``: shorter speaker changes inside an utterance are not split off. ``margin``: a
        window says who speaks only when its closest voiceprint is this much closer than the next
        (measured on the TTS voices: single-speaker lines were split on windows 0.02 apart).
        ``first_words_similarity``: while someone on the channel has no voiceprint yet, a turn must
        be this close to a known one to be that person's (else it is the next person's first words):
        two people sharing a phone sound alike through it (measured on the TTS voices with the demo
        room's reverberation: at 0.75 the second person's first words went to the first one).
        ``diarizer``: a pretrained pipeline that finds the turns instead of the windows' nearest
        voiceprints (the room's ``[diarization] pipeline``)."""
        if not speakers:
            raise ValueError("a shared channel needs its enrolled speakers")
        self.encoder = encoder
        self.speakers = list(speakers)
        self.voiceprints: dict[str, Embedding] = dict(voiceprints or {})
        unknown = set(self.voiceprints) - set(self.speakers)
        if unknown:
            raise ValueError(f"voiceprints for speakers not enrolled: {sorted(unknown)}")
        self.min_similarity = min_similarity
        self.hop = hop
        self.min_turn = min_turn
        self.margin = margin
        self.first_words_similarity = max(first_words_similarity, min_similarity)
        self.diarizer = diarizer
        self.on_enrolled = on_enrolled
        self._lock = threading.Lock()
        self._recent: OrderedDict[float, Embedding] = OrderedDict()
        """The embeddings of the last turns returned, by their start (for :meth:`confirm`)."""

    def enroll(self, speaker: str, samples: Samples) -> None:
        """A voiceprint from enrolment audio (a sentence the person read when they joined)."""
        if speaker not in self.speakers:
            raise ValueError(f"{speaker!r} is not enrolled on this channel")
        voiceprint = self.encoder.embed(samples)
        with self._lock:
            self.voiceprints[speaker] = voiceprint

    def confirm(self, start: float, speaker: str) -> bool:
        """The clerk says the turn that started at hearing-clock ``start`` was ``speaker``'s: it
        becomes their voiceprint, or is averaged into the one they have. False when that turn is no
        longer remembered (only the last :data:`REMEMBERED_TURNS` are)."""
        if speaker not in self.speakers:
            raise ValueError(f"{speaker!r} is not enrolled on this channel")
        with self._lock:
            embedding = next((e for t, e in self._recent.items() if abs(t - start) < 0.01), None)
            if embedding is None:
                return False
            known = self.voiceprints.get(speaker)
            self.voiceprints[speaker] = embedding if known is None else _mean(np.stack([known, embedding]))
            return True

    def _remember(self, start: float, embedding: Embedding) -> None:
        with self._lock:
            self._recent[round(start, 3)] = embedding
            while len(self._recent) > REMEMBERED_TURNS:
                self._recent.popitem(last=False)

    def similarity(self, samples: Samples) -> dict[str, float]:
        """Cosine similarity of ``samples`` to each known voiceprint."""
        embedding = self.encoder.embed(samples)
        with self._lock:
            return {name: float(embedding @ v) for name, v in self.voiceprints.items()}

    def _match(self, embedding: Embedding) -> str | None:
        with self._lock:
            scores = [(float(embedding @ v), name) for name, v in self.voiceprints.items()]
            best = max(scores) if scores else (-1.0, None)
            pending = [s for s in self.speakers if s not in self.voiceprints]
            if best[0] >= (self.first_words_similarity if pending else self.min_similarity):
                return best[1]
            if not pending:
                return None
            # A voice nobody has yet: the next participant without a voiceprint (first words).
            name = pending[0]
            self.voiceprints[name] = embedding
        if self.on_enrolled is not None:
            self.on_enrolled(name)
        return name

    def _nearest(self, embedding: Embedding) -> str | None:
        """The closest known voiceprint without enrolling anyone (for window-level labels); None when
        the two closest are within ``margin`` of each other (the window does not decide)."""
        with self._lock:
            known = sorted(
                ((float(embedding @ v), name) for name, v in self.voiceprints.items()), reverse=True
            )
        if not known:
            return self.speakers[0]
        if len(known) > 1 and known[0][0] - known[1][0] < self.margin:
            return None
        return known[0][1]

    def split(self, segment: SpeechSegment) -> list[tuple[SpeechSegment, str | None]]:
        if len(self.speakers) == 1:
            return [(segment, self.speakers[0])]
        parts = self._split(segment)
        for part, _, embedding in parts:
            self._remember(part.start, embedding)
        return [(part, who) for part, who, _ in parts]

    def _split(self, segment: SpeechSegment) -> list[tuple[SpeechSegment, str | None, Embedding]]:
        centres, emb = self.encoder.windows(segment.samples, self.hop)
        if self.diarizer is not None:
            # The pretrained pipeline says where the speaker changes; voiceprints still say who.
            found = turns_of(self.diarizer(segment.samples, max_speakers=len(self.speakers)))
            if len(found) <= 1 or segment.duration < 2 * self.min_turn:
                return self._whole(segment, emb)
            found[0] = Turn(0.0, found[0].end, found[0].speaker)
            found[-1] = Turn(found[-1].start, segment.duration, found[-1].speaker)
        else:
            names = _fill([self._nearest(e) for e in emb])
            if len(set(names)) <= 1 or segment.duration < 2 * self.min_turn:
                return self._whole(segment, emb)
            index = sorted(set(names))
            labels = [index[k] for k in smooth([index.index(n) for n in names])]
            found = turns_between(centres, labels, 0.0, segment.duration)
        merged: list[Turn] = []
        for turn in found:
            if merged and (turn.end - turn.start < self.min_turn or merged[-1].speaker == turn.speaker):
                merged[-1] = Turn(merged[-1].start, turn.end, merged[-1].speaker)
            else:
                merged.append(turn)
        if len(merged) == 1:
            return self._whole(segment, emb)
        # Each turn is matched as a whole (a window's nearest voiceprint may be a poor match), and
        # neighbours that then match the same person are one turn again; so is a turn matching nobody
        # (a change of speaker inside an utterance is to someone enrolled).
        matched: list[tuple[float, float, str | None]] = []
        for turn in merged:
            a, b = round(turn.start * SAMPLE_RATE), round(turn.end * SAMPLE_RATE)
            who = self._match(self.encoder.embed(segment.samples[a:b]))
            if matched and who is None:
                matched[-1] = (matched[-1][0], turn.end, matched[-1][2])
            elif matched and matched[-1][2] in (who, None):
                matched[-1] = (matched[-1][0], turn.end, who)
            else:
                matched.append((turn.start, turn.end, who))
        if len(matched) == 1:
            return [(segment, matched[0][2], _mean(emb))]
        out: list[tuple[SpeechSegment, str | None, Embedding]] = []
        for start, end, who in matched:
            piece = segment.samples[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
            part = SpeechSegment(segment.source, segment.start + start, segment.start + end, piece)
            out.append((part, who, self.encoder.embed(piece)))
        return out

    def _whole(
        self, segment: SpeechSegment, windows: npt.NDArray[np.float32]
    ) -> list[tuple[SpeechSegment, str | None, Embedding]]:
        embedding = _mean(windows)
        return [(segment, self._match(embedding), embedding)]


def _fill(labels: list[str | None]) -> list[str]:
    """Undecided windows (None) take the label of the last decided one before them (else after);
    empty when none decides."""
    decided = [x for x in labels if x is not None]
    if not decided:
        return []
    out: list[str] = []
    for label in labels:
        out.append(label if label is not None else (out[-1] if out else decided[0]))
    return out


def _mean(embeddings: npt.NDArray[np.float32]) -> Embedding:
    mean = embeddings.mean(axis=0)
    return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-9), dtype=np.float32)
