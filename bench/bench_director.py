"""Camera switching on the simulated courtroom: the director beside a plain loudest-microphone
switcher, on the same audio, scored against the simulated room's own schedule.

Synthesized Mandarin (each role's voice) is placed on the seat microphones of the simulated room; every
seat microphone also hears every other seat (``leak`` dB down, 10-20 ms late, a different delay for
each pair) over room noise. The microphones are read in 100 ms chunks as the capture loop reads them,
the real voice-activity detector (Silero VAD, with its measured room leak) judges every channel, and
the director ticks every 100 ms, half a tick after the chunks it sees, as the live program does. The
transcript the anticipation reads is the script's text, delivered ``--asr-delay`` seconds after each
line's last word (the recognizer's end-of-speech → line latency); it is never the truth.

Truth: where each seat's own voice is, from the room's schedule (pauses under 0.6 s bridged; coughs and
leaked voices are not speech). Score: the share of speech time with the right camera on air — the
speaker's camera, or the wide view while people on different cameras talk at once; silence is not
scored. Every turn (one scripted line) counts for the latency: onset → the cut to its camera (or to the
wide view, for a turn begun over somebody else); a turn of >= 1 s with no such cut before its end is
missed. A turn is *expected* when the anticipation had armed its speaker by the time the full attack
would have run out.

The loudest-microphone switcher gets the director's attack, hold and release: the loudest channel
above its noise floor (level over the last 0.3 s) that has stayed the loudest for the attack is cut to
once the shot has been held; nobody above the floor for the release → the wide view.

Printed: every conversation in the nominal room (leak -24 dB, noise -60 dBFS), director and loudest
microphone row by row; a sweep of leak levels (-30, -20, -15, -10 dB at -45 dBFS of room noise, -10 dB
at -60 dBFS, and -10 dB through a reverberant room, where the leak no longer follows the voice
syllable by syllable), with the -10 dB room row by row; what the anticipation gains (off, the
transcript 0.5/1/2 s late, other short onsets); every goal, met or not. The demo hearing is timed as
the demo plays it (a negative pause starts the next line over this one's end).

Goals (every scenario, the demo hearing included): right camera >= 90% and >= 5 points ahead of the
loudest microphone; onset → cut p50 <= 0.6 s for an expected speaker, <= 1.0 s for anyone else; no shot
under 2 s; no missed turn of >= 1 s; at -10 dB leak and -45 dBFS noise >= 85%.

    .venv/bin/python bench/bench_director.py [--cache DIR] [--quick] [--asr-delay S] [-v]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from court.config import Config, DirectorConfig, load_config
from court.core.lifecycle import Phase
from court.demo.script import load_script
from court.live.cues import Cues
from court.live.director import Cut, Director, Rule, Speaker
from court.live.program import activity_monitor, room_speakers
from devices.activity import Speaking
from devices.clock import ScaledClock
from devices.media import AudioChunk, Samples
from devices.resample import resample
from devices.simulated.microphone import Clip, speech_spans
from devices.simulated.room import CameraSpec, RoomSpec, SeatSpec, SimulatedRoom
from devices.simulated.scene import CameraView
from devices.tts import MandarinSynthesizer, voice_for_role
from devices.vad import SileroVad

RATE = 16000
CHUNK = 0.1
TICK_PHASE = 0.05
"""The ticker is not in step with the chunks: on average half a tick late."""
DEMO_SPEECH_LEAD = 0.3
"""As court/demo/hearing.py schedules a line: this long after the previous line's pause."""
ASR_DELAY = 1.0
"""End of a line's speech → its text reaches the director (the recognizer's goal is <= 1.0 s p50)."""
GOAL_SHARE, GOAL_LEAD, GOAL_LEAKY = 0.90, 0.05, 0.85
GOAL_EXPECTED, GOAL_OTHER, GOAL_SHOT = 0.6, 1.0, 2.0
MIN_TURN = 1.0


@dataclass(frozen=True)
class RoomAcoustics:
    noise_dbfs: float = -60.0
    leak_db: float = -24.0
    echo: bool = False
    """The leak reaches the other microphones through the room (a 0.3 s reverberation tail) rather than
    as a clean delayed copy: its envelope no longer follows the voice, only its level tells."""

    def __str__(self) -> str:
        echo = " with room echo" if self.echo else ""
        return f"leak {self.leak_db:g} dB{echo}, noise {self.noise_dbfs:g} dBFS"


NOMINAL = RoomAcoustics()
LEAKY = RoomAcoustics(-45.0, -10.0)
SWEEP = (
    *(RoomAcoustics(-45.0, leak) for leak in (-30.0, -20.0, -15.0, -10.0)),
    RoomAcoustics(-60.0, -10.0),
    RoomAcoustics(-45.0, -10.0, echo=True),
)


def room_echo(seed: int) -> Samples:
    """An impulse response: the direct sound, then a decaying diffuse tail (RT60 0.3 s), with the
    energy of the direct sound alone (so the leak's level is what ``leak_db`` says)."""
    rng = np.random.default_rng(seed)
    n = int(0.3 * RATE)
    tail = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.3 / 6.9 * RATE)) * 0.5
    tail[0] = 1.0
    return np.asarray(tail / np.sqrt(np.sum(tail**2)), np.float32)


SENTENCES: dict[str, list[str]] = {
    "presiding": [
        "现在进行庭审调查，请申请人陈述仲裁请求和事实理由。",
        "被申请人对申请人提交的劳动合同有无异议？",
        "请双方围绕加班事实和工资标准发表质证意见。",
        "本庭再次提醒双方，发言须经仲裁庭许可。",
    ],
    "applicant": [
        "我于二零二三年三月入职被申请人公司，担任软件工程师，每月工资一万二千元。",
        "公司从去年十月开始拖欠工资，共计三个月，我多次催要都没有结果。",
        "今年一月公司以业务调整为由通知我离职，没有支付任何经济补偿。",
        "我请求裁决公司支付拖欠的工资三万六千元和经济补偿金。",
        "有加班，每周都有。",
        "考勤记录是真实的。",
        "那是主管口头安排的。",
    ],
    "applicant-agent": [
        "代理人补充一点，申请人的考勤记录可以证明每周加班超过十小时。",
        "以上证据已经提交仲裁庭，请仲裁庭予以采纳。",
    ],
    "respondent-agent": [
        "被申请人认为申请人的加班没有经过审批，不应计算加班费。",
        "公司是因为经营困难才调整岗位，并不是违法解除劳动合同。",
        "对考勤记录的真实性有异议，该记录不是公司系统导出的。",
        "加班没有审批。",
        "我们不认可。",
        "公司没有这个安排。",
    ],
    "clerk": ["请双方当事人核对笔录后签字。"],
}


@dataclass(frozen=True)
class Turn:
    seat: str
    start: float
    clip: Samples
    text: str = ""
    phase: Phase | None = None
    cough: bool = False

    def voiced(self) -> tuple[float, float]:
        """Where the line's voice is (its leading and trailing silence left out)."""
        spans = speech_spans(self.clip, RATE)
        if not spans:
            return self.start, self.start
        return self.start + spans[0][0], self.start + spans[-1][1]


@dataclass
class Script:
    """Builds a conversation: each turn placed after the previous one ends (plus a gap), or at a time."""

    speech: Callable[[str, int], tuple[Samples, str]]
    turns: list[Turn] = field(default_factory=list)
    end: float = 1.0

    def say(self, seat: str, *lines: int, gap: float = 0.6, at: float | None = None) -> float:
        parts = [self.speech(seat, i) for i in lines]
        pad = np.zeros(int(0.25 * RATE), np.float32)
        clip = np.concatenate([np.concatenate([samples, pad]) for samples, _ in parts])
        start = self.end + gap if at is None else at
        self.turns.append(Turn(seat, start, clip, "".join(text for _, text in parts)))
        self.end = max(self.end, start + len(clip) / RATE)
        return start

    def cough(self, seat: str, at: float, seed: int) -> None:
        rng = np.random.default_rng(seed)
        n = int(0.25 * RATE)
        burst = rng.standard_normal(n).astype(np.float32) * np.exp(-np.arange(n) / (0.05 * RATE))
        burst = np.convolve(burst, np.ones(8) / 8, mode="same").astype(np.float32)
        self.turns.append(Turn(seat, at, (0.3 * burst / np.abs(burst).max()).astype(np.float32), cough=True))

    def silence(self, seconds: float) -> None:
        self.end += seconds


def scenarios(speech: Callable[[str, int], tuple[Samples, str]]) -> dict[str, Script]:
    out: dict[str, Script] = {}

    s = out.setdefault("single speakers", Script(speech))
    s.say("presiding", 0, 3, gap=1.0)
    s.say("applicant", 0, 1, 2, 3, gap=1.0)
    s.say("respondent-agent", 0, 1, 2, gap=1.2)
    s.silence(2.0)

    s = out.setdefault("hand-overs", Script(speech))
    s.say("presiding", 0, gap=1.0)
    s.say("applicant", 0, 1, gap=0.5)
    s.say("presiding", 1, gap=0.6)
    s.say("respondent-agent", 2, 1, gap=0.4)
    s.say("applicant-agent", 0, 1, gap=0.7)
    s.say("presiding", 2, gap=0.5)
    s.say("respondent-agent", 0, gap=0.6)
    s.say("clerk", 0, gap=0.8)
    s.silence(2.0)

    s = out.setdefault("interruptions", Script(speech))
    start = s.say("applicant", 0, 1, 2, 3, gap=1.0)
    s.say("respondent-agent", 0, at=start + 6.0)
    s.say("presiding", 3, at=start + 16.0)
    s.say("respondent-agent", 1, gap=0.8)
    s.silence(2.0)

    s = out.setdefault("overlaps", Script(speech))
    start = s.say("respondent-agent", 0, 1, 2, gap=1.0)
    s.say("applicant", 1, 2, at=start + 4.0)
    s.say("applicant-agent", 0, gap=0.6)
    s.silence(2.0)

    s = out.setdefault("long silences", Script(speech))
    s.say("applicant", 0, gap=1.0)
    s.say("presiding", 1, gap=8.0)
    s.say("respondent-agent", 2, gap=9.0)
    s.silence(8.0)

    s = out.setdefault("coughs", Script(speech))
    start = s.say("applicant", 0, 1, 2, gap=1.0)
    for k, (seat, dt) in enumerate((("clerk", 3.0), ("respondent-agent", 7.5), ("presiding", 12.0))):
        s.cough(seat, start + dt, seed=k)
    s.silence(4.0)
    for k, dt in enumerate((0.5, 1.2, 2.6)):
        s.cough("applicant-agent", s.end - 4.0 + dt, seed=10 + k)
    s.say("respondent-agent", 1, gap=0.5)
    s.silence(2.0)

    s = out.setdefault("back-and-forth", Script(speech))
    s.say("presiding", 2, gap=1.0)
    for k in range(8):
        s.say("applicant", 4 + k // 2 % 3, gap=0.4)
        s.say("respondent-agent", 3 + k // 2 % 3, gap=0.4)
    s.say("presiding", 3, gap=0.8)
    s.silence(2.0)
    return out


def demo_hearing(config: Config, synthesizer: MandarinSynthesizer) -> Script:
    """The packaged demo hearing's lines, timed as the demo plays them (a negative pause starts the next
    line over the end of this one)."""
    script = load_script(None, config.room)
    roles = {seat.id: seat.role.value for seat in config.room.seats}
    out = Script(lambda seat, i: (np.zeros(0, np.float32), ""))
    start, scheduled = 1.0, 1.0 - DEMO_SPEECH_LEAD
    for line in script.lines:
        s = synthesizer.synthesize_cached(line.text, voice_for_role(roles[line.seat]))
        clip = resample(s.samples, s.sample_rate, RATE)
        out.turns.append(Turn(line.seat, start, clip, line.text, line.phase))
        duration = len(clip) / RATE
        out.end = max(out.end, start + duration)
        # The demo sleeps until the line's end plus its pause, then schedules the next line ahead.
        scheduled = max(scheduled, start + duration + line.pause_after)
        start = scheduled + DEMO_SPEECH_LEAD
    out.silence(2.0)
    return out


# -- the room and what the detector heard ---------------------------------------------------------------


@dataclass
class Heard:
    """One conversation in one room, as the truth and as the detector heard it (once per room: every
    switcher is run on it)."""

    script: Script
    acoustics: RoomAcoustics
    truth: dict[str, list[tuple[float, float]]]
    ticks: list[tuple[float, Speaking]]
    levels: np.ndarray
    """Per chunk and seat: dBFS above the channel's noise floor (the loudest-microphone switcher's input)."""
    seats: list[str]


def simulate(script: Script, config: Config, vad: SileroVad, acoustics: RoomAcoustics) -> Heard:
    room_cfg = config.room
    spec = RoomSpec(
        room_cfg.name,
        tuple(CameraSpec(c.id, CameraView(c.view), 64, 36, 1.0) for c in room_cfg.cameras),
        tuple(SeatSpec(s.id, s.role.label, "", s.camera, s.microphone.channel) for s in room_cfg.seats),
        noise_dbfs=acoustics.noise_dbfs,
    )
    seats = [s.id for s in room_cfg.seats]
    schedules: dict[str, list[Clip]] = {seat: [] for seat in seats}
    gain = float(10 ** (acoustics.leak_db / 20))
    for turn in script.turns:
        # A cough is marked as not the seat's voice, so the truth (where each seat speaks) leaves it out.
        schedules[turn.seat].append(Clip(turn.start, turn.clip, RATE, turn.cough))
        i = seats.index(turn.seat)
        for j, other in enumerate(seats):
            if other != turn.seat:
                delay = 0.010 + 0.001 * ((7 * i + 3 * j) % 11)  # 10-20 ms: each pair its own distance
                leaked = turn.clip * gain
                if acoustics.echo:
                    leaked = fftconvolve(leaked, room_echo(11 * i + j)).astype(np.float32)
                schedules[other].append(Clip(turn.start + delay, leaked, RATE, True))
    room = SimulatedRoom(spec, ScaledClock(), schedules)
    monitor = activity_monitor(config.director, {seat: seat for seat in seats}, vad)
    chunks = int(script.end / CHUNK)
    levels = np.zeros((chunks, len(seats)))
    ticks: list[tuple[float, Speaking]] = []
    for k in range(chunks):
        a, b = k * CHUNK, (k + 1) * CHUNK
        for j, (seat, mic) in enumerate(room.microphones.items()):
            activity = monitor.process(seat, AudioChunk(mic.samples_between(a, b), RATE, a))
            assert activity is not None
            levels[k, j] = activity.snr_db
        t = b + TICK_PHASE
        ticks.append((t, monitor.speaking(t, max_age=1.0)))
    truth = {seat: mic.speaking_spans() for seat, mic in room.microphones.items()}
    return Heard(script, acoustics, truth, ticks, levels, list(room.microphones))


# -- the switchers ----------------------------------------------------------------------------------------


@dataclass
class Run:
    cuts: list[Cut]
    armed_at: dict[int, bool] = field(default_factory=dict)
    """Per turn index: whether its speaker was armed when the full attack would have run out."""


def director_for(config: Config) -> Director:
    views = {c.id: c.view for c in config.room.cameras}
    return Director(
        config.director,
        room_speakers(config.room),
        wide_camera=next(c for c, v in views.items() if v == "wide"),
        bench_camera=next(c for c, v in views.items() if v == "bench"),
        cameras=list(views),
    )


def run_director(heard: Heard, config: Config, *, anticipate: bool, asr_delay: float = ASR_DELAY) -> Run:
    director = director_for(config)
    cues = Cues(director) if anticipate else None
    roles = {seat.id: seat.role for seat in config.room.seats}
    turns = heard.script.turns
    # What reaches the anticipation, in order: each phase as the clerk opens it, each line's text.
    inputs: list[tuple[float, int, Phase | None]] = []
    phase: Phase | None = None
    for i, turn in enumerate(turns):
        if turn.cough:
            continue
        if turn.phase is not None and turn.phase != phase:
            phase = turn.phase
            inputs.append((turn.start - DEMO_SPEECH_LEAD, i, phase))
        inputs.append((turn.voiced()[1] + asr_delay, i, None))
    inputs.sort(key=lambda x: (x[0], x[1]))
    voiced = {i: turn.voiced() for i, turn in enumerate(turns) if not turn.cough}
    onset = config.director.onset_seconds
    pending = 0
    run = Run([])
    for t, speaking in heard.ticks:
        while cues is not None and pending < len(inputs) and inputs[pending][0] <= t:
            _, i, opened = inputs[pending]
            if opened is not None:
                cues.phase(t, opened)
            else:
                turn = turns[i]
                cues.utterance(t, turn.seat, roles[turn.seat], turn.text, end=voiced[i][1])
            pending += 1
        armed = director.expected()
        for event in director.update(t, speaking):
            if isinstance(event, Cut):
                run.cuts.append(event)
        if cues is not None:
            cues.floor(t, director.floor())
        for i, (v0, _) in voiced.items():
            if v0 <= t <= v0 + onset and turns[i].seat in armed:
                run.armed_at[i] = True
    return run


def run_loudest(heard: Heard, config: Config) -> Run:
    """The plain switcher: the loudest channel, with the director's attack, hold and release."""
    d = config.director
    camera_of = {s.key: s.camera for s in room_speakers(config.room)}
    views = {c.id: c.view for c in config.room.cameras}
    wide = next(c for c, v in views.items() if v == "wide")
    bench = next(c for c, v in views.items() if v == "bench")
    window = 3  # chunks: a level over 0.3 s, so the gaps between syllables do not switch channels
    cuts = [Cut(heard.ticks[0][0], bench, None, Rule.START, "start")]
    candidate: str | None = None
    since = last_voice = 0.0
    for k, (t, _) in enumerate(heard.ticks):
        recent = heard.levels[max(0, k - window + 1) : k + 1].max(axis=0)
        loudest = int(np.argmax(recent))
        voiced = recent[loudest] >= d.min_snr_db
        on_air, shot = cuts[-1].camera, cuts[-1].t
        held = t - shot >= d.min_hold_seconds - 1e-6
        if voiced:
            seat = heard.seats[loudest]
            if seat != candidate:
                candidate, since = seat, t - CHUNK * window / 2
            last_voice = t
            want = camera_of[seat]
            if want != on_air and t - since >= d.onset_seconds - 1e-6 and held:
                cuts.append(Cut(t, want, on_air, Rule.SPEAKER, "loudest", seat, t - shot))
        elif t - last_voice >= d.release_seconds - 1e-6 and on_air != wide and held:
            candidate = None
            cuts.append(Cut(t, wide, on_air, Rule.RELEASED, "silence", None, t - shot))
    return Run(cuts)


# -- the score --------------------------------------------------------------------------------------------


@dataclass
class Score:
    speech: float = 0.0
    right: float = 0.0
    expected: list[float] = field(default_factory=list)
    other: list[float] = field(default_factory=list)
    missed: int = 0
    short: int = 0
    cuts: int = 0
    bench_cuts_over_parties: int = 0

    def add(self, other: Score) -> None:
        self.speech += other.speech
        self.right += other.right
        self.expected += other.expected
        self.other += other.other
        self.missed += other.missed
        self.short += other.short
        self.cuts += other.cuts
        self.bench_cuts_over_parties += other.bench_cuts_over_parties

    @property
    def share(self) -> float:
        return self.right / self.speech if self.speech else float("nan")


def score(heard: Heard, run: Run, speakers: Sequence[Speaker], wide: str, bench: str) -> Score:
    camera_of = {s.key: s.camera for s in speakers}
    step = 0.01
    end = heard.script.end
    times = np.arange(0.0, end, step)
    talking = {seat: np.zeros(len(times), bool) for seat in heard.truth}
    for seat, spans in heard.truth.items():
        for s0, s1 in spans:
            talking[seat][(times >= s0) & (times < s1)] = True
    cams = sorted(set(camera_of.values()))
    on_cam = {c: np.zeros(len(times), bool) for c in cams}
    for seat, mask in talking.items():
        on_cam[camera_of[seat]] |= mask
    n_cams = sum(m.astype(int) for m in on_cam.values())
    cut_t = np.array([c.t for c in run.cuts])
    index = np.searchsorted(cut_t, times, side="right") - 1
    names = [c.camera for c in run.cuts]
    shown = np.array([names[i] if i >= 0 else "" for i in index])
    right_cam = np.where(n_cams >= 2, wide, "")
    for c, mask in on_cam.items():
        right_cam = np.where((n_cams == 1) & mask, c, right_cam)
    scored = np.asarray(n_cams >= 1)
    right = np.asarray(scored & (shown == right_cam))
    result = Score(speech=float(np.sum(scored)) * step, right=float(np.sum(right)) * step)

    def on_air(t: float) -> str | None:
        i = int(np.searchsorted(cut_t, t, side="right")) - 1
        return names[i] if i >= 0 else None

    for i, turn in enumerate(heard.script.turns):
        if turn.cough:
            continue
        v0, v1 = turn.voiced()
        if v1 - v0 < MIN_TURN:
            continue
        own = camera_of[turn.seat]
        over = any(
            a <= v0 + 0.3 < b
            for seat, spans in heard.truth.items()
            if camera_of[seat] != own
            for a, b in spans
        )
        ok = {own, wide} if over else {own}
        if on_air(v0) in ok:
            continue
        taken = [c.t for c in run.cuts if c.camera in ok and v0 <= c.t <= v1]
        if not taken:
            result.missed += 1
        elif run.armed_at.get(i):
            result.expected.append(taken[0] - v0)
        else:
            result.other.append(taken[0] - v0)
    automatic = {Rule.START, Rule.FAULT, Rule.LOCK, Rule.CLERK}
    result.cuts = len(run.cuts)
    for previous, cut in zip(run.cuts, run.cuts[1:], strict=False):
        if cut.rule not in automatic and cut.t - previous.t < GOAL_SHOT - 1e-6:
            result.short += 1
    parties = [s for s in talking if camera_of[s] != bench]
    for cut in run.cuts:
        k = int(cut.t / step)
        if cut.camera == bench and k < len(times):
            bench_talks = any(talking[s][k] for s in talking if camera_of[s] == bench)
            if not bench_talks and any(talking[s][k] for s in parties):
                result.bench_cuts_over_parties += 1
    return result


# -- the report -------------------------------------------------------------------------------------------


def p(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(values, q))


def row(name: str, s: Score) -> str:
    return (
        f"{name:17s} {s.speech:6.1f}s {s.share:7.1%} "
        f"{p(s.expected, 50):5.2f}/{p(s.expected, 95):4.2f} ({len(s.expected):2d}) "
        f"{p(s.other, 50):5.2f}/{p(s.other, 95):4.2f} ({len(s.other):2d}) "
        f"{s.missed:3d} {s.short:3d} {s.cuts:4d} {s.bench_cuts_over_parties:3d}"
    )


HEADER = (
    f"{'':17s} {'speech':>7s} {'right':>7s} {'expected p50/p95 (n)':>20s} {'other p50/p95 (n)':>20s} "
    f"{'mis':>3s} {'<2s':>3s} {'cuts':>4s} {'b!':>3s}"
)
LEGEND = (
    "right: share of speech time with the right camera; latencies: voice onset -> cut (s); mis: missed "
    "turns >= 1 s; <2s: shots under 2 s; b!: cuts to the bench while only parties talk"
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, help="TTS cache folder (default: [models] cache_dir/tts)")
    parser.add_argument("--quick", action="store_true", help="the nominal room only, no sweeps")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--asr-delay", type=float, default=ASR_DELAY)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every cut")
    args = parser.parse_args()
    started = time.monotonic()
    config = load_config()
    synthesizer = MandarinSynthesizer(cache_dir=args.cache or config.models.cache_dir / "tts")
    roles = {seat.id: seat.role.value for seat in config.room.seats}
    memo: dict[tuple[str, int], Samples] = {}

    def speech(seat: str, i: int) -> tuple[Samples, str]:
        if (seat, i) not in memo:
            s = synthesizer.synthesize_cached(SENTENCES[seat][i], voice_for_role(roles[seat]))
            memo[seat, i] = resample(s.samples, s.sample_rate, RATE)
        return memo[seat, i], SENTENCES[seat][i]

    vad = SileroVad()
    conversations = {**scenarios(speech), "demo hearing": demo_hearing(config, synthesizer)}
    if args.only:
        wanted = {x.strip() for x in args.only.split(",")}
        conversations = {k: v for k, v in conversations.items() if k in wanted}
    speakers = room_speakers(config.room)
    director = director_for(config)
    wide, bench = director.wide_camera, director.bench_camera
    d = config.director
    print(
        f"director: attack {d.onset_seconds:g} s (expected voice {d.expected_onset_seconds:g} s), hold "
        f"{d.min_hold_seconds:g} s, release {d.release_seconds:g} s, overlap {d.overlap_seconds:g} s; "
        f"ticks every {CHUNK:g} s; transcript {args.asr_delay:g} s after each line"
    )
    print(f"loudest microphone: attack {d.onset_seconds:g} s, hold {d.min_hold_seconds:g} s, release "
          f"{d.release_seconds:g} s, on the same audio")  # fmt: skip
    print(LEGEND)
    met: list[tuple[str, bool]] = []

    def section(acoustics: RoomAcoustics, detail: bool) -> tuple[Score, Score, dict[str, Score]]:
        total_d, total_l, each = Score(), Score(), {}
        if detail:
            print(f"\n== {acoustics} ==")
            print(HEADER)
        for name, script in conversations.items():
            heard = simulate(script, config, vad, acoustics)
            ours = run_director(heard, config, anticipate=True, asr_delay=args.asr_delay)
            loud = run_loudest(heard, config)
            sd, sl = score(heard, ours, speakers, wide, bench), score(heard, loud, speakers, wide, bench)
            total_d.add(sd)
            total_l.add(sl)
            each[name] = sd
            if detail:
                print(row(name, sd))
                print(row("  loudest mic", sl))
            if args.verbose:
                for c in ours.cuts:
                    print(f"    {c.t:7.2f} {c.camera:15s} {c.rule.value:12s} held {c.held:5.2f}  {c.reason}")
            if acoustics == NOMINAL:
                met.append((f"{name}: right {sd.share:.1%} >= 90%", sd.share >= GOAL_SHARE))
                lead = sd.share - sl.share
                ahead = f"{name}: {lead * 100:+.1f} points on the loudest mic (>= +5)"
                met.append((ahead, lead >= GOAL_LEAD))
                met.append((f"{name}: {sd.missed} missed turns >= 1 s (0)", sd.missed == 0))
                met.append((f"{name}: {sd.short} shots < 2 s (0)", sd.short == 0))
            elif acoustics == LEAKY:
                met.append((f"{name} at {acoustics}: right {sd.share:.1%} >= 85%", sd.share >= GOAL_LEAKY))
        if detail:
            print(row("all", total_d))
            print(row("  loudest mic", total_l))
        return total_d, total_l, each

    nominal, _, _ = section(NOMINAL, True)
    expected, other = p(nominal.expected, 50), p(nominal.other, 50)
    met.append((f"expected speaker onset -> cut p50 {expected:.2f} s <= 0.6 s", expected <= GOAL_EXPECTED))
    met.append((f"anyone else onset -> cut p50 {other:.2f} s <= 1.0 s", other <= GOAL_OTHER))
    if not args.quick:
        print("\n== leak sweep: director vs loudest microphone, every conversation together ==")
        print(f"{'':38s} {'director':>8s} {'loudest':>8s} {'worst conversation (director)':>36s} "
              f"{'mis':>3s} {'b!':>3s}")  # fmt: skip
        for acoustics in SWEEP:
            sd, sl, each = section(acoustics, acoustics == LEAKY)
            name, worst = min(each.items(), key=lambda x: x[1].share)
            print(f"{acoustics!s:38s} {sd.share:8.1%} {sl.share:8.1%} {name:>29s} {worst.share:6.1%} "
                  f"{sd.missed:3d} {sd.bench_cuts_over_parties:3d}")  # fmt: skip
        print("\n== anticipation: what arming the expected speaker gains (nominal room) ==")
        print(f"{'':28s} {'all':>7s} {'demo':>7s} {'expected p50':>12s} {'other p50':>9s} "
              f"{'mis':>3s} {'<2s':>3s}")  # fmt: skip
        heards = {name: simulate(s, config, vad, NOMINAL) for name, s in conversations.items()}
        variants: list[tuple[str, bool, float, DirectorConfig]] = [
            ("off", False, args.asr_delay, d),
            *((f"on, transcript +{x:g} s", True, x, d) for x in (0.5, 1.0, 2.0)),
            *(
                (f"on, expected onset {x:g} s", True, args.asr_delay, replace(d, expected_onset_seconds=x))
                for x in (0.1, 0.3, 0.5)
            ),
        ]
        for label, on, delay, dc in variants:
            total, demo = Score(), Score()
            for name, heard in heards.items():
                run = run_director(heard, replace(config, director=dc), anticipate=on, asr_delay=delay)
                result = score(heard, run, speakers, wide, bench)
                total.add(result)
                if name == "demo hearing":
                    demo = result
            print(f"{label:28s} {total.share:7.1%} {demo.share:7.1%} {p(total.expected, 50):12.2f} "
                  f"{p(total.other, 50):9.2f} {total.missed:3d} {total.short:3d}")  # fmt: skip
    print("\n== goals ==")
    for what, ok in met:
        print(f"  {'met    ' if ok else 'NOT met'}  {what}")
    print(f"{sum(ok for _, ok in met)}/{len(met)} goals met ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
