"""MTCNN on real photos from packages."""

from __future__ import annotations

import numpy as np
import pytest

from court.demo.face_material import load
from devices.face import MtcnnDetector
from devices.face.degrade import shrink
from tests.devices.face.helpers import analyzer, material, photo


@pytest.fixture(scope="module")
def detector() -> MtcnnDetector:
    return analyzer().detector


def test_one_face_with_landmarks_where_a_face_has_them(detector: MtcnnDetector) -> None:
    image = photo("obama.jpg")
    faces = detector.detect(image)
    assert len(faces) == 1
    face = faces[0]
    left, top, right, bottom = face.box
    assert face.score > 0.95 and 80 < face.width < image.shape[1]
    for x, y in (face.left_eye, face.right_eye, face.nose, face.mouth_left, face.mouth_right):
        assert left <= x <= right and top <= y <= bottom
    assert face.left_eye[0] < face.nose[0] < face.right_eye[0]
    assert (
        max(face.left_eye[1], face.right_eye[1]) < face.nose[1] < min(face.mouth_left[1], face.mouth_right[1])
    )
    assert abs(face.yaw_ratio) < 0.3  # a frontal portrait


def test_a_group_photo_has_six_faces(detector: MtcnnDetector) -> None:
    faces = detector.detect(load(material(), "group_t1.jpg"))
    assert len([f for f in faces if f.score > 0.95]) == 6


def test_large_pictures_are_shrunk_and_boxes_scaled_back(detector: MtcnnDetector) -> None:
    image = load(material(), "obama3.jpg")  # 1434×2333: shrunk to max_side before detection
    assert max(image.shape) > detector.max_side
    face = detector.detect(image)[0]
    half = detector.detect(shrink(image, 0.5))[0]
    assert face.box[0] == pytest.approx(2 * half.box[0], abs=12)
    assert face.width == pytest.approx(2 * half.width, rel=0.08)


def test_no_face_in_an_empty_wall(detector: MtcnnDetector) -> None:
    wall = np.full((480, 640, 3), 180, np.uint8)
    wall[200:260] = 90
    assert detector.detect(wall) == []


def test_bad_input_is_refused(detector: MtcnnDetector) -> None:
    with pytest.raises(ValueError, match="H×W×3 uint8"):
        detector.detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="min_face"):
        MtcnnDetector(min_face=8)
