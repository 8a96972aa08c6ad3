from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devices.recording.manifest import compute_chain
from devices.recording.verify import main, verify_recording
from devices.recording.writer import SegmentedRecorder
from tests.devices.recording.helpers import FPS, SR, H, W, chunk, frame


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "rec"
    backup = root.parent / "backup"
    rec = SegmentedRecorder(root, backup, segment_seconds=1.0)
    rec.add_video("cam1", W, H, FPS)
    rec.add_audio("mic1", SR)
    for i in range(30):
        rec.write_video("cam1", frame(i))
        rec.write_audio("mic1", chunk(i))
    rec.close("闭庭 hearing closed")
    return root


@pytest.fixture
def rec(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "rec"
    shutil.copytree(pristine, copy)
    shutil.copytree(pristine.parent / "backup", tmp_path / "backup")
    return copy


def _problems(root: Path) -> list[str]:
    report = verify_recording(root)
    assert not report.ok
    return report.problems


def test_intact_recording_verifies(rec: Path) -> None:
    report = verify_recording(rec, rec.parent / "backup")
    assert report.ok, report.problems
    assert report.segments_checked == 6 and report.defective == []


def test_one_changed_byte_names_the_segment(rec: Path) -> None:
    path = rec / "cam1/cam1-000002.mp4"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert _problems(rec) == [
        "cam1/cam1-000002.mp4: SHA-256 differs from the manifest; the segment was altered"
    ]


def test_truncated_segment(rec: Path) -> None:
    path = rec / "mic1/mic1-000003.flac"
    path.write_bytes(path.read_bytes()[:-10])
    [problem] = _problems(rec)
    assert problem.startswith("mic1/mic1-000003.flac:") and "truncated" in problem


def test_deleted_segment(rec: Path) -> None:
    (rec / "mic1/mic1-000001.flac").unlink()
    [problem] = _problems(rec)
    assert problem.startswith("mic1/mic1-000001.flac: listed in the manifest")
    assert "removed" in problem


def test_swapped_segments(rec: Path) -> None:
    a, b = rec / "cam1/cam1-000001.mp4", rec / "cam1/cam1-000002.mp4"
    tmp = rec / "x"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    problems = _problems(rec)
    assert len(problems) == 2
    assert problems[0].startswith("cam1/cam1-000001.mp4: holds the content listed for cam1/cam1-000002.mp4")
    assert all("swapped" in p for p in problems)


def test_edited_manifest_line(rec: Path) -> None:
    lines = (rec / "manifest.jsonl").read_text("utf-8").splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if '"cam1/cam1-000002.mp4"' in line)
    lines[i] = lines[i].replace('"start":1.0', '"start":1.5')
    (rec / "manifest.jsonl").write_text("".join(lines), "utf-8")
    [problem] = _problems(rec)
    where = f"manifest.jsonl line {i + 1} (cam1/cam1-000002.mp4)"
    assert problem == f"{where}: content does not match its chain hash; the line was edited"


def test_removed_manifest_line(rec: Path) -> None:
    lines = (rec / "manifest.jsonl").read_text("utf-8").splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if '"mic1/mic1-000002.flac"' in line)
    del lines[i]
    (rec / "manifest.jsonl").write_text("".join(lines), "utf-8")
    problems = _problems(rec)
    text = "\n".join(problems)
    assert "removed, inserted or reordered" in text
    assert "mic1/mic1-000003.flac: index 3 of source mic1 where 2 was expected" in text
    assert "mic1/mic1-000002.flac: on disk but not in the manifest" in text


def test_reordered_and_rechained_manifest(rec: Path) -> None:
    """A forger who swaps two segments' lines and recomputes every hash is still caught by the
    per-source numbering and times."""
    rows = [json.loads(line) for line in (rec / "manifest.jsonl").read_text("utf-8").splitlines()]
    i = next(k for k, r in enumerate(rows) if r.get("file") == "cam1/cam1-000001.mp4")
    j = next(k for k, r in enumerate(rows) if r.get("file") == "cam1/cam1-000002.mp4")
    rows[i], rows[j] = rows[j], rows[i]
    prev = "0" * 64
    out = []
    for seq, r in enumerate(rows):
        r["seq"] = seq
        body = {k: v for k, v in r.items() if k not in ("prev", "chain")}
        r["prev"], r["chain"] = prev, compute_chain(prev, body)
        prev = r["chain"]
        out.append(json.dumps(r, ensure_ascii=False) + "\n")
    (rec / "manifest.jsonl").write_text("".join(out), "utf-8")
    text = "\n".join(_problems(rec))
    assert "cam1/cam1-000002.mp4: index 2 of source cam1 where 1 was expected" in text
    assert "cam1/cam1-000001.mp4: starts at t=0.000, before cam1/cam1-000002.mp4" in text


def test_cut_off_manifest_end(rec: Path) -> None:
    lines = (rec / "manifest.jsonl").read_text("utf-8").splitlines(keepends=True)
    last_cam = max(k for k, line in enumerate(lines) if '"cam1/' in line)
    (rec / "manifest.jsonl").write_text("".join(lines[:last_cam]), "utf-8")
    text = "\n".join(_problems(rec))
    assert "manifest.jsonl: source cam1 started (line " in text
    assert "but never stopped; the recording is still running or was not closed, or the end" in text
    assert "cam1/cam1-000003.mp4: on disk but not in the manifest" in text


def test_added_file(rec: Path) -> None:
    shutil.copy(rec / "cam1/cam1-000003.mp4", rec / "cam1/cam1-000004.mp4")
    [problem] = _problems(rec)
    assert problem.startswith("cam1/cam1-000004.mp4: on disk but not in the manifest")


def test_backup_differences(rec: Path) -> None:
    backup = rec.parent / "backup"
    (backup / "cam1/cam1-000001.mp4").unlink()
    (backup / "mic1/mic1-000002.flac").write_bytes(b"x")
    report = verify_recording(rec, backup)
    assert not report.ok
    assert sorted(report.problems) == [
        "backup: cam1/cam1-000001.mp4 missing",
        "backup: mic1/mic1-000002.flac differs from the manifest's SHA-256",
    ]


def test_main_prints_the_segment_and_exits_nonzero(rec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(rec), "--backup", str(rec.parent / "backup")]) == 0
    assert "OK" in capsys.readouterr().out
    (rec / "cam1/cam1-000003.mp4").write_bytes(b"forged")
    assert main([str(rec)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "cam1/cam1-000003.mp4" in out
    assert main([str(rec / "nope")]) == 2
