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
from devices.simulated.acoustics import RoomAcoustics


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


def _level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-20))


def test_a_room_with_acoustics_leaks_reverberates_and_hums() -> None:
    """What a seat says reaches every other microphone 20-30 dB down (nearest loudest) and a few ms
    late, as crosstalk; its own microphone hears the room's tail after the voice stops; the room's
    noise is under all of it."""
    spec = default_room_spec()
    acoustics = RoomAcoustics(crosstalk_db=(-30.0, -20.0), noise_dbfs=-50.0)
    room = SimulatedRoom(RoomSpec(spec.name, spec.cameras, spec.seats, acoustics=acoustics), ScaledClock())
    voice = tone(1.0)
    room.say("presiding", 1.0, voice, 16000)  # seat 2 of 9: neighbours at 1 seat, the witness at 7
    own = _level_db(room.microphone("presiding").samples_between(1.2, 1.8))
    near = _level_db(room.microphone("arbitrator-left").samples_between(1.2, 1.8))
    far = _level_db(room.microphone("witness").samples_between(1.2, 1.8))
    assert -23.0 < near - own < -17.0 and -33.0 < far - own < -27.0 and far < near
    assert not room.is_speaking("arbitrator-left", 1.5) and room.is_speaking("presiding", 1.5)
    # Late by distance: the leak into the witness's microphone starts 7 × 1.2 m / 343 m/s later.
    quiet = RoomSpec(spec.name, spec.cameras, spec.seats, acoustics=RoomAcoustics(noise_dbfs=-120.0))
    hushed = SimulatedRoom(quiet, ScaledClock())
    hushed.say("presiding", 1.0, voice, 16000)
    witness = hushed.microphone("witness").samples_between(0.99, 1.05)
    onset = int(np.argmax(np.abs(witness) > 1e-4)) / 16000 + 0.99
    assert onset == pytest.approx(1.0 + 7 * 1.2 / 343, abs=0.001)
    # The room's tail after the voice, above the noise floor; only noise once it has died away.
    assert _level_db(room.microphone("presiding").samples_between(2.02, 2.1)) > -45.0
    assert _level_db(room.microphone("presiding").samples_between(3.0, 3.5)) == pytest.approx(-50.0, abs=1.5)
    with pytest.raises(ValueError, match="farthest"):
        RoomAcoustics(crosstalk_db=(-20.0, -30.0))


def test_without_acoustics_a_seat_is_heard_only_on_its_own_microphone() -> None:
    room = SimulatedRoom(default_room_spec(), ScaledClock())
    room.say("clerk", 1.0, tone(1.0), 16000)
    assert _level_db(room.microphone("clerk").samples_between(1.2, 1.8)) > -15.0
    assert _level_db(room.microphone("presiding").samples_between(1.2, 1.8)) < -55.0


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
