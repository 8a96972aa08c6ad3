"""The segmented recorder: every camera and microphone written in short, hashed, chained segments.

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
import math
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np

from devices.media import AudioChunk, Image, VideoFrame
from devices.recording.backup import BackupMirror
from devices.recording.encoders import AudioSegmentFile, VideoSegmentFile, t0_comment
from devices.recording.files import (
    AUDIO_EXT,
    VIDEO_EXT,
    check_source_id,
    files_on_disk,
    fsync_dir,
    fsync_file,
    parse_segment_relpath,
    segment_relpath,
    sha256_file,
)
from devices.recording.manifest import (
    EventAction,
    Manifest,
    ManifestEntry,
    ManifestNeedsRecovery,
    Media,
    SegmentEntry,
    SegmentStatus,
)
from devices.recording.overlay import draw_timestamp, hearing_clock_text

log = logging.getLogger(__name__)

ALL = "*"
"""Pass as ``source_id`` to :meth:`SegmentedRecorder.interrupt`/``resume`` to mean every source."""


class RecorderClosed(RuntimeError):
    """Media was offered after :meth:`SegmentedRecorder.close`."""


@dataclass(frozen=True, slots=True)
class _Overflow:
    count: int
    first_t: float
    last_t: float


@dataclass(frozen=True, slots=True)
class _MediaItem:
    item: VideoFrame | AudioChunk
    overflow: _Overflow | None


@dataclass(frozen=True, slots=True)
class _Control:
    action: Literal["interrupt", "resume", "stop", "barrier"]
    reason: str = ""
    t: float = 0.0
    overflow: _Overflow | None = None
    done: threading.Event | None = None


@dataclass(slots=True)
class _Shared:
    """State shared between callers and a source's worker; guarded by the source's lock."""

    holds: dict[str, str] = field(default_factory=dict)
    held_drops: int = 0
    pending: int = 0
    overflow: _Overflow | None = None
    last_t: float | None = None
    last_end: float | None = None
    closed: bool = False


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
        self._sources: dict[str, _SourceWorker] = {}
        self._closed = False
        if backup is not None:
            self._mirror = BackupMirror(root, backup, self.manifest, backup_retry_seconds)
            self._mirror.start()

    # -- set-up ----------------------------------------------------------------------------------------

    def add_video(self, source_id: str, width: int, height: int, fps: float) -> None:
        if width <= 0 or height <= 0 or fps <= 0:
            raise ValueError(f"{source_id}: bad video format {width}x{height} @ {fps} fps")
        self._add(_VideoWorker(self, check_source_id(source_id), width, height, fps))

    def add_audio(self, source_id: str, sample_rate: int) -> None:
        if sample_rate <= 0:
            raise ValueError(f"{source_id}: bad sample rate {sample_rate}")
        self._add(_AudioWorker(self, check_source_id(source_id), sample_rate))

    def _add(self, worker: _SourceWorker) -> None:
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
        if not isinstance(worker, _VideoWorker):
            raise TypeError(f"{source_id} is not a video source")
        return worker.offer(frame, frame.t, frame.t + 1.0 / worker.fps)

    def write_audio(self, source_id: str, chunk: AudioChunk) -> bool:
        """Queue samples; False when they were not accepted (interrupted or queue full; both logged)."""
        worker = self._worker(source_id)
        if not isinstance(worker, _AudioWorker):
            raise TypeError(f"{source_id} is not an audio source")
        return worker.offer(chunk, chunk.t, chunk.end)

    def _worker(self, source_id: str) -> _SourceWorker:
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

    def _targets(self, source_id: str) -> list[_SourceWorker]:
        if source_id == ALL:
            with self._lock:
                return list(self._sources.values())
        return [self._worker(source_id)]

    def _event_t(self, worker: _SourceWorker, t: float | None, *, after_media: bool) -> float:
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


class _SourceWorker:
    """One source's queue and encoder thread; the media-specific part is in the subclasses."""

    media: Media
    ext: str

    def __init__(self, recorder: SegmentedRecorder, source_id: str) -> None:
        # Composition, not a Thread subclass: Thread's private attributes (_started…) would clash.
        self._thread = threading.Thread(target=self.run, name=f"recording-{source_id}", daemon=True)
        self.recorder = recorder
        self.source_id = source_id
        self.lock = threading.Lock()
        self.shared = _Shared()
        self._queue: queue.SimpleQueue[_MediaItem | _Control] = queue.SimpleQueue()
        # Worker-thread state below.
        self._started = False
        self._error: str | None = None
        """Set after an encoder error until a new segment opens (the resume event clears it)."""
        self._error_drops = 0
        self._retry_at = -math.inf
        self._notes: list[str] = []
        self._next_index = recorder._first_index(source_id)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    # -- caller side -----------------------------------------------------------------------------------

    def offer(self, item: VideoFrame | AudioChunk, t: float, end: float) -> bool:
        if not math.isfinite(t):
            raise ValueError(f"{self.source_id}: media time must be finite, got {t}")
        with self.lock:
            s = self.shared
            if s.closed:
                raise RecorderClosed("recorder is closed")
            s.last_t = t
            if s.holds:
                s.held_drops += 1
                return False
            if s.pending >= self.recorder.max_queue:
                o = s.overflow
                s.overflow = _Overflow(o.count + 1, o.first_t, t) if o else _Overflow(1, t, t)
                return False
            s.pending += 1
            s.last_end = end
            overflow, s.overflow = s.overflow, None
            # Enqueue under the lock so media and controls keep the order their callers saw.
            self._queue.put(_MediaItem(item, overflow))
        return True

    def holds(self) -> dict[str, str]:
        with self.lock:
            return dict(self.shared.holds)

    def interrupt(self, reason: str, t: float, hold: str) -> None:
        with self.lock:
            self.shared.holds[hold] = reason
            overflow, self.shared.overflow = self.shared.overflow, None
            self._queue.put(_Control("interrupt", reason, t, overflow))

    def resume(self, reason: str, t: float, hold: str) -> None:
        with self.lock:
            s = self.shared
            if s.holds.pop(hold, None) is None or s.holds:
                return
            drops, s.held_drops = s.held_drops, 0
            if drops:
                reason = f"{reason}; {drops} item(s) offered while interrupted were not recorded"
            self._queue.put(_Control("resume", reason, t))

    def barrier(self) -> threading.Event:
        done = threading.Event()
        if self._thread.is_alive():
            self._queue.put(_Control("barrier", done=done))
        else:
            done.set()
        return done

    def stop(self, reason: str, t: float) -> None:
        with self.lock:
            self.shared.closed = True
            overflow, self.shared.overflow = self.shared.overflow, None
            drops = self.shared.held_drops
            if self.shared.holds and drops:
                reason = f"{reason}; {drops} item(s) offered while interrupted were not recorded"
            self._queue.put(_Control("stop", reason, t, overflow))

    # -- worker side -----------------------------------------------------------------------------------

    def run(self) -> None:
        while True:
            msg = self._queue.get()
            try:
                if isinstance(msg, _MediaItem):
                    with self.lock:
                        self.shared.pending -= 1
                    if msg.overflow is not None:
                        self._log_overflow(msg.overflow, _item_t(msg.item))
                    self.handle(msg.item)
                    continue
                if msg.overflow is not None:
                    # Followed by an interrupt or stop: the recording does not resume in between.
                    self._log_overflow(msg.overflow, None)
                if msg.action == "barrier":
                    assert msg.done is not None
                    msg.done.set()
                elif msg.action == "interrupt":
                    self.close_segment()
                    self._event(EventAction.INTERRUPT, msg.reason, msg.t)
                elif msg.action == "resume":
                    self._event(EventAction.RESUME, msg.reason, msg.t)
                elif msg.action == "stop":
                    self.close_segment()
                    reason = msg.reason
                    if not self._started:
                        reason += "; nothing was ever received"
                    if self._error is not None:
                        reason += f"; not recording since: {self._error}"
                        if self._error_drops:
                            reason += f" ({self._error_drops} item(s) not recorded)"
                    self._event(EventAction.STOP, reason, msg.t)
                    return
            except Exception:
                # Whatever breaks, the worker must keep serving its queue: a dead worker would turn
                # every later frame into a silent loss.
                log.exception("%s: recording worker error", self.source_id)

    def _log_overflow(self, o: _Overflow, resumed_at: float | None) -> None:
        what = f"encoder queue full ({self.recorder.max_queue} waiting): {o.count} item(s) dropped"
        self._event(EventAction.INTERRUPT, f"{what} from t={o.first_t:.3f} to t={o.last_t:.3f}", o.first_t)
        if resumed_at is not None:
            self._event(EventAction.RESUME, "encoder caught up", resumed_at)

    def _event(self, action: EventAction, reason: str, t: float) -> None:
        self.recorder.manifest.append_event(source=self.source_id, action=action, reason=reason, t=t)

    def handle(self, item: VideoFrame | AudioChunk) -> None:
        raise NotImplementedError

    def close_segment(self) -> None:
        raise NotImplementedError

    def _note(self, text: str) -> None:
        self._notes.append(text)

    def _before_open(self, t: float, description: str) -> bool:
        """Start/resume bookkeeping before a segment opens; False while waiting to retry after an error."""
        if self._error is not None and t < self._retry_at:
            self._error_drops += 1
            return False
        if not self._started:
            self._started = True
            self._event(EventAction.START, f"recording started: {description}", t)
        return True

    def _after_open(self, t: float) -> None:
        if self._error is not None:
            lost = f"; {self._error_drops} item(s) not recorded meanwhile" if self._error_drops else ""
            self._event(EventAction.RESUME, f"new segment after encoder error{lost}", t)
            self._error = None
            self._error_drops = 0

    def _open_failed(self, index: int, path: Path, t: float, error: Exception) -> None:
        """Opening a segment failed: keep whatever file it left, and retry a second later."""
        message = f"cannot open segment: {type(error).__name__}: {error}"
        log.error("%s: %s", self.source_id, message)
        if path.exists():
            self._next_index = index + 1
            self._finish(index, path, t, t, 0, SegmentStatus.DEFECTIVE, message)
        self._fail(message, t, retry_after=1.0)

    def _fail(self, message: str, t: float, retry_after: float) -> None:
        if self._error is None:
            self._event(EventAction.INTERRUPT, message, t)
        self._error = message
        self._retry_at = t + retry_after

    def _finish(
        self, index: int, path: Path, start: float, end: float, count: int, status: SegmentStatus, reason: str
    ) -> None:
        """Make the closed file durable, hash it, list it, hand it to the backup."""
        rel = segment_relpath(self.source_id, index, self.ext)
        try:
            fsync_file(path)
            digest, size = sha256_file(path)
        except OSError as e:
            # Without the bytes there is nothing to hash; the verifier will report the file.
            self._event(EventAction.INTERRUPT, f"{rel} could not be read back: {e}", end)
            return
        entry = self.recorder.manifest.append_segment(
            source=self.source_id,
            index=index,
            file=rel,
            media=self.media,
            start=start,
            end=end,
            count=count,
            size=size,
            sha256=digest,
            status=status,
            reason=reason,
        )
        self.recorder._segment_closed(entry)

    def _new_path(self) -> tuple[int, Path]:
        # The index is only used up once a file exists (see _open_failed): indexes stay contiguous.
        index = self._next_index
        folder = self.recorder.root / self.source_id
        if not folder.exists():
            folder.mkdir(parents=True, exist_ok=True)
            fsync_dir(self.recorder.root)
        return index, self.recorder.root / segment_relpath(self.source_id, index, self.ext)

    def _window(self, t: float, eps: float = 1e-6) -> int:
        # A time a rounding error short of a boundary belongs after it; otherwise a running sum of
        # frame or sample durations could leave a one-sample segment at every cut.
        return math.floor((t + eps) / self.recorder.segment_seconds)

    def _take_notes(self) -> str:
        text = "; ".join(self._notes)
        self._notes = []
        return text


def _item_t(item: VideoFrame | AudioChunk) -> float:
    return item.t


def _even(image: Image) -> Image:
    """yuv420p needs even sizes; replicate the last row/column instead of dropping picture."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    padded = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    return np.asarray(padded, dtype=np.uint8)


class _VideoWorker(_SourceWorker):
    media = Media.VIDEO
    ext = VIDEO_EXT

    def __init__(
        self, recorder: SegmentedRecorder, source_id: str, width: int, height: int, fps: float
    ) -> None:
        super().__init__(recorder, source_id)
        self.width = width
        self.height = height
        self.fps = fps
        self._seg: VideoSegmentFile | None = None
        self._seg_index = 0
        self._seg_window = 0
        self._seg_size = (0, 0)

    def handle(self, item: VideoFrame | AudioChunk) -> None:
        assert isinstance(item, VideoFrame)
        frame = item
        # Copy before drawing: the caller's picture may also go to the director or the livestream.
        image = _even(frame.image.copy())
        size = (image.shape[1], image.shape[0])
        if self._seg is not None and (self._window(frame.t) != self._seg_window or size != self._seg_size):
            resized = size != self._seg_size
            self.close_segment()
            if resized:
                self._note(f"picture size changed to {size[0]}x{size[1]}")
        if self._seg is None and not self._open(frame.t, size):
            return
        assert self._seg is not None
        draw_timestamp(image, self.recorder.timestamp_text(frame.t))
        try:
            self._seg.write(image, frame.t)
        except Exception as e:
            self._encoder_failed(e, frame.t)

    def _open(self, t: float, size: tuple[int, int]) -> bool:
        description = f"video {size[0]}x{size[1]} @ {self.fps:g} fps, {self.recorder.video_codec}"
        if not self._before_open(t, description):
            return False
        index, path = self._new_path()
        try:
            self._seg = VideoSegmentFile(
                path,
                width=size[0],
                height=size[1],
                fps=self.fps,
                t0=t,
                comment=t0_comment(t, self.source_id, index),
                codec=self.recorder.video_codec,
                options=self.recorder.video_options,
                keyframe_seconds=self.recorder.keyframe_seconds,
                threads=self.recorder.video_threads,
            )
        except Exception as e:
            self._open_failed(index, path, t, e)
            return False
        self._seg_index = index
        self._next_index = index + 1
        self._seg_window = self._window(t)
        self._seg_size = size
        self._after_open(t)
        return True

    def _end(self, seg: VideoSegmentFile) -> float:
        return seg.last_t + 1.0 / self.fps if seg.frames else seg.t0

    def close_segment(self) -> None:
        seg, self._seg = self._seg, None
        if seg is None:
            return
        if seg.dropped:
            self._note(f"{seg.dropped} frame(s) with non-increasing timestamps dropped")
        try:
            seg.close()
        except Exception as e:
            seg.abort()
            message = f"encoder error at close: {type(e).__name__}: {e}"
            self._note(message)
            self._finish(
                self._seg_index,
                seg.path,
                seg.t0,
                self._end(seg),
                seg.frames,
                SegmentStatus.DEFECTIVE,
                self._take_notes(),
            )
            self._fail(message, self._end(seg), retry_after=0.0)
            return
        self._finish(
            self._seg_index,
            seg.path,
            seg.t0,
            self._end(seg),
            seg.frames,
            SegmentStatus.OK,
            self._take_notes(),
        )

    def _encoder_failed(self, error: Exception, t: float) -> None:
        seg, self._seg = self._seg, None
        assert seg is not None
        seg.abort()
        message = f"encoder error at t={t:.3f}: {type(error).__name__}: {error}"
        log.error("%s: %s", self.source_id, message)
        self._note(message)
        self._finish(
            self._seg_index,
            seg.path,
            seg.t0,
            self._end(seg),
            seg.frames,
            SegmentStatus.DEFECTIVE,
            self._take_notes(),
        )
        # The spec: the next frame starts a new segment, so no waiting before the retry.
        self._fail(message, t, retry_after=0.0)


class _AudioWorker(_SourceWorker):
    media = Media.AUDIO
    ext = AUDIO_EXT

    def __init__(self, recorder: SegmentedRecorder, source_id: str, sample_rate: int) -> None:
        super().__init__(recorder, source_id)
        self.sample_rate = sample_rate
        self._seg: AudioSegmentFile | None = None
        self._seg_index = 0
        self._seg_limit = 0
        """Samples the open segment may hold before its window ends."""
        self._last_chunk_t = -math.inf

    def handle(self, item: VideoFrame | AudioChunk) -> None:
        assert isinstance(item, AudioChunk)
        chunk = item
        if chunk.t <= self._last_chunk_t:
            self._note(f"chunk at t={chunk.t:.3f} with non-increasing timestamp dropped")
            return
        self._last_chunk_t = chunk.t
        samples = chunk.samples
        sr = chunk.sample_rate
        t = chunk.t
        seg = self._seg
        if seg is not None:
            drift = t - seg.end
            if sr != seg.sample_rate:
                self.close_segment()
                self._note(f"sample rate changed to {sr}")
            elif abs(drift) > self.recorder.audio_tolerance:
                # Restart the segment at the microphone's own time rather than shift its samples.
                self.close_segment()
                self._note(f"starts {abs(drift):.3f} s {'after' if drift > 0 else 'before'} the previous end")
        while len(samples):
            if self._seg is not None and self._seg.samples >= self._seg_limit:
                self.close_segment()
            if self._seg is None and not self._open(t, sr):
                return
            assert self._seg is not None
            room = self._seg_limit - self._seg.samples
            piece, samples = samples[:room], samples[room:]
            try:
                self._seg.write(piece)
            except Exception as e:
                self._encoder_failed(e, t)
                return
            t = self._seg.end

    def _open(self, t: float, sr: int) -> bool:
        if not self._before_open(t, f"audio {sr} Hz mono, FLAC 24-bit"):
            return False
        index, path = self._new_path()
        try:
            self._seg = AudioSegmentFile(
                path, sample_rate=sr, t0=t, comment=t0_comment(t, self.source_id, index)
            )
        except Exception as e:
            self._open_failed(index, path, t, e)
            return False
        self._seg_index = index
        self._next_index = index + 1
        boundary = (self._window(t, 0.5 / sr) + 1) * self.recorder.segment_seconds
        # Counting the window in whole samples from the segment start makes cuts exact and unaffected
        # by float rounding of running times.
        self._seg_limit = max(1, math.ceil((boundary - t) * sr - 1e-6))
        self._after_open(t)
        return True

    def close_segment(self) -> None:
        seg, self._seg = self._seg, None
        if seg is None:
            return
        try:
            seg.close()
        except Exception as e:
            seg.abort()
            message = f"encoder error at close: {type(e).__name__}: {e}"
            self._note(message)
            self._finish(
                self._seg_index,
                seg.path,
                seg.t0,
                seg.end,
                seg.samples,
                SegmentStatus.DEFECTIVE,
                self._take_notes(),
            )
            self._fail(message, seg.end, retry_after=0.0)
            return
        self._finish(
            self._seg_index, seg.path, seg.t0, seg.end, seg.samples, SegmentStatus.OK, self._take_notes()
        )

    def _encoder_failed(self, error: Exception, t: float) -> None:
        seg, self._seg = self._seg, None
        assert seg is not None
        seg.abort()
        message = f"encoder error at t={t:.3f}: {type(error).__name__}: {error}"
        log.error("%s: %s", self.source_id, message)
        self._note(message)
        self._finish(
            self._seg_index,
            seg.path,
            seg.t0,
            seg.end,
            seg.samples,
            SegmentStatus.DEFECTIVE,
            self._take_notes(),
        )
        self._fail(message, t, retry_after=0.0)
