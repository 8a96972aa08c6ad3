"""Push-fed devices: remote pictures letterboxed to a fixed format, remote audio downmixed and resampled
to 16 kHz with continuous stamps, faults when the far end goes quiet or away, and recovery."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

from devices.broadcast.push import PushCamera, PushMicrophone, letterbox
from devices.interfaces import Camera, DeviceFault, Microphone
from devices.media import Image, Samples
from tests.devices.clocks import ManualClock


def picture(width: int, height: int, color: tuple[int, int, int] = (30, 160, 220)) -> Image:
    image = np.empty((height, width, 3), np.uint8)
    image[:] = color
    return image


def dominant_frequency(samples: Samples, rate: int) -> float:
    windowed = samples * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(windowed, n=8 * len(samples)))
    return float(np.argmax(spectrum) * rate / (8 * len(samples)))


# --- camera ---------------------------------------------------------------------------------------


def test_camera_letterboxes_any_size_and_stamps_on_the_hearing_clock() -> None:
    clock = ManualClock(42.0)
    cam = PushCamera("remote-applicant-cam", clock, width=640, height=480, real_clock=clock)
    as_camera: Camera = cam  # satisfies the protocol (checked by mypy)
    assert as_camera.fps == 25.0
    cam.push(picture(1280, 720))  # 16:9 into 4:3: bars top and bottom
    frame = cam.read()
    assert (frame.width, frame.height) == (640, 480)
    assert frame.t == 42.0
    assert frame.image[0, 320].tolist() == [0, 0, 0]  # bar
    assert frame.image[240, 320].tolist() == [30, 160, 220]  # picture
    assert frame.image[240, 0].tolist() == [30, 160, 220]  # full width
    bar = int(np.flatnonzero(frame.image[:, 320, 1])[0])
    assert bar == 60  # 640x360 centred in 480 rows

    clock.t = 43.0
    cam.push(picture(320, 480))  # taller: bars left and right
    frame = cam.read()
    assert frame.t == 43.0 and frame.image[240, 0].tolist() == [0, 0, 0]
    assert frame.image[240, 320].tolist() == [30, 160, 220]
    assert cam.check().ready


def test_letterbox_same_size_is_a_copy_of_the_picture() -> None:
    image = picture(640, 480)
    out = letterbox(image, 640, 480)
    assert out.shape == (480, 640, 3) and np.array_equal(out, image)


def test_camera_faults_when_starved_and_resumes_with_the_next_push() -> None:
    real = ManualClock(0.0)
    cam = PushCamera("remote-cam", ManualClock(), stale_seconds=2.0, real_clock=real)
    real.t = 1.99
    assert cam.check().ready  # not starved yet
    # A reader waits for a push until the far end counts as stale, then faults.
    with pytest.raises(DeviceFault, match=r"远程画面中断.*no video from the remote party yet"):
        cam.read()
    assert real.t == 2.0
    assert not cam.check().ready
    assert "no video" in cam.check().detail
    # Still starved: the capture loop's retry faults at once instead of blocking again.
    with pytest.raises(DeviceFault):
        cam.read()
    assert real.t == 2.0

    cam.push(picture(640, 480))
    assert cam.check().ready
    cam.read()
    # A reader blocked on the camera gets the frame as soon as it is pushed.
    got: list[float] = []
    reader = threading.Thread(target=lambda: got.append(cam.read().t))
    reader.start()
    cam.push(picture(640, 480))
    reader.join(2)
    assert got and cam.check().ready
    assert real.t == 2.0  # the reader never timed out


def test_camera_staleness_is_real_time_by_default() -> None:
    # The hearing clock never moves here: only real time makes the far end stale.
    cam = PushCamera("remote-cam", ManualClock(), stale_seconds=0.05)
    t0 = time.monotonic()
    with pytest.raises(DeviceFault, match="no video from the remote party yet"):
        cam.read()
    assert 0.04 <= time.monotonic() - t0 < 1.0


def test_camera_detach_faults_at_once_until_pushes_resume() -> None:
    real = ManualClock(0.0)
    cam = PushCamera("remote-cam", ManualClock(), stale_seconds=5.0, real_clock=real)
    cam.push(picture(640, 480))
    cam.detach("远程连接失败 (WebRTC connection failed)")
    with pytest.raises(DeviceFault, match="connection failed"):
        cam.read()  # the frame pushed before the detach is discarded, no waiting
    assert real.t == 0.0
    assert "connection failed" in cam.check().detail
    cam.push(picture(640, 480))
    assert cam.read().width == 640


def test_camera_thins_pushes_faster_than_its_fps_and_close_ends_it() -> None:
    real = ManualClock(0.0)
    cam = PushCamera("remote-cam", ManualClock(), fps=25.0, real_clock=real)
    image = picture(640, 480)
    for _ in range(40):
        cam.push(image)  # a burst at one instant
    # Half a second's worth of frames (12.5) is accepted as jitter; the rest is over the rate.
    assert cam.pushed == 40
    assert cam.thinned == 28
    real.t += 0.04  # one frame interval earns one frame
    cam.push(image)
    assert cam.thinned == 28
    cam.push(image)
    assert cam.thinned == 29
    cam.read()
    cam.close()
    with pytest.raises(DeviceFault, match="closed"):
        cam.read()
    cam.push(picture(640, 480))  # ignored, never raises
    assert not cam.check().ready
    with pytest.raises(ValueError):
        cam.push(np.zeros((10, 10), np.uint8))


# --- microphone -----------------------------------------------------------------------------------


def push_realtime(
    mic: PushMicrophone,
    clock: ManualClock,
    signal: np.ndarray,
    rate: int,
    channels: int,
    block: float = 0.02,
) -> None:
    """Push ``signal`` (samples, channels) in blocks, moving the clock as a live sender would."""
    n = round(block * rate)
    for i in range(0, len(signal), n):
        part = signal[i : i + n]
        clock.t += len(part) / rate
        mic.push(part, rate, channels)


def test_microphone_downmixes_and_resamples_48k_stereo_to_16k_mono() -> None:
    clock = ManualClock(10.0)
    mic = PushMicrophone("remote-mic", clock, real_clock=clock)
    as_mic: Microphone = mic
    assert as_mic.sample_rate == 16000
    rate, seconds, freq = 48000, 1.0, 440.0
    t = np.arange(round(rate * seconds)) / rate
    left = (0.6 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)  # the right channel is silent
    push_realtime(mic, clock, stereo, rate, channels=2)

    chunks = [mic.read(0.1) for _ in range(9)]
    assert all(c.sample_rate == 16000 and len(c.samples) == 1600 for c in chunks)
    for a, b in itertools.pairwise(chunks):
        assert b.t == pytest.approx(a.end, abs=1e-9)  # contiguous
    assert chunks[0].t == pytest.approx(10.0, abs=0.02)  # spoken from when the first push began
    audio = np.concatenate([c.samples for c in chunks])
    assert dominant_frequency(audio[1600:], 16000) == pytest.approx(freq, abs=2.0)
    steady = audio[1600:]
    assert float(np.max(np.abs(steady))) == pytest.approx(0.3, abs=0.02)  # mean of 0.6 and 0


def test_microphone_takes_interleaved_int16() -> None:
    clock = ManualClock()
    mic = PushMicrophone("remote-mic", clock, real_clock=clock)
    rate = 16000
    t = np.arange(rate // 2) / rate
    tone = (12000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    interleaved = np.stack([tone, tone], axis=1).reshape(-1)
    clock.t += 0.5
    mic.push(interleaved, rate, channels=2)
    chunk = mic.read(0.25)
    assert chunk.samples.dtype == np.float32
    assert float(np.max(np.abs(chunk.samples))) == pytest.approx(12000 / 32768, abs=0.01)
    assert dominant_frequency(chunk.samples, rate) == pytest.approx(1000, abs=5)
    with pytest.raises(ValueError):
        mic.push(np.zeros(3, np.int16), rate, channels=2)
    with pytest.raises(ValueError):
        mic.push(np.zeros(4, np.float64), rate)  # type: ignore[arg-type]


def test_microphone_faults_when_starved_then_restarts_a_fresh_run() -> None:
    clock = ManualClock(5.0)  # a live hearing: the hearing clock is real time
    mic = PushMicrophone("remote-mic", clock, stale_seconds=0.3, real_clock=clock)
    clock.t += 0.05
    mic.push(np.zeros(800, np.float32), 16000)  # 50 ms, then nothing
    clock.t += 0.29
    with pytest.raises(DeviceFault, match=r"远程声音中断.*no audio from the remote party"):
        mic.read(0.1)  # waits for the rest until the far end is stale
    assert clock.t == pytest.approx(5.35)
    assert not mic.check().ready

    clock.t = 20.0
    mic.push(np.full(1600, 0.1, np.float32), 16000)
    chunk = mic.read(0.1)
    assert chunk.t == pytest.approx(19.9)  # anchored anew: it ended when it arrived
    assert mic.check().ready


def test_microphone_detach_faults_at_once_and_resumes() -> None:
    clock = ManualClock()
    mic = PushMicrophone("remote-mic", clock, stale_seconds=5.0, real_clock=clock)
    clock.t += 0.1
    mic.push(np.zeros(1600, np.float32), 16000)
    mic.detach("远程连接已断开 (WebRTC connection closed)")
    t = clock.t
    with pytest.raises(DeviceFault, match="connection closed"):
        mic.read(0.1)
    assert clock.t == t  # no waiting
    clock.t += 0.1
    mic.push(np.zeros(1600, np.float32), 16000)
    assert len(mic.read(0.1).samples) == 1600
    mic.close()
    with pytest.raises(DeviceFault, match="closed"):
        mic.read(0.1)
    assert not mic.check().ready


def test_microphone_fills_a_network_stall_with_silence_and_drops_the_late_burst() -> None:
    clock = ManualClock(0.0)
    mic = PushMicrophone("remote-mic", clock, drift_seconds=0.3, real_clock=clock)
    block = np.full(320, 0.5, np.float32)
    for _ in range(10):
        clock.t += 0.02
        mic.push(block, 16000)
    clock.t += 1.0  # one second with nothing (below the stale limit)
    mic.push(block, 16000)
    assert mic.silence_filled == pytest.approx(0.98, abs=0.001)  # the gap before the new block
    # The stalled packets arrive in a burst: they are behind the times, dropped.
    for _ in range(50):
        mic.push(block, 16000)
    assert mic.dropped > 0.5
    audio = mic.read(1.2)
    assert audio.t == pytest.approx(0.0)
    assert audio.end <= clock.t + 0.3 + 1e-9
    assert float(audio.samples[3300:18800].max()) == 0.0  # the stall is silence
