"""CPU cost of the hearing recording: 4 cameras + 8 microphones, as the typical room has.

Feeds pre-made synthetic media (a textured room with moving figures and a little sensor noise) into a
:class:`~devices.recording.writer.SegmentedRecorder` as fast as it takes it, and reports the process
CPU time (all threads: encoding, overlay, hashing, fsync, backup copy) per second of hearing time,
and what share of a 2-core machine that is. Media generation is done beforehand and not counted.

    .venv/bin/python bench/bench_recording.py --seconds 20
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from devices.media import AudioChunk, VideoFrame
from devices.recording.files import files_on_disk
from devices.recording.verify import verify_recording
from devices.recording.writer import SegmentedRecorder

CORES = 2


@dataclass(frozen=True, slots=True)
class Setup:
    name: str
    cameras: int
    width: int
    height: int
    fps: int
    mics: int
    sample_rate: int = 48000


def scene(width: int, height: int, n: int, seed: int) -> list[npt.NDArray[np.uint8]]:
    """``n`` pictures of a still, textured room with two slowly moving figures and sensor noise."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, (height // 8, width // 8, 3), dtype=np.uint8)
    room = cv2.resize(cv2.GaussianBlur(base, (5, 5), 0), (width, height), interpolation=cv2.INTER_CUBIC)
    out = []
    for i in range(n):
        img = room.copy()
        for k, colour in enumerate(((30, 30, 120), (120, 60, 30))):
            x = int(width * (0.3 + 0.4 * k) + width * 0.05 * np.sin(i / 15 + k))
            y = int(height * 0.55)
            cv2.ellipse(img, (x, y), (width // 16, height // 4), 0, 0, 360, colour, -1)
            cv2.circle(img, (x, y - height // 4), width // 30, (150, 170, 200), -1)
        noise = rng.normal(0, 1.5, img.shape)
        out.append(np.clip(img + noise, 0, 255).astype(np.uint8))
    return out


def speech_like(sample_rate: int, seconds: float, seed: int) -> npt.NDArray[np.float32]:
    """Band-limited noise with a syllable-rate envelope: compresses like speech, unlike a pure tone."""
    rng = np.random.default_rng(seed)
    n = round(sample_rate * seconds)
    noise = rng.normal(0, 0.1, n)
    smooth = np.convolve(noise, np.ones(8) / 8, mode="same")
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * np.arange(n) / sample_rate)
    # Quantized to 16 bits as a real converter delivers it; FLAC stores the unused low bits for free.
    return (np.round(smooth * envelope * 32768) / 32768).astype(np.float32)


def run(setup: Setup, seconds: float, segment: float, threads: int, out: Path) -> dict[str, float]:
    root, backup = out / f"{setup.name}-rec", out / f"{setup.name}-backup"
    pictures = [scene(setup.width, setup.height, 50, seed=c) for c in range(setup.cameras)]
    chunk_seconds = 0.1
    audio = [speech_like(setup.sample_rate, 5.0, seed=100 + m) for m in range(setup.mics)]
    n_chunk = round(chunk_seconds * setup.sample_rate)

    rec = SegmentedRecorder(root, backup, segment_seconds=segment, video_threads=threads, max_queue=10_000)
    for c in range(setup.cameras):
        rec.add_video(f"cam{c + 1}", setup.width, setup.height, setup.fps)
    for m in range(setup.mics):
        rec.add_audio(f"mic{m + 1}", setup.sample_rate)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    frames = round(seconds * setup.fps)
    chunks_per_frame = 1 / (setup.fps * chunk_seconds)
    sent_chunks = 0
    for i in range(frames):
        t = i / setup.fps
        for c in range(setup.cameras):
            rec.write_video(f"cam{c + 1}", VideoFrame(pictures[c][i % 50], t))
        while sent_chunks < (i + 1) * chunks_per_frame:
            ct = sent_chunks * chunk_seconds
            k = sent_chunks % (len(audio[0]) // n_chunk)
            for m in range(setup.mics):
                samples = audio[m][k * n_chunk : (k + 1) * n_chunk]
                rec.write_audio(f"mic{m + 1}", AudioChunk(samples, setup.sample_rate, ct))
            sent_chunks += 1
        if i % setup.fps == setup.fps - 1:
            # Keep at most about a second queued, as live capture would.
            rec.drain()
    rec.close("benchmark done")
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0

    report = verify_recording(root, backup)
    assert report.ok, report.problems
    size = sum((root / f).stat().st_size for f in files_on_disk(root))
    shutil.rmtree(root)
    shutil.rmtree(backup)
    return {"cpu": cpu, "wall": wall, "per_s": cpu / seconds, "mb_per_hour": size / seconds * 3600 / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="hearing time to record per setup")
    parser.add_argument("--segment", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=1, help="x264 threads per camera")
    args = parser.parse_args()
    setups = [
        Setup("8 mics only", 0, 0, 0, 10, 8),
        Setup("4x 640x360@10 + 8 mics", 4, 640, 360, 10, 8),
        Setup("4x 1280x720@25 + 8 mics", 4, 1280, 720, 25, 8),
    ]
    print(
        f"{args.seconds:g} s of hearing time per setup, {args.segment:g} s segments, backup on the same disk"
    )
    header = f"{'CPU s':>7} {'wall s':>7} {'CPU s per media s':>18} {'share of 2 cores':>17} {'MB/hour':>8}"
    print(f"{'setup':28} {header}")
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as tmp:
        for s in setups:
            r = run(s, args.seconds, args.segment, args.threads, Path(tmp))
            print(
                f"{s.name:28} {r['cpu']:7.2f} {r['wall']:7.2f} {r['per_s']:18.3f} "
                f"{r['per_s'] / CORES:16.0%} {r['mb_per_hour']:8.0f}"
            )


if __name__ == "__main__":
    main()
