"""The Silero VAD network: the speech probability of each 32 ms window of 16 kHz audio.

The v6 ONNX model ships inside ``faster-whisper`` (``faster_whisper/assets``) and runs on onnxruntime,
its recurrent state carried from window to window. One :class:`SileroVad` serves every channel (each
keeps its own :class:`VadState`): the device side's per-channel activity (:mod:`devices.activity`) and
the transcript side's utterance detector (:mod:`transcripts.vad`) both run it.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from devices.media import Samples

SAMPLE_RATE = 16000
"""Silero VAD runs on 16 kHz audio in windows of :data:`WINDOW` samples."""
WINDOW = 512
"""Samples per window (32 ms)."""
CONTEXT = 64
"""Samples of the previous window the v6 network sees in front of each window."""
STATE_SHAPE = (1, 1, 128)
MODEL_FILE = "silero_vad_v6.onnx"

FloatArray = npt.NDArray[np.float32]


class VadModelNotFound(RuntimeError):
    """The Silero VAD model file is missing or unusable."""


def find_vad_model(path: str | Path | None = None) -> Path:
    """The Silero VAD v6 ONNX file: ``path`` when given, else the one in the ``faster-whisper`` wheel
    (found without importing faster-whisper, which would load CTranslate2)."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise VadModelNotFound(f"语音活动检测模型不存在 (VAD model not found): {p}")
        return p
    spec = importlib.util.find_spec("faster_whisper")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "assets" / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise VadModelNotFound(
        f"未找到语音活动检测模型 (Silero VAD model {MODEL_FILE} not found): install the package that ships "
        "it (`pip install faster-whisper==1.2.1`) or give the path of a Silero VAD v6 ONNX file"
    )


@dataclass
class VadState:
    """One channel's recurrent state in the network, the end of the last window (the next one's
    context), and the samples not yet making a full window."""

    h: FloatArray
    c: FloatArray
    context: FloatArray
    pending: FloatArray


class SileroVad:
    """The Silero VAD network, shared by every channel (each keeps its own :class:`VadState`).

    Thread-safe: onnxruntime sessions may be run from several threads.
    """

    def __init__(self, path: str | Path | None = None, *, threads: int = 1) -> None:
        """:param threads: onnxruntime intra-op threads; one is plenty (about 0.2 ms per window)."""
        # Imported by name: onnxruntime ships no type information, and only this class needs it.
        onnxruntime: Any = importlib.import_module("onnxruntime")
        self.path = find_vad_model(path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 4
        try:
            self._session = onnxruntime.InferenceSession(
                str(self.path), providers=["CPUExecutionProvider"], sess_options=options
            )
        except Exception as exc:
            raise VadModelNotFound(f"{self.path} is not a usable ONNX model: {exc}") from exc
        names = {i.name for i in self._session.get_inputs()}
        if names != {"input", "h", "c"}:
            raise VadModelNotFound(
                f"{self.path} is not a Silero VAD v6 model (inputs {sorted(names)}, expected input, h, c)"
            )

    @staticmethod
    def new_state() -> VadState:
        """The state at the start of a stream (and after a pause long enough to start afresh)."""
        zeros = np.zeros(STATE_SHAPE, np.float32)
        return VadState(zeros, zeros.copy(), np.zeros(CONTEXT, np.float32), np.zeros(0, np.float32))

    def probabilities(self, state: VadState, samples: Samples) -> FloatArray:
        """Speech probability of every complete 32 ms window in ``state.pending + samples`` (16 kHz);
        the remainder waits for the next call."""
        return self.run(state, self.take_windows(state, samples))

    @staticmethod
    def take_windows(state: VadState, samples: Samples) -> FloatArray:
        """The complete windows of ``state.pending + samples``, one per row (16 kHz); the remainder
        stays pending. Hand them to :meth:`run` or :meth:`skip`, in order."""
        audio = np.concatenate([state.pending, np.asarray(samples, np.float32)])
        n = len(audio) // WINDOW
        state.pending = audio[n * WINDOW :]
        return audio[: n * WINDOW].reshape(n, WINDOW)

    def run(self, state: VadState, windows: FloatArray) -> FloatArray:
        """Speech probability of each window (rows of :data:`WINDOW` samples following those ``state``
        has seen), carrying the network's state across them."""
        if len(windows) == 0:
            return np.zeros(0, np.float32)
        # Each window is preceded by the last CONTEXT samples of the one before it.
        previous = np.concatenate([state.context[None, :], windows[:-1, -CONTEXT:]], axis=0)
        batch = np.ascontiguousarray(np.concatenate([previous, windows], axis=1), dtype=np.float32)
        out: list[Any] = self._session.run(None, {"input": batch, "h": state.h, "c": state.c})
        probs, state.h, state.c = out
        state.context = np.array(windows[-1, -CONTEXT:], np.float32)
        return np.asarray(probs, np.float32).reshape(-1)

    @staticmethod
    def skip(state: VadState, windows: FloatArray) -> None:
        """Move ``state`` past windows the caller judged silence without running the network (too
        quiet to matter): the network's state stays, and the last window is still the next one's
        context."""
        if len(windows):
            state.context = np.array(windows[-1, -CONTEXT:], np.float32)
