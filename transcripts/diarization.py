"""Who is speaking on a channel several people share (a table microphone, a party and their agent on
one phone): speaker embeddings matched to the voiceprints of the participants enrolled on it.

pyannote.audio's pretrained pipelines come from a model hub and are not packaged, so the pipeline is
assembled from packaged parts: Silero VAD (the speech), the speaker encoder that ships inside the
``resemblyzer`` wheel (a 3-layer LSTM, 256-d embeddings of 1.6 s windows), and either matching to
enrolled voiceprints or clustering into the known number of speakers. The encoder runs here in numpy
(its weights are read from the wheel's legacy PyTorch file without torch), so diarization needs
neither torch nor librosa; ``pyannote.metrics`` scores it in ``bench/``.

Voiceprints come from enrolment audio or, failing that, from a participant's first words: the first
turn that matches no known voiceprint is taken to be the next enrolled participant without one.
"""

from __future__ import annotations

import importlib.util
import pickle
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from devices.media import Samples
from transcripts.vad import SAMPLE_RATE, SpeechSegment

Embedding = npt.NDArray[np.float32]

WINDOW_FRAMES = 160
"""1.6 s of 10 ms mel frames: the encoder's partial-utterance length."""
HOP = 160
N_FFT = 400
N_MELS = 40


class DiarizationError(Exception):
    pass


# -- the resemblyzer weights, read without torch ------------------------------------------------------


class _Storage:
    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype


@dataclass
class _LazyTensor:
    key: str
    dtype: Any
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


_STORAGE_TYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "HalfStorage": np.float16,
}


def _rebuild_tensor(storage: tuple[str, Any], offset: int, size: Any, stride: Any, *_: Any) -> _LazyTensor:
    key, dtype = storage
    return _LazyTensor(key, dtype, int(offset), tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_TYPES:
            return _Storage(_STORAGE_TYPES[name])
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the weights file")

    def persistent_load(self, pid: Any) -> Any:
        # ('storage', storage_type, key, location, size[, view_metadata])
        kind, storage_type, key = pid[0], pid[1], pid[2]
        if kind != "storage" or not isinstance(storage_type, _Storage):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return (str(key), storage_type.dtype)


def read_legacy_torch(path: Path) -> dict[str, npt.NDArray[Any]]:
    """The tensors of a legacy (pre-1.6, non-zip) PyTorch ``.pt`` file as numpy arrays."""
    with path.open("rb") as f:
        magic = pickle.load(f)
        if magic != 0x1950A86A20F9469CFC6C:
            raise DiarizationError(f"{path}: not a legacy PyTorch file")
        pickle.load(f)  # protocol version
        pickle.load(f)  # sys info
        obj = _Unpickler(f).load()
        keys = pickle.load(f)
        storages: dict[str, npt.NDArray[Any]] = {}
        dtypes: dict[str, Any] = {}

        def collect(o: Any) -> None:
            if isinstance(o, _LazyTensor):
                dtypes[o.key] = o.dtype
            elif isinstance(o, dict):
                for v in o.values():
                    collect(v)

        collect(obj)
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            dtype = np.dtype(dtypes.get(str(key), np.float32))
            storages[str(key)] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    tensors: dict[str, npt.NDArray[Any]] = {}

    def materialize(prefix: str, o: Any) -> None:
        if isinstance(o, _LazyTensor):
            base = storages[o.key]
            item = base.itemsize
            tensors[prefix] = np.lib.stride_tricks.as_strided(
                base[o.offset :], shape=o.size, strides=tuple(s * item for s in o.stride)
            ).copy()
        elif isinstance(o, dict):
            for k, v in o.items():
                materialize(f"{prefix}.{k}" if prefix else str(k), v)

    materialize("", obj)
    return tensors


def resemblyzer_weights() -> Path:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise DiarizationError(
            "diarization needs the speaker encoder in the resemblyzer wheel "
            "(pip install --no-deps resemblyzer)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise DiarizationError(f"speaker encoder weights missing: {path}")
    return path


# -- the encoder ---------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _mel_filters() -> npt.NDArray[np.float64]:
    """librosa's default (Slaney) mel filter bank for 16 kHz, n_fft 400, 40 bands."""

    def hz_to_mel(f: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        f = np.asarray(f, dtype=np.float64)
        mel = f / (200.0 / 3)
        log_region = f >= 1000.0
        mel[log_region] = 15.0 + np.log(f[log_region] / 1000.0) / (np.log(6.4) / 27.0)
        return mel

    def mel_to_hz(m: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        m = np.asarray(m, dtype=np.float64)
        f = m * (200.0 / 3)
        log_region = m >= 15.0
        f[log_region] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m[log_region] - 15.0))
        return f

    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_points = mel_to_hz(
        np.linspace(hz_to_mel(np.array([0.0]))[0], hz_to_mel(np.array([SAMPLE_RATE / 2]))[0], N_MELS + 2)
    )
    fdiff = np.diff(mel_points)
    ramps = mel_points[:, np.newaxis] - fft_freqs[np.newaxis, :]
    weights = np.zeros((N_MELS, len(fft_freqs)))
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_points[2 : N_MELS + 2] - mel_points[:N_MELS]))[:, np.newaxis]
    return weights


def mel_frames(samples: Samples) -> npt.NDArray[np.float32]:
    """(frames, 40) mel power spectrogram as resemblyzer computes it (centered, Hann, power 2)."""
    audio = np.asarray(samples, dtype=np.float64)
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2))
    n = 1 + (len(padded) - N_FFT) // HOP
    if n <= 0:
        return np.zeros((0, N_MELS), np.float32)
    idx = np.arange(N_FFT)[np.newaxis, :] + HOP * np.arange(n)[:, np.newaxis]
    window = np.hanning(N_FFT + 1)[:-1]
    spectrum = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
    return np.asarray(spectrum @ _mel_filters().T, dtype=np.float32)


def _sigmoid(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * x)), dtype=np.float32)


class SpeakerEncoder:
    """resemblyzer's voice encoder (GE2E, 256-d) in numpy. Thread-safe."""

    def __init__(self, weights: Path | None = None) -> None:
        tensors = read_legacy_torch(weights or resemblyzer_weights())
        state = {k.removeprefix("model_state."): v for k, v in tensors.items()}
        try:
            self._layers = [
                (
                    state[f"lstm.weight_ih_l{k}"].astype(np.float32).T.copy(),
                    state[f"lstm.weight_hh_l{k}"].astype(np.float32).T.copy(),
                    (state[f"lstm.bias_ih_l{k}"] + state[f"lstm.bias_hh_l{k}"]).astype(np.float32),
                )
                for k in range(3)
            ]
            self._linear_w = state["linear.weight"].astype(np.float32).T.copy()
            self._linear_b = state["linear.bias"].astype(np.float32)
        except KeyError as exc:
            raise DiarizationError(f"the speaker encoder weights lack {exc}") from None

    def embed_frames(self, mels: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Embeddings of a batch of (batch, 160, 40) mel windows: (batch, 256), L2-normed."""
        x = mels
        for w_ih, w_hh, b in self._layers:
            batch, steps, _ = x.shape
            hidden = w_hh.shape[0]
            h = np.zeros((batch, hidden), np.float32)
            c = np.zeros((batch, hidden), np.float32)
            projected = x @ w_ih + b
            out = np.empty((batch, steps, hidden), np.float32)
            for t in range(steps):
                gates = projected[:, t] + h @ w_hh
                i = _sigmoid(gates[:, :hidden])
                f = _sigmoid(gates[:, hidden : 2 * hidden])
                g = np.tanh(gates[:, 2 * hidden : 3 * hidden])
                o = _sigmoid(gates[:, 3 * hidden :])
                c = f * c + i * g
                h = o * np.tanh(c)
                out[:, t] = h
            x = out
        raw = np.maximum(0.0, x[:, -1] @ self._linear_w + self._linear_b)
        norm = np.linalg.norm(raw, axis=1, keepdims=True)
        return np.asarray(raw / np.maximum(norm, 1e-9), dtype=np.float32)

    def windows(
        self, samples: Samples, hop: float = 0.4
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
        """Embeddings of 1.6 s windows every ``hop`` seconds: (window centres in seconds, embeddings).
        Audio shorter than a window is zero-padded to one."""
        audio = normalize_volume(samples)
        mel = mel_frames(audio)
        if len(mel) < WINDOW_FRAMES:
            mel = np.pad(mel, ((0, WINDOW_FRAMES - len(mel)), (0, 0)))
        step = max(1, round(hop * 100))
        starts = list(range(0, len(mel) - WINDOW_FRAMES + 1, step)) or [0]
        if starts[-1] + WINDOW_FRAMES < len(mel) - step // 2:
            starts.append(len(mel) - WINDOW_FRAMES)
        batch = np.stack([mel[s : s + WINDOW_FRAMES] for s in starts])
        centres = (np.asarray(starts, dtype=np.float64) + WINDOW_FRAMES / 2) / 100.0
        return centres, self.embed_frames(batch)

    def embed(self, samples: Samples) -> Embedding:
        """One voiceprint for an utterance: the normalized mean of its windows."""
        _, emb = self.windows(samples, hop=0.8)
        mean = emb.mean(axis=0)
        return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-9), dtype=np.float32)


def normalize_volume(samples: Samples, target_dbfs: float = -30.0) -> Samples:
    """Raise quiet audio to ``target_dbfs`` (never lowers it), as resemblyzer's preprocessing does."""
    audio = np.asarray(samples, dtype=np.float32)
    if len(audio) == 0:
        return audio
    dbfs = 10 * np.log10(max(float(np.mean(audio.astype(np.float64) ** 2)), 1e-12))
    gain = target_dbfs - dbfs
    return audio * np.float32(10 ** (gain / 20)) if gain > 0 else audio


# -- turns -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


def _smooth(labels: list[int], width: int = 3) -> list[int]:
    """Majority vote over ``width`` neighbouring windows: one odd window does not make a turn."""
    if len(labels) < width:
        return labels
    half = width // 2
    out = []
    for i in range(len(labels)):
        around = labels[max(0, i - half) : i + half + 1]
        out.append(max(set(around), key=around.count))
    return out


def _turns(
    centres: npt.NDArray[np.float64], labels: Sequence[int], start: float, end: float, names: Sequence[str]
) -> list[Turn]:
    turns: list[Turn] = []
    for i, label in enumerate(labels):
        t0 = start if i == 0 else start + (centres[i - 1] + centres[i]) / 2
        t1 = end if i == len(labels) - 1 else start + (centres[i] + centres[i + 1]) / 2
        if turns and turns[-1].speaker == names[label]:
            turns[-1] = Turn(turns[-1].start, t1, names[label])
        else:
            turns.append(Turn(t0, t1, names[label]))
    return turns


def cluster(
    embeddings: npt.NDArray[np.float32], n: int, *, restarts: int = 20, iterations: int = 50, seed: int = 0
) -> list[int]:
    """Cluster L2-normed window embeddings into exactly ``n`` speakers: spherical k-means, the best of
    ``restarts`` seeded starts. (Guessing the number of speakers failed badly in our checks; greedy
    agglomerative merging let one odd window keep a cluster of its own: 47% DER on pyannote's
    sample against 15% for this.)"""
    m = len(embeddings)
    if n < 1:
        raise ValueError("n must be at least 1")
    if m <= n:
        return list(range(m))
    x = embeddings.astype(np.float64)
    rng = np.random.default_rng(seed)
    best_score, best = -np.inf, np.zeros(m, np.int64)
    for _ in range(restarts):
        centres = x[rng.choice(m, n, replace=False)]
        labels = np.full(m, -1)
        for _ in range(iterations):
            new = np.argmax(x @ centres.T, axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for k in range(n):
                members = x[labels == k]
                centre = members.mean(axis=0) if len(members) else x[rng.integers(m)]
                centres[k] = centre / max(float(np.linalg.norm(centre)), 1e-9)
        score = float(np.sum(np.max(x @ centres.T, axis=1)))
        if score > best_score:
            best_score, best = score, labels
    return [int(v) for v in best]


def diarize(
    samples: Samples,
    spans: Sequence[tuple[float, float]],
    encoder: SpeakerEncoder,
    *,
    speakers: int,
    hop: float = 0.4,
) -> list[Turn]:
    """Speaker turns of a recording (16 kHz) over its speech ``spans`` (seconds), with the number of
    speakers known; labels are ``S0``, ``S1``… in order of first appearance."""
    centres_all: list[float] = []
    embeds: list[npt.NDArray[np.float32]] = []
    owner: list[int] = []
    for k, (a, b) in enumerate(spans):
        piece = samples[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)]
        if len(piece) < SAMPLE_RATE // 4:
            continue
        centres, emb = encoder.windows(piece, hop)
        centres_all += [a + c for c in centres]
        embeds.append(emb)
        owner += [k] * len(centres)
    if not embeds:
        return []
    labels = cluster(np.concatenate(embeds), speakers)
    order: dict[int, str] = {}
    for label in labels:
        order.setdefault(label, f"S{len(order)}")
    turns: list[Turn] = []
    for k, (a, b) in enumerate(spans):
        idx = [i for i, o in enumerate(owner) if o == k]
        if not idx:
            continue
        local = np.asarray([centres_all[i] - a for i in idx])
        seq = _smooth([labels[i] for i in idx])
        names = {label: order[label] for label in set(seq)}
        mapped = sorted(names)
        turns += _turns(local, [mapped.index(x) for x in seq], a, b, [names[x] for x in mapped])
    return turns


class VoiceprintSplitter:
    """Splits a shared channel's utterances among the participants enrolled on it, by voiceprint.

    ``speakers`` are the labels of the enrolled participants (in the order their first words are
    expected when they have no enrolment audio); ``voiceprints`` those already known."""

    def __init__(
        self,
        encoder: SpeakerEncoder,
        speakers: Sequence[str],
        voiceprints: dict[str, Embedding] | None = None,
        *,
        min_similarity: float = 0.75,
        hop: float = 0.4,
        min_turn: float = 1.0,
        on_enrolled: Callable[[str], None] | None = None,
    ) -> None:
        """``min_similarity``: below it (to every known voiceprint) a turn is a new voice, enrolled as
        the next participant without a voiceprint. ``min_turn``: shorter speaker changes inside an
        utterance are not split off."""
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
        self.on_enrolled = on_enrolled
        self._lock = threading.Lock()

    def enroll(self, speaker: str, samples: Samples) -> None:
        if speaker not in self.speakers:
            raise ValueError(f"{speaker!r} is not enrolled on this channel")
        with self._lock:
            self.voiceprints[speaker] = self.encoder.embed(samples)

    def _match(self, embedding: Embedding) -> str:
        with self._lock:
            known = list(self.voiceprints.items())
            scores = [(float(embedding @ v), name) for name, v in known]
            best = max(scores) if scores else (-1.0, "")
            pending = [s for s in self.speakers if s not in self.voiceprints]
            if best[0] >= self.min_similarity or not pending:
                return best[1] if best[1] else self.speakers[0]
            # A voice nobody has yet: the next participant without a voiceprint (first words).
            name = pending[0]
            self.voiceprints[name] = embedding
        if self.on_enrolled is not None:
            self.on_enrolled(name)
        return name

    def split(self, segment: SpeechSegment) -> list[tuple[SpeechSegment, str | None]]:
        if len(self.speakers) == 1:
            return [(segment, self.speakers[0])]
        centres, emb = self.encoder.windows(segment.samples, self.hop)
        names = [self._match_quiet(e) for e in emb]
        if len(set(names)) == 1 or segment.duration < 2 * self.min_turn:
            return [(segment, self._match(self.encoder.embed(segment.samples)))]
        index = sorted(set(names))
        labels = _smooth([index.index(n) for n in names])
        turns = _turns(centres, labels, 0.0, segment.duration, index)
        merged: list[Turn] = []
        for turn in turns:
            if merged and (turn.end - turn.start < self.min_turn or merged[-1].speaker == turn.speaker):
                merged[-1] = Turn(merged[-1].start, turn.end, merged[-1].speaker)
            else:
                merged.append(turn)
        out: list[tuple[SpeechSegment, str | None]] = []
        for turn in merged:
            a, b = round(turn.start * SAMPLE_RATE), round(turn.end * SAMPLE_RATE)
            piece = segment.samples[a:b]
            out.append(
                (
                    SpeechSegment(
                        segment.source, segment.start + turn.start, segment.start + turn.end, piece
                    ),
                    turn.speaker,
                )
            )
        return out

    def _match_quiet(self, embedding: Embedding) -> str:
        """The closest known voiceprint without enrolling anyone (for window-level labels)."""
        with self._lock:
            known = list(self.voiceprints.items())
        if not known:
            return self.speakers[0]
        return max(known, key=lambda kv: float(embedding @ kv[1]))[0]
