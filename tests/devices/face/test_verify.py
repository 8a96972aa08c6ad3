"""Multi-frame decisions on real embeddings: accept, reject, and the undecided band for the clerk."""

from __future__ import annotations

import numpy as np
import pytest

from devices.face import FaceTemplate, MultiFrameVerifier, VerifierSettings, verify_once
from devices.face.degrade import DEGRADATIONS
from tests.devices.face.helpers import analyzer, embedding, photo


def templates() -> list[FaceTemplate]:
    return [FaceTemplate(1, embedding("obama.jpg")), FaceTemplate(2, embedding("biden.jpg"))]


def test_genuine_frames_are_accepted_after_enough_agree() -> None:
    verifier = MultiFrameVerifier(templates(), VerifierSettings(min_frames=3))
    probes = [embedding("obama2.jpg"), embedding("obama3.jpg"), embedding("obama2.jpg")]
    assert verifier.add(probes[0]) is None
    assert verifier.add(probes[1]) is None
    decision = verifier.add(probes[2])
    assert decision is not None and decision.match is True and decision.key == 1
    assert decision.distance is not None and decision.distance < 0.5
    assert decision.similarity is not None and 0.55 < decision.similarity < 1.0


def test_a_stranger_is_rejected() -> None:
    verifier = MultiFrameVerifier(templates(), VerifierSettings(min_frames=2))
    verifier.add(embedding("astronaut.png"))
    decision = verifier.add(embedding("grace_hopper.jpg"))
    assert decision is not None and decision.match is False and decision.key is None


def test_between_the_thresholds_is_undecided_never_accepted() -> None:
    # A face partway between two people (halfway between their embeddings) is close to neither.
    midway = (embedding("obama.jpg") + embedding("tom_hanks.png")) / 2
    d = float(np.linalg.norm(midway - embedding("obama.jpg")))
    settings = VerifierSettings(
        accept_distance=d - 0.05, reject_distance=d + 0.05, min_frames=2, max_frames=4
    )
    verifier = MultiFrameVerifier([FaceTemplate(1, embedding("obama.jpg"))], settings)
    decisions = [verifier.add(midway) for _ in range(4)]
    assert decisions[:3] == [None, None, None]
    assert decisions[3] is not None and decisions[3].match is None and decisions[3].key == 1
    assert "书记员" in decisions[3].reason


def test_frames_pointing_at_two_people_stay_undecided() -> None:
    verifier = MultiFrameVerifier(templates(), VerifierSettings(min_frames=2, max_frames=4))
    for name in ("obama2.jpg", "biden.jpg", "obama3.jpg", "biden.jpg"):
        decision = verifier.add(embedding(name))
    assert decision is not None and decision.match is None


def test_finish_without_frames_says_so() -> None:
    decision = MultiFrameVerifier(templates()).finish()
    assert decision.match is None and decision.frames == 0


@pytest.mark.parametrize("variant", sorted(DEGRADATIONS))
def test_degraded_views_of_another_photo_still_match_and_impostors_do_not(variant: str) -> None:
    degraded = DEGRADATIONS[variant](photo("obama2.jpg"))
    found = analyzer().analyze(degraded).subject
    assert found is not None and found.embedding is not None, variant
    assert verify_once(found.embedding, embedding("obama.jpg")).match is True
    impostor = analyzer().analyze(DEGRADATIONS[variant](photo("biden.jpg"))).subject
    assert impostor is not None and impostor.embedding is not None
    assert verify_once(impostor.embedding, embedding("obama.jpg")).match is False


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="accept_distance"):
        VerifierSettings(accept_distance=0.7, reject_distance=0.6)
    with pytest.raises(ValueError, match="min_frames"):
        VerifierSettings(min_frames=3, max_frames=2)
    with pytest.raises(ValueError, match="no enrolled templates"):
        MultiFrameVerifier([])
