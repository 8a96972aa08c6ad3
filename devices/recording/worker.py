"""One recorded source's queue and encoder thread, and the life of its segments.

The caller side (:meth:`SourceWorker.offer`, :meth:`~SourceWorker.interrupt`, …) only enqueues, under
the source's lock so media and controls keep the order their callers saw; the worker thread encodes,
rolls segments over, lists them in the manifest and logs every event. What differs between pictures
and sound (how an item is cut into segments, what a segment file is) is in
:mod:`devices.recording.tracks`; opening, closing, failing and listing a segment is here, once.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Generic, Literal, Protocol, TypeVar

from devices.media import AudioChunk, VideoFrame
from devices.recording.files import fsync_dir, fsync_file, segment_relpath, sha256_file
from devices.recording.manifest import EventAction, Media, SegmentStatus

if TYPE_CHECKING:
    from devices.recording.writer import SegmentedRecorder

# The recorder's logger, as before the worker moved out of writer.py: log settings keep applying.
log = logging.getLogger("devices.recording.writer")


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


class SegmentFile(Protocol):
    """An open segment file (:mod:`devices.recording.encoders`) as the worker handles it."""

    @property
    def path(self) -> Path: ...

    @property
    def t0(self) -> float: ...

    def close(self) -> None:
        """Finish the file; raises on encoder or disk errors."""
        ...

    def abort(self) -> None:
        """Close after an error, keeping whatever reached the file; never raises."""
        ...


SegmentT = TypeVar("SegmentT", bound=SegmentFile)


class SourceWorker(Generic[SegmentT]):
    """One source's queue and encoder thread. Subclasses implement :meth:`handle` (an item into the
    open segment, rolling over as needed) and :meth:`_extent` (a segment's end and item count)."""

    media: ClassVar[Media]
    ext: ClassVar[str]

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
        self._seg: SegmentT | None = None
        self._seg_index = 0

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
                        self._log_overflow(msg.overflow, msg.item.t)
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

    # -- media-specific --------------------------------------------------------------------------------

    def handle(self, item: VideoFrame | AudioChunk) -> None:
        raise NotImplementedError

    def _extent(self, seg: SegmentT) -> tuple[float, int]:
        """The segment's end on the hearing clock and how many items (frames, samples) it holds."""
        raise NotImplementedError

    def _closing(self, seg: SegmentT) -> None:
        """Called before a segment is closed (to note what its encoder refused)."""

    # -- segments --------------------------------------------------------------------------------------

    def _open_segment(
        self, t: float, description: str, create: Callable[[int, Path], SegmentT]
    ) -> SegmentT | None:
        """Open the next segment at ``t`` with ``create(index, path)``; None when it is not opened
        (waiting to retry after an error, or opening failed: logged). The caller records the segment's
        own bounds, then calls :meth:`_after_open`."""
        if not self._before_open(t, description):
            return None
        index, path = self._new_path()
        try:
            seg = create(index, path)
        except Exception as e:
            self._open_failed(index, path, t, e)
            return None
        self._seg = seg
        self._seg_index = index
        self._next_index = index + 1
        return seg

    def close_segment(self) -> None:
        seg, self._seg = self._seg, None
        if seg is None:
            return
        self._closing(seg)
        try:
            seg.close()
        except Exception as e:
            seg.abort()
            message = f"encoder error at close: {type(e).__name__}: {e}"
            self._note(message)
            end, count = self._extent(seg)
            self._finish(
                self._seg_index, seg.path, seg.t0, end, count, SegmentStatus.DEFECTIVE, self._take_notes()
            )
            self._fail(message, end, retry_after=0.0)
            return
        end, count = self._extent(seg)
        self._finish(self._seg_index, seg.path, seg.t0, end, count, SegmentStatus.OK, self._take_notes())

    def _encoder_failed(self, error: Exception, t: float) -> None:
        seg, self._seg = self._seg, None
        assert seg is not None
        seg.abort()
        message = f"encoder error at t={t:.3f}: {type(error).__name__}: {error}"
        log.error("%s: %s", self.source_id, message)
        self._note(message)
        end, count = self._extent(seg)
        self._finish(
            self._seg_index, seg.path, seg.t0, end, count, SegmentStatus.DEFECTIVE, self._take_notes()
        )
        # The spec: the next item starts a new segment, so no waiting before the retry.
        self._fail(message, t, retry_after=0.0)

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
