from __future__ import annotations

import threading
import time
from pathlib import Path

from devices.interfaces import DeviceFault, DeviceKind, DeviceStatus
from devices.media import AudioChunk, VideoFrame
from devices.recording.capture import CaptureLoop, FanOut, Only
from devices.recording.manifest import EventAction
from devices.recording.verify import verify_recording
from devices.recording.writer import SegmentedRecorder
from tests.devices.recording.helpers import (
    FPS,
    SR,
    H,
    W,
    chunk,
    events,
    frame,
    picture,
    segments,
    tone,
    wait_for,
)


class ScriptedCamera:
    """Delivers frames, then faults for ``fault_reads`` reads, then frames again, then blocks."""

    def __init__(self, frames_before: int, fault_reads: int, frames_after: int) -> None:
        self._script = ["ok"] * frames_before + ["fault"] * fault_reads + ["ok"] * frames_after
        self._pos = 0
        self._t = 0
        self.closed = threading.Event()

    @property
    def device_id(self) -> str:
        return "cam1"

    @property
    def kind(self) -> DeviceKind:
        return DeviceKind.CAMERA

    @property
    def width(self) -> int:
        return W

    @property
    def height(self) -> int:
        return H

    @property
    def fps(self) -> float:
        return FPS

    def check(self) -> DeviceStatus:
        return DeviceStatus("cam1", DeviceKind.CAMERA, True)

    def close(self) -> None:
        self.closed.set()

    @property
    def done(self) -> bool:
        return self._pos >= len(self._script)

    def read(self) -> VideoFrame:
        if self._pos >= len(self._script):
            self.closed.wait()
            raise DeviceFault("cam1", "closed")
        step = self._script[self._pos]
        self._pos += 1
        self._t += 1
        if step == "fault":
            raise DeviceFault("cam1", "no signal on HDMI input")
        return VideoFrame(picture(self._t), self._t / FPS)


class SteadyMic:
    def __init__(self, chunks: int) -> None:
        self._i = 0
        self._chunks = chunks
        self.closed = threading.Event()

    @property
    def device_id(self) -> str:
        return "mic1"

    @property
    def kind(self) -> DeviceKind:
        return DeviceKind.MICROPHONE

    @property
    def sample_rate(self) -> int:
        return SR

    def check(self) -> DeviceStatus:
        return DeviceStatus("mic1", DeviceKind.MICROPHONE, True)

    def close(self) -> None:
        self.closed.set()

    @property
    def done(self) -> bool:
        return self._i >= self._chunks

    def read(self, seconds: float) -> AudioChunk:
        if self._i >= self._chunks:
            self.closed.wait()
            raise DeviceFault("mic1", "closed")
        n = round(seconds * SR)
        c = AudioChunk(tone(self._i * n, n), SR, self._i * n / SR)
        self._i += 1
        return c


def test_device_fault_interrupts_and_frames_resume(tmp_path: Path) -> None:
    rec = SegmentedRecorder(tmp_path, segment_seconds=1.0)
    cam = ScriptedCamera(frames_before=8, fault_reads=3, frames_after=8)
    mic = SteadyMic(chunks=20)
    loop = CaptureLoop(rec, retry_seconds=0.02)
    loop.add_camera(cam)
    loop.add_microphone(mic)
    loop.start()
    assert wait_for(lambda: cam.done and mic.done)
    assert loop.faults() == {"cam1": None, "mic1": None}
    assert loop.stop(timeout=5, close_devices=True)
    rec.close("done")

    acts = [(e.action, e.reason) for e in events(tmp_path, "cam1")]
    assert [a for a, _ in acts] == [
        EventAction.START,
        EventAction.INTERRUPT,
        EventAction.RESUME,
        EventAction.STOP,
    ]
    assert acts[1][1] == "cam1: no signal on HDMI input"
    assert "delivering again" in acts[2][1]
    # Frames 1-8 before the fault, 12-19 after it: the interruption closed the first segment.
    video = segments(tmp_path, "cam1")
    assert [(s.start, s.count) for s in video] == [(0.1, 8), (1.2, 8)]
    assert sum(s.count for s in segments(tmp_path, "mic1")) == 20 * SR // 10
    assert [e.action for e in events(tmp_path, "mic1")] == [EventAction.START, EventAction.STOP]
    assert verify_recording(tmp_path).ok


def test_slow_consumer_does_not_hold_up_capture(tmp_path: Path) -> None:
    got: list[str] = []

    def slow(source_id: str, item: VideoFrame | AudioChunk) -> None:
        time.sleep(0.05)
        got.append(source_id)

    rec = SegmentedRecorder(tmp_path, segment_seconds=1.0)
    mic = SteadyMic(chunks=40)
    loop = CaptureLoop(rec, consumers=[slow], consumer_buffer=4)
    loop.add_microphone(mic)
    started = time.monotonic()
    loop.start()
    assert wait_for(lambda: mic.done)
    assert time.monotonic() - started < 1.0, "40 chunks at 50 ms each would take 2 s if capture waited"
    assert loop.stop(timeout=5, close_devices=True)
    rec.close("done")
    assert sum(s.count for s in segments(tmp_path, "mic1")) == 40 * SR // 10, "the recording lost nothing"
    assert loop.consumer_drops[0] > 0 and 0 < len(got) < 40


def test_a_consumer_of_one_kind_of_media_is_not_crowded_out_by_the_other() -> None:
    """A voice detector behind a burst of camera frames still gets every chunk: the frames are never
    queued for it (4 places, 3 chunks and 40 frames waiting)."""
    release = threading.Event()
    got: list[VideoFrame | AudioChunk] = []

    def blocked(source_id: str, item: VideoFrame | AudioChunk) -> None:
        release.wait(5)
        got.append(item)

    fanout = FanOut(Only(AudioChunk, blocked), "audio", max_items=4)
    fanout.put("mic1", chunk(0))
    assert wait_for(lambda: fanout.pending() == 0)  # the first chunk is being consumed (blocked)
    for i in range(40):
        fanout.put("cam1", frame(i))
        if i % 13 == 0:
            fanout.put("mic1", chunk(1 + i // 13))
    release.set()
    fanout.close()
    assert [type(item) for item in got] == [AudioChunk] * 5 and fanout.dropped == 0
