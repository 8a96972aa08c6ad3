"""The packaged speaker encoder as a pyannote.audio model: voiceprints of 1.6 s windows.

pyannote.audio's own embedding models (WeSpeaker ResNet) come from a model hub and are not packaged;
the ``resemblyzer`` wheel ships a GE2E voice encoder (3-layer LSTM over 40 mel bands, 256-d, 17 MB,
mostly trained on English read speech). :class:`VoiceEncoderModel` is that network as a pyannote
``Model`` (its weights loaded with ``torch.load`` from the wheel, its mel front end torchaudio's), so
windows are cut, batched and laid on a :class:`~pyannote.core.SlidingWindow` by pyannote's
``Inference``. :class:`SpeakerEncoder` is what the diarizer and the live splitter use.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from devices.media import Samples
from transcripts.pyannote_env import DiarizationError, load_pyannote

if TYPE_CHECKING:
    from pyannote.audio import Model

Embedding = npt.NDArray[np.float32]

SAMPLE_RATE = 16000
WINDOW_SECONDS = 1.6
"""The encoder's partial-utterance length (160 mel frames of 10 ms), as it was trained."""
N_FFT = 400
HOP = 160
N_MELS = 40
DIMENSION = 256


class SpeakerEncoderMissing(DiarizationError):
    """The speaker encoder's weights (the resemblyzer wheel) are not installed."""


def resemblyzer_weights() -> Path:
    """``pretrained.pt`` in the installed resemblyzer package, found without importing it (its
    ``__init__`` wants librosa and webrtcvad, which this project does not install)."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise SpeakerEncoderMissing(
            "说话人分离需要 resemblyzer 包中的声纹模型 (the speaker encoder ships in the resemblyzer wheel: "
            "pip install --no-deps resemblyzer==0.1.4)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise SpeakerEncoderMissing(f"声纹模型文件缺失 (speaker encoder weights missing): {path}")
    return path


def normalize_volume(samples: Samples, target_dbfs: float = -30.0) -> Samples:
    """Raise quiet audio to ``target_dbfs`` (never lowers it), as the encoder was trained."""
    audio = np.asarray(samples, dtype=np.float32)
    if len(audio) == 0:
        return audio
    dbfs = 10 * np.log10(max(float(np.mean(audio.astype(np.float64) ** 2)), 1e-12))
    gain = target_dbfs - dbfs
    return audio * np.float32(10 ** (gain / 20)) if gain > 0 else audio


def _model_class() -> type[Model]:
    load_pyannote()
    import torch
    from pyannote.audio import Model
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from torchaudio.transforms import MelSpectrogram

    class VoiceEncoderModel(Model):
        """resemblyzer's GE2E encoder: (batch, 1, samples) → (batch, 256) L2-normed embeddings."""

        def __init__(self, sample_rate: int = SAMPLE_RATE, num_channels: int = 1) -> None:
            super().__init__(sample_rate=sample_rate, num_channels=num_channels)
            # librosa's defaults, as resemblyzer computed its features: Slaney mel scale and norm,
            # power spectrum of a periodic Hann window, zero-padded centred frames, no log.
            self.mel = MelSpectrogram(
                sample_rate=sample_rate,
                n_fft=N_FFT,
                hop_length=HOP,
                n_mels=N_MELS,
                power=2.0,
                center=True,
                pad_mode="constant",
                norm="slaney",
                mel_scale="slaney",
            )
            self.lstm = torch.nn.LSTM(N_MELS, DIMENSION, num_layers=3, batch_first=True)
            self.linear = torch.nn.Linear(DIMENSION, DIMENSION)
            self.relu = torch.nn.ReLU()
            self.specifications = Specifications(
                problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=WINDOW_SECONDS
            )

        @property
        def dimension(self) -> int:
            return DIMENSION

        def num_frames(self, num_samples: int) -> int:
            return 1 + num_samples // HOP

        def receptive_field_size(self, num_frames: int = 1) -> int:
            return N_FFT + (num_frames - 1) * HOP

        def receptive_field_center(self, frame: int = 0) -> int:
            return frame * HOP

        def forward(self, waveforms: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            mels = self.mel(waveforms[:, 0]).transpose(1, 2)  # (batch, frames, 40)
            _, (hidden, _) = self.lstm(mels)
            raw = self.relu(self.linear(hidden[-1]))
            return torch.nn.functional.normalize(raw, dim=1)

    return VoiceEncoderModel


def load_voice_encoder(weights: Path | None = None) -> Model:
    """The packaged encoder as a pyannote ``Model`` (CPU, eval mode)."""
    import torch

    path = weights or resemblyzer_weights()
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        state = {k: v for k, v in checkpoint["model_state"].items() if not k.startswith("similarity_")}
        model = _model_class()()
        model.load_state_dict(state, strict=False)
    except (KeyError, RuntimeError, OSError) as exc:
        raise SpeakerEncoderMissing(f"声纹模型无法读取 (speaker encoder unreadable): {path}: {exc}") from exc
    missing = {k for k in ("lstm.weight_ih_l0", "linear.weight") if k not in state}
    if missing:
        raise SpeakerEncoderMissing(f"声纹模型不完整 (speaker encoder lacks {sorted(missing)}): {path}")
    return model.eval()


class SpeakerEncoder:
    """Voiceprints of 16 kHz audio through pyannote's ``Inference``. Thread-safe.

    ``threads``: torch's intra-op threads (process-wide; None leaves torch's default). One is the
    default: the LSTM's small matrix products gain little from a second thread, and on a 2-core room
    machine that thread is taken from the recognizer and the recording (measured: 0.6 s for pyannote's
    30 s sample on one thread, several times that on two with the other core busy)."""

    def __init__(self, weights: Path | None = None, *, threads: int | None = 1) -> None:
        load_pyannote()
        import torch

        if threads is not None:
            torch.set_num_threads(threads)
        self.model = load_voice_encoder(weights)
        self._lock = threading.Lock()
        self._inference: dict[float, Any] = {}

    def _sliding(self, hop: float) -> Any:
        from pyannote.audio import Inference

        if hop not in self._inference:
            self._inference[hop] = Inference(
                self.model, window="sliding", duration=WINDOW_SECONDS, step=hop, batch_size=32
            )
        return self._inference[hop]

    def windows(
        self, samples: Samples, hop: float = 0.4
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
        """Embeddings of 1.6 s windows every ``hop`` seconds: (window centres in seconds, (n, 256)).

        The audio is raised to the encoder's level first. A window that would run past the end is
        replaced by the last full one (the LSTM's final state would otherwise be mostly padding), and
        audio shorter than a window is repeated to fill one."""
        import torch

        audio = normalize_volume(samples)
        length = len(audio) / SAMPLE_RATE
        window = round(WINDOW_SECONDS * SAMPLE_RATE)
        if len(audio) < window:
            audio = np.tile(audio, window // max(1, len(audio)) + 1)[:window] if len(audio) else audio
            if len(audio) == 0:
                return np.zeros(0), np.zeros((0, DIMENSION), np.float32)
        file = {"waveform": torch.from_numpy(np.ascontiguousarray(audio))[None], "sample_rate": SAMPLE_RATE}
        with self._lock:
            output = self._sliding(hop)(file)
        frames = output.sliding_window
        data = np.asarray(output.data, dtype=np.float32)
        full = [i for i in range(len(data)) if frames[i].end <= len(audio) / SAMPLE_RATE + 1e-6]
        starts = [frames[i].start for i in full]
        rows = [data[i] for i in full]
        last_start = len(audio) / SAMPLE_RATE - WINDOW_SECONDS
        if not starts or last_start - starts[-1] > hop / 2:
            tail = torch.from_numpy(np.ascontiguousarray(audio[-window:]))[None, None]
            with self._lock, torch.inference_mode():
                rows.append(self.model(tail)[0].numpy())
            starts.append(max(0.0, last_start))
        centres = np.minimum(np.asarray(starts) + WINDOW_SECONDS / 2, length)
        return centres, np.stack(rows).astype(np.float32)

    def embed(self, samples: Samples) -> Embedding:
        """One voiceprint for an utterance: the normalized mean of its windows."""
        _, emb = self.windows(samples, hop=0.8)
        if len(emb) == 0:
            raise ValueError("no audio to embed")
        mean = emb.mean(axis=0)
        return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-9), dtype=np.float32)
