"""WebRTC peers for the hearing (aiortc): remote parties send and receive, viewers receive.

API (everything below runs on the server's asyncio loop unless said otherwise)::

    hub = RtcHub(program: VideoSource, mix: AudioSource, *, fps=25.0, bitrate=1_500_000,
                 keyframe_seconds=1.0, ice_servers=())
    answer: Answer = await hub.party(sdp: str, type: str, receiver: PartyReceiver,
                                     *, exclude: Collection[str] | None = None)
    answer: Answer = await hub.viewer(sdp: str, type: str,
                                      *, on_closed: Callable[[str], None] | None = None)
    await hub.close_peer(peer_id: str, reason: str) -> bool
    await hub.close() -> None
    hub.peer_ids -> list[str];  hub.encoder -> SharedVideoEncoder | None (its counters)
    Answer(sdp: str, type: str, peer_id: str)
    RtcError(ValueError): .code in {"bad_sdp", "bad_type", "missing_media", "no_common_codec",
                                    "closed"}; the API answers 400 with str(error) and .code.

* **party**: the party's audio and video tracks are decoded by aiortc and pushed into
  ``receiver.microphone`` / ``receiver.camera`` (``devices.broadcast.push.PushMicrophone`` / ``PushCamera``);
  the party gets the program feed (video) and the mix-minus (``mix.subscribe(exclude)``, by default
  excluding ``receiver.microphone.device_id``: the capture loop's source id for a device is its device
  id unless told otherwise). A new offer for the same receiver replaces the old connection.
* **viewer** (supervisor, observation room): receive only; the program feed and the full mix.
* When a connection fails or closes, the receiving devices are ``detach``\\ ed with the reason and
  ``receiver.on_closed(reason)`` (viewer: ``on_closed``) is called, on the loop (it must not block).
  The party may rejoin with a new offer; the same devices resume when pushes resume.

**The program feed is encoded once for everyone.** aiortc's :class:`RTCRtpSender` sends an
``av.Packet`` from a track as is (``Encoder.pack``: VP8 payload descriptors and RTP timestamps are
added per sender) instead of encoding an ``av.Frame``. :class:`SharedVideoEncoder` encodes the
program with libvpx (VP8: every WebRTC browser decodes it, Debian's chromium included, and it is
negotiated as the only video codec) on its own thread with a keyframe every ``keyframe_seconds``, and
every party and viewer track relays its packets. A new track waits for a keyframe and asks for one
(at most one forced keyframe per half second), and a receiver's PLI/FIR is routed to the shared
encoder. The cost of one more viewer is packetising and encrypting, not encoding. What the shared
encoding gives up: per-viewer bitrate adaptation (REMB), so ``bitrate`` is fixed for all. Audio is
encoded per peer with aiortc's Opus encoder (cheap; a party's mix-minus differs per party anyway).

Blocking reads of the hearing side (``Subscription.get``) run on per-track threads, never on the
loop. ICE uses no STUN server unless ``ice_servers`` are given (the courtroom network is local;
remote parties behind NAT need a TURN server here).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import av
import cv2
import numpy as np
import numpy.typing as npt
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecCapability

from devices.media import AudioChunk, Image, VideoFrame

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    _Packet = av.Packet[Any]  # generic in PyAV's stubs only
else:
    _Packet = av.Packet

VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
"""RTP's video clock."""

DISCONNECTED = "远程连接已断开 (WebRTC connection closed)"
FAILED = "远程连接失败 (WebRTC connection failed)"
REPLACED = "远程连接已由新的连接取代 (replaced by a new connection)"
HUB_CLOSED = "媒体服务已关闭 (media hub closed)"


# --- what the hub needs from the hearing side ----------------------------------------------------


class FrameSubscription(Protocol):
    def get(self, timeout: float | None = None) -> VideoFrame | None: ...

    def close(self) -> None: ...


class VideoSource(Protocol):
    """The program feed (``devices.broadcast.program.ProgramFeed``): public BGR frames, hearing clock."""

    def subscribe(self) -> FrameSubscription: ...


class ChunkSubscription(Protocol):
    def get(self, timeout: float | None = None) -> AudioChunk | None: ...

    def close(self) -> None: ...


class AudioSource(Protocol):
    """The room mix (``devices.broadcast.mix.AudioMixer``): paced, continuous mono chunks."""

    def subscribe(self, exclude: Collection[str] = ()) -> ChunkSubscription: ...


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


class PartyReceiver(Protocol):
    """A remote party as the hearing sees it: their devices and what to do when they drop."""

    @property
    def camera(self) -> VideoSink: ...

    @property
    def microphone(self) -> AudioSink: ...

    def on_closed(self, reason: str) -> None: ...


# --- errors and answers --------------------------------------------------------------------------


class RtcError(ValueError):
    """An offer the hub cannot answer; ``code`` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Answer:
    sdp: str
    type: str
    peer_id: str


# --- the shared program encoder ------------------------------------------------------------------


class _PacketTrack(MediaStreamTrack):
    """Relays the shared encoder's VP8 packets to one peer; starts at a keyframe."""

    kind = "video"

    def __init__(self, encoder: SharedVideoEncoder, max_queue: int) -> None:
        super().__init__()
        self._encoder = encoder
        self._queue: asyncio.Queue[_Packet] = asyncio.Queue()
        self._max_queue = max_queue
        self._need_key = True
        self.relayed = 0
        self.resyncs = 0

    def offer(self, packet: _Packet) -> None:
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

    async def recv(self) -> _Packet:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        self.relayed += 1
        return packet

    def stop(self) -> None:
        super().stop()
        self._encoder.detach(self)


class SharedVideoEncoder:
    """One VP8 encoding of a :class:`VideoSource`, relayed to any number of peers (module doc).

    The encoding thread holds a subscription only while at least one track is attached, so an
    idle hub costs nothing.
    """

    def __init__(
        self,
        source: VideoSource,
        loop: asyncio.AbstractEventLoop,
        *,
        fps: float = 25.0,
        bitrate: int = 1_500_000,
        keyframe_seconds: float = 1.0,
        threads: int = 1,
        max_queue: int = 10,
    ) -> None:
        self._source = source
        self._loop = loop
        self.fps = fps
        self.bitrate = bitrate
        self.keyframe_seconds = keyframe_seconds
        self.threads = threads
        self._max_queue = max_queue
        self._tracks: list[_PacketTrack] = []
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

    def attach(self) -> _PacketTrack:
        track = _PacketTrack(self, self._max_queue)
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

    def detach(self, track: _PacketTrack) -> None:
        with self._lock:
            if track in self._tracks:
                self._tracks.remove(track)

    @property
    def tracks(self) -> int:
        with self._lock:
            return len(self._tracks)

    def request_keyframe(self) -> None:
        """Make the next frame a keyframe (new viewer, PLI/FIR), at most once per half second: a
        flood of requests must not turn the stream into all keyframes."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_forced >= 0.5:
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

    def _deliver(self, packet: _Packet) -> None:
        with self._lock:
            tracks = list(self._tracks)
        for track in tracks:
            track.offer(packet)


# --- per-peer tracks ------------------------------------------------------------------------------


class _MixTrack(MediaStreamTrack):
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


# --- peers and the hub ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Peer:
    peer_id: str
    role: Literal["party", "viewer"]
    pc: RTCPeerConnection
    receiver: PartyReceiver | None
    on_closed: Callable[[str], None] | None
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closed: bool = False


def _offered_media(sdp: str, type: str) -> dict[str, str]:
    """Media kind → direction of the offer (from the offerer's side); RtcError when malformed."""
    if type != "offer":
        raise RtcError("bad_type", f"只接受 offer (expected an SDP offer, got type {type!r})")
    if not isinstance(sdp, str) or not sdp.lstrip().startswith("v=0"):
        raise RtcError("bad_sdp", "SDP 无效 (malformed SDP offer: it must start with v=0)")
    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:
        raise RtcError("bad_sdp", f"SDP 无效 (malformed SDP offer: {exc})") from exc
    media: dict[str, str] = {}
    for m in description.media:
        if m.kind in ("audio", "video") and m.kind not in media:
            if m.ice is None or not m.ice.usernameFragment or not m.ice.password or m.dtls is None:
                raise RtcError(
                    "bad_sdp", f"SDP 无效 (malformed SDP offer: {m.kind} lacks ICE/DTLS parameters)"
                )
            media[m.kind] = m.direction or "sendrecv"
    return media


def _vp8_only() -> list[RTCRtpCodecCapability]:
    return [
        c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType in ("video/VP8", "video/rtx")
    ]


class RtcHub:
    """The server's WebRTC peers for one hearing (module doc)."""

    def __init__(
        self,
        program: VideoSource,
        mix: AudioSource,
        *,
        fps: float = 25.0,
        bitrate: int = 1_500_000,
        keyframe_seconds: float = 1.0,
        encoder_threads: int = 1,
        ice_servers: Sequence[RTCIceServer] = (),
    ) -> None:
        """
        :param bitrate: the shared program encoding's bitrate (bits/s), the same for every peer.
        :param keyframe_seconds: keyframe interval: the longest a new viewer waits without PLI.
        :param encoder_threads: libvpx threads (1 on a 2-core box: the threads would compete with
            decoding and packetising, and one thread keeps up with 720p25 at real-time settings).
        """
        self._program = program
        self._mix = mix
        self._fps = fps
        self._bitrate = bitrate
        self._keyframe_seconds = keyframe_seconds
        self._encoder_threads = encoder_threads
        self._ice_servers = list(ice_servers)
        self._encoder: SharedVideoEncoder | None = None
        self._peers: dict[str, _Peer] = {}
        self._closed = False

    @property
    def encoder(self) -> SharedVideoEncoder | None:
        return self._encoder

    @property
    def peer_ids(self) -> list[str]:
        return list(self._peers)

    def _shared_encoder(self) -> SharedVideoEncoder:
        if self._encoder is None:
            self._encoder = SharedVideoEncoder(
                self._program,
                asyncio.get_running_loop(),
                fps=self._fps,
                bitrate=self._bitrate,
                keyframe_seconds=self._keyframe_seconds,
                threads=self._encoder_threads,
            )
        return self._encoder

    async def party(
        self, sdp: str, type: str, receiver: PartyReceiver, *, exclude: Collection[str] | None = None
    ) -> Answer:
        """Answer a remote party's offer (they send audio+video, get the program and mix-minus)."""
        media = _offered_media(sdp, type)
        for kind in ("audio", "video"):
            if media.get(kind) not in ("sendrecv", "sendonly"):
                raise RtcError("missing_media", f"当事人须发送音视频 (a party's offer must send {kind})")
        for old in [p for p in self._peers.values() if p.receiver is receiver]:
            await self._close(old, REPLACED)
        mix_exclude = (receiver.microphone.device_id,) if exclude is None else tuple(exclude)
        return await self._answer("party", sdp, media, receiver, receiver.on_closed, mix_exclude)

    async def viewer(self, sdp: str, type: str, *, on_closed: Callable[[str], None] | None = None) -> Answer:
        """Answer a viewer's offer (receive only: the program and the full mix)."""
        media = _offered_media(sdp, type)
        if media.get("video") not in ("sendrecv", "recvonly"):
            raise RtcError("missing_media", "观看端须接收画面 (a viewer's offer must receive video)")
        return await self._answer("viewer", sdp, media, None, on_closed, ())

    async def _answer(
        self,
        role: Literal["party", "viewer"],
        sdp: str,
        media: dict[str, str],
        receiver: PartyReceiver | None,
        on_closed: Callable[[str], None] | None,
        mix_exclude: Collection[str],
    ) -> Answer:
        if self._closed:
            raise RtcError("closed", HUB_CLOSED)
        loop = asyncio.get_running_loop()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        peer = _Peer(uuid.uuid4().hex, role, pc, receiver, on_closed)
        self._peers[peer.peer_id] = peer
        try:
            # Transceivers made before the offer is applied carry our codec preference (VP8 only:
            # the shared encoding is VP8) and our direction.
            send = "sendrecv" if role == "party" else "sendonly"
            video: RTCRtpTransceiver | None = None
            if "video" in media:
                video = pc.addTransceiver("video", direction=send)
                video.setCodecPreferences(_vp8_only())
            audio = pc.addTransceiver("audio", direction=send) if "audio" in media else None

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                if receiver is None:
                    return
                if track.kind == "video":
                    peer.tasks.append(loop.create_task(self._pump_video(track, receiver.camera)))
                elif track.kind == "audio":
                    peer.tasks.append(loop.create_task(self._pump_audio(track, receiver.microphone)))

            @pc.on("connectionstatechange")
            async def on_state() -> None:
                state = pc.connectionState
                log.info("rtc %s %s: %s", role, peer.peer_id[:8], state)
                if state == "failed":
                    await self._close(peer, FAILED)
                elif state == "closed":
                    await self._close(peer, DISCONNECTED)

            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            except RtcError:
                raise
            except Exception as exc:
                if "codec" in str(exc).lower() or type(exc).__name__ == "OperationError":
                    raise RtcError(
                        "no_common_codec", f"浏览器不支持 VP8/Opus (no common codec: {exc})"
                    ) from exc
                raise RtcError("bad_sdp", f"SDP 无效 (malformed SDP offer: {exc})") from exc

            if video is not None:
                track = self._shared_encoder().attach()
                peer.tracks.append(track)
                video.sender.replaceTrack(track)
                # A receiver's PLI/FIR asks the sender for a keyframe; with a shared encoding it must
                # reach the shared encoder (aiortc would only flag its own, unused, encoder).
                encoder = self._shared_encoder()
                setattr(video.sender, "_send_keyframe", encoder.request_keyframe)  # noqa: B010
            if audio is not None and media["audio"] in ("sendrecv", "recvonly"):
                mix_track = _MixTrack(self._mix.subscribe(mix_exclude), loop)
                peer.tracks.append(mix_track)
                audio.sender.replaceTrack(mix_track)

            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            local = pc.localDescription
            return Answer(local.sdp, local.type, peer.peer_id)
        except BaseException:
            await self._close(peer, None)
            raise

    async def _pump_video(self, track: MediaStreamTrack, camera: VideoSink) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):
                    camera.push(np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8))

    async def _pump_audio(self, track: MediaStreamTrack, microphone: AudioSink) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                if isinstance(frame, av.AudioFrame):
                    samples, channels = audio_frame_samples(frame)
                    microphone.push(samples, frame.sample_rate, channels)

    async def close_peer(self, peer_id: str, reason: str) -> bool:
        """Hang up one peer (e.g. a party rejected or removed); False when it is not connected."""
        peer = self._peers.get(peer_id)
        if peer is None:
            return False
        await self._close(peer, reason)
        return True

    async def _close(self, peer: _Peer, reason: str | None) -> None:
        """Tear a peer down once; ``reason`` None: it never got connected (no callbacks)."""
        if peer.closed:
            return
        peer.closed = True
        self._peers.pop(peer.peer_id, None)
        for track in peer.tracks:
            track.stop()
        for task in peer.tasks:
            task.cancel()
        if reason is not None and peer.receiver is not None:
            peer.receiver.camera.detach(reason)
            peer.receiver.microphone.detach(reason)
        try:
            await peer.pc.close()
        except Exception:
            log.exception("closing peer %s failed", peer.peer_id)
        if reason is not None and peer.on_closed is not None:
            try:
                peer.on_closed(reason)
            except Exception:
                log.exception("on_closed of peer %s failed", peer.peer_id)

    async def close(self) -> None:
        """Hang up every peer and stop the shared encoder."""
        self._closed = True
        for peer in list(self._peers.values()):
            await self._close(peer, HUB_CLOSED)
        if self._encoder is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._encoder.close)
