"""The public stream pushed to a media server: released segments, then the playlist, over real HTTP."""

from __future__ import annotations

import threading
import time
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


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, body))
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


def test_segments_then_playlist_and_nothing_after_stop(
    tmp_path: Path, server: tuple[str, list[tuple[str, bytes]]]
) -> None:
    url, received = server
    stream = Stream(tmp_path)
    relay = HlsPushRelay(stream, url, interval=0.05)
    assert relay.push_once() == 0  # nothing released yet: nothing pushed
    stream.add("live-a-000000.ts", b"seg0")
    relay.start()
    deadline = time.monotonic() + 5
    while len(received) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    stream.add("live-a-000001.ts", b"seg1")
    while len(received) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    relay.stop()
    paths = [p for p, _ in received]
    assert paths[:4] == [
        "/live/h1/live-a-000000.ts",
        "/live/h1/index.m3u8",
        "/live/h1/live-a-000001.ts",
        "/live/h1/index.m3u8",
    ]
    assert received[0][1] == b"seg0" and b"live-a-000001.ts" in received[3][1]
    assert relay.segments_pushed == 2 and relay.error is None
    stream.add("live-a-000002.ts", b"seg2")  # released after the stop (the kill switch): not pushed
    time.sleep(0.3)
    assert all("000002" not in p for p, _ in received)


def test_a_failing_server_is_reported_and_retried(tmp_path: Path) -> None:
    stream = Stream(tmp_path)
    stream.add("live-a-000000.ts", b"seg0")
    calls: list[str] = []

    def put(url: str, body: bytes, content_type: str) -> None:
        calls.append(url)
        if len(calls) == 1:
            raise OSError("connection refused")

    relay = HlsPushRelay(stream, "http://media.example/live", interval=0.05, put=put)
    relay.start()
    time.sleep(0.4)
    relay.stop()
    assert calls[0].endswith("000000.ts") and calls[1].endswith("000000.ts")  # retried
    assert calls[2].endswith("index.m3u8") and relay.error is None


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="http"):
        HlsPushRelay(Stream(Path(".")), "rtmp://media/live")
