"""Face check (人脸核验): detection (MTCNN on ``cv2.dnn``), alignment and embedding (dlib ResNet),
quality rules for ID photos, multi-frame verification with an undecided band, and a simple liveness
check. Plain values in and out (BGR numpy pictures); nothing here knows of the store or a hearing.
"""

from devices.face.analyzer import (
    EnrolledFace,
    FaceAnalyzer,
    FaceObservation,
    FrameAnalysis,
    PhotoRejected,
    decode_image,
    shared_analyzer,
)
from devices.face.detect import Detection, MtcnnDetector
from devices.face.embed import (
    MODEL_NAME,
    Embedding,
    FaceEmbedder,
    distance,
    embedding_from_bytes,
    embedding_to_bytes,
    similarity,
)
from devices.face.liveness import LivenessCheck, LivenessResult, LivenessSettings
from devices.face.models import FaceModelPaths, FaceModelsMissing, default_model_paths
from devices.face.quality import ENROLMENT_RULES, PROBE_RULES, FaceQuality, QualityRules
from devices.face.verify import Decision, FaceTemplate, MultiFrameVerifier, VerifierSettings, verify_once

__all__ = [
    "ENROLMENT_RULES",
    "MODEL_NAME",
    "PROBE_RULES",
    "Decision",
    "Detection",
    "Embedding",
    "EnrolledFace",
    "FaceAnalyzer",
    "FaceEmbedder",
    "FaceModelPaths",
    "FaceModelsMissing",
    "FaceObservation",
    "FaceQuality",
    "FaceTemplate",
    "FrameAnalysis",
    "LivenessCheck",
    "LivenessResult",
    "LivenessSettings",
    "MtcnnDetector",
    "MultiFrameVerifier",
    "PhotoRejected",
    "QualityRules",
    "VerifierSettings",
    "decode_image",
    "default_model_paths",
    "distance",
    "embedding_from_bytes",
    "embedding_to_bytes",
    "shared_analyzer",
    "similarity",
    "verify_once",
]
