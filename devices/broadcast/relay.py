"""Publishing the public stream to an existing media server, for audiences larger than one box holds.

The public HLS stream (:mod:`devices.broadcast.hls`) is pushed as it is released — the same
segments, after the same delay — by HTTP ``PUT`` of each segment and then the playlist to a base
URL: the way HLS ingest works for nginx with its WebDAV module (``dav_methods PUT``), object stores
behind a CDN, and YouTube's HLS ingestion. Nothing is encoded again, and the clerk's kill switch
stops the pushing at
once (what was already pushed was already public).
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class ReleasedStream(Protocol):
    """What the relay reads: :class:`devices.broadcast.hls.HlsPublisher`."""

    def playlist(self) -> str | None: ...

    def segment_path(self, name: str) -> Path | None: ...


Put = Callable[[str, bytes, str], None]


def http_put(url: str, body: bytes, content_type: str, timeout: float = 10.0) -> None:
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status >= 300:
            raise OSError(f"HTTP {response.status}")


class HlsPushRelay:
    """Pushes a released HLS stream to ``base_url`` (``…/index.m3u8`` and the segments beside it)."""

    def __init__(
        self, stream: ReleasedStream, base_url: str, *, interval: float = 0.5, put: Put = http_put
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"转推地址须为 http(s) (relay URL must be http or https): {base_url!r}")
        self.stream = stream
        self.base_url = base_url.rstrip("/")
        self.interval = interval
        self._put = put
        self._pushed: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        """The last push that failed (Chinese, for the console), None while all goes through."""
        self.segments_pushed = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hls-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.push_once()
            except Exception as exc:  # the public stream goes on; the console shows the relay's state
                self.error = f"转推失败 (relay failed): {exc}"
                log.warning("HLS relay to %s failed: %s", self.base_url, exc)
            self._stop.wait(self.interval)

    def push_once(self) -> int:
        """Push what has been released and not pushed yet; the playlist last, so it never names a
        segment the server does not have. Returns the number of segments pushed."""
        playlist = self.stream.playlist()
        if playlist is None:
            return 0
        names = [line.strip() for line in playlist.splitlines() if line.strip() and not line.startswith("#")]
        pushed = 0
        for name in names:
            if name in self._pushed:
                continue
            path = self.stream.segment_path(name)
            if path is None:
                continue  # slid out of the window meanwhile
            try:
                body = path.read_bytes()
            except FileNotFoundError:
                continue
            if self._stop.is_set():
                return pushed
            self._put(f"{self.base_url}/{name}", body, "video/mp2t")
            self._pushed.add(name)
            pushed += 1
        if self._stop.is_set():
            return pushed
        self._put(f"{self.base_url}/index.m3u8", playlist.encode("utf-8"), "application/vnd.apple.mpegurl")
        self._pushed &= set(names)
        self.segments_pushed += pushed
        self.error = None
        return pushed
