"""The public HLS stream: released only after the delay, a sliding window that deletes what leaves it,
a kill switch that leaves nothing behind, a cadence that survives a stalled source. Time is a manual
hearing clock the test moves, so nothing depends on how fast the machine encodes."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from devices.broadcast.hls import HlsPublisher
from devices.broadcast.hls_audio import AudioJitter
from devices.broadcast.hls_segments import SEGMENT_RE
from devices.broadcast.hls_window import PLAYLIST_NAME
from devices.media import AudioChunk, VideoFrame
from tests.devices.clocks import ManualClock

W, H = 320, 240
FPS = 25.0


class Gate:
    """Lets the manual clock run only up to ``limit``: the test's hold on the publisher's encoder thread.

    The encoder waits for its tick only in the camera's ``get``, and the camera lets that time pass
    here. Parked at the limit, the encoder has done all that was due by then and touches nothing, so
    the test looks at a still publisher at a known hearing-clock time, however slow the machine.
    """

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.limit = clock.now()
        self._cond = threading.Condition()
        self._parked = False

    def sleep(self, seconds: float, camera: CountingCamera) -> bool:
        """On the encoder thread: let ``seconds`` pass; False (and no time passes) once unplugged."""
        with self._cond:
            target = self.clock.now() + seconds
            while target > self.limit and not camera.unplugged:
                self.clock.t = max(self.clock.t, self.limit)
                self._parked = True
                self._cond.notify_all()
                self._cond.wait()
            self._parked = False
            if camera.unplugged:
                return False
            self.clock.t = max(self.clock.t, target)
            return True

    def run_until(self, t: float, timeout: float = 60.0) -> None:
        """Let the clock run to ``t``; return once the encoder waits there."""
        with self._cond:
            self.limit = t
            self._cond.notify_all()
            assert self._cond.wait_for(lambda: self._parked and self.clock.now() >= t, timeout), "stuck"

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class CountingCamera:
    """Synthetic frames on the manual clock with the frame counter drawn; ``stalled`` makes it deliver
    nothing, ``unplug`` makes ``get`` return nothing at once (as a closed source does) so the encoder
    can stop."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.t0 = gate.clock.now()
        self.n = 0
        self.stalled = False
        self.unplugged = False

    def get(self, timeout: float | None = None) -> VideoFrame | None:
        wait = timeout or 0.0
        ahead = self.t0 + self.n / FPS - self.gate.clock.now()
        if self.unplugged or self.stalled or ahead > wait:
            self.gate.sleep(wait, self)
            return None
        if not self.gate.sleep(max(0.0, ahead), self) or self.stalled:
            return None
        # Never hand out a backlog: a live source only has its newest picture.
        self.n = max(self.n, int((self.gate.clock.now() - self.t0) * FPS))
        image = np.full((H, W, 3), 30, np.uint8)
        cv2.putText(image, str(self.n), (20, 140), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (255, 255, 255), 5)
        frame = VideoFrame(image, self.n / FPS)
        self.n += 1
        return frame

    def unplug(self) -> None:
        self.unplugged = True
        self.gate.wake()

    def close(self) -> None:
        pass


class Tone:
    """20 ms chunks of a 16 kHz tone as the manual clock passes, handed out without waiting."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.t0 = clock.now()
        self.sent = 0

    def get(self, timeout: float | None = None) -> AudioChunk | None:
        if (self.clock.now() - self.t0) * 16_000 < self.sent + 320:
            return None
        t = (self.sent + np.arange(320)) / 16_000
        chunk = AudioChunk((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16_000, self.sent / 16_000)
        self.sent += 320
        return chunk

    def close(self) -> None:
        pass


def encoder_gone() -> bool:
    return not any(t.name == "hls-publisher" and t.is_alive() for t in threading.enumerate())


def listed(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def media_sequence(playlist: str) -> int:
    m = re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", playlist, re.M)
    assert m is not None
    return int(m.group(1))


def ts_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if SEGMENT_RE.fullmatch(p.name))


def decode(path: Path) -> tuple[list[av.VideoFrame], list[str]]:
    with av.open(str(path)) as container:
        kinds: list[str] = [s.type for s in container.streams]
        frames = list(container.decode(video=0))
    return frames, kinds


def test_delayed_window_stall_kill_and_fresh_restart(tmp_path: Path) -> None:
    clock = ManualClock()
    gate = Gate(clock)
    cameras: list[CountingCamera] = []

    def camera() -> CountingCamera:
        cameras.append(CountingCamera(gate))
        return cameras[-1]

    hls = HlsPublisher(
        camera,
        lambda: Tone(clock),
        tmp_path,
        segment_seconds=1.0,
        delay_seconds=2.0,
        window_segments=2,
        width=W,
        height=H,
        fps=FPS,
        video_bitrate=300_000,
        stale_seconds=0.5,
        clock=clock,
    )
    start = clock.now()
    hls.start()
    try:
        # Segments 0 and 1 are complete (at 1 s and 2 s) but must wait out the 2 s delay.
        gate.run_until(start + 2.5)
        assert len(ts_files(tmp_path)) >= 2
        assert hls.playlist() is None
        assert not (tmp_path / PLAYLIST_NAME).exists()
        first = ts_files(tmp_path)[0]
        assert hls.segment_path(first) is None  # on disk, not yet released

        # The source stalls for 1.5 s from here: the segments keep coming.
        cameras[0].stalled = True
        gate.run_until(start + 2.98)
        assert hls.playlist() is None  # one frame short of the delay
        gate.run_until(start + 3.02)
        text = hls.playlist()
        assert text is not None
        assert "#EXT-X-TARGETDURATION:1" in text
        assert media_sequence(text) == 0
        assert listed(text) == [first]
        gate.run_until(start + 3.5)
        text = hls.playlist()
        assert text is not None
        assert (tmp_path / PLAYLIST_NAME).read_text() == text  # the file mirror
        gate.run_until(start + 4.02)
        cameras[0].stalled = False

        # Segment 0 was whole; segments written while the source stalled still hold 25 pictures.
        path = hls.segment_path(first)
        assert path is not None and path.parent == tmp_path
        frames, kinds = decode(path)
        assert kinds == ["video", "audio"]
        assert len(frames) == 25
        assert frames[0].key_frame
        assert (frames[0].width, frames[0].height) == (W, H)
        assert not np.array_equal(frames[0].to_ndarray(format="bgr24"), frames[-1].to_ndarray(format="bgr24"))

        # The window slides: with two listed, segments 0 and 1 have left and their files are gone.
        gate.run_until(start + 6.5)
        text = hls.playlist()
        assert text is not None
        assert media_sequence(text) == 2
        names = listed(text)
        assert len(names) == 2
        assert first not in ts_files(tmp_path)
        assert hls.segment_path(first) is None
        for name in names:  # the stalled stretch (from 2.5 s to 4.0 s, the slate from 3.0 s)
            path = hls.segment_path(name)
            assert path is not None
            frames, _ = decode(path)
            assert len(frames) == 25 and frames[0].key_frame

        # Names that are not listed, or not ours, are refused.
        unreleased = [n for n in ts_files(tmp_path) if n not in names]
        assert unreleased
        for bad in [unreleased[-1], f"../{names[0]}", f"x/{names[0]}", PLAYLIST_NAME, "", names[0] + "/"]:
            assert hls.segment_path(bad) is None

        assert hls.error is None
        # The kill switch: nothing listed, nothing on disk, the moment kill returns.
        cameras[0].unplug()  # frees the encoder thread the gate holds, as a stall of the source would
        hls.kill("测试：书记员切断直播")
        assert hls.playlist() is None
        assert hls.segment_path(names[-1]) is None
        assert not any(p.name.endswith((".ts", ".m3u8", ".tmp")) for p in tmp_path.iterdir())
        assert not hls.running
        assert encoder_gone()  # so nothing can come back
        assert not any(tmp_path.iterdir())

        # A restart is a fresh stream: new names, media sequence from 0, delay again.
        old_token = SEGMENT_RE.fullmatch(first)
        assert old_token is not None
        hls.start()
        assert not hls.killed
        gate.run_until(clock.now() + 0.5)
        assert len(ts_files(tmp_path)) >= 1 and hls.running
        fresh = SEGMENT_RE.fullmatch(ts_files(tmp_path)[0])
        assert fresh is not None
        assert fresh.group(1) != old_token.group(1) and fresh.group(2) == "000000"
        assert hls.playlist() is None
    finally:
        for c in cameras:
            c.unplug()
        hls.kill("测试结束")
    assert not any(tmp_path.iterdir())


def test_stop_ends_the_playlist(tmp_path: Path) -> None:
    clock = ManualClock()
    gate = Gate(clock)
    cameras: list[CountingCamera] = []

    def camera() -> CountingCamera:
        cameras.append(CountingCamera(gate))
        return cameras[-1]

    hls = HlsPublisher(
        camera,
        None,
        tmp_path,
        segment_seconds=0.4,
        delay_seconds=0.0,
        width=W,
        height=H,
        fps=FPS,
        clock=clock,
    )
    start = clock.now()
    hls.start()
    try:
        gate.run_until(start + 0.9)  # segments 0 and 1 complete, segment 2 has three pictures
        assert len(ts_files(tmp_path)) >= 2
        cameras[0].unplug()
        hls.stop()
        assert not hls.running
        text = hls.playlist()
        assert text is not None and text.endswith("#EXT-X-ENDLIST\n")
        assert media_sequence(text) == 0
        names = listed(text)
        last = hls.segment_path(names[-1])
        assert last is not None
        frames, kinds = decode(last)
        assert kinds == ["video"]
        assert 1 <= len(frames) <= 10
    finally:
        for c in cameras:
            c.unplug()
        hls.kill("测试结束")
    assert not any(tmp_path.iterdir())


def test_audio_jitter_buffers_resamples_and_bounds() -> None:
    jitter = AudioJitter(rate=48_000, preroll=0.1, max_buffer=0.3)
    assert not jitter.take(1920).any()  # nothing yet: silence
    chunk = AudioChunk(np.full(800, 0.5, np.float32), 16_000, 0.0)  # 50 ms, under the preroll
    jitter.push(chunk)
    assert not jitter.take(1920).any()
    jitter.push(chunk)
    jitter.push(chunk)  # 150 ms buffered at 48 kHz
    out = jitter.take(1920)
    assert out.dtype == np.float32 and len(out) == 1920
    assert abs(float(out[-1]) - 0.5) < 0.05
    for _ in range(20):
        jitter.push(chunk)
    assert jitter.dropped > 0  # bounded: at most 0.3 s waits


def test_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        HlsPublisher(lambda: CountingCamera(Gate(ManualClock())), None, tmp_path, width=321, height=240)
    with pytest.raises(ValueError):
        HlsPublisher(lambda: CountingCamera(Gate(ManualClock())), None, tmp_path, window_segments=0)
