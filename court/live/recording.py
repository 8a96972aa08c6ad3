"""The hearing's recording: every camera and microphone captured into the segmented, hash-chained
recording, and every manifest entry (segment closed, start, stop, interruption, recovery) written to
the hearing timeline as a ``recording.`` event.

The manifest is the recording's own proof; the timeline holds the same facts for the hearing record
(the recording index derives from those events)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from court.core.events import EventType
from court.core.timeline import Timeline
from devices.clock import Clock
from devices.interfaces import Camera, Microphone
from devices.media import AudioChunk, VideoFrame
from devices.recording import (
    CaptureLoop,
    Consumer,
    EventAction,
    EventEntry,
    ManifestEntry,
    SegmentedRecorder,
    SegmentEntry,
    recover,
)

_ACTION_EVENTS = {
    EventAction.START: EventType.RECORDING_STARTED,
    EventAction.STOP: EventType.RECORDING_STOPPED,
    EventAction.INTERRUPT: EventType.RECORDING_INTERRUPTED,
    EventAction.RESUME: EventType.RECORDING_RESUMED,
    EventAction.RECOVERED: EventType.RECORDING_RECOVERED,
    EventAction.BACKUP_FAILED: EventType.RECORDING_BACKUP_FAILED,
    EventAction.BACKUP_OK: EventType.RECORDING_BACKUP_OK,
}


def microphone_source(seat_id: str) -> str:
    return f"mic-{seat_id}"


@dataclass(frozen=True)
class Outage:
    """How long nothing was recorded because the process running the hearing had stopped, on the wall
    clock: the hearing clock does not show it (a restarted demo goes on at the last time + 1 s)."""

    since: datetime
    """The recording's last write before the stop (its files' newest modification time)."""
    until: datetime
    """The restart."""
    interrupted_at: float
    """Hearing-clock seconds of the last thing recorded before the stop."""

    @property
    def seconds(self) -> float:
        return max(0.0, (self.until - self.since).total_seconds())

    def payload(self) -> dict[str, Any]:
        return {
            "outage_seconds": round(self.seconds, 3),
            "outage_from": self.since.astimezone(UTC).isoformat(timespec="milliseconds"),
            "outage_to": self.until.astimezone(UTC).isoformat(timespec="milliseconds"),
            "interrupted_at": round(self.interrupted_at, 3),
        }


def last_write(root: Path) -> datetime | None:
    """When anything in the recording folder was last written (None for an empty or missing one).
    Read before the folder is repaired: the repair writes the manifest itself."""
    newest = 0.0
    if root.is_dir():
        for path in root.rglob("*"):
            try:
                if path.is_file():
                    newest = max(newest, path.stat().st_mtime)
            except OSError:
                continue
    return datetime.fromtimestamp(newest, UTC) if newest else None


class RecordingError(Exception):
    pass


class LiveOutput(Protocol):
    """What runs with the recording (the live program, :mod:`court.live.program`): extra video sources
    recorded beside the devices, consumers of everything captured, started once media flows and
    stopped before capture ends."""

    def sources(self) -> Mapping[str, Camera]: ...

    def consumers(self) -> Sequence[Consumer]: ...

    def start(self, timeline: Timeline) -> None: ...

    def stop(self) -> None: ...


class HearingRecording:
    """Owns the recorder and capture threads of one hearing."""

    def __init__(
        self,
        root: Path,
        backup: Path | None,
        *,
        cameras: Mapping[str, Camera],
        microphones: Mapping[str, Microphone],
        clock: Clock,
        segment_seconds: float = 4.0,
        first_media_timeout: float = 5.0,
        consumer_buffer: int = 512,
        live: LiveOutput | None = None,
        consumers: Sequence[Consumer] = (),
    ) -> None:
        """``consumers`` get every captured frame and chunk on their own threads (speech recognition)."""
        self.root = root
        self.backup = backup
        self.cameras = cameras
        self.microphones = microphones
        self.clock = clock
        self.segment_seconds = segment_seconds
        self.first_media_timeout = first_media_timeout
        self.consumer_buffer = consumer_buffer
        self.live = live
        self.consumers = tuple(consumers)
        self._extra_cameras: dict[str, Camera] = {}
        self._extra_microphones: dict[str, Microphone] = {}
        self._recorder: SegmentedRecorder | None = None
        self._capture: CaptureLoop | None = None
        self._timeline: Timeline | None = None
        self._latest: dict[str, VideoFrame] = {}
        self._first_seen: set[str] = set()
        self._started: set[str] = set()
        self._seen = threading.Condition()
        self._outage: Outage | None = None

    @property
    def running(self) -> bool:
        return self._recorder is not None

    def note_outage(self, outage: Outage) -> None:
        """What the next :meth:`recover` reports of the outage (its ``recording.recovered`` event and
        the manifest's ``recovered`` line carry the wall-clock length)."""
        self._outage = outage

    def recover(self, timeline: Timeline, reason: str) -> list[ManifestEntry]:
        """Repair the folder after a crash: unlisted segments are kept, hashed and flagged defective."""
        outage = self._outage
        if outage is not None:
            # Also in the manifest's own words: the recording's proof says how long it was down.
            reason = (
                f"{reason}; outage {outage.seconds:.1f} s wall clock "
                f"({outage.since.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z"
                f" to {outage.until.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z)"
            )
        entries = recover(self.root, reason, t=self.clock.now())
        for entry in entries:
            self._to_timeline(timeline, entry)
        self._outage = None
        return entries

    def start(self, timeline: Timeline) -> None:
        """Start every source and return once each working one has delivered its first media."""
        if self._recorder is not None:
            raise RecordingError("the recording is already running")
        self._timeline = timeline
        recorder = SegmentedRecorder(
            self.root,
            self.backup,
            self.segment_seconds,
            timestamp_text=self._timestamp_text,
            on_entry=lambda entry: self._to_timeline(timeline, entry),
            clock=self.clock.now,
        )
        live = self.live
        consumers = [self._observe, *self.consumers, *(live.consumers() if live else ())]
        # Each consumer (director, recognition) gets every camera frame and microphone chunk: about
        # 150 items a second in a full room. 32 would be a fifth of a second of slack, and recognition
        # would lose words whenever the machine is briefly busy; 512 is a few seconds.
        capture = CaptureLoop(
            recorder, consumers=consumers, clock=self.clock.now, consumer_buffer=self.consumer_buffer
        )
        cameras = {**self.cameras, **(live.sources() if live else {}), **self._extra_cameras}
        for camera_id, camera in cameras.items():
            capture.add_camera(camera, camera_id)
        for seat_id, mic in self.microphones.items():
            capture.add_microphone(mic, microphone_source(seat_id))
        for source_id, mic in self._extra_microphones.items():
            capture.add_microphone(mic, source_id)
        self._recorder, self._capture = recorder, capture
        capture.start()
        self._wait_for_first_media(set(recorder.sources), capture)
        if live is not None:
            live.start(timeline)

    def add_camera(self, source_id: str, camera: Camera) -> None:
        """Record another camera from now on (a remote party joining): at once when the recording
        runs, else from its start. Added once; a party who rejoins feeds the same device."""
        self._check_new(source_id)
        self._extra_cameras[source_id] = camera
        if self._capture is not None:
            self._capture.add_camera(camera, source_id)
            self._capture.start()

    def add_microphone(self, source_id: str, microphone: Microphone) -> None:
        """Record another audio source from now on, like :meth:`add_camera`."""
        self._check_new(source_id)
        self._extra_microphones[source_id] = microphone
        if self._capture is not None:
            self._capture.add_microphone(microphone, source_id)
            self._capture.start()

    def audio_sources(self) -> list[str]:
        return [microphone_source(seat) for seat in self.microphones] + list(self._extra_microphones)

    def hold_audio(self, reason: str, hold: str) -> None:
        """Stop recording every audio source until :meth:`release_audio` with the same ``hold`` (a
        mediation's private talk: the record says when, not what). Logged per source with ``reason``."""
        recorder = self._recorder
        if recorder is None:
            return
        for source in self.audio_sources():
            recorder.interrupt(source, reason, t=self.clock.now(), hold=hold)

    def release_audio(self, reason: str, hold: str) -> None:
        recorder = self._recorder
        if recorder is None:
            return
        for source in self.audio_sources():
            recorder.resume(source, reason, t=self.clock.now(), hold=hold)

    def _check_new(self, source_id: str) -> None:
        if source_id in self._extra_cameras or source_id in self._extra_microphones:
            raise RecordingError(f"{source_id} is already recorded")

    def _wait_for_first_media(self, sources: set[str], capture: CaptureLoop) -> None:
        deadline = time.monotonic() + self.first_media_timeout
        with self._seen:
            while True:
                faulted = {s for s, fault in capture.faults().items() if fault}
                # Running means media is flowing and each source's start is in the timeline, so the
                # steps after this one are recorded after it.
                if sources <= (self._first_seen & self._started) | faulted:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    missing = sorted(sources - self._first_seen - faulted)
                    raise RecordingError(
                        f"no media within {self.first_media_timeout:.0f} s from {', '.join(missing)}"
                    )
                self._seen.wait(min(remaining, 0.05))

    def _observe(self, source_id: str, item: VideoFrame | AudioChunk) -> None:
        if isinstance(item, VideoFrame):
            self._latest[source_id] = item
        if source_id not in self._first_seen:
            with self._seen:
                self._first_seen.add(source_id)
                self._seen.notify_all()

    def latest_frame(self, camera_id: str) -> VideoFrame | None:
        return self._latest.get(camera_id)

    def faults(self) -> dict[str, str | None]:
        return self._capture.faults() if self._capture else {}

    def stop(self, reason: str) -> None:
        """Stop capturing and close the open segments (logged with ``reason``). Safe to call twice."""
        capture, recorder = self._capture, self._recorder
        self._capture = self._recorder = None
        if self.live is not None:
            self.live.stop()
        if capture is not None:
            capture.stop()
        if recorder is not None:
            recorder.close(reason, t=self.clock.now())

    def _timestamp_text(self, t: float) -> str:
        wall: datetime = self.clock.wall(t).astimezone()
        return f"{wall:%Y-%m-%d %H:%M:%S}.{wall.microsecond // 1000:03d}  T+{_clock(t)}"

    def _to_timeline(self, timeline: Timeline, entry: ManifestEntry) -> None:
        payload: dict[str, Any]
        if isinstance(entry, SegmentEntry):
            payload = {
                "manifest_seq": entry.seq,
                "source": entry.source,
                "index": entry.index,
                "file": entry.file,
                "media": entry.media.value,
                "start": round(entry.start, 3),
                "end": round(entry.end, 3),
                "sha256": entry.sha256,
                "chain": entry.chain,
                "status": entry.status.value,
                "reason": entry.reason,
            }
            timeline.append(EventType.RECORDING_SEGMENT, payload, t=entry.end)
        elif isinstance(entry, EventEntry):
            payload = {"manifest_seq": entry.seq, "source": entry.source, "reason": entry.reason}
            if entry.action is EventAction.RECOVERED and self._outage is not None:
                payload.update(self._outage.payload())
            timeline.append(_ACTION_EVENTS[entry.action], payload, t=entry.t)
            if entry.action is EventAction.START:
                with self._seen:
                    self._started.add(entry.source)
                    self._seen.notify_all()


def _clock(t: float) -> str:
    seconds = max(0, int(t))
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
