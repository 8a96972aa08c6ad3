"""Degraded views of a photo, as a door camera or a phone delivers them: JPEG artefacts, blur, poor
light, sensor noise, a slightly tilted head. Used to test and measure recognition on real photos,
and by the simulated door terminal. Every function is deterministic (noise takes a seed)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from devices.media import Image


def jpeg(image: Image, quality: int = 30) -> Image:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), dtype=np.uint8)


def blur(image: Image, sigma: float = 1.5) -> Image:
    """Gaussian blur; ``sigma`` in pixels of a 600-pixel-high picture (scaled with the picture)."""
    s = sigma * image.shape[0] / 600.0
    return np.asarray(cv2.GaussianBlur(image, (0, 0), s), dtype=np.uint8)


def dark(image: Image, gain: float = 0.35, gamma: float = 1.3) -> Image:
    """Under-exposed: scaled down and given a steeper tone curve, as a dim corridor gives."""
    x = (image.astype(np.float32) / 255.0) ** gamma * gain
    return np.asarray(np.clip(x * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def noise(image: Image, sigma: float = 12.0, seed: int = 0) -> Image:
    rng = np.random.default_rng(seed)
    x = image.astype(np.float32) + rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.asarray(np.clip(x, 0, 255), dtype=np.uint8)


def rotate(image: Image, degrees: float = 8.0) -> Image:
    """In-plane rotation about the centre (a tilted head), edges filled by replication."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.asarray(cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE), dtype=np.uint8)


def shrink(image: Image, factor: float = 0.5) -> Image:
    h, w = image.shape[:2]
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


DEGRADATIONS: dict[str, Callable[[Image], Image]] = {
    "jpeg": lambda im: jpeg(im, 25),
    "blur": lambda im: blur(im, 2.0),
    "dark": lambda im: dark(im),
    "noise": lambda im: noise(im, 14.0),
    "rotate": lambda im: rotate(im, 10.0),
    "dark+noise+jpeg": lambda im: jpeg(noise(dark(im, 0.5), 8.0), 40),
}
"""The named variants the tests and ``bench/bench_face.py`` use."""


def degrade(image: Image, names: str) -> Image:
    """Apply the ``+``-separated steps of ``names`` (e.g. ``"dark+rotate"``) in order."""
    steps = {"jpeg": jpeg, "blur": blur, "dark": dark, "noise": noise, "rotate": rotate, "shrink": shrink}
    out = image
    for name in filter(None, (n.strip() for n in names.split("+"))):
        if name not in steps:
            raise ValueError(f"unknown degradation {name!r} (one of: {', '.join(steps)})")
        out = steps[name](out)
    return out
