"""Several live channels: lines with source and hearing-clock times, crosstalk suppressed, nothing
from silence; the same pipeline over a file as a lazy generator."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from devices.resample import resample
from tests.transcripts.conftest import LoudIsSpeech, Speak, noise, tone
from transcripts.recognizer import Recognition, Recognizer, RecognizerOptions
from transcripts.stream import LiveOptions, LiveTranscriber, Rejected, Utterance, transcribe_samples
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
    # No case vocabulary here, and the built-in terms come from the statutes (考勤记录 is not in them):
    # Whisper base alone gets about a third of this line wrong.
    assert edits / length < 0.4, u.text
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
    line = "考勤记录证明申请人每周工作超过五十小时，依照劳动合同法，被申请人应当支付加班费。"
    audio = np.concatenate(
        [np.zeros(8000, np.float32), speak(line, "applicant_agent"), np.zeros(16000, np.float32)]
    )
    partials: list[Utterance] = []
    finals: list[Utterance] = []
    offered = threading.Event()

    def partial(utterance: Utterance) -> None:
        partials.append(utterance)
        offered.set()

    live = LiveTranscriber(
        recognizer,
        vad_model,
        on_utterance=finals.append,
        on_partial=partial,
        options=LiveOptions(partial_interval=1.5),
    )
    middle = len(audio) // 2 // 1600 * 1600
    for a in range(0, middle, 1600):
        live.feed("mic", audio[a : a + 1600], 16000, a / 16000)
    # Mid-sentence, with no line to decode, the worker is idle: it offers the text so far.
    assert offered.wait(120)
    for a in range(middle, len(audio), 1600):
        live.feed("mic", audio[a : a + 1600], 16000, a / 16000)
    assert live.flush(120)
    live.close()
    assert partials and all(p.partial for p in partials)
    assert len(finals) == 1 and not finals[0].partial
    assert partials[0].end < finals[0].end


class _CountingRecognizer:
    """Stands in for Whisper: the line says how many samples it heard; every call is recorded."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.called = threading.Event()

    def recognize(
        self, samples: np.ndarray, *, partial: bool = False, cancelled: Callable[[], bool] | None = None
    ) -> Recognition:
        self.calls.append(len(samples))
        self.called.set()
        return Recognition(f"听到{len(samples)}个样本", "", (), None, -0.1, 0.0)


def _feed(live: LiveTranscriber, audio: np.ndarray, t0: float) -> float:
    for a in range(0, len(audio), 1600):
        live.feed("mic", audio[a : a + 1600], 16000, t0 + a / 16000)
    return t0 + len(audio) / 16000


def test_decoding_starts_in_the_pause_and_the_line_comes_when_it_ends() -> None:
    recognizer = _CountingRecognizer()
    lines: list[Utterance] = []
    live = LiveTranscriber(
        recognizer,  # type: ignore[arg-type]
        LoudIsSpeech(),
        on_utterance=lines.append,
        options=LiveOptions(speculate_after=0.2),
    )
    t = _feed(live, np.concatenate([np.zeros(16000, np.float32), tone(1.5), np.zeros(4800, np.float32)]), 0.0)
    # 0.3 s of pause: decoded already, but not a line yet (the speaker may go on).
    assert live.wait_idle(10)
    assert recognizer.calls and lines == [] and live.speculated == 1
    _feed(live, np.zeros(16000, np.float32), t)
    assert live.flush(10)
    live.close()
    assert len(lines) == 1 and len(recognizer.calls) == 1, "the pause's decode is the line's"
    assert lines[0].text == f"听到{recognizer.calls[0]}个样本" and live.wasted == 0
    assert 0.8 < lines[0].start < 1.0 and 2.5 < lines[0].end < 2.7


def test_a_speaker_who_goes_on_after_a_short_pause_gives_one_line() -> None:
    recognizer = _CountingRecognizer()
    lines: list[Utterance] = []
    live = LiveTranscriber(
        recognizer,  # type: ignore[arg-type]
        LoudIsSpeech(),
        on_utterance=lines.append,
        options=LiveOptions(speculate_after=0.2),
    )
    t = _feed(live, np.concatenate([np.zeros(16000, np.float32), tone(1.5), np.zeros(4800, np.float32)]), 0.0)
    assert recognizer.called.wait(10)
    _feed(live, np.concatenate([tone(1.5), np.zeros(16000, np.float32)]), t)
    assert live.flush(10)
    live.close()
    assert len(lines) == 1 and lines[0].end > 4.3, lines
    assert live.speculated >= 1 and live.wasted == 1
    assert lines[0].text == f"听到{recognizer.calls[-1]}个样本" and recognizer.calls[-1] > recognizer.calls[0]


def test_the_pause_decode_stands_when_crosstalk_trims_the_utterance() -> None:
    # A remote party's audio is digitally silent around their voice; the room's microphones are not:
    # crosstalk trims the quiet ends, and that trimmed copy's decode must still be the line.
    recognizer = _CountingRecognizer()
    lines: list[Utterance] = []
    live = LiveTranscriber(
        recognizer,  # type: ignore[arg-type]
        LoudIsSpeech(),
        on_utterance=lines.append,
        options=LiveOptions(speculate_after=0.2),
    )
    voice = np.concatenate([np.zeros(16000, np.float32), tone(1.5), np.zeros(4800, np.float32)])
    room = noise(len(voice) / 16000, -50)
    _feed_channels(live, {"remote": voice, "room": room}, 0.0)
    assert live.wait_idle(10)
    assert live.speculated == 1 and len(recognizer.calls) == 1 and lines == []
    trimmed = recognizer.calls[0]
    room = noise(1.0, -50, seed=2)
    for a in range(0, 16000, 1600):  # the pause goes on in real time: chunk by chunk, not one batch
        live.feed("remote", np.zeros(1600, np.float32), 16000, 2.8 + a / 16000)
        live.feed("room", room[a : a + 1600], 16000, 2.8 + a / 16000)
        assert live.wait_idle(10)
    assert live.flush(10)
    live.close()
    assert len(lines) == 1 and live.wasted == 0, (lines, live.wasted)
    assert recognizer.calls == [trimmed], "the pause's decode is the line's"


def test_without_speculation_the_decode_waits_for_the_pause() -> None:
    recognizer = _CountingRecognizer()
    lines: list[Utterance] = []
    live = LiveTranscriber(
        recognizer,  # type: ignore[arg-type]
        LoudIsSpeech(),
        on_utterance=lines.append,
        options=LiveOptions(speculate_after=None),
    )
    _feed(live, np.concatenate([np.zeros(16000, np.float32), tone(1.5), np.zeros(4800, np.float32)]), 0.0)
    assert live.wait_idle(10)
    assert not recognizer.called.is_set()
    assert live.flush(10)
    live.close()
    assert len(lines) == 1 and live.speculated == 0


def _lines_at(audio: np.ndarray, rate: int) -> list[tuple[float, float]]:
    lines: list[Utterance] = []
    live = LiveTranscriber(
        _CountingRecognizer(),  # type: ignore[arg-type]
        LoudIsSpeech(),
        on_utterance=lines.append,
    )
    step = rate // 10
    for a in range(0, len(audio), step):
        live.feed("mic", audio[a : a + step], rate, 5.0 + a / rate)
    assert live.flush(10)
    live.close()
    return [(u.start, u.end) for u in lines]


def test_a_48_khz_channel_gives_the_lines_of_the_same_audio_at_16_khz() -> None:
    pause = np.zeros(16000, np.float32)
    audio = np.concatenate([pause, tone(1.5), pause, tone(1.2), pause])
    at_16k = _lines_at(audio, 16000)
    # Resampled as one stream and placed on the hearing clock by the samples that came out.
    at_48k = _lines_at(resample(audio, 16000, 48000), 48000)
    assert len(at_16k) == 2 and 5.8 < at_16k[0][0] < 6.0
    assert len(at_48k) == 2, at_48k
    assert np.ravel(at_48k) == pytest.approx(np.ravel(at_16k), abs=0.002), (at_48k, at_16k)
