"""The hearing's live program: voice activity per channel → the camera director → the program feed,
every cut, mode change, camera fault and mask written to the hearing timeline.

It runs with the recording (:class:`court.live.recording.HearingRecording` takes it as its ``live``
output): the program feed is recorded beside the sources as source ``program``, the activity detector
and the compositor consume the captured media, and the director's ticker starts once media flows and
stops before the recording closes.

The director also reads the hearing as it goes: the transcript's lines and the phase changes reach it
through the timeline (:mod:`court.live.cues`), so the speaker the presiding arbitrator gives the floor
to is expected, and their first words take the camera.

The clerk's controls (:meth:`LiveProgram.lock`, :meth:`manual`, :meth:`select`, :meth:`resume`,
:meth:`mask`) are safe to call from any thread.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from court.config import Config, DirectorConfig, ProgramConfig, RoomConfig
from court.core.cases import HearingInfo
from court.core.events import EventType
from court.core.lifecycle import Phase
from court.core.roles import Role
from court.core.timeline import Timeline, TimelineEvent
from court.core.timeutil import BEIJING
from court.live.cues import Cues
from court.live.director import Cut, Director, DirectorError, DirectorEvent, ModeChange, Speaker
from court.live.recording import microphone_source
from devices.activity import ActivityMonitor
from devices.broadcast.program import PROGRAM_SOURCE, WHOLE_FEED, MaskMode, ProgramFeed
from devices.clock import Clock
from devices.interfaces import Camera
from devices.media import AudioChunk, VideoFrame
from devices.recording import Consumer, Only
from devices.vad import SileroVad

log = logging.getLogger(__name__)

VIEW_LABELS = {"bench": "仲裁员席", "applicant": "申请人席", "respondent": "被申请人席", "wide": "全景"}


def program_time_text(clock: Clock) -> Callable[[float], str]:
    """The synchronized time on the program: Beijing wall time (as the 笔录 and the pages show it, not
    the server's own zone) and hearing-clock time (ASCII)."""

    def text(t: float) -> str:
        wall: datetime = clock.wall(t).astimezone(BEIJING)
        seconds = max(0, int(t))
        return (
            f"{wall:%Y-%m-%d %H:%M:%S}  T+{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        )

    return text


def activity_monitor(
    config: DirectorConfig, channels: Mapping[str, str], vad: SileroVad, clock: Clock | None = None
) -> ActivityMonitor:
    """The voice-activity detector the director listens to, as ``[director]`` sets it up; ``clock``:
    the one the director ticks on (see :meth:`ActivityMonitor.speaking`)."""
    return ActivityMonitor(
        channels,
        vad,
        clock=clock.now if clock is not None else None,
        assumed_leak_db=config.assumed_leak_db,
        own_voice_db=config.own_voice_db,
        threshold=config.vad_threshold,
        release_threshold=min(config.vad_threshold, 0.35),
        min_snr_db=config.min_snr_db,
    )


def room_speakers(room: RoomConfig, hearing: HearingInfo | None = None) -> list[Speaker]:
    """One speaker per seat, with the seat's camera and a caption of role and name."""
    names = {p.seat_id: p.name for p in hearing.participants if p.seat_id} if hearing else {}
    return [
        Speaker(seat.id, seat.camera, seat.role, f"{seat.role.label} {names.get(seat.id, '')}".strip())
        for seat in room.seats
    ]


class LiveProgram:
    """Activity detector + director + program feed for one hearing."""

    def __init__(
        self,
        config: Config,
        clock: Clock,
        *,
        hearing: HearingInfo | None = None,
        vad: SileroVad | None = None,
        max_activity_age: float = 1.5,
    ) -> None:
        """
        :param vad: a loaded Silero VAD (default: loaded now from ``[director] vad_model`` or the package).
        :param max_activity_age: a channel whose latest chunk is older than this (hearing-clock seconds)
            counts as silent: a microphone that stops delivering does not hold the picture.
        """
        room, d = config.room, config.director
        self.clock = clock
        self.config = config
        self.max_activity_age = max_activity_age
        views = {c.id: c.view for c in room.cameras}
        wide = next((c for c, v in views.items() if v == "wide"), room.cameras[0].id)
        bench = next((c for c, v in views.items() if v == "bench"), wide)
        self.director = Director(
            d, room_speakers(room, hearing), wide_camera=wide, bench_camera=bench, cameras=list(views)
        )
        self._speaker_of_source = {microphone_source(seat.id): seat.id for seat in room.seats}
        self.activity = activity_monitor(d, self._speaker_of_source, vad or SileroVad(d.vad_model), clock)
        self.cues = Cues(self.director)
        # Lines and phases reach the program on the writers' threads; the ticker reads them.
        self._heard: deque[TimelineEvent] = deque()
        self._listening: set[int] = set()
        self.feed = program_feed(config.program, clock, room, hearing, program_time_text(clock))
        self._lock = threading.Lock()
        self._timeline: Timeline | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._available: dict[str, bool] = {}
        self._pending: list[tuple[EventType, dict[str, Any], float, str]] = []
        self.cuts: list[Cut] = []

    # -- LiveOutput (what the recording needs) --------------------------------------------------------

    def sources(self) -> Mapping[str, Camera]:
        return {PROGRAM_SOURCE: self.feed}

    def consumers(self) -> Sequence[Consumer]:
        return [Only(AudioChunk, self.activity), Only(VideoFrame, self.feed.observe)]

    def start(self, timeline: Timeline) -> None:
        """Start directing (idempotent): the first tick puts the idle view on air."""
        if self._thread is not None:
            return
        self.attach(timeline)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="director", daemon=True)
        self._thread.start()

    def attach(self, timeline: Timeline) -> None:
        """Write to ``timeline`` from now on (what was logged before goes there first), without
        starting the ticker: for a caller that drives :meth:`tick` itself."""
        with self._lock:
            self._timeline = timeline
            if id(timeline) not in self._listening:
                self._listening.add(id(timeline))
                timeline.subscribe(self._on_event)
            pending, self._pending = self._pending, []
            for event_type, payload, t, actor in pending:
                timeline.append(event_type, payload, actor=actor, t=t)

    def _on_event(self, event: TimelineEvent) -> None:
        # Called on whichever thread appended (the program's own, under its lock, for cuts): only
        # queue, never take the lock here.
        if event.type in (EventType.UTTERANCE, EventType.HEARING_PHASE):
            self._heard.append(event)

    def stop(self) -> None:
        """Stop directing (idempotent); the feed keeps composing while anybody reads it."""
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(5.0)

    # -- remote parties --------------------------------------------------------------------------------

    def add_remote(
        self, key: str, role: Role, label: str, *, audio_source: str, video_source: str, view_label: str = ""
    ) -> None:
        """A remote party joining: their audio track speaks for them, their video is their camera."""
        with self._lock:
            self.feed.add_camera(video_source, view_label or label)
            self.director.add_speaker(Speaker(key, video_source, role, label))
            self.activity.add_channel(audio_source, key)
            self._speaker_of_source[audio_source] = key

    # -- the clerk -------------------------------------------------------------------------------------

    def lock(self, camera: str, seconds: float, reason: str = "", actor: str = "clerk") -> None:
        self._clerk(lambda t: self.director.lock(t, camera, seconds, reason), actor)

    def manual(self, reason: str = "", camera: str | None = None, actor: str = "clerk") -> None:
        """Automatic switching off (e.g. for the debate); optionally cut to ``camera``."""
        self._clerk(lambda t: self.director.manual(t, reason, camera), actor)

    def select(self, camera: str, reason: str = "", actor: str = "clerk") -> None:
        self._clerk(lambda t: self.director.select(t, camera, reason), actor)

    def resume(self, reason: str = "", actor: str = "clerk") -> None:
        self._clerk(lambda t: self.director.resume(t, reason), actor)

    def mask(
        self, target: str, mode: MaskMode | str | None = None, reason: str = "", actor: str = "clerk"
    ) -> None:
        """Mask a camera (or ``"*"``, the whole feed) in the live and public picture, never in the
        recording; ``mode`` defaults to ``[program] mask``. Logged as ``program.mask``."""
        chosen = MaskMode(mode or self.config.program.mask)
        self._set_mask(target, chosen, reason or "书记员遮蔽画面 (masked by the clerk)", actor)

    def unmask(self, target: str, reason: str = "", actor: str = "clerk") -> None:
        self._set_mask(target, None, reason or "书记员取消遮蔽 (mask lifted by the clerk)", actor)

    def _set_mask(self, target: str, mode: MaskMode | None, reason: str, actor: str) -> None:
        try:
            self.feed.set_mask(target, mode)
        except KeyError as exc:
            raise DirectorError(str(exc.args[0])) from None
        self._log(
            EventType.PROGRAM_MASK,
            {
                "target": target,
                "whole_feed": target == WHOLE_FEED,
                "mode": mode.value if mode else None,
                "on": mode is not None,
                "reason": reason,
                "applies_to": ["live", "public"],
                "recording": "unmasked",
            },
            actor=actor,
        )

    def _clerk(self, action: Callable[[float], list[DirectorEvent]], actor: str) -> None:
        with self._lock:
            self._apply(action(self.clock.now()), actor)

    # -- the ticker ------------------------------------------------------------------------------------

    def _run(self) -> None:
        tick = self.config.director.tick_seconds
        due = self.clock.now()
        while not self._stop.is_set():
            try:
                # On the tick's own time, not the moment the thread woke up (a few ms later, and never
                # the same few): a shot held to the tick is then held, and its cut lands on that tick.
                self.tick(due)
            except Exception:
                # The director must not stop the hearing: log and go on with the next tick.
                log.exception("director tick failed")
            due += tick
            now = self.clock.now()
            if due < now - tick:
                due = now  # fell behind by more than a tick: skip the lost ones, do not burst
            self.clock.sleep_until(due)

    def tick(self, now: float) -> None:
        """One step: camera health, who is talking, the director's answer, the caption."""
        with self._lock:
            for camera, state in self.feed.camera_states(now).items():
                ok = state.fault is None
                if camera in self.director.cameras and self._available.get(camera, True) != ok:
                    self._available[camera] = ok
                    self.director.set_available(camera, ok)
                    if ok:
                        self._log(EventType.CAMERA_RECOVERED, {"camera": camera, "label": state.label}, t=now)
                    else:
                        self._log(
                            EventType.CAMERA_FAULT,
                            {"camera": camera, "label": state.label, "detail": state.fault},
                            t=now,
                        )
            self._read_cues(now)
            speaking = self.activity.speaking(now, max_age=self.max_activity_age)
            self._apply(self.director.update(now, speaking), "system")
            floor = self.director.floor()
            self.cues.floor(now, floor)
            self.feed.set_caption(floor.label if floor is not None else "")

    def _read_cues(self, now: float) -> None:
        """The lines and phase changes written since the last tick, for the anticipation."""
        while self._heard:
            event = self._heard.popleft()
            p = event.payload
            try:
                if event.type is EventType.HEARING_PHASE:
                    self.cues.phase(now, Phase(p["phase"]))
                else:
                    speaker = self._speaker_of_source.get(str(p.get("source", "")))
                    self.cues.utterance(now, speaker, Role(p["role"]), str(p["text"]), end=float(p["end"]))
            except (KeyError, ValueError):
                # A line of a role or phase this room does not know: nothing to anticipate from it.
                log.debug("no cue from %s", event.type, exc_info=True)

    def _apply(self, events: list[DirectorEvent], actor: str) -> None:
        for event in events:
            if isinstance(event, Cut):
                self.feed.select(event.camera)
                self.cuts.append(event)
                speaker = self.director.speakers.get(event.speaker) if event.speaker else None
                payload: dict[str, Any] = {
                    "camera": event.camera,
                    "previous": event.previous,
                    "reason": event.reason,
                    "rule": event.rule.value,
                    "held": event.held,
                }
                if speaker is not None:
                    payload |= {"speaker": speaker.key, "role": speaker.role.value, "label": speaker.label}
                self._log(EventType.CAMERA_CUT, payload, t=event.t, actor=actor)
            elif isinstance(event, ModeChange):
                payload = {"mode": event.mode.value, "reason": event.reason}
                if event.camera is not None:
                    payload["camera"] = event.camera
                if event.until is not None:
                    payload["until"] = round(event.until, 3)
                self._log(EventType.CAMERA_MODE, payload, t=event.t, actor=actor)

    def _log(
        self,
        event_type: EventType,
        payload: Mapping[str, Any],
        *,
        t: float | None = None,
        actor: str = "system",
    ) -> None:
        if self._timeline is None:
            # Before the recording runs (a mask set ahead of the hearing): written when it starts.
            self._pending.append((event_type, dict(payload), self.clock.now() if t is None else t, actor))
            return
        self._timeline.append(event_type, payload, actor=actor, t=t)


def program_feed(
    config: ProgramConfig,
    clock: Clock,
    room: RoomConfig,
    hearing: HearingInfo | None,
    time_text: Callable[[float], str],
) -> ProgramFeed:
    return ProgramFeed(
        clock,
        {c.id: VIEW_LABELS.get(c.view, c.id) for c in room.cameras},
        width=config.width,
        height=config.height,
        fps=config.fps,
        case_number=hearing.case_number if hearing else "",
        time_text=time_text,
        stale_seconds=config.stale_seconds,
    )
