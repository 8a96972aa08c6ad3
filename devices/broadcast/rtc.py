"""WebRTC peers for the hearing (aiortc): remote parties send and receive, viewers receive.

API (everything below runs on the server's asyncio loop unless said otherwise)::

    hub = RtcHub(program: VideoSource, mix: AudioSource, *, fps=25.0, bitrate=1_500_000,
                 keyframe_seconds=1.0, ice_servers=(), clock=None,
                 max_peers=MAX_PEERS, max_peers_per_owner=MAX_PEERS_PER_OWNER)
    answer: Answer = await hub.party(sdp: str, type: str, receiver: PartyReceiver,
                                     *, exclude: Collection[str] | None = None, owner: str = "")
    answer: Answer = await hub.viewer(sdp: str, type: str,
                                      *, on_closed: Callable[[str], None] | None = None, owner: str = "")
    await hub.close_peer(peer_id: str, reason: str) -> bool
    await hub.close() -> None
    hub.peer_ids -> list[str];  hub.encoder -> SharedVideoEncoder | None (its counters)
    Answer(sdp: str, type: str, peer_id: str)                       (devices.broadcast.rtc_sdp)
    RtcError(ValueError): .code in {"bad_sdp", "bad_type", "missing_media", "no_common_codec",
                                    "closed", "too_many_peers"}; the API answers with str(error)
                                    and .code (400 for a bad offer).
                                                                    (devices.broadcast.rtc_sdp)

* **party**: the party's audio and video tracks are decoded by aiortc and pushed into
  ``receiver.microphone`` / ``receiver.camera`` (``devices.broadcast.push.PushMicrophone`` / ``PushCamera``);
  the party gets the program feed (video) and the mix-minus (``mix.subscribe(exclude)``, by default
  excluding ``receiver.microphone.device_id``: the capture loop's source id for a device is its device
  id unless told otherwise). A new offer for the same receiver replaces the old connection.
* **viewer** (supervisor, observation room): receive only; the program feed and the full mix.
* **caps**: every peer costs threads and sockets, so one ``owner`` (a signed-in person; the API passes
  who asked) holds at most ``max_peers_per_owner`` peers — a further offer replaces their oldest, as a
  reloaded page replaces its own connection — and the hub at most ``max_peers``; past that an offer
  is refused (``too_many_peers``) before anything is built.
* When a connection fails or closes, the receiving devices are ``detach``\\ ed with the reason and
  ``receiver.on_closed(reason)`` (viewer: ``on_closed``) is called, on the loop (it must not block).
  The party may rejoin with a new offer; the same devices resume when pushes resume.

This module is the peer bookkeeping: who is connected in which role, and tearing each down exactly
once. **The program feed is encoded once for everyone** (:mod:`devices.broadcast.rtc_encoder`);
audio is encoded per peer with aiortc's Opus encoder (cheap; a party's mix-minus differs per party
anyway). The tracks that carry media between peers and devices are :mod:`devices.broadcast.rtc_tracks`
(blocking reads of the hearing side run on per-track threads, never on the loop), and offers are
checked by :mod:`devices.broadcast.rtc_sdp`. ICE uses no STUN server unless ``ice_servers`` are given
(the courtroom network is local; remote parties behind NAT need a TURN server here).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack

from devices.broadcast.rtc_encoder import SharedVideoEncoder, VideoSource
from devices.broadcast.rtc_sdp import HUB_CLOSED, Answer, RtcError, offered_media, vp8_only
from devices.broadcast.rtc_tracks import (
    AudioSink,
    ChunkSubscription,
    MixTrack,
    VideoSink,
    pump_audio,
    pump_video,
)
from devices.clock import Clock, WallClock

log = logging.getLogger(__name__)

DISCONNECTED = "远程连接已断开 (WebRTC connection closed)"
FAILED = "远程连接失败 (WebRTC connection failed)"
REPLACED = "远程连接已由新的连接取代 (replaced by a new connection)"
FULL = "本庭审的媒体连接已满，请稍后再试 (the hearing's media connections are full)"

MAX_PEERS = 48
"""Peers one hearing's hub serves: the parties, the tribunal's remote members, the supervisors and the
observation room (the public is served by HLS, not here)."""
MAX_PEERS_PER_OWNER = 3
"""Peers one person keeps: a page open in a couple of tabs or on two devices."""


# --- what the hub needs from the hearing side ----------------------------------------------------


class AudioSource(Protocol):
    """The room mix (``devices.broadcast.mix.AudioMixer``): paced, continuous mono chunks."""

    def subscribe(self, exclude: Collection[str] = ()) -> ChunkSubscription: ...


class PartyReceiver(Protocol):
    """A remote party as the hearing sees it: their devices and what to do when they drop."""

    @property
    def camera(self) -> VideoSink: ...

    @property
    def microphone(self) -> AudioSink: ...

    def on_closed(self, reason: str) -> None: ...


# --- peers and the hub ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Peer:
    peer_id: str
    role: Literal["party", "viewer"]
    pc: RTCPeerConnection
    receiver: PartyReceiver | None
    on_closed: Callable[[str], None] | None
    owner: str = ""
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closed: bool = False


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
        clock: Clock | None = None,
        max_peers: int = MAX_PEERS,
        max_peers_per_owner: int = MAX_PEERS_PER_OWNER,
    ) -> None:
        """
        :param bitrate: the shared program encoding's bitrate (bits/s), the same for every peer.
        :param keyframe_seconds: keyframe interval: the longest a new viewer waits without PLI.
        :param encoder_threads: libvpx threads (1 on a 2-core box: the threads would compete with
            decoding and packetising, and one thread keeps up with 720p25 at real-time settings).
        :param clock: paces the shared encoder's keyframe requests; the system clock when omitted.
        :param max_peers: the most peers in all (module doc: caps).
        :param max_peers_per_owner: the most peers of one owner (module doc: caps).
        """
        self._program = program
        self._mix = mix
        self._fps = fps
        self._bitrate = bitrate
        self._keyframe_seconds = keyframe_seconds
        self._encoder_threads = encoder_threads
        self._ice_servers = list(ice_servers)
        self._clock: Clock = clock if clock is not None else WallClock()
        self._encoder: SharedVideoEncoder | None = None
        self._peers: dict[str, _Peer] = {}
        self._closed = False
        self._max_peers = max_peers
        self._max_per_owner = max_peers_per_owner

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
                clock=self._clock,
                fps=self._fps,
                bitrate=self._bitrate,
                keyframe_seconds=self._keyframe_seconds,
                threads=self._encoder_threads,
            )
        return self._encoder

    async def party(
        self,
        sdp: str,
        type: str,
        receiver: PartyReceiver,
        *,
        exclude: Collection[str] | None = None,
        owner: str = "",
    ) -> Answer:
        """Answer a remote party's offer (they send audio+video, get the program and mix-minus)."""
        media = offered_media(sdp, type)
        for kind in ("audio", "video"):
            if media.get(kind) not in ("sendrecv", "sendonly"):
                raise RtcError("missing_media", f"当事人须发送音视频 (a party's offer must send {kind})")
        for old in [p for p in self._peers.values() if p.receiver is receiver]:
            await self._close(old, REPLACED)
        await self._make_room(owner)
        mix_exclude = (receiver.microphone.device_id,) if exclude is None else tuple(exclude)
        return await self._answer("party", sdp, media, receiver, receiver.on_closed, mix_exclude, owner)

    async def viewer(
        self, sdp: str, type: str, *, on_closed: Callable[[str], None] | None = None, owner: str = ""
    ) -> Answer:
        """Answer a viewer's offer (receive only: the program and the full mix)."""
        media = offered_media(sdp, type)
        if media.get("video") not in ("sendrecv", "recvonly"):
            raise RtcError("missing_media", "观看端须接收画面 (a viewer's offer must receive video)")
        await self._make_room(owner)
        return await self._answer("viewer", sdp, media, None, on_closed, (), owner)

    async def _make_room(self, owner: str) -> None:
        """Close the owner's oldest peers down to one less than their cap; refuse when the hub is
        full (module doc). Peers are kept in the order they were made, so the first are the oldest."""
        while owner:
            # Re-counted after each close: an offer of the same owner may have come in meanwhile.
            own = [p for p in self._peers.values() if p.owner == owner]
            if len(own) < self._max_per_owner:
                break
            await self._close(own[0], REPLACED)
        if len(self._peers) >= self._max_peers:
            raise RtcError("too_many_peers", FULL)

    async def _answer(
        self,
        role: Literal["party", "viewer"],
        sdp: str,
        media: dict[str, str],
        receiver: PartyReceiver | None,
        on_closed: Callable[[str], None] | None,
        mix_exclude: Collection[str],
        owner: str,
    ) -> Answer:
        if self._closed:
            raise RtcError("closed", HUB_CLOSED)
        loop = asyncio.get_running_loop()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice_servers))
        peer = _Peer(uuid.uuid4().hex, role, pc, receiver, on_closed, owner)
        self._peers[peer.peer_id] = peer
        try:
            # Transceivers made before the offer is applied carry our codec preference (VP8 only:
            # the shared encoding is VP8) and our direction.
            send = "sendrecv" if role == "party" else "sendonly"
            video: RTCRtpTransceiver | None = None
            if "video" in media:
                video = pc.addTransceiver("video", direction=send)
                video.setCodecPreferences(vp8_only())
            audio = pc.addTransceiver("audio", direction=send) if "audio" in media else None

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                if receiver is None:
                    return
                if track.kind == "video":
                    peer.tasks.append(loop.create_task(pump_video(track, receiver.camera)))
                elif track.kind == "audio":
                    peer.tasks.append(loop.create_task(pump_audio(track, receiver.microphone)))

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
                mix_track = MixTrack(self._mix.subscribe(mix_exclude), loop)
                peer.tracks.append(mix_track)
                audio.sender.replaceTrack(mix_track)

            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            local = pc.localDescription
            return Answer(local.sdp, local.type, peer.peer_id)
        except BaseException:
            await self._close(peer, None)
            raise

    async def close_peer(self, peer_id: str, reason: str) -> bool:
        """Hang up one peer (e.g. a party rejected or removed); False when it is not connected."""
        peer = self._peers.get(peer_id)
        if peer is None:
            return False
        await self._close(peer, reason)
        return True

    async def close_owner(self, owner: str, reason: str) -> int:
        """Hang up every peer of ``owner`` (a party removed from the hearing); how many there were."""
        own = [p for p in list(self._peers.values()) if owner and p.owner == owner]
        for peer in own:
            await self._close(peer, reason)
        return len(own)

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
