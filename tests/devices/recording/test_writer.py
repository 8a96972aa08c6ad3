from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from devices.media import AudioChunk, VideoFrame
from devices.recording.encoders import VideoSegmentFile, quantize_pcm24
from devices.recording.files import sha256_file
from devices.recording.manifest import EventAction, ManifestEntry, ManifestNeedsRecovery, SegmentStatus
from devices.recording.overlay import hearing_clock_text, overlay_box
from devices.recording.verify import verify_recording
from devices.recording.writer import RecorderClosed, SegmentedRecorder
from tests.devices.recording.helpers import (
    FPS,
    SR,
    H,
    W,
    chunk,
    decode_video,
    events,
    frame,
    picture,
    segments,
    tone,
    wait_for,
)


def _record(root: Path, seconds: float, backup: Path | None = None, **kw: object) -> list[ManifestEntry]:
    seen: list[ManifestEntry] = []
    rec = SegmentedRecorder(root, backup, segment_seconds=1.0, on_entry=seen.append, **kw)  # type: ignore[arg-type]
    rec.add_video("cam1", W, H, FPS)
    rec.add_audio("mic1", SR)
    for i in range(round(seconds * FPS)):
        rec.write_video("cam1", frame(i))
        rec.write_audio("mic1", chunk(i))
    rec.close("闭庭 hearing closed")
    return seen


def test_segments_rotate_on_hearing_clock_and_decode(tmp_path: Path) -> None:
    seen = _record(tmp_path, 2.5)
    video = segments(tmp_path, "cam1")
    assert [s.file for s in video] == [f"cam1/cam1-00000{i}.mp4" for i in (1, 2, 3)]
    assert [(s.start, s.end, s.count) for s in video] == [(0.0, 1.0, 10), (1.0, 2.0, 10), (2.0, 2.5, 5)]
    for s in video:
        assert s.status is SegmentStatus.OK
        frames = decode_video(tmp_path / s.file)
        assert len(frames) == s.count
        assert frames[0].key_frame, "every segment must start with a keyframe"
        # Source timing kept: one frame every 1/fps seconds from the segment start.
        assert [round(f.time or 0.0, 3) for f in frames] == [round(k / FPS, 3) for k in range(s.count)]
    # on_entry saw every manifest entry, in order.
    assert [e.seq for e in seen] == list(range(len(seen)))
    assert verify_recording(tmp_path).ok


def test_overlay_shows_the_synchronized_time(tmp_path: Path) -> None:
    rec = SegmentedRecorder(tmp_path, segment_seconds=4.0, timestamp_text=lambda t: f"T+{t:07.3f}")
    rec.add_video("cam1", W, H, FPS)
    rec.write_video("cam1", frame(0))
    rec.close("done")
    decoded = decode_video(tmp_path / "cam1/cam1-000001.mp4")[0].to_ndarray(format="bgr24")
    box = overlay_box(W, H, "T+000.000")
    inside = decoded[box.y : box.y + box.height, box.x : box.x + box.width].astype(int)
    source = picture(0)[box.y : box.y + box.height, box.x : box.x + box.width].astype(int)
    # The box is dark where the source was bright, with bright text strokes inside it.
    assert source.mean() > 150
    assert (inside.mean(axis=2) < 60).mean() > 0.5
    assert (inside.mean(axis=2) > 180).sum() > 20
    # Away from the box the picture is the source's (within compression error).
    away = decoded[H // 2 :, W // 2 :].astype(int) - picture(0)[H // 2 :, W // 2 :].astype(int)
    assert np.abs(away).mean() < 6


def test_default_overlay_text_is_hearing_clock() -> None:
    assert hearing_clock_text(3723.4567) == "01:02:03.457"
    assert hearing_clock_text(0) == "00:00:00.000"


def test_audio_is_lossless_and_cut_at_the_same_boundaries(tmp_path: Path) -> None:
    rec = SegmentedRecorder(tmp_path, segment_seconds=1.0)
    rec.add_audio("mic1", SR)
    # 0.3 s chunks straddle the 1 s boundaries: they must be split at the exact sample.
    n = round(0.3 * SR)
    sent = [AudioChunk(tone(i * n, n), SR, i * n / SR) for i in range(8)]
    for c in sent:
        rec.write_audio("mic1", c)
    rec.close("done")
    audio = segments(tmp_path, "mic1")
    assert [(s.start, s.end, s.count) for s in audio] == [(0.0, 1.0, SR), (1.0, 2.0, SR), (2.0, 2.4, 6400)]
    decoded = np.concatenate([sf.read(tmp_path / s.file, dtype="int32")[0] for s in audio])
    original = np.concatenate([c.samples for c in sent])
    assert np.array_equal(decoded, quantize_pcm24(original))
    assert np.abs(decoded.astype(np.float64) / 2**31 - original).max() < 2**-23


def test_audio_gap_starts_a_new_segment_at_the_microphone_time(tmp_path: Path) -> None:
    rec = SegmentedRecorder(tmp_path, segment_seconds=4.0)
    rec.add_audio("mic1", SR)
    rec.write_audio("mic1", AudioChunk(tone(0, 1600), SR, 0.0))
    rec.write_audio("mic1", AudioChunk(tone(1600, 1600), SR, 0.1))
    rec.write_audio("mic1", AudioChunk(tone(0, 1600), SR, 0.7))  # 0.5 s of sound missing
    rec.write_audio("mic1", AudioChunk(tone(0, 1600), SR, 0.65))  # time went backwards: dropped
    rec.close("done")
    audio = segments(tmp_path, "mic1")
    assert [(s.start, s.end) for s in audio] == [(0.0, 0.2), (0.7, 0.8)]
    assert "0.500 s after" in audio[1].reason
    assert "non-increasing" in audio[1].reason


def test_interrupt_and_resume_are_logged_and_close_the_segment(tmp_path: Path) -> None:
    rec = SegmentedRecorder(tmp_path, segment_seconds=4.0)
    rec.add_video("cam1", W, H, FPS)
    for i in range(5):
        assert rec.write_video("cam1", frame(i))
    rec.interrupt("*", "休庭 recess", t=0.55)
    assert not rec.write_video("cam1", frame(6))  # not recorded, and counted
    rec.interrupt("cam1", "camera unplugged", hold="device", t=0.7)
    rec.resume("cam1", "camera back", hold="device", t=0.8)
    assert rec.is_interrupted("cam1"), "the recess still holds"
    assert not rec.write_video("cam1", frame(9))
    rec.resume("*", "recess over", t=1.0)
    for i in range(10, 15):
        assert rec.write_video("cam1", frame(i))
    rec.close("done")
    video = segments(tmp_path, "cam1")
    assert [(s.start, s.end, s.count) for s in video] == [(0.0, 0.5, 5), (1.0, 1.5, 5)]
    acts = [(e.action, e.reason, e.t) for e in events(tmp_path, "cam1")]
    assert acts[0][0] is EventAction.START
    assert acts[1] == (EventAction.INTERRUPT, "休庭 recess", 0.55)
    assert acts[2] == (EventAction.INTERRUPT, "camera unplugged", 0.7)
    assert acts[3][0] is EventAction.RESUME and acts[3][2] == 1.0
    assert "recess over" in acts[3][1] and "2 item(s) offered while interrupted" in acts[3][1]
    assert acts[4][0] is EventAction.STOP
    assert verify_recording(tmp_path).ok


def test_encoder_error_marks_segment_defective_and_recording_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = VideoSegmentFile.write

    def failing(self: VideoSegmentFile, image: np.ndarray, t: float) -> bool:
        if abs(t - 1.5) < 1e-9:
            raise RuntimeError("injected encoder failure")
        return original(self, image, t)

    monkeypatch.setattr(VideoSegmentFile, "write", failing)
    _record(tmp_path, 3.0)
    video = segments(tmp_path, "cam1")
    assert [(s.start, s.count, s.status) for s in video] == [
        (0.0, 10, SegmentStatus.OK),
        (1.0, 5, SegmentStatus.DEFECTIVE),
        (1.6, 4, SegmentStatus.OK),
        (2.0, 10, SegmentStatus.OK),
    ]
    assert "injected encoder failure" in video[1].reason
    assert len(decode_video(tmp_path / video[1].file)) >= 1, "the defective segment is kept"
    acts = [(e.action, e.t) for e in events(tmp_path, "cam1")]
    assert (EventAction.INTERRUPT, 1.5) in acts and (EventAction.RESUME, 1.6) in acts
    assert [s.count for s in segments(tmp_path, "mic1")] == [SR, SR, SR], "audio is not affected"
    report = verify_recording(tmp_path)
    assert report.ok and len(report.defective) == 1


def test_full_queue_is_a_logged_interruption(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = VideoSegmentFile.write
    gate = threading.Event()

    def slow(self: VideoSegmentFile, image: np.ndarray, t: float) -> bool:
        gate.wait(5)
        return original(self, image, t)

    monkeypatch.setattr(VideoSegmentFile, "write", slow)
    rec = SegmentedRecorder(tmp_path, segment_seconds=4.0, max_queue=3)
    rec.add_video("cam1", W, H, FPS)
    accepted = [rec.write_video("cam1", frame(i)) for i in range(10)]
    gate.set()
    assert rec.drain(10)
    assert rec.write_video("cam1", frame(10))
    rec.close("done")
    dropped = accepted.count(False)
    assert dropped >= 5
    ev = [e for e in events(tmp_path, "cam1") if e.action in (EventAction.INTERRUPT, EventAction.RESUME)]
    # Depending on when the encoder thread takes the first frame, the drops form one or two spans;
    # every dropped frame is counted in some interruption, each followed by its resume.
    actions = [e.action for e in ev]
    assert actions[0] is EventAction.INTERRUPT and actions == [EventAction.INTERRUPT, EventAction.RESUME] * (
        len(ev) // 2
    )
    counted = [re.search(r"(\d+) item\(s\) dropped", e.reason) for e in ev[::2]]
    assert sum(int(m.group(1)) for m in counted if m) == dropped
    assert ev[-1].t == 1.0
    assert sum(s.count for s in segments(tmp_path, "cam1")) == 11 - dropped


def test_backup_copies_are_identical(tmp_path: Path) -> None:
    root, backup = tmp_path / "rec", tmp_path / "backup"
    _record(root, 2.0, backup)
    listed = segments(root)
    assert len(listed) == 4
    for s in listed:
        assert sha256_file(backup / s.file) == (s.sha256, s.bytes)
    assert (backup / "manifest.jsonl").read_bytes() == (root / "manifest.jsonl").read_bytes()
    assert verify_recording(root, backup).ok
    assert verify_recording(backup).ok


def test_unwritable_backup_is_logged_and_recording_goes_on(tmp_path: Path) -> None:
    root, backup = tmp_path / "rec", tmp_path / "backup"
    rec = SegmentedRecorder(root, backup, segment_seconds=1.0, backup_retry_seconds=0.1)
    rec.add_video("cam1", W, H, FPS)
    for i in range(12):
        rec.write_video("cam1", frame(i))
    assert rec.drain(10)
    assert wait_for(lambda: (backup / "cam1/cam1-000001.mp4").exists())
    # The backup share goes away: its path now leads to a plain file.
    shutil.move(backup, tmp_path / "backup.away")
    backup.write_bytes(b"not a folder")
    for i in range(12, 32):
        rec.write_video("cam1", frame(i))
    assert rec.drain(10)
    assert wait_for(lambda: rec.backup_problem is not None)
    assert len(segments(root, "cam1")) == 3, "recording goes on"
    # The share comes back: the backup catches up by itself.
    backup.unlink()
    shutil.move(tmp_path / "backup.away", backup)
    assert wait_for(
        lambda: rec.backup_problem is None and any(e.action is EventAction.BACKUP_OK for e in events(root))
    )
    rec.close("done")
    failed = [e for e in events(root) if e.action is EventAction.BACKUP_FAILED]
    assert len(failed) == 1 and "retrying" in failed[0].reason
    assert verify_recording(root, backup).ok


def test_restart_continues_numbering_and_chain(tmp_path: Path) -> None:
    _record(tmp_path, 1.5)
    rec = SegmentedRecorder(tmp_path, segment_seconds=1.0)
    rec.add_video("cam1", W, H, FPS)
    for i in range(20, 25):
        rec.write_video("cam1", frame(i))
    rec.close("done")
    assert [s.index for s in segments(tmp_path, "cam1")] == [1, 2, 3]
    assert verify_recording(tmp_path).ok


def test_refuses_a_folder_with_unlisted_segments(tmp_path: Path) -> None:
    _record(tmp_path, 0.5)
    shutil.copy(tmp_path / "cam1/cam1-000001.mp4", tmp_path / "cam1/cam1-000002.mp4")
    with pytest.raises(ManifestNeedsRecovery, match="cam1-000002"):
        SegmentedRecorder(tmp_path)


def test_thread_safety_and_closed_recorder(tmp_path: Path) -> None:
    rec = SegmentedRecorder(tmp_path, segment_seconds=1.0)
    for k in range(3):
        rec.add_video(f"cam{k}", W, H, FPS)

    def feed(k: int) -> None:
        for i in range(15):
            rec.write_video(f"cam{k}", VideoFrame(picture(i), i / FPS))

    threads = [threading.Thread(target=feed, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.close("done")
    rec.close("twice is harmless")
    with pytest.raises(RecorderClosed):
        rec.write_video("cam0", frame(99))
    assert len(segments(tmp_path)) == 6
    report = verify_recording(tmp_path)
    assert report.ok, report.problems
    started = time.monotonic()
    assert verify_recording(tmp_path).segments_checked == 6
    assert time.monotonic() - started < 2


def test_odd_and_changing_picture_sizes_start_new_segments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="libx999"):
        SegmentedRecorder(tmp_path / "x", video_codec="libx999")
    rec = SegmentedRecorder(tmp_path, segment_seconds=4.0)
    rec.add_video("cam1", 321, 241, FPS)
    for i in range(3):
        rec.write_video("cam1", VideoFrame(np.full((241, 321, 3), 90, np.uint8), i / FPS))
    for i in range(3, 6):
        rec.write_video("cam1", VideoFrame(np.full((120, 160, 3), 90, np.uint8), i / FPS))
    rec.close("done")
    first, second = segments(tmp_path, "cam1")
    assert decode_video(tmp_path / first.file)[0].width == 322, "odd sizes are padded, not cropped"
    assert (second.start, second.count) == (0.3, 3) and "picture size changed to 160x120" in second.reason
    assert verify_recording(tmp_path).ok
