"""The synchronized recording time burnt into every recorded picture (庭审录音录像规定: the recording
must show the time it was made), drawn before encoding so no player can hide it."""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from devices.media import Image

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def hearing_clock_text(t: float) -> str:
    """Hearing-clock seconds as ``HH:MM:SS.mmm``; the default overlay when no wall clock is given."""
    ms_total = max(0, round(t * 1000))
    seconds, ms = divmod(ms_total, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{sec:02d}.{ms:03d}"


@dataclass(frozen=True, slots=True)
class Box:
    x: int
    y: int
    width: int
    height: int


def overlay_box(width: int, height: int, text: str) -> Box:
    """Where :func:`draw_timestamp` draws ``text`` on a picture of this size (top left corner)."""
    scale, thickness, pad = _style(height)
    (tw, th), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    return Box(0, 0, min(width, tw + 2 * pad), min(height, th + baseline + 2 * pad))


def _style(height: int) -> tuple[float, int, int]:
    # Sized to the picture so the text stays legible after downscaling to a thumbnail or a stream.
    scale = max(0.35, height / 720.0 * 0.9)
    thickness = max(1, round(scale * 2))
    pad = max(3, round(scale * 8))
    return scale, thickness, pad


def draw_timestamp(image: Image, text: str) -> Image:
    """Draw ``text`` in white on a black box at the top left of ``image``, in place; returns ``image``."""
    height, width = image.shape[:2]
    scale, thickness, pad = _style(height)
    (_, th), _baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    box = overlay_box(width, height, text)
    image[box.y : box.y + box.height, box.x : box.x + box.width] = 0
    cv2.putText(
        image, text, (box.x + pad, box.y + pad + th), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA
    )
    return image
