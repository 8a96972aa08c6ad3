"""A shared channel split by voice: the packaged speaker encoder (run in numpy), voiceprints from
first words, clustering with the known number of speakers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.transcripts.conftest import Speak
from transcripts.diarization import (
    SpeakerEncoder,
    VoiceprintSplitter,
    cluster,
    diarize,
    read_legacy_torch,
    resemblyzer_weights,
)
from transcripts.vad import SpeechSegment

APPLICANT = ["我请求确认劳动关系。", "我每月工资一万二千元。", "公司一直没有支付加班费。"]
RESPONDENT = ["被申请人不同意。", "公司实行综合工时制度。", "申请人的请求缺乏依据。"]


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    return SpeakerEncoder()


def test_weights_read_without_torch() -> None:
    tensors = read_legacy_torch(resemblyzer_weights())
    assert tensors["model_state.lstm.weight_ih_l0"].shape == (1024, 40)
    assert tensors["model_state.linear.weight"].shape == (256, 256)


def test_same_voice_is_closer_than_another_voice(encoder: SpeakerEncoder, speak: Speak) -> None:
    a1, a2 = (encoder.embed(speak(t, "applicant")) for t in APPLICANT[:2])
    r1 = encoder.embed(speak(RESPONDENT[0], "respondent"))
    assert abs(float(np.linalg.norm(a1)) - 1) < 1e-4
    assert float(a1 @ a2) > float(a1 @ r1) + 0.15


def test_turns_matched_to_voiceprints_from_first_words(encoder: SpeakerEncoder, speak: Speak) -> None:
    enrolled: list[str] = []
    splitter = VoiceprintSplitter(encoder, ["applicant", "respondent"], on_enrolled=enrolled.append)

    def segment(audio: np.ndarray, t: float) -> SpeechSegment:
        return SpeechSegment("mic-shared", t, t + len(audio) / 16000, audio)

    first = splitter.split(segment(speak(APPLICANT[0], "applicant"), 0.0))
    second = splitter.split(segment(speak(RESPONDENT[0], "respondent"), 5.0))
    assert [s for _, s in first] == ["applicant"] and [s for _, s in second] == ["respondent"]
    assert enrolled == ["applicant", "respondent"]
    # One utterance in which the speaker changes without a pause: two turns.
    a, b = speak(APPLICANT[1] + APPLICANT[2], "applicant"), speak(RESPONDENT[1] + RESPONDENT[2], "respondent")
    turns = splitter.split(segment(np.concatenate([a, b]), 10.0))
    assert [s for _, s in turns] == ["applicant", "respondent"]
    boundary = 10.0 + len(a) / 16000
    assert abs(turns[0][0].end - boundary) < 1.0
    assert turns[1][0].end == pytest.approx(10.0 + (len(a) + len(b)) / 16000, abs=0.01)


def test_diarize_with_the_known_number_of_speakers(encoder: SpeakerEncoder, speak: Speak) -> None:
    pieces, spans, truth, t = [], [], [], 0.0
    for i in range(3):
        for text, role in ((APPLICANT[i], "applicant"), (RESPONDENT[i], "respondent")):
            audio = speak(text, role)
            pieces += [audio, np.zeros(8000, np.float32)]
            spans.append((t, t + len(audio) / 16000))
            truth.append(role)
            t += len(audio) / 16000 + 0.5
    turns = diarize(np.concatenate(pieces), spans, encoder, speakers=2)
    labels = [next(tu.speaker for tu in turns if tu.start <= (a + b) / 2 < tu.end) for a, b in spans]
    mapping = dict(zip(labels, truth, strict=False))
    assert [mapping[label] for label in labels] == truth


def test_cluster_exact_count() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 16))
    points = np.concatenate([c + 0.05 * rng.standard_normal((5, 16)) for c in centres]).astype(np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels = cluster(points, 3)
    assert len(set(labels)) == 3
    assert all(len(set(labels[i * 5 : i * 5 + 5])) == 1 for i in range(3))
