from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from devices.clock import ScaledClock
from devices.interfaces import Camera, Device, DeviceFault, DeviceKind
from devices.simulated import CameraView, SceneSeat, SimulatedCamera

BENCH = [
    SceneSeat("arbitrator-left", "仲裁员", "李静", CameraView.BENCH),
    SceneSeat("presiding", "首席仲裁员", "王明华", CameraView.BENCH),
    SceneSeat("arbitrator-right", "仲裁员", "陈志强", CameraView.BENCH),
    SceneSeat("clerk", "书记员", "刘洋", CameraView.BENCH),
]


def _camera(speaking: set[str] | None = None, **kw: object) -> SimulatedCamera:
    who = speaking or set()
    return SimulatedCamera(
        "cam-bench",
        ScaledClock(speed=50),
        CameraView.BENCH,
        BENCH,
        is_speaking=lambda seat, t: seat in who,
        **kw,  # type: ignore[arg-type]
    )


def test_is_a_camera_device() -> None:
    cam = _camera()
    assert isinstance(cam, Device)
    _: Camera = cam
    assert cam.kind is DeviceKind.CAMERA
    status = cam.check()
    assert status.ready and "640×360" in status.detail


@pytest.mark.parametrize(("width", "height", "fps", "speed"), [(640, 360, 10.0, 5.0), (1280, 720, 25.0, 2.0)])
def test_frame_size_and_pacing(width: int, height: int, fps: float, speed: float) -> None:
    clock = ScaledClock(speed=speed)
    cam = SimulatedCamera("cam", clock, "wide", BENCH, width=width, height=height, fps=fps)
    start = time.monotonic()
    frames = []
    for _ in range(10):
        frame = cam.read()
        assert clock.now() >= frame.t - 1e-6  # read() returns only once the frame is due
        frames.append(frame)
    wall = time.monotonic() - start
    assert all(f.image.shape == (height, width, 3) and f.image.dtype == np.uint8 for f in frames)
    # Frame times lie on the 1/fps grid; a step is one period unless the reader fell behind.
    ticks = np.array([f.t * fps for f in frames])
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)
    steps = np.diff(np.round(ticks)).astype(int)
    assert (steps >= 1).all()
    assert int(steps.sum()) - len(steps) == cam.frames_dropped
    # The hearing time covered took about that long of wall time at the clock's speed.
    assert wall >= 0.9 * (frames[-1].t - frames[0].t) / speed


def test_slow_reader_gets_the_latest_frame() -> None:
    clock = ScaledClock(speed=10)
    cam = SimulatedCamera("cam", clock, "bench", BENCH, fps=10)
    first = cam.read()
    time.sleep(0.06)  # 0.6 s of hearing time: five or six frames missed
    second = cam.read()
    assert second.t - first.t >= 0.5
    assert cam.frames_dropped >= 4


@pytest.mark.parametrize("noise", [0, 2])
def test_frames_are_never_identical(noise: int) -> None:
    cam = _camera(noise=noise, seed=1)
    frames = [cam.render(10 + k / 10) for k in range(5)]
    for a, b in itertools.pairwise(frames):
        assert not np.array_equal(a, b)


def test_speaking_seat_animates_and_others_do_not() -> None:
    silent = _camera(noise=0)
    talking = _camera({"presiding"}, noise=0)
    t = 12.34
    quiet, loud = silent.render(t), talking.render(t)
    layouts = talking.scene.layouts
    box = layouts["presiding"].box
    changed = np.any(quiet[box.slices] != loud[box.slices], axis=2)
    assert changed.sum() > 200
    for seat_id in ("arbitrator-left", "arbitrator-right", "clerk"):
        other = layouts[seat_id].box
        assert np.array_equal(quiet[other.slices], loud[other.slices]), seat_id
    # The mouth moves over time while speaking.
    hx, hy, hr = layouts["presiding"].head
    head = (slice(hy - hr, hy + hr), slice(hx - hr, hx + hr))
    mouths = {talking.render(t + k * 0.04)[head].tobytes() for k in range(6)}
    assert len(mouths) > 2


def test_name_cards_carry_the_rendered_chinese_text() -> None:
    cam = _camera(noise=0)
    frame = cam.render(1.0)
    for layout in cam.scene.layouts.values():
        card = frame[layout.card.slices]
        dark = (card.mean(axis=2) < 90).sum()
        red = ((card[:, :, 2] > 120) & (card[:, :, 0] < 90)).sum()
        assert dark > 30, layout.seat_id  # the name in black
        assert red > 30, layout.seat_id  # the role in red (and the border)
    # Different names draw different pixels (a font without CJK would draw identical boxes).
    other = SimulatedCamera(
        "cam-bench",
        ScaledClock(),
        CameraView.BENCH,
        [SceneSeat(s.seat_id, s.role_label, "赵钱孙" if s.seat_id == "clerk" else s.name) for s in BENCH],
        noise=0,
    )
    clerk_card = cam.scene.layouts["clerk"].card
    assert not np.array_equal(frame[clerk_card.slices], other.render(1.0)[clerk_card.slices])


def test_break_and_repair() -> None:
    cam = _camera()
    cam.read()
    cam.break_("镜头被遮挡 (lens covered)")
    status = cam.check()
    assert not status.ready
    assert "摄像机无画面" in status.detail and "camera delivers no frames" in status.detail
    assert "lens covered" in status.detail
    with pytest.raises(DeviceFault, match="lens covered") as err:
        cam.read()
    assert err.value.device_id == "cam-bench"
    cam.repair()
    assert cam.check().ready
    cam.read()


def test_scripted_fault_window() -> None:
    clock = ScaledClock(speed=5)
    cam = SimulatedCamera("cam", clock, "bench", BENCH, fps=10)
    base = math.ceil(clock.now() * 10) / 10 + 0.3
    cam.fail_between = (base - 0.05, base + 0.25)  # three frames: base, base + 0.1, base + 0.2
    ok, failed = [], 0
    for _ in range(10):
        try:
            ok.append(cam.read().t)
        except DeviceFault as exc:
            assert "scripted fault window" in str(exc)
            failed += 1
    assert 1 <= failed <= 3  # 3 unless the (loaded) test machine made the reader miss frames
    assert all(t < base - 0.01 or t > base + 0.21 for t in ok)
    assert ok[-1] > base + 0.21
    assert cam.check().ready


def test_closed_camera() -> None:
    cam = _camera()
    cam.close()
    assert not cam.check().ready
    with pytest.raises(DeviceFault, match="closed"):
        cam.read()


def test_per_frame_cost_is_small() -> None:
    clock = ScaledClock()
    cams = [
        SimulatedCamera(f"cam-{v}", clock, v, BENCH, is_speaking=lambda s, t: s == "presiding")
        for v in CameraView
    ]
    start = time.process_time()
    for k in range(20):
        for cam in cams:
            cam.render(k / 10)
    per_frame = (time.process_time() - start) / 80
    # Measured about 0.5-1.5 ms at 640×360; 4 cameras at 10 fps must stay well under half a core.
    assert per_frame < 0.012, per_frame


def test_a_card_without_a_name_shows_the_role() -> None:
    seats = [SceneSeat("witness", "证人", ""), SceneSeat("clerk", "书记员", "刘洋")]
    cam = SimulatedCamera("cam-wide", ScaledClock(), CameraView.APPLICANT, seats, noise=0)
    frame = cam.render(0.0)
    card = frame[cam.scene.layouts["witness"].card.slices]
    assert ((card[:, :, 2] > 120) & (card[:, :, 0] < 90)).sum() > 60
