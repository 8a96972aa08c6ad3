from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from devices.clock import ScaledClock
from devices.interfaces import Device, DeviceFault, DeviceKind, Microphone
from devices.resample import resample
from devices.simulated import Clip, SimulatedMicrophone, mix_crosstalk, speech_spans


def tone(seconds: float, rate: int, freq: float = 440.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def rms_db(x: np.ndarray) -> float:
    return 20 * math.log10(max(1e-12, float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))))


def test_is_a_microphone_device() -> None:
    mic = SimulatedMicrophone("mic-clerk", ScaledClock())
    _: Microphone = mic
    assert isinstance(mic, Device)
    assert mic.kind is DeviceKind.MICROPHONE
    assert mic.sample_rate == 16000
    assert mic.check().ready


def test_clip_is_resampled_and_placed_on_the_hearing_clock() -> None:
    mic = SimulatedMicrophone("m", ScaledClock(), [(1.0, tone(0.5, 24000), 24000)], noise_dbfs=None)
    audio = mic.samples_between(0.0, 2.0)
    assert len(audio) == 32000 and audio.dtype == np.float32
    assert np.abs(audio[:15900]).max() == 0.0
    assert np.abs(audio[24100:]).max() == 0.0
    body = audio[16200:23800]
    assert abs(rms_db(body) - rms_db(tone(0.5, 16000))) < 0.5
    spectrum = np.abs(np.fft.rfft(body))
    assert abs(np.argmax(spectrum) * 16000 / len(body) - 440) < 5


def test_resample_keeps_length_and_pitch() -> None:
    out = resample(tone(1.0, 22050, 1000.0), 22050, 16000)
    assert len(out) == 16000
    peak = np.argmax(np.abs(np.fft.rfft(out))) * 16000 / len(out)
    assert abs(peak - 1000) < 3


def test_integer_stereo_input_is_converted() -> None:
    stereo = (np.stack([tone(0.2, 16000), tone(0.2, 16000)], axis=1) * 32767).astype(np.int16)
    mic = SimulatedMicrophone("m", ScaledClock(), [(0.0, stereo, 16000)], noise_dbfs=None)  # type: ignore[list-item]
    assert abs(rms_db(mic.samples_between(0.0, 0.2)) - rms_db(tone(0.2, 16000))) < 0.2


@pytest.mark.parametrize("color", ["pink", "white"])
def test_noise_floor_level(color: str) -> None:
    mic = SimulatedMicrophone("m", ScaledClock(), noise_dbfs=-60.0, noise_color=color, seed=3)  # type: ignore[arg-type]
    noise = mic.samples_between(5.0, 8.0)
    assert abs(rms_db(noise) - -60.0) < 1.5
    # The same hearing time always sounds the same.
    assert np.array_equal(noise[:100], mic.samples_between(5.0, 5.00625))


def test_reads_are_paced_and_contiguous() -> None:
    clock = ScaledClock(speed=20)
    mic = SimulatedMicrophone("m", clock, [(0.0, tone(30.0, 16000), 16000)])
    start = time.monotonic()
    chunks = [mic.read(0.5) for _ in range(6)]
    wall = time.monotonic() - start
    assert all(len(c.samples) == 8000 and c.sample_rate == 16000 for c in chunks)
    for a, b in itertools.pairwise(chunks):
        assert b.t == pytest.approx(a.end, abs=1e-9)
    assert chunks[-1].end <= clock.now() + 1e-3
    # 3 s of hearing time at 20× took about 0.15 s (the first read may start mid-way).
    assert 0.1 <= wall <= 3.0


def test_is_speaking_follows_the_voice_not_the_silence() -> None:
    rate = 16000
    speech = np.concatenate([tone(1.0, rate), np.zeros(rate, np.float32), tone(0.5, rate)])
    padded = np.concatenate([np.zeros(rate // 2, np.float32), speech])
    mic = SimulatedMicrophone("m", ScaledClock(), [(10.0, padded, rate)])
    assert not mic.is_speaking(10.2)  # leading silence of the clip
    assert mic.is_speaking(10.6)
    assert not mic.is_speaking(12.0)  # a one-second pause is not speech
    assert mic.is_speaking(12.7)
    assert not mic.is_speaking(13.2)
    spans = mic.speaking_spans()
    assert len(spans) == 2
    assert spans[0][0] == pytest.approx(10.5, abs=0.03) and spans[0][1] == pytest.approx(11.5, abs=0.03)


def test_speech_spans_bridge_short_pauses() -> None:
    rate = 16000
    x = np.concatenate([tone(0.5, rate), np.zeros(rate // 4, np.float32), tone(0.5, rate)])
    assert len(speech_spans(x, rate)) == 1
    assert speech_spans(np.zeros(rate, np.float32), rate) == []


def test_mix_crosstalk() -> None:
    a = [(1.0, tone(1.0, 16000), 16000)]
    b = [(5.0, tone(1.0, 16000, 300.0), 16000)]
    mixed = mix_crosstalk({"applicant": a, "respondent": b}, gain_db=-20.0)
    assert len(mixed["applicant"]) == 2 and len(mixed["respondent"]) == 2
    leak = next(c for c in mixed["applicant"] if c.crosstalk)
    assert leak.start == pytest.approx(5.003)
    assert rms_db(leak.samples) == pytest.approx(rms_db(b[0][1]) - 20.0, abs=0.01)
    mic = SimulatedMicrophone("m", ScaledClock(), mixed["applicant"], noise_dbfs=None)
    assert mic.is_speaking(1.5) and not mic.is_speaking(5.5)  # crosstalk is heard, not "speaking"
    assert rms_db(mic.samples_between(5.1, 5.9)) == pytest.approx(rms_db(tone(1.0, 16000)) - 20.0, abs=0.5)
    only = mix_crosstalk({"x": a, "y": b, "z": b}, neighbours={"x": ["y"]})
    assert len(only["x"]) == 2 and len(only["z"]) == 1
    # The inputs are not modified.
    assert isinstance(mixed["applicant"][0], Clip) and len(a) == 1


def test_scripted_fault_loses_audio_then_recovers() -> None:
    clock = ScaledClock(speed=50)
    mic = SimulatedMicrophone("mic-applicant", clock)
    base = clock.now()
    mic.fail_between = (base + 0.25, base + 0.6)
    results: list[str] = []
    for _ in range(8):
        try:
            results.append(f"ok {mic.read(0.1).t:.2f}")
        except DeviceFault as exc:
            assert "麦克风无信号" in str(exc) and "microphone delivers no audio" in str(exc)
            results.append("fault")
    assert results.count("fault") in (3, 4, 5)
    assert results[-1].startswith("ok")


def test_break_and_repair() -> None:
    mic = SimulatedMicrophone("mic-clerk", ScaledClock(speed=100))
    mic.break_("线缆松动 (cable loose)")
    status = mic.check()
    assert not status.ready and "cable loose" in status.detail
    with pytest.raises(DeviceFault, match="cable loose"):
        mic.read(0.05)
    mic.repair()
    assert mic.check().ready
    assert len(mic.read(0.05).samples) == 800
