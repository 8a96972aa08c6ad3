"""One picture in, faces out: detect (MTCNN) → pick the subject → align → measure → embed.

An enrolment (ID) photo must hold exactly one usable face and pass :data:`ENROLMENT_RULES`; a door or
remote-camera frame is analysed for its subject (the largest face) under :data:`PROBE_RULES`, and a
frame that breaks them is skipped rather than matched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from devices.face.detect import Detection, MtcnnDetector
from devices.face.embed import AlignedFace, Embedding, FaceEmbedder
from devices.face.quality import (
    ENROLMENT_RULES,
    PROBE_RULES,
    FaceQuality,
    QualityRules,
    competing_faces,
    measure,
    subject,
)
from devices.media import Image


class PhotoRejected(ValueError):
    """The photo cannot be used; ``code`` names the problem (``no_face``, ``several_faces``,
    ``too_small``, ``blurry``, ``too_dark``, ``overexposed``, ``not_frontal``, ``cut_off``,
    ``uncertain``, ``unreadable``) and the message says it in words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True, eq=False)
class FaceObservation:
    detection: Detection
    quality: FaceQuality
    problems: tuple[tuple[str, str], ...]
    """(code, words) of each quality rule this face breaks; empty when usable."""
    embedding: Embedding | None = field(default=None, repr=False)
    """None when the face is not usable. Never logged (``repr`` leaves it out)."""
    aligned: AlignedFace | None = field(default=None, repr=False)

    @property
    def usable(self) -> bool:
        return self.embedding is not None


@dataclass(frozen=True, slots=True, eq=False)
class FrameAnalysis:
    faces: int
    """Faces that could be the subject (see :func:`competing_faces`)."""
    subject: FaceObservation | None


@dataclass(frozen=True, slots=True, eq=False)
class EnrolledFace:
    embedding: Embedding = field(repr=False)
    quality: FaceQuality


class FaceAnalyzer:
    """Detector and embedder together. Loading the models takes about a second: share one."""

    def __init__(
        self,
        detector: MtcnnDetector | None = None,
        embedder: FaceEmbedder | None = None,
        *,
        probe_rules: QualityRules = PROBE_RULES,
        enrolment_rules: QualityRules = ENROLMENT_RULES,
    ) -> None:
        self.detector = detector or MtcnnDetector()
        self.embedder = embedder or FaceEmbedder()
        self.probe_rules = probe_rules
        self.enrolment_rules = enrolment_rules

    def analyze(
        self, image: Image, *, rules: QualityRules | None = None, embed: bool = True
    ) -> FrameAnalysis:
        """The subject of a BGR frame, embedded when it passes ``rules`` (default: the probe rules)."""
        rules = rules or self.probe_rules
        detections = self.detector.detect(image)
        face = subject(detections)
        if face is None:
            return FrameAnalysis(0, None)
        rgb = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        aligned = self.embedder.align(rgb, face)
        quality = measure(image, face, aligned.chip)
        problems = tuple(rules.problems(quality))
        vector = self.embedder.embed(aligned) if embed and not problems else None
        return FrameAnalysis(
            competing_faces(detections), FaceObservation(face, quality, problems, vector, aligned)
        )

    def embed(self, observed: FaceObservation) -> FaceObservation:
        """Embed a face analysed with ``embed=False`` (when it turned out to be needed)."""
        if observed.embedding is not None or observed.problems or observed.aligned is None:
            return observed
        vector = self.embedder.embed(observed.aligned)
        return FaceObservation(
            observed.detection, observed.quality, observed.problems, vector, observed.aligned
        )

    def enrol(self, image: Image) -> EnrolledFace:
        """Check an ID photo and embed its face; raises :class:`PhotoRejected` saying what is wrong."""
        detections = self.detector.detect(image)
        if not detections:
            raise PhotoRejected("no_face", "照片中未检测到人脸 (no face found in the photo)")
        count = competing_faces(detections)
        if count > 1:
            raise PhotoRejected(
                "several_faces", f"照片中有 {count} 张人脸，证件照只能有一人 (the photo shows {count} faces)"
            )
        result = self.analyze(image, rules=self.enrolment_rules)
        observed = result.subject
        assert observed is not None
        if observed.problems:
            code = observed.problems[0][0]
            words = "；".join(text for _, text in observed.problems)
            raise PhotoRejected(code, f"证件照不合格 (ID photo rejected): {words}")
        assert observed.embedding is not None
        return EnrolledFace(observed.embedding, observed.quality)

    def landmarks68(self, image: Image, detection: Detection) -> npt.NDArray[np.float64]:
        rgb = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)
        return self.embedder.landmarks68(rgb, detection)


def decode_image(data: bytes) -> Image:
    """A photo file's bytes (JPEG, PNG, …) as a BGR picture; :class:`PhotoRejected` when unreadable."""
    if not data:
        raise PhotoRejected("unreadable", "照片文件为空 (the photo file is empty)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise PhotoRejected("unreadable", "无法读取照片，请使用 JPEG 或 PNG 文件 (not a readable image)")
    return np.asarray(image, dtype=np.uint8)


_shared: FaceAnalyzer | None = None
_shared_lock = threading.Lock()


def shared_analyzer() -> FaceAnalyzer:
    """One analyzer per process with the packaged models (loaded on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FaceAnalyzer()
        return _shared
