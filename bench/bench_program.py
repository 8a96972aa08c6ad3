"""CPU cost of the program feed: composing 1280×720 at 25 fps from four HD cameras and encoding it
the way the recording does (libx264 through PyAV, the recorder's time stamp burnt in).

Camera pictures come from the simulated courtroom at 1280×720, rendered beforehand and not counted;
each program frame takes a new picture from every camera (no reuse of a scaled frame). Reports CPU
seconds (process, all threads) per second of program, with and without a clerk's mask (masking
composes a second, public picture), and the goal: real time with at least half a core of the
two-core machine spare.

    .venv/bin/python bench/bench_program.py --seconds 20
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devices.broadcast.program import WHOLE_FEED, MaskMode, ProgramFeed
from devices.clock import ScaledClock
from devices.media import Image, VideoFrame
from devices.recording import SegmentedRecorder
from devices.simulated.room import SimulatedRoom, default_room_spec

CORES = 2
GOAL_SPARE = 0.5
LABELS = {
    "cam-bench": "仲裁员席",
    "cam-applicant": "申请人席",
    "cam-respondent": "被申请人席",
    "cam-wide": "全景",
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def camera_pictures(n: int, width: int, height: int) -> dict[str, list[Image]]:
    room = SimulatedRoom(default_room_spec(width, height, 25.0), ScaledClock())
    speaking = {"applicant"}
    for mic in room.microphones.values():
        mic.close()
    pictures: dict[str, list[Image]] = {}
    for camera_id, camera in room.cameras.items():
        camera._is_speaking = lambda seat, t: seat in speaking  # the applicant's mouth moves
        pictures[camera_id] = [camera.render(i / 25.0) for i in range(n)]
    return pictures


@dataclass(frozen=True, slots=True)
class Cost:
    cores: float
    """CPU seconds (all threads) per second of program."""
    compose_cores: float
    """Of which the composing thread's."""
    speed: float
    """Program seconds produced per wall second, as fast as it goes (depends on the machine's load)."""


def run(seconds: float, width: int, height: int, fps: float, masked: bool, folder: Path) -> Cost:
    """Compose and encode ``seconds`` of program as fast as possible."""
    frames = round(seconds * fps)
    pictures = camera_pictures(50, width, height)
    clock = ScaledClock()
    feed = ProgramFeed(
        clock, LABELS, width=width, height=height, fps=fps, case_number="示劳人仲案字〔2026〕第118号"
    )
    feed.select("cam-applicant")
    feed.set_caption("申请人 张伟")
    if masked:
        feed.set_mask("cam-respondent", MaskMode.BLUR)
        feed.set_mask(WHOLE_FEED, MaskMode.BLUR)
    viewer = feed.subscribe(max_frames=1)
    recorder = SegmentedRecorder(folder, segment_seconds=4.0, max_queue=10_000)
    recorder.add_video("program", width, height, fps)
    cpu0, wall0, own0 = cpu_seconds(), time.perf_counter(), time.thread_time()
    for k in range(frames):
        t = k / fps
        for camera, images in pictures.items():
            feed.observe(camera, VideoFrame(images[k % len(images)], t))
        clean, public = feed.compose(t)
        viewer.put(VideoFrame(public, t))
        recorder.write_video("program", VideoFrame(clean, t))
    own = time.thread_time() - own0
    recorder.drain()
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    recorder.close("bench over")
    return Cost(cpu / seconds, own / seconds, seconds / wall)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="program seconds to produce per case")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    budget = CORES - GOAL_SPARE
    print(f"program feed {args.width}x{args.height} @ {args.fps:g} fps, {args.seconds:g} s per case")
    with tempfile.TemporaryDirectory(prefix="bench-program-") as tmp:
        for masked in (False, True):
            what = "compose clean+masked, encode" if masked else "compose, encode"
            cost = run(args.seconds, args.width, args.height, args.fps, masked, Path(tmp) / str(masked))
            encode = cost.cores - cost.compose_cores
            # Real time needs each of the two threads (composing, encoding) under one core, and the
            # whole within the budget.
            ok = cost.cores <= budget and max(cost.compose_cores, encode) < 1.0
            print(
                f"{what:30s}: {cost.cores:.2f} cores of {CORES} (composing {cost.compose_cores:.2f}, "
                f"encoding {encode:.2f}); goal: real time with >= {GOAL_SPARE} core spare, i.e. "
                f"<= {budget:.1f} cores and each thread < 1 -> {'met' if ok else 'NOT met'}"
            )
            print(f"{'':30s}  ran at {cost.speed:.1f}x real time (load average {_load()})")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


if __name__ == "__main__":
    main()
