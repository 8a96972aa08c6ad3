"""The door's face check and the remote join check, on real photos shown by the simulated terminal."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from court.attendance.face_check import FaceAttendance, FaceCheckSettings, embedding_free, verify_remote
from court.core.cases import ParticipantInfo
from court.core.events import EventType
from court.core.roles import Role
from devices.clock import ScaledClock
from devices.face import FaceTemplate, LivenessSettings, VerifierSettings
from devices.face.degrade import degrade
from devices.face.synthetic import head_turn
from devices.simulated.face_terminal import SimulatedFaceTerminal
from tests.devices.face.helpers import analyzer, embedding, photo

ZHANG = ParticipantInfo(1, Role.APPLICANT, "张伟", "", "applicant", False)
ZHOU = ParticipantInfo(2, Role.RESPONDENT_AGENT, "周强", "示范科技有限公司", "respondent-agent", False)
WU = ParticipantInfo(3, Role.WITNESS, "吴强", "", "witness", False)


def templates() -> list[FaceTemplate]:
    return [
        FaceTemplate(1, embedding("obama.jpg")),
        FaceTemplate(2, embedding("biden.jpg")),
        FaceTemplate(3, embedding("astronaut.png")),
    ]


class Reports:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event_type: str, payload: Mapping[str, Any]) -> None:
        self.events.append((event_type, dict(payload)))

    def types(self) -> list[str]:
        return [t for t, _ in self.events]


@pytest.fixture(autouse=True)
def warm() -> None:
    """Load the models and embed the enrolled photos before any simulated clock starts."""
    templates()
    embedding("obama3.jpg")
    analyzer().embedder.load_landmarks68()


def door(visits: list[tuple[float, Any]], speed: float = 3.0) -> tuple[SimulatedFaceTerminal, ScaledClock]:
    clock = ScaledClock(speed)
    terminal = SimulatedFaceTerminal("face-door", clock, noise=2, seed=1, visit_seconds=6.0)
    for t, image in visits:
        terminal.arrive(image, t)
    return terminal, clock


def test_expected_people_are_recognised_and_a_stranger_is_reported() -> None:
    terminal, clock = door(
        [
            (1.0, photo("obama2.jpg")),
            (9.0, photo("grace_hopper.jpg")),
            (17.0, degrade(photo("biden.jpg", zoom=2.1), "rotate+jpeg")),
        ]
    )
    reports = Reports()
    check = FaceAttendance(
        terminal,
        templates(),
        clock,
        analyzer=analyzer(),
        settings=FaceCheckSettings(timeout=27.0),
        report=reports,
    )
    arrivals = list(check.arrivals([ZHANG, ZHOU, WU]))
    assert [(a.participant_id, a.method) for a in arrivals] == [(1, "face"), (2, "face")]
    for arrival in arrivals:
        assert arrival.similarity is not None and 0.55 < arrival.similarity <= 1.0
        assert arrival.note == "人脸核验通过"
    assert EventType.ATTENDANCE_UNKNOWN_FACE in reports.types()
    unknown = dict(reports.events)[EventType.ATTENDANCE_UNKNOWN_FACE]
    assert "candidate_id" not in unknown and "name" not in unknown
    assert unknown["similarity"] < 0.5
    assert clock.now() >= 27.0  # the absent witness: the check ran until its timeout


def test_a_person_not_expected_at_this_hearing_is_not_admitted() -> None:
    # Biden is enrolled in the store for another case, but only Obama is expected here.
    terminal, clock = door([(1.0, photo("biden.jpg"))])
    reports = Reports()
    check = FaceAttendance(
        terminal,
        templates(),
        clock,
        analyzer=analyzer(),
        settings=FaceCheckSettings(timeout=8.0),
        report=reports,
    )
    assert list(check.arrivals([ZHANG])) == []
    assert reports.types() == [EventType.ATTENDANCE_UNKNOWN_FACE]


def test_undecided_goes_to_the_clerk_who_confirms_with_a_reason() -> None:
    terminal, clock = door([(1.0, photo("obama2.jpg"))])
    reports = Reports()
    # Thresholds so tight that a genuine but different photo lands in the undecided band.
    strict = VerifierSettings(accept_distance=0.1, reject_distance=0.9, min_frames=2, max_frames=3)
    check = FaceAttendance(
        terminal,
        templates(),
        clock,
        analyzer=analyzer(),
        settings=FaceCheckSettings(verifier=strict, timeout=9.0),
        report=reports,
    )

    def clerk(event_type: str, payload: Mapping[str, Any]) -> None:
        reports(event_type, payload)
        if event_type == EventType.ATTENDANCE_UNDECIDED:
            check.confirm(payload["candidate_id"], "当面核对身份证原件")

    check.report = clerk
    arrivals = list(check.arrivals([ZHANG]))
    undecided = dict(reports.events)[EventType.ATTENDANCE_UNDECIDED]
    assert undecided["candidate_id"] == 1 and undecided["candidate"] == "申请人 张伟"
    assert "书记员" in undecided["reason"]
    assert [(a.participant_id, a.method, a.note) for a in arrivals] == [
        (1, "clerk", "书记员人工核验：当面核对身份证原件")
    ]
    with pytest.raises(ValueError, match="理由"):
        check.confirm(1, "  ")


def test_liveness_refuses_a_still_photo_and_admits_a_turning_head() -> None:
    still, clock = door([(1.0, photo("obama2.jpg"))], speed=3.0)
    settings = FaceCheckSettings(liveness=LivenessSettings(frames=6), timeout=7.0)
    reports = Reports()
    prompts: list[str] = []
    check = FaceAttendance(
        still,
        templates(),
        clock,
        analyzer=analyzer(),
        settings=settings,
        report=reports,
        prompt=prompts.append,
        rng=random.Random(3),
    )
    assert list(check.arrivals([ZHANG])) == []
    assert reports.types() == [EventType.ATTENDANCE_LIVENESS_FAILED]
    assert prompts and prompts[0] in ("请向左转头", "请向右转头")

    # A visit whose frames turn the head (synthetic 3-D warp of the real photo) the asked way.
    image = photo("obama2.jpg")
    found = analyzer().analyze(image).subject
    assert found is not None
    points = analyzer().landmarks68(image, found.detection)
    check_rng = random.Random(3)
    direction = 1 if check_rng.choice(("left", "right")) == "left" else -1
    poses = [head_turn(image, points, direction * d) for d in (0, 0, 6, 12, 18, 22, 22, 22, 22, 22)]
    clock = ScaledClock(3.0)
    turning = SimulatedFaceTerminal("face-door", clock, noise=2, seed=1)
    reports = Reports()
    check = FaceAttendance(
        turning,
        templates(),
        clock,
        analyzer=analyzer(),
        settings=FaceCheckSettings(liveness=LivenessSettings(frames=12), timeout=14.0),
        report=reports,
        rng=random.Random(3),
    )
    start = clock.now() + 1.0
    for k, pose in enumerate(poses):
        turning.arrive(pose, start + 0.8 * k, 0.8 if k < len(poses) - 1 else 4.0)
    arrivals = list(check.arrivals([ZHANG]))
    assert [(a.participant_id, a.method) for a in arrivals] == [(1, "face")], reports.events
    assert "活体检测通过" in arrivals[0].note


def test_nothing_of_a_face_reaches_reports_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    terminal, clock = door([(1.0, photo("obama2.jpg")), (9.0, photo("grace_hopper.jpg"))])
    reports = Reports()
    check = FaceAttendance(
        terminal,
        templates(),
        clock,
        analyzer=analyzer(),
        settings=FaceCheckSettings(timeout=16.0),
        report=reports,
    )
    arrivals = list(check.arrivals([ZHANG, ZHOU]))
    assert arrivals and reports.events
    vector = embedding("obama.jpg")
    numbers = {f"{v:.4f}" for v in vector[:8]} | {f"{v:.3f}" for v in vector[:8]}
    dumped = json.dumps([p for _, p in reports.events]) + json.dumps([a.__repr__() for a in arrivals])
    for payload in [p for _, p in reports.events]:
        assert embedding_free(payload)
        assert set(payload) <= {
            "similarity",
            "frames",
            "reason",
            "candidate_id",
            "candidate",
            "turn",
            "depth",
        }
    text = dumped + caplog.text + repr(templates()) + repr(analyzer().analyze(photo("obama.jpg")))
    assert not any(n in text for n in numbers)
    assert "embedding=" not in text


def test_remote_join_admits_the_party_and_refuses_someone_else() -> None:
    frames = [degrade(photo("obama3.jpg"), v) for v in ("", "jpeg", "noise", "dark", "jpeg+noise")]
    mine = [FaceTemplate(1, embedding("obama.jpg"))]
    result = verify_remote(frames, mine, analyzer=analyzer())
    assert result.admitted and result.decision.match is True and result.frames_used >= 3
    arrival = result.arrival()
    assert arrival is not None and arrival.participant_id == 1 and arrival.method == "face"
    assert "远程" in arrival.note
    assert embedding_free(result.report_payload())

    other = verify_remote([photo("tom_hanks.png", zoom=1.0)] * 4, mine, analyzer=analyzer())
    assert not other.admitted and other.decision.match is False and other.arrival() is None

    with pytest.raises(ValueError, match="未登记"):
        verify_remote(frames, [], analyzer=analyzer())


def test_remote_join_with_liveness_refuses_a_held_up_photo() -> None:
    frames = [photo("obama3.jpg")] * 8
    result = verify_remote(
        frames,
        [FaceTemplate(1, embedding("obama.jpg"))],
        analyzer=analyzer(),
        liveness=LivenessSettings(frames=6),
        rng=random.Random(0),
    )
    assert result.decision.match is True and result.liveness is not None
    assert result.liveness.live is not True and not result.admitted
    assert result.arrival() is None and "书记员" in result.reason


def test_a_camera_fault_is_reported_once_and_the_check_still_ends(tmp_path: Path) -> None:
    clock = ScaledClock(8.0)
    terminal = SimulatedFaceTerminal("face-door", clock, fail_between=(0.0, 100.0))
    reports = Reports()
    check = FaceAttendance(
        terminal,
        templates(),
        clock,
        analyzer=analyzer(),
        settings=FaceCheckSettings(timeout=3.0),
        report=reports,
    )
    assert list(check.arrivals([ZHANG])) == []
    assert reports.types() == [EventType.ATTENDANCE_TERMINAL_FAULT]
    assert np.isfinite(clock.now())


def test_settings_from_a_config_table() -> None:
    from court.attendance.face_check import face_settings

    settings = face_settings(
        {"accept_distance": 0.45, "reject_distance": 0.55, "min_frames": 2, "liveness": True}
    )
    assert settings.verifier.accept_distance == 0.45 and settings.verifier.min_frames == 2
    assert settings.liveness is not None and settings.liveness.min_turn == LivenessSettings().min_turn
    assert face_settings({}).liveness is None and face_settings({}).verifier == VerifierSettings()
    assert face_settings({"liveness_min_turn": 0.3}).liveness == LivenessSettings(min_turn=0.3)
    with pytest.raises(ValueError, match=r"face\.threshold: unknown key"):
        face_settings({"threshold": 0.5})
    with pytest.raises(ValueError, match=r"face\.min_frames: must be a whole number"):
        face_settings({"min_frames": 2.5})
    with pytest.raises(ValueError, match="accept_distance"):
        face_settings({"accept_distance": 0.7, "reject_distance": 0.6})
