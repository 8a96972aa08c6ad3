from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from court.demo import face_material
from court.demo.face_material import (
    ALL_FILES,
    PEOPLE,
    FaceMaterialMissing,
    ensure_material,
    missing,
    portrait,
)
from tests.devices.face.helpers import analyzer, material


def test_every_photo_is_there_and_each_portrait_shows_one_face() -> None:
    folder = material()
    assert missing(folder) == []
    for names in PEOPLE.values():
        for name in names:
            crop = portrait(folder, name)
            found = analyzer().detector.detect(crop)
            big = [f for f in found if f.score > 0.95 and f.width > 0.25 * crop.shape[1]]
            assert len(big) == 1, name
            cx = (big[0].box[0] + big[0].box[2]) / 2
            assert abs(cx - crop.shape[1] / 2) < 0.2 * crop.shape[1], name


def test_nothing_is_fetched_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("no download expected")

    monkeypatch.setattr(subprocess, "run", refuse)
    assert ensure_material(material(), ALL_FILES) == material()


def test_a_failed_download_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "ERROR: No matching distribution found")

    monkeypatch.setattr(face_material.subprocess, "run", offline)
    with pytest.raises(FaceMaterialMissing, match=r"setup\.sh") as caught:
        ensure_material(tmp_path / "faces", ["biden.jpg"])
    assert "face-recognition==1.3.0" in str(caught.value)
    with pytest.raises(FaceMaterialMissing, match="cannot read face photo"):
        face_material.load(tmp_path, "biden.jpg")
