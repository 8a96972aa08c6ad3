"""CPU cost of the WebRTC side of the server (``web/rtc.py``): remote parties sending 640×480 video and
audio, and viewers of a 1280×720 @ 25 program feed (encoded once, shared by every viewer).

The server (an :class:`RtcHub` with a synthetic program feed, the :class:`AudioMixer` and push devices
drained like the capture loop drains them) runs in this process; the aiortc clients run in a child
process, so this process's CPU (all threads, ``getrusage``) is the server's alone. Clients do not
decode the video they receive (a browser would; here that would only steal the two cores from the
server): their video decoder is replaced by a counter. Party clients replay a pre-encoded VP8
camera (two seconds, looped), so the server decodes real VP8 while the clients stay cheap. The
box is shared: when other work competes, the received frame rates printed show it.

    .venv/bin/python bench/bench_web.py            # ~2 minutes
    .venv/bin/python bench/bench_web.py --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import multiprocessing as mp
import resource
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import av
import numpy as np

from devices.broadcast.mix import AudioMixer
from devices.broadcast.push import PushCamera, PushMicrophone
from devices.broadcast.rtc import RtcHub
from devices.clock import WallClock
from devices.interfaces import DeviceFault
from devices.media import AudioChunk, Image, VideoFrame

CORES = 2
PROGRAM_W, PROGRAM_H, FPS = 1280, 720, 25.0
PARTY_W, PARTY_H = 640, 480


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main_thread_cpu_seconds() -> float:
    """CPU seconds of the main thread (the asyncio loop: packetising, SRTP, conversions): if it nears
    one core the server is bound by the loop (and the GIL), whatever the total."""
    import os

    with open(f"/proc/self/task/{os.getpid()}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- server side: a synthetic program feed ----------------------------------------------------------


class _Sub:
    def __init__(self, program: SyntheticProgram) -> None:
        self.program = program
        self.next = int(program.clock.now() * FPS) + 1

    def get(self, timeout: float | None = None) -> VideoFrame | None:
        index = max(self.next, int(self.program.clock.now() * FPS))
        t = index / FPS
        if timeout is not None and t - self.program.clock.now() > timeout:
            time.sleep(timeout)
            return None
        self.program.clock.sleep_until(t)
        self.next = index + 1
        return VideoFrame(self.program.image(index), t)

    def close(self) -> None:
        pass


class SyntheticProgram:
    """1280×720 @ 25: a few pre-rendered pictures of moving content (rendering is not what we measure;
    the compositor's own cost is in bench_program.py)."""

    def __init__(self, clock: WallClock) -> None:
        self.clock = clock
        rng = np.random.default_rng(1)
        base = rng.integers(0, 255, (PROGRAM_H // 8, PROGRAM_W // 8, 3), dtype=np.uint8)
        base = np.repeat(np.repeat(base, 8, axis=0), 8, axis=1)
        self.pictures: list[Image] = []
        for i in range(50):
            img = np.roll(base, i * 6, axis=1).copy()  # a panning, detailed picture: real motion
            img[600:680, 40:900] = (30, 30, 30)  # a caption bar
            self.pictures.append(img)

    def image(self, index: int) -> Image:
        return self.pictures[index % len(self.pictures)]

    def subscribe(self) -> _Sub:
        return _Sub(self)


@dataclass
class ServerParty:
    camera: PushCamera
    microphone: PushMicrophone
    closed: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    frames: int = 0

    def on_closed(self, reason: str) -> None:
        self.closed.append(reason)

    def drain(self, mixer: AudioMixer) -> None:
        """Read the devices as the capture loop would, feeding the mic into the mix."""

        def video() -> None:
            while not self.stop.is_set():
                try:
                    self.camera.read()
                    self.frames += 1
                except DeviceFault:
                    self.stop.wait(0.2)

        def audio() -> None:
            while not self.stop.is_set():
                try:
                    mixer.feed(self.microphone.device_id, self.microphone.read(0.1))
                except DeviceFault:
                    self.stop.wait(0.2)

        threading.Thread(target=video, daemon=True).start()
        threading.Thread(target=audio, daemon=True).start()


def room_tone(mixer: AudioMixer, clock: WallClock, stop: threading.Event) -> None:
    rate, n = 16000, 1600
    pos = round(clock.now() * rate)
    while not stop.is_set():
        clock.sleep_until((pos + n) / rate)
        t = np.arange(pos, pos + n) / rate
        mixer.feed(
            "room-mic", AudioChunk((0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), rate, pos / rate)
        )
        pos += n


# --- client side (child process) --------------------------------------------------------------------


def _client_main(conn: Connection) -> None:
    asyncio.run(_client_loop(conn))


async def _client_loop(conn: Connection) -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, rtcrtpreceiver
    from aiortc.codecs.base import Decoder
    from aiortc.jitterbuffer import JitterFrame
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    counts = {"video": 0, "audio": 0}
    real_get_decoder = rtcrtpreceiver.get_decoder  # type: ignore[attr-defined]

    class CountingDecoder(Decoder):
        def decode(self, encoded_frame: JitterFrame) -> list[Any]:
            counts["video"] += 1
            return []

    def get_decoder(codec: Any) -> Decoder:
        return CountingDecoder() if codec.mimeType.lower().startswith("video/") else real_get_decoder(codec)

    rtcrtpreceiver.get_decoder = get_decoder  # type: ignore[attr-defined]  # the browser decodes, not this bench's CPU

    def camera_packets(seed: int) -> list[bytes]:
        """Two seconds of a 640×480 camera, VP8-encoded once: clients replay the packets, so the two
        cores go to the server rather than to four client encoders."""
        rng = np.random.default_rng(seed)
        base = rng.integers(0, 255, (PARTY_H // 8, PARTY_W // 8, 3), dtype=np.uint8)
        base = np.repeat(np.repeat(base, 8, axis=0), 8, axis=1)
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height, codec.pix_fmt = PARTY_W, PARTY_H, "yuv420p"
        codec.bit_rate = 800_000
        codec.time_base = fractions.Fraction(1, 90000)
        codec.gop_size = 50
        codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        out: list[bytes] = []
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i * 4, axis=0), format="bgr24").reformat(
                format="yuv420p"
            )
            frame.pts = i * 3600
            frame.time_base = fractions.Fraction(1, 90000)
            out.extend(bytes(p) for p in codec.encode(frame))
        return out

    class Camera(MediaStreamTrack):
        kind = "video"

        def __init__(self, packets: list[bytes]) -> None:
            super().__init__()
            self.packets = packets
            self.n = 0
            self.start = time.monotonic()

        async def recv(self) -> av.Packet:  # type: ignore[type-arg]
            await asyncio.sleep(max(0.0, self.start + self.n / FPS - time.monotonic()))
            packet = av.Packet(self.packets[self.n % len(self.packets)])
            packet.pts = self.n * 3600
            packet.time_base = fractions.Fraction(1, 90000)
            self.n += 1
            return packet

    class Mic(MediaStreamTrack):
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.pos = 0
            self.start = time.monotonic()

        async def recv(self) -> av.AudioFrame:
            await asyncio.sleep(max(0.0, self.start + self.pos / 48000 - time.monotonic()))
            t = np.arange(self.pos, self.pos + 960) / 48000
            pcm = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = 48000
            frame.pts = self.pos
            frame.time_base = fractions.Fraction(1, 48000)
            self.pos += 960
            return frame

    async def drain(track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                if track.kind == "audio":
                    counts["audio"] += 1
        except MediaStreamError:
            pass

    pcs: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    while True:
        msg = await asyncio.to_thread(conn.recv)
        if msg[0] == "open":
            _, kind, n = msg
            offers = []
            recorded = camera_packets(0) if kind == "party" else []
            for _ in range(n):
                pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
                if kind == "party":
                    pc.addTrack(Mic())
                    pc.addTrack(Camera(recorded))
                else:
                    pc.addTransceiver("audio", direction="recvonly")
                    pc.addTransceiver("video", direction="recvonly")
                pc.on("track", lambda track: tasks.append(asyncio.ensure_future(drain(track))))
                await pc.setLocalDescription(await pc.createOffer())
                offers.append(pc.localDescription.sdp)
                pcs.append(pc)
            conn.send(("offers", offers))
            _, answers = await asyncio.to_thread(conn.recv)
            for pc, sdp in zip(pcs[-n:], answers, strict=True):
                await pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            conn.send(("ok",))
        elif msg[0] == "stats":
            conn.send(("stats", dict(counts), cpu_seconds()))
        elif msg[0] == "close":
            for pc in pcs:
                await pc.close()
            for task in tasks:
                task.cancel()
            pcs.clear()
            tasks.clear()
            conn.send(("ok",))
        else:
            return


# --- the bench --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    peers: int
    server_cores: float
    loop_cores: float
    encoder_cores: float
    encoder_fps: float
    client_cores: float
    video_fps_per_peer: float
    party_fps: float


async def scenario(
    conn: Connection,
    hub: RtcHub,
    mixer: AudioMixer,
    clock: WallClock,
    kind: str,
    n: int,
    warm: float,
    seconds: float,
) -> Figure:
    parties: list[ServerParty] = []
    if n:
        conn.send(("open", kind, n))
        _, offers = await asyncio.to_thread(conn.recv)
        answers = []
        for i, sdp in enumerate(offers):
            if kind == "party":
                party = ServerParty(
                    PushCamera(f"remote{i}-cam", clock, width=PARTY_W, height=PARTY_H),
                    PushMicrophone(f"remote{i}-mic", clock),
                )
                party.drain(mixer)
                parties.append(party)
                answers.append((await hub.party(sdp, "offer", party)).sdp)
            else:
                answers.append((await hub.viewer(sdp, "offer")).sdp)
        conn.send(("answers", answers))
        await asyncio.to_thread(conn.recv)
    await asyncio.sleep(warm)
    conn.send(("stats",))
    _, counts0, client0 = await asyncio.to_thread(conn.recv)
    enc = hub.encoder
    enc0 = enc.encode_seconds if enc else 0.0
    frames0 = enc.frames if enc else 0
    party0 = sum(p.frames for p in parties)
    cpu0, loop0, wall0 = cpu_seconds(), main_thread_cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, loop1, wall1 = cpu_seconds(), main_thread_cpu_seconds(), time.monotonic()
    conn.send(("stats",))
    _, counts1, client1 = await asyncio.to_thread(conn.recv)
    wall = wall1 - wall0
    enc = hub.encoder
    figure = Figure(
        label=(f"{n} {'parties' if kind == 'party' else 'viewers'}" if n != 1 else f"1 {kind}")
        if n
        else "idle (room mix only)",
        peers=n,
        server_cores=(cpu1 - cpu0) / wall,
        loop_cores=(loop1 - loop0) / wall,
        encoder_cores=((enc.encode_seconds if enc else 0.0) - enc0) / wall,
        encoder_fps=((enc.frames if enc else 0) - frames0) / wall,
        client_cores=(client1 - client0) / wall,
        video_fps_per_peer=(counts1["video"] - counts0["video"]) / wall / max(1, n),
        party_fps=(sum(p.frames for p in parties) - party0) / wall / max(1, len(parties)),
    )
    conn.send(("close",))
    await asyncio.to_thread(conn.recv)
    for peer_id in hub.peer_ids:
        await hub.close_peer(peer_id, "bench done")
    for p in parties:
        p.stop.set()
        p.camera.close()
        p.microphone.close()
    await asyncio.sleep(1.0)
    return figure


async def main_async(seconds: float, warm: float) -> list[Figure]:
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    child = ctx.Process(target=_client_main, args=(there,), daemon=True)
    child.start()
    clock = WallClock()
    mixer = AudioMixer(clock)
    stop = threading.Event()
    threading.Thread(target=room_tone, args=(mixer, clock, stop), daemon=True).start()
    hub = RtcHub(SyntheticProgram(clock), mixer, fps=FPS)
    figures = []
    try:
        plan = [("viewer", 0), ("party", 1), ("party", 4), ("viewer", 1), ("viewer", 4), ("viewer", 8)]
        for kind, n in plan:
            figure = await scenario(here, hub, mixer, clock, kind, n, warm if n else 1.0, seconds)
            figures.append(figure)
            print(
                f"{figure.label:>22}: server {figure.server_cores:5.2f} cores"
                f" (loop thread {figure.loop_cores:4.2f},"
                f" shared program encoder {figure.encoder_cores:4.2f} at {figure.encoder_fps:4.1f} fps),"
                f" clients {figure.client_cores:4.2f};"
                f" program at each client {figure.video_fps_per_peer:4.1f} fps"
                + (f", party camera at server {figure.party_fps:4.1f} fps" if kind == "party" and n else ""),
                flush=True,
            )
    finally:
        here.send(("quit",))
        child.join(5)
        await hub.close()
        stop.set()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=12.0, help="measured seconds per scenario")
    parser.add_argument("--warm", type=float, default=4.0, help="seconds to settle before measuring")
    args = parser.parse_args()
    figures = asyncio.run(main_async(args.seconds, args.warm))
    by = {f.label: f for f in figures}
    idle = by["idle (room mix only)"].server_cores
    v1, v8 = by["1 viewer"].server_cores, by["8 viewers"].server_cores
    per_viewer = max(1e-3, (v8 - v1) / 7)
    fixed = max(0.0, v1 - per_viewer - idle)  # the shared encoding itself
    p4 = by["4 parties"]
    per_party = max(1e-3, (p4.server_cores - idle - fixed) / 4)
    print()
    print(f"shared program encoding: {fixed:.2f} cores once; each viewer adds {per_viewer:.3f} cores")
    print(
        f"each remote party costs about {per_party:.2f} cores (decode 640x480, push, program relay,"
        f" mix-minus), measured at {p4.party_fps:.0f} fps received"
    )
    budget = CORES * 0.5  # the other half of the box: program compositing, recording, transcription
    print(
        f"with half of a {CORES}-core box for WebRTC ({budget:.1f} cores): about"
        f" {int((budget - idle - fixed) / per_viewer)} viewers, or"
        f" {int((budget - idle - fixed) / per_party)} remote parties; with the whole box"
        f" {int((CORES * 0.9 - idle - fixed) / per_viewer)} viewers"
    )


if __name__ == "__main__":
    main()
