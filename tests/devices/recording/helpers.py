"""Synthetic media and small readers shared by the recording tests."""

from __future__ import annotations

import json
import time
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from devices.media import AudioChunk, VideoFrame
from devices.recording.manifest import EventEntry, ManifestEntry, SegmentEntry, read_manifest

W, H, FPS = 320, 240, 10
SR = 16000


def picture(i: int) -> npt.NDArray[np.uint8]:
    """A bright gradient with a moving square: the top-left corner is bright, so the dark overlay box
    stands out."""
    y, x = np.mgrid[0:H, 0:W]
    image = np.empty((H, W, 3), np.uint8)
    image[..., 0] = 150 + (x * 100 // W)
    image[..., 1] = 160 + (y * 90 // H)
    image[..., 2] = 200
    cx = (i * 7) % (W - 40)
    image[100:140, cx : cx + 40] = (0, 0, 255)
    return image


def frame(i: int, fps: float = FPS) -> VideoFrame:
    return VideoFrame(picture(i), i / fps)


def tone(start_sample: int, n: int, sr: int = SR, freq: float = 440.0) -> npt.NDArray[np.float32]:
    k = np.arange(start_sample, start_sample + n)
    return (0.4 * np.sin(2 * np.pi * freq * k / sr)).astype(np.float32)


def chunk(i: int, seconds: float = 0.1, sr: int = SR) -> AudioChunk:
    n = round(seconds * sr)
    return AudioChunk(tone(i * n, n, sr), sr, i * n / sr)


def entries(root: Path) -> list[ManifestEntry]:
    contents = read_manifest(root / "manifest.jsonl")
    assert contents.clean, (contents.bad_lines, contents.torn)
    return contents.entries


def segments(root: Path, source: str | None = None) -> list[SegmentEntry]:
    return [
        e for e in entries(root) if isinstance(e, SegmentEntry) and (source is None or e.source == source)
    ]


def events(root: Path, source: str | None = None) -> list[EventEntry]:
    return [e for e in entries(root) if isinstance(e, EventEntry) and (source is None or e.source == source)]


def decode_video(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as c:
        return list(c.decode(video=0))


def manifest_lines(root: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (root / "manifest.jsonl").read_text("utf-8").splitlines()]


def wait_for(predicate: object, timeout: float = 10.0) -> bool:
    assert callable(predicate)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
