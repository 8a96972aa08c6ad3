"""The camera director's rules, on a fake timeline of who talks when (ticks of 0.1 s)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from court.config import DEFAULT_CONFIG, ConfigError, DirectorConfig, ProgramConfig, parse_config
from court.core.events import EventType
from court.core.roles import Role
from court.live.director import (
    BLIP_SECONDS,
    Cut,
    Director,
    DirectorError,
    DirectorEvent,
    Mode,
    ModeChange,
    Rule,
    Speaker,
)
from devices.activity import Speaking

TICK = 0.1
CONFIG = DirectorConfig()
SPEAKERS = (
    Speaker("presiding", "cam-bench", Role.PRESIDING_ARBITRATOR, "首席仲裁员 王建国"),
    Speaker("clerk", "cam-bench", Role.CLERK, "书记员 赵敏"),
    Speaker("applicant", "cam-applicant", Role.APPLICANT, "申请人 张伟"),
    Speaker("respondent-agent", "cam-respondent", Role.RESPONDENT_AGENT, "被申请人代理人 周强"),
    Speaker("remote-witness", "remote-7", Role.WITNESS, "证人 吴强"),
)
SPEAKERS_BY_KEY = {s.key: s for s in SPEAKERS}

Spans = Mapping[str, Sequence[tuple[float, float]]]


def director(config: DirectorConfig = CONFIG) -> Director:
    return Director(
        config, SPEAKERS, wide_camera="cam-wide", bench_camera="cam-bench", cameras=["cam-applicant"]
    )


def run(
    d: Director,
    speech: Spans,
    until: float,
    *,
    actions: Mapping[float, Callable[[Director, float], list[DirectorEvent]]] | None = None,
) -> list[DirectorEvent]:
    """Tick the director from 0 to ``until``; ``actions`` are the clerk's, at their tick."""
    events: list[DirectorEvent] = []
    for k in range(round(until / TICK) + 1):
        t = round(k * TICK, 3)
        for at, action in (actions or {}).items():
            if abs(at - t) < TICK / 2:
                events += action(d, t)
        talking = [key for key, spans in speech.items() if any(a <= t < b for a, b in spans)]
        events += d.update(t, talking)
    return events


def cuts(events: Sequence[DirectorEvent]) -> list[Cut]:
    return [e for e in events if isinstance(e, Cut)]


def shots_too_short(events: Sequence[DirectorEvent], config: DirectorConfig = CONFIG) -> list[Cut]:
    """Automatic cuts that ended a shot sooner than the minimum hold."""
    automatic = {Rule.LOCK, Rule.CLERK, Rule.FAULT, Rule.START}
    return [c for c in cuts(events) if c.rule not in automatic and c.held < config.min_hold_seconds - 1e-9]


def test_starts_on_the_bench_and_every_cut_says_why() -> None:
    events = run(director(), {"applicant": [(3.0, 12.0)]}, 20.0)
    first = cuts(events)[0]
    assert (first.t, first.camera, first.rule, first.previous) == (0.0, "cam-bench", Rule.START, None)
    for cut in cuts(events):
        assert cut.reason and cut.rule and cut.camera != cut.previous


def test_a_speaker_is_taken_after_the_onset_and_a_cough_is_not() -> None:
    events = run(director(), {"applicant": [(10.0, 20.0)], "respondent-agent": [(4.0, 4.4)]}, 21.0)
    taken = [c for c in cuts(events) if c.camera == "cam-applicant"]
    assert len(taken) == 1
    assert taken[0].t == pytest.approx(10.0 + CONFIG.onset_seconds, abs=TICK + 1e-9)
    assert taken[0].rule is Rule.SPEAKER and taken[0].speaker == "applicant" and "申请人" in taken[0].reason
    assert not [c for c in cuts(events) if c.camera == "cam-respondent"], "a 0.4 s burst takes no camera"


def test_onset_follows_the_config() -> None:
    slow = replace(CONFIG, onset_seconds=1.5)
    events = run(director(slow), {"applicant": [(10.0, 20.0)]}, 21.0)
    taken = next(c for c in cuts(events) if c.camera == "cam-applicant")
    assert taken.t == pytest.approx(11.5, abs=TICK + 1e-9)


def test_a_shot_is_held_for_the_minimum_before_the_next_speaker() -> None:
    speech = {"applicant": [(10.0, 11.0)], "respondent-agent": [(11.2, 20.0)]}
    events = run(director(), speech, 21.0)
    applicant = next(c for c in cuts(events) if c.camera == "cam-applicant")
    respondent = next(c for c in cuts(events) if c.camera == "cam-respondent")
    # The respondent's onset is complete at 12.0, but the applicant's shot must stand 2.5 s first.
    assert respondent.t == pytest.approx(applicant.t + CONFIG.min_hold_seconds, abs=TICK + 1e-9)
    assert respondent.held >= CONFIG.min_hold_seconds
    assert not shots_too_short(events)


def test_the_speaker_is_left_after_silence_then_the_bench_after_a_long_silence() -> None:
    events = run(director(), {"applicant": [(10.0, 20.0)]}, 30.0)
    after = [c for c in cuts(events) if c.t > 20.0]
    assert [(c.camera, c.rule) for c in after] == [("cam-wide", Rule.RELEASED), ("cam-bench", Rule.IDLE)]
    assert after[0].t == pytest.approx(20.0 + CONFIG.release_seconds, abs=2 * TICK)
    assert after[1].t == pytest.approx(20.0 + CONFIG.idle_seconds, abs=2 * TICK)


def test_long_silence_goes_wide_when_so_configured() -> None:
    wide_idle = replace(CONFIG, idle_view="wide")
    events = run(director(wide_idle), {"applicant": [(10.0, 20.0)]}, 30.0)
    assert cuts(events)[0].camera == "cam-wide"
    assert [c.camera for c in cuts(events) if c.t > 20.0] == ["cam-wide"]


def test_a_pause_shorter_than_the_release_keeps_the_speaker() -> None:
    speech = {"applicant": [(10.0, 15.0), (16.2, 25.0)]}
    events = run(director(), speech, 26.0)
    assert [c.camera for c in cuts(events) if c.t > 11.0] == []


def test_a_returning_speaker_needs_a_new_onset() -> None:
    speech = {"applicant": [(10.0, 15.0), (20.0, 20.3), (23.0, 30.0)]}
    events = run(director(), speech, 31.0)
    back = [c for c in cuts(events) if c.camera == "cam-applicant" and c.t > 16.0]
    assert len(back) == 1 and back[0].t == pytest.approx(23.0 + CONFIG.onset_seconds, abs=TICK + 1e-9)


def test_two_talking_over_a_second_goes_wide_then_back() -> None:
    speech = {"applicant": [(10.0, 30.0)], "respondent-agent": [(15.0, 22.0)]}
    events = run(director(), speech, 31.0)
    overlap = next(c for c in cuts(events) if c.rule is Rule.OVERLAP)
    assert overlap.camera == "cam-wide"
    assert overlap.t == pytest.approx(15.0 + CONFIG.overlap_seconds, abs=2 * TICK)
    assert "申请人 张伟" in overlap.reason and "被申请人代理人 周强" in overlap.reason
    back = [c for c in cuts(events) if c.t > overlap.t]
    assert [c.camera for c in back] == ["cam-applicant"]
    assert not shots_too_short(events)


def test_a_short_interjection_does_not_go_wide() -> None:
    speech = {"applicant": [(10.0, 30.0)], "respondent-agent": [(15.0, 15.8)]}
    events = run(director(), speech, 31.0)
    assert [c.camera for c in cuts(events)] == ["cam-bench", "cam-applicant"]


def test_a_close_up_over_a_minute_gives_way_to_wide_and_comes_back() -> None:
    events = run(director(), {"applicant": [(10.0, 100.0)]}, 100.0)
    later = [c for c in cuts(events) if c.t > 11.0]
    assert [(c.camera, c.rule) for c in later] == [
        ("cam-wide", Rule.LONG_CLOSEUP),
        ("cam-applicant", Rule.SPEAKER),
    ]
    closeup = next(c for c in cuts(events) if c.camera == "cam-applicant")
    assert later[0].t == pytest.approx(closeup.t + CONFIG.max_closeup_seconds, abs=TICK + 1e-9)
    assert later[1].t == pytest.approx(later[0].t + CONFIG.relief_seconds, abs=TICK + 1e-9)


def test_speakers_on_one_camera_share_the_shot() -> None:
    speech = {"presiding": [(10.0, 15.0)], "clerk": [(15.5, 25.0)]}
    d = director()
    events = run(d, speech, 20.0)
    assert [c.camera for c in cuts(events)] == ["cam-bench"]
    floor = d.floor()
    assert floor is not None and floor.key == "clerk", "the caption follows the speaker, not the camera"


def test_a_remote_party_gets_their_own_video() -> None:
    events = run(director(), {"remote-witness": [(10.0, 20.0)]}, 21.0)
    assert [c.camera for c in cuts(events)][-1] == "remote-7"


def test_a_lock_cuts_at_once_holds_and_then_automatic_switching_resumes() -> None:
    speech = {"applicant": [(10.0, 40.0)]}
    events = run(
        director(),
        speech,
        41.0,
        actions={12.0: lambda d, t: d.lock(t, "cam-wide", 10.0, "证人保护 (protected witness)")},
    )
    lock = next(c for c in cuts(events) if c.rule is Rule.LOCK)
    assert (lock.t, lock.camera) == (12.0, "cam-wide") and "证人保护" in lock.reason
    modes = [e for e in events if isinstance(e, ModeChange)]
    assert [(m.mode, m.t) for m in modes] == [(Mode.LOCKED, 12.0), (Mode.AUTO, 22.0)]
    assert modes[0].until == 22.0
    assert [c.camera for c in cuts(events) if 12.0 < c.t < 22.0] == []
    assert [(c.t, c.camera) for c in cuts(events) if c.t >= 22.0] == [(22.0, "cam-applicant")]


def test_automatic_switching_off_for_a_phase_and_back() -> None:
    d = director()
    speech = {"applicant": [(10.0, 20.0)], "respondent-agent": [(21.0, 30.0)], "presiding": [(40.0, 50.0)]}

    def select(director: Director, t: float) -> list[DirectorEvent]:
        with pytest.raises(DirectorError, match="automatic switching off"):
            director.select(t, "cam-wide")
        return director.manual(t, "辩论阶段 (debate)") + director.select(t + 0.05, "cam-wide")

    events = run(
        d,
        speech,
        51.0,
        actions={15.0: select, 35.0: lambda director, t: director.resume(t)},
    )
    manual_cuts = [c for c in cuts(events) if 15.0 <= c.t < 35.0]
    assert [(c.camera, c.rule) for c in manual_cuts] == [("cam-wide", Rule.CLERK)]
    assert [m.mode for m in events if isinstance(m, ModeChange)] == [Mode.MANUAL, Mode.AUTO]
    resumed = [c for c in cuts(events) if c.t >= 35.0]
    # Everyone has been silent since 30 s: the idle view at once, and the presiding is on it.
    assert [(c.t, c.camera, c.rule) for c in resumed] == [(35.0, "cam-bench", Rule.IDLE)]
    assert d.mode is Mode.AUTO


def test_a_dead_camera_is_skipped_and_left_at_once_then_used_again() -> None:
    d = director()
    d.set_available("cam-applicant", False)
    events = run(d, {"applicant": [(10.0, 20.0)]}, 15.0)
    fallback = cuts(events)[-1]
    assert fallback.camera == "cam-wide" and "cam-applicant" in fallback.reason
    d.set_available("cam-applicant", True)
    recovered = d.update(15.1 + CONFIG.min_hold_seconds, ["applicant"])
    assert [c.camera for c in cuts(recovered)] == ["cam-applicant"]
    d.set_available("cam-applicant", False)
    forced = d.update(17.7, ["applicant"])
    assert [(c.camera, c.rule) for c in cuts(forced)] == [("cam-wide", Rule.SPEAKER)]
    assert cuts(forced)[0].held < CONFIG.min_hold_seconds, "a dead picture does not wait for the hold"


def test_a_dead_idle_picture_is_left_when_nobody_talks() -> None:
    d = director()
    d.update(0.0, [])
    d.set_available("cam-bench", False)
    events = d.update(0.1, [])
    assert [(c.camera, c.rule) for c in cuts(events)] == [("cam-wide", Rule.IDLE)]
    assert "cam-bench" in cuts(events)[0].reason


def test_bad_requests_are_refused_clearly() -> None:
    d = director()
    with pytest.raises(DirectorError, match="unknown speaker"):
        d.update(0.0, ["nobody"])
    with pytest.raises(DirectorError, match="unknown camera 'cam-x'"):
        d.lock(0.0, "cam-x", 5.0)
    with pytest.raises(DirectorError, match="positive duration"):
        d.lock(0.0, "cam-wide", 0.0)
    assert d.camera is None, "nothing happened"


def test_a_close_up_counts_from_the_speaker_not_from_the_idle_shot() -> None:
    events = run(director(), {"presiding": [(50.0, 100.0)]}, 100.0)
    assert [c.rule for c in cuts(events)] == [Rule.START], "the bench was idle, then the presiding's"
    longer = run(director(), {"presiding": [(50.0, 113.0)]}, 113.0)
    relief = cuts(longer)[-1]
    assert relief.rule is Rule.LONG_CLOSEUP
    assert relief.t == pytest.approx(
        50.0 + CONFIG.onset_seconds + CONFIG.max_closeup_seconds, abs=TICK + 1e-9
    )


def _with(table: str, values: dict[str, object]) -> dict[str, object]:
    raw: dict[str, object] = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw[table] = {**raw.get(table, {}), **values}  # type: ignore[dict-item]
    return raw


def test_the_director_and_program_tables_are_read_and_checked(tmp_path: Path) -> None:
    config = parse_config(
        _with(
            "director",
            {
                "onset_seconds": 1.0,
                "expected_onset_seconds": 0.4,
                "idle_view": "wide",
                "priority_roles": [],
                "vad_model": "models/vad.onnx",
            },
        ),
        base=tmp_path,
    )
    assert config.director.onset_seconds == 1.0 and config.director.idle_view == "wide"
    assert config.director.expected_onset_seconds == 0.4
    assert config.director.priority_roles == () and config.director.vad_model == tmp_path / "models/vad.onnx"
    assert config.director.min_hold_seconds == CONFIG.min_hold_seconds
    assert parse_config(
        _with("program", {"width": 1280, "height": 720, "fps": 25}), base=tmp_path
    ).program == (ProgramConfig(1280, 720, 25.0))
    bad: list[tuple[str, dict[str, object], str]] = [
        ("director", {"onset_seconds": 0}, "director.onset_seconds"),
        ("director", {"idle_view": "door"}, "director.idle_view"),
        ("director", {"priority_roles": ["judge"]}, "director.priority_roles[0]"),
        ("director", {"exchange_turns": 1}, "director.exchange_turns"),
        ("director", {"vad_threshold": 1.5}, "director.vad_threshold"),
        ("director", {"expected_onset_seconds": 1.0}, "director.expected_onset_seconds"),
        ("director", {"own_voice_db": 0}, "director.own_voice_db"),
        ("director", {"crosstalk_margin_db": 15}, "director.crosstalk_margin_db"),
        ("director", {"cut_fast": True}, "director.cut_fast"),
        ("program", {"width": 641}, "program.width"),
        ("program", {"mask": "pixelate"}, EventType.PROGRAM_MASK),
        ("program", {"fps": "25"}, "program.fps"),
    ]
    for table, values, key in bad:
        with pytest.raises(ConfigError) as caught:
            parse_config(_with(table, values), base=tmp_path)
        assert caught.value.key == key, (values, caught.value)


def test_a_turn_counts_from_when_the_detector_heard_the_voice_begin() -> None:
    # Reported from the tick at 10.0, but the detector heard the voice begin at 9.75.
    d, events = director(), []
    for k in range(121):
        t = round(k * TICK, 3)
        events += d.update(t, {"applicant": 9.75} if 10.0 <= t < 12.0 else {})
    taken = next(c for c in cuts(events) if c.camera == "cam-applicant")
    assert taken.t == pytest.approx(9.75 + CONFIG.onset_seconds, abs=TICK + 1e-9)
    assert taken.t >= 9.75 + CONFIG.onset_seconds - 1e-9, "never before the voice has lasted the onset"
    # A start in the future (a clock mismatch) is taken as now.
    late, events = director(), []
    for k in range(121):
        t = round(k * TICK, 3)
        events += late.update(t, {"applicant": 99.0} if t >= 10.0 else {})
    taken = next(c for c in cuts(events) if c.camera == "cam-applicant")
    assert taken.t == pytest.approx(10.0 + CONFIG.onset_seconds, abs=TICK + 1e-9)


def test_a_burst_and_the_silence_bridged_after_it_are_not_a_turn() -> None:
    # 0.6 s of noise: still "talking" (bridged) for 0.5 s after, but heard for less than the onset.
    events = run(director(), {"respondent-agent": [(4.0, 4.6)]}, 10.0)
    assert [c.camera for c in cuts(events)] == ["cam-bench"]


def test_a_short_pause_within_an_overlap_does_not_cut_back_and_forth() -> None:
    speech = {"applicant": [(10.0, 30.0)], "respondent-agent": [(12.0, 16.5), (17.0, 25.0)]}
    events = run(director(), speech, 31.0)
    overlap = next(c for c in cuts(events) if c.rule is Rule.OVERLAP)
    after = [(c.camera, c.rule) for c in cuts(events) if c.t > overlap.t]
    assert after == [("cam-applicant", Rule.SPEAKER)], "wide until the respondent has stopped"
    assert next(c.t for c in cuts(events) if c.t > overlap.t) > 25.0


def test_an_interjection_in_the_speakers_breath_does_not_take_the_picture() -> None:
    # The respondent starts over the applicant, who pauses 0.6 s between sentences and goes on.
    speech = {"applicant": [(10.0, 20.0), (20.6, 30.0)], "respondent-agent": [(19.5, 24.0)]}
    events = run(director(), speech, 31.0)
    assert not [c for c in cuts(events) if c.camera == "cam-respondent"]
    assert [c.rule for c in cuts(events) if c.t > 11.0] == [Rule.OVERLAP, Rule.SPEAKER]
    assert not shots_too_short(events)


def test_a_speaker_who_starts_just_before_the_last_one_stops_takes_over_after_the_onset() -> None:
    speech = {"applicant": [(10.0, 20.0)], "respondent-agent": [(19.7, 30.0)]}
    events = run(director(), speech, 31.0)
    taken = next(c for c in cuts(events) if c.camera == "cam-respondent")
    # Counted from the applicant's last word (heard until 19.9): talked as the speaker for the onset.
    assert taken.t == pytest.approx(19.9 + CONFIG.onset_seconds, abs=TICK + 1e-9)


def alternating(until: float, turn: float, gap: float) -> dict[str, list[tuple[float, float]]]:
    """The applicant and the respondent's agent taking turns of ``turn`` seconds from 10 s."""
    speech: dict[str, list[tuple[float, float]]] = {"applicant": [], "respondent-agent": []}
    t, who = 10.0, "applicant"
    while t < until:
        speech[who].append((t, t + turn))
        t += turn + gap
        who = "respondent-agent" if who == "applicant" else "applicant"
    return speech


def test_an_exchange_too_fast_to_follow_goes_wide_until_someone_holds_the_floor() -> None:
    speech = alternating(29.0, 0.9, 0.2)  # the last turn ends at 29.6
    start = 30.6
    speech["applicant"].append((start, start + 15.0))
    events = run(director(), speech, start + 16.0)
    exchange = [c for c in cuts(events) if c.rule is Rule.EXCHANGE]
    assert exchange and exchange[0].camera == "cam-wide"
    during = [c for c in cuts(events) if exchange[0].t < c.t < 30.0]
    assert during == [], "the wide view holds while the exchange goes on"
    settled = [c for c in cuts(events) if c.t > 30.0]
    assert [c.camera for c in settled] == ["cam-applicant"]
    assert settled[0].t >= start + CONFIG.exchange_settle_seconds - 1e-9
    assert not shots_too_short(events)


def test_questions_and_one_line_answers_are_followed_not_taken_wide() -> None:
    # The presiding asks (3 s), a party answers in one line (1.2 s), and so on: not an exchange.
    speech: dict[str, list[tuple[float, float]]] = {"presiding": [], "applicant": [], "respondent-agent": []}
    t = 10.0
    for party in ("applicant", "respondent-agent") * 3:
        speech["presiding"].append((t, t + 3.0))
        speech[party].append((t + 3.6, t + 4.8))
        t += 5.6
    events = run(director(), speech, t + 3.0)
    assert not [c for c in cuts(events) if c.rule in (Rule.EXCHANGE, Rule.OVERLAP)]
    for party, spans in speech.items():
        for a, b in spans:
            camera = SPEAKERS_BY_KEY[party].camera
            shown = [c for c in cuts(events) if c.camera == camera and a <= c.t <= b]
            assert shown or (camera == "cam-bench" and a < 11.0), (party, a, b)
    assert not shots_too_short(events)


def test_an_exchange_settles_when_one_speaker_holds_the_floor_across_a_pause() -> None:
    speech = alternating(29.0, 0.9, 0.2)
    start = 30.6
    # The applicant holds the floor, with a 0.7 s breath after 3 s.
    speech["applicant"] += [(start, start + 3.0), (start + 3.7, start + 12.0)]
    events = run(director(), speech, start + 13.0)
    assert any(c.rule is Rule.EXCHANGE for c in cuts(events))
    settled = [c for c in cuts(events) if c.t > 30.0]
    assert [c.camera for c in settled] == ["cam-applicant"]
    assert settled[0].t == pytest.approx(start + CONFIG.exchange_settle_seconds, abs=TICK + 1e-9)


def test_the_presiding_talking_over_a_party_who_goes_on_is_an_overlap() -> None:
    # Also what a leak that made the bench's microphone seem to talk would look like: no bench cut.
    speech = {"applicant": [(10.0, 30.0)], "presiding": [(15.0, 22.0)]}
    events = run(director(), speech, 31.0)
    assert not [c for c in cuts(events) if c.camera == "cam-bench" and c.t > 1.0]
    overlap = next(c for c in cuts(events) if c.rule is Rule.OVERLAP)
    assert overlap.t == pytest.approx(15.0 + CONFIG.overlap_seconds, abs=2 * TICK)
    assert cuts(events)[-1].camera == "cam-applicant"


def test_the_presiding_speaking_up_takes_the_floor_from_their_first_word_when_the_party_yields() -> None:
    # The applicant stops 0.8 s after the presiding began (no overlap yet): the presiding's onset
    # counts from their own first word, not from the applicant's last one (as anybody else's would).
    speech = {"applicant": [(10.0, 15.8)], "presiding": [(15.0, 25.0)]}
    taken = next(c for c in cuts(run(director(), speech, 26.0)) if c.camera == "cam-bench" and c.t > 1.0)
    assert taken.rule is Rule.PRIORITY and taken.speaker == "presiding"
    # In the bridge after the applicant's last word (15.7) nobody takes the floor; then at once.
    assert taken.t == pytest.approx(15.7 + CONFIG.bridge_seconds + TICK, abs=1e-9)
    plain = run(director(replace(CONFIG, priority_roles=())), speech, 26.0)
    later = next(c for c in cuts(plain) if c.camera == "cam-bench" and c.t > 1.0)
    assert later.rule is Rule.SPEAKER
    assert later.t == pytest.approx(15.7 + CONFIG.onset_seconds, abs=1e-9)


def test_an_overlap_counts_across_a_pause_of_the_one_talked_over() -> None:
    # The applicant breathes for 0.6 s a second into the respondent's interruption: still together.
    speech = {"applicant": [(10.0, 15.0), (15.6, 25.0)], "respondent-agent": [(14.5, 20.0)]}
    overlap = next(c for c in cuts(run(director(), speech, 26.0)) if c.rule is Rule.OVERLAP)
    # As soon as the applicant's voice is back for more than a blip, not a second after it.
    assert 15.6 <= overlap.t <= 15.6 + BLIP_SECONDS + TICK + 1e-9


def test_a_voice_dropping_for_a_moment_in_an_overlap_does_not_hand_over_the_picture() -> None:
    # In a leaky room the quieter of two voices drops out for a chunk or two: the other, who began
    # over the speaker, still counts from the speaker's last word.
    speech = {"applicant": [(10.0, 17.0), (17.6, 30.0)], "respondent-agent": [(14.0, 20.0)]}
    events = run(director(), speech, 31.0)
    assert any(c.rule is Rule.OVERLAP for c in cuts(events))
    assert not [c for c in cuts(events) if c.camera == "cam-respondent"]


def test_a_hold_limited_cut_lands_on_the_tick_it_is_due() -> None:
    # Ticks half a tick after the chunks, as the live program's: 10.05, 10.15, ...
    d, events = director(), []
    speech = {"applicant": [(10.0, 11.0)], "respondent-agent": [(11.2, 20.0)]}
    for k in range(211):
        t = 0.05 + k * TICK
        events += d.update(t, [key for key, spans in speech.items() if any(a <= t < b for a, b in spans)])
    applicant = next(c for c in cuts(events) if c.camera == "cam-applicant")
    respondent = next(c for c in cuts(events) if c.camera == "cam-respondent")
    assert respondent.t == pytest.approx(applicant.t + CONFIG.min_hold_seconds, abs=1e-9)


# -- anticipation ---------------------------------------------------------------------------------------


Action = Callable[[Director, float], list[DirectorEvent]]


def cue(keys: list[str], reason: str, since: float | None = None) -> Action:
    """The anticipation arming ``keys`` at its tick (as the live program does, between updates)."""

    def arm(d: Director, t: float) -> list[DirectorEvent]:
        d.expect(t, keys, reason, since=since)
        return []

    return arm


def test_an_expected_speaker_takes_the_camera_after_the_short_onset() -> None:
    # The question ends at 8.0; its line reaches the program half a second later.
    speech = {"presiding": [(2.0, 8.0)], "applicant": [(9.0, 15.0)]}
    d = director()
    armed: list[frozenset[str]] = []

    def look(d: Director, t: float) -> list[DirectorEvent]:
        armed.append(d.expected())
        return []

    asked = {8.5: cue(["applicant"], "仲裁员请申请人发言", since=8.0)}
    events = run(d, speech, 16.0, actions={**asked, 8.8: look})
    assert armed == [{"applicant"}]
    taken = next(c for c in cuts(events) if c.camera == "cam-applicant")
    assert taken.t == pytest.approx(9.0 + CONFIG.expected_onset_seconds, abs=TICK + 1e-9)
    assert taken.expected and "预期" in taken.reason and "仲裁员请申请人发言" in taken.reason
    assert d.expected() == frozenset(), "taken: the expectation is spent"
    # Anybody else still needs the full onset.
    other = director()
    events = run(other, {"presiding": [(2.0, 8.0)], "respondent-agent": [(9.0, 15.0)]}, 16.0, actions=asked)
    respondent = next(c for c in cuts(events) if c.camera == "cam-respondent")
    assert respondent.t == pytest.approx(9.0 + CONFIG.onset_seconds, abs=TICK + 1e-9)
    assert not respondent.expected


def test_a_cue_alone_cuts_nothing_and_lapses() -> None:
    d = director()
    d.expect(5.0, ["applicant"], "仲裁员请申请人发言")
    events = run(d, {}, 5.0 + CONFIG.expect_seconds + 1.0)
    assert [c.rule for c in cuts(events)] == [Rule.START], "no cut before the expected person speaks"
    assert d.expected() == frozenset(), "lapsed"
    late = run(d, {"applicant": [(20.0, 30.0)]}, 31.0)
    taken = next(c for c in cuts(late) if c.camera == "cam-applicant")
    assert taken.t == pytest.approx(20.0 + CONFIG.onset_seconds, abs=TICK + 1e-9) and not taken.expected


def test_an_expected_speakers_cough_is_not_their_turn() -> None:
    # A 0.12 s burst the detector keeps "active" through its hangover: voiced too briefly.
    d, events = director(), []
    d.expect(5.0, ["applicant"], "仲裁员请申请人发言")
    for k in range(101):
        t = round(k * TICK, 3)
        if 6.1 <= t <= 6.6:
            events += d.update(t, Speaking({"applicant": 6.05}, {"applicant": 6.17}))
        else:
            events += d.update(t, Speaking({}))
    assert [c.rule for c in cuts(events)] == [Rule.START]


def test_an_expected_speaker_over_somebody_still_talking_needs_the_full_onset() -> None:
    speech = {"applicant": [(10.0, 20.0)], "respondent-agent": [(15.0, 15.6)]}
    asked = {14.0: cue(["respondent-agent"], "仲裁员请被申请人发言")}
    events = run(director(), speech, 21.0, actions=asked)
    assert not [c for c in cuts(events) if c.camera == "cam-respondent"]
    # The same 0.6 s once the applicant has stopped: their turn.
    speech = {"applicant": [(10.0, 14.0)], "respondent-agent": [(15.0, 15.6)]}
    events = run(director(), speech, 21.0, actions=asked)
    assert [c for c in cuts(events) if c.camera == "cam-respondent"]


def test_expectations_name_known_speakers() -> None:
    with pytest.raises(DirectorError, match="unknown speaker"):
        director().expect(0.0, ["nobody"], "")
