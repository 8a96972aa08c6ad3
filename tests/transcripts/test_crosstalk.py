"""One voice on two microphones: one line, from the louder channel."""

from __future__ import annotations

import numpy as np

from tests.transcripts.conftest import Speak, noise
from transcripts.crosstalk import CrosstalkOptions, judge


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
