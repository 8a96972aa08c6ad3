from __future__ import annotations

import numpy as np
import pytest

from devices.clock import ScaledClock
from devices.interfaces import Camera, Device, DeviceKind, Microphone
from devices.simulated import (
    CameraSpec,
    CameraView,
    RoomSpec,
    SeatSpec,
    SimulatedRoom,
    default_room_spec,
    mic_id,
)


def tone(seconds: float, rate: int = 16000) -> np.ndarray:
    return (0.3 * np.sin(np.arange(round(seconds * rate)) / rate * 2 * np.pi * 220)).astype(np.float32)


def test_default_room_has_every_device() -> None:
    room = SimulatedRoom(default_room_spec(), ScaledClock())
    devices = room.devices()
    assert all(isinstance(d, Device) for d in devices)
    ids = [d.device_id for d in devices]
    assert len(ids) == len(set(ids)) == 4 + 9 + 3
    kinds = [d.kind for d in devices]
    assert kinds.count(DeviceKind.CAMERA) == 4 and kinds.count(DeviceKind.MICROPHONE) == 9
    assert all(status.ready for status in room.check())
    cam: Camera = room.camera("cam-bench")
    mic: Microphone = room.microphone("presiding")
    assert cam.width == 640 and mic.sample_rate == 16000
    assert room.microphone(mic_id("presiding")) is room.microphone("presiding")
    assert room.device("face-terminal") is room.face_terminal
    assert len(room.camera("cam-bench").scene.layouts) == 4
    assert len(room.camera("cam-applicant").scene.layouts) == 2
    assert len(room.camera("cam-wide").scene.layouts) == 9
    with pytest.raises(KeyError):
        room.device("nothing")
    room.close()
    assert not room.camera("cam-bench").check().ready


def test_schedule_drives_the_cameras() -> None:
    room = SimulatedRoom(
        default_room_spec(), ScaledClock(), {"applicant-agent": [(20.0, tone(2.0), 16000)]}, camera_noise=0
    )
    assert room.speaking_seats(21.0) == ["applicant-agent"]
    assert room.speaking_seats(25.0) == []
    for cam_id in ("cam-applicant", "cam-wide"):
        cam = room.camera(cam_id)
        box = cam.scene.layouts["applicant-agent"].box
        assert not np.array_equal(cam.render(21.0)[box.slices], cam.render(25.0)[box.slices]), cam_id
    bench = room.camera("cam-bench")
    assert np.array_equal(bench.render(21.0)[40:300], bench.render(25.0)[40:300])


def test_crosstalk_from_the_spec() -> None:
    spec = default_room_spec()
    spec = RoomSpec(spec.name, spec.cameras, spec.seats, crosstalk_db=-20.0, noise_dbfs=None)
    room = SimulatedRoom(spec, ScaledClock(), {"presiding": [(1.0, tone(1.0), 16000)]})
    clerk = room.microphone("clerk").samples_between(1.2, 1.8)
    own = room.microphone("presiding").samples_between(1.2, 1.8)
    assert 0.05 < np.abs(clerk).max() / np.abs(own).max() < 0.2
    assert not room.is_speaking("clerk", 1.5) and room.is_speaking("presiding", 1.5)


def test_spec_validation() -> None:
    cams = (CameraSpec("cam-bench", CameraView.BENCH),)
    with pytest.raises(ValueError, match="unknown camera"):
        RoomSpec("x", cams, (SeatSpec("clerk", "书记员", "刘洋", "cam-nowhere"),))
    with pytest.raises(ValueError, match="duplicate seat"):
        RoomSpec(
            "x",
            cams,
            (SeatSpec("a", "书记员", "刘洋", "cam-bench"), SeatSpec("a", "仲裁员", "李", "cam-bench")),
        )
    assert CameraSpec("c", "wide").view is CameraView.WIDE  # type: ignore[arg-type]
    spec = RoomSpec("x", cams, (SeatSpec("clerk", "书记员", "刘洋", "cam-bench"),))
    with pytest.raises(ValueError, match="unknown seats"):
        SimulatedRoom(spec, ScaledClock(), {"nobody": []})


def test_hd_room() -> None:
    room = SimulatedRoom(default_room_spec(1280, 720, 25.0), ScaledClock(speed=10))
    frame = room.camera("cam-wide").read()
    assert frame.image.shape == (720, 1280, 3)
