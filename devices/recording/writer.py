"""The segmented recorder: every camera and microphone written in short, hashed, chained segments.

Modules. This one is the recorder and its API; :mod:`devices.recording.worker` is a source's queue,
thread and segment life cycle; :mod:`devices.recording.tracks` cuts pictures and sound into segments.

Threading. Each source has its own worker thread and queue, so ``write_video``/``write_audio`` only
enqueue and return at once; they are safe to call from the asyncio loop and from capture threads.
Encoding, fsync, hashing and manifest appends happen on the source's worker; copying to the backup on
one more thread (:mod:`devices.recording.backup`). ``on_entry`` is therefore called on those threads.

What is never silent. Media is refused, not recorded, in three cases, each written to the manifest:
- the source is interrupted (recess, device fault): the ``interrupt`` event covers it and the
  ``resume`` event counts what was offered meanwhile;
- the source's queue is full because encoding falls behind: an ``interrupt``/``resume`` pair gives the
  dropped span and count (written when the queue accepts media again, or at close). Dropping rather
  than blocking keeps a late encoder from stalling the caller, which may be the event loop;
- a timestamp does not advance: counted in the segment's ``reason``.

Segments. A segment holds hearing-clock window ``[k·S, (k+1)·S)`` (``S`` = ``segment_seconds``), so
pictures and sound are cut at the same instants and a crash loses at most the open window. A segment
also ends at an interruption, an encoder error, a picture size change, and (audio) when the
microphone's timestamps stop matching its sample count by more than ``audio_tolerance`` seconds; the
next segment then starts at the microphone's own time again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import av

from devices.media import AudioChunk, VideoFrame
from devices.recording.backup import BackupMirror
from devices.recording.files import check_source_id, files_on_disk, parse_segment_relpath
from devices.recording.manifest import (
    EventAction,
    Manifest,
    ManifestEntry,
    ManifestNeedsRecovery,
    SegmentEntry,
)
from devices.recording.overlay import hearing_clock_text
from devices.recording.tracks import AudioWorker, VideoWorker
from devices.recording.worker import RecorderClosed

__all__ = ["ALL", "RecorderClosed", "SegmentedRecorder"]

log = logging.getLogger(__name__)

ALL = "*"
"""Pass as ``source_id`` to :meth:`SegmentedRecorder.interrupt`/``resume`` to mean every source."""

_Worker = VideoWorker | AudioWorker


class SegmentedRecorder:
    """Writes sources into ``root`` in segments and chains them into ``root/manifest.jsonl``.

    Opening a folder that already has a manifest continues its numbering and chain. A folder left by a
    crash (a torn manifest line or segment files missing from the manifest) is refused with
    :class:`~devices.recording.manifest.ManifestNeedsRecovery`: run
    :func:`devices.recording.recovery.recover` first.
    """

    def __init__(
        self,
        root: Path,
        backup: Path | None = None,
        segment_seconds: float = 4.0,
        timestamp_text: Callable[[float], str] = hearing_clock_text,
        on_entry: Callable[[ManifestEntry], None] | None = None,
        video_codec: str = "libx264",
        video_options: Mapping[str, str] | None = None,
        *,
        keyframe_seconds: float = 1.0,
        video_threads: int = 1,
        max_queue: int = 50,
        audio_tolerance: float = 0.05,
        clock: Callable[[], float] | None = None,
        backup_retry_seconds: float = 5.0,
        backup_close_timeout: float = 30.0,
    ) -> None:
        """
        :param segment_seconds: length of a segment in hearing-clock seconds.
        :param timestamp_text: the overlay text for a picture taken at hearing-clock ``t``.
        :param on_entry: called with every manifest entry, on a recorder thread, in manifest order,
            with the manifest locked: keep it quick (hand it to the event loop with
            ``call_soon_threadsafe``) and never call :meth:`close` from it.
        :param video_options: encoder options; default ultrafast/zerolatency for libx264.
        :param keyframe_seconds: keyframe (and MP4 fragment) spacing within a segment: bounds what a
            crash loses of the open segment.
        :param max_queue: media items waiting per source before further ones are dropped (and logged).
        :param clock: hearing clock for event times; without it events take the source's latest media
            time.
        """
        if segment_seconds <= 0:
            raise ValueError(f"segment_seconds must be positive, got {segment_seconds}")
        try:
            # Fail now, not as a defective segment per second once the hearing has started.
            av.Codec(video_codec, "w")
        except Exception as e:
            raise ValueError(f"video codec {video_codec!r} is not available: {e}") from e
        self.root = root
        self.backup = backup
        self.segment_seconds = segment_seconds
        self.timestamp_text = timestamp_text
        self.video_codec = video_codec
        self.video_options = video_options
        self.keyframe_seconds = keyframe_seconds
        self.video_threads = video_threads
        self.max_queue = max_queue
        self.audio_tolerance = audio_tolerance
        self._clock = clock
        self._on_entry = on_entry
        self._backup_close_timeout = backup_close_timeout
        if backup is not None and _inside(backup, root):
            raise ValueError(f"backup {backup} must not be the recording folder {root} or inside it")
        root.mkdir(parents=True, exist_ok=True)
        self._mirror: BackupMirror | None = None
        self.manifest = Manifest(root, on_append=self._entry_appended)
        self._next_index: dict[str, int] = {}
        listed: set[str] = set()
        for entry in self.manifest.entries:
            if isinstance(entry, SegmentEntry):
                listed.add(entry.file)
                self._next_index[entry.source] = max(self._next_index.get(entry.source, 1), entry.index + 1)
        unlisted = [
            f for f in files_on_disk(root) if f not in listed and parse_segment_relpath(f) is not None
        ]
        if unlisted:
            self.manifest.close()
            raise ManifestNeedsRecovery(
                f"{root}: {len(unlisted)} segment file(s) not in the manifest ({', '.join(unlisted[:3])}); "
                "run recovery"
            )
        self._lock = threading.Lock()
        self._sources: dict[str, _Worker] = {}
        self._closed = False
        if backup is not None:
            self._mirror = BackupMirror(root, backup, self.manifest, backup_retry_seconds)
            self._mirror.start()

    # -- set-up ----------------------------------------------------------------------------------------

    def add_video(self, source_id: str, width: int, height: int, fps: float) -> None:
        if width <= 0 or height <= 0 or fps <= 0:
            raise ValueError(f"{source_id}: bad video format {width}x{height} @ {fps} fps")
        self._add(VideoWorker(self, check_source_id(source_id), width, height, fps))

    def add_audio(self, source_id: str, sample_rate: int) -> None:
        if sample_rate <= 0:
            raise ValueError(f"{source_id}: bad sample rate {sample_rate}")
        self._add(AudioWorker(self, check_source_id(source_id), sample_rate))

    def _add(self, worker: _Worker) -> None:
        with self._lock:
            if self._closed:
                raise RecorderClosed("recorder is closed")
            if worker.source_id in self._sources:
                raise ValueError(f"source {worker.source_id!r} is already being recorded")
            self._sources[worker.source_id] = worker
        worker.start()

    @property
    def sources(self) -> list[str]:
        with self._lock:
            return list(self._sources)

    # -- media -----------------------------------------------------------------------------------------

    def write_video(self, source_id: str, frame: VideoFrame) -> bool:
        """Queue a picture; False when it was not accepted (interrupted or queue full; both logged)."""
        worker = self._worker(source_id)
        if not isinstance(worker, VideoWorker):
            raise TypeError(f"{source_id} is not a video source")
        return worker.offer(frame, frame.t, frame.t + 1.0 / worker.fps)

    def write_audio(self, source_id: str, chunk: AudioChunk) -> bool:
        """Queue samples; False when they were not accepted (interrupted or queue full; both logged)."""
        worker = self._worker(source_id)
        if not isinstance(worker, AudioWorker):
            raise TypeError(f"{source_id} is not an audio source")
        return worker.offer(chunk, chunk.t, chunk.end)

    def _worker(self, source_id: str) -> _Worker:
        with self._lock:
            if self._closed:
                raise RecorderClosed("recorder is closed")
            try:
                return self._sources[source_id]
            except KeyError:
                raise KeyError(f"unknown source {source_id!r}; call add_video/add_audio first") from None

    # -- control ---------------------------------------------------------------------------------------

    def interrupt(self, source_id: str, reason: str, *, t: float | None = None, hold: str = "manual") -> None:
        """Stop recording ``source_id`` (or every source with ``"*"``) until :meth:`resume` with the same
        ``hold``. The open segment is closed and an ``interrupt`` event logged with ``reason``.

        Holds let independent parties interrupt without undoing each other: a camera fault (hold
        ``"device"``) clearing during a recess (hold ``"manual"``) does not restart the recording.
        """
        for worker in self._targets(source_id):
            worker.interrupt(reason, self._event_t(worker, t, after_media=True), hold)

    def resume(self, source_id: str, reason: str, *, t: float | None = None, hold: str = "manual") -> None:
        """Release ``hold``; recording restarts (new segment, ``resume`` event) once no hold remains."""
        for worker in self._targets(source_id):
            worker.resume(reason, self._event_t(worker, t, after_media=False), hold)

    def is_interrupted(self, source_id: str) -> bool:
        return bool(self._worker(source_id).holds())

    def drain(self, timeout: float | None = None) -> bool:
        """Block until everything queued so far is encoded and listed; False on timeout."""
        with self._lock:
            workers = list(self._sources.values())
        events = [w.barrier() for w in workers]
        return all(e.wait(timeout) for e in events)

    def close(self, reason: str, *, t: float | None = None) -> None:
        """Finish every open segment, log a ``stop`` per source, finish the backup; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._sources.values())
        for w in workers:
            w.stop(reason, self._event_t(w, t, after_media=True))
        for w in workers:
            w.join()
        if self._mirror is not None:
            left = self._mirror.close(self._backup_close_timeout)
            if left:
                self.manifest.append_event(
                    source=ALL,
                    action=EventAction.BACKUP_FAILED,
                    reason=f"backup to {self.backup} incomplete at close: {len(left)} file(s) not copied "
                    f"({', '.join(left[:5])}{', …' if len(left) > 5 else ''})",
                    t=self._latest_t(),
                )
        self.manifest.close()

    def __enter__(self) -> SegmentedRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close("recorder closed")

    @property
    def backup_problem(self) -> str | None:
        """What is wrong with the backup now (None when it is fine or catching up)."""
        return self._mirror.failing if self._mirror else None

    # -- internals shared with workers -----------------------------------------------------------------

    def _targets(self, source_id: str) -> list[_Worker]:
        if source_id == ALL:
            with self._lock:
                return list(self._sources.values())
        return [self._worker(source_id)]

    def _event_t(self, worker: _Worker, t: float | None, *, after_media: bool) -> float:
        """An event's time: the one given, else the clock's, else what the media says. An interruption
        or stop then takes the end of the last accepted media (what was recorded ends there), a resume
        the time of the latest media offered (that is, about now)."""
        if t is not None:
            return t
        if self._clock is not None:
            return self._clock()
        with worker.lock:
            known = worker.shared.last_end if after_media else worker.shared.last_t
        return known if known is not None else self._latest_t()

    def _latest_t(self) -> float:
        last = self.manifest.last
        if last is None:
            return 0.0
        return last.end if isinstance(last, SegmentEntry) else last.t

    def _first_index(self, source_id: str) -> int:
        return self._next_index.get(source_id, 1)

    def _entry_appended(self, entry: ManifestEntry) -> None:
        if self._on_entry is not None:
            try:
                self._on_entry(entry)
            except Exception:
                log.exception("on_entry failed for manifest entry %d", entry.seq)
        if self._mirror is not None:
            self._mirror.notify()

    def _segment_closed(self, entry: SegmentEntry) -> None:
        if self._mirror is not None:
            self._mirror.submit(entry)


def _inside(path: Path, root: Path) -> bool:
    p, r = path.resolve(), root.resolve()
    return p == r or r in p.parents
