"""The program feed: layout, slates for dead cameras, masks that never reach the recording, cadence."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from devices.broadcast.program import PROGRAM_SOURCE, WHOLE_FEED, MaskMode, ProgramFeed
from devices.clock import ScaledClock
from devices.interfaces import DeviceFault
from devices.media import Image, VideoFrame
from devices.recording import CaptureLoop, SegmentedRecorder
from tests.devices.clocks import ManualClock

W, H = 640, 360
COLORS = {
    "cam-bench": (40, 40, 200),
    "cam-applicant": (40, 200, 40),
    "cam-respondent": (200, 40, 40),
    "cam-wide": (200, 200, 200),
}
LABELS = {
    "cam-bench": "仲裁员席",
    "cam-applicant": "申请人席",
    "cam-respondent": "被申请人席",
    "cam-wide": "全景",
}


def solid(color: tuple[int, int, int], w: int = W, h: int = H) -> Image:
    image = np.empty((h, w, 3), np.uint8)
    image[:] = color
    return image


def checkerboard(w: int = W, h: int = H, cell: int = 8) -> Image:
    yy, xx = np.mgrid[0:h, 0:w]
    board = (((yy // cell) + (xx // cell)) % 2 * 255).astype(np.uint8)
    return np.repeat(board[:, :, None], 3, axis=2)


def feed_with_frames(t: float = 10.0, **kwargs: Any) -> tuple[ProgramFeed, ManualClock]:
    clock = ManualClock(t)
    feed = ProgramFeed(
        clock, LABELS, width=W, height=H, fps=10, case_number="测劳人仲案字〔2026〕第7号", **kwargs
    )
    for camera, color in COLORS.items():
        feed.observe(camera, VideoFrame(solid(color), t - 0.05))
    return feed, clock


def board_share(image: Image) -> float:
    """How much of ``image`` is still the black-and-white checkerboard."""
    return float(np.mean(np.all((image == 0) | (image == 255), axis=2)))


def near(pixel: np.ndarray, color: tuple[int, int, int], tol: int = 12) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(color)) <= tol))


def thumb_centres(feed: ProgramFeed) -> dict[str, tuple[int, int]]:
    others = [c for c in LABELS if c != feed.selected]
    boxes = feed._thumb_boxes(len(others))
    return {c: (b.x + b.width // 2, b.y + b.height // 2) for c, b in zip(others, boxes, strict=True)}


def test_layout_main_picture_thumbnails_and_overlays() -> None:
    feed, _ = feed_with_frames()
    feed.select("cam-applicant")
    clean, public = feed.compose(10.0)
    assert clean.shape == (H, W, 3) and clean.dtype == np.uint8
    assert public is clean, "nothing masked: one picture for everyone"
    assert near(clean[H // 3, W // 3], COLORS["cam-applicant"])
    centres = thumb_centres(feed)
    assert set(centres) == {"cam-bench", "cam-respondent", "cam-wide"}
    for camera, (x, y) in centres.items():
        assert near(clean[y + 5, x], COLORS[camera]), camera
        assert x > W // 3 and y > H * 2 // 3, "thumbnails sit along the bottom right"
    # The case number and time sit at the top right; the caption at the bottom left once set.
    assert not near(clean[12, W - 30], COLORS["cam-applicant"], tol=30)
    feed.set_caption("申请人 张伟")
    captioned, _ = feed.compose(10.0)
    ys, xs = np.nonzero(np.any(captioned != clean, axis=2))
    assert len(ys) > 500 and xs.max() < W // 2 and ys.min() > H // 2, "the caption is at the bottom left"
    assert feed.caption == "申请人 张伟"
    feed.select("cam-wide")
    wide, _ = feed.compose(10.0)
    assert near(wide[H // 3, W // 3], COLORS["cam-wide"])
    with pytest.raises(KeyError, match="unknown camera 'cam-x'"):
        feed.select("cam-x")
    assert feed.selected == "cam-wide"


def test_the_time_overlay_changes_with_the_time() -> None:
    feed, _ = feed_with_frames(time_text=lambda t: f"T+{t:09.3f}")
    a, _ = feed.compose(10.0)
    b, _ = feed.compose(10.5)
    differs = np.any(a != b, axis=2)
    ys, xs = np.nonzero(differs)
    assert len(ys) > 20 and ys.max() < H // 4 and xs.min() > W // 2, "only the time at the top right changed"


def test_a_camera_without_frames_is_a_labelled_slate_and_recovers() -> None:
    feed, clock = feed_with_frames(stale_seconds=2.0)
    feed.select("cam-bench")
    clock.t = 13.0  # the last frames are 3 s old now
    feed.observe("cam-bench", VideoFrame(solid(COLORS["cam-bench"]), 12.9))
    states = feed.camera_states()
    assert states["cam-bench"].fault is None
    assert (
        states["cam-respondent"].fault is not None and "no frame for 3.1 s" in states["cam-respondent"].fault
    )
    clean, _ = feed.compose(13.0)
    x, y = thumb_centres(feed)["cam-respondent"]
    assert not near(clean[y, x], COLORS["cam-respondent"], tol=40), "a slate, not the stale picture"
    feed.observe("cam-respondent", VideoFrame(solid(COLORS["cam-respondent"]), 12.95))
    clean, _ = feed.compose(13.0)
    assert near(clean[y + 5, x], COLORS["cam-respondent"])
    feed.observe("cam-wide", VideoFrame(solid(COLORS["cam-wide"]), 12.95))
    feed.set_fault("cam-wide", "摄像机无画面: USB unplugged")
    assert feed.camera_states(13.0)["cam-wide"].fault == "摄像机无画面: USB unplugged"
    feed.set_fault("cam-wide", None)
    assert feed.camera_states(13.0)["cam-wide"].fault is None


def test_the_feed_never_stalls_with_every_camera_dead() -> None:
    clock = ScaledClock(speed=20.0)
    feed = ProgramFeed(clock, LABELS, width=W, height=H, fps=10)
    times = []
    start = time.monotonic()
    for _ in range(10):
        frame = feed.read()
        assert frame.image.shape == (H, W, 3)
        times.append(frame.t)
    assert time.monotonic() - start < 5.0
    assert all(s.fault == "尚无画面 (no frame yet)" for s in feed.camera_states().values())
    assert np.all(np.diff(times) > 0)


def test_frames_come_on_the_frame_rate_grid() -> None:
    clock = ScaledClock(speed=10.0)
    feed = ProgramFeed(clock, LABELS, width=W, height=H, fps=25)
    frames = [feed.read() for _ in range(40)]
    ticks = [f.t * 25 for f in frames]
    assert all(abs(k - round(k)) < 1e-6 for k in ticks), "every frame time is a multiple of 1/fps"
    steps = np.diff([round(k) for k in ticks])
    assert np.all(steps >= 1)
    assert int(steps.sum()) == len(frames) - 1 + feed.frames_dropped, "a skipped frame is counted"
    assert feed.frames_composed == len(frames)


def test_masks_go_to_viewers_and_never_to_the_clean_picture() -> None:
    feed, _ = feed_with_frames()
    feed.observe("cam-wide", VideoFrame(checkerboard(), 9.95))
    feed.select("cam-wide")
    viewer = feed.subscribe()
    feed.set_mask("cam-wide", MaskMode.BLUR)
    feed.set_mask("cam-respondent", "slate")
    assert feed.masks() == {"cam-wide": MaskMode.BLUR, "cam-respondent": MaskMode.SLATE}
    clean, public = feed.compose(10.0)
    region = (slice(H // 4, H // 2), slice(W // 4, W // 2))
    assert clean[region].std() > 100, "the clean picture keeps every detail"
    assert public[region].std() < 20, "the public picture of the masked camera is blurred"
    x, y = thumb_centres(feed)["cam-respondent"]
    assert near(clean[y + 5, x], COLORS["cam-respondent"])
    assert not near(public[y + 5, x], COLORS["cam-respondent"], tol=40)
    # Reading the feed: the recording gets the clean picture, the viewer the masked one.
    clock = ManualClock(10.0)
    feed._clock = clock
    recorded = feed.read()
    shown = viewer.get(timeout=1.0)
    assert shown is not None and shown.t == recorded.t
    assert recorded.image[region].std() > 100 and shown.image[region].std() < 20
    assert feed.latest() is not None and feed.latest() is shown
    # The whole feed: a slate for viewers, the recording unchanged.
    feed.set_mask(WHOLE_FEED, MaskMode.SLATE)
    clean, public = feed.compose(10.0)
    assert board_share(clean[region]) > 0.95 and board_share(public[region]) < 0.2
    feed.set_mask(WHOLE_FEED, MaskMode.BLUR)
    _, public = feed.compose(10.0)
    assert board_share(public[region]) < 0.2
    for target in ("cam-wide", "cam-respondent", WHOLE_FEED):
        feed.set_mask(target, None)
    clean, public = feed.compose(10.0)
    assert public is clean
    with pytest.raises(KeyError, match="unknown camera"):
        feed.set_mask("cam-x", MaskMode.BLUR)
    viewer.close()


def test_a_slow_viewer_loses_old_frames_not_new_ones() -> None:
    feed, _ = feed_with_frames()
    viewer = feed.subscribe(max_frames=2)
    for _ in range(5):
        feed.read()
    got = [viewer.get(timeout=0.1) for _ in range(2)]
    assert [f.t for f in got if f is not None] == [feed.latest().t - 0.1, feed.latest().t]  # type: ignore[union-attr]
    assert viewer.dropped == 3
    waiting: list[VideoFrame | None] = []
    reader = threading.Thread(target=lambda: waiting.append(viewer.get(timeout=2.0)))
    reader.start()
    feed.read()
    reader.join()
    assert waiting and waiting[0] is not None
    viewer.close()
    assert viewer.get(timeout=0.01) is None


def test_closing_stops_the_feed_and_check_says_so() -> None:
    feed, _ = feed_with_frames()
    assert feed.check().ready and "640×360" in feed.check().detail
    feed.close()
    assert not feed.check().ready
    with pytest.raises(DeviceFault):
        feed.read()


def test_bad_formats_are_refused() -> None:
    with pytest.raises(ValueError, match="even sizes"):
        ProgramFeed(ManualClock(), LABELS, width=641, height=360)
    with pytest.raises(ValueError, match="at least one camera"):
        ProgramFeed(ManualClock(), {})


def _decode_first(path: Path) -> Image:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            return np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
    raise AssertionError(f"no frame in {path}")


def test_the_recorded_program_is_unmasked_in_the_hash_chained_recording(tmp_path: Path) -> None:
    """The feed recorded as source ``program`` through the capture loop, with a mask on the whole
    feed for the viewers: the recorded picture is the clean one."""
    clock = ScaledClock(speed=4.0)
    feed = ProgramFeed(clock, LABELS, width=320, height=180, fps=10)
    for camera, color in COLORS.items():
        feed.observe(camera, VideoFrame(solid(color, 320, 180), clock.now() + 60.0))
    feed.select("cam-applicant")
    feed.set_mask(WHOLE_FEED, MaskMode.SLATE)
    viewer = feed.subscribe()
    recorder = SegmentedRecorder(tmp_path / "rec", segment_seconds=1.0, clock=clock.now)
    capture = CaptureLoop(recorder, clock=clock.now)
    capture.add_camera(feed, PROGRAM_SOURCE)
    capture.start()
    clock.sleep_until(clock.now() + 2.5)
    capture.stop()
    recorder.close("test over")
    segments = sorted((tmp_path / "rec" / PROGRAM_SOURCE).glob("*.mp4"))
    assert segments, "the program is a recorded source"
    picture = _decode_first(segments[-1])
    assert picture.shape == (180, 320, 3)
    assert near(picture[90, 80], COLORS["cam-applicant"], tol=25), "recorded unmasked"
    shown = viewer.get(timeout=1.0)
    assert shown is not None and not near(shown.image[90, 80], COLORS["cam-applicant"], tol=40)
