from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devices.recording.manifest import EventAction, ManifestError, SegmentStatus
from devices.recording.recovery import recover
from devices.recording.verify import verify_recording
from devices.recording.writer import SegmentedRecorder
from tests.devices.recording.helpers import FPS, SR, H, W, decode_video, events, frame, segments

REPO = Path(__file__).resolve().parents[3]

CHILD = """
import sys, time
from pathlib import Path
from devices.recording.writer import SegmentedRecorder
from tests.devices.recording.helpers import FPS, SR, W, H, frame, chunk

rec = SegmentedRecorder(Path(sys.argv[1]), Path(sys.argv[2]), segment_seconds=2.0)
rec.add_video("cam1", W, H, FPS)
rec.add_audio("mic1", SR)
for i in range(35):  # 3.5 s: segment 1 closed, segment 2 open with 1.5 s in it
    rec.write_video("cam1", frame(i))
    rec.write_audio("mic1", chunk(i))
rec.drain(20)
print("READY", flush=True)
time.sleep(60)
"""


def _crash(root: Path, backup: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), str(backup)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "READY"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL


def test_recovery_after_kill_9(tmp_path: Path) -> None:
    root, backup = tmp_path / "rec", tmp_path / "backup"
    _crash(root, backup)
    # A write cut off mid-line, as a power cut can leave it.
    with (root / "manifest.jsonl").open("ab") as f:
        f.write(b'{"kind":"event","seq":99,"sour')
    before = verify_recording(root)
    assert not before.ok
    assert any("cam1/cam1-000002.mp4: on disk but not in the manifest" in p for p in before.problems)
    assert any("last line is incomplete" in p for p in before.problems)
    with pytest.raises(Exception, match="recovery"):
        SegmentedRecorder(root)

    added = recover(root, "restart after power failure")

    assert added[-1].kind == "event"
    last = events(root)[-1]
    assert last.action is EventAction.RECOVERED
    assert "2 open segment(s)" in last.reason and "torn last manifest line (30 bytes)" in last.reason
    defective = [s for s in segments(root) if s.status is SegmentStatus.DEFECTIVE]
    assert sorted(s.file for s in defective) == ["cam1/cam1-000002.mp4", "mic1/mic1-000002.flac"]
    cam = next(s for s in defective if s.source == "cam1")
    partial = decode_video(root / cam.file)
    # Fragments end at each keyframe (1 s): at least the 2.0-2.9 s fragment survived the kill.
    assert len(partial) >= 10 and cam.count == len(partial)
    assert cam.start == 2.0 and "restart after power failure" in cam.reason
    mic = next(s for s in defective if s.source == "mic1")
    assert mic.start == 2.0 and mic.count > 0
    report = verify_recording(root)
    assert report.ok, report.problems
    assert len(report.defective) == 2

    # The recording continues in the same folder: numbering and chain go on, and the backup catches up
    # with what the crash kept from it.
    rec = SegmentedRecorder(root, backup, segment_seconds=2.0)
    rec.add_video("cam1", W, H, FPS)
    rec.add_audio("mic1", SR)
    for i in range(40, 45):
        rec.write_video("cam1", frame(i))
    rec.close("闭庭 hearing closed")
    assert [s.index for s in segments(root, "cam1")] == [1, 2, 3]
    report = verify_recording(root, backup)
    assert report.ok, report.problems


def test_recover_refuses_damage_that_is_not_a_crash(tmp_path: Path) -> None:
    rec = SegmentedRecorder(tmp_path, segment_seconds=1.0)
    rec.add_video("cam1", W, H, FPS)
    rec.write_video("cam1", frame(0))
    rec.close("done")
    lines = (tmp_path / "manifest.jsonl").read_bytes().split(b"\n")
    lines[0] = b"garbage"
    (tmp_path / "manifest.jsonl").write_bytes(b"\n".join(lines))
    with pytest.raises(ManifestError, match="line 1"):
        recover(tmp_path, "restart")


def test_recover_on_a_clean_folder_only_logs(tmp_path: Path) -> None:
    rec = SegmentedRecorder(tmp_path, segment_seconds=1.0)
    rec.add_video("cam1", W, H, FPS)
    rec.write_video("cam1", frame(0))
    rec.close("done")
    [entry] = recover(tmp_path, "restart")
    assert entry.kind == "event" and "0 open segment(s)" in entry.reason
    assert verify_recording(tmp_path).ok
