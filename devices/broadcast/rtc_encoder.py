"""The program feed encoded once for every WebRTC peer: one VP8 encoding, relayed as packets.

aiortc's :class:`RTCRtpSender` sends an ``av.Packet`` from a track as is (``Encoder.pack``: VP8
payload descriptors and RTP timestamps are added per sender) instead of encoding an ``av.Frame``.
:class:`SharedVideoEncoder` encodes the program with libvpx (VP8: every WebRTC browser decodes it,
Debian's chromium included, and it is negotiated as the only video codec) on its own thread with a
keyframe every ``keyframe_seconds``, and every party and viewer track
(:class:`devices.broadcast.rtc_tracks.PacketTrack`) relays its packets. A new track waits for a
keyframe and asks for one (at most one forced keyframe per half second of the given clock), and a
receiver's PLI/FIR is routed to the shared encoder. The cost of one more viewer is packetising and
encrypting, not encoding. What the shared encoding gives up: per-viewer bitrate adaptation (REMB), so
``bitrate`` is fixed for all. It is a module of its own because it is the hub's one expensive part,
with its own thread and counters (``bench/bench_web.py`` reads them).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import threading
import time
from typing import Protocol

import av
import cv2
import numpy as np

from devices.broadcast.rtc_sdp import HUB_CLOSED, RtcError
from devices.broadcast.rtc_tracks import Packet, PacketTrack
from devices.clock import Clock
from devices.media import VideoFrame

log = logging.getLogger(__name__)

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
"""RTP's video clock."""
KEYFRAME_REQUEST_SECONDS = 0.5
"""At most one forced keyframe this often: a flood of requests must not make every frame a keyframe."""


class FrameSubscription(Protocol):
    def get(self, timeout: float | None = None) -> VideoFrame | None: ...

    def close(self) -> None: ...


class VideoSource(Protocol):
    """The program feed (``devices.broadcast.program.ProgramFeed``): public BGR frames, hearing clock."""

    def subscribe(self) -> FrameSubscription: ...


class SharedVideoEncoder:
    """One VP8 encoding of a :class:`VideoSource`, relayed to any number of peers (module doc).
    ``clock`` only paces the keyframe requests.

    The encoding thread holds a subscription only while at least one track is attached, so an
    idle hub costs nothing.
    """

    def __init__(
        self,
        source: VideoSource,
        loop: asyncio.AbstractEventLoop,
        *,
        clock: Clock,
        fps: float = 25.0,
        bitrate: int = 1_500_000,
        keyframe_seconds: float = 1.0,
        threads: int = 1,
        max_queue: int = 10,
    ) -> None:
        self._source = source
        self._loop = loop
        self._clock = clock
        self.fps = fps
        self.bitrate = bitrate
        self.keyframe_seconds = keyframe_seconds
        self.threads = threads
        self._max_queue = max_queue
        self._tracks: list[PacketTrack] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._force_key = False
        self._last_forced = -1e9
        self._thread: threading.Thread | None = None
        self.frames = 0
        self.keyframes = 0
        self.bytes = 0
        self.encode_seconds = 0.0
        """Thread CPU seconds spent converting and encoding (what one encoding costs)."""

    # -- tracks (loop side) --

    def attach(self) -> PacketTrack:
        track = PacketTrack(self, self._max_queue)
        with self._lock:
            if self._closed:
                raise RtcError("closed", HUB_CLOSED)
            self._tracks.append(track)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="rtc-program-encoder", daemon=True)
                self._thread.start()
        self.request_keyframe()
        self._wake.set()
        return track

    def detach(self, track: PacketTrack) -> None:
        with self._lock:
            if track in self._tracks:
                self._tracks.remove(track)

    @property
    def tracks(self) -> int:
        with self._lock:
            return len(self._tracks)

    def request_keyframe(self) -> None:
        """Make the next frame a keyframe (new viewer, PLI/FIR), at most once per
        :data:`KEYFRAME_REQUEST_SECONDS`."""
        now = self._clock.now()
        with self._lock:
            if now - self._last_forced >= KEYFRAME_REQUEST_SECONDS:
                self._last_forced = now
                self._force_key = True

    def close(self, timeout: float = 2.0) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    # -- encoding (own thread) --

    def _new_codec(self, width: int, height: int) -> av.VideoCodecContext:
        codec = av.CodecContext.create("libvpx", "w")
        codec.width = width
        codec.height = height
        codec.pix_fmt = "yuv420p"
        codec.bit_rate = self.bitrate
        codec.time_base = VIDEO_TIME_BASE
        codec.framerate = fractions.Fraction(round(self.fps * 1000), 1000)
        codec.gop_size = max(1, round(self.keyframe_seconds * self.fps))
        codec.qmin = 2
        codec.qmax = 56
        codec.thread_count = self.threads
        # aiortc's own real-time VP8 settings (CBR, no lookahead), with our keyframe interval.
        codec.options = {
            "bufsize": str(self.bitrate),
            "cpu-used": "-6",
            "deadline": "realtime",
            "lag-in-frames": "0",
            "minrate": str(self.bitrate),
            "maxrate": str(self.bitrate),
            "noise-sensitivity": "4",
            "overshoot-pct": "15",
            "partitions": "0",
            "static-thresh": "1",
            "undershoot-pct": "100",
        }
        return codec

    def _run(self) -> None:
        sub: FrameSubscription | None = None
        codec: av.VideoCodecContext | None = None
        last_pts = -1
        try:
            while True:
                with self._lock:
                    closed, active = self._closed, bool(self._tracks)
                if closed:
                    return
                if not active:
                    if sub is not None:
                        sub.close()
                        sub = None
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                if sub is None:
                    sub = self._source.subscribe()
                frame = sub.get(0.5)
                if frame is None:
                    continue
                cpu0 = time.thread_time()
                image = frame.image
                h, w = image.shape[:2]
                if codec is None or (codec.width, codec.height) != (w, h):
                    codec = self._new_codec(w, h)
                pts = max(round(frame.t * 90000), last_pts + 1)
                last_pts = pts
                # cv2 converts BGR to I420 several times faster than swscale.
                yuv = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
                vf = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                vf.pts = pts
                vf.time_base = VIDEO_TIME_BASE
                with self._lock:
                    if self._force_key:
                        self._force_key = False
                        vf.pict_type = av.video.frame.PictureType.I
                packets = codec.encode(vf)
                self.encode_seconds += time.thread_time() - cpu0
                for packet in packets:
                    if packet.pts is None:
                        packet.pts = pts
                    packet.time_base = VIDEO_TIME_BASE
                    self.frames += 1
                    self.bytes += packet.size
                    if packet.is_keyframe:
                        self.keyframes += 1
                    try:
                        self._loop.call_soon_threadsafe(self._deliver, packet)
                    except RuntimeError:
                        return  # the loop is gone
        except Exception:
            log.exception("program encoder failed")
        finally:
            if sub is not None:
                sub.close()

    def _deliver(self, packet: Packet) -> None:
        with self._lock:
            tracks = list(self._tracks)
        for track in tracks:
            track.offer(packet)
