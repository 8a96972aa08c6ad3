"""Real face photos for the face tests and one shared analyzer (the models load once).

The photos come from the folder scripts/setup.sh fills (``var/cache/faces``, or
``$COURT_FACE_MATERIAL``); the tests never download them. When some are missing the test fails
under CI (setup must have run there) and is skipped elsewhere, saying how to get them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from court.demo.face_material import ALL_FILES, material_folder, missing, portrait
from devices.face import Embedding, FaceAnalyzer, shared_analyzer
from devices.media import Image

REPO = Path(__file__).resolve().parents[3]


def material_home() -> Path:
    """Where setup puts the photos: ``$COURT_FACE_MATERIAL`` or the repo's ``var/cache/faces``."""
    configured = os.environ.get("COURT_FACE_MATERIAL")
    return Path(configured) if configured else material_folder(REPO / "var" / "cache")


def require_material(names: Iterable[str] = ALL_FILES) -> Path:
    """The folder setup filled, holding ``names``; fails under CI and skips elsewhere when it does not."""
    folder = material_home()
    absent = missing(folder, names)
    if absent:
        message = (
            f"face photos missing in {folder}: {', '.join(absent)}; run scripts/setup.sh "
            f"(python -m court.demo.face_material {folder}) — the tests never download them"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@functools.cache
def material() -> Path:
    """Every photo (cached once found; a skip or failure is not cached, so each test reports it)."""
    return require_material()


def analyzer() -> FaceAnalyzer:
    return shared_analyzer()


@functools.cache
def _portrait(name: str, zoom: float) -> Image:
    return portrait(material(), name, zoom=zoom)


def photo(name: str, zoom: float = 2.4) -> Image:
    """A head-and-shoulders crop of a packaged photo (a fresh copy: tests may scribble on it)."""
    return _portrait(name, zoom).copy()


@functools.cache
def _embedding(name: str) -> Embedding:
    found = analyzer().analyze(_portrait(name, 2.4)).subject
    assert found is not None and found.embedding is not None, name
    return found.embedding


def embedding(name: str) -> Embedding:
    return np.array(_embedding(name), copy=True)
