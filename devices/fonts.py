"""Finding a CJK font, and drawing Chinese text with it.

OpenCV cannot draw Chinese (``cv2.putText`` is ASCII only and this build has no ``cv2.freetype``), so
every Chinese label in the simulated courtroom and on the room display is drawn with Pillow and a
CJK TrueType/OpenType font installed from a system package:

    apt-get install -y --no-install-recommends fonts-wqy-microhei      # Debian / Ubuntu (5 MB)
    # or: fonts-noto-cjk (larger, 50+ MB), fonts-wqy-zenhei

Lookup order: an explicit ``path`` argument, the ``COURT_CJK_FONT`` environment variable, the known
package paths in :data:`CANDIDATE_PATHS`, then any file ``fc-list :lang=zh`` names. When none exists
:func:`find_cjk_font` raises :class:`FontNotFoundError` saying what to install.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from devices.media import Image

FONT_ENV = "COURT_CJK_FONT"
APT_INSTALL_LINE = "apt-get install -y --no-install-recommends fonts-wqy-microhei"

CANDIDATE_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora / Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",  # macOS, for developers
    "C:/Windows/Fonts/msyh.ttc",  # Windows, for developers
)

Color = tuple[int, int, int]
"""An RGB colour (Pillow's order; converted to BGR when drawn into an OpenCV image)."""


class FontNotFoundError(RuntimeError):
    """No CJK font is installed or configured."""


def _from_fontconfig() -> Path | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run(
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=5, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    for name in files:
        if Path(name).is_file():
            return Path(name)
    return None


def find_cjk_font(path: str | os.PathLike[str] | None = None) -> Path:
    """The path of a font that draws Simplified Chinese.

    Raises :class:`FontNotFoundError` when ``path`` (or ``$COURT_CJK_FONT``) names a missing file, or
    when no CJK font is installed at all.
    """
    explicit = path if path is not None else os.environ.get(FONT_ENV) or None
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            source = "path" if path is not None else f"${FONT_ENV}"
            raise FontNotFoundError(f"中文字体文件不存在 (CJK font file not found): {p} (from {source})")
        return p
    return _default_font()


@functools.cache
def _default_font() -> Path:
    for candidate in CANDIDATE_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    found = _from_fontconfig()
    if found is not None:
        return found
    raise FontNotFoundError(
        "未找到中文字体 (no CJK font found). Install one from a package, e.g. "
        f"`{APT_INSTALL_LINE}` (or fonts-noto-cjk), or set ${FONT_ENV} to a .ttf/.ttc/.otf file."
    )


@functools.cache
def _load(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def load_font(size: int, path: str | os.PathLike[str] | None = None) -> ImageFont.FreeTypeFont:
    """A Pillow font of ``size`` pixels from :func:`find_cjk_font` (cached per path and size)."""
    return _load(find_cjk_font(path), max(1, int(size)))


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` pixels.

    Chinese has no spaces: lines break between any two characters, but never before closing
    punctuation; explicit newlines are kept.
    """
    no_line_start = set("，。、；：？！）」』》〉】”’,.;:?!)]}%")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if not paragraph:
            lines.append("")
            continue
        line = ""
        for ch in paragraph:
            if line and font.getlength(line + ch) > max_width and ch not in no_line_start:
                lines.append(line)
                line = ch.lstrip() if ch.isspace() else ch
            else:
                line += ch
        lines.append(line)
    return lines


def draw_text(
    image: Image,
    text: str,
    xy: tuple[int, int],
    size: int,
    color: Color = (0, 0, 0),
    *,
    font_path: str | os.PathLike[str] | None = None,
    anchor: str = "la",
) -> tuple[int, int, int, int]:
    """Draw ``text`` (may be Chinese) into the BGR ``image`` in place; returns the drawn box (x0, y0, x1, y1).

    Only the text's bounding box is converted to Pillow and back, so small labels stay cheap.
    ``anchor`` is Pillow's text anchor (``"la"`` left/ascender, ``"mm"`` centred, …).
    """
    font = load_font(size, font_path)
    left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor=anchor))
    h, w = image.shape[:2]
    x0, y0 = max(0, xy[0] + left - 1), max(0, xy[1] + top - 1)
    x1, y1 = min(w, xy[0] + right + 1), min(h, xy[1] + bottom + 1)
    if x1 <= x0 or y1 <= y0:
        return (x0, y0, x0, y0)
    patch = PILImage.fromarray(np.ascontiguousarray(image[y0:y1, x0:x1, ::-1]))
    ImageDraw.Draw(patch).text((xy[0] - x0, xy[1] - y0), text, font=font, fill=color, anchor=anchor)
    image[y0:y1, x0:x1] = np.asarray(patch)[:, :, ::-1]
    return (x0, y0, x1, y1)


def render_display_content(
    title: str,
    text: str = "",
    picture: Image | None = None,
    *,
    width: int = 1280,
    height: int = 720,
    font_path: str | os.PathLike[str] | None = None,
    footer: str = "",
) -> Image:
    """Render a room-display page (title, wrapped body text, optional picture) as a BGR image.

    Used by the simulated display (for inspection PNGs) and by the real :class:`WindowDisplay`.
    """
    scale = width / 1280.0
    bg: Color = (16, 42, 84)
    canvas = PILImage.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(canvas)
    margin = int(48 * scale)
    title_font = load_font(int(52 * scale), font_path)
    body_font = load_font(int(34 * scale), font_path)
    # Title band with the national-red accent line.
    band_h = int(110 * scale)
    draw.rectangle((0, 0, width, band_h), fill=(10, 28, 60))
    draw.rectangle((0, band_h, width, band_h + max(2, int(6 * scale))), fill=(196, 30, 36))
    title_lines = wrap_text(title, title_font, width - 2 * margin)[:1]
    if title_lines:
        draw.text(
            (width // 2, band_h // 2), title_lines[0], font=title_font, fill=(255, 230, 160), anchor="mm"
        )
    body_top = band_h + int(40 * scale)
    body_right = width - margin
    if picture is not None and picture.size > 0:
        ph, pw = picture.shape[:2]
        box_w, box_h = int(width * 0.38), height - body_top - 2 * margin
        f = min(box_w / pw, box_h / ph)
        nw, nh = max(1, int(pw * f)), max(1, int(ph * f))
        resized = cv2.resize(picture, (nw, nh), interpolation=cv2.INTER_AREA)
        px = width - margin - nw
        canvas.paste(PILImage.fromarray(np.ascontiguousarray(resized[:, :, ::-1])), (px, body_top))
        body_right = px - margin
    line_h = int(body_font.size * 1.5)
    y = body_top
    for line in wrap_text(text, body_font, body_right - margin):
        if y + line_h > height - margin:
            draw.text((margin, y), "……", font=body_font, fill=(235, 235, 235))
            break
        draw.text((margin, y), line, font=body_font, fill=(235, 235, 235))
        y += line_h
    if footer:
        small = load_font(int(22 * scale), font_path)
        draw.text(
            (width - margin, height - margin // 2), footer, font=small, fill=(150, 170, 200), anchor="rs"
        )
    return np.ascontiguousarray(np.asarray(canvas)[:, :, ::-1])


__all__ = [
    "APT_INSTALL_LINE",
    "CANDIDATE_PATHS",
    "FONT_ENV",
    "FontNotFoundError",
    "draw_text",
    "find_cjk_font",
    "load_font",
    "render_display_content",
    "wrap_text",
]
