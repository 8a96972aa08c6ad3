"""The program feed: the one picture every viewer, the room display and the recording see.

The selected camera fills the frame; the other cameras sit as thumbnails along the bottom right; the
case number and the synchronized time are at the top right and the speaking role's caption at the
bottom left. Composition runs on a timer from the latest frame of each camera, so a camera that
stops delivering never stalls the feed: it is drawn as a labelled slate instead.

:class:`ProgramFeed` is a :class:`~devices.interfaces.Camera`: the capture loop reads it like any
other camera and records it beside the sources in the same hash-chained recording. Each read yields
the **clean** picture (for the evidentiary recording); the **public** picture, with the clerk's masks
applied (a blurred or slated camera, or the whole feed), goes to :meth:`ProgramFeed.subscribe` and
:meth:`ProgramFeed.latest` for the room display and the viewers. A mask therefore never reaches the
recording, and a viewer never sees what is masked.

Chinese text (captions, case number, slates) is drawn with Pillow once per text and blended per
frame; only ASCII (the time) is drawn with OpenCV per frame.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageDraw

from devices.base import DeviceBase, FixedPicture
from devices.clock import Clock
from devices.fonts import load_font
from devices.interfaces import DeviceKind, DeviceStatus
from devices.media import AudioChunk, Image, VideoFrame
from devices.recording.overlay import hearing_clock_text

PROGRAM_SOURCE = "program"
"""The program feed's source id in the recording."""
WHOLE_FEED = "*"
"""Mask target meaning the whole program feed."""

Weights = npt.NDArray[np.float32]
BGR = tuple[int, int, int]


class MaskMode(StrEnum):
    BLUR = "blur"
    SLATE = "slate"


@dataclass(frozen=True, slots=True)
class Patch:
    """A pre-rendered overlay: BGR pixels and their opacity (0-1), with its complement ready for
    :func:`cv2.blendLinear`."""

    image: Image
    alpha: Weights
    beta: Weights

    @classmethod
    def of(cls, image: npt.ArrayLike, alpha: npt.ArrayLike) -> Patch:
        weights: Weights = np.ascontiguousarray(alpha, dtype=np.float32)
        return cls(np.ascontiguousarray(image, dtype=np.uint8), weights, np.float32(1.0) - weights)

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


def render_patch(
    lines: list[tuple[str, int, BGR]],
    *,
    background: BGR | None = (20, 20, 20),
    background_alpha: int = 190,
    pad: int = 8,
    accent: BGR | None = None,
    font_path: str | os.PathLike[str] | None = None,
) -> Patch:
    """Text lines ``(text, pixel size, BGR colour)`` on an optional translucent box, rendered once."""
    fonts = [load_font(size, font_path) for _, size, _ in lines]
    boxes = [font.getbbox(text or " ") for (text, _, _), font in zip(lines, fonts, strict=True)]
    widths = [math.ceil(b[2]) for b in boxes]
    heights = [math.ceil(size * 1.25) for _, size, _ in lines]
    bar = max(4, pad // 2) if accent is not None else 0
    width = max(widths) + 2 * pad + bar
    height = sum(heights) + 2 * pad
    rgba = PILImage.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(rgba)
    if background is not None:
        b, g, r = background
        draw.rectangle((0, 0, width, height), fill=(r, g, b, background_alpha))
    if accent is not None:
        b, g, r = accent
        draw.rectangle((0, 0, bar - 1, height), fill=(r, g, b, 255))
    y = pad
    for (text, _, (b, g, r)), font, h in zip(lines, fonts, heights, strict=True):
        draw.text((pad + bar, y), text, font=font, fill=(r, g, b, 255))
        y += h
    pixels = np.asarray(rgba)
    return Patch.of(pixels[:, :, 2::-1], pixels[:, :, 3] / np.float32(255.0))


def blend(frame: Image, patch: Patch, x: int, y: int) -> None:
    """Alpha-blend ``patch`` into ``frame`` at (x, y), in place, clipped to the frame."""
    h, w = frame.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + patch.width), min(h, y + patch.height)
    if x1 <= x0 or y1 <= y0:
        return
    px, py = slice(x0 - x, x1 - x), slice(y0 - y, y1 - y)
    src = np.ascontiguousarray(patch.image[py, px])
    a, b = np.ascontiguousarray(patch.alpha[py, px]), np.ascontiguousarray(patch.beta[py, px])
    frame[y0:y1, x0:x1] = cv2.blendLinear(src, np.ascontiguousarray(frame[y0:y1, x0:x1]), a, b)


def render_slate(
    width: int,
    height: int,
    title: str,
    subtitle: str = "",
    *,
    color: BGR = (60, 60, 60),
    font_path: str | os.PathLike[str] | None = None,
) -> Image:
    """A plain picture with a centred title (and subtitle), e.g. 摄像机无信号 / the camera's name."""
    slate = np.empty((height, width, 3), np.uint8)
    slate[:] = color
    # Diagonal hatching so a slate is never mistaken for a dark room.
    step = max(8, width // 24)
    for k in range(-height, width, step):
        cv2.line(slate, (k, height), (k + height, 0), tuple(min(255, c + 18) for c in color), 1)
    size = max(10, height // 9)
    lines = [(title, size, (255, 255, 255))]
    if subtitle:
        lines.append((subtitle, max(8, size // 2), (220, 220, 220)))
    patch = render_patch(
        lines, background=(0, 0, 0), background_alpha=120, pad=size // 3, font_path=font_path
    )
    blend(slate, patch, (width - patch.width) // 2, (height - patch.height) // 2)
    return slate


def blur(image: Image, width: int, height: int, factor: int) -> Image:
    """``image`` scaled to ``width``×``height`` and made unrecognisable: down by ``factor`` then up."""
    small = cv2.resize(
        image,
        (max(1, width // factor), max(1, height // factor)),
        interpolation=cv2.INTER_AREA,
    )
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class Box:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class CameraState:
    camera: str
    label: str
    fault: str | None
    """Why the camera is drawn as a slate (None while it delivers)."""
    last_t: float | None
    """Hearing-clock time of its latest frame."""
    mask: MaskMode | None


class Subscription:
    """A viewer's queue of public program frames; the oldest are dropped when the viewer is slow."""

    def __init__(self, feed: ProgramFeed, max_frames: int) -> None:
        self._feed = feed
        self._frames: deque[VideoFrame] = deque(maxlen=max(1, max_frames))
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, frame: VideoFrame) -> None:
        with self._cond:
            if self._frames.maxlen is not None and len(self._frames) == self._frames.maxlen:
                self.dropped += 1
            self._frames.append(frame)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> VideoFrame | None:
        """The next frame, waiting up to ``timeout`` seconds; None on timeout or once closed."""
        with self._cond:
            if not self._frames and not self._closed:
                self._cond.wait(timeout)
            return self._frames.popleft() if self._frames else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._feed._unsubscribe(self)


class ProgramFeed(DeviceBase, FixedPicture):
    """The program compositor, read as a camera (see the module doc)."""

    closed_words = "合成画面已关闭 (program feed closed)"

    def __init__(
        self,
        clock: Clock,
        cameras: Mapping[str, str],
        *,
        device_id: str = PROGRAM_SOURCE,
        width: int = 1280,
        height: int = 720,
        fps: float = 25.0,
        case_number: str = "",
        time_text: Callable[[float], str] = hearing_clock_text,
        stale_seconds: float = 2.0,
        thumbnail_width: float = 0.2,
        margin: float = 0.0125,
        blur_factor: int = 24,
        font_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """
        :param cameras: camera (or remote video) source id → its label (e.g. 申请人席), in thumbnail order.
        :param time_text: the synchronized time drawn for hearing-clock ``t`` (ASCII).
        :param stale_seconds: a camera whose latest frame is older than this is shown as a slate.
        :param thumbnail_width: a thumbnail's width as a share of the frame width.
        :param blur_factor: how coarse the blur mask is (the picture is shrunk by this much).
        """
        if width <= 0 or height <= 0 or width % 2 or height % 2 or fps <= 0:
            raise ValueError(f"{device_id}: bad program format {width}x{height} @ {fps} fps (even sizes)")
        if not cameras:
            raise ValueError(f"{device_id}: a program feed needs at least one camera")
        super().__init__(device_id, DeviceKind.CAMERA)
        self._clock = clock
        self._width = width
        self._height = height
        self._fps = float(fps)
        self.time_text = time_text
        self.stale_seconds = stale_seconds
        self.blur_factor = blur_factor
        self.font_path = font_path
        self._scale = height / 720.0
        self._margin = max(2, round(width * margin))
        self._thumb_share = thumbnail_width
        self._lock = threading.Lock()
        self._labels: dict[str, str] = {}
        self._frames: dict[str, VideoFrame] = {}
        self._faults: dict[str, str] = {}
        self._masks: dict[str, MaskMode] = {}
        self._slates: dict[tuple[str, int, int, str], Image] = {}
        self._scaled: dict[tuple[str, int, int, MaskMode | None], tuple[VideoFrame, Image]] = {}
        self._captions: dict[str, Patch] = {}
        self._labels_small: dict[str, Patch] = {}
        self._caption: Patch | None = None
        self._caption_text = ""
        self._selected = next(iter(cameras))
        self._subscribers: list[Subscription] = []
        self._latest_public: VideoFrame | None = None
        self._next_k: int | None = None
        self.frames_composed = 0
        self.frames_dropped = 0
        """Frames skipped because composition fell behind the frame rate (the feed never waits)."""
        # Legible on a small program too (the simulated room's 640×360).
        self._time_scale = max(0.4, 0.55 * self._scale)
        self._time_thickness = max(1, round(1.5 * self._scale))
        self._info = Patch.of(np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1), np.float32))
        self._info_text_y = 0
        for camera, label in cameras.items():
            self._add_label(camera, label)
        self._render_slates()
        self.set_case_number(case_number)
        self._notice = render_patch(
            [("画面已遮蔽", max(12, round(40 * self._scale)), (255, 255, 255))],
            pad=max(4, round(14 * self._scale)),
            font_path=font_path,
        )

    # -- Device / Camera -----------------------------------------------------------------------------

    def _probe(self) -> DeviceStatus:
        return self.status(
            True,
            f"合成画面 (program feed) {self._width}×{self._height} @ {self._fps:g} fps, "
            f"{len(self._labels)} 路画面",
        )

    def close(self) -> None:
        super().close()
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.close()

    def read(self) -> VideoFrame:
        """Block until the next frame is due on the hearing clock, compose it and return the clean
        picture; the public picture goes to the subscribers. Frame times lie on a 1/fps grid; when
        composition falls behind, due frames are skipped (counted), never queued."""
        self._ensure_open()
        t = self._wait_for_due_frame()
        clean, public = self.compose(t)
        self._publish(VideoFrame(public, t))
        return VideoFrame(clean, t)

    # -- inputs ----------------------------------------------------------------------------------------

    def add_camera(self, camera: str, label: str) -> None:
        """Show one more source (a remote party's video joining); its slates are rendered now."""
        self._add_label(camera, label)
        self._render_slates()

    def _add_label(self, camera: str, label: str) -> None:
        patch = render_patch(
            [(label or camera, max(9, round(16 * self._scale)), (255, 255, 255))],
            pad=max(2, round(4 * self._scale)),
            font_path=self.font_path,
        )
        with self._lock:
            self._labels_small[camera] = patch
            self._labels[camera] = label

    def _render_slates(self) -> None:
        # Every slate is rendered before it is needed (Pillow is slow): the thumbnails shrink as
        # cameras are added, so each addition renders the new size.
        sizes = [(self._width, self._height), self._thumb_size(self._thumb_count())]
        for camera in list(self._labels):
            for w, h in sizes:
                self._slate(camera, w, h, "fault")
                self._slate(camera, w, h, "masked")
        self._slate(WHOLE_FEED, self._width, self._height, "masked")

    def observe(self, source_id: str, item: VideoFrame | AudioChunk) -> None:
        """Capture fan-out consumer: keep the latest frame of each known camera."""
        if isinstance(item, VideoFrame) and source_id in self._labels:
            with self._lock:
                self._frames[source_id] = item

    def select(self, camera: str) -> None:
        """Make ``camera`` the main picture."""
        with self._lock:
            if camera not in self._labels:
                raise KeyError(f"unknown camera {camera!r} (known: {', '.join(sorted(self._labels))})")
            self._selected = camera

    @property
    def selected(self) -> str:
        return self._selected

    def set_caption(self, text: str) -> None:
        """The speaking role's caption (empty for none); each distinct text is rendered once."""
        text = text.strip()
        patch = None
        if text:
            patch = self._captions.get(text)
            if patch is None:
                patch = render_patch(
                    [(text, max(12, round(30 * self._scale)), (255, 255, 255))],
                    background=(90, 40, 10),
                    background_alpha=215,
                    pad=max(4, round(10 * self._scale)),
                    accent=(40, 40, 200),
                    font_path=self.font_path,
                )
                self._captions[text] = patch
        with self._lock:
            self._caption, self._caption_text = patch, text

    @property
    def caption(self) -> str:
        return self._caption_text

    def set_case_number(self, case_number: str) -> None:
        text = f"案号 {case_number}" if case_number else " "
        size = max(10, round(20 * self._scale))
        time_size, _ = cv2.getTextSize(
            self.time_text(0.0), cv2.FONT_HERSHEY_SIMPLEX, self._time_scale, self._time_thickness
        )
        patch = render_patch(
            [(text, size, (255, 255, 255))], pad=max(3, round(8 * self._scale)), font_path=self.font_path
        )
        # The box is as wide as the wider of the two lines, and tall enough for the time below.
        box_w = max(patch.width, time_size[0] + 2 * max(3, round(8 * self._scale)))
        box_h = patch.height + round(28 * self._scale)
        image = np.full((box_h, box_w, 3), 20, np.uint8)
        alpha = np.full((box_h, box_w), 170 / 255, np.float32)
        image[: patch.height, : patch.width] = patch.image
        alpha[: patch.height, : patch.width] = np.maximum(patch.alpha, 170 / 255)
        with self._lock:
            self._info = Patch.of(image, alpha)
            self._info_text_y = patch.height + round(18 * self._scale)

    def set_fault(self, camera: str, fault: str | None) -> None:
        """Mark a camera faulty (e.g. the capture loop's fault) or clear it; staleness is detected anyway."""
        with self._lock:
            if fault:
                self._faults[camera] = fault
            else:
                self._faults.pop(camera, None)

    def set_mask(self, target: str, mode: MaskMode | str | None) -> None:
        """Mask a camera (or :data:`WHOLE_FEED`) in the public picture, or lift the mask with None.
        The recording always gets the unmasked picture."""
        with self._lock:
            if target != WHOLE_FEED and target not in self._labels:
                raise KeyError(f"unknown camera {target!r} (known: {', '.join(sorted(self._labels))}, *)")
            if mode is None:
                self._masks.pop(target, None)
            else:
                self._masks[target] = MaskMode(mode)

    def masks(self) -> dict[str, MaskMode]:
        with self._lock:
            return dict(self._masks)

    def camera_states(self, t: float | None = None) -> dict[str, CameraState]:
        """Each camera's state at hearing-clock ``t`` (now when omitted)."""
        at = self._clock.now() if t is None else t
        with self._lock:
            return {
                camera: CameraState(
                    camera,
                    label,
                    self._fault_of(camera, at),
                    self._frames[camera].t if camera in self._frames else None,
                    self._masks.get(camera),
                )
                for camera, label in self._labels.items()
            }

    # -- outputs ---------------------------------------------------------------------------------------

    def subscribe(self, max_frames: int = 2) -> Subscription:
        """A queue of public frames for a viewer or the room display."""
        subscription = Subscription(self, max_frames)
        with self._lock:
            self._subscribers.append(subscription)
        return subscription

    def latest(self) -> VideoFrame | None:
        """The latest public frame."""
        return self._latest_public

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    def _publish(self, frame: VideoFrame) -> None:
        self._latest_public = frame
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.put(frame)
        self.frames_composed += 1

    # -- composition -----------------------------------------------------------------------------------

    def compose(self, t: float) -> tuple[Image, Image]:
        """The clean and the public picture at hearing-clock ``t`` (the same array when nothing is
        masked)."""
        with self._lock:
            selected = self._selected
            order = list(self._labels)
            frames = dict(self._frames)
            faults = {camera: self._fault_of(camera, t) for camera in order}
            masks = dict(self._masks)
            caption = self._caption
            info, info_text_y = self._info, self._info_text_y
        others = [c for c in order if c != selected]
        boxes = self._thumb_boxes(len(others))
        stamp = self.time_text(t)

        def base(masked: bool) -> Image:
            main = self._picture(selected, frames, faults, masks if masked else {}, self._width, self._height)
            for camera, box in zip(others, boxes, strict=False):
                thumb = self._picture(camera, frames, faults, masks if masked else {}, box.width, box.height)
                frame_region = main[box.y : box.y + box.height, box.x : box.x + box.width]
                frame_region[:] = thumb
                cv2.rectangle(
                    main, (box.x - 1, box.y - 1), (box.x + box.width, box.y + box.height), (235, 235, 235), 1
                )
                blend(main, self._labels_small[camera], box.x, box.y)
            return main

        clean = base(masked=False)
        self._overlay(clean, caption, info, info_text_y, stamp)
        if not masks:
            return clean, clean
        whole = masks.get(WHOLE_FEED)
        if whole is MaskMode.SLATE:
            public = self._slate(WHOLE_FEED, self._width, self._height, "masked").copy()
        else:
            public = base(masked=True)
            if whole is MaskMode.BLUR:
                public = blur(public, self._width, self._height, self.blur_factor)
                notice = self._notice
                blend(public, notice, (self._width - notice.width) // 2, (self._height - notice.height) // 2)
        self._overlay(public, caption if whole is None else None, info, info_text_y, stamp)
        return clean, public

    def _overlay(
        self, frame: Image, caption: Patch | None, info: Patch, info_text_y: int, stamp: str
    ) -> None:
        m = self._margin
        x = self._width - m - info.width
        blend(frame, info, x, m)
        pad = max(3, round(8 * self._scale))
        cv2.putText(
            frame,
            stamp,
            (x + pad, m + info_text_y),
            cv2.FONT_HERSHEY_SIMPLEX,
            self._time_scale,
            (255, 255, 255),
            self._time_thickness,
            cv2.LINE_AA,
        )
        if caption is not None:
            thumb_w, thumb_h = self._thumb_size(self._thumb_count())
            row_left = self._width - self._thumb_count() * (thumb_w + m)
            # Level with the thumbnails' tops: clear of a camera's own time stamp at its bottom edge.
            y = self._height - m - thumb_h
            if m + caption.width > row_left - m:  # too long for beside the thumbnails: above them
                y = self._height - 2 * m - thumb_h - caption.height
            blend(frame, caption, m, y)

    def _picture(
        self,
        camera: str,
        frames: Mapping[str, VideoFrame],
        faults: Mapping[str, str | None],
        masks: Mapping[str, MaskMode],
        width: int,
        height: int,
    ) -> Image:
        """One camera's picture at ``width``×``height``: its latest frame, a slate, or masked."""
        mask = masks.get(camera)
        if mask is MaskMode.SLATE:
            return self._slate(camera, width, height, "masked").copy()
        frame = frames.get(camera)
        if faults.get(camera) is not None or frame is None:
            return self._slate(camera, width, height, "fault").copy()
        key = (camera, width, height, mask)
        cached = self._scaled.get(key)
        if cached is None or cached[0] is not frame:
            # A camera slower than the program repeats its frame: scale it once, not every time.
            scaled = (
                blur(frame.image, width, height, self.blur_factor)
                if mask
                else _fit(frame.image, width, height)
            )
            self._scaled[key] = cached = (frame, scaled)
        return cached[1].copy()

    def _fault_of(self, camera: str, t: float) -> str | None:
        if camera in self._faults:
            return self._faults[camera]
        frame = self._frames.get(camera)
        if frame is None:
            return "尚无画面 (no frame yet)"
        if t - frame.t > self.stale_seconds:
            return f"{t - frame.t:.1f} 秒无画面 (no frame for {t - frame.t:.1f} s)"
        return None

    def _slate(self, camera: str, width: int, height: int, kind: str) -> Image:
        key = (camera, width, height, kind)
        slate = self._slates.get(key)
        if slate is None:
            label = self._labels.get(camera, "")
            if kind == "masked":
                title = "画面已遮蔽" if camera != WHOLE_FEED else "庭审画面暂不公开"
                slate = render_slate(
                    width, height, title, label, color=(70, 45, 25), font_path=self.font_path
                )
            else:
                slate = render_slate(
                    width, height, "摄像机无信号", f"{label} {camera}".strip(), font_path=self.font_path
                )
            self._slates[key] = slate
        return slate

    def _thumb_count(self) -> int:
        return max(1, len(self._labels) - 1)

    def _thumb_size(self, count: int) -> tuple[int, int]:
        m = self._margin
        # The row of thumbnails takes at most about two thirds of the width.
        width = min(round(self._width * self._thumb_share), (round(self._width * 0.66) - m * count) // count)
        width -= width % 2
        height = round(width * self._height / self._width)
        return width, height - height % 2

    def _thumb_boxes(self, count: int) -> list[Box]:
        if count == 0:
            return []
        w, h = self._thumb_size(count)
        m = self._margin
        y = self._height - m - h
        return [Box(self._width - (i + 1) * (w + m), y, w, h) for i in reversed(range(count))]


def _fit(image: Image, width: int, height: int) -> Image:
    """``image`` scaled to fill ``width``×``height``, letterboxed when its shape differs."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image.copy()
    f = min(width / w, height / h)
    nw, nh = max(1, round(w * f)), max(1, round(h * f))
    # Halving with a Gaussian first, then bilinear: close to INTER_AREA's quality for thumbnails at
    # a tenth of its cost at non-integer ratios.
    while image.shape[1] >= 2 * nw and image.shape[0] >= 2 * nh:
        image = np.asarray(cv2.pyrDown(image), dtype=np.uint8)
    resized = np.asarray(cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
    if (nw, nh) == (width, height):
        return resized
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - nw) // 2, (height - nh) // 2
    out[y : y + nh, x : x + nw] = resized
    return out
