"""The real speech clip comes at set-up, never during a test: fetched once, checked, kept."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from transcripts import speech_material
from transcripts.speech_material import F5_MEMBER, SpeechMaterialMissing, ensure_f5_clip, f5_clip


def test_nothing_is_fetched_when_the_clip_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f5_clip(tmp_path).write_bytes(b"RIFF")

    def no_download(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("nothing to download")

    monkeypatch.setattr(speech_material.subprocess, "run", no_download)
    assert ensure_f5_clip(tmp_path) == f5_clip(tmp_path)


def test_offline_set_up_says_how_to_get_the_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "network is unreachable")

    monkeypatch.setattr(speech_material.subprocess, "run", offline)
    folder = tmp_path / "speech"
    with pytest.raises(SpeechMaterialMissing, match=r"setup\.sh"):
        ensure_f5_clip(folder)
    assert not f5_clip(folder).exists()
    assert speech_material.main([str(folder)]) == 1


def test_a_different_clip_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def other_wheel(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        folder = Path(command[command.index("-d") + 1])
        with zipfile.ZipFile(folder / "f5_tts-9.9.9-py3-none-any.whl", "w") as wheel:
            wheel.writestr(F5_MEMBER, b"RIFF, but not that clip")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(speech_material.subprocess, "run", other_wheel)
    with pytest.raises(SpeechMaterialMissing, match="unexpected"):
        ensure_f5_clip(tmp_path)
    assert list(tmp_path.iterdir()) == []
