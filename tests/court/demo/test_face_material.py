"""The face-photo material: every photo setup fetched is there and shows one face, nothing is fetched
when present, and the fetching code itself works against a local package folder (never the network)."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import cv2
import numpy as np
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

    monkeypatch.setattr(subprocess, "run", offline)
    with pytest.raises(FaceMaterialMissing, match=r"setup\.sh") as caught:
        ensure_material(tmp_path / "faces", ["biden.jpg"])
    assert "face-recognition==1.3.0" in str(caught.value)
    with pytest.raises(FaceMaterialMissing, match="cannot read face photo"):
        face_material.load(tmp_path, "biden.jpg")


def _fake_wheel(folder: Path, picture: bytes) -> Path:
    """A stand-in for the scikit-image wheel holding only ``astronaut.png`` and the metadata pip reads."""
    dist_info = "scikit_image-0.26.0.dist-info"
    wheel = folder / "scikit_image-0.26.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("skimage/data/astronaut.png", picture)
        z.writestr(f"{dist_info}/METADATA", "Metadata-Version: 2.1\nName: scikit-image\nVersion: 0.26.0\n")
        wheel_file = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        z.writestr(f"{dist_info}/WHEEL", wheel_file)
        z.writestr(f"{dist_info}/RECORD", "")
    return wheel


def test_fetching_from_a_local_package_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packages = tmp_path / "packages"
    packages.mkdir()
    ok, encoded = cv2.imencode(".png", np.full((8, 8, 3), 200, np.uint8))
    assert ok
    _fake_wheel(packages, encoded.tobytes())
    # pip reads its settings from the environment the download inherits: this machine's config files
    # and indexes are shut out, so only the folder above can answer.
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(packages))
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)

    folder = ensure_material(tmp_path / "faces", ["astronaut.png"], timeout=120)
    assert (folder / "astronaut.png").read_bytes() == encoded.tobytes()
    assert sorted(p.name for p in folder.iterdir()) == ["astronaut.png"]  # no partial file left behind
