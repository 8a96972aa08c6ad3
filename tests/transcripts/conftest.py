"""Fixtures for the recognizer tests: the packaged Whisper model and the Silero VAD loaded once, TTS
speech of the hearing's roles, and the real Mandarin clip that scripts/setup.sh fetched from the f5-tts
wheel (tests never download it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devices.media import Samples
from devices.resample import resample
from devices.tts import MandarinSynthesizer, voice_for_role
from devices.vad import SileroVad, VadState
from transcripts import speech_material

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def asr_cache(model_cache: Path) -> Path:
    return model_cache / "asr"


@pytest.fixture(scope="session")
def whisper(asr_cache: Path) -> Any:
    from transcripts.model import ModelSpec, load_whisper

    return load_whisper(ModelSpec(cpu_threads=2), asr_cache)


@pytest.fixture(scope="session")
def vad_model() -> SileroVad:
    return SileroVad()


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
def f5_clip() -> Path:
    """The real Mandarin clip in var/cache/speech, put there by scripts/setup.sh."""
    path = speech_material.f5_clip(speech_material.material_folder(REPO / "var" / "cache"))
    if not path.is_file():
        message = (
            f"the f5-tts clip is missing ({path}): run scripts/setup.sh, or "
            "`.venv/bin/python -m transcripts.speech_material var/cache/speech`"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


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


def tone(seconds: float) -> Samples:
    """A loud 220 Hz tone at 16 kHz: speech to :class:`LoudIsSpeech`."""
    t = np.arange(round(seconds * 16000)) / 16000
    return (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


class LoudIsSpeech(SileroVad):
    """A stand-in for the network: a window is speech when it is loud (exact, for timing tests)."""

    def run(self, state: VadState, windows: Samples) -> Samples:
        rms = np.sqrt(np.mean(windows**2, axis=1))
        return np.where(rms > 0.01, 0.9, 0.05).astype(np.float32)
