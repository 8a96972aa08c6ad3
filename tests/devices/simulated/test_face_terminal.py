from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from devices.clock import ScaledClock
from devices.interfaces import Camera, Device, DeviceFault, DeviceKind
from devices.simulated import SimulatedFaceTerminal


def portrait(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((200, 150, 3), np.uint8)
    img[:] = rng.integers(0, 255, 3, dtype=np.uint8)
    cv2.circle(img, (75, 80), 45, (170, 200, 235), -1)
    cv2.rectangle(img, (20, 150), (130, 200), (90, 50, 30), -1)
    return img


def door(term: SimulatedFaceTerminal, t: float) -> np.ndarray:
    x0, y0, x1, y1 = term._door
    return term.render(t)[y0:y1, x0:x1]


def test_corridor_then_person_then_corridor() -> None:
    term = SimulatedFaceTerminal("face-door", ScaledClock(), [(10.0, portrait())], noise=0, visit_seconds=3.0)
    assert term.kind is DeviceKind.FACE_TERMINAL
    _: Camera = term
    assert isinstance(term, Device)
    assert term.width == 640 and term.height == 480
    empty = door(term, 9.0)
    assert empty.reshape(-1, 3).std(axis=0).max() < 3  # the bare door
    person = door(term, 11.0)
    assert np.abs(person.astype(int) - empty.astype(int)).mean() > 20
    assert term.visit_at(11.0) is not None and term.visit_at(13.5) is None
    assert np.array_equal(door(term, 13.5), empty)
    # Stepping up to the terminal: the picture grows over the first half second.
    assert not np.array_equal(door(term, 10.05), door(term, 10.7))


def test_arrive_from_image_file_now(tmp_path: Path) -> None:
    path = tmp_path / "zhang.png"
    cv2.imwrite(str(path), portrait(1))
    clock = ScaledClock(speed=20)
    term = SimulatedFaceTerminal("face-door", clock, noise=0)
    visit = term.arrive(path)
    assert visit.start == pytest.approx(clock.now(), abs=0.5)
    frame = term.read()
    assert frame.t >= visit.start and term.visit_at(frame.t) is visit


def test_arrive_from_video_file(tmp_path: Path) -> None:
    path = tmp_path / "walk.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(20):
            img = np.zeros((120, 160, 3), np.uint8)
            img[:, i * 8 : i * 8 + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    term = SimulatedFaceTerminal("face-door", ScaledClock(), noise=0, visit_seconds=1.0)
    visit = term.arrive(path, at_t=5.0)
    assert len(visit.frames) == 20
    assert visit.duration >= 2.0  # as long as the video
    assert not np.array_equal(door(term, 5.8), door(term, 6.5))


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    term = SimulatedFaceTerminal("face-door", ScaledClock())
    with pytest.raises(FileNotFoundError):
        term.arrive(tmp_path / "nobody.jpg", 1.0)


def test_fault() -> None:
    term = SimulatedFaceTerminal("face-door", ScaledClock(speed=50))
    term.break_()
    assert "face terminal" in term.check().detail
    with pytest.raises(DeviceFault):
        term.read()
