"""Recognition on real TTS speech and the real f5-tts clip: close to the reference, Simplified, numbers
as a 笔录 writes them, nothing invented on silence or noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from devices.resample import resample
from tests.transcripts.conftest import Speak, noise
from transcripts.recognizer import Recognizer, RecognizerOptions
from transcripts.speech_material import F5_REFERENCE
from transcripts.text import cer, to_simplified
from transcripts.vocabulary import CaseVocabulary

VOCABULARY = CaseVocabulary.from_case(
    cause="劳动报酬及经济补偿金争议",
    people=[("申请人", "张伟"), ("被申请人代理人", "周强")],
    organizations=["示范科技有限公司"],
)


@pytest.fixture(scope="module")
def recognizer(whisper: Any) -> Recognizer:
    return Recognizer(whisper, RecognizerOptions(use_prompt=False), vocabulary=VOCABULARY)


def _rate(reference: str, text: str) -> float:
    edits, n = cer(reference, text)
    return edits / n


def test_tts_line_close_to_reference_simplified_with_digits(recognizer: Recognizer, speak: Speak) -> None:
    reference = "请求裁决被申请人支付拖欠的加班费三万六千元，以及解除劳动合同的经济补偿金三万六千元。"
    result = recognizer.recognize(speak(reference, "applicant_agent"))
    assert result.rejected is None
    assert _rate(reference, result.text) < 0.25, result.text
    assert to_simplified(result.text) == result.text
    assert "36000元" in result.text
    assert result.text.endswith("。")
    assert result.words and 0 < (result.confidence or 0) <= 1
    assert all(w.end >= w.start for w in result.words)


def test_real_mandarin_clip(recognizer: Recognizer, f5_clip: Path) -> None:
    data, rate = sf.read(str(f5_clip), dtype="float32", always_2d=False)
    audio = resample(data if data.ndim == 1 else data.mean(axis=1), int(rate), 16000)
    result = recognizer.recognize(audio)
    assert _rate(F5_REFERENCE, result.text) < 0.3, result.text
    assert to_simplified(result.text) == result.text


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_nothing_invented_on_silence_or_noise(recognizer: Recognizer, kind: str) -> None:
    audio = np.zeros(5 * 16000, np.float32) if kind == "silence" else noise(5, -40, seed=7)
    result = recognizer.recognize(audio)
    assert result.text == "" and result.rejected


def test_case_terms_are_corrected_and_the_clerk_can_add_more(whisper: Any, speak: Speak) -> None:
    plain = Recognizer(whisper, RecognizerOptions(use_prompt=False, correct_terms=False))
    line = "申请人李晓红与被申请人示范科技有限公司"
    audio = speak(line, "presiding_arbitrator")
    heard = plain.recognize(audio).text
    corrected = Recognizer(whisper, RecognizerOptions(use_prompt=False), vocabulary=VOCABULARY)
    corrected.add_terms("李晓红")
    assert "李晓红" in corrected.vocabulary.all_terms()
    result = corrected.recognize(audio).text
    assert "示范科技有限公司" in result
    assert _rate(line, result) <= _rate(line, heard)


def test_partial_decoding_is_fast_and_plain(recognizer: Recognizer, speak: Speak) -> None:
    result = recognizer.recognize(speak("现在进行庭审调查。", "presiding_arbitrator"), partial=True)
    assert result.text and not result.words


def test_one_hypothesis_is_decoded_unless_the_n_best_list_is_rescored(whisper: Any) -> None:
    from transcripts.lm import CharNgramModel

    assert Recognizer(whisper, RecognizerOptions()).decoder.options.num_hypotheses == 1
    lm = CharNgramModel.train(["被申请人应当支付加班费。"], order=3)
    rescoring = Recognizer(whisper, RecognizerOptions(lm_weight=0.3), language_model=lm)
    assert rescoring.decoder.options.num_hypotheses == RecognizerOptions().decode.num_hypotheses


def test_a_withdrawn_decode_stops_after_the_encoder(recognizer: Recognizer, speak: Speak) -> None:
    from transcripts.decoder import DecodeCancelled

    asked: list[bool] = []

    def withdrawn() -> bool:
        asked.append(True)
        return True

    with pytest.raises(DecodeCancelled):
        recognizer.recognize(speak("现在开庭。", "presiding_arbitrator"), cancelled=withdrawn)
    assert asked == [True]
    assert recognizer.recognize(speak("现在开庭。", "presiding_arbitrator"), cancelled=lambda: False).text
