"""Real face photos for the demo, the tests and the benchmark, taken from packages on PyPI at setup
or test time (never committed): the test images of the ``face-recognition`` source distribution
(three photos of one man, one of another), scikit-image's ``astronaut``, matplotlib's
``grace_hopper``, and the sample pictures of the ``insightface`` source distribution (a portrait and
a group of six).

``ensure_material(folder)`` fetches what is missing with ``pip download`` and extracts only the
photos; ``portrait(folder, name)`` gives a head-and-shoulders crop of a photo, the way an ID photo or
a door camera frames a person.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from devices.media import Image

FOLDER_NAME = "faces"
"""Where the photos go inside ``[models] cache_dir``."""


@dataclass(frozen=True)
class PackageSource:
    requirement: str
    sdist: bool
    members: dict[str, str]
    """Local file name → path inside the downloaded archive."""


SOURCES = (
    PackageSource(
        "face-recognition==1.3.0",
        sdist=True,
        members={
            name: f"face_recognition-1.3.0/tests/test_images/{name}"
            for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")
        },
    ),
    PackageSource(
        "scikit-image==0.26.0", sdist=False, members={"astronaut.png": "skimage/data/astronaut.png"}
    ),
    PackageSource(
        "matplotlib==3.11.2",
        sdist=False,
        members={"grace_hopper.jpg": "matplotlib/mpl-data/sample_data/grace_hopper.jpg"},
    ),
    PackageSource(
        "insightface==2.1",
        sdist=True,
        members={
            "tom_hanks.png": "insightface-2.1/insightface/data/images/Tom_Hanks_54745.png",
            "group_t1.jpg": "insightface-2.1/insightface/data/images/t1.jpg",
        },
    ),
)

DEMO_FILES = ("obama.jpg", "obama2.jpg", "biden.jpg", "astronaut.png")
"""What ``court demo`` needs: two packages, about 17 MB to download."""

ALL_FILES = tuple(name for source in SOURCES for name in source.members)

PEOPLE: dict[str, tuple[str, ...]] = {
    "obama": ("obama.jpg", "obama2.jpg", "obama3.jpg"),
    "biden": ("biden.jpg",),
    "collins": ("astronaut.png",),
    "hopper": ("grace_hopper.jpg",),
    "hanks": ("tom_hanks.png",),
}
"""Whose face each single-person photo shows (``group_t1.jpg`` holds six other people)."""

FACE_BOXES: dict[str, tuple[int, int, int, int]] = {
    "obama.jpg": (375, 84, 615, 425),
    "obama2.jpg": (200, 229, 484, 642),
    "obama3.jpg": (645, 260, 923, 627),
    "biden.jpg": (441, 170, 725, 572),
    "astronaut.png": (180, 61, 268, 173),
    "grace_hopper.jpg": (173, 116, 357, 340),
    "tom_hanks.png": (0, 0, 112, 112),
}
"""Where the face is in each photo (left, top, right, bottom), fixed so crops never depend on the
detector under test."""


class FaceMaterialMissing(RuntimeError):
    """The real photos are not there and could not be fetched; the message says how to get them."""


def material_folder(cache_dir: Path) -> Path:
    return cache_dir / FOLDER_NAME


def missing(folder: Path, names: Iterable[str] = ALL_FILES) -> list[str]:
    return [name for name in names if not (folder / name).is_file()]


def ensure_material(folder: Path, names: Iterable[str] = ALL_FILES, *, timeout: float = 600.0) -> Path:
    """Make sure ``names`` are in ``folder``, downloading the packages that hold the missing ones."""
    wanted = missing(folder, names)
    if not wanted:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        needed = {k: v for k, v in source.members.items() if k in wanted}
        if needed:
            _fetch(source, needed, folder, timeout)
    still = missing(folder, names)
    if still:
        raise FaceMaterialMissing(f"人脸素材不完整 (face photos missing) in {folder}: {', '.join(still)}")
    return folder


def _fetch(source: PackageSource, members: dict[str, str], folder: Path, timeout: float) -> None:
    with tempfile.TemporaryDirectory(prefix="court-faces-") as tmp:
        kind = (
            ["--no-binary", source.requirement.split("==")[0]] if source.sdist else ["--only-binary", ":all:"]
        )
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            *kind,
            source.requirement,
            "-d",
            tmp,
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise FaceMaterialMissing(f"下载超时 (download timed out): {source.requirement}") from None
        archives = sorted(Path(tmp).iterdir())
        if result.returncode != 0 or not archives:
            raise FaceMaterialMissing(
                f"无法下载人脸素材 (cannot download {source.requirement}): {result.stderr.strip()[-500:]}; "
                f"run scripts/setup.sh with access to PyPI, or copy the photos into {folder}"
            )
        archive = archives[0]
        for name, member in members.items():
            data = _read_member(archive, member)
            partial = folder / f".{name}.part"
            partial.write_bytes(data)
            partial.replace(folder / name)


def _read_member(archive: Path, member: str) -> bytes:
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive) as t:
        f = t.extractfile(member)
        if f is None:
            raise FaceMaterialMissing(f"{archive.name} has no file {member}")
        return f.read()


def load(folder: Path, name: str) -> Image:
    path = folder / name
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FaceMaterialMissing(f"人脸素材不存在或无法读取 (cannot read face photo): {path}")
    return np.asarray(image, dtype=np.uint8)


def portrait(
    folder: Path, name: str, *, zoom: float = 2.4, offset: tuple[float, float] = (0.0, 0.0)
) -> Image:
    """A head-and-shoulders crop of a material photo: ``zoom`` face widths wide, 1.25× as high,
    the face a little above the centre; ``offset`` shifts the frame (in face widths)."""
    image = load(folder, name)
    left, top, right, bottom = FACE_BOXES.get(name, (0, 0, image.shape[1], image.shape[0]))
    fw = right - left
    cx = (left + right) / 2 + offset[0] * fw
    cy = (top + bottom) / 2 + (0.15 + offset[1]) * fw
    w = zoom * fw
    h = 1.25 * w
    x0, y0 = max(0, round(cx - w / 2)), max(0, round(cy - h / 2))
    x1, y1 = min(image.shape[1], round(cx + w / 2)), min(image.shape[0], round(cy + h / 2))
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def encode_jpeg(image: Image, quality: int = 92) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(data.tobytes())


def main(argv: list[str] | None = None) -> int:
    """``python -m court.demo.face_material DIR``: fetch every photo into DIR (used by scripts/setup.sh)."""
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path("var/cache") / FOLDER_NAME
    try:
        ensure_material(folder)
    except FaceMaterialMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"face photos ready in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "ALL_FILES",
    "DEMO_FILES",
    "PEOPLE",
    "FaceMaterialMissing",
    "encode_jpeg",
    "ensure_material",
    "load",
    "material_folder",
    "portrait",
]
