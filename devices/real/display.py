"""The room display wall, kept deliberately simple: the current page is written as a PNG file
(atomically: written aside, then renamed) next to a tiny HTML page that reloads it every second.

Show it full screen on the HDMI output of the console PC with either

    feh --fullscreen --auto-zoom --hide-pointer --reload 1 /var/lib/court/display/current.png
    chromium --kiosk --noerrdialogs --incognito file:///var/lib/court/display/index.html

The web app may also serve the same file. The picture is rendered with the CJK font
(:func:`devices.fonts.render_display_content`).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import cv2

from devices.base import DeviceBase
from devices.clock import Clock
from devices.fonts import FontNotFoundError, find_cjk_font, render_display_content
from devices.interfaces import DeviceKind, DeviceStatus, DisplayContent

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<style>html,body{{margin:0;height:100%;background:#102a54;overflow:hidden}}
img{{width:100vw;height:100vh;object-fit:contain;display:block}}</style></head>
<body><img id="page" src="{image}" alt="">
<script>
const img = document.getElementById("page");
setInterval(() => {{
  const next = new Image();
  next.onload = () => {{ img.src = next.src; }};
  next.src = "{image}?t=" + Date.now();
}}, 1000);
</script></body></html>
"""


class WindowDisplay(DeviceBase):
    """A display that writes its current page to ``path`` (PNG) for a kiosk viewer.

    Also writes ``index.html`` (auto-reloading viewer) and ``current.json`` (title, text, hearing-clock
    t) beside it.
    """

    plain_errors = (FontNotFoundError,)

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        path: str | os.PathLike[str],
        *,
        width: int = 1920,
        height: int = 1080,
        font_path: str | os.PathLike[str] | None = None,
        write_html: bool = True,
    ) -> None:
        super().__init__(device_id, DeviceKind.DISPLAY)
        self._clock = clock
        self.path = Path(path)
        self.width = width
        self.height = height
        self.font_path = font_path
        self.write_html = write_html
        self._lock = threading.Lock()
        self._shown = 0

    @property
    def html_path(self) -> Path:
        return self.path.parent / "index.html"

    def _probe(self) -> DeviceStatus:
        find_cjk_font(self.font_path)
        folder = self.path.parent
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            return self.status(False, f"显示目录不可写 (display folder not writable): {folder}")
        return self.status(True, f"{self.path} ({self.width}×{self.height})")

    def show(self, content: DisplayContent) -> None:
        self._ensure_open()
        t = self._clock.now()
        try:
            image = render_display_content(
                content.title,
                content.text,
                content.image,
                width=self.width,
                height=self.height,
                font_path=self.font_path,
            )
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                ok, png = cv2.imencode(".png", image)
                if not ok:
                    raise OSError("PNG encoding failed")
                self._replace(self.path, png.tobytes())
                meta = {
                    "title": content.title,
                    "text": content.text,
                    "t": round(t, 3),
                    "seq": self._shown + 1,
                }
                self._replace(
                    self.path.with_name("current.json"), json.dumps(meta, ensure_ascii=False).encode()
                )
                if self.write_html and not self.html_path.exists():
                    page = _PAGE.format(title=self._id, image=self.path.name)
                    self._replace(self.html_path, page.encode())
                self._shown += 1
        except (OSError, FontNotFoundError) as exc:
            raise self.fault(f"显示失败 (cannot update display): {exc}") from exc

    @staticmethod
    def _replace(path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
