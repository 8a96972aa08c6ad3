from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from devices.clock import ScaledClock, WallClock
from devices.interfaces import Camera, Device, DeviceFault, DeviceKind
from devices.real import OpenCVCamera, redact


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of 160×120 at 25 fps, a white bar moving right."""
    path = tmp_path_factory.mktemp("video") / "bench.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(50):
            img = np.zeros((120, 160, 3), np.uint8)
            img[:, (i * 3) % 150 : (i * 3) % 150 + 10] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_reads_a_video_file_like_a_camera(clip: Path) -> None:
    clock = WallClock()
    cam = OpenCVCamera("cam-bench", str(clip), clock, timeout=3.0)
    try:
        _: Camera = cam
        assert isinstance(cam, Device) and cam.kind is DeviceKind.CAMERA
        assert cam.is_file and cam.backend == "opencv"
        frames = [cam.read() for _ in range(8)]
        assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)
        times = [f.t for f in frames]
        assert times == sorted(times) and len(set(times)) == len(times)
        # Played at the file's own rate (25 fps): 8 frames take about 0.3 s.
        assert times[-1] - times[0] >= 0.2
        assert not np.array_equal(frames[0].image, frames[-1].image)
        assert (cam.width, cam.height, cam.fps) == (160, 120, 25.0)
        status = cam.check()
        assert status.ready, status.detail
        assert "160×120" in status.detail
    finally:
        cam.close()


def test_resizes_to_the_configured_size(clip: Path) -> None:
    cam = OpenCVCamera("cam", clip.as_posix(), ScaledClock(), width=64, height=48, timeout=3.0)
    try:
        assert cam.read().image.shape == (48, 64, 3)
        assert (cam.width, cam.height) == (64, 48)
    finally:
        cam.close()


def test_file_loops_when_it_ends(clip: Path) -> None:
    cam = OpenCVCamera("cam", str(clip), WallClock(), fps=500.0, timeout=3.0)  # 50 frames in 0.1 s
    try:
        deadline = time.monotonic() + 5
        while cam.connection_attempts < 2 and time.monotonic() < deadline:
            cam.read()
        assert cam.connection_attempts >= 2
    finally:
        cam.close()


@pytest.mark.parametrize(
    ("source", "backend", "words"),
    [
        ("rtsp://admin:secret@127.0.0.1:9/stream1", "pyav", "refused"),
        ("http://127.0.0.1:9/video.mjpg", "opencv", "cannot open"),
        ("/nonexistent/camera.mp4", "opencv", "no such file"),
    ],
)
def test_unreachable_source_is_a_clear_fault(source: str, backend: str, words: str) -> None:
    cam = OpenCVCamera("cam-wide", source, WallClock(), timeout=0.4, backoff=(0.05,))
    try:
        assert cam.backend == backend
        start = time.monotonic()
        with pytest.raises(DeviceFault) as err:
            cam.read()
        assert 0.3 <= time.monotonic() - start < 3.0
        message = str(err.value)
        assert err.value.device_id == "cam-wide"
        assert "no frame within" in message and words in message.lower()
        assert "secret" not in message
        status = cam.check()
        assert not status.ready
        assert "摄像机无画面" in status.detail and "secret" not in status.detail
        assert cam.connection_attempts >= 2  # it keeps reconnecting
    finally:
        start = time.monotonic()
        cam.close()
        assert time.monotonic() - start < 2.0


def test_usb_index_and_redaction() -> None:
    cam = OpenCVCamera("cam", "3", WallClock())
    assert cam.source == 3 and cam.is_live and cam.backend == "opencv"
    assert redact("rtsp://admin:p@ss@10.0.0.11/stream1") == "rtsp://admin:***@10.0.0.11/stream1"
    assert redact("rtsp://10.0.0.11/stream1") == "rtsp://10.0.0.11/stream1"
    assert redact(0) == "0"
    by_id = OpenCVCamera("cam", "/dev/v4l/by-id/usb-none-video-index0", WallClock(), timeout=0.2)
    assert by_id.is_live and not by_id.is_file
    by_id.close()
    cam.close()
    assert not cam.check().ready


def test_face_terminal_kind(clip: Path) -> None:
    door = OpenCVCamera("face-terminal", str(clip), WallClock(), kind=DeviceKind.FACE_TERMINAL, timeout=3.0)
    try:
        assert door.kind is DeviceKind.FACE_TERMINAL
        assert door.check().kind is DeviceKind.FACE_TERMINAL
    finally:
        door.close()
