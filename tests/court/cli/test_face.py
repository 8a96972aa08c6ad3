"""``court face verify`` contract: JSON with ``match`` and ``distance``; exit 0 when it could decide
or explain, non-zero with a clear error for a photo without a usable face."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from court.cli.main import main
from court.demo.face_material import material_folder
from devices.face.degrade import blur, degrade, shrink
from tests.devices.face.helpers import material, photo


def save(tmp_path: Path, name: str, image: np.ndarray) -> Path:
    path = tmp_path / name
    assert cv2.imwrite(str(path), image)
    return path


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["face", "verify", *args, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def test_same_person_other_person_and_undecided(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    id_photo = str(save(tmp_path, "id.jpg", photo("obama.jpg")))
    same = str(save(tmp_path, "same.jpg", degrade(photo("obama3.jpg"), "jpeg+noise")))
    other = str(save(tmp_path, "other.png", photo("grace_hopper.jpg")))

    code, body = verify(capsys, "--id-photo", id_photo, "--probe", same)
    assert code == 0 and body["match"] is True
    assert isinstance(body["distance"], float) and body["distance"] < 0.5
    assert 0 < body["similarity"] <= 1  # type: ignore[operator]

    code, body = verify(capsys, "--id-photo", id_photo, "--probe", other)
    assert code == 0 and body["match"] is False and body["distance"] > 0.6  # type: ignore[operator]

    distance = float(body["distance"])  # type: ignore[arg-type]
    code, body = verify(
        capsys,
        "--id-photo",
        id_photo,
        "--probe",
        other,
        "--accept",
        str(distance - 0.1),
        "--reject",
        str(distance + 0.1),
    )
    assert code == 0 and body["match"] is None and body["decision"] == "undecided"


def test_photos_without_a_usable_face_fail_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(save(tmp_path, "good.jpg", photo("biden.jpg")))
    wall = str(save(tmp_path, "wall.jpg", np.full((400, 300, 3), 200, np.uint8)))
    blurred = str(save(tmp_path, "blurred.jpg", blur(photo("biden.jpg"), 6.0)))

    code, body = verify(capsys, "--id-photo", wall, "--probe", good)
    assert code != 0 and body["error"] == "no_face" and body["photo"] == "id-photo"
    code, body = verify(capsys, "--id-photo", blurred, "--probe", good)
    assert code != 0 and body["error"] == "blurry"
    code, body = verify(capsys, "--id-photo", good, "--probe", wall)
    assert code != 0 and body["error"] == "no_face" and body["photo"] == "probe"
    code, body = verify(capsys, "--id-photo", good, "--probe", str(tmp_path / "missing.jpg"))
    assert code != 0 and body["error"] == "not_found"


def test_as_a_command(tmp_path: Path) -> None:
    folder = material()
    assert folder == material_folder(folder.parent) or folder.is_dir()
    group = str(folder / "group_t1.jpg")
    result = subprocess.run(
        [sys.executable, "-m", "court.cli", "face", "verify", "--id-photo", group, "--probe", group],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "6 张人脸" in result.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "court.cli", "face", "verify", "--id-photo", str(folder / "obama.jpg"),
         "--probe", str(folder / "obama2.jpg"), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert body["match"] is True and {"match", "distance", "similarity"} <= body.keys()


def test_check_photo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["face", "check-photo", str(save(tmp_path, "a.jpg", photo("astronaut.png")))]) == 0
    assert "证件照可用" in capsys.readouterr().out
    assert (
        main(["face", "check-photo", str(save(tmp_path, "b.jpg", shrink(photo("astronaut.png"), 0.6)))]) == 1
    )
    assert "人脸太小" in capsys.readouterr().err
