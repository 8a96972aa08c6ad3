"""The public stream through nginx (deploy/nginx, started from the project's template): a room node's
relay publishes by WebDAV PUT, viewers with a link the app signed get the playlist and the segments,
anyone else gets 403 from nginx itself; segments that slid out are deleted after their grace time,
and the kill switch takes the stream off the server."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from court.access.stream_links import signed_playlist_url, stream_token
from devices.broadcast.relay import HlsPushRelay
from tests.web.edge_services import StreamServer, stream_server

__all__ = ["stream_server"]


class Stream:
    """A released stream with a sliding two-segment playlist, as HlsPublisher gives it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.names: list[str] = []

    def add(self, name: str, body: bytes) -> None:
        (self.folder / name).write_bytes(body)
        self.names = [*self.names, name][-2:]

    def playlist(self) -> str | None:
        if not self.names:
            return None
        return "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" + "".join(f"#EXTINF:2.000,\n{n}\n" for n in self.names)

    def segment_path(self, name: str) -> Path | None:
        return self.folder / name if name in self.names else None


def test_signed_viewers_play_and_others_get_403(tmp_path: Path, stream_server: StreamServer) -> None:
    secret = stream_server.site.secret
    stream = Stream(tmp_path)
    relay = HlsPushRelay(stream, f"{stream_server.ingest}/hearing-7")
    stream.add("live-000000.ts", b"\x47segment zero")
    assert relay.push_once() == 1 and relay.published

    expires = int(time.time()) + 600
    playlist = signed_playlist_url(stream_server.public, secret, "hearing-7", expires)
    segment = playlist.replace("index.m3u8", "live-000000.ts")
    with httpx.Client(timeout=10) as viewer:
        r = viewer.get(playlist)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert r.headers["cache-control"] == "no-cache" and "live-000000.ts" in r.text
        r = viewer.get(segment)
        assert r.status_code == 200 and r.content == b"\x47segment zero"
        assert r.headers["content-type"] == "video/mp2t"

        # Without the app's signature: no playlist, no segment, whatever is guessed.
        public = stream_server.public
        token = stream_token(secret, "hearing-7", expires)
        expired = int(time.time()) - 1
        refused = {
            "unsigned": f"{public}/hearing-7/index.m3u8",
            "forged": f"{public}/{'A' * 22}/{expires}/hearing-7/",
            "expiry moved": f"{public}/{token}/{expires + 3600}/hearing-7/",
            "another stream": f"{public}/{token}/{expires}/hearing-8/",
            "expired": signed_playlist_url(public, secret, "hearing-7", expired).removesuffix("index.m3u8"),
            "wrong secret": signed_playlist_url(public, "x" * 32, "hearing-7", expires).removesuffix(
                "index.m3u8"
            ),
        }
        for why, base in refused.items():
            for name in ("index.m3u8", "live-000000.ts"):
                url = base if base.endswith(".m3u8") else base + name
                assert viewer.get(url).status_code == 403, (why, name)
        # Viewers cannot write, and the ingest is not the public's.
        assert viewer.put(segment, content=b"x").status_code == 403
        assert viewer.request("DELETE", playlist).status_code == 403


def test_slid_out_segments_go_after_their_grace_and_the_kill_switch_withdraws(
    tmp_path: Path, stream_server: StreamServer
) -> None:
    now = [0.0]
    stream = Stream(tmp_path)
    relay = HlsPushRelay(stream, f"{stream_server.ingest}/hearing-3", retain_seconds=30, clock=lambda: now[0])
    published = stream_server.site.data / "live" / "hearing-3"
    for k in range(3):
        stream.add(f"live-{k:06d}.ts", b"seg%d" % k)
        relay.push_once()
    # Segment 0 left the playlist but a player may still be fetching it: kept for now.
    assert sorted(p.name for p in published.iterdir()) == [
        "index.m3u8",
        "live-000000.ts",
        "live-000001.ts",
        "live-000002.ts",
    ]
    now[0] = 31.0
    stream.add("live-000003.ts", b"seg3")
    relay.push_once()
    assert not (published / "live-000000.ts").exists()
    assert (published / "live-000001.ts").exists()  # left just now

    url = signed_playlist_url(
        stream_server.public, stream_server.site.secret, "hearing-3", int(time.time()) + 60
    )
    assert httpx.get(url).status_code == 200
    relay.stop()
    relay.withdraw()
    assert list(published.iterdir()) == [] and not relay.published and relay.error is None
    assert httpx.get(url).status_code == 404


def test_court_serve_refuses_half_configured_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from web.server import configure_edge

    def options(**kw: object) -> argparse.Namespace:
        base: dict[str, object] = {
            "relay_url": "",
            "stream_url": "",
            "stream_secret_file": None,
            "turn": [],
            "turn_secret_file": None,
            "turn_ttl": 3600,
        }
        return argparse.Namespace(**{**base, **kw})

    monkeypatch.delenv("COURT_STREAM_SECRET", raising=False)
    monkeypatch.delenv("COURT_TURN_SECRET", raising=False)
    ctx = SimpleNamespace(stream_url="", stream_secret="", turn=None)
    with pytest.raises(ValueError, match="--relay-url"):
        configure_edge(ctx, options(stream_url="http://live/live"))
    with pytest.raises(ValueError, match="secret"):
        configure_edge(ctx, options(stream_url="http://live/live", relay_url="http://ingest/live"))
    with pytest.raises(ValueError, match="secret"):
        configure_edge(ctx, options(turn=["turn:t:3478"]))
    short = tmp_path / "short.secret"
    short.write_text("abc\n")
    with pytest.raises(ValueError, match="16"):
        configure_edge(ctx, options(turn=["turn:t:3478"], turn_secret_file=short))
    good = tmp_path / "good.secret"
    good.write_text("0123456789abcdef0123\n")
    configure_edge(ctx, options(turn=["turn:t:3478"], turn_secret_file=good))
    assert ctx.turn is not None and ctx.turn.secret == "0123456789abcdef0123"
