"""dlib's ResNet on real photos: the same man in three different photos, other people apart."""

from __future__ import annotations

import itertools
from pathlib import Path

import dlib  # type: ignore[import-untyped]
import numpy as np
import pytest

from devices.face import (
    FaceEmbedder,
    default_model_paths,
    distance,
    embedding_from_bytes,
    embedding_to_bytes,
    similarity,
)
from devices.face.resnet import DlibResnet, ModelFormatError
from tests.devices.face.helpers import analyzer, embedding, photo

SAME = ("obama.jpg", "obama2.jpg", "obama3.jpg")
OTHERS = ("biden.jpg", "astronaut.png", "grace_hopper.jpg", "tom_hanks.png")


def test_same_person_near_different_people_far() -> None:
    for a, b in itertools.combinations(SAME, 2):
        assert distance(embedding(a), embedding(b)) < 0.5, (a, b)
    for a, b in itertools.product(SAME, OTHERS):
        assert distance(embedding(a), embedding(b)) > 0.6, (a, b)
    for a, b in itertools.combinations(OTHERS, 2):
        assert distance(embedding(a), embedding(b)) > 0.6, (a, b)


def test_storage_round_trip_is_exact() -> None:
    vector = embedding("biden.jpg")
    data = embedding_to_bytes(vector)
    assert len(data) == 512
    assert np.array_equal(embedding_from_bytes(data), vector.astype(np.float32))
    with pytest.raises(ValueError, match="512 bytes"):
        embedding_from_bytes(data[:-4])
    with pytest.raises(ValueError, match="128-D"):
        embedding_to_bytes(vector[:64])


def test_similarity_is_monotonic_and_bounded() -> None:
    values = [similarity(d) for d in (0.0, 0.3, 0.5, 0.6, 0.9, 2.0)]
    assert values == sorted(values, reverse=True)
    assert values[0] == 1.0 and values[-1] == 0.0 and values[3] == pytest.approx(0.5)


def test_numpy_resnet_gives_dlibs_descriptor() -> None:
    """The ResNet run on numpy is dlib's network: the same descriptor to float rounding, so the
    thresholds calibrated on dlib's distances hold. A random chip exercises every channel."""
    reference = dlib.face_recognition_model_v1(str(default_model_paths().resnet))
    chips = []
    for name in ("obama.jpg", "biden.jpg", "grace_hopper.jpg"):
        found = analyzer().analyze(photo(name)).subject
        assert found is not None and found.aligned is not None
        chips.append(found.aligned.chip)
    chips.append(np.random.default_rng(4).integers(0, 256, (150, 150, 3), dtype=np.uint8))
    net = DlibResnet(default_model_paths().resnet)
    for chip in chips:
        ours = net(chip)
        theirs = np.asarray(reference.compute_face_descriptor(chip, 0), np.float32)
        assert ours.dtype == np.float32 and ours.shape == (128,)
        assert np.abs(ours - theirs).max() < 1e-5
        assert distance(ours, theirs) < 1e-5


def test_numpy_resnet_checks_its_input(tmp_path: Path) -> None:
    net = DlibResnet(default_model_paths().resnet)
    with pytest.raises(ValueError, match="150×150×3"):
        net(np.zeros((100, 100, 3), np.uint8))
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"not a dlib network")
    with pytest.raises(ModelFormatError):
        DlibResnet(bad)


def test_jittered_embedding_still_uses_dlib() -> None:
    found = analyzer().analyze(photo("obama.jpg")).subject
    assert found is not None and found.aligned is not None and found.embedding is not None
    jittered = FaceEmbedder(jitters=3).embed(found.aligned)
    assert jittered.shape == (128,)
    assert distance(jittered, found.embedding) < 0.2
