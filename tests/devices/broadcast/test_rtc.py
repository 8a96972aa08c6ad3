"""WebRTC end to end, in process: an aiortc client offers to the hub as a remote party (its picture and
tone reach the push devices; it receives the program and the mix-minus), as a viewer (receives the
program), and with a malformed offer (a clear error). A client hanging up detaches the devices."""

from __future__ import annotations

import asyncio
import fractions
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from devices.broadcast.mix import AudioMixer
from devices.broadcast.push import PushCamera, PushMicrophone
from devices.broadcast.rtc import RtcHub
from devices.broadcast.rtc_sdp import Answer, RtcError
from devices.clock import WallClock
from devices.interfaces import DeviceFault
from devices.media import AudioChunk, Image, Samples, VideoFrame

pytestmark = pytest.mark.slow

T = TypeVar("T")

PROGRAM_W, PROGRAM_H = 1280, 720
PARTY_W, PARTY_H = 640, 480
BLUE, YELLOW = (255, 0, 0), (0, 255, 255)
RED, GREEN = (0, 0, 255), (0, 200, 0)
PARTY_TONE = 440.0
ROOM_TONE = 1000.0


# --- the hearing side: a synthetic program feed and a room microphone -----------------------------


class FrameQueue:
    def __init__(self, program: SyntheticProgram) -> None:
        self._program = program
        self._next = 0

    def get(self, timeout: float | None = None) -> VideoFrame | None:
        return self._program.frame_after(self, timeout)

    def close(self) -> None:
        self._program.unsubscribe(self)


class SyntheticProgram:
    """A 1280×720 @ 25 program: blue left half, yellow right half, a white bar sweeping across."""

    def __init__(self, clock: WallClock, fps: float = 25.0) -> None:
        self.clock = clock
        self.fps = fps
        self.subscribers: list[FrameQueue] = []
        self._lock = threading.Lock()
        self._cache: tuple[int, Image] | None = None

    def subscribe(self) -> FrameQueue:
        q = FrameQueue(self)
        q._next = int(self.clock.now() * self.fps) + 1
        with self._lock:
            self.subscribers.append(q)
        return q

    def unsubscribe(self, q: FrameQueue) -> None:
        with self._lock:
            if q in self.subscribers:
                self.subscribers.remove(q)

    def frame_after(self, q: FrameQueue, timeout: float | None) -> VideoFrame | None:
        index = max(q._next, int(self.clock.now() * self.fps))
        t = index / self.fps
        if timeout is not None and t - self.clock.now() > timeout:
            time.sleep(timeout)
            return None
        self.clock.sleep_until(t)
        q._next = index + 1
        return VideoFrame(self.image(index), t)

    def image(self, index: int) -> Image:
        with self._lock:
            if self._cache is not None and self._cache[0] == index:
                return self._cache[1]
        img = np.empty((PROGRAM_H, PROGRAM_W, 3), np.uint8)
        img[:, : PROGRAM_W // 2] = BLUE
        img[:, PROGRAM_W // 2 :] = YELLOW
        x = (index * 16) % PROGRAM_W
        img[:, x : x + 24] = 255
        with self._lock:
            self._cache = (index, img)
        return img


def feed_room_tone(mixer: AudioMixer, clock: WallClock, stop: threading.Event) -> None:
    """A room microphone playing a 1 kHz tone into the mix, 100 ms chunks like the capture loop."""
    rate, n = 16000, 1600
    pos = round(clock.now() * rate)
    while not stop.is_set():
        clock.sleep_until((pos + n) / rate)
        t = np.arange(pos, pos + n) / rate
        samples = (0.3 * np.sin(2 * np.pi * ROOM_TONE * t)).astype(np.float32)
        mixer.feed("room-mic", AudioChunk(samples, rate, pos / rate))
        pos += n


@dataclass
class Party:
    camera: PushCamera
    microphone: PushMicrophone
    closed: list[str] = field(default_factory=list)

    def on_closed(self, reason: str) -> None:
        self.closed.append(reason)


# --- the client side ------------------------------------------------------------------------------


class PatternTrack(MediaStreamTrack):
    """The party's camera: red left half, green right half, a white bar moving down."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        self._n += 1
        await asyncio.sleep(max(0.0, self._start + self._n / 25 - time.monotonic()))
        img = np.empty((PARTY_H, PARTY_W, 3), np.uint8)
        img[:, : PARTY_W // 2] = RED
        img[:, PARTY_W // 2 :] = GREEN
        y = (self._n * 8) % PARTY_H
        img[y : y + 16] = 255
        frame = av.VideoFrame.from_ndarray(img, format="bgr24")
        frame.pts = self._n * 3600
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


class ToneTrack(MediaStreamTrack):
    """The party's microphone: a 440 Hz tone, 48 kHz stereo s16, 20 ms frames."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pos = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._pos / 48000 - time.monotonic()))
        t = np.arange(self._pos, self._pos + 960) / 48000
        mono = (0.5 * 32767 * np.sin(2 * np.pi * PARTY_TONE * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = self._pos
        frame.time_base = fractions.Fraction(1, 48000)
        self._pos += 960
        return frame


@dataclass
class Client:
    pc: RTCPeerConnection
    video: list[Image] = field(default_factory=list)
    audio: list[Samples] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def _collect(track: MediaStreamTrack, client: Client) -> None:
    try:
        while True:
            frame = await track.recv()
            if isinstance(frame, av.VideoFrame):
                client.video.append(np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8))
            elif isinstance(frame, av.AudioFrame):
                pcm = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
                client.audio.append((pcm[:, 0] / 32768).astype(np.float32))
    except MediaStreamError:
        pass


async def connect(offer: Callable[[str, str], Awaitable[Answer]], *, send: bool) -> tuple[Client, Answer]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client = Client(pc)
    if send:
        pc.addTrack(ToneTrack())
        pc.addTrack(PatternTrack())
    else:
        pc.addTransceiver("audio", direction="recvonly")
        pc.addTransceiver("video", direction="recvonly")

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        client.tasks.append(asyncio.ensure_future(_collect(track, client)))

    await pc.setLocalDescription(await pc.createOffer())
    answer = await offer(pc.localDescription.sdp, pc.localDescription.type)
    await pc.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
    return client, answer


async def until(what: str, check: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def dominant_frequency(samples: Samples, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), n=8 * len(samples)))
    return float(np.argmax(spectrum) * rate / (8 * len(samples)))


def near(pixel: np.ndarray, color: tuple[int, int, int], tolerance: int = 60) -> bool:
    return bool(np.all(np.abs(pixel.astype(int) - np.array(color)) <= tolerance))


@dataclass
class Hearing:
    clock: WallClock
    program: SyntheticProgram
    mixer: AudioMixer
    hub: RtcHub
    stop: threading.Event


def run(body: Callable[[Hearing], Awaitable[None]], timeout: float = 60.0) -> None:
    async def main() -> None:
        clock = WallClock()
        program = SyntheticProgram(clock)
        mixer = AudioMixer(clock)
        stop = threading.Event()
        room = threading.Thread(target=feed_room_tone, args=(mixer, clock, stop), daemon=True)
        room.start()
        hub = RtcHub(program, mixer, keyframe_seconds=1.0)
        try:
            await asyncio.wait_for(body(Hearing(clock, program, mixer, hub, stop)), timeout)
        finally:
            await hub.close()
            stop.set()
            room.join(2)

    asyncio.run(main())


# --- tests ----------------------------------------------------------------------------------------


def test_party_sends_picture_and_voice_and_receives_program_and_mix_minus() -> None:
    async def body(h: Hearing) -> None:
        camera = PushCamera("remote-applicant-cam", h.clock, width=PARTY_W, height=PARTY_H)
        microphone = PushMicrophone("remote-applicant-mic", h.clock)
        party = Party(camera, microphone)
        client, answer = await connect(lambda sdp, kind: h.hub.party(sdp, kind, party), send=True)
        assert "VP8" in answer.sdp and "H264" not in answer.sdp
        assert answer.peer_id in h.hub.peer_ids

        # The party's picture reaches the push camera (decoded, at the declared size).
        frame = await asyncio.to_thread(camera.read)
        for _ in range(10):
            frame = await asyncio.to_thread(camera.read)
        assert (frame.width, frame.height) == (PARTY_W, PARTY_H)
        assert abs(frame.t - h.clock.now()) < 1.0
        assert near(frame.image[PARTY_H // 2, 100], RED)
        assert near(frame.image[PARTY_H // 2, 540], GREEN)

        # The party's voice reaches the push microphone at 16 kHz, continuous.
        chunks = [await asyncio.to_thread(microphone.read, 0.1) for _ in range(15)]
        for a, b in itertools.pairwise(chunks):
            assert b.t == pytest.approx(a.end, abs=1e-6)
        voice = np.concatenate([c.samples for c in chunks[5:]])
        assert dominant_frequency(voice, 16000) == pytest.approx(PARTY_TONE, abs=5)
        assert float(np.sqrt(np.mean(voice**2))) > 0.1

        # The party receives decodable program frames and the room's sound.
        await until("program frames at the party", lambda: len(client.video) >= 10)
        picture = client.video[-1]
        assert picture.shape == (PROGRAM_H, PROGRAM_W, 3)
        assert near(picture[PROGRAM_H // 2, 100], BLUE) or near(picture[PROGRAM_H // 3, 100], BLUE)
        assert near(picture[PROGRAM_H // 2, 1180], YELLOW) or near(picture[PROGRAM_H // 3, 1180], YELLOW)
        await until("mix at the party", lambda: sum(len(a) for a in client.audio) >= 48000)
        heard = np.concatenate(client.audio)[-24000:]
        assert dominant_frequency(heard, 48000) == pytest.approx(ROOM_TONE, abs=10)
        encoder = h.hub.encoder
        assert encoder is not None and encoder.frames > 10 and encoder.keyframes >= 1

        # Hanging up detaches the devices and tells the hearing.
        await client.pc.close()
        await until("the hub to notice", lambda: bool(party.closed), 10)
        with pytest.raises(DeviceFault):
            await asyncio.to_thread(camera.read)
        assert answer.peer_id not in h.hub.peer_ids

    run(body)


def test_viewers_share_one_encoding_of_the_program() -> None:
    async def body(h: Hearing) -> None:
        first, _ = await connect(lambda sdp, kind: h.hub.viewer(sdp, kind), send=False)
        await until("frames at the first viewer", lambda: len(first.video) >= 5)
        second, _ = await connect(lambda sdp, kind: h.hub.viewer(sdp, kind), send=False)
        t0 = time.monotonic()
        await until("frames at the second viewer", lambda: len(second.video) >= 5)
        assert time.monotonic() - t0 < 5.0  # started from a keyframe, no long wait
        assert second.video[-1].shape == (PROGRAM_H, PROGRAM_W, 3)
        await until("audio at a viewer", lambda: len(second.audio) >= 10)
        # One program subscription and one encoder for both viewers.
        assert len(h.program.subscribers) == 1
        assert h.hub.encoder is not None and h.hub.encoder.tracks == 2
        for c in (first, second):
            await c.pc.close()

    run(body)


def test_malformed_offers_are_refused_with_a_clear_error() -> None:
    async def body(h: Hearing) -> None:
        party = Party(PushCamera("c", h.clock), PushMicrophone("m", h.clock))
        with pytest.raises(RtcError, match="SDP") as e:
            await h.hub.party("this is not sdp", "offer", party)
        assert e.value.code == "bad_sdp"
        with pytest.raises(RtcError) as e:
            await h.hub.viewer("v=0\r\nnonsense", "answer")
        assert e.value.code == "bad_type"
        with pytest.raises(RtcError) as e:
            await h.hub.viewer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 x\r\n", "offer")
        assert e.value.code == "bad_sdp"
        # A well-formed offer that only receives cannot be a party (they must send audio and video).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        with pytest.raises(RtcError) as e:
            await h.hub.party(pc.localDescription.sdp, "offer", party)
        assert e.value.code == "missing_media"
        await pc.close()
        assert h.hub.peer_ids == []

    run(body)
