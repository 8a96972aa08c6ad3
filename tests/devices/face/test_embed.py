"""dlib's ResNet on real photos: the same man in three different photos, other people apart."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from devices.face import distance, embedding_from_bytes, embedding_to_bytes, similarity
from tests.devices.face.helpers import embedding

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
