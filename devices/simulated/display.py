"""The simulated room display: keeps what was shown, on the hearing clock, and can write it as PNGs."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2

from devices.clock import Clock
from devices.fonts import render_display_content
from devices.interfaces import DeviceKind, DisplayContent
from devices.media import Image
from devices.simulated._common import SimulatedDevice


class SimulatedDisplay(SimulatedDevice):
    """A display wall that records ``(t, DisplayContent)`` for every :meth:`show`.

    With ``out_dir`` each shown page is also written at once as ``NNNN-<t>s.png`` (rendered with the
    CJK font: title, wrapped text, picture) for inspection.
    """

    fault_words = "显示屏无响应 (display not responding)"

    def __init__(
        self,
        device_id: str,
        clock: Clock,
        *,
        out_dir: str | os.PathLike[str] | None = None,
        width: int = 1280,
        height: int = 720,
        fail_between: tuple[float, float] | None = None,
        font_path: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(device_id, DeviceKind.DISPLAY, clock, fail_between)
        self.width = width
        self.height = height
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.font_path = font_path
        self._lock = threading.Lock()
        self._shown: list[tuple[float, DisplayContent]] = []

    def _ready_detail(self) -> str:
        return f"模拟显示屏 (simulated) {self.width}×{self.height}, {len(self._shown)} pages shown"

    def show(self, content: DisplayContent) -> None:
        self._ensure_open()
        t = self._clock.now()
        self._raise_if_faulty(t)
        with self._lock:
            index = len(self._shown)
            self._shown.append((t, content))
        if self.out_dir is not None:
            self._write(self.out_dir, index, t, content)

    @property
    def shown(self) -> list[tuple[float, DisplayContent]]:
        """Every page shown so far as (hearing-clock t, content), oldest first."""
        with self._lock:
            return list(self._shown)

    @property
    def current(self) -> DisplayContent | None:
        with self._lock:
            return self._shown[-1][1] if self._shown else None

    def render(self, content: DisplayContent) -> Image:
        """The page as the room would see it (BGR)."""
        return render_display_content(
            content.title,
            content.text,
            content.image,
            width=self.width,
            height=self.height,
            font_path=self.font_path,
            footer=self._id,
        )

    def write_pngs(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write every page shown so far into ``folder``; returns the files in order."""
        return [self._write(Path(folder), i, t, c) for i, (t, c) in enumerate(self.shown)]

    def _write(self, folder: Path, index: int, t: float, content: DisplayContent) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{index:04d}-{t:09.2f}s.png"
        if not cv2.imwrite(str(path), self.render(content)):
            raise OSError(f"could not write {path}")
        return path
