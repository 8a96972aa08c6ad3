"""The aiortc media tracks between the hearing's devices and one WebRTC peer, in both directions.

aiortc pulls outgoing media from ``MediaStreamTrack.recv`` on the server's asyncio loop, and the
hearing side only offers blocking, paced reads; this module is where the two meet, kept apart from
the encoding (:mod:`devices.broadcast.rtc_encoder`) and the peer bookkeeping
(:mod:`devices.broadcast.rtc`). Outgoing: :class:`PacketTrack` relays the shared program encoding's
packets to one peer, and :class:`MixTrack` turns one listener's mix into Opus-ready audio frames
(its blocking ``get`` runs on its own thread, never on the loop). Incoming: :func:`pump_video` and
:func:`pump_audio` push what a party's browser sends into the push camera and microphone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import threading
from typing import TYPE_CHECKING, Any, Protocol

import av
import numpy as np
import numpy.typing as npt
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from devices.media import AudioChunk, Image

if TYPE_CHECKING:
    Packet = av.Packet[Any]  # generic in PyAV's stubs only
else:
    Packet = av.Packet


# --- what the tracks need from the hearing side ---------------------------------------------------


class ChunkSubscription(Protocol):
    def get(self, timeout: float | None = None) -> AudioChunk | None: ...

    def close(self) -> None: ...


class VideoSink(Protocol):
    """Where a party's video goes (``devices.broadcast.push.PushCamera``)."""

    @property
    def device_id(self) -> str: ...

    def push(self, image: Image) -> None: ...

    def detach(self, reason: str) -> None: ...


class AudioSink(Protocol):
    """Where a party's audio goes (``devices.broadcast.push.PushMicrophone``)."""

    @property
    def device_id(self) -> str: ...

    def push(
        self, samples: npt.NDArray[np.float32] | npt.NDArray[np.int16], sample_rate: int, channels: int = 1
    ) -> None: ...

    def detach(self, reason: str) -> None: ...


class PacketFeed(Protocol):
    """The shared encoding a :class:`PacketTrack` relays (``rtc_encoder.SharedVideoEncoder``)."""

    def request_keyframe(self) -> None: ...

    def detach(self, track: PacketTrack) -> None: ...


# --- outgoing -------------------------------------------------------------------------------------


class PacketTrack(MediaStreamTrack):
    """Relays the shared encoder's VP8 packets to one peer; starts at a keyframe."""

    kind = "video"

    def __init__(self, encoder: PacketFeed, max_queue: int) -> None:
        super().__init__()
        self._encoder = encoder
        self._queue: asyncio.Queue[Packet] = asyncio.Queue()
        self._max_queue = max_queue
        self._need_key = True
        self.relayed = 0
        self.resyncs = 0

    def offer(self, packet: Packet) -> None:
        """On the loop: queue ``packet`` for sending."""
        if self._need_key and not packet.is_keyframe:
            return
        if self._queue.qsize() >= self._max_queue:
            # A peer this far behind cannot catch up on deltas: drop what is queued, restart on a key.
            while not self._queue.empty():
                self._queue.get_nowait()
            self.resyncs += 1
            self._encoder.request_keyframe()
            if not packet.is_keyframe:
                self._need_key = True
                return
        self._need_key = False
        self._queue.put_nowait(packet)

    async def recv(self) -> Packet:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        self.relayed += 1
        return packet

    def stop(self) -> None:
        super().stop()
        self._encoder.detach(self)


class MixTrack(MediaStreamTrack):
    """One listener's mix as an aiortc audio track; the blocking, paced ``get`` runs on a thread."""

    kind = "audio"

    def __init__(self, sub: ChunkSubscription, loop: asyncio.AbstractEventLoop, max_queue: int = 10) -> None:
        super().__init__()
        self._sub = sub
        self._hub_loop = loop
        self._queue: asyncio.Queue[AudioChunk] = asyncio.Queue()
        self._max_queue = max_queue
        self._running = True
        self._pts = 0
        self._thread = threading.Thread(target=self._pump, name="rtc-mix", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            while self._running:
                chunk = self._sub.get(0.5)
                if chunk is not None and self._running:
                    try:
                        self._hub_loop.call_soon_threadsafe(self._put, chunk)
                    except RuntimeError:
                        return
        finally:
            self._sub.close()

    def _put(self, chunk: AudioChunk) -> None:
        if self._queue.qsize() >= self._max_queue:
            self._queue.get_nowait()  # a stalled peer hears live audio, not a growing delay
        self._queue.put_nowait(chunk)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        chunk = await self._queue.get()
        pcm = np.clip(chunk.samples * 32767.0, -32768, 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = chunk.sample_rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, chunk.sample_rate)
        self._pts += len(pcm)
        return frame

    def stop(self) -> None:
        self._running = False
        super().stop()


# --- incoming -------------------------------------------------------------------------------------


def audio_frame_samples(frame: av.AudioFrame) -> tuple[npt.NDArray[np.float32] | npt.NDArray[np.int16], int]:
    """An aiortc audio frame as ((samples, channels) int16 or float32, channels)."""
    channels = len(frame.layout.channels)
    a = frame.to_ndarray()
    name = frame.format.name
    if name in ("s16p", "fltp"):
        a = a.T  # planar: (channels, samples)
    elif name in ("s16", "flt"):
        a = a.reshape(-1, channels)  # packed: one interleaved row
    else:
        raise ValueError(f"unsupported audio sample format {name}")
    if a.dtype == np.int16:
        return np.ascontiguousarray(a, dtype=np.int16), channels
    return np.ascontiguousarray(a, dtype=np.float32), channels


async def pump_video(track: MediaStreamTrack, camera: VideoSink) -> None:
    """Push a party's decoded pictures into their camera until the track ends."""
    with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
        while True:
            frame = await track.recv()
            if isinstance(frame, av.VideoFrame):
                camera.push(np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8))


async def pump_audio(track: MediaStreamTrack, microphone: AudioSink) -> None:
    """Push a party's decoded sound into their microphone (it resamples) until the track ends."""
    with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
        while True:
            frame = await track.recv()
            if isinstance(frame, av.AudioFrame):
                samples, channels = audio_frame_samples(frame)
                microphone.push(samples, frame.sample_rate, channels)
