"""Several live channels: lines with source and hearing-clock times, crosstalk suppressed, nothing
from silence; the same pipeline over a file as a lazy generator."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from tests.transcripts.conftest import Speak, noise
from transcripts.recognizer import Recognizer, RecognizerOptions
from transcripts.stream import LiveTranscriber, Rejected, Utterance, transcribe_samples
from transcripts.text import cer


@pytest.fixture(scope="module")
def recognizer(whisper: Any) -> Recognizer:
    return Recognizer(whisper, RecognizerOptions(use_prompt=False))


def _feed_channels(live: LiveTranscriber, channels: dict[str, np.ndarray], t0: float) -> None:
    step = 1600
    n = max(len(a) for a in channels.values())
    for a in range(0, n, step):
        for name, audio in channels.items():
            live.feed(name, audio[a : a + step], 16000, t0 + a / 16000)


def test_crosstalk_gives_one_line_from_the_loudest_channel(
    recognizer: Recognizer, vad_model: Any, speak: Speak
) -> None:
    line = "对考勤记录的证明目的有异议。"
    voice = speak(line, "respondent_agent")
    pad = np.zeros(16000, np.float32)
    own = np.concatenate([pad, voice, pad, pad])
    n = len(own)
    channels = {
        "mic-respondent-agent": own + noise(n / 16000, -60, seed=1)[:n],
        "mic-respondent": np.roll(own, 48) * np.float32(10 ** (-20 / 20)) + noise(n / 16000, -60, seed=2)[:n],
        "mic-clerk": noise(n / 16000, -60, seed=3)[:n],
    }
    lines: list[Utterance] = []
    rejected: list[Rejected] = []
    live = LiveTranscriber(recognizer, vad_model, on_utterance=lines.append, on_rejected=rejected.append)
    _feed_channels(live, channels, t0=50.0)
    assert live.flush(120)
    live.close()
    assert [u.source for u in lines] == ["mic-respondent-agent"], (lines, rejected)
    assert any(r.source == "mic-respondent" and "crosstalk" in r.reason for r in rejected)
    u = lines[0]
    assert 50.5 < u.start < 51.5 and u.end > u.start + 1.0
    edits, length = cer(line, u.text)
    assert edits / length < 0.3, u.text
    assert u.words and u.words[0].start >= u.start - 0.01


def test_two_speakers_on_two_channels_keep_their_lines(
    recognizer: Recognizer, vad_model: Any, speak: Speak
) -> None:
    a = speak("请被申请人答辩。", "presiding_arbitrator")
    b = speak("不申请回避。", "applicant")
    pad = np.zeros(8000, np.float32)
    first = np.concatenate([pad, a, pad, np.zeros(len(b), np.float32), pad, pad])
    second = np.concatenate([pad, np.zeros(len(a), np.float32), pad, b, pad, pad])
    lines: list[Utterance] = []
    live = LiveTranscriber(recognizer, vad_model, on_utterance=lines.append)
    _feed_channels(live, {"mic-presiding": first, "mic-applicant": second}, t0=0.0)
    assert live.flush(120)
    live.close()
    assert [u.source for u in lines] == ["mic-presiding", "mic-applicant"]


def test_file_generator_on_silence_and_speech(recognizer: Recognizer, vad_model: Any, speak: Speak) -> None:
    silence = np.zeros(20 * 16000, np.float32) + noise(20, -55, seed=5)
    assert list(transcribe_samples(silence, 16000, recognizer, vad_model)) == []
    speech = np.concatenate([silence[:16000], speak("现在开庭。", "presiding_arbitrator"), silence[:16000]])
    out = transcribe_samples(speech, 16000, recognizer, vad_model, source="f.wav", t0=10.0)
    first = next(out)
    assert first.source == "f.wav" and first.start > 10.5 and "开庭" in first.text


def test_partial_text_while_the_speaker_is_still_talking(
    recognizer: Recognizer, vad_model: Any, speak: Speak
) -> None:
    from transcripts.stream import LiveOptions

    line = "考勤记录证明申请人每周工作超过五十小时，依照劳动合同法，被申请人应当支付加班费。"
    audio = np.concatenate(
        [np.zeros(8000, np.float32), speak(line, "applicant_agent"), np.zeros(16000, np.float32)]
    )
    partials: list[Utterance] = []
    finals: list[Utterance] = []
    live = LiveTranscriber(
        recognizer,
        vad_model,
        on_utterance=finals.append,
        on_partial=partials.append,
        options=LiveOptions(partial_interval=1.5),
    )
    began = time.monotonic()
    for a in range(0, len(audio), 1600):
        # Twice real time: the worker is idle while the speaker talks, so it offers partial text.
        time.sleep(max(0.0, a / 16000 / 2 - (time.monotonic() - began)))
        live.feed("mic", audio[a : a + 1600], 16000, a / 16000)
    assert live.flush(120)
    live.close()
    assert partials and all(p.partial for p in partials)
    assert len(finals) == 1 and not finals[0].partial
    assert partials[0].end < finals[0].end
