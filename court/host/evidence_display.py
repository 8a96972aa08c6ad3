"""Evidence on the room display: a filed exhibit as the room screen shows it."""

from __future__ import annotations

import logging

import numpy as np

from court.record.evidence import EvidenceInfo
from devices.interfaces import DisplayContent
from devices.media import Image

log = logging.getLogger(__name__)

MAX_PICTURE_PIXELS = 60_000_000
"""Larger images are not decoded for the room display (a decompression bomb must not stall the room)."""


def evidence_content(info: EvidenceInfo) -> DisplayContent:
    """The picture itself for an image, its file name, submitter and hash in any case."""
    picture = evidence_picture(info)
    submitter = f"提交人：{info.submitter}" if info.submitter else ""
    lines = [info.filename, submitter, f"SHA-256 {info.sha256[:16]}…"]
    if picture is None and not info.media_type.startswith("image/"):
        lines.append("请在终端查看原件")
    return DisplayContent(title=f"证据：{info.title}", text="\n".join(x for x in lines if x), image=picture)


def evidence_picture(info: EvidenceInfo, max_size: tuple[int, int] = (1920, 1080)) -> Image | None:
    """The exhibit as a BGR picture for the room display (scaled to fit ``max_size``), or None when it
    is not an image or cannot be read."""
    if not info.media_type.startswith("image/"):
        return None
    from PIL import Image as PILImage

    try:
        with PILImage.open(info.stored_path) as img:
            width, height = img.size
            if width * height > MAX_PICTURE_PIXELS:
                log.warning("evidence %s too large to show (%dx%d)", info.id, width, height)
                return None
            img.draft("RGB", max_size)  # JPEG: decode at a reduced scale
            rgb = img.convert("RGB")
            rgb.thumbnail(max_size)
            return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[:, :, ::-1])
    except Exception:
        log.exception("could not decode evidence %s for the display", info.id)
        return None
