"""``court demo``: a complete scripted hearing on the embedded default — SQLite, the simulated
courtroom, packaged models — through the whole lifecycle, one-click start first.

The script's lines are synthesized with the voice of their role and played into the seat's
simulated microphone at their time; the hearing records what the devices deliver. Which lines have
been said is kept beside the hearing (``script_progress.json``), so a demo resumed after a crash goes
on from the line it stopped in.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from court.attendance.arrivals import AttendanceCheck, ClerkConfirmation
from court.config import Config
from court.core.cases import (
    NewParticipant,
    case_exists,
    create_case,
    create_hearing,
    load_hearing,
    set_clock_origin,
)
from court.core.events import EventType
from court.core.lifecycle import HearingState, Lifecycle, Phase
from court.core.timeline import TimelineEvent, export_jsonl, read_events
from court.db.engine import DATABASE_URL_ENV, open_store
from court.demo.script import HearingScript, ScriptLine, load_script
from court.live.announcement import Announcement
from court.live.assembly import assemble_hearing, build_announcement, config_synthesizer
from court.live.recording import microphone_source
from court.live.recovery import CARRIES_ON, carry_on_after_restart
from court.live.room import SimulationInputs
from court.live.session import HearingSession, StartupReport
from court.record.bilu import KEY_FILE_NAME, lock_if_closed
from devices.clock import ScaledClock, WallClock
from devices.simulated.acoustics import RoomAcoustics
from devices.simulated.room import SimulatedRoom
from devices.tts import MandarinSynthesizer, Speech, voice_for_role

if TYPE_CHECKING:
    from court.demo.faces import FaceDemo

log = logging.getLogger(__name__)

HEARING_FILE = "hearing.json"
PROGRESS_FILE = "script_progress.json"
SPEECH_LEAD = 0.3
"""Seconds between scheduling a line and its first sample: the microphone must not have passed it."""
ROOM_ACOUSTICS = RoomAcoustics(crosstalk_db=(-30.0, -20.0), rt60=0.4, noise_dbfs=-60.0)
"""How a real room sounds: every seat microphone hears the others 20-30 dB down and a few ms late,
with reverberation (:mod:`devices.simulated.acoustics`). Not the default (``court demo
--room-acoustics``): under the demo's own load at 6x speed it once gave a phantom line, the presiding
arbitrator's "现在闭庭" heard on the applicant's microphone and written as the applicant's, which the
crosstalk arbitration let through (issue 16). The noise stays at -60 dBFS: at -50 dBFS the voice
detector's -55 dBFS energy gate no longer skips quiet channels, all nine run Silero VAD all the time,
and on a loaded 2-core machine the demo's resume after kill -9 took 11-24 s to record again instead
of 6-8 s (a real room's gate must sit above its noise floor)."""


@dataclass(frozen=True)
class DemoResult:
    out: Path
    hearing_id: int
    database: str
    state: HearingState
    events: int
    startup: StartupReport | None


Progress = Callable[[str], None]


def run_demo(
    out: Path,
    config: Config,
    *,
    script_path: Path | None = None,
    speed: float = 1.0,
    progress: Progress = print,
    acoustics: RoomAcoustics | None = None,
) -> DemoResult:
    """Run a scripted hearing from scratch into ``out`` (which must not hold another demo).
    ``acoustics``: how the simulated room sounds (None: each microphone hears only its own seat)."""
    out = out.resolve()
    if (out / HEARING_FILE).exists():
        raise FileExistsError(f"{out} already holds a demo hearing; use --resume or another folder")
    out.mkdir(parents=True, exist_ok=True)
    config = _demo_config(config, out)
    url = _database_url(out)
    sessions = open_store(url)
    script = load_script(script_path, config.room)

    case_id = create_case(
        sessions,
        case_number=_unique_case_number(sessions, script.case_number),
        cause=script.cause,
        commission=config.room.commission,
        livestream_allowed=script.livestream_allowed,
        participants=[
            NewParticipant(p.role, p.name, organization=p.organization, seat_id=p.seat)
            for p in script.participants
        ],
    )
    hearing_id = create_hearing(sessions, case_id, room=config.room.name)
    _write_hearing_file(out, hearing_id, url, script_path)
    progress(f"案件已建立 hearing {hearing_id} in {url}")

    synthesizer = config_synthesizer(config)
    speech = _synthesize_lines(script, synthesizer, config, progress)
    announcement = build_announcement(config, synthesizer)
    announcement.warm()
    face = _prepare_face_check(sessions, hearing_id, script, script_path, config, progress)

    origin = datetime.now(UTC)
    clock = ScaledClock(speed, origin=origin)
    set_clock_origin(sessions, hearing_id, origin, str(config.recording.root))
    session, simulated = _session(sessions, hearing_id, config, clock, announcement, script, acoustics)
    try:
        progress("一键启动：设备自检 → 显示 → 录音录像 → 核对到庭 → 宣布庭审纪律")
        present = [
            p.id
            for p in session.hearing.participants
            if p.role.is_party_side and not _absent(script, p.seat_id)
        ]
        attendance: AttendanceCheck = ClerkConfirmation(present)
        if face is not None:
            from court.attendance.face_check import face_settings

            attendance = face.door_check(
                session,
                simulated.face_terminal,
                speed=speed,
                progress=progress,
                settings=face_settings(config.face),
            )
        startup = session.one_click_start(attendance)
        progress(
            f"  录制已开始 {startup.click_to_recording:.2f} s，"
            f"纪律播放 {startup.click_to_rules_audio:.2f} s；"
            f"到庭 {len(startup.present)} 人，缺席 {len(startup.absent)} 人"
        )
        for fault in startup.faults:
            progress(f"  设备故障 {fault}")
        session.open()
        progress("开庭")
        _play_script(session, simulated, script, speech, progress, out=out, lines=range(len(script.lines)))
        session.close()
        progress("闭庭")
    except BaseException:
        session.shutdown("demo interrupted")
        raise
    session.devices.close()
    return _finish(out, sessions, hearing_id, url, startup)


def resume_demo(
    out: Path,
    config: Config,
    *,
    speed: float = 1.0,
    progress: Progress = print,
    acoustics: RoomAcoustics | None = None,
) -> DemoResult:
    """Pick up a demo hearing after its process died (kill -9, power loss), the way the server does
    (:mod:`court.live.recovery`): the recording folder is repaired (the open segments kept and
    flagged), what was said but not yet transcribed is transcribed from the recording, the hearing
    goes on from its last recorded state and the script from the line it stopped in (said again
    in full: it was cut off)."""
    out = out.resolve()
    info = json.loads((out / HEARING_FILE).read_text(encoding="utf-8"))
    hearing_id, url = int(info["id"]), str(info["database"])
    config = _demo_config(config, out)
    sessions = open_store(url)
    hearing = load_hearing(sessions, hearing_id)
    script = load_script(Path(info["script"]) if info.get("script") else None, config.room)
    events = list(read_events(sessions, hearing_id))
    last_t = max((e.t for e in events), default=0.0)
    origin = hearing.clock_origin or datetime.now(UTC)
    # The hearing clock continues after the last thing the record knows of: nothing is dated into the gap.
    clock = ScaledClock(speed, origin=origin, start=last_t + 1.0)
    synthesizer = config_synthesizer(config)
    speech = _synthesize_lines(script, synthesizer, config, progress)
    announcement = build_announcement(config, synthesizer)
    session, simulated = _session(sessions, hearing_id, config, clock, announcement, script, acoustics)
    progress(f"恢复 hearing {hearing_id}: 记录中的状态 {session.state.label}")
    try:
        # The outage is measured in real time: this clock's wall runs ``speed`` times too fast.
        state = carry_on_after_restart(
            session,
            "restart after crash",
            "process ended without closing the recording (crash)",
            wall=WallClock(),
        )
        if state in CARRIES_ON:  # else not started, or over: nothing to play
            if state is HearingState.RECESS:
                session.resume()
            lines = _lines_to_say(out, session.timeline.events(), len(script.lines))
            if lines is None:  # a demo folder from before the progress file: the next phase
                phase = None if state is HearingState.PREPARING else session.lifecycle.phase
                lines = [
                    i
                    for i, line in enumerate(script.lines)
                    if phase is None or line.phase.order > phase.order
                ]
            if lines:
                progress(f"  从第 {lines[0] + 1} 句台词继续")
            _play_script(session, simulated, script, speech, progress, out=out, lines=lines)
            session.close()
            progress("闭庭")
    except BaseException:
        session.shutdown("demo interrupted")
        raise
    session.devices.close()
    return _finish(out, sessions, hearing_id, url, None)


def _prepare_face_check(
    sessions: sessionmaker[Session],
    hearing_id: int,
    script: HearingScript,
    script_path: Path | None,
    config: Config,
    progress: Progress,
) -> FaceDemo | None:
    """Enrol the script's ID photos for the door's face check; without photos or models the clerk
    confirms attendance instead (said in the progress output)."""
    if not any(p.photo for p in script.participants):
        return None
    try:
        # Imported here: without the face packages (dlib) the demo still runs, on the clerk's word.
        from court.demo.faces import FaceDemoUnavailable, prepare_face_demo
    except ImportError as exc:
        progress(f"人脸核验不可用，改由书记员核对到庭 (face packages missing): {exc}")
        return None
    try:
        hearing = load_hearing(sessions, hearing_id)
        return prepare_face_demo(sessions, hearing, script, script_path, config.models.cache_dir, progress)
    except FaceDemoUnavailable as exc:
        progress(f"人脸核验不可用，改由书记员核对到庭 (face check unavailable): {exc}")
        log.warning("face check unavailable: %s", exc)
        return None


def _session(
    sessions: sessionmaker[Session],
    hearing_id: int,
    config: Config,
    clock: ScaledClock,
    announcement: Announcement,
    script: HearingScript,
    acoustics: RoomAcoustics | None,
) -> tuple[HearingSession, SimulatedRoom]:
    names = {p.seat: p.name for p in script.participants if p.seat}
    assembled = assemble_hearing(
        sessions,
        hearing_id,
        config,
        clock,
        announcement,
        simulation=SimulationInputs(
            names=names, display_out_dir=config.recording.root.parent / "display", acoustics=acoustics
        ),
    )
    assert assembled.simulated is not None, "the demo runs on the simulated courtroom"
    return assembled.session, assembled.simulated


def _play_script(
    session: HearingSession,
    room: SimulatedRoom,
    script: HearingScript,
    speech: dict[ScriptLine, Speech],
    progress: Progress,
    *,
    out: Path,
    lines: Sequence[int],
) -> None:
    """Play the script's lines of index ``lines``, in that order; a line counts as said (in the
    progress file) once it and the pause after it are over."""
    clock = session.clock
    for index in lines:
        line = script.lines[index]
        current = session.lifecycle.phase
        # Forward only: a line said again after a crash is said in the phase the hearing is in.
        if line.phase is not Phase.OPENING and (current is None or line.phase.order > current.order):
            if script.recess_after_phase is session.lifecycle.phase:
                session.recess("合议庭休庭评议")
                clock.sleep_until(clock.now() + 5.0)
                session.resume()
            session.change_phase(line.phase)
            progress(f"  {line.phase.label}")
        audio = speech[line]
        start = clock.now() + SPEECH_LEAD
        room.say(line.seat, start, audio.samples, audio.sample_rate)
        clock.sleep_until(start + audio.duration + line.pause_after)
        # ``said``: the lines from the first said in full; ``lines``: when each was said (a line
        # said again replaces its earlier time), to tell after a crash whose sound was saved.
        before = _read_progress(out) or {}
        done = [d for d in before.get("lines", []) if d[0] != index]
        done.append([index, line.seat, start, start + audio.duration])
        _write_progress(out, {"said": max(index + 1, int(before.get("said", 0))), "lines": done})


def _read_progress(out: Path) -> dict[str, Any] | None:
    try:
        body = json.loads((out / PROGRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def _lines_to_say(out: Path, events: Sequence[TimelineEvent], count: int) -> list[int] | None:
    """The script lines to say after a restart (None: not known): those said before it whose sound
    did not reach the recording in full (the crash took it first, or capture dropped it) and that
    have no transcript line, then every line from the first one not said in full — people say again
    what the record lost, so no line is lost. A line whose sound was saved is left to the
    transcription's catch-up."""
    progress = _read_progress(out)
    if progress is None or "said" not in progress:
        return None
    saved: dict[str, list[tuple[float, float]]] = {}
    for e in events:
        if e.type == EventType.RECORDING_SEGMENT:
            saved.setdefault(str(e.payload["source"]), []).append((e.payload["start"], e.payload["end"]))
    heard = [e.payload for e in events if e.type == EventType.UTTERANCE]
    again = []
    for index, seat, start, end in progress.get("lines", []):
        source = microphone_source(seat)
        kept = any(
            u["source"] == source and min(end, u["end"]) - max(start, u["start"]) > 0.5 * (end - start)
            for u in heard
        )
        if not kept and _covered(saved.get(source, []), start, end) < 0.9 * (end - start):
            again.append(int(index))
    return again + list(range(int(progress["said"]), count))


def _covered(spans: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of ``start``–``end`` that the saved segments ``spans`` hold."""
    total, reached = 0.0, start
    for a, b in sorted(spans):
        a, b = max(a, reached), min(b, end)
        if b > a:
            total += b - a
            reached = b
    return total


def _write_progress(out: Path, body: dict[str, Any]) -> None:
    # Replaced in one step and synced: a kill -9 leaves the old file or the new, never half of one.
    tmp = out / (PROGRESS_FILE + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(body, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out / PROGRESS_FILE)


def _synthesize_lines(
    script: HearingScript, synthesizer: MandarinSynthesizer, config: Config, progress: Progress
) -> dict[ScriptLine, Speech]:
    roles = {seat.id: seat.role.value for seat in config.room.seats}
    progress(f"合成 {len(script.lines)} 句台词的语音（已缓存的直接使用）")
    return {
        line: synthesizer.synthesize_cached(line.text, voice_for_role(roles[line.seat]))
        for line in script.lines
    }


def _demo_config(config: Config, out: Path) -> Config:
    recording = replace(config.recording, root=out / "recording", backup=out / "backup")
    return replace(config, recording=recording)


def _database_url(out: Path) -> str:
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{out / 'court.db'}"


def _unique_case_number(sessions: sessionmaker[Session], number: str) -> str:
    """A shared store (PostgreSQL by URL) may already hold the demo case from an earlier run."""
    candidate, n = number, 1
    while case_exists(sessions, candidate):
        n += 1
        candidate = f"{number}（演示{n}）"
    return candidate


def _absent(script: HearingScript, seat_id: str | None) -> bool:
    return any(p.absent for p in script.participants if p.seat == seat_id)


def _write_hearing_file(out: Path, hearing_id: int, url: str, script_path: Path | None) -> None:
    body = {
        "id": hearing_id,
        "database": url,
        "recording": str(out / "recording"),
        "script": str(script_path or ""),
    }
    (out / HEARING_FILE).write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _finish(
    out: Path, sessions: sessionmaker[Session], hearing_id: int, url: str, startup: StartupReport | None
) -> DemoResult:
    # A closed hearing's 笔录 goes out for signature (also on a resume that finds it closed, or its
    # lock interrupted), so the demo's export verifies.
    lock_if_closed(sessions, hearing_id, key_path=out / KEY_FILE_NAME)
    events = export_jsonl(sessions, hearing_id, out / "timeline.jsonl")
    session_state = _replayed_state(sessions, hearing_id)
    info = json.loads((out / HEARING_FILE).read_text(encoding="utf-8"))
    info.update({"state": session_state.value, "events": events})
    (out / HEARING_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return DemoResult(out, hearing_id, url, session_state, events, startup)


def _replayed_state(sessions: sessionmaker[Session], hearing_id: int) -> HearingState:
    return Lifecycle.replay((e.type, e.payload) for e in read_events(sessions, hearing_id)).state
