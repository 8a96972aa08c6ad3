"""Streaming voice detection: utterances out as their speaker pauses; nothing from silence or noise."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.transcripts.conftest import LoudIsSpeech, Speak, noise, tone
from transcripts.vad import SAMPLE_RATE, VadOptions, VadStream


def _feed(stream: VadStream, audio: np.ndarray, t0: float = 0.0, chunk: float = 0.1) -> list[Any]:
    out = []
    step = round(chunk * SAMPLE_RATE)
    for a in range(0, len(audio), step):
        out += stream.feed(audio[a : a + step], t0 + a / SAMPLE_RATE)
    return out + stream.flush()


def test_two_utterances_with_their_times(vad_model: Any, speak: Speak) -> None:
    first, second = speak("现在开庭。", "presiding_arbitrator"), speak("不申请回避。", "applicant")
    gap = np.zeros(SAMPLE_RATE, np.float32)
    audio = (
        np.concatenate([gap, first, gap, second, gap])
        + noise(4 + (len(first) + len(second)) / SAMPLE_RATE, -60)[
            : 3 * SAMPLE_RATE + len(first) + len(second)
        ]
    )
    segments = _feed(VadStream("mic-a", vad_model), audio, t0=100.0)
    assert len(segments) == 2
    start1 = 100.0 + 1.0
    end1 = start1 + len(first) / SAMPLE_RATE
    assert abs(segments[0].start - start1) < 0.35 and abs(segments[0].end - end1) < 0.4
    assert segments[1].start > segments[0].end
    assert all(s.source == "mic-a" for s in segments)
    assert abs(len(segments[0].samples) / SAMPLE_RATE - segments[0].duration) < 0.01


def test_silence_and_room_noise_give_nothing(vad_model: Any) -> None:
    quiet = np.zeros(10 * SAMPLE_RATE, np.float32)
    assert _feed(VadStream("mic", vad_model), quiet) == []
    loud_noise = noise(10, -35)
    assert _feed(VadStream("mic", vad_model, VadOptions(energy_gate_dbfs=None)), loud_noise) == []


def test_a_device_gap_ends_the_utterance(vad_model: Any, speak: Speak) -> None:
    speech = speak("请被申请人答辩，公司是否同意支付加班费。", "presiding_arbitrator")
    stream = VadStream("mic", vad_model)
    half = len(speech) // 2
    out = []
    out += stream.feed(np.zeros(SAMPLE_RATE // 2, np.float32), 0.0)
    out += stream.feed(speech[:half], 0.5)
    assert stream.in_speech
    # The next audio comes 3 s later: the device dropped out.
    out += stream.feed(speech[half:], 0.5 + half / SAMPLE_RATE + 3.0)
    out += stream.flush()
    assert len(out) == 2
    assert out[0].end <= 0.5 + half / SAMPLE_RATE + 0.01


def test_long_speech_is_cut_within_the_limit(vad_model: Any, speak: Speak) -> None:
    line = speak(
        "考勤记录证明申请人每周工作超过五十小时，依照劳动合同法，被申请人应当支付加班费。", "applicant_agent"
    )
    audio = np.concatenate([line, line, line])  # no pauses long enough to end it
    segments = _feed(VadStream("mic", vad_model, VadOptions(max_utterance=6.0)), audio)
    assert len(segments) >= 2
    assert all(s.duration <= 6.0 + 0.2 for s in segments)


def test_a_tentative_segment_comes_early_with_the_final_ones_audio(vad_model: Any, speak: Speak) -> None:
    speech = speak("请被申请人答辩。", "presiding_arbitrator")
    gap = np.zeros(SAMPLE_RATE, np.float32)
    audio = (
        np.concatenate([gap, speech, gap])
        + noise(2 + len(speech) / SAMPLE_RATE, -60)[: 2 * SAMPLE_RATE + len(speech)]
    )
    stream = VadStream("mic", vad_model, tentative_after=0.2)
    out: list[Any] = []
    tentative_at = final_at = None
    for a in range(0, len(audio), 512):
        for s in stream.feed(audio[a : a + 512], a / SAMPLE_RATE):
            out.append(s)
            if s.final:
                final_at = a
            else:
                tentative_at = a
                assert stream.tentative is s
    assert [s.final for s in out] == [False, True]
    assert stream.tentative is None
    tentative, final = out
    assert (tentative.start, tentative.end) == (final.start, final.end)
    assert np.array_equal(tentative.samples, final.samples)
    assert tentative_at is not None and final_at is not None
    # The tentative one comes as soon as 0.2 s of pause is heard, the final one after min_silence.
    assert 0.15 < (final_at - tentative_at) / SAMPLE_RATE < 0.35
    # Without the option nothing tentative comes.
    assert all(s.final for s in _feed(VadStream("mic", vad_model), audio))


def test_a_tentative_segment_is_withdrawn_when_the_speaker_goes_on() -> None:
    silence = np.zeros(SAMPLE_RATE, np.float32)
    # A 0.3 s pause: longer than the 0.2 s that starts decoding, shorter than the 0.45 s that ends a line.
    audio = np.concatenate([silence, tone(1.5), silence[: round(0.3 * SAMPLE_RATE)], tone(1.5), silence])
    stream = VadStream("mic", LoudIsSpeech(), tentative_after=0.2)
    events = []
    for a in range(0, len(audio), 1600):
        had = stream.tentative
        out = stream.feed(audio[a : a + 1600], a / SAMPLE_RATE)
        events += [("final" if s.final else "tentative", s) for s in out]
        if had is not None and stream.tentative is None and not out:
            events.append(("withdrawn", had))
    assert [e for e, _ in events] == ["tentative", "withdrawn", "tentative", "final"]
    first, last = events[0][1], events[-1][1]
    assert first.end < 2.7 and abs(last.start - first.start) < 0.01 and last.end > 4.3
    assert (events[2][1].start, events[2][1].end) == (last.start, last.end)
