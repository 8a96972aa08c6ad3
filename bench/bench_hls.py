"""CPU cost of the public HLS stream: encoding the 1280×720 @ 25 fps public program feed into MPEG-TS
segments the way :class:`devices.broadcast.hls.HlsPublisher` does (libx264 veryfast/zerolatency at 1.5 Mbit/s,
a forced IDR frame per 2 s segment, mono AAC at 48 kHz fed from 16 kHz chunks).

Program pictures are composed beforehand from the simulated courtroom (the applicant speaking, so
mouths move and the clock changes) and not counted; sound is a synthetic voice-like signal. Reports
CPU seconds (process, all threads) per second of media, as fast as it goes, per encoder thread count.

    .venv/bin/python bench/bench_hls.py --seconds 20
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from devices.broadcast.hls_audio import AudioJitter
from devices.broadcast.hls_segments import AUDIO_RATE, Segment, SegmentEncoder
from devices.broadcast.program import ProgramFeed
from devices.clock import ScaledClock, WallClock
from devices.media import AudioChunk, Image, VideoFrame
from devices.simulated.room import SimulatedRoom, default_room_spec

LABELS = {
    "cam-bench": "仲裁员席",
    "cam-applicant": "申请人席",
    "cam-respondent": "被申请人席",
    "cam-wide": "全景",
}
FPS = 25.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def program_pictures(n: int, width: int, height: int) -> list[Image]:
    room = SimulatedRoom(default_room_spec(width, height, FPS), ScaledClock())
    for mic in room.microphones.values():
        mic.close()
    for camera in room.cameras.values():
        camera._is_speaking = lambda seat, t: seat == "applicant"
    feed = ProgramFeed(
        ScaledClock(), LABELS, width=width, height=height, fps=FPS, case_number="示劳人仲案字〔2026〕第118号"
    )
    feed.select("cam-applicant")
    feed.set_caption("申请人 张伟")
    pictures: list[Image] = []
    for k in range(n):
        t = k / FPS
        for camera_id, camera in room.cameras.items():
            feed.observe(camera_id, VideoFrame(camera.render(t), t))
        _, public = feed.compose(t)
        pictures.append(public)
    return pictures


def run(pictures: list[Image], seconds: float, threads: int, folder: Path) -> tuple[float, float, int]:
    """(CPU seconds per media second, media seconds per wall second, segments written)."""
    segments: list[Segment] = []
    encoder = SegmentEncoder(
        folder,
        f"{threads:08x}",
        width=pictures[0].shape[1],
        height=pictures[0].shape[0],
        fps=FPS,
        frames_per_segment=round(2.0 * FPS),
        video_bitrate=1_500_000,
        audio=True,
        on_segment=segments.append,
        clock=WallClock(),
        threads=threads,
    )
    jitter = AudioJitter()
    frames = round(seconds * FPS)
    rng = np.random.default_rng(1)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    for n in range(frames):
        t = n / FPS
        tt = t + np.arange(640) / 16_000
        voice = 0.2 * np.sin(2 * np.pi * 180 * tt) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * tt))
        samples = (voice + 0.01 * rng.standard_normal(640)).astype(np.float32)
        jitter.push(AudioChunk(samples, 16_000, t))
        encoder.write_video(pictures[n % len(pictures)], n)
        first = round(n * AUDIO_RATE / FPS)
        encoder.write_audio(jitter.take(round((n + 1) * AUDIO_RATE / FPS) - first))
    encoder.close()
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    return cpu / seconds, seconds / wall, len(segments)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="media seconds to encode per case")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()
    pictures = program_pictures(100, args.width, args.height)
    print(f"public HLS {args.width}x{args.height} @ {FPS:g} fps, {args.seconds:g} s per case")
    with tempfile.TemporaryDirectory(prefix="bench-hls-") as tmp:
        for threads in (1, 2):
            cores, speed, count = run(pictures, args.seconds, threads, Path(tmp))
            size = sum(p.stat().st_size for p in Path(tmp).glob("*.ts")) * 8 / args.seconds / 1e6
            print(
                f"libx264 threads={threads}: {cores:.2f} CPU s per media s, {speed:.1f}x real time, "
                f"{count} segments, {size:.2f} Mbit/s (load average {_load()})"
            )
            for path in Path(tmp).glob("*.ts"):
                path.unlink()


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


if __name__ == "__main__":
    main()
