"""The public HLS stream: released only after the delay, a sliding window that deletes what leaves it,
a kill switch that leaves nothing behind, a cadence that survives a stalled source."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from devices.broadcast.hls import PLAYLIST_NAME, SEGMENT_RE, AudioJitter, HlsPublisher
from devices.media import AudioChunk, VideoFrame

W, H = 320, 240
FPS = 25.0


class CountingCamera:
    """Real-time synthetic frames with the frame counter drawn; ``stalled`` makes it deliver nothing."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.n = 0
        self.stalled = threading.Event()
        self.closed = False

    def get(self, timeout: float | None = None) -> VideoFrame | None:
        wait = timeout or 0.0
        due = self.t0 + self.n / FPS
        ahead = due - time.monotonic()
        if self.closed or self.stalled.is_set() or ahead > wait:
            time.sleep(wait)
            return None
        time.sleep(max(0.0, ahead))
        # Never hand out a backlog: a live source only has its newest picture.
        self.n = max(self.n, int((time.monotonic() - self.t0) * FPS))
        image = np.full((H, W, 3), 30, np.uint8)
        cv2.putText(image, str(self.n), (20, 140), cv2.FONT_HERSHEY_SIMPLEX, 3.0, (255, 255, 255), 5)
        frame = VideoFrame(image, self.n / FPS)
        self.n += 1
        return frame

    def close(self) -> None:
        self.closed = True


class Tone:
    """20 ms chunks of a 16 kHz tone, in real time, handed out without waiting."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.sent = 0

    def get(self, timeout: float | None = None) -> AudioChunk | None:
        if (time.monotonic() - self.t0) * 16_000 < self.sent + 320:
            return None
        t = (self.sent + np.arange(320)) / 16_000
        chunk = AudioChunk((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16_000, self.sent / 16_000)
        self.sent += 320
        return chunk

    def close(self) -> None:
        pass


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


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


@pytest.mark.slow
def test_delayed_window_stall_kill_and_fresh_restart(tmp_path: Path) -> None:
    cameras: list[CountingCamera] = []

    def camera() -> CountingCamera:
        cameras.append(CountingCamera())
        return cameras[-1]

    hls = HlsPublisher(
        camera,
        Tone,
        tmp_path,
        segment_seconds=1.0,
        delay_seconds=2.0,
        window_segments=2,
        width=W,
        height=H,
        fps=FPS,
        video_bitrate=300_000,
        stale_seconds=0.5,
    )
    started = time.monotonic()
    hls.start()
    try:
        # The first segment is complete after 1 s but must wait out the 2 s delay.
        wait_for(lambda: len(ts_files(tmp_path)) >= 2, 3.0)
        assert hls.playlist() is None
        assert not (tmp_path / PLAYLIST_NAME).exists()
        first = ts_files(tmp_path)[0]
        assert hls.segment_path(first) is None  # on disk, not yet released

        # The source stalls for 1.5 s from here: the segments keep coming.
        cameras[0].stalled.set()
        stalled_at = time.monotonic()
        wait_for(lambda: hls.playlist() is not None, 3.0)
        assert time.monotonic() - started >= 1.0 + 2.0 - 0.05
        text = hls.playlist()
        assert text is not None
        assert "#EXT-X-TARGETDURATION:1" in text
        assert media_sequence(text) == 0
        assert listed(text)[0] == first
        assert (tmp_path / PLAYLIST_NAME).read_text() == text  # the file mirror
        time.sleep(max(0.0, 1.5 - (time.monotonic() - stalled_at)))
        cameras[0].stalled.clear()

        # Segment 0 was whole; segments written while the source stalled still hold 25 pictures.
        path = hls.segment_path(first)
        assert path is not None and path.parent == tmp_path
        frames, kinds = decode(path)
        assert kinds == ["video", "audio"]
        assert len(frames) == 25
        assert frames[0].key_frame
        assert (frames[0].width, frames[0].height) == (W, H)
        assert not np.array_equal(frames[0].to_ndarray(format="bgr24"), frames[-1].to_ndarray(format="bgr24"))

        # The window slides: with two listed, segment 0 leaves and its file is gone.
        wait_for(lambda: media_sequence(hls.playlist() or "#EXT-X-MEDIA-SEQUENCE:0") >= 2, 4.0)
        text = hls.playlist()
        assert text is not None
        names = listed(text)
        assert len(names) == 2
        assert first not in ts_files(tmp_path)
        assert hls.segment_path(first) is None
        for name in names:  # the stalled stretch (from ~1.9 s to ~3.4 s)
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
        hls.kill("测试：书记员切断直播")
        assert hls.playlist() is None
        assert hls.segment_path(names[-1]) is None
        assert not any(p.name.endswith((".ts", ".m3u8", ".tmp")) for p in tmp_path.iterdir())
        assert not hls.running
        time.sleep(0.3)
        assert not any(tmp_path.iterdir())  # and nothing comes back

        # A restart is a fresh stream: new names, media sequence from 0, delay again.
        old_token = SEGMENT_RE.fullmatch(first)
        assert old_token is not None
        hls.start()
        assert not hls.killed
        wait_for(lambda: len(ts_files(tmp_path)) >= 1 and hls.running, 2.5)
        fresh = SEGMENT_RE.fullmatch(ts_files(tmp_path)[0])
        assert fresh is not None
        assert fresh.group(1) != old_token.group(1) and fresh.group(2) == "000000"
        assert hls.playlist() is None
    finally:
        hls.kill("测试结束")
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_stop_ends_the_playlist(tmp_path: Path) -> None:
    hls = HlsPublisher(
        CountingCamera, None, tmp_path, segment_seconds=0.4, delay_seconds=0.0, width=W, height=H, fps=FPS
    )
    hls.start()
    wait_for(lambda: len(ts_files(tmp_path)) >= 2, 3.0)
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
        HlsPublisher(CountingCamera, None, tmp_path, width=321, height=240)
    with pytest.raises(ValueError):
        HlsPublisher(CountingCamera, None, tmp_path, window_segments=0)
