"""Capture threads: pull from each camera and microphone and hand the media to the recorder, plus
optional extra consumers (the director, speech recognition) that must never slow capture down.

A :class:`~devices.interfaces.DeviceFault` interrupts that source in the recorder with the fault's
message (hold ``"device"``), the device is tried again every ``retry_seconds``, and the source is
resumed as soon as it delivers again. Other devices are unaffected.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from devices.interfaces import Camera, Device, DeviceFault, Microphone
from devices.media import AudioChunk, VideoFrame
from devices.recording.writer import RecorderClosed

log = logging.getLogger(__name__)

MediaItem = VideoFrame | AudioChunk
Consumer = Callable[[str, MediaItem], None]
"""Called with (source id, frame or chunk) on the consumer's own thread."""

DEVICE_HOLD = "device"


@dataclass(frozen=True, slots=True)
class Only:
    """A consumer of one kind of media (``AudioChunk`` or ``VideoFrame``): its fan-out does not queue
    the other kind, so a burst of camera frames cannot push out the audio a voice detector waits for,
    nor cost it a thread switch per frame."""

    kind: type[AudioChunk] | type[VideoFrame]
    consumer: Consumer

    def __call__(self, source_id: str, item: MediaItem) -> None:
        self.consumer(source_id, item)


class MediaSink(Protocol):
    """What capture needs from the recorder (:class:`~devices.recording.writer.SegmentedRecorder`)."""

    def add_video(self, source_id: str, width: int, height: int, fps: float) -> None: ...

    def add_audio(self, source_id: str, sample_rate: int) -> None: ...

    def write_video(self, source_id: str, frame: VideoFrame) -> bool: ...

    def write_audio(self, source_id: str, chunk: AudioChunk) -> bool: ...

    def interrupt(self, source_id: str, reason: str, *, t: float | None = ..., hold: str = ...) -> None: ...

    def resume(self, source_id: str, reason: str, *, t: float | None = ..., hold: str = ...) -> None: ...


class FanOut:
    """Feeds one consumer from a small buffer on its own thread. When the consumer falls behind, the
    oldest items are dropped (and counted): a consumer may lose media, capture and recording may not."""

    def __init__(self, consumer: Consumer, name: str, max_items: int = 32) -> None:
        self._consumer = consumer
        self._kind = consumer.kind if isinstance(consumer, Only) else None
        self._items: deque[tuple[str, MediaItem]] = deque(maxlen=max_items)
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"fanout-{name}", daemon=True)
        self._thread.start()

    def put(self, source_id: str, item: MediaItem) -> None:
        if self._kind is not None and not isinstance(item, self._kind):
            return
        with self._cond:
            if self._closed:
                return
            if len(self._items) == self._items.maxlen:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 100 == 0:
                    log.warning(
                        "consumer %s is behind: %d item(s) dropped so far", self._thread.name, self.dropped
                    )
            self._items.append((source_id, item))
            self._cond.notify()

    def pending(self) -> int:
        """Items waiting for the consumer (not counting one it is working on)."""
        with self._cond:
            return len(self._items)

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items:
                    return
                source_id, item = self._items.popleft()
            try:
                self._consumer(source_id, item)
            except Exception:
                log.exception("consumer %s failed on %s", self._thread.name, source_id)


class CaptureLoop:
    """One capture thread per device, writing into ``recorder`` and fanning out to ``consumers``."""

    def __init__(
        self,
        recorder: MediaSink,
        *,
        retry_seconds: float = 2.0,
        chunk_seconds: float = 0.1,
        consumers: Sequence[Consumer] = (),
        consumer_buffer: int = 32,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """
        :param retry_seconds: wait between attempts to read from a faulted device.
        :param chunk_seconds: audio read size.
        :param consumers: extra receivers of every frame and chunk (each on its own thread).
        :param clock: the hearing clock, to time-stamp faults; without it the recorder uses the
            source's last media time.
        """
        self.recorder = recorder
        self.retry_seconds = retry_seconds
        self.chunk_seconds = chunk_seconds
        self._clock = clock
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._devices: list[Device] = []
        self._lock = threading.Lock()
        self._faults: dict[str, str | None] = {}
        self._fanouts = [FanOut(c, f"consumer{i}", consumer_buffer) for i, c in enumerate(consumers)]

    def add_camera(self, camera: Camera, source_id: str | None = None, *, register: bool = True) -> str:
        """Capture ``camera`` as ``source_id`` (default: its device id); ``register`` adds it to the
        recorder first. Returns the source id. Call before :meth:`start`."""
        sid = source_id or camera.device_id
        if register:
            self.recorder.add_video(sid, camera.width, camera.height, camera.fps)
        self._add(sid, camera, lambda: camera.read(), is_video=True)
        return sid

    def add_microphone(self, mic: Microphone, source_id: str | None = None, *, register: bool = True) -> str:
        sid = source_id or mic.device_id
        if register:
            self.recorder.add_audio(sid, mic.sample_rate)
        self._add(sid, mic, lambda: mic.read(self.chunk_seconds), is_video=False)
        return sid

    def _add(self, source_id: str, device: Device, read: Callable[[], MediaItem], *, is_video: bool) -> None:
        with self._lock:
            if source_id in self._faults:
                raise ValueError(f"{source_id} is already captured")
            self._faults[source_id] = None
        self._devices.append(device)
        self._threads.append(
            threading.Thread(
                target=self._run, args=(source_id, read, is_video), name=f"capture-{source_id}", daemon=True
            )
        )

    def start(self) -> None:
        for t in self._threads:
            if not t.is_alive() and t.ident is None:
                t.start()

    def stop(self, timeout: float = 5.0, *, close_devices: bool = False) -> bool:
        """Stop capturing; True when every thread ended within ``timeout``. A device blocked in
        ``read`` keeps its thread until the read returns: ``close_devices`` closes them (after the stop
        flag is set, so the fault that closing causes is not logged as an interruption)."""
        self._stop.set()
        if close_devices:
            for device in self._devices:
                try:
                    device.close()
                except Exception:
                    log.exception("closing %s failed", device.device_id)
        ok = True
        for t in self._threads:
            if t.ident is not None:
                t.join(timeout)
                ok = ok and not t.is_alive()
        for f in self._fanouts:
            f.close(timeout)
        return ok

    def faults(self) -> dict[str, str | None]:
        """The current fault of each source (None when it is delivering)."""
        with self._lock:
            return dict(self._faults)

    @property
    def consumer_drops(self) -> list[int]:
        return [f.dropped for f in self._fanouts]

    def _now(self) -> float | None:
        return self._clock() if self._clock is not None else None

    def _run(self, source_id: str, read: Callable[[], MediaItem], is_video: bool) -> None:
        fault: str | None = None
        while not self._stop.is_set():
            try:
                item = read()
            except DeviceFault as e:
                problem = str(e)
            except Exception as e:
                # A driver bug is a fault too: recording must be interrupted on the record, not die silently.
                problem = f"{source_id}: {type(e).__name__}: {e}"
            else:
                try:
                    if fault is not None:
                        self.recorder.resume(
                            source_id, f"device delivering again (was: {fault})", t=item.t, hold=DEVICE_HOLD
                        )
                        fault = None
                        self._set_fault(source_id, None)
                    if is_video:
                        assert isinstance(item, VideoFrame)
                        self.recorder.write_video(source_id, item)
                    else:
                        assert isinstance(item, AudioChunk)
                        self.recorder.write_audio(source_id, item)
                except RecorderClosed:
                    return
                for f in self._fanouts:
                    f.put(source_id, item)
                continue
            if self._stop.is_set():
                # Most likely the device being closed under a blocked read: the stop is logged by the
                # recorder's close, not as a fault.
                return
            if fault is None:
                log.warning("capture fault: %s", problem)
                try:
                    self.recorder.interrupt(source_id, problem, t=self._now(), hold=DEVICE_HOLD)
                except RecorderClosed:
                    return
                self._set_fault(source_id, problem)
            fault = problem
            self._stop.wait(self.retry_seconds)

    def _set_fault(self, source_id: str, problem: str | None) -> None:
        with self._lock:
            self._faults[source_id] = problem
