"""A shared channel split by voice on pyannote.audio: the packaged speaker encoder as a pyannote model,
the pipeline with the known number of speakers scored with pyannote.metrics, voiceprints from an
enrolment sentence or first words, and 未识别 when a voice matches nobody."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devices.vad import SileroVad
from tests.transcripts.conftest import Speak
from transcripts.diarization import (
    ChannelDiarization,
    DiarizationError,
    PretrainedDiarization,
    SpeakerEncoder,
    VoiceprintSplitter,
    load_diarizer,
    turns_of,
)
from transcripts.vad import SpeechSegment

APPLICANT = ["我请求确认劳动关系。", "我每月工资一万二千元。", "公司一直没有支付加班费。"]
RESPONDENT = ["被申请人不同意。", "公司实行综合工时制度。", "申请人的请求缺乏依据。"]


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    return SpeakerEncoder()


def _segment(audio: np.ndarray, t: float) -> SpeechSegment:
    return SpeechSegment("mic-shared", t, t + len(audio) / 16000, audio)


def test_the_packaged_encoder_is_a_pyannote_model(encoder: SpeakerEncoder) -> None:
    from pyannote.audio import Model

    assert isinstance(encoder.model, Model)
    assert encoder.model.specifications.duration == pytest.approx(1.6)
    assert encoder.model.lstm.weight_ih_l0.shape == (1024, 40)
    # The weights came from the wheel: an untrained LSTM would not give unit-norm ReLU outputs this
    # far apart for noise and a tone.
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(32000).astype(np.float32) * 0.05
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(32000) / 16000)).astype(np.float32)
    a, b = encoder.embed(noise), encoder.embed(tone)
    assert abs(float(np.linalg.norm(a)) - 1) < 1e-4 and float(a @ b) < 0.9


def test_same_voice_is_closer_than_another_voice(encoder: SpeakerEncoder, speak: Speak) -> None:
    a1, a2 = (encoder.embed(speak(t, "applicant")) for t in APPLICANT[:2])
    r1 = encoder.embed(speak(RESPONDENT[0], "respondent"))
    assert float(a1 @ a2) > float(a1 @ r1) + 0.15


def test_turns_matched_to_voiceprints_from_first_words(encoder: SpeakerEncoder, speak: Speak) -> None:
    enrolled: list[str] = []
    splitter = VoiceprintSplitter(encoder, ["applicant", "respondent"], on_enrolled=enrolled.append)
    first = splitter.split(_segment(speak(APPLICANT[0], "applicant"), 0.0))
    second = splitter.split(_segment(speak(RESPONDENT[0], "respondent"), 5.0))
    assert [s for _, s in first] == ["applicant"] and [s for _, s in second] == ["respondent"]
    assert enrolled == ["applicant", "respondent"]
    # One utterance in which the speaker changes without a pause: two turns.
    a, b = speak(APPLICANT[1] + APPLICANT[2], "applicant"), speak(RESPONDENT[1] + RESPONDENT[2], "respondent")
    turns = splitter.split(_segment(np.concatenate([a, b]), 10.0))
    assert [s for _, s in turns] == ["applicant", "respondent"]
    boundary = 10.0 + len(a) / 16000
    assert abs(turns[0][0].end - boundary) < 1.0
    assert turns[1][0].end == pytest.approx(10.0 + (len(a) + len(b)) / 16000, abs=0.01)


def test_enrolled_voices_get_their_lines_and_a_stranger_none(encoder: SpeakerEncoder, speak: Speak) -> None:
    """Enrolled by a sentence each (as read at the face check): their own later lines match; a voice
    nobody enrolled is left to the clerk (None → 未识别)."""
    splitter = VoiceprintSplitter(encoder, ["applicant", "applicant_agent"])
    splitter.enroll("applicant", speak(APPLICANT[0], "applicant"))
    splitter.enroll("applicant_agent", speak(RESPONDENT[0], "applicant_agent"))
    assert [s for _, s in splitter.split(_segment(speak(APPLICANT[1], "applicant"), 0.0))] == ["applicant"]
    own = splitter.split(_segment(speak(RESPONDENT[1], "applicant_agent"), 4.0))
    assert [s for _, s in own] == ["applicant_agent"]
    stranger = splitter.split(_segment(speak(RESPONDENT[2], "respondent"), 8.0))
    assert [s for _, s in stranger] == [None]


@pytest.fixture(scope="module")
def conversation(speak: Speak) -> tuple[np.ndarray, Any, float]:
    """Applicant and respondent taking turns with half-second pauses: (audio, reference, length)."""
    from pyannote.core import Annotation, Segment

    pieces, reference, t = [], Annotation(), 0.0
    for i in range(3):
        for text, role in ((APPLICANT[i], "applicant"), (RESPONDENT[i], "respondent")):
            audio = speak(text, role)
            pieces += [audio, np.zeros(8000, np.float32)]
            reference[Segment(t, t + len(audio) / 16000)] = role
            t += len(audio) / 16000 + 0.5
    return np.concatenate(pieces), reference, t


def _der(reference: Any, hypothesis: Any, length: float) -> float:
    from pyannote.core import Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    return float(metric(reference, hypothesis, uem=Segment(0, length)))


def test_the_pipeline_finds_each_speakers_turns(
    encoder: SpeakerEncoder, vad_model: SileroVad, conversation: tuple[np.ndarray, Any, float]
) -> None:
    from pyannote.audio.core.pipeline import Pipeline
    from pyannote.core import Annotation

    audio, reference, length = conversation
    diarization = ChannelDiarization(encoder, vad_model)
    assert isinstance(diarization.pipeline, Pipeline)
    hypothesis = diarization(audio, speakers=2)
    assert isinstance(hypothesis, Annotation) and len(hypothesis.labels()) == 2
    assert {turn.speaker for turn in turns_of(hypothesis)} == {"S0", "S1"}
    assert _der(reference, hypothesis, length) < 0.15
    with pytest.raises(ValueError, match="number of speakers"):
        diarization(audio)


def test_a_pipeline_folder_on_disk_is_loaded_offline(
    tmp_path: Path, conversation: tuple[np.ndarray, Any, float]
) -> None:
    """A pretrained pipeline's folder (as speaker-diarization-community-1 would be copied): its
    config.yaml names the pipeline class and its parameters. The packaged pipeline stands in here."""
    (tmp_path / "config.yaml").write_text(
        "pipeline:\n"
        "  name: transcripts.channel_pipeline.ChannelPipeline\n"
        "  params:\n"
        "    clustering: kmeans\n",
        encoding="utf-8",
    )
    diarizer = load_diarizer(tmp_path)
    assert isinstance(diarizer, PretrainedDiarization)
    audio, reference, length = conversation
    assert _der(reference, diarizer(audio, speakers=2), length) < 0.15


def test_a_pretrained_pipeline_folder_must_hold_one(tmp_path: Path) -> None:
    with pytest.raises(DiarizationError, match=r"config\.yaml"):
        load_diarizer(tmp_path)
    (tmp_path / "config.yaml").write_text("pipeline:\n  name: no.such.Pipeline\n", encoding="utf-8")
    with pytest.raises(DiarizationError, match="无法加载"):
        load_diarizer(tmp_path)
