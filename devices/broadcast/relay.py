"""Publishing the public stream to an existing media server, for audiences larger than one box holds.

The public HLS stream (:mod:`devices.broadcast.hls`) is pushed as it is released — the same
segments, after the same delay — by HTTP ``PUT`` of each segment and then the playlist to a base
URL: the way HLS ingest works for nginx with its WebDAV module (``dav_methods PUT``), object stores
behind a CDN, and YouTube's HLS ingestion. Nothing is encoded again, and the clerk's kill switch
stops the pushing at
once (what was already pushed was already public) and withdraws the playlist and the segments from
the server (``DELETE``). A segment that slid out of the playlist is deleted from the server once no
player can still be fetching it (``retain_seconds`` later), so the server holds one window, not the
whole hearing.
"""

from __future__ import annotations

import logging
import threading
import time
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
Delete = Callable[[str], None]


def http_put(url: str, body: bytes, content_type: str, timeout: float = 10.0) -> None:
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if response.status >= 300:
            raise OSError(f"HTTP {response.status}")


def http_delete(url: str, timeout: float = 10.0) -> None:
    """DELETE ``url``; already gone (404) is as good as deleted."""
    request = urllib.request.Request(url, method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise


class HlsPushRelay:
    """Pushes a released HLS stream to ``base_url`` (``…/index.m3u8`` and the segments beside it)."""

    def __init__(
        self,
        stream: ReleasedStream,
        base_url: str,
        *,
        interval: float = 0.5,
        put: Put = http_put,
        delete: Delete = http_delete,
        retain_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"转推地址须为 http(s) (relay URL must be http or https): {base_url!r}")
        self.stream = stream
        self.base_url = base_url.rstrip("/")
        self.interval = interval
        self._put = put
        self._delete = delete
        self.retain_seconds = retain_seconds
        self._clock = clock
        self._pushed: set[str] = set()
        self._retired: dict[str, float] = {}
        """Segments out of the playlist, by when they left it: deleted ``retain_seconds`` later."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        """The last push that failed (Chinese, for the console), None while all goes through."""
        self.segments_pushed = 0
        self.published = False
        """The server has a playlist (pushed at least once, not withdrawn)."""

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
        self.published = True
        now = self._clock()
        for name in self._pushed - set(names):
            self._retired.setdefault(name, now)
        self._pushed &= set(names)
        self.segments_pushed += pushed
        for name, since in list(self._retired.items()):
            if now - since >= self.retain_seconds and not self._stop.is_set():
                del self._retired[name]
                try:
                    self._delete(f"{self.base_url}/{name}")
                except Exception as exc:  # a server without DELETE keeps old segments; the stream goes on
                    log.warning("HLS relay: deleting %s/%s failed: %s", self.base_url, name, exc)
        self.error = None
        return pushed

    def withdraw(self) -> None:
        """Take the stream off the server (after :meth:`stop`: the kill switch, the hearing's end):
        the playlist first, so no player is sent to a segment that is being deleted. Best effort:
        what fails is logged and kept in :attr:`error`."""
        self.published = False
        for name in ["index.m3u8", *sorted(self._pushed | set(self._retired))]:
            try:
                self._delete(f"{self.base_url}/{name}")
            except Exception as exc:
                self.error = f"撤下直播失败 (withdrawing the stream failed): {exc}"
                log.warning("HLS relay: deleting %s/%s failed: %s", self.base_url, name, exc)
        self._pushed.clear()
        self._retired.clear()
