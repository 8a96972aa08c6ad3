from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest

from devices.clock import WallClock
from devices.interfaces import Device, DeviceFault, DeviceKind, Microphone, Speaker
from devices.real import audio
from devices.real.audio import AudioUnavailable, SoundDeviceMicrophone, SoundDeviceSpeaker, find_device


class FakeInputStream:
    """Calls back with blocks where channel k (1-based) holds the value k / 100."""

    created: ClassVar[list[FakeInputStream]] = []

    def __init__(self, *, device: int, channels: int, samplerate: int, callback: Any, **_: Any) -> None:
        self.device, self.channels, self.samplerate, self.callback = device, channels, samplerate, callback
        self.running = False
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        FakeInputStream.created.append(self)

    def start(self) -> None:
        self.running = True
        self.thread.start()

    def _run(self) -> None:
        block = np.tile(np.arange(1, self.channels + 1, dtype=np.float32) / 100, (160, 1))
        info = SimpleNamespace(currentTime=1.01, inputBufferAdcTime=1.0)
        while self.running:
            self.callback(block, 160, info, None)
            time.sleep(160 / self.samplerate)

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=1)

    def close(self) -> None:
        self.closed = True


class FakeOutputStream:
    written: ClassVar[list[np.ndarray]] = []

    def __init__(self, *, device: int, samplerate: int, channels: int, **_: Any) -> None:
        self.samplerate = samplerate

    def __enter__(self) -> FakeOutputStream:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def write(self, data: np.ndarray) -> None:
        time.sleep(len(data) / self.samplerate)
        FakeOutputStream.written.append(data)


DEVICES = [
    {
        "name": "HDA Intel PCH: ALC892 Analog (hw:0,0)",
        "max_input_channels": 2,
        "max_output_channels": 2,
        "default_samplerate": 44100.0,
    },
    {
        "name": "UMC1820: USB Audio (hw:2,0)",
        "max_input_channels": 10,
        "max_output_channels": 12,
        "default_samplerate": 48000.0,
    },
]


def fake_sounddevice() -> Any:
    def query_devices(index: int | None = None) -> Any:
        return DEVICES if index is None else DEVICES[index]

    def check_input_settings(**_: Any) -> None:
        pass

    def check_output_settings(*, samplerate: int, **_: Any) -> None:
        if samplerate != 48000:
            raise ValueError("Invalid sample rate")

    return SimpleNamespace(
        query_devices=query_devices,
        default=SimpleNamespace(device=(0, 0)),
        InputStream=FakeInputStream,
        OutputStream=FakeOutputStream,
        check_input_settings=check_input_settings,
        check_output_settings=check_output_settings,
    )


@pytest.fixture
def fake_sd(monkeypatch: pytest.MonkeyPatch) -> Any:
    sd = fake_sounddevice()
    monkeypatch.setattr(audio, "import_sounddevice", lambda: sd)
    FakeInputStream.created.clear()
    FakeOutputStream.written.clear()
    return sd


def test_without_portaudio_check_says_what_is_missing() -> None:
    """On this machine (no PortAudio, or no such interface) the microphone is not ready and says why."""
    mic = SoundDeviceMicrophone("mic-presiding", "no-such-interface-xyz", 1, WallClock())
    status = mic.check()
    _: Microphone = mic  # structural conformance, checked by mypy
    assert isinstance(mic, Device) and status.kind is DeviceKind.MICROPHONE
    assert not status.ready
    assert "PortAudio" in status.detail or "no-such-interface-xyz" in status.detail
    with pytest.raises(DeviceFault) as err:
        mic.read(0.1)
    assert err.value.device_id == "mic-presiding"
    mic.close()


def test_missing_portaudio_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> Any:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(audio, "_import_module", broken)
    status = SoundDeviceMicrophone("mic-clerk", "UMC1820", 4, WallClock()).check()
    assert not status.ready
    assert "PortAudio" in status.detail and "libportaudio2" in status.detail
    speaker = SoundDeviceSpeaker("speaker", WallClock())
    assert "libportaudio2" in speaker.check().detail
    with pytest.raises(DeviceFault, match="PortAudio"):
        speaker.play(np.zeros(10, np.float32), 16000)


def test_find_device_by_name_index_and_default(fake_sd: Any) -> None:
    assert find_device(fake_sd, "umc1820", "input")[0] == 1
    assert find_device(fake_sd, "1", "input")[0] == 1
    assert find_device(fake_sd, None, "output")[0] == 0
    with pytest.raises(AudioUnavailable, match="UMC1820: USB Audio"):
        find_device(fake_sd, "Scarlett", "input")


def test_seat_channels_share_one_stream(fake_sd: Any) -> None:
    clock = WallClock()
    presiding = SoundDeviceMicrophone("mic-presiding", "UMC1820", 1, clock, sample_rate=16000)
    clerk = SoundDeviceMicrophone("mic-clerk", "UMC1820", 4, clock, sample_rate=16000)
    status = clerk.check()
    assert status.ready and "通道 4/10" in status.detail
    try:
        a = presiding.read(0.05)
        b = clerk.read(0.05)
        assert len(FakeInputStream.created) == 1
        stream = FakeInputStream.created[0]
        assert stream.channels == 10 and stream.device == 1 and stream.samplerate == 16000
        assert len(a.samples) == 800 and a.sample_rate == 16000
        assert np.allclose(a.samples, 0.01) and np.allclose(b.samples, 0.04)
        a2 = presiding.read(0.05)
        assert a2.t == pytest.approx(a.end, abs=1e-9)  # contiguous
        assert abs(a.t - clock.now()) < 1.0
        assert clerk.check().ready
    finally:
        presiding.close()
        assert not FakeInputStream.created[0].closed  # the clerk still uses it
        clerk.close()
    assert FakeInputStream.created[0].closed


def test_channel_out_of_range(fake_sd: Any) -> None:
    mic = SoundDeviceMicrophone("mic-witness", "UMC1820", 12, WallClock())
    status = mic.check()
    assert not status.ready and "channel 12 out of range" in status.detail
    with pytest.raises(DeviceFault, match="out of range"):
        mic.read(0.1)
    with pytest.raises(ValueError):
        SoundDeviceMicrophone("m", "UMC1820", 0, WallClock())


def test_speaker_plays_and_resamples(fake_sd: Any) -> None:
    speaker = SoundDeviceSpeaker("speaker", WallClock(), "UMC1820")
    _: Speaker = speaker
    assert isinstance(speaker, Device)
    assert speaker.check().ready
    playback = speaker.play(np.full(1600, 0.1, np.float32), 16000)
    assert playback.duration == pytest.approx(0.1)
    playback.wait()
    (written,) = FakeOutputStream.written
    assert written.shape == (4800, 2)  # resampled to the device's 48 kHz, two outputs
    speaker.close()
