"""The packaged shared-channel diarization pipeline, as a pyannote.audio ``Pipeline`` class.

It imports pyannote.audio (and torch) when imported: :mod:`transcripts.diarization` imports it only
when a pipeline is built. Being a module-level class, it can also be named in a pipeline folder's
``config.yaml`` (``pipeline: {name: transcripts.channel_pipeline.ChannelPipeline}``), like pyannote's
own pretrained pipelines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from transcripts.pyannote_env import load_pyannote

load_pyannote()

from pyannote.audio.core.pipeline import Pipeline  # noqa: E402
from pyannote.audio.pipelines.clustering import (  # noqa: E402
    AgglomerativeClustering,
    KMeansClustering,
)
from pyannote.core import Annotation, Segment, SlidingWindow, SlidingWindowFeature  # noqa: E402

from devices.media import Samples  # noqa: E402
from devices.resample import resample  # noqa: E402
from devices.vad import SileroVad  # noqa: E402
from transcripts.speaker_encoder import WINDOW_SECONDS, SpeakerEncoder  # noqa: E402
from transcripts.turns import Turn, smooth, speech_regions, turns_between  # noqa: E402
from transcripts.vad import SAMPLE_RATE  # noqa: E402

CLUSTERINGS = ("kmeans", "agglomerative")


def samples_of(file: dict[str, Any]) -> Samples:
    """16 kHz mono samples of an in-memory pyannote file (``{"waveform", "sample_rate"}``)."""
    waveform = file["waveform"]
    audio = np.asarray(waveform.numpy() if hasattr(waveform, "numpy") else waveform, dtype=np.float32)
    audio = audio.mean(axis=0) if audio.ndim == 2 else audio
    rate = int(file.get("sample_rate", SAMPLE_RATE))
    return audio if rate == SAMPLE_RATE else resample(audio, rate, SAMPLE_RATE)


class ChannelPipeline(Pipeline):
    """Silero VAD regions, the packaged speaker encoder's 1.6 s windows (through pyannote's
    ``Inference``), pyannote's clustering into exactly ``num_speakers``, a majority vote over three
    neighbouring windows. Audio files must be given as waveforms (torchcodec is not usable here)."""

    def __init__(
        self,
        clustering: str = "kmeans",
        hop: float = 0.4,
        encoder: SpeakerEncoder | None = None,
        vad: SileroVad | None = None,
        **_: Any,  # from_pretrained passes token and cache_dir: nothing is downloaded here
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if clustering not in CLUSTERINGS:
            raise ValueError(f"clustering must be one of {CLUSTERINGS}, not {clustering!r}")
        self.encoder = encoder or SpeakerEncoder()
        self.vad = vad or SileroVad()
        self.hop = hop
        self.clustering_name = clustering
        if clustering == "kmeans":
            self.clustering = KMeansClustering(metric="cosine")
        else:
            self.clustering = AgglomerativeClustering(metric="cosine")

    def default_parameters(self) -> dict[str, Any]:
        if self.clustering_name == "kmeans":
            return {}
        # The count is forced; the threshold only orders the merges (average linkage did best of
        # pyannote's methods on the bench, still well behind k-means).
        return {"clustering": {"method": "average", "threshold": 0.5, "min_cluster_size": 3}}

    def apply(self, file: dict[str, Any], num_speakers: int | None = None, **_: Any) -> Annotation:
        if num_speakers is None:
            raise ValueError("the packaged diarization pipeline needs the number of speakers")
        out = Annotation(uri=str(file.get("uri", "channel")))
        for turn in self.turns(samples_of(file), num_speakers):
            if turn.end > turn.start:
                out[Segment(turn.start, turn.end)] = turn.speaker
        return out

    def turns(self, samples: Samples, speakers: int) -> list[Turn]:
        centres: list[npt.NDArray[np.float64]] = []
        embeddings: list[npt.NDArray[np.float32]] = []
        kept: list[tuple[float, float]] = []
        for a, b in speech_regions(samples, self.vad):
            piece = samples[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)]
            if len(piece) < SAMPLE_RATE // 4:
                continue
            c, e = self.encoder.windows(piece, self.hop)
            centres.append(c)
            embeddings.append(e)
            kept.append((a, b))
        if not embeddings:
            return []
        stacked = np.concatenate(embeddings).astype(np.float64)
        # pyannote's clustering works on (chunk, local speaker, dim) with a segmentation saying who is
        # active: here one window is one chunk with its one speaker, active throughout.
        activity = SlidingWindowFeature(
            np.ones((len(stacked), 1, 1)), SlidingWindow(duration=WINDOW_SECONDS, step=self.hop)
        )
        hard, _, _ = self.clustering(
            stacked[:, None, :].copy(), segmentations=activity, num_clusters=max(1, speakers)
        )
        labels = [int(v) for v in hard[:, 0]]
        names: dict[int, str] = {}
        for label in labels:
            names.setdefault(label, f"S{len(names)}")
        turns: list[Turn] = []
        i = 0
        for (a, b), c in zip(kept, centres, strict=True):
            own = smooth(labels[i : i + len(c)])
            i += len(c)
            turns += turns_between(c, [names[x] for x in own], a, b)
        return turns
