"""Assembling one hearing's session from the config: the room's devices, the recording, the live
program (director + program feed) and the live transcript, wired to the hearing.

The demo, the server, the benchmarks and the tests build a hearing here, the same way; only the clock,
what plays into the simulated room and whether a live program runs with it differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from court.config import Config
from court.core.cases import load_hearing
from court.core.timeline import Timeline
from court.live.announcement import Announcement
from court.live.program import LiveProgram
from court.live.recording import HearingRecording
from court.live.room import SimulationInputs, build_room
from court.live.session import HearingSession
from court.live.transcription import HearingTranscription
from devices.clock import Clock
from devices.media import AudioChunk
from devices.recording.capture import Consumer, MediaItem, Only
from devices.simulated.room import SimulatedRoom
from devices.tts import MandarinSynthesizer


@dataclass
class AssembledSession:
    session: HearingSession
    simulated: SimulatedRoom | None
    """The simulated part of the room, if any (a script places speech on its microphones)."""


@dataclass
class AssembledHearing:
    session: HearingSession
    live: LiveProgram
    simulated: SimulatedRoom | None
    """The simulated part of the room, if any (a script places speech on its microphones)."""


def build_announcement(config: Config, synthesizer: MandarinSynthesizer | None = None) -> Announcement:
    """The tribunal discipline as the config says (a recorded file, else synthesized: with
    ``synthesizer``, or one on the config's model cache)."""
    return Announcement.from_config(config, synthesizer or config_synthesizer(config))


def config_synthesizer(config: Config) -> MandarinSynthesizer:
    """The speech synthesizer on the config's model cache and voice assets."""
    return MandarinSynthesizer(cache_dir=config.models.cache_dir / "tts", assets_dir=config.models.tts_assets)


def assemble_hearing(
    sessions: sessionmaker[Session],
    hearing_id: int,
    config: Config,
    clock: Clock,
    announcement: Announcement,
    *,
    simulation: SimulationInputs | None = None,
    consumers: Sequence[Consumer] = (),
    actor: str = "clerk",
    timeline: Timeline | None = None,
    transcribe_while: Callable[[], bool] | None = None,
) -> AssembledHearing:
    """Build the hearing's session with its live program (director + program feed), as the demo and
    the server run it. The speech models load here, before the one-click start. The arguments are
    those of :func:`assemble_session`."""
    live = LiveProgram(config, clock, hearing=load_hearing(sessions, hearing_id))
    core = assemble_session(
        sessions,
        hearing_id,
        config,
        clock,
        announcement,
        simulation=simulation,
        consumers=consumers,
        actor=actor,
        timeline=timeline,
        transcribe_while=transcribe_while,
        live=live,
    )
    return AssembledHearing(core.session, live, core.simulated)


def assemble_session(
    sessions: sessionmaker[Session],
    hearing_id: int,
    config: Config,
    clock: Clock,
    announcement: Announcement,
    *,
    simulation: SimulationInputs | None = None,
    consumers: Sequence[Consumer] = (),
    actor: str = "clerk",
    timeline: Timeline | None = None,
    transcribe_while: Callable[[], bool] | None = None,
    live: LiveProgram | None = None,
) -> AssembledSession:
    """Build the hearing's session: the room's devices, the recording and (when the config enables
    it) the live transcript. The speech models load here.

    :param clock: the hearing clock every device, the recording and the timeline run on (a
        :class:`~devices.clock.ScaledClock` runs a simulated room faster than real time).
    :param simulation: what the simulated devices show and play (default: name cards from the
        participants' seats, the display written beside the recording).
    :param transcribe_while: when given, audio reaches recognition only while it answers True (a
        mediation's private talk with one side is not transcribed).
    :param consumers: extra receivers of every captured frame and chunk (e.g. the audio mix for
        listeners), each on its own thread.
    :param live: the live program recorded with the room; without one only the room's own sources
        are recorded (benchmarks and tests of the start that need no director).
    """
    hearing = load_hearing(sessions, hearing_id)
    if simulation is None:
        names = {p.seat_id: p.name for p in hearing.participants if p.seat_id}
        simulation = SimulationInputs(names=names, display_out_dir=config.recording.root.parent / "display")
    devices, simulated = build_room(config, clock, simulation)
    transcription = _transcription(config, hearing_id, sessions, clock)
    recording = HearingRecording(
        config.recording.root,
        config.recording.backup,
        cameras=devices.cameras,
        microphones=devices.microphones,
        clock=clock,
        segment_seconds=config.recording.segment_seconds,
        live=live,
        consumers=[
            *([Only(AudioChunk, _gated(transcription.consume, transcribe_while))] if transcription else []),
            *consumers,
        ],
    )
    session = HearingSession(
        sessions,
        hearing_id,
        devices=devices,
        clock=clock,
        recording=recording,
        announcement=announcement,
        room_name=config.room.name,
        transcription=transcription,
        actor=actor,
        timeline=timeline,
    )
    return AssembledSession(session, simulated)


def _gated(consumer: Consumer, open_: Callable[[], bool] | None) -> Consumer:
    if open_ is None:
        return consumer

    def gated(source_id: str, item: MediaItem) -> None:
        if open_():
            consumer(source_id, item)

    return gated


def _transcription(
    config: Config, hearing_id: int, sessions: sessionmaker[Session], clock: Clock
) -> HearingTranscription | None:
    if not config.transcription.enabled:
        return None
    transcription = HearingTranscription(
        config.transcription,
        config.models.cache_dir,
        load_hearing(sessions, hearing_id),
        {seat.id: seat.role for seat in config.room.seats},
        clock=clock.now,
        diarization=config.diarization,
    )
    transcription.prepare()
    return transcription
