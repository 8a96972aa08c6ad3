"""Liveness on a real photo: a (synthetic) 3-D head turn passes; the same photo as a flat print,
held still or moved, tilted and turned, does not."""

from __future__ import annotations

import random

import numpy as np
import pytest

from devices.face import LivenessCheck, LivenessSettings
from devices.face.liveness import flat_misfit, yaw_ratio
from devices.face.synthetic import head_turn, printed_photo, turned_landmarks
from devices.media import Image
from tests.devices.face.helpers import analyzer, photo

PEOPLE = ("obama.jpg", "biden.jpg", "astronaut.png")


def landmarks(image: Image) -> np.ndarray:
    found = analyzer().analyze(image, embed=False).subject
    assert found is not None
    return analyzer().landmarks68(image, found.detection)


def check(direction: str) -> LivenessCheck:
    liveness = LivenessCheck(rng=random.Random(7))
    liveness.direction = direction
    return liveness


@pytest.mark.parametrize("name", PEOPLE)
@pytest.mark.parametrize("direction", ["left", "right"])
def test_a_head_turned_as_asked_passes(name: str, direction: str) -> None:
    image = photo(name)
    points = landmarks(image)
    liveness = check(direction)
    sign = 1 if direction == "left" else -1
    result = None
    for degrees in (0, 6, 12, 18, 22, 22):
        result = liveness.add(landmarks(head_turn(image, points, sign * degrees)))
        if result is not None:
            break
    result = result or liveness.finish()
    assert result.live is True, result
    assert result.turn >= 0.25 and result.depth >= 0.035


def test_turning_the_other_way_does_not_pass() -> None:
    image = photo("obama.jpg")
    points = landmarks(image)
    liveness = check("left")
    for degrees in (0, -8, -16, -22):
        assert liveness.add(landmarks(head_turn(image, points, degrees))) is None
    assert liveness.finish().live is not True


@pytest.mark.parametrize("name", PEOPLE)
def test_a_printed_photo_moved_and_turned_is_not_live(name: str) -> None:
    image = photo(name)
    for direction in ("left", "right"):
        liveness = check(direction)
        poses = [(0, 0), (10, 0), (20, 5), (30, 0), (35, -5), (-30, 10), (-35, 0), (0, 25)]
        results = [
            liveness.add(landmarks(printed_photo(image, turn=t, tilt=tl, scale=0.9, shift=(3 * k, 0))))
            for k, (t, tl) in enumerate(poses)
        ]
        assert all(r is None for r in results)
        final = liveness.finish()
        assert final.live is not True, final
        assert final.depth < 0.035


def test_the_same_still_on_every_frame_is_never_live() -> None:
    image = photo("biden.jpg")
    liveness = LivenessCheck(LivenessSettings(frames=6), rng=random.Random(1))
    result = None
    for _ in range(6):
        result = liveness.add(landmarks(image))
    assert result is not None and result.live is None and "书记员" in result.reason
    assert result.turn < 0.05 and result.depth < 0.02


def test_frames_with_times_wait_for_the_person_to_turn() -> None:
    """Fast frames do not use up the check before the person has had ``seconds`` to follow the
    prompt; a turn that comes late still passes."""
    image = photo("obama.jpg")
    points = still = landmarks(image)
    liveness = check("left")
    for k in range(30):  # 3 s of still frames at 10 a second: more than ``frames``, less than ``seconds``
        assert liveness.add(still, 0.1 * k) is None
    result = liveness.add(landmarks(head_turn(image, points, 22)), 3.2)
    assert result is not None and result.live is True, result
    # Still frames past both limits: answered (not live).
    liveness = check("left")
    answers = [liveness.add(still, 0.5 * k) for k in range(14)]
    assert answers[11] is None and answers[12] is not None and answers[12].live is not True


def test_yaw_and_flatness_measures() -> None:
    points = landmarks(photo("obama.jpg"))
    assert abs(yaw_ratio(points)) < 0.15
    assert yaw_ratio(turned_landmarks(points, 20)) > yaw_ratio(points) + 0.25
    assert yaw_ratio(turned_landmarks(points, -20)) < yaw_ratio(points) - 0.25
    # Any homography of the points is flat; the turned points are not.
    h = np.array([[0.9, 0.1, 12.0], [-0.05, 1.05, -7.0], [1e-4, 2e-4, 1.0]])
    mapped = np.c_[points, np.ones(68)] @ h.T
    assert flat_misfit(points, mapped[:, :2] / mapped[:, 2:]) < 1e-3
    assert flat_misfit(points, turned_landmarks(points, 20)) > 0.03


def test_prompts_and_bad_input() -> None:
    seen = {LivenessCheck(rng=random.Random(seed)).prompt for seed in range(20)}
    assert seen == {"请向左转头", "请向右转头"}
    with pytest.raises(ValueError, match="68"):
        LivenessCheck().add(np.zeros((5, 2)))
