"""Enrolment rules on real photos: exactly one usable face, large and sharp enough."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from court.demo.face_material import encode_jpeg, load
from devices.face import PhotoRejected, decode_image
from devices.face.degrade import blur, dark, shrink
from tests.devices.face.helpers import analyzer, material, photo


def rejected(image: np.ndarray) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        analyzer().enrol(image)
    return caught.value


def test_a_good_id_photo_is_enrolled() -> None:
    face = analyzer().enrol(photo("obama.jpg"))
    assert face.embedding.shape == (128,) and np.isfinite(face.embedding).all()
    assert face.quality.face_px > 150 and face.quality.sharpness > 15
    assert "embedding" not in repr(face)


def test_no_face() -> None:
    scenery = np.asarray(cv2.resize(load(material(), "group_t1.jpg")[600:, :400], (400, 300)))
    error = rejected(scenery)
    assert error.code == "no_face" and "未检测到人脸" in str(error)


def test_two_people() -> None:
    pair = np.hstack([cv2.resize(photo("obama.jpg"), (300, 375)), cv2.resize(photo("biden.jpg"), (300, 375))])
    error = rejected(pair)
    assert error.code == "several_faces" and "2 张人脸" in str(error)


def test_too_small() -> None:
    error = rejected(shrink(photo("obama.jpg"), 0.25))
    assert error.code == "too_small" and "人脸太小" in str(error)


def test_too_blurry() -> None:
    error = rejected(blur(photo("obama.jpg"), 6.0))
    assert error.code == "blurry" and "模糊" in str(error)


def test_too_dark() -> None:
    error = rejected(dark(photo("biden.jpg"), gain=0.12))
    assert error.code == "too_dark"


def test_background_faces_do_not_count_but_a_crowd_does() -> None:
    # obama.jpg holds a small false face low in the picture; the portrait is what counts.
    assert analyzer().enrol(load(material(), "obama.jpg")).quality.face_px > 200
    assert rejected(load(material(), "group_t1.jpg")).code == "several_faces"


def test_unreadable_files() -> None:
    with pytest.raises(PhotoRejected, match="无法读取照片") as caught:
        decode_image(b"this is not a picture")
    assert caught.value.code == "unreadable"
    with pytest.raises(PhotoRejected, match="为空"):
        decode_image(b"")
    assert decode_image(encode_jpeg(photo("biden.jpg"))).shape[2] == 3


def test_probe_frames_report_their_problems_instead_of_matching() -> None:
    tiny = analyzer().analyze(shrink(photo("biden.jpg"), 0.12))
    assert tiny.subject is not None and tiny.subject.embedding is None
    assert [code for code, _ in tiny.subject.problems] == ["too_small"]
    good = analyzer().analyze(photo("biden.jpg"))
    assert good.faces == 1 and good.subject is not None and good.subject.usable
