"""The hearing's live transcript: channel → role, lines into the timeline (and its ``utterances``
table) and to its listeners; the ``[transcription]`` config."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from court.config import DEFAULT_CONFIG, ConfigError, TranscriptionConfig, load_config
from court.core.cases import NewParticipant, create_case, create_hearing, load_hearing
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import Timeline, TimelineEvent
from court.db.models import Utterance
from court.live.catch_up import NOT_SAVED, Backlog, Gap, Stretch, plan_backlog
from court.live.transcription import HearingTranscription, channels_for, vocabulary_for
from devices.clock import ScaledClock
from devices.media import AudioChunk
from devices.resample import resample
from devices.tts import MandarinSynthesizer, voice_for_role
from transcripts.diarization import VoiceprintSplitter
from transcripts.text import cer

SEATS = {"presiding": Role.PRESIDING_ARBITRATOR, "applicant": Role.APPLICANT, "shared": Role.APPLICANT_AGENT}


def _hearing(sessions: sessionmaker[Session]) -> int:
    case = create_case(
        sessions,
        case_number="测劳人仲案字〔2026〕第9号",
        cause="劳动报酬争议",
        commission="示范市劳动人事争议仲裁委员会",
        participants=[
            NewParticipant(Role.PRESIDING_ARBITRATOR, "王建国", seat_id="presiding"),
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.APPLICANT_AGENT, "孙丽", organization="明德律师事务所", seat_id="shared"),
            NewParticipant(Role.APPLICANT_AGENT, "钱进", seat_id="shared"),
            NewParticipant(Role.RESPONDENT_AGENT, "周强", organization="示范科技有限公司", remote=True),
        ],
    )
    return create_hearing(sessions, case, room="第一仲裁庭")


def test_channels_and_vocabulary_come_from_the_case(sessions: sessionmaker[Session]) -> None:
    hearing = load_hearing(sessions, _hearing(sessions))
    channels = channels_for(hearing, SEATS)
    assert channels["mic-applicant"].participant is not None
    assert channels["mic-applicant"].participant.name == "张伟"
    assert channels["mic-shared"].participant is None and len(channels["mic-shared"].participants) == 2
    remote = next(c for name, c in channels.items() if name.startswith("remote-"))
    assert remote.role is Role.RESPONDENT_AGENT and remote.participant and remote.participant.name == "周强"
    vocabulary = vocabulary_for(hearing, TranscriptionConfig(terms=("竞业限制",)))
    assert {"张伟", "周强", "示范科技有限公司", "竞业限制"} <= set(vocabulary.all_terms())
    assert "明德律师事务所" not in vocabulary.organizations, "the agent's law firm is not the employer"


def test_lines_go_to_the_timeline_with_the_speakers_role(
    sessions: sessionmaker[Session], model_cache: Path
) -> None:
    hearing_id = _hearing(sessions)
    clock = ScaledClock(1.0)
    timeline = Timeline(sessions, hearing_id, clock)
    heard: list[TimelineEvent] = []
    timeline.subscribe(lambda e: heard.append(e) if e.type == EventType.UTTERANCE else None)
    config = TranscriptionConfig(language_model=False, prompt=False)
    transcription = HearingTranscription(
        config, model_cache, load_hearing(sessions, hearing_id), SEATS, clock=clock.now
    )
    transcription.prepare()
    transcription.start(timeline)
    text = "我请求裁决被申请人支付加班费。"
    speech = MandarinSynthesizer(cache_dir=model_cache / "tts").synthesize_cached(
        text, voice_for_role("applicant")
    )
    audio = np.concatenate([np.zeros(8000, np.float32), resample(speech.samples, speech.sample_rate, 16000)])
    audio = np.concatenate([audio, np.zeros(16000, np.float32)])
    for a in range(0, len(audio), 1600):
        t = 20.0 + a / 16000
        transcription.consume("mic-applicant", AudioChunk(audio[a : a + 1600], 16000, t))
        transcription.consume("mic-presiding", AudioChunk(np.zeros(1600, np.float32), 16000, t))
    assert transcription.drain(120)
    transcription.add_terms("综合工时")
    transcription.stop()
    events = [e for e in timeline.events() if e.type == EventType.UTTERANCE]
    assert len(events) == 1 and heard and heard[0].seq == events[0].seq
    line = events[0].payload
    assert line["role"] == "applicant" and line["name"] == "张伟" and line["source"] == "mic-applicant"
    assert 20.2 < line["start"] < line["end"] <= 20.0 + len(audio) / 16000 + 0.01
    edits, n = cer(text, line["text"])
    assert edits / n < 0.3, line["text"]
    assert 0 < line["confidence"] <= 1 and line["words"][0][1] >= line["start"]
    types = [e.type for e in timeline.events()]
    assert types[0] == EventType.TRANSCRIPTION_STARTED and EventType.TRANSCRIPTION_TERMS_ADDED in types
    assert types[-1] == EventType.TRANSCRIPTION_STOPPED
    with sessions() as session:
        rows = session.scalars(select(Utterance)).all()
    assert [(r.role, r.text, r.source) for r in rows] == [("applicant", line["text"], "mic-applicant")]


def _with(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "room.toml"
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    start = text.index("[transcription]")
    path.write_text(text[:start] + "[transcription]\n" + extra + "\n", encoding="utf-8")
    return path


def test_transcription_config(tmp_path: Path) -> None:
    default = load_config().transcription
    assert default.enabled and default.model is None and default.compute_type == "int8"
    config = load_config(
        _with(tmp_path, 'model = "models/large-v3"\ndevice = "cuda"\ncompute_type = "float16"')
    )
    assert config.transcription.model == (tmp_path / "models" / "large-v3").resolve()
    assert (
        replace(config.transcription, model=None, device="cpu", compute_type="int8") == TranscriptionConfig()
    )


def test_decoding_in_the_pause_is_configured(tmp_path: Path) -> None:
    from court.live.transcription import live_options

    assert live_options(load_config().transcription).speculate_after == 0.15
    off = load_config(_with(tmp_path, "speculative_seconds = 0")).transcription
    assert off.speculative_seconds == 0 and live_options(off).speculate_after is None


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('device = "tpu"', "transcription.device"),
        ("beam_size = 0", "transcription.beam_size"),
        ("beam_size = 2\nnum_hypotheses = 5", "transcription.num_hypotheses"),
        ("vad_threshold = 1.5", "transcription.vad_threshold"),
        ("log_prob_threshold = 0.5", "transcription.log_prob_threshold"),
        ("max_utterance_seconds = 40", "transcription.max_utterance_seconds"),
        ('terms = ["", "x"]', "transcription.terms[0]"),
        ("beam = 5", "transcription.beam"),
        ('prompt = "yes"', "transcription.prompt"),
        ("speculative_seconds = -0.1", "transcription.speculative_seconds"),
    ],
)
def test_wrong_transcription_config_names_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(_with(tmp_path, extra))
    assert error.value.key == key


def test_a_shared_channel_is_split_by_voice(sessions: sessionmaker[Session], model_cache: Path) -> None:
    hearing_id = _hearing(sessions)
    clock = ScaledClock(1.0)
    timeline = Timeline(sessions, hearing_id, clock)
    config = TranscriptionConfig(language_model=False, prompt=False)
    hearing = load_hearing(sessions, hearing_id)
    transcription = HearingTranscription(config, model_cache, hearing, SEATS, clock=clock.now)
    transcription.start(timeline)
    tts = MandarinSynthesizer(cache_dir=model_cache / "tts")
    pieces = [np.zeros(8000, np.float32)]
    # 孙丽 speaks first (her first words become her voiceprint), then 钱进 in another voice; then a
    # voice neither of them has (about 0.67 to both voiceprints): the clerk is to say who that was.
    for text, voice in (
        ("我们坚持仲裁请求。", "applicant"),
        ("申请人每周加班超过五十小时。", "respondent"),
        ("请双方当事人注意庭审纪律。", "arbitrator"),
    ):
        speech = tts.synthesize_cached(text, voice_for_role(voice))
        pieces += [resample(speech.samples, speech.sample_rate, 16000), np.zeros(24000, np.float32)]
    audio = np.concatenate(pieces)
    for a in range(0, len(audio), 1600):
        transcription.consume("mic-shared", AudioChunk(audio[a : a + 1600], 16000, 5.0 + a / 16000))
    assert transcription.drain(120)
    transcription.stop()
    lines = [e.payload for e in timeline.events() if e.type == EventType.UTTERANCE]
    assert [(line.get("name"), line["role"], line["role_label"]) for line in lines] == [
        ("孙丽", "applicant_agent", "申请人代理人"),
        ("钱进", "applicant_agent", "申请人代理人"),
        (None, "unidentified", "未识别"),
    ]
    assert lines[0]["participant_id"] != lines[1]["participant_id"]
    assert "participant_id" not in lines[2]
    # The clerk says the unidentified line was 钱进's: his voiceprint learns that voice.
    splitter = transcription.splitters["mic-shared"]
    assert isinstance(splitter, VoiceprintSplitter)
    qian = lines[1]["participant_id"]
    before = splitter.voiceprints[str(qian)].copy()
    third = [e for e in timeline.events() if e.type == EventType.UTTERANCE][2]
    timeline.append(
        EventType.UTTERANCE_ROLE_CHANGED,
        {"line": f"u{third.seq}", "role": "applicant_agent", "role_label": "申请人代理人", "speaker": "钱进",
         "participant_id": qian, "before": "未识别", "after": "申请人代理人 钱进"},
        actor="clerk",
    )  # fmt: skip
    after = splitter.voiceprints[str(qian)]
    assert float(before @ after) < 0.99 and str(lines[0]["participant_id"]) in splitter.voiceprints


# -- item 8: after a restart, the backlog from the recording before the live lines -------------------


def _event(seq: int, t: float, kind: EventType, **payload: object) -> TimelineEvent:
    return TimelineEvent(seq, t, datetime(2026, 12, 1, tzinfo=UTC), kind, payload)


def _segment(
    seq: int, source: str, start: float, end: float, status: str = "ok", media: str = "audio"
) -> TimelineEvent:
    return _event(
        seq, end, EventType.RECORDING_SEGMENT, source=source, start=start, end=end, status=status, media=media
    )


def test_the_backlog_is_planned_from_the_timeline() -> None:
    """Each channel is read back from its last line, never from earlier than the margin before the
    hearing's last line; the audio the crash kept from reaching the disk is a gap, one per group of
    channels that stopped together."""
    line = EventType.UTTERANCE
    events = [
        _segment(1, "mic-applicant", 0.0, 120.0),
        _segment(2, "mic-presiding", 0.0, 118.0),
        _segment(3, "mic-clerk", 0.0, 110.0),
        _segment(4, "cam-wide", 0.0, 121.0, media="video"),
        _segment(5, "mic-unknown", 0.0, 120.0),
        _event(6, 50.0, line, source="mic-applicant", start=45.0, end=50.0, text="…", role="applicant"),
        _event(
            7,
            100.0,
            line,
            source="mic-presiding",
            start=95.0,
            end=100.0,
            text="…",
            role="presiding_arbitrator",
        ),
        _event(8, 121.0, EventType.CAMERA_CUT),
    ]
    restarted = _event(9, 122.0, EventType.PROCESS_RESTARTED, state="in_session")
    events += [
        restarted,
        # What the repair found open: the presiding microphone's last segment decodes to 119 s, the
        # clerk's not at all, the applicant's was closed just before the crash.
        _segment(10, "mic-presiding", 118.0, 119.0, status="defective"),
        _segment(11, "mic-clerk", 110.0, 110.0, status="defective"),
        _segment(12, "mic-applicant", 123.0, 125.0),  # recorded after the restart: the live transcript's
    ]
    backlog = plan_backlog(events, ["mic-applicant", "mic-presiding", "mic-clerk"], restarted, margin=30.0)
    assert backlog.stretches == (
        Stretch("mic-applicant", 70.0, 120.0),
        Stretch("mic-clerk", 70.0, 110.0),
        Stretch("mic-presiding", 100.0, 119.0),
    )
    assert backlog.interrupted_at == 121.0
    assert backlog.gaps == (
        Gap(110.0, 121.0, ("mic-clerk",), NOT_SAVED),
        Gap(119.0, 121.0, ("mic-presiding",), NOT_SAVED),
    )
    # Gaps name the channels somebody speaks on, not an empty seat's microphone.
    occupied = plan_backlog(
        events, ["mic-applicant", "mic-presiding", "mic-clerk"], restarted, speakers=["mic-presiding"]
    )
    assert occupied.gaps == (Gap(119.0, 121.0, ("mic-presiding",), NOT_SAVED),)
    # No line at all yet: everything recorded is read back.
    assert plan_backlog(events[:5] + events[8:], ["mic-clerk"], restarted).stretches == (
        Stretch("mic-clerk", 0.0, 110.0),
    )


def test_a_restart_transcribes_the_backlog_before_the_live_lines(
    sessions: sessionmaker[Session], model_cache: Path
) -> None:
    """The line said before the crash (recorded, never transcribed) goes into the timeline before the
    lines heard live after the restart, which wait for it; a stretch the recording cannot give back
    is a gap, named with its reason."""
    hearing_id = _hearing(sessions)
    clock = ScaledClock(1.0, start=200.0)
    timeline = Timeline(sessions, hearing_id, clock)
    config = TranscriptionConfig(language_model=False, prompt=False)
    transcription = HearingTranscription(
        config, model_cache, load_hearing(sessions, hearing_id), SEATS, clock=clock.now
    )
    synthesizer = MandarinSynthesizer(cache_dir=model_cache / "tts")

    def said(text: str, role: str) -> np.ndarray:
        speech = synthesizer.synthesize_cached(text, voice_for_role(role))
        quiet = np.zeros(8000, np.float32)
        return np.concatenate([quiet, resample(speech.samples, speech.sample_rate, 16000), quiet, quiet])

    before = said("我请求确认劳动关系。", "applicant")  # recorded at 100 s, lost by the crash
    recorded = {"mic-applicant": before}

    def read(source: str, start: float, end: float) -> np.ndarray:
        if source == "mic-presiding":
            raise OSError("segment unreadable")
        audio = recorded[source]
        return audio[round((start - 100.0) * 16000) : round((end - 100.0) * 16000)]

    backlog = Backlog(
        (
            Stretch("mic-applicant", 100.0, 100.0 + len(before) / 16000),
            Stretch("mic-presiding", 100.0, 104.0),
        ),
        (),
        104.0,
    )
    transcription.prepare()
    transcription.hold()
    transcription.start(timeline)
    live = said("被申请人不同意。", "presiding_arbitrator")
    for a in range(0, len(live), 1600):
        transcription.consume("mic-presiding", AudioChunk(live[a : a + 1600], 16000, 200.0 + a / 16000))
    assert transcription.live is not None and transcription.live.wait_idle(60)
    assert not [e for e in timeline.events() if e.type == EventType.UTTERANCE], "held until the backlog is in"
    transcription.catch_up(backlog, read, timeline)
    assert transcription.drain(180)
    transcription.stop()

    events = timeline.events()
    kinds = [e.type for e in events if e.type in (EventType.UTTERANCE, EventType.TRANSCRIPTION_RECOVERED)]
    assert kinds == [EventType.UTTERANCE, EventType.TRANSCRIPTION_RECOVERED, EventType.UTTERANCE]
    first, second = [e.payload for e in events if e.type == EventType.UTTERANCE]
    assert first["source"] == "mic-applicant" and 100.0 < first["start"] < 102.0
    assert cer("我请求确认劳动关系。", first["text"])[0] <= 3, first["text"]
    assert second["source"] == "mic-presiding" and second["start"] > 200.0
    recovered = next(e.payload for e in events if e.type == EventType.TRANSCRIPTION_RECOVERED)
    assert recovered["lines"] == 1 and recovered["audio_seconds"] > 1.0
    gap = next(e.payload for e in events if e.type == EventType.TRANSCRIPTION_GAP)
    assert (gap["start"], gap["end"], gap["sources"]) == (100.0, 104.0, ["mic-presiding"])
    assert gap["reason"].startswith("录音无法读取") and "segment unreadable" in gap["reason"]
