"""Alignment and embedding: dlib's 5-point landmark model places the face, dlib cuts the aligned
150×150 chip, and dlib's ResNet (``dlib_face_recognition_resnet_model_v1``) turns it into a 128-D
vector; two photos of one person lie within about 0.5 of each other (L2), different people farther.

The ResNet's weights are read from dlib's file but the network runs on onnxruntime
(:mod:`devices.face.resnet`): ``dlib-bin`` has no BLAS and spends ~150 ms a chip where onnxruntime takes
~6 ms on one thread, for the same descriptor to ~1e-6. dlib's own network is still used for jittered
embeddings (``jitters`` > 1).

dlib comes from ``dlib-bin`` (prebuilt, nothing to compile); the model files from
``face-recognition-models``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import dlib  # type: ignore[import-untyped]  # dlib-bin ships no type information
import numpy as np
import numpy.typing as npt

from devices.face.detect import Detection
from devices.face.models import FaceModelPaths, default_model_paths
from devices.face.resnet import DlibResnet
from devices.media import Image

Embedding = npt.NDArray[np.float32]
"""A 128-D face descriptor."""

EMBEDDING_SIZE = 128
CHIP_SIZE = 150
CHIP_PADDING = 0.25
MODEL_NAME = "dlib_resnet_v1"


@dataclass(frozen=True, slots=True, eq=False)
class AlignedFace:
    chip: Image
    """The aligned face, 150×150 RGB (as dlib's ResNet wants it)."""
    landmarks: tuple[tuple[float, float], ...]
    """dlib's five points in the source picture: outer and inner corner of each eye, below the nose."""


class FaceEmbedder:
    """Aligns and embeds faces. dlib's objects are not documented thread-safe: calls into dlib are
    serialised; the onnxruntime ResNet is thread-safe and runs outside the lock."""

    def __init__(self, paths: FaceModelPaths | None = None, *, jitters: int = 0) -> None:
        paths = paths or default_model_paths()
        self.jitters = jitters
        """Extra randomly jittered copies averaged per embedding: each costs a full network pass."""
        self._shape5 = dlib.shape_predictor(str(paths.shape_predictor_5))
        self._shape68: Any = None
        self._shape68_path = paths.shape_predictor_68
        self._resnet_path = paths.resnet
        self._net = DlibResnet(paths.resnet)
        self._dlib_net: Any = None
        self._lock = threading.Lock()

    def align(self, rgb: Image, detection: Detection) -> AlignedFace:
        """Cut the aligned chip of ``detection`` out of an RGB picture."""
        rgb = np.ascontiguousarray(rgb)
        with self._lock:
            shape = self._shape5(rgb, _rectangle(detection))
            chip = dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        points = tuple((float(p.x), float(p.y)) for p in shape.parts())
        return AlignedFace(np.asarray(chip, dtype=np.uint8), points)

    def embed(self, face: AlignedFace) -> Embedding:
        if self.jitters <= 1:  # dlib too runs one plain pass for 0 and 1
            return self._net(face.chip)
        with self._lock:
            if self._dlib_net is None:
                self._dlib_net = dlib.face_recognition_model_v1(str(self._resnet_path))
            vector = self._dlib_net.compute_face_descriptor(face.chip, self.jitters)
        return np.asarray(vector, dtype=np.float32)

    def load_landmarks68(self) -> None:
        """Load the 68-point model (100 MB, seconds to read) now rather than on the first frame."""
        with self._lock:
            if self._shape68 is None:
                self._shape68 = dlib.shape_predictor(str(self._shape68_path))

    def landmarks68(self, rgb: Image, detection: Detection) -> npt.NDArray[np.float64]:
        """The 68 iBUG landmarks (jaw, brows, nose, eyes, mouth) as a 68×2 array."""
        rgb = np.ascontiguousarray(rgb)
        self.load_landmarks68()
        with self._lock:
            shape = self._shape68(rgb, _rectangle(detection))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def _rectangle(detection: Detection) -> Any:
    left, top, right, bottom = (round(v) for v in detection.box)
    return dlib.rectangle(left, top, right, bottom)


def distance(a: Embedding, b: Embedding) -> float:
    """Euclidean distance between two embeddings (0 same picture; ≈0.3–0.5 same person)."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def similarity(dist: float) -> float:
    """A 0…1 score for people to read: 1 − distance/1.2 clipped (0.6 distance ↦ 0.5). The decision
    itself is always made on the distance."""
    return float(min(1.0, max(0.0, 1.0 - dist / 1.2)))


def embedding_to_bytes(vector: Embedding) -> bytes:
    arr = np.asarray(vector, dtype="<f4")
    if arr.shape != (EMBEDDING_SIZE,):
        raise ValueError(f"expected a {EMBEDDING_SIZE}-D embedding, got shape {arr.shape}")
    return arr.tobytes()


def embedding_from_bytes(data: bytes) -> Embedding:
    if len(data) != EMBEDDING_SIZE * 4:
        raise ValueError(f"a stored embedding has {EMBEDDING_SIZE * 4} bytes, got {len(data)}")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)
