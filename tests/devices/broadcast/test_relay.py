"""The public stream pushed to a media server: released segments, then the playlist, over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devices.broadcast.relay import HlsPushRelay


class Stream:
    """A released stream with a sliding playlist, as HlsPublisher gives it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.names: list[str] = []
        self.killed = False

    def add(self, name: str, body: bytes) -> None:
        (self.folder / name).write_bytes(body)
        self.names = [*self.names, name][-2:]

    def playlist(self) -> str | None:
        if self.killed or not self.names:
            return None
        return "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" + "".join(f"#EXTINF:2.000,\n{n}\n" for n in self.names)

    def segment_path(self, name: str) -> Path | None:
        return self.folder / name if name in self.names else None


class Received:
    """What the media server got, in order; a test waits on it instead of sleeping."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, bytes]] = []
        self._cond = threading.Condition()

    def add(self, path: str, body: bytes) -> None:
        with self._cond:
            self.puts.append((path, body))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.puts) >= count, timeout), "timed out"

    @property
    def paths(self) -> list[str]:
        with self._cond:
            return [p for p, _ in self.puts]


@pytest.fixture
def server() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            received.add(self.path, self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/live/h1", received
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_segments_then_playlist_and_nothing_after_stop(tmp_path: Path, server: tuple[str, Received]) -> None:
    url, received = server
    stream = Stream(tmp_path)
    relay = HlsPushRelay(stream, url)
    assert relay.push_once() == 0  # nothing released yet: nothing pushed
    assert received.paths == []
    stream.add("live-a-000000.ts", b"seg0")
    assert relay.push_once() == 1
    stream.add("live-a-000001.ts", b"seg1")
    assert relay.push_once() == 1
    assert received.paths == [
        "/live/h1/live-a-000000.ts",
        "/live/h1/index.m3u8",
        "/live/h1/live-a-000001.ts",
        "/live/h1/index.m3u8",
    ]
    assert received.puts[0][1] == b"seg0" and b"live-a-000001.ts" in received.puts[3][1]
    assert relay.segments_pushed == 2 and relay.error is None
    relay.stop()
    stream.add("live-a-000002.ts", b"seg2")  # released after the stop (the kill switch): not pushed
    assert relay.push_once() == 0
    assert all("000002" not in p for p in received.paths)


def test_the_relay_thread_pushes_until_stopped(tmp_path: Path, server: tuple[str, Received]) -> None:
    url, received = server
    stream = Stream(tmp_path)
    stream.add("live-a-000000.ts", b"seg0")
    # A long interval: the first push comes at once, and stop must not wait the interval out.
    relay = HlsPushRelay(stream, url, interval=3600.0)
    relay.start()
    received.wait_for(2)
    relay.stop()
    assert not any(t.name == "hls-relay" and t.is_alive() for t in threading.enumerate())
    assert received.paths == ["/live/h1/live-a-000000.ts", "/live/h1/index.m3u8"]
    assert relay.segments_pushed == 1 and relay.error is None


def test_a_failing_server_is_reported_and_retried(tmp_path: Path) -> None:
    stream = Stream(tmp_path)
    stream.add("live-a-000000.ts", b"seg0")
    calls: list[str] = []
    errors: list[str | None] = []
    playlist_pushed = threading.Event()

    def put(url: str, body: bytes, content_type: str) -> None:
        calls.append(url)
        errors.append(relay.error)
        if len(calls) == 1:
            raise OSError("connection refused")
        if url.endswith("index.m3u8"):
            playlist_pushed.set()

    relay = HlsPushRelay(stream, "http://media.example/live", interval=0.05, put=put)
    relay.start()
    assert playlist_pushed.wait(10)
    relay.stop()
    assert calls[0].endswith("000000.ts") and calls[1].endswith("000000.ts")  # retried
    assert errors[1] is not None and "connection refused" in errors[1]  # reported meanwhile
    assert calls[2].endswith("index.m3u8") and relay.error is None


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="http"):
        HlsPushRelay(Stream(Path(".")), "rtmp://media/live")
