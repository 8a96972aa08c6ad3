"""The public stream's release rule: which finished segments the public may see, and the playlist naming them.

This is where the delay that gives the clerk's masks and kill switch their time is enforced, so it is
kept apart from the encoding (:mod:`devices.broadcast.hls_segments`) and the threads
(:mod:`devices.broadcast.hls`): a segment is listed only once it has been complete for
``delay_seconds``, at most ``window_segments`` are listed, and a segment that slides out of the
window is deleted. Every decision takes the time as an argument, so the rule is the same whatever
clock the publisher runs on.
"""

from __future__ import annotations

import contextlib
from collections import deque
from pathlib import Path

from devices.broadcast.hls_segments import Segment

PLAYLIST_NAME = "index.m3u8"


class ReleaseWindow:
    """The completed segments of one run still on disk: the listed window and those within the delay.

    Not thread-safe: the publisher calls it under its own lock.
    """

    def __init__(
        self, out_dir: Path, delay_seconds: float, window_segments: int, target_duration: int
    ) -> None:
        self.out_dir = out_dir
        self.delay_seconds = delay_seconds
        self.window_segments = window_segments
        self.target_duration = target_duration
        self._segments: deque[Segment] = deque()

    def add(self, segment: Segment) -> None:
        self._segments.append(segment)

    def clear(self) -> None:
        """Forget every segment (the kill switch deletes the files itself)."""
        self._segments.clear()

    def pending(self, now: float) -> bool:
        """Some segment is still waiting out its delay."""
        return any(now - s.completed_at < self.delay_seconds for s in self._segments)

    def listed(self, now: float) -> list[Segment]:
        """The window of released segments; drops (and deletes) those that slid out."""
        released = [s for s in self._segments if now - s.completed_at >= self.delay_seconds]
        for old in released[: max(0, len(released) - self.window_segments)]:
            self._segments.remove(old)
            with contextlib.suppress(FileNotFoundError):
                (self.out_dir / old.name).unlink()
        return released[-self.window_segments :]

    def playlist(self, now: float, finished: bool) -> str | None:
        """The live playlist at ``now``; None before the first release. ``finished``: the run's last
        segment has been written, so the playlist ends once every segment is listed."""
        listed = self.listed(now)
        if not listed:
            return None
        ended = finished and len(listed) == len(self._segments)
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{listed[0].sequence}",
        ]
        for segment in listed:
            lines += [f"#EXTINF:{segment.duration:.3f},", segment.name]
        if ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"
