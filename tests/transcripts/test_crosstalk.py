"""One voice on two microphones: one line, from the louder channel."""

from __future__ import annotations

import numpy as np

from tests.transcripts.conftest import Speak, noise
from transcripts.crosstalk import CrosstalkOptions, judge, own_span


def test_a_leaked_copy_is_crosstalk_and_the_source_is_not(speak: Speak) -> None:
    voice = speak("对劳动合同的真实性没有异议。", "respondent_agent")
    own = voice + noise(len(voice) / 16000, -60, seed=2)[: len(voice)]
    leaked = np.concatenate([np.zeros(48, np.float32), voice[:-48]]) * np.float32(10 ** (-18 / 20))
    leaked += noise(len(voice) / 16000, -60, seed=3)[: len(voice)]
    on_neighbour = judge("mic-b", leaked, {"mic-a": own}, 16000)
    assert on_neighbour.duplicate_of == "mic-a" and on_neighbour.correlation > 0.6
    on_speaker = judge("mic-a", own, {"mic-b": leaked}, 16000)
    assert on_speaker.duplicate_of is None


def test_two_people_talking_at_once_keep_both_lines(speak: Speak) -> None:
    a = speak("请求裁决被申请人支付加班费。", "applicant")
    b = speak("公司实行综合工时制度。", "respondent_agent")
    n = min(len(a), len(b))
    louder, quieter = a[:n], b[:n] * np.float32(0.5)
    assert judge("mic-b", quieter, {"mic-a": louder}, 16000).duplicate_of is None


def test_switched_off() -> None:
    x = noise(1, -20)
    assert judge("a", x * 0.1, {"b": x}, 16000, CrosstalkOptions(enabled=False)).duplicate_of is None


def test_a_neighbours_leaked_voice_is_trimmed_off_the_ends_of_a_line(speak: Speak) -> None:
    """The respondent's agent starts 0.8 s after the applicant stops; their microphone heard the
    applicant 20 dB down first: the agent's line starts at their own voice, not the applicant's."""
    rate, gap = 16000, 0.8
    applicant = speak("不申请回避。", "applicant")
    agent = speak("被申请人不申请回避。", "respondent_agent")
    start = len(applicant) + round(gap * rate)
    n = start + len(agent)
    mic_a = noise(n / rate, -60, seed=4)[:n]
    mic_b = noise(n / rate, -60, seed=5)[:n]
    mic_a[: len(applicant)] += applicant
    mic_b[48 : 48 + len(applicant)] += applicant[: n - 48] * np.float32(0.1)
    mic_b[start:] += agent
    mic_a[start + 48 :] += agent[: n - start - 48] * np.float32(0.1)
    a, b = own_span(mic_b, {"mic-a": mic_a}, rate)
    assert len(applicant) / rate < a / rate <= start / rate + 0.05
    assert b == n
    # Two people at once, or nobody louder nearby: nothing is trimmed.
    assert own_span(mic_a[: len(applicant)], {"mic-b": mic_b[: len(applicant)] * 0}, rate) == (
        0,
        len(applicant),
    )
    assert own_span(mic_b, {}, rate) == (0, n)
