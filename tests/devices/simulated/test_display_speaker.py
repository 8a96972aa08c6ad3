from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from devices.clock import ScaledClock
from devices.interfaces import Device, DeviceFault, DeviceKind, Display, DisplayContent, Speaker
from devices.simulated import SimulatedDisplay, SimulatedMicrophone, SimulatedSpeaker


def test_display_keeps_pages_with_hearing_time(tmp_path: Path) -> None:
    clock = ScaledClock(speed=100)
    display = SimulatedDisplay("display", clock, out_dir=tmp_path / "live", width=640, height=360)
    _: Display = display
    assert isinstance(display, Device) and display.kind is DeviceKind.DISPLAY
    picture = np.full((120, 90, 3), (0, 0, 255), np.uint8)
    display.show(DisplayContent("庭审纪律", "一、全体人员应当遵守庭审纪律，服从仲裁员指挥。" * 3))
    time.sleep(0.01)
    display.show(DisplayContent("申请人 张伟 已到庭", "人脸核验通过", picture))
    shown = display.shown
    assert [c.title for _, c in shown] == ["庭审纪律", "申请人 张伟 已到庭"]
    assert shown[1][0] > shown[0][0]
    assert display.current is shown[1][1]
    live = sorted((tmp_path / "live").glob("*.png"))
    assert len(live) == 2
    written = display.write_pngs(tmp_path / "all")
    assert [p.name for p in written] == [p.name for p in live]
    img = cv2.imread(str(written[1]))
    assert img is not None and img.shape == (360, 640, 3)
    assert img.std() > 20
    assert ((img[:, :, 2] > 200) & (img[:, :, 0] < 50)).sum() > 2000  # the red picture


def test_display_fault() -> None:
    display = SimulatedDisplay("display", ScaledClock())
    display.break_("HDMI 断开 (HDMI unplugged)")
    assert not display.check().ready
    with pytest.raises(DeviceFault, match="HDMI"):
        display.show(DisplayContent("x"))
    assert display.shown == []


def test_speaker_records_and_waits_on_the_clock(tmp_path: Path) -> None:
    clock = ScaledClock(speed=20)
    speaker = SimulatedSpeaker("speaker", clock)
    _: Speaker = speaker
    assert isinstance(speaker, Device) and speaker.kind is DeviceKind.SPEAKER
    audio = (0.2 * np.sin(np.arange(24000) / 24000 * 2 * np.pi * 300)).astype(np.float32)
    start = time.monotonic()
    playback = speaker.play(audio, 24000)
    assert playback.duration == pytest.approx(1.0)
    playback.wait()
    assert 0.04 <= time.monotonic() - start <= 3.0  # 1 s of hearing time at 20×
    assert clock.now() >= playback.started_at + 1.0
    second = speaker.play(audio[:12000], 24000)
    assert second.started_at > playback.started_at
    path = speaker.write_wav(tmp_path / "played.wav", sample_rate=16000)
    data, rate = sf.read(str(path), dtype="float32")
    assert rate == 16000
    assert len(data) == pytest.approx((second.started_at - playback.started_at + 0.5) * 16000, abs=20)
    assert len(speaker.played) == 2


def test_speaker_feeds_microphones_as_crosstalk() -> None:
    clock = ScaledClock()
    mic = SimulatedMicrophone("mic", clock, noise_dbfs=None)
    speaker = SimulatedSpeaker("speaker", clock, microphones=[mic], feed_microphones=True, feed_gain_db=-20)
    audio = np.full(16000, 0.5, np.float32)
    playback = speaker.play(audio, 16000)
    heard = mic.samples_between(playback.started_at + 0.1, playback.started_at + 0.9)
    assert np.allclose(heard, 0.05, atol=1e-3)
    assert not mic.is_speaking(playback.started_at + 0.5)
    quiet = SimulatedMicrophone("mic2", clock, noise_dbfs=None)
    SimulatedSpeaker("s2", clock, microphones=[quiet]).play(audio, 16000)
    assert np.abs(quiet.samples_between(clock.now() - 0.5, clock.now() + 0.5)).max() == 0.0


def test_speaker_fault() -> None:
    speaker = SimulatedSpeaker("speaker", ScaledClock())
    speaker.break_()
    assert "speaker not responding" in speaker.check().detail
    with pytest.raises(DeviceFault):
        speaker.play(np.zeros(100, np.float32), 16000)
